//! The bucket every object store test reads: gzip ALB logs in AWS's
//! layout over three days and plain nginx logs, written to a folder that
//! each test uploads to its store's emulator and also backfills from disk
//! as the oracle; the SLIs over both formats; running the binary with no
//! object store settings from this machine's environment; and the checks
//! every store's tests make against the disk ([`Store`], [`Setup`]'s
//! `assert_*_as_on_disk`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, Datelike, Timelike};
use serde_json::Value;
use slipstream::decode::Format;
use slipstream::synth::{decode_section, header, render, Request};

use super::*;

/// The bucket (or container) every test fills.
pub const BUCKET: &str = "request-logs";
/// Where ALB writes its logs in a bucket.
pub const ELB: &str = "AWSLogs/123456789012/elasticloadbalancing/us-east-1";

/// SLIs over ALB's and nginx's own field names.
pub fn config(dir: &Path, format: Format, dead_letters: Option<&Path>) -> PathBuf {
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
pub fn requests() -> Vec<Request> {
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
pub fn write_bucket(root: &Path, requests: &[Request]) -> BTreeMap<String, Vec<String>> {
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
/// object store settings from this machine.
pub fn backfill_env(
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
    // Nor Google's or Azure's, nor gcloud's credentials in the home folder.
    for (k, _) in std::env::vars() {
        if k.starts_with("GOOGLE_")
            || k.starts_with("AZURE_")
            || k.starts_with("AZURITE_")
            || k == "STORAGE_EMULATOR_HOST"
            || k == "IDENTITY_ENDPOINT"
        {
            cmd.env_remove(k);
        }
    }
    if let Some(home) = out.parent() {
        cmd.env("HOME", home);
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

pub struct Setup {
    pub dir: tempfile::TempDir,
    /// The bucket's files on disk.
    pub local: PathBuf,
    pub alb_keys: BTreeMap<String, Vec<String>>,
    pub requests: Vec<Request>,
}

impl Setup {
    pub fn new() -> Setup {
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

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A store the tests fill with [`Setup`]'s folder.
pub struct Store<'a> {
    /// `s3`, `gs` or `az`: the URLs' scheme, and the records file's name.
    pub scheme: &'static str,
    /// The environment that gives the binary the store.
    pub env: Vec<(String, String)>,
    /// The server's path of an object by its key, as [`Store::gets`] lists it.
    pub path_of: Box<dyn Fn(&str) -> String + 'a>,
    /// The paths of the GET requests the server has answered so far.
    pub gets: Box<dyn Fn() -> Vec<String> + 'a>,
}

impl Store<'_> {
    pub fn url(&self, prefix: &str) -> String {
        format!("{}://{BUCKET}/{prefix}", self.scheme)
    }

    fn out(&self, s: &Setup) -> PathBuf {
        s.path(&format!("{}.jsonl", self.scheme))
    }
}

/// The middle of the three days, an hour and a half in from either end:
/// the days before and after, widened by an hour, do not meet it.
pub const MIDDLE_DAY: [&str; 4] = [
    "--from",
    "2026-03-10T01:30:00Z",
    "--to",
    "2026-03-10T22:30:00Z",
];

impl Setup {
    /// The ALB logs from the store give the records of the files on disk,
    /// every request accepted, every object fetched once.
    pub fn assert_alb_as_on_disk(&self, store: &Store<'_>) {
        let alb = config(self.dir.path(), Format::Alb, None);
        let local_alb = format!("{}/AWSLogs/", self.local.display());
        let (run, want) = backfill_env(&alb, &self.path("local.jsonl"), &[&local_alb], &[]);
        run.assert_code(0, "local ALB backfill");
        let url = store.url("AWSLogs/");
        let (run, got) = backfill_env(&alb, &store.out(self), &[&url], &store.env);
        run.assert_code(0, "ALB backfill from the store");
        let (accepted, _, rejected) = summary_counts(&run.stderr);
        assert_eq!(
            (accepted, rejected),
            (self.requests.len() as u64, 0),
            "{}",
            run.stderr
        );
        assert!(want.len() > 100, "the oracle has records: {}", want.len());
        assert_eq!(got, want, "ALB records from the store and from disk");
        let objects: usize = self.alb_keys.values().map(Vec::len).sum();
        let fetched: Vec<String> = (store.gets)()
            .into_iter()
            .filter(|g| g.starts_with(&(store.path_of)("AWSLogs/")))
            .collect();
        assert_eq!(fetched.len(), objects, "{fetched:?}");
    }

    /// The nginx logs from the store give the records of the files on disk;
    /// the one bad line is named by its object's URL and line, in the
    /// summary and in one dead letter. The configuration and the records,
    /// and the dead letters' text.
    pub fn nginx_as_on_disk(&self, store: &Store<'_>) -> (PathBuf, Vec<Value>, String) {
        let dead = self.path("dead.jsonl");
        let nginx = config(self.dir.path(), Format::Nginx, Some(&dead));
        let local_nginx = format!("{}/nginx", self.local.display());
        let (run, want) = backfill_env(&nginx, &self.path("local.jsonl"), &[&local_nginx], &[]);
        run.assert_code(0, "local nginx backfill");
        let _ = fs::remove_file(&dead);
        let url = store.url("nginx");
        let (run, got) = backfill_env(&nginx, &store.out(self), &[&url], &store.env);
        run.assert_code(0, "nginx backfill from the store");
        assert_eq!(got, want, "nginx records from the store and from disk");
        let bad = store.url("nginx/access.log-20260310:5");
        let rejects = summary_rejects(&run.stderr);
        assert!(
            rejects.values().any(|(n, at)| *n == 1 && *at == bad),
            "{rejects:?}\n{}",
            run.stderr
        );
        let letters = fs::read_to_string(&dead).expect("dead letters");
        assert_eq!(letters.lines().count(), 1, "{letters}");
        (nginx, want, letters)
    }

    /// Objects and local files mixed give the records of all on disk
    /// (`want`, by [`Setup::nginx_as_on_disk`]).
    pub fn assert_mixed_as_on_disk(&self, store: &Store<'_>, nginx: &Path, want: &[Value]) {
        let local_day1 = format!("{}/nginx/access.log-20260309", self.local.display());
        let (run, mixed) = backfill_env(
            nginx,
            &store.out(self),
            &[
                &local_day1,
                &store.url("nginx/access.log-20260310"),
                &store.url("nginx/access.log-20260311"),
            ],
            &store.env,
        );
        run.assert_code(0, "local files and objects");
        assert_eq!(mixed, want, "local files and objects mixed");
    }

    /// [`MIDDLE_DAY`] of the ALB logs from the store gives the records of
    /// the files on disk, and accepts exactly the requests in it.
    pub fn assert_middle_day_as_on_disk(&self, store: &Store<'_>) {
        let alb = config(self.dir.path(), Format::Alb, None);
        let local = format!("{}/AWSLogs/", self.local.display());
        let mut args: Vec<&str> = MIDDLE_DAY.to_vec();
        args.push(&local);
        let (run, want) = backfill_env(&alb, &self.path("local.jsonl"), &args, &[]);
        run.assert_code(0, "local ALB backfill");
        let url = store.url("AWSLogs/");
        let mut args: Vec<&str> = MIDDLE_DAY.to_vec();
        args.push(&url);
        let (run, got) = backfill_env(&alb, &store.out(self), &args, &store.env);
        run.assert_code(0, "ALB backfill of a day from the store");
        assert_eq!(got, want, "one day from the store and from disk");
        let (from, to) = (
            rfc3339_ns(MIDDLE_DAY[1]).expect("from"),
            rfc3339_ns(MIDDLE_DAY[3]).expect("to"),
        );
        let in_range = self
            .requests
            .iter()
            .filter(|r| r.time_ns >= from && r.time_ns < to)
            .count() as u64;
        let (accepted, _, _) = summary_counts(&run.stderr);
        assert!(in_range > 1000, "the range holds most of a day: {in_range}");
        assert_eq!(accepted, in_range, "{}", run.stderr);
    }

    /// The server's log after [`Setup::assert_middle_day_as_on_disk`]: the
    /// middle day's objects fetched once each and its folder listed once
    /// (a listing is a GET whose path holds `listing`), the other days'
    /// neither fetched nor listed.
    pub fn assert_only_the_middle_day_asked(&self, store: &Store<'_>, listing: &str) {
        let gets = (store.gets)();
        for (day, keys) in &self.alb_keys {
            let folder = (store.path_of)(&format!("{ELB}/{day}/"));
            let fetched = gets.iter().filter(|g| g.starts_with(&folder)).count();
            let listed = gets
                .iter()
                .filter(|g| g.contains(listing) && g.contains(day.as_str()))
                .count();
            if day == "2026/03/10" {
                assert_eq!(fetched, keys.len(), "{day}: {gets:?}");
                assert_eq!(listed, 1, "{day}: {gets:?}");
            } else {
                assert_eq!((fetched, listed), (0, 0), "{day}: {gets:?}");
            }
        }
    }
}
