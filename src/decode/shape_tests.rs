//! Tests of reading lines along shapes: against reading every line afresh,
//! and the shapes themselves.

use super::super::json::scan;
use super::super::order::{KeyOrder, WORTH};
use super::super::paths::PathTree;
use super::*;
use crate::event::TIMESTAMP_SLOT;
use crate::testing::xorshift as next;

const SLOTS: usize = 10;

fn tree() -> PathTree {
    let mut tree = PathTree::default();
    tree.insert("ts", TIMESTAMP_SLOT);
    tree.insert("req.method", 1);
    tree.insert("req.path", 2);
    tree.insert("res.status", 3);
    // One key into two slots, and one whose token is longer than a step.
    tree.insert("svc", 4);
    tree.insert("svc", 5);
    tree.insert("a_rather_long_key_name_here", 6);
    // A key that holds a value and is descended into as well.
    tree.insert("http", 7);
    tree.insert("http.route", 8);
    tree.insert("deep.er.still.x", 9);
    tree
}

/// A random value for a member, of any kind, sometimes one the compact
/// path gives up on.
fn value(x: &mut u64) -> String {
    let pool = [
        r#""GET""#,
        r#""/api/checkout/cart""#,
        r#""""#,
        r#""é and 日本""#,
        "0",
        "-12",
        "44.881",
        "1767225600123",
        "1.5e3",
        "123456789012345678",
        "true",
        "false",
        "null",
        r#""a \"quoted\" word""#,
        "[1,{\"a\":[]}]",
        r#"{"route":"/r","x":1}"#,
        r#"{"er":{"still":{"x":5}}}"#,
        "{}",
        "[]",
    ];
    // Mostly plain strings, numbers and literals, as loggers write.
    let kinds = if next(x) % 300 == 0 { pool.len() } else { 13 };
    pool[(next(x) % kinds as u64) as usize].to_string()
}

