//! The `postgres` sink with `backfill`, against a real PostgreSQL server
//! (see tests/common/pg.rs): rows equal the file sink's records field for
//! field, a second run changes nothing, migrations are safe to run
//! concurrently and again, the views say what the records say, and every
//! query of the Grafana dashboard runs and returns rows.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::pg;
use common::*;
use serde_json::Value;

/// Two checkout incidents over 3 hours of traffic: the first pages and
/// resolves, the second is still firing when the input ends.
const INCIDENTS: [&str; 4] = [
    "--incident",
    "kind=errors,start=10m,duration=4m,rate=0.5,service=checkout",
    "--incident",
    "kind=errors,start=150m,duration=40m,rate=0.5,service=checkout",
];

/// A config with the test SLIs, a file sink and a postgres sink.
fn setup(db: &str) -> (tempfile::TempDir, PathBuf, PathBuf, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = pg::fresh_db(db);
    let cfg = pg::write_config(dir.path(), &url);
    let mut args = vec!["--count", "540000", "--rate", "50", "--seed", "17"];
    args.extend(INCIDENTS);
    let input = generate(&dir.path().join("in.jsonl"), &args);
    (dir, cfg, input, url)
}

fn backfill_into(dir: &Path, cfg: &Path, input: &Path) -> Run {
    slipstream(
        &[
            "backfill",
            "-c",
            &cfg.display().to_string(),
            &input.display().to_string(),
        ],
        Some(dir),
        None,
    )
}

/// Every table, every column, every row: the same as the file sink's
/// records, which tests/backfill.rs checks against the oracle.
fn assert_store_matches_file(url: &str, records: &[Value]) -> [usize; 3] {
    [
        pg::assert_rows_match(
            url,
            "window_records",
            &["sli", "group_key", "window_start"],
            &pg::flattened(records, "window"),
        ),
        pg::assert_rows_match(
            url,
            "slo_records",
            &["sli", "group_key", "at"],
            &pg::flattened(records, "slo"),
        ),
        pg::assert_rows_match(
            url,
            "alert_records",
            &["sli", "group_key", "severity", "at"],
            &pg::flattened(records, "alert"),
        ),
    ]
}

#[test]
fn backfill_rows_match_the_file_sink_and_a_rerun_changes_nothing() {
    let (dir, cfg, input, url) = setup("pg_backfill");
    let exp = expected(
        &parse_input(&fs::read(&input).expect("read"), 1_048_576).events,
        None,
        None,
    );
    backfill_into(dir.path(), &cfg, &input).assert_code(0, "backfill");
    let file = records(&fs::read(dir.path().join("records.jsonl")).expect("file sink"));
    assert_records(
        &window_records(&fs::read(dir.path().join("records.jsonl")).unwrap()),
        &exp,
    );
    let counts = assert_store_matches_file(&url, &file);
    assert_eq!(counts[0], exp.len(), "one window row per oracle window");
    assert!(
        counts[1] > 150 && counts[2] >= 3,
        "slo and alert rows: {counts:?}"
    );
    let before = pg::rows(
        &url,
        "SELECT * FROM window_records ORDER BY sli, window_start",
    );

    // The same archives again: the file sink gets a second copy, the store
    // keeps one row per key with the same numbers.
    backfill_into(dir.path(), &cfg, &input).assert_code(0, "second backfill");
    assert_eq!(
        assert_store_matches_file(&url, &file),
        counts,
        "a second run adds no row"
    );
    let after = pg::rows(
        &url,
        "SELECT * FROM window_records ORDER BY sli, window_start",
    );
    assert_eq!(before, after, "a second run changes no value");
}

