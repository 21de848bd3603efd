//! `slipstream backfill s3://...` against a real S3-protocol server
//! (`moto_server`, started by each test on a free loopback port, with
//! signatures checked): a bucket of gzip ALB logs in AWS's layout over
//! three days and plain nginx logs. The oracle is the same files on disk,
//! backfilled as local files (whose reading tests/backfill.rs and
//! tests/formats.rs check against an independent oracle); the requests the
//! server saw are counted from its own log, or from a proxy in front of it
//! that fails chosen keys.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, Datelike, Timelike};
use common::s3::{FaultProxy, Moto};
use common::*;
use serde_json::Value;
use slipstream::decode::Format;
use slipstream::synth::{decode_section, header, render, Request};

const BUCKET: &str = "request-logs";
const ELB: &str = "AWSLogs/123456789012/elasticloadbalancing/us-east-1";

/// SLIs over ALB's and nginx's own field names.
fn config(dir: &Path, format: Format, dead_letters: Option<&Path>) -> PathBuf {
    let host = if format == Format::Alb {
        "domain_name"
    } else {
        "host"
    };
    let mut text = format!(
        r#"{decode}
[[sli]]
name = "checkout-availability"
filter = '{host} == "checkout.internal"'
good = 'status < 500'
percentiles = [0.5, 0.99]

[[sli]]
name = "everything-fast"
good = 'latency < 200ms && status < 500'
"#,
        decode = decode_section(format)
    );
    if let Some(dl) = dead_letters {
        text.push_str(&format!(
            "\n[dead_letter]\ntype = \"file\"\npath = '{}'\n",
            dl.display()
        ));
    }
    let path = dir.join(format!("{}.toml", format.name()));
    fs::write(&path, text).expect("write config");
    path
}

/// Three days of requests from 2026-03-09, one a minute.
fn requests() -> Vec<Request> {
    let data = gen_bytes(&[
        "--count",
        "4320",
        "--rate",
        "0.0166667",
        "--seed",
        "31",
        "--start",
        "2026-03-09T00:00:00Z",
    ]);
    split_lines(&data)
        .into_iter()
        .map(|l| Request::from_gen_json(l).expect("a generated request"))
        .collect()
}

/// The bucket's files under `root`: the requests as gzip ALB logs, one
/// object an hour in AWS's layout, and as plain nginx logs, one a day, the
/// second with a line no format reads. Returns the ALB keys by day
/// (`2026/03/09`).
fn write_bucket(root: &Path, requests: &[Request]) -> BTreeMap<String, Vec<String>> {
    let mut alb: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut nginx: BTreeMap<String, String> = BTreeMap::new();
    for r in requests {
        let t = DateTime::from_timestamp_nanos(r.time_ns);
        let day = format!("{:04}/{:02}/{:02}", t.year(), t.month(), t.day());
        let stamp = format!(
            "{:04}{:02}{:02}T{:02}00Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour()
        );
        let key = format!(
            "{ELB}/{day}/123456789012_elasticloadbalancing_us-east-1_app.web.50dc6c495c0c9188_{stamp}_10.0.0.1_2x9xkq.log.gz"
        );
        let text = alb.entry((day.clone(), key)).or_default();
        render(Format::Alb, r, text);
        text.push('\n');
        let text = nginx
            .entry(format!("nginx/access.log-{}", day.replace('/', "")))
            .or_default();
        render(Format::Nginx, r, text);
        text.push('\n');
    }
    let mut by_day: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((day, key), text) in alb {
        let path = root.join(&key);
        fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        fs::write(&path, gzip(text.as_bytes())).expect("write");
        by_day.entry(day).or_default().push(key);
    }
    assert_eq!(nginx.len(), 3, "three days of nginx logs");
    for (i, (key, mut text)) in nginx.into_iter().enumerate() {
        if i == 1 {
            // The fifth line of the second day's log is no request.
            let at = text.match_indices('\n').nth(3).map_or(0, |(i, _)| i + 1);
            text.insert_str(at, "this is not an nginx line\n");
        }
        let path = root.join(&key);
        fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        fs::write(&path, format!("{}{text}", header(Format::Nginx))).expect("write");
    }
    by_day
}

