//! Tests of the JSON scanner: hand-written documents, valid and not, with
//! the values each wanted key must get.

use crate::testing::xorshift as next;

use super::super::compact::number;
use super::{
    find_quote_or_backslash, find_swar, parse_number, scan, KeyOrder, PathTree, ScanError, Scanner,
    Value,
};

#[test]
fn numbers_parse_exactly_as_the_standard_parser_does() {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut samples: Vec<String> = [
        "0",
        "-0",
        "0.5",
        "44.881",
        "1795773600",
        "1795773600.25",
        "123456789012345",
        "1234567890123456",
        "0.000000000000001",
        "9007199254740993",
        "1e3",
        "2.5E-3",
        "-17.000",
        "99999999999999.9",
        "0.1",
        "0.3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for _ in 0..20_000 {
        next(&mut x);
        let digits = (x % 17) as usize + 1;
        let mut s: String = (0..digits)
            .map(|i| char::from(b'0' + ((x >> (i * 3)) % 10) as u8))
            .collect();
        if digits > 1 && s.starts_with('0') {
            s.replace_range(0..1, "1");
        }
        let dot = (x >> 50) as usize % (digits + 1);
        if dot > 0 && dot < digits {
            s.insert(dot, '.');
        }
        if x & 1 == 1 {
            s.insert(0, '-');
        }
        samples.push(s);
    }
    for s in samples {
        let want: f64 = s.parse().expect("a number");
        assert_eq!(parse_number(&s).to_bits(), want.to_bits(), "{s}");
        // The fast path reads the number as it checks it, up to where
        // it ends.
        // A plain integer of up to 15 digits says so, and is exact.
        let digits = s.trim_start_matches('-');
        let integer = digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit());
        let (end, got, plain) = number(&format!("{s},\"a\":1}}"), 0).expect(&s);
        assert_eq!(
            (end, got.to_bits(), plain),
            (s.len(), want.to_bits(), integer),
            "{s}"
        );
        if plain {
            assert_eq!(Ok(got as i64), s.parse::<i64>(), "{s}");
        }
        // At the very end of the text too.
        for tail in ["", "}", "]}"] {
            let (end, got, plain) = number(&format!("{s}{tail}"), 0).expect(&s);
            assert_eq!(
                (end, got.to_bits(), plain),
                (s.len(), want.to_bits(), integer),
                "{s}{tail}"
            );
        }
    }
    for bad in [
        "1.,\"abcdef\":1",
        "-",
        "-x",
        ".5",
        "1.",
        "1.e3",
        "1e",
        "1e+",
        "1E-}",
        "+1",
        "x",
    ] {
        assert_eq!(number(bad, 0), None, "{bad}");
    }
}

#[test]
fn finds_the_first_quote_or_backslash_at_every_position() {
    // Past 128 bytes the search moves from the 16-byte blocks to memchr.
    for len in 0..160 {
        for pos in 0..len {
            for c in [b'"', b'\\'] {
                let mut s = vec![b'a'; len];
                s[pos] = c;
                if pos + 1 < len {
                    s[pos + 1] = b'"';
                }
                assert_eq!(
                    find_quote_or_backslash(&s),
                    Some(pos),
                    "len {len} pos {pos}"
                );
                assert_eq!(find_swar(&s), Some(pos), "len {len} pos {pos}");
            }
        }
        // Bytes next to the patterns must not match.
        for filler in [b'!', b'[', b'#', b']', 0xA2, 0xDC] {
            let s = vec![filler; len];
            assert_eq!(find_quote_or_backslash(&s), None);
            assert_eq!(find_swar(&s), None);
        }
    }
}