/// A grouped SLI: one row per group and window, the group whole and in
/// the key, the same as the file sink's records; a second run adds none.
#[test]
fn a_grouped_sli_has_rows_per_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = pg::fresh_db("pg_groups");
    let cfg = dir.path().join("slipstream.toml");
    let text = format!(
        "[[sli]]\nname = \"routes\"\ngood = 'status < 500'\ngroup_by = [\"http.route\"]\ngroup_limit = 4\n[sli.objective]\ntarget = 0.99\nwindow = \"1d\"\n\n[[sink]]\ntype = \"file\"\npath = \"records.jsonl\"\n\n[[sink]]\ntype = \"postgres\"\nurl = \"{url}\"\n"
    );
    fs::write(&cfg, text).expect("write config");
    let mut args = vec!["--count", "30000", "--rate", "50", "--seed", "4"];
    args.extend(INCIDENTS);
    let input = generate(&dir.path().join("in.jsonl"), &args);
    for run in ["first", "second"] {
        backfill_into(dir.path(), &cfg, &input).assert_code(0, run);
    }
    let file = records(&fs::read(dir.path().join("records.jsonl")).expect("file sink"));
    let groups: std::collections::BTreeSet<String> = file
        .iter()
        .filter_map(|r| r["group"]["http.route"].as_str().map(str::to_string))
        .collect();
    // Each window keeps its 4 smallest routes, which a quiet window may
    // lack: more than 4 routes over the run, and `__other__`.
    assert!(
        groups.len() > 5 - 1 && groups.contains("__other__"),
        "{groups:?}"
    );
    let counts = assert_store_matches_file(&url, &file);
    assert_eq!(
        counts[0] * 2,
        file.iter().filter(|r| r["kind"] == "window").count()
    );
    assert!(counts[1] > 0, "{counts:?}");
}

#[test]
fn migrations_are_safe_concurrently_and_twice() {
    let (dir, cfg, input, url) = setup("pg_migrations");
    // Four instances against an empty database at once.
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| backfill_into(dir.path(), &cfg, &input)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for r in &runs {
        r.assert_code(0, "concurrent backfill");
    }
    // One row per migration file, each applied once.
    let files = fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sinks/postgres"))
        .expect("migrations")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    let versions = pg::rows(&url, "SELECT version FROM slipstream_migrations ORDER BY 1");
    let want: Vec<Value> = (1..=files)
        .map(|v| serde_json::json!({ "version": v }))
        .collect();
    assert_eq!(versions, want);
    // Once more on the migrated schema.
    backfill_into(dir.path(), &cfg, &input).assert_code(0, "backfill on a migrated schema");
    assert_eq!(pg::count(&url, "slipstream_migrations"), files as i64);
    let file = records(&fs::read(dir.path().join("records.jsonl")).expect("file sink"));
    assert_store_matches_file(&url, &file);

    // On a migrated schema a role that may only read and write rows runs.
    let mut admin = pg::connect(&url);
    admin
        .batch_execute(
            "DROP ROLE IF EXISTS slipstream_writer;
             CREATE ROLE slipstream_writer LOGIN PASSWORD 'w-pass';
             REVOKE CREATE ON SCHEMA public FROM PUBLIC;
             GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO slipstream_writer;",
        )
        .expect("a least-privilege role");
    let (scheme_user, host) = url.split_once('@').expect("URL with credentials");
    let scheme = scheme_user.split("//").next().expect("scheme");
    let writer_url = format!("{scheme}//slipstream_writer:w-pass@{host}");
    let text = fs::read_to_string(&cfg)
        .expect("config")
        .replace(&url, &writer_url);
    let writer_cfg = dir.path().join("writer.toml");
    fs::write(&writer_cfg, text).expect("write");
    backfill_into(dir.path(), &writer_cfg, &input).assert_code(0, "backfill as a writer-only role");
}

#[test]
fn views_say_what_the_records_say() {
    let (dir, cfg, input, url) = setup("pg_views");
    backfill_into(dir.path(), &cfg, &input).assert_code(0, "backfill");
    let file = records(&fs::read(dir.path().join("records.jsonl")).expect("file sink"));

    // slo_status: the newest slo record of each SLI.
    let mut newest: BTreeMap<String, &Value> = BTreeMap::new();
    for r in file.iter().filter(|r| r["kind"] == "slo") {
        newest.insert(r["sli"].as_str().expect("sli").to_string(), r); // in time order
    }
    let status = pg::rows(
        &url,
        "SELECT sli, at, budget_remaining FROM slo_status ORDER BY sli",
    );
    assert_eq!(status.len(), newest.len());
    for row in &status {
        let rec = newest[row["sli"].as_str().expect("sli")];
        assert_eq!(
            rfc3339_ns(row["at"].as_str().unwrap()),
            rfc3339_ns(rec["at"].as_str().unwrap())
        );
        assert_eq!(
            row["budget_remaining"].as_f64(),
            rec["budget"]["remaining"].as_f64()
        );
    }

    // alerts_firing: per SLI and severity, the newest alert when it fires.
    let mut last: BTreeMap<(String, String), &Value> = BTreeMap::new();
    for r in file.iter().filter(|r| r["kind"] == "alert") {
        last.insert(
            (
                r["sli"].as_str().unwrap().into(),
                r["severity"].as_str().unwrap().into(),
            ),
            r,
        );
    }
    let want: Vec<(String, String, Option<i64>)> = last
        .iter()
        .filter(|(_, r)| r["state"] == "firing")
        .map(|((s, sev), r)| {
            (
                s.clone(),
                sev.clone(),
                rfc3339_ns(r["at"].as_str().unwrap()),
            )
        })
        .collect();
    assert!(
        !want.is_empty(),
        "the second incident is still firing at the end"
    );
    assert!(
        file.iter()
            .any(|r| r["kind"] == "alert" && r["state"] == "resolved"),
        "the first incident resolved"
    );
    let have: Vec<(String, String, Option<i64>)> = pg::rows(
        &url,
        "SELECT sli, severity, at FROM alerts_firing ORDER BY sli, severity",
    )
    .iter()
    .map(|r| {
        (
            r["sli"].as_str().unwrap().into(),
            r["severity"].as_str().unwrap().into(),
            rfc3339_ns(r["at"].as_str().unwrap()),
        )
    })
    .collect();
    assert_eq!(have, want);
}

