//! `slipstream backfill s3://...` against a real S3-protocol server
//! (`moto_server`, started by each test on a free loopback port, with
//! signatures checked): a bucket of gzip ALB logs in AWS's layout over
//! three days and plain nginx logs. The oracle is the same files on disk,
//! backfilled as local files (whose reading tests/backfill.rs and
//! tests/formats.rs check against an independent oracle); the requests the
//! server saw are counted from its own log, or from a proxy in front of it
//! that fails chosen keys.

mod common;

use std::fs;

use common::archive::{self, backfill_env, config, Setup, Store};
use common::s3::{FaultProxy, Moto};
use common::*;
use serde_json::Value;
use slipstream::decode::Format;

const BUCKET: &str = archive::BUCKET;

fn url(prefix: &str) -> String {
    format!("s3://{BUCKET}/{prefix}")
}

/// The bucket on `moto`, with its keys.
fn store(moto: &Moto) -> Store<'_> {
    Store {
        scheme: "s3",
        env: moto.env(&moto.endpoint()),
        path_of: Box::new(|key| format!("/{BUCKET}/{key}")),
        gets: Box::new(|| moto.gets()),
    }
}

#[test]
fn a_bucket_backfills_as_its_files_on_disk_record_for_record() {
    let s = Setup::new();
    let moto = Moto::start(s.dir.path(), BUCKET, &s.local, false);
    let store = store(&moto);
    s.assert_alb_as_on_disk(&store);
    let (nginx, want, letters) = s.nginx_as_on_disk(&store);
    // The dead letter names the object by its URL.
    let letter: Value = serde_json::from_str(letters.trim()).expect("a dead letter");
    assert!(
        letter
            .to_string()
            .contains(&format!("s3://{BUCKET}/nginx/access.log-20260310")),
        "{letter}"
    );
    s.assert_mixed_as_on_disk(&store, &nginx, &want);
}

#[test]
fn from_and_to_fetch_only_the_days_in_range() {
    let s = Setup::new();
    let moto = Moto::start(s.dir.path(), BUCKET, &s.local, false);
    let store = store(&moto);
    s.assert_middle_day_as_on_disk(&store);
    s.assert_only_the_middle_day_asked(&store, "list-type");
}