/// A random JSON value with random whitespace, escapes and nesting.
fn value(x: &mut u64, depth: usize, spaces: bool, out: &mut String) {
    let roll = |x: &mut u64, n: u64| next(x) % n;
    let ws = if spaces {
        [" ", "\t", "\n", "\r", "", "", "", ""]
    } else {
        [""; 8]
    };
    out.push_str(ws[roll(x, 8) as usize]);
    let kinds = if depth >= 4 { 5 } else { 7 };
    match roll(x, kinds) {
        0 => {
            out.push('"');
            for _ in 0..roll(x, 12) {
                let parts = [
                    "a", "é", "\\\"", "\\\\", "\\n", "\\u00e9", "\\/", "x y", "{", "]", ":", ",",
                ];
                out.push_str(parts[roll(x, parts.len() as u64) as usize]);
            }
            out.push('"');
        }
        1 => {
            let numbers = ["0", "-1", "12.5", "1e9", "-0.25E-3", "1795773600", "44.881"];
            out.push_str(numbers[roll(x, numbers.len() as u64) as usize]);
        }
        2 => out.push_str("true"),
        3 => out.push_str("false"),
        4 => out.push_str("null"),
        5 => {
            out.push('[');
            for k in 0..roll(x, 4) {
                if k > 0 {
                    out.push(',');
                }
                value(x, depth + 1, spaces, out);
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            for k in 0..roll(x, 5) {
                if k > 0 {
                    out.push(',');
                }
                let keys = ["\"a\"", "\"b\"", "\"a\\u0062\"", "\"\"", "\"http\""];
                out.push_str(keys[roll(x, keys.len() as u64) as usize]);
                out.push_str(ws[roll(x, 8) as usize]);
                out.push(':');
                value(x, depth + 1, spaces, out);
            }
            out.push('}');
        }
    }
    out.push_str(ws[roll(x, 8) as usize]);
}

#[test]
fn accepts_exactly_the_json_that_serde_json_accepts() {
    let mut tree = PathTree::default();
    tree.insert("a", 0);
    tree.insert("http.b", 1);
    let mut x = 0x0123_4567_89AB_CDEFu64;
    let (mut objects, mut others, mut invalid, mut fast) = (0, 0, 0, 0);
    // One key order for every document, as a decoder keeps it from
    // line to line; the fast path alone below starts from nothing.
    let mut order = KeyOrder::default();
    for round in 0..40_000 {
        // Every fourth document is compact: the decoder's fast path.
        let spaces = round % 4 != 0;
        let mut text = String::new();
        if round % 2 == 0 {
            text.push('{');
            text.push_str("\"a\":");
            value(&mut x, 1, spaces, &mut text);
            text.push_str(",\"http\":{\"b\":");
            value(&mut x, 2, spaces, &mut text);
            text.push_str("}}");
        } else {
            value(&mut x, 0, spaces, &mut text);
        }
        // Mutate some: drop, double or replace one byte.
        next(&mut x);
        let mut bytes = text.into_bytes();
        if x % 3 == 0 && !bytes.is_empty() {
            let at = (x >> 8) as usize % bytes.len();
            match (x >> 40) % 3 {
                0 => {
                    bytes.remove(at);
                }
                1 => bytes.insert(at, bytes[at]),
                _ => {
                    let noise = b"\"\\{}[]:,0e-. x";
                    bytes[at] = noise[(x >> 48) as usize % noise.len()];
                }
            }
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let expected: Result<serde_json::Value, _> = serde_json::from_str(&text);
        if let Err(e) = &expected {
            // Raw control characters inside strings are tolerated on
            // purpose, and a number too large for f64 is JSON all the same.
            let e = e.to_string();
            if e.contains("control character") || e.contains("number out of range") {
                continue;
            }
        }
        let mut values = vec![None, None];
        let got = scan(&text, &tree, &mut values, &mut order);
        // The fast path alone: when it answers, it answers as the whole.
        let mut fast_values = vec![None, None];
        let mut sc = Scanner::new(&text);
        if sc
            .compact(&tree, &mut fast_values, &mut KeyOrder::default())
            .is_some()
        {
            let ts_raw = sc.ts_raw;
            fast += 1;
            assert_eq!(got, Ok(ts_raw), "{text:?}");
            assert_eq!(fast_values, values, "{text:?}");
        }
        match &expected {
            Ok(serde_json::Value::Object(o)) => {
                objects += 1;
                assert!(got.is_ok(), "{text:?}: {got:?}");
                let want_a = o.get("a").and_then(|v| v.as_str());
                let got_a = match &values[0] {
                    Some(Value::Str(s)) => Some(s.as_ref()),
                    _ => None,
                };
                assert_eq!(got_a, want_a, "{text:?}");
            }
            Ok(_) => {
                others += 1;
                assert_eq!(got, Err(ScanError::NotObject), "{text:?}");
            }
            Err(_) => {
                invalid += 1;
                assert_eq!(got, Err(ScanError::NotJson), "{text:?}");
            }
        }
    }
    assert!(
        objects > 5_000 && others > 5_000 && invalid > 5_000 && fast > 2_000,
        "{objects} {others} {invalid} {fast}"
    );
}
