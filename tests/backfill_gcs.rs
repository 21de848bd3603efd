//! `slipstream backfill gs://...` against gcp-storage-emulator, started by
//! each test on a free loopback port: a bucket of gzip ALB logs in AWS's
//! layout over three days and plain nginx logs. The emulator lacks the XML
//! API's HEAD and listing, which `object_store` uses; tests/common/gcs.rs
//! says how the tests answer those two from its JSON API. The oracle is the
//! same files on disk, backfilled as local files; the requests are counted
//! from the emulator's own log.

mod common;

use std::collections::BTreeSet;
use std::fs;

use common::archive::{self, backfill_env, config, Setup, Store};
use common::gcs::{GcsEmulator, XmlShim};
use common::*;
use slipstream::decode::Format;

const BUCKET: &str = archive::BUCKET;
const ELB: &str = archive::ELB;

fn url(prefix: &str) -> String {
    format!("gs://{BUCKET}/{prefix}")
}

/// The environment of a user of an emulator, as Google's tools read it.
fn emulator_env(shim: &XmlShim) -> Vec<(String, String)> {
    vec![("STORAGE_EMULATOR_HOST".into(), shim.url())]
}

/// The bucket on `gcs`, reached through `shim`.
fn store<'a>(gcs: &'a GcsEmulator, shim: &XmlShim) -> Store<'a> {
    Store {
        scheme: "gs",
        env: emulator_env(shim),
        path_of: Box::new(|key| format!("/{BUCKET}/{key}")),
        gets: Box::new(|| gcs.gets()),
    }
}

#[test]
fn a_bucket_backfills_as_its_files_on_disk_record_for_record() {
    let s = Setup::new();
    let gcs = GcsEmulator::start(s.dir.path(), BUCKET, &s.local);
    let shim = XmlShim::start(gcs.port, None);
    let store = store(&gcs, &shim);
    s.assert_alb_as_on_disk(&store);
    let (nginx, want, _) = s.nginx_as_on_disk(&store);
    s.assert_mixed_as_on_disk(&store, &nginx, &want);
}

#[test]
fn from_and_to_fetch_only_the_days_in_range() {
    let s = Setup::new();
    let gcs = GcsEmulator::start(s.dir.path(), BUCKET, &s.local);
    let shim = XmlShim::start(gcs.port, None);
    s.assert_middle_day_as_on_disk(&store(&gcs, &shim));

    // The emulator's log: every object of the middle day fetched, the other
    // days' neither fetched nor listed. (Objects are counted once however
    // often they were asked for: the client retries a request the
    // single-threaded emulator drops, which the S3 test's server does not.)
    let gets = gcs.gets();
    for (day, keys) in &s.alb_keys {
        let fetched: BTreeSet<&str> = gets
            .iter()
            .filter_map(|g| g.strip_prefix(&format!("/{BUCKET}/")))
            .filter(|k| k.starts_with(&format!("{ELB}/{day}/")))
            .collect();
        let listed = gets
            .iter()
            .filter(|g| g.contains("prefix=") && g.contains(day.as_str()))
            .count();
        if day == "2026/03/10" {
            let want: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
            assert_eq!(fetched, want, "{day}: {gets:?}");
            assert!(listed >= 1, "{day}: {gets:?}");
        } else {
            assert_eq!((fetched.len(), listed), (0, 0), "{day}: {gets:?}");
        }
    }
}

#[test]
fn wrong_credentials_give_a_clear_error_without_the_secret() {
    let s = Setup::new();
    let gcs = GcsEmulator::start(s.dir.path(), BUCKET, &s.local);
    let token = "ya29.the-right-token";
    let shim = XmlShim::start(gcs.port, Some(token.to_string()));
    let nginx = config(s.dir.path(), Format::Nginx, None);
    let u = url("nginx/");
    let env = |token: &str| {
        vec![
            ("GOOGLE_BASE_URL".to_string(), shim.url()),
            ("GOOGLE_BEARER_TOKEN".to_string(), token.to_string()),
        ]
    };
    // The right token reads the bucket.
    let (run, got) = backfill_env(&nginx, &s.path("gs.jsonl"), &[&u], &env(token));
    run.assert_code(0, "the right token");
    assert!(!got.is_empty());

    // Another token: refused with 401, and what to set.
    let wrong = "ya29.not-the-token-5678";
    let (run, got) = backfill_env(&nginx, &s.path("gs.jsonl"), &[&u], &env(wrong));
    run.assert_code(2, "a wrong token");
    assert!(got.is_empty(), "nothing written");
    assert!(
        run.stderr.contains(&u)
            && run.stderr.contains("401")
            && run.stderr.contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(wrong), "{}", run.stderr);

    // A credentials file that is not there, and one that is no service
    // account's: refused before any request, without the file's secrets.
    let missing = s.path("no-such-key.json");
    let broken = s.path("broken-key.json");
    fs::write(
        &broken,
        r#"{"private_key": "-----BEGIN PRIVATE KEY-----VERYSECRET", "client_email": "x@y"}"#,
    )
    .expect("write the key file");
    for (var, file) in [
        ("GOOGLE_APPLICATION_CREDENTIALS", &missing),
        ("GOOGLE_SERVICE_ACCOUNT", &broken),
    ] {
        let env = vec![
            ("GOOGLE_BASE_URL".to_string(), shim.url()),
            (var.to_string(), p(file)),
        ];
        let (run, _) = backfill_env(&nginx, &s.path("gs.jsonl"), &[&u], &env);
        assert_ne!(run.code, Some(0), "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!("gs://{BUCKET}"))
                && run.stderr.contains("GOOGLE_APPLICATION_CREDENTIALS"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("VERYSECRET"), "{}", run.stderr);
    }
}