/// A line of one of a few key orders: runs of lines share an order, as
/// a logger's lines do, with values drawn anew.
fn line(x: &mut u64, order: usize, spaced: bool) -> String {
    let (colon, comma) = if spaced { (": ", ", ") } else { (":", ",") };
    let members: &[&str] = match order {
        0 => &["ts", "req", "res", "svc", "client", "ua"],
        1 => &["ts", "svc", "a_rather_long_key_name_here", "req", "ua"],
        2 => &["req", "http", "ts", "deep", "svc"],
        _ => &["ts", "res", "res", "svc", "req"],
    };
    let mut out = String::from("{");
    for (k, name) in members.iter().enumerate() {
        if k > 0 {
            out.push_str(comma);
        }
        let v = match *name {
            "ts" if next(x) % 300 != 0 => format!("{}", 1_767_225_600_000 + next(x) % 1000),
            "req" if next(x) % 300 != 0 => format!(
                r#"{{"method"{colon}{}{comma}"path"{colon}{}{comma}"host"{colon}"h"}}"#,
                value(x),
                value(x)
            ),
            "res" if next(x) % 300 != 0 => format!(r#"{{"status"{colon}{}}}"#, value(x)),
            _ => value(x),
        };
        out.push_str(&format!("\"{name}\"{colon}{v}"));
    }
    out.push('}');
    out
}

/// Reading along shapes gives exactly what reading every line afresh
/// gives: the same verdict, values and timestamp text, line after line,
/// through runs of one key order, changes of order and spacing, and
/// lines broken anywhere.
#[test]
fn lines_read_along_a_shape_decode_as_read_afresh() {
    let tree = tree();
    let mut x = 0x05A4_E0F1_17E5_u64;
    let mut order = KeyOrder::default();
    let (mut along, mut lines, mut order_of, mut spaced) = (0, 0, 0, false);
    for _ in 0..100_000 {
        if next(&mut x) % 300 == 0 {
            order_of = (next(&mut x) % 4) as usize;
            spaced = next(&mut x) % 4 == 0;
        }
        let mut bytes = line(&mut x, order_of, spaced).into_bytes();
        if next(&mut x) % 150 == 0 {
            let at = (next(&mut x) % bytes.len() as u64) as usize;
            let noise = b"\"\\{}[]:,0e-. x";
            match next(&mut x) % 3 {
                0 => drop(bytes.remove(at)),
                1 => bytes.insert(at, bytes[at]),
                _ => bytes[at] = noise[(next(&mut x) % noise.len() as u64) as usize],
            }
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        lines += 1;
        let had_shape = order.shape().is_some();
        let mut got = vec![None; SLOTS];
        let got_result = scan(&text, &tree, &mut got, &mut order);
        along += usize::from(had_shape && order.shape().is_some());
        let mut want = vec![None; SLOTS];
        let want_result = scan(&text, &tree, &mut want, &mut KeyOrder::default());
        assert_eq!(got_result, want_result, "{text}");
        assert_eq!(got, want, "{text}");
    }
    assert!(
        along > lines / 2,
        "{along} of {lines} lines read along a shape"
    );
}

/// The pieces of a line with its actions: long pieces split, nested
/// objects descended into within a piece, the end closing the line.
#[test]
fn a_shape_cuts_the_line_at_its_values() {
    let tree = tree();
    let text =
        r#"{"ts":1,"req":{"method":"GET","x":[1]},"a_rather_long_key_name_here":2,"svc":"s"}"#;
    let shape = Shape::of(text, &tree).expect("a shape");
    let pieces: Vec<(String, String)> = shape
        .steps
        .iter()
        .map(|s| {
            let piece = String::from_utf8(s.bytes()[..s.len].to_vec()).expect("UTF-8");
            let action = match &s.action {
                Action::More => "more".to_string(),
                Action::Skip => "skip".to_string(),
                Action::Plain(slot) => format!("slot {slot}"),
                Action::Entry(e) => format!("entry {:?}", e.slots),
                Action::End => "end".to_string(),
            };
            (piece, action)
        })
        .collect();
    let want = [
        (r#"{"ts":"#, "entry [0]"),
        (r#","req":{"method""#, "more"),
        (r#":"#, "slot 1"),
        (r#","x":"#, "skip"),
        (r#"},"a_rather_long"#, "more"),
        (r#"_key_name_here":"#, "slot 6"),
        (r#","svc":"#, "entry [4, 5]"),
        (r#"}"#, "end"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(p, a)| (p.to_string(), a.to_string()))
        .collect();
    assert_eq!(pieces, want);
    // The pieces and the values between them make the line again.
    assert_eq!(
        shape.steps.iter().map(|s| s.len).sum::<usize>(),
        text.len() - 13
    );
    // A line of more pieces than a shape holds gives none.
    let members = |n: usize| {
        let body: Vec<String> = (0..n).map(|k| format!("\"k{k}\":{k}")).collect();
        format!("{{{}}}", body.join(","))
    };
    let most = Shape::of(&members(MAX_STEPS - 1), &tree).expect("a shape");
    assert_eq!(most.steps.len(), MAX_STEPS);
    assert!(Shape::of(&members(MAX_STEPS), &tree).is_none());
    assert!(Shape::of(&members(100 * MAX_STEPS), &tree).is_none());
    // Nor does one whose one key is longer than that many steps.
    let key = "k".repeat(STEP_BYTES * MAX_STEPS);
    assert!(Shape::of(&format!("{{\"{key}\":1}}"), &tree).is_none());
    let key = "k".repeat(STEP_BYTES * (MAX_STEPS - 1) - 4);
    assert!(Shape::of(&format!("{{\"{key}\":1}}"), &tree).is_some());
    // A key both kept and descended into gives no shape.
    assert!(Shape::of(r#"{"http":{"route":"/"}}"#, &tree).is_none());
    assert!(Shape::of(r#"{"http":"/"}"#, &tree).is_some());
}

/// Lines whose shape keeps changing soon stop taking shapes; a shape
/// that paid for itself is taken again at once when it fails.
#[test]
fn shapes_that_keep_failing_are_taken_ever_more_rarely() {
    let tree = tree();
    let shape = Shape::of(r#"{"ts":1}"#, &tree).expect("a shape");
    let mut order = KeyOrder::default();
    let mut taken = 0;
    for _ in 0..20_000 {
        if order.shape().is_some() {
            order.shape_read(false);
        }
        if order.wants_shape() {
            taken += 1;
            order.set_shape(Some(shape.clone()));
        }
    }
    // Waits of 1, 2, 4 ... 4096 lines, then 4096 at a time.
    assert!((12..=20).contains(&taken), "{taken} shapes taken");
    // A shape that fitted enough lines is taken again at once.
    order.set_shape(Some(shape.clone()));
    for _ in 0..WORTH {
        order.shape_read(true);
    }
    order.shape_read(false);
    assert!(order.wants_shape());
    // One that fitted fewer waits a line, then two.
    order.set_shape(Some(shape.clone()));
    order.shape_read(true);
    order.shape_read(false);
    assert!(!order.wants_shape() && order.wants_shape());
    // A line that gives no shape counts as a failure.
    order.set_shape(None);
    assert!(!order.wants_shape() && !order.wants_shape() && order.wants_shape());
}

/// The last bytes of a line compared with a step as a slice compares them:
/// lines longer and shorter than a step, every position near the end, steps
/// that fit, differ in one byte or run past the end.
#[test]
fn the_end_of_a_line_is_compared_byte_for_byte() {
    use super::super::compact::tail_is;
    let mut x = 0x007A_110F_u64;
    for _ in 0..20_000 {
        let len = (next(&mut x) % 40) as usize;
        let line: Vec<u8> = (0..len)
            .map(|_| b"ab}\""[(next(&mut x) % 4) as usize])
            .collect();
        let i = len.saturating_sub((next(&mut x) % (STEP_BYTES as u64)) as usize);
        let rest = len - i;
        let step_len = (next(&mut x) % (rest as u64 + 2)) as usize;
        let mut piece: Vec<u8> = line[i..].iter().copied().take(step_len).collect();
        while piece.len() < step_len {
            piece.push(b'}');
        }
        if step_len > 0 && next(&mut x) % 2 == 0 {
            let at = (next(&mut x) % step_len as u64) as usize;
            piece[at] = b"ab}\""[(next(&mut x) % 4) as usize];
        }
        let mut shape = Shape::default();
        shape.push(&piece, 1, Action::End).expect("a step");
        let step = &shape.steps[0];
        let want = (step_len <= rest).then(|| line[i..i + step_len] == piece[..]);
        assert_eq!(tail_is(&line, i, step), want, "{line:?} at {i}: {piece:?}");
    }
}