/// Every `rawSql` and variable query of a dashboard JSON, wherever it sits.
fn queries(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("rawSql", Value::String(q)) => out.push(q.clone()),
                    ("query", Value::String(q)) if m.get("type") == Some(&"query".into()) => {
                        out.push(q.clone())
                    }
                    _ => queries(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| queries(v, out)),
        _ => {}
    }
}

/// Grafana's macros as Grafana expands them, over the whole data range.
fn expand_macros(q: &str, sli: &str) -> String {
    let range = "BETWEEN '2025-12-01T00:00:00Z' AND '2026-02-01T00:00:00Z'";
    let mut out = q.replace("$sli", &format!("'{sli}'"));
    while let Some(i) = out.find("$__timeFilter(") {
        let rest = &out[i + "$__timeFilter(".len()..];
        let close = rest.find(')').expect("closing parenthesis");
        let col = rest[..close].to_string();
        out = format!("{}{col} {range}{}", &out[..i], &rest[close + 1..]);
    }
    assert!(!out.contains('$'), "an unexpanded macro in {out}");
    out
}

#[test]
fn every_dashboard_query_runs_and_returns_rows() {
    let (dir, cfg, input, url) = setup("pg_dashboard");
    backfill_into(dir.path(), &cfg, &input).assert_code(0, "backfill");
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/dashboards/slipstream.json");
    let dashboard: Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("dashboard")).expect("JSON");
    let mut all = Vec::new();
    queries(&dashboard, &mut all);
    assert!(all.len() >= 6, "the dashboard has its SQL panels: {all:?}");
    for q in &all {
        let sql = expand_macros(q, "checkout-availability");
        let got = pg::rows(&url, &sql);
        assert!(!got.is_empty(), "no rows from the dashboard query:\n{sql}");
    }
}

/// Walks every `"datasource": {"uid": ...}` of a dashboard.
fn datasource_uids(v: &Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(uid) = m.get("datasource").and_then(|d| d["uid"].as_str()) {
                out.insert(uid.to_string());
            }
            m.values().for_each(|v| datasource_uids(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| datasource_uids(v, out)),
        _ => {}
    }
}