#[test]
fn failed_requests_are_retried_and_an_object_that_keeps_failing_is_reported() {
    let s = Setup::new();
    let moto = Moto::start(s.dir.path(), BUCKET, &s.local, false);
    let flaky = &s.alb_keys["2026/03/09"][5];
    let broken = &s.alb_keys["2026/03/10"][7];
    let proxy = FaultProxy::start(
        moto.port,
        vec![(flaky.clone(), Some(2)), (broken.clone(), None)],
    );
    let env = moto.env(&proxy.endpoint());
    let alb = config(s.dir.path(), Format::Alb, None);

    // The oracle: the files on disk without the broken one.
    fs::remove_file(s.local.join(broken)).expect("remove the broken object's file");
    let local = format!("{}/AWSLogs/", s.local.display());
    let (run, want) = backfill_env(&alb, &s.path("local.jsonl"), &[&local], &[]);
    run.assert_code(0, "local ALB backfill");

    let (run, got) = backfill_env(&alb, &s.path("s3.jsonl"), &[&url("AWSLogs/")], &env);
    run.assert_code(2, "an object that cannot be read");
    assert_eq!(got, want, "every other object, exactly");
    let broken_url = format!("s3://{BUCKET}/{broken}");
    assert!(
        run.stderr.contains(&broken_url) && run.stderr.contains("500"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(&format!("s3://{BUCKET}/{flaky}")),
        "the flaky object was read in the end:\n{}",
        run.stderr
    );
    // Two failures, then the object once.
    assert_eq!(proxy.count(flaky), (3, 2));
    let (tries, failed) = proxy.count(broken);
    assert_eq!(tries, failed);
    assert_eq!(tries, 6, "one try and five retries");
}

#[test]
fn wrong_credentials_give_a_clear_error_without_the_secret() {
    let s = Setup::new();
    let moto = Moto::start(s.dir.path(), BUCKET, &s.local, true);
    let alb = config(s.dir.path(), Format::Alb, None);
    let key = &s.alb_keys["2026/03/10"][3];
    let url = url(key);
    // The right keys read the object.
    let (run, got) = backfill_env(
        &alb,
        &s.path("s3.jsonl"),
        &[&url],
        &moto.env(&moto.endpoint()),
    );
    run.assert_code(0, "the right credentials");
    let (run, want) = backfill_env(&alb, &s.path("local.jsonl"), &[&p(&s.local.join(key))], &[]);
    run.assert_code(0, "the object's file");
    assert!(!want.is_empty());
    assert_eq!(got, want);
    for (id, secret) in [
        ("AKIAUNKNOWN000000000", "not-the-secret-1234"),
        (moto.key_id.as_str(), "not-the-secret-5678"),
    ] {
        let env = vec![
            ("AWS_ACCESS_KEY_ID".to_string(), id.to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), secret.to_string()),
            ("AWS_REGION".to_string(), "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL".to_string(), moto.endpoint()),
        ];
        let (run, got) = backfill_env(&alb, &s.path("s3.jsonl"), &[&url], &env);
        run.assert_code(2, "wrong credentials");
        assert!(got.is_empty(), "nothing written");
        assert!(
            run.stderr.contains(&url) && run.stderr.contains("check the credentials"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("403"), "{}", run.stderr);
        assert!(!run.stderr.contains(secret), "{}", run.stderr);
    }
}

/// A profile whose keys come from its `credential_process` (as an SSO
/// login's do, through `aws configure export-credentials`): with moto
/// checking signatures, the keys the command prints read the object, keys
/// it prints wrong are refused, and a command that fails says why.
#[test]
fn a_profiles_credential_process_gives_the_keys() {
    let s = Setup::new();
    let moto = Moto::start(s.dir.path(), BUCKET, &s.local, true);
    let alb = config(s.dir.path(), Format::Alb, None);
    let key = &s.alb_keys["2026/03/11"][2];
    let url = url(key);
    let (run, want) = backfill_env(&alb, &s.path("local.jsonl"), &[&p(&s.local.join(key))], &[]);
    run.assert_code(0, "the object's file");
    assert!(!want.is_empty());
    let calls = s.path("calls.log");
    // Prints `secret` as the keys' secret and counts its runs.
    let profile = |name: &str, secret: &str, fails: bool| {
        let script = s.path(&format!("{name}.sh"));
        let body = if fails {
            "echo 'Error loading SSO Token: Token for my-sso does not exist' >&2\nexit 255\n"
                .to_string()
        } else {
            format!(
                "printf '{{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\", \
                 \"Expiration\": \"2999-01-01T00:00:00Z\"}}' '{}' '{secret}'\n",
                moto.key_id
            )
        };
        fs::write(
            &script,
            format!("echo run >> '{}'\n{body}", calls.display()),
        )
        .expect("write the script");
        let config = s.path(&format!("{name}.aws-config"));
        fs::write(
            &config,
            format!(
                "[profile {name}]\nregion = us-east-1\ncredential_process = sh '{}'\n",
                script.display()
            ),
        )
        .expect("write the AWS config");
        vec![
            ("AWS_PROFILE".to_string(), name.to_string()),
            ("AWS_CONFIG_FILE".to_string(), p(&config)),
            ("AWS_ENDPOINT_URL".to_string(), moto.endpoint()),
        ]
    };
    let env = profile("archive", &moto.secret, false);
    let (run, got) = backfill_env(&alb, &s.path("s3.jsonl"), &[&url], &env);
    run.assert_code(0, "the keys of the credential_process");
    assert_eq!(got, want);
    let runs = fs::read_to_string(&calls)
        .expect("the command ran")
        .lines()
        .count();
    assert_eq!(runs, 1, "run once, its keys kept until they expire");

    let env = profile("wrong", "not-the-secret-9012", false);
    let (run, got) = backfill_env(&alb, &s.path("s3.jsonl"), &[&url], &env);
    run.assert_code(2, "wrong keys from the credential_process");
    assert!(got.is_empty(), "nothing written");
    assert!(run.stderr.contains("403"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("not-the-secret-9012"),
        "{}",
        run.stderr
    );

    let env = profile("expired", "", true);
    let (run, got) = backfill_env(&alb, &s.path("s3.jsonl"), &[&url], &env);
    run.assert_code(2, "a failing credential_process");
    assert!(got.is_empty(), "nothing written");
    for says in [
        "credential_process of the AWS profile \"expired\"",
        "exit status: 255: Error loading SSO Token: Token for my-sso does not exist",
        "aws sso login",
    ] {
        assert!(run.stderr.contains(says), "{says}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("check the URL"), "{}", run.stderr);
}