/// `slipstream backfill -c CFG --output OUT ARGS...` with `env` and no
/// AWS settings from this machine.
fn backfill_env(
    cfg: &Path,
    out: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> (Run, Vec<Value>) {
    let mut cmd = Command::new(BIN);
    cmd.args(["backfill", "-c"])
        .arg(cfg)
        .arg("--output")
        .arg(out)
        .args(["--threads", "2"])
        .args(args)
        .stdin(Stdio::null());
    for k in [
        "AWS_PROFILE",
        "AWS_ENDPOINT",
        "AWS_DEFAULT_REGION",
        "AWS_SESSION_TOKEN",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("AWS_CONFIG_FILE", out.with_extension("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            out.with_extension("no-aws-credentials"),
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run slipstream");
    let run = Run {
        code: o.status.code(),
        stdout: o.stdout,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    let recs = records(&fs::read(out).unwrap_or_default());
    let _ = fs::remove_file(out);
    (run, recs)
}

struct Setup {
    dir: tempfile::TempDir,
    /// The bucket's files on disk.
    local: PathBuf,
    alb_keys: BTreeMap<String, Vec<String>>,
    requests: Vec<Request>,
}

impl Setup {
    fn new() -> Setup {
        let dir = tmp();
        let local = dir.path().join(BUCKET);
        let requests = requests();
        let alb_keys = write_bucket(&local, &requests);
        Setup {
            dir,
            local,
            alb_keys,
            requests,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn url(prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }
}

#[test]
fn a_bucket_backfills_as_its_files_on_disk_record_for_record() {
    let s = Setup::new();
    let moto = Moto::start(s.dir.path(), BUCKET, &s.local, false);
    let env = moto.env(&moto.endpoint());

    let alb = config(s.dir.path(), Format::Alb, None);
    let local_alb = format!("{}/AWSLogs/", s.local.display());
    let (run, want) = backfill_env(&alb, &s.path("local.jsonl"), &[&local_alb], &[]);
    run.assert_code(0, "local ALB backfill");
    let (run, got) = backfill_env(&alb, &s.path("s3.jsonl"), &[&Setup::url("AWSLogs/")], &env);
    run.assert_code(0, "ALB backfill from the bucket");
    let (accepted, _, rejected) = summary_counts(&run.stderr);
    assert_eq!(
        (accepted, rejected),
        (s.requests.len() as u64, 0),
        "{}",
        run.stderr
    );
    assert!(want.len() > 100, "the oracle has records: {}", want.len());
    assert_eq!(got, want, "ALB records from the bucket and from disk");
    // Every object fetched, each once.
    let objects: usize = s.alb_keys.values().map(Vec::len).sum();
    let fetched: Vec<String> = moto
        .gets()
        .into_iter()
        .filter(|g| g.starts_with(&format!("/{BUCKET}/AWSLogs/")))
        .collect();
    assert_eq!(fetched.len(), objects, "{fetched:?}");

    // nginx logs, one of them with a bad line: the summary and the dead
    // letters name it by its object's URL and line.
    let dead = s.path("dead.jsonl");
    let nginx = config(s.dir.path(), Format::Nginx, Some(&dead));
    let local_nginx = format!("{}/nginx", s.local.display());
    let (run, want) = backfill_env(&nginx, &s.path("local.jsonl"), &[&local_nginx], &[]);
    run.assert_code(0, "local nginx backfill");
    let _ = fs::remove_file(&dead);
    let (run, got) = backfill_env(&nginx, &s.path("s3.jsonl"), &[&Setup::url("nginx")], &env);
    run.assert_code(0, "nginx backfill from the bucket");
    assert_eq!(got, want, "nginx records from the bucket and from disk");
    let bad = format!("s3://{BUCKET}/nginx/access.log-20260310:5");
    let rejects = summary_rejects(&run.stderr);
    assert!(
        rejects.values().any(|(n, at)| *n == 1 && *at == bad),
        "{rejects:?}\n{}",
        run.stderr
    );
    let letters = fs::read_to_string(&dead).expect("dead letters");
    assert_eq!(letters.lines().count(), 1, "{letters}");
    let letter: Value = serde_json::from_str(letters.trim()).expect("a dead letter");
    assert!(
        letter
            .to_string()
            .contains(&format!("s3://{BUCKET}/nginx/access.log-20260310")),
        "{letter}"
    );

    // Buckets and local files mixed: the same as all on disk.
    let local_day1 = format!("{}/nginx/access.log-20260309", s.local.display());
    let (run, mixed) = backfill_env(
        &nginx,
        &s.path("s3.jsonl"),
        &[
            &local_day1,
            &Setup::url("nginx/access.log-20260310"),
            &Setup::url("nginx/access.log-20260311"),
        ],
        &env,
    );
    run.assert_code(0, "local files and objects");
    assert_eq!(mixed, want, "local files and objects mixed");
}

#[test]
fn from_and_to_fetch_only_the_days_in_range() {
    let s = Setup::new();
    let moto = Moto::start(s.dir.path(), BUCKET, &s.local, false);
    let env = moto.env(&moto.endpoint());
    let alb = config(s.dir.path(), Format::Alb, None);
    // The middle day, an hour and a half in from either end: the days
    // before and after, widened by an hour, do not meet it.
    let range = [
        "--from",
        "2026-03-10T01:30:00Z",
        "--to",
        "2026-03-10T22:30:00Z",
    ];
    let local = format!("{}/AWSLogs/", s.local.display());
    let mut args: Vec<&str> = range.to_vec();
    args.push(&local);
    let (run, want) = backfill_env(&alb, &s.path("local.jsonl"), &args, &[]);
    run.assert_code(0, "local ALB backfill");
    let url = Setup::url("AWSLogs/");
    let mut args: Vec<&str> = range.to_vec();
    args.push(&url);
    let (run, got) = backfill_env(&alb, &s.path("s3.jsonl"), &args, &env);
    run.assert_code(0, "ALB backfill of a day from the bucket");
    assert_eq!(got, want, "one day from the bucket and from disk");
    let (from, to) = (
        rfc3339_ns(range[1]).expect("from"),
        rfc3339_ns(range[3]).expect("to"),
    );
    let in_range = s
        .requests
        .iter()
        .filter(|r| r.time_ns >= from && r.time_ns < to)
        .count() as u64;
    let (accepted, _, _) = summary_counts(&run.stderr);
    assert!(in_range > 1000, "the range holds most of a day: {in_range}");
    assert_eq!(accepted, in_range, "{}", run.stderr);

    // The server's log: the middle day's objects fetched once each, the
    // other days' neither fetched nor listed.
    let gets = moto.gets();
    for (day, keys) in &s.alb_keys {
        let fetched = gets
            .iter()
            .filter(|g| g.starts_with(&format!("/{BUCKET}/{ELB}/{day}/")))
            .count();
        let listed = gets
            .iter()
            .filter(|g| g.contains("list-type") && g.contains(day.as_str()))
            .count();
        if day == "2026/03/10" {
            assert_eq!(fetched, keys.len(), "{day}: {gets:?}");
            assert_eq!(listed, 1, "{day}: {gets:?}");
        } else {
            assert_eq!((fetched, listed), (0, 0), "{day}: {gets:?}");
        }
    }
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

    let (run, got) = backfill_env(&alb, &s.path("s3.jsonl"), &[&Setup::url("AWSLogs/")], &env);
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
    let url = Setup::url(key);
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