/// The provisioning files parse, provide every data source the dashboard
/// uses, and Prometheus scrapes the job's metrics port.
#[test]
fn deployment_files_fit_together() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let yaml = |p: &str| -> Value {
        serde_norway::from_str(&fs::read_to_string(root.join(p)).expect(p)).expect(p)
    };
    let sources = yaml("deploy/grafana/provisioning/datasources/datasources.yml");
    let provided: std::collections::BTreeSet<String> = sources["datasources"]
        .as_array()
        .expect("datasources")
        .iter()
        .map(|d| d["uid"].as_str().expect("uid").to_string())
        .collect();
    let dashboard: Value = serde_json::from_str(
        &fs::read_to_string(root.join("deploy/grafana/dashboards/slipstream.json"))
            .expect("dashboard"),
    )
    .expect("JSON");
    let mut used = std::collections::BTreeSet::new();
    datasource_uids(&dashboard, &mut used);
    used.remove("-- Grafana --"); // Grafana's built-in annotations source
    assert!(!used.is_empty());
    assert!(
        used.is_subset(&provided),
        "{used:?} not all in {provided:?}"
    );

    let providers = yaml("deploy/grafana/provisioning/dashboards/dashboards.yml");
    assert!(providers["providers"][0]["options"]["path"].is_string());

    // Prometheus scrapes the rollup and every ingest instance on the port
    // the compose configuration listens on, under the compose service names
    // that run those roles.
    let prometheus = yaml("deploy/prometheus/prometheus.yml");
    let jobs = &prometheus["scrape_configs"];
    let config = fs::read_to_string(root.join("config/compose.toml")).expect("compose.toml");
    let port = config
        .lines()
        .find_map(|l| l.strip_prefix("listen = \"0.0.0.0:"))
        .and_then(|p| p.strip_suffix('"'))
        .expect("compose.toml listens on 0.0.0.0");
    assert_eq!(
        jobs[0]["static_configs"][0]["targets"][0],
        format!("rollup:{port}")
    );
    let dns = &jobs[1]["dns_sd_configs"][0];
    assert_eq!(dns["names"][0], "ingest");
    assert_eq!(dns["port"].as_u64(), port.parse::<u64>().ok());
    let compose = yaml("docker-compose.yml");
    for (service, role) in [("rollup", "rollup"), ("ingest", "ingest")] {
        let command: Vec<&str> = compose["services"][service]["command"]
            .as_array()
            .unwrap_or_else(|| panic!("service {service} has a command"))
            .iter()
            .map(|v| v.as_str().expect("string"))
            .collect();
        assert_eq!(
            command,
            ["run", "-c", "/etc/slipstream/compose.toml", "--role", role],
            "{service}"
        );
    }
    // A scalable service cannot bind a fixed host port.
    assert!(compose["services"]["ingest"]["ports"].is_null());
}

/// History loaded in two backfills (before and after a time) gives the
/// same rows as one backfill of everything: the second continues the
/// budgets and alert states from the window records the first stored.
#[test]
fn a_backfill_continues_from_the_history_in_the_store() {
    let (dir, cfg, input, url) = setup("pg_continue");
    let cut = "2026-01-01T02:30:00Z"; // inside the second incident
    let input = p(&input);
    for range in [["--to", cut], ["--from", cut]] {
        let r = slipstream(
            &["backfill", "-c", &p(&cfg), range[0], range[1], &input],
            Some(dir.path()),
            None,
        );
        r.assert_code(0, &format!("backfill {range:?}"));
    }
    let whole = dir.path().join("whole.jsonl");
    let r = slipstream(
        &["backfill", "-c", &p(&cfg), "--output", &p(&whole), &input],
        None,
        None,
    );
    r.assert_code(0, "backfill of everything");
    let file = records(&fs::read(&whole).expect("whole"));
    let counts = assert_store_matches_file(&url, &file);
    assert!(
        counts[2] >= 3,
        "alerts on both sides of the cut: {counts:?}"
    );
}

#[test]
fn a_wrong_password_or_database_is_named_in_the_servers_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = generate(&dir.path().join("in.jsonl"), &["--count", "100"]);
    let server = pg::server_url();
    let (userinfo, rest) = server.split_once('@').expect("a URL with a user");
    let (scheme_user, password) = userinfo.rsplit_once(':').expect("a password");
    let user = scheme_user.rsplit('/').next().expect("user");
    let wrong_password = "not-the-password-4711";
    let (base, _) = rest.rsplit_once('/').expect("a database");
    for (url, says) in [
        (
            format!("{scheme_user}:{wrong_password}@{rest}"),
            format!("password authentication failed for user \"{user}\""),
        ),
        (
            format!("{userinfo}@{base}/no_such_database_4711"),
            "database \"no_such_database_4711\" does not exist".to_string(),
        ),
    ] {
        let cfg = pg::write_config(dir.path(), &url);
        let run = backfill_into(dir.path(), &cfg, &input);
        assert_ne!(run.code, Some(0), "{}", run.stderr);
        assert!(
            run.stderr.contains(&says),
            "no `{says}` in:\n{}",
            run.stderr
        );
        assert!(!run.stderr.contains("db error"), "{}", run.stderr);
        for secret in [wrong_password, password] {
            assert!(
                !run.stderr.contains(secret),
                "a password is shown:\n{}",
                run.stderr
            );
        }
    }
}
