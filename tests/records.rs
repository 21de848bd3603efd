//! Records keep their bytes: `tests/data/records/records.jsonl` holds what
//! slipstream wrote for one configuration and input before its records were
//! typed structs (window records with and without latency and with a
//! breakdown, `slo` records by occurrences and by timeslices, alerts firing
//! and resolving). Today's output must be the same bytes, but for how the
//! latency histograms' V2 encodings are compressed (zlib's default level
//! then, one Huffman block now): those must hold the same V2 bytes. Every
//! line must read back into the typed records and out again unchanged.

mod common;

use std::fs;
use std::path::PathBuf;

use common::*;
use slipstream::record::AnyRecord;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/records")
        .join(name)
}

fn fixture() -> String {
    fs::read_to_string(data("records.jsonl")).expect("the fixture is readable")
}

#[test]
fn todays_records_have_the_bytes_they_always_had() {
    let dir = tmp();
    let logs = generate(
        &dir.path().join("logs.jsonl"),
        &[
            "--count",
            "14400",
            "--rate",
            "2",
            "--seed",
            "7",
            "--incident",
            "kind=errors,start=10m,duration=15m,rate=0.4,service=checkout",
            "--incident",
            "kind=latency,start=30m,duration=20m,factor=8,service=search",
        ],
    );
    let (run, bytes) = backfill(
        &data("slipstream.toml"),
        &dir.path().join("records.jsonl"),
        &[],
        &[&p(&logs), &p(&data("extra.jsonl"))],
        None,
    );
    run.assert_code(0, "backfill");
    let today = String::from_utf8(bytes).expect("records are UTF-8");
    let before = fixture();
    for (i, (a, b)) in today.lines().zip(before.lines()).enumerate() {
        assert_eq!(inflated(a), inflated(b), "line {} differs", i + 1);
    }
    assert_eq!(today.lines().count(), before.lines().count());
}

/// `line` with its `latency_histogram` (if any) as the hex of the V2
/// encoding inside, inflated.
fn inflated(line: &str) -> String {
    use base64::Engine as _;
    use std::io::Read;
    const KEY: &str = "\"latency_histogram\":\"";
    let Some(at) = line.find(KEY) else {
        return line.to_string();
    };
    let start = at + KEY.len();
    let end = start + line[start..].find('"').expect("a closing quote");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&line[start..end])
        .expect("base64");
    assert!(bytes.starts_with(&[0x1c, 0x84, 0x93, 0x14]), "{line}");
    let mut v2 = Vec::new();
    flate2::read::ZlibDecoder::new(&bytes[8..])
        .read_to_end(&mut v2)
        .expect("zlib");
    let hex: String = v2.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{hex}{}", &line[..start], &line[end..])
}

#[test]
fn every_record_reads_back_into_its_type_and_out_again_unchanged() {
    let text = fixture();
    let mut seen = Vec::new();
    for line in text.lines() {
        let record = AnyRecord::parse(line).unwrap_or_else(|| panic!("not a record: {line}"));
        assert_eq!(record.to_json(), line);
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        // Every shape the fixture promises is there.
        let shape = match &record {
            AnyRecord::Window(_) if v["latency"].is_null() => "window without latency",
            AnyRecord::Window(_) if v["breakdown"].is_object() => "window with breakdown",
            AnyRecord::Window(_) => "window with latency",
            AnyRecord::Slo(_) if v["objective"]["slice"].is_string() => "slo by timeslices",
            AnyRecord::Slo(_) => "slo by occurrences",
            AnyRecord::Alert(a) if a.firing() => "alert firing",
            AnyRecord::Alert(_) => "alert resolved",
        };
        assert_eq!(
            serde_json::to_value(record.kind()).expect("a kind"),
            v["kind"]
        );
        if !seen.contains(&shape) {
            seen.push(shape);
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "alert firing",
            "alert resolved",
            "slo by occurrences",
            "slo by timeslices",
            "window with breakdown",
            "window with latency",
            "window without latency",
        ]
    );
}

#[test]
fn a_line_that_is_not_a_whole_record_is_not_read_as_one() {
    let line = fixture().lines().next().expect("a line").to_string();
    assert!(AnyRecord::parse(&line).is_some());
    for broken in [
        line.replacen("\"good\":", "\"goods\":", 1),
        line.replacen("\"kind\":\"window\"", "\"kind\":\"windows\"", 1),
        line[..line.len() - 1].to_string(),
        "{}".to_string(),
    ] {
        assert!(AnyRecord::parse(&broken).is_none(), "{broken}");
    }
}
