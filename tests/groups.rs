//! Grouped SLIs (`group_by`) end to end through `slipstream backfill`: one
//! grouped SLI gives the records of the same SLIs written out one `[[sli]]`
//! per value; past `group_limit`, a window keeps its smallest groups and
//! `__other__` takes exactly the rest (counted from the lines with
//! serde_json); the records do not depend on threads, input order or
//! spilling.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

const HEAD: &str = "[window]\nsize = \"1m\"\n[decode.fields]\nlatency = \"latency_ms\"\n";

fn sli_body(name: &str, extra: &str) -> String {
    format!(
        "[[sli]]\nname = \"{name}\"\ngood = 'status < 500 && latency < 300ms'\npercentiles = [0.5, 0.99]\n{extra}[sli.objective]\ntarget = 0.99\nwindow = \"1d\"\n"
    )
}

/// The routes of the generated lines, by serde_json.
fn routes(data: &[u8]) -> BTreeSet<String> {
    parse_input(data, MAX_DEFAULT)
        .events
        .iter()
        .filter_map(|e| e.v["http"]["route"].as_str().map(str::to_string))
        .collect()
}

/// One SLI grouped by route, and the same SLI written out as `r0`, `r1`...
/// one `[[sli]]` per route (in `routes`' order) with a filter on it.
fn grouped_and_written(routes: &[String]) -> (String, String) {
    let grouped = format!(
        "{HEAD}{}",
        sli_body("grouped", "group_by = [\"http.route\"]\n")
    );
    let mut written = HEAD.to_string();
    for (i, r) in routes.iter().enumerate() {
        written.push_str(&sli_body(
            &format!("r{i}"),
            &format!("filter = 'http.route == \"{r}\"'\n"),
        ));
    }
    (grouped, written)
}

fn run(dir: &Path, name: &str, config: &str, input: &Path, extra: &[&str]) -> (Run, Vec<Value>) {
    let cfg = dir.join(format!("{name}.toml"));
    fs::write(&cfg, config).expect("write the config");
    let out = dir.join(format!("{name}.jsonl"));
    let (run, bytes) = backfill(&cfg, &out, extra, &[&p(input)], None);
    run.assert_code(0, name);
    (run, records(&bytes))
}

/// Records by series name: the grouped SLI's records under the written-out
/// SLI of their route, with `group` and `sli` left out and the series'
/// name in alert summaries replaced by the written-out name.
fn by_series(
    recs: &[Value],
    name_of: &dyn Fn(&Value) -> Option<String>,
) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in recs {
        let Some(name) = name_of(r) else { continue };
        let mut r = r.clone();
        let obj = r.as_object_mut().expect("a record is an object");
        let series = obj.get("group").map(|g| {
            format!(
                "grouped {{http.route={}}}",
                g["http.route"].as_str().unwrap_or("?")
            )
        });
        obj.remove("group");
        obj.remove("sli");
        if let (Some(series), Some(Value::String(s))) = (series, obj.get_mut("summary")) {
            *s = s.replace(&series, &name);
        }
        out.entry(name).or_default().push(r);
    }
    out
}

#[test]
fn a_grouped_sli_gives_the_records_of_one_sli_per_value() {
    let dir = tmp();
    let input = generate(
        &dir.path().join("in.jsonl"),
        &[
            "--count",
            "40000",
            "--rate",
            "50",
            "--seed",
            "7",
            "--incident",
            "kind=errors,start=3m,duration=6m,rate=0.5,service=checkout",
        ],
    );
    let data = fs::read(&input).expect("read the input");
    let routes: Vec<String> = routes(&data).into_iter().collect();
    assert!(routes.len() >= 5, "routes: {routes:?}");

    let (grouped, written) = grouped_and_written(&routes);
    let (_, g) = run(dir.path(), "grouped", &grouped, &input, &[]);
    let (_, w) = run(dir.path(), "written", &written, &input, &[]);

    let index: BTreeMap<&str, usize> = routes
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i))
        .collect();
    let g = by_series(&g, &|r| {
        let route = r["group"]["http.route"].as_str()?;
        Some(format!("r{}", index.get(route)?))
    });
    let w = by_series(&w, &|r| r["sli"].as_str().map(str::to_string));
    assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>());
    let mut alerts = 0;
    for (name, want) in &w {
        // A written-out SLI's objective starts with the first window of the
        // input, a group's with its own first window.
        let first_end = want
            .iter()
            .find(|r| r["kind"] == "window")
            .map(|r| r["window_end"].clone())
            .expect("a window record");
        let want: Vec<&Value> = want
            .iter()
            .filter(|r| r["kind"] == "window" || r["at"].as_str() >= first_end.as_str())
            .collect();
        let got: Vec<&Value> = g[name].iter().collect();
        assert_eq!(got.len(), want.len(), "{name}");
        for (a, b) in got.iter().zip(&want) {
            assert_eq!(a, b, "{name}");
        }
        alerts += want.iter().filter(|r| r["kind"] == "alert").count();
    }
    assert!(alerts > 0, "the incident fires an alert on some route");
}

/// The windows' groups counted from the lines: per window start, per route,
/// its events.
fn route_counts(data: &[u8]) -> BTreeMap<i64, BTreeMap<String, u64>> {
    let mut out: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
    for e in parse_input(data, MAX_DEFAULT).events {
        let route = e.v["http"]["route"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *out.entry(e.t_ns.div_euclid(WINDOW_NS) * WINDOW_NS)
            .or_default()
            .entry(route)
            .or_default() += 1;
    }
    out
}

#[test]
fn past_the_limit_other_takes_exactly_the_rest_whatever_the_threads_and_order() {
    let dir = tmp();
    let data = gen_bytes(&["--count", "20000", "--rate", "40", "--seed", "3"]);
    let input = dir.path().join("in.jsonl");
    fs::write(&input, &data).expect("write the input");
    let config = format!(
        "{HEAD}[[sli]]\nname = \"routes\"\ngood = 'status < 500'\ngroup_by = [\"http.route\"]\ngroup_limit = 3\n"
    );
    let (run1, recs) = run(dir.path(), "t1", &config, &input, &["--threads", "1"]);

    let expected = route_counts(&data);
    let mut other_total = 0;
    let mut got: BTreeMap<i64, Vec<(String, u64)>> = BTreeMap::new();
    for r in recs.iter().filter(|r| r["kind"] == "window") {
        let start = rfc3339_ns(r["window_start"].as_str().expect("window_start")).expect("a time");
        let route = r["group"]["http.route"]
            .as_str()
            .expect("a grouped record")
            .to_string();
        got.entry(start)
            .or_default()
            .push((route, r["total"].as_u64().expect("total")));
    }
    assert_eq!(got.len(), expected.len());
    for (start, routes) in &expected {
        let all: u64 = routes.values().sum();
        let mut want: Vec<(String, u64)> = routes
            .iter()
            .take(3)
            .map(|(r, n)| (r.clone(), *n))
            .collect();
        if routes.len() > 3 {
            let kept: u64 = want.iter().map(|w| w.1).sum();
            want.push(("__other__".into(), all - kept));
            other_total += all - kept;
        }
        assert_eq!(got[start], want, "window {}", fmt_rfc3339(*start));
    }
    assert!(other_total > 0, "the input has more than 3 routes a window");
    let windows = expected.values().filter(|r| r.len() > 3).count();
    assert!(
        run1.stderr.contains(&format!("routes: {other_total} events in {windows} window(s) went to the group __other__ (group_limit 3).")),
        "{}",
        run1.stderr
    );
    assert!(
        run1.stderr.contains("warning: SLI \"routes\": ")
            && run1.stderr.contains("(group_limit = 3)"),
        "{}",
        run1.stderr
    );

    // Two threads, and the lines shuffled: the same bytes.
    let (_, two) = run(dir.path(), "t2", &config, &input, &["--threads", "2"]);
    assert_eq!(two, recs);
    let mut lines = split_lines(&data);
    Rng::new(9).shuffle(&mut lines);
    let shuffled = dir.path().join("shuffled.jsonl");
    fs::write(&shuffled, join_lines(&lines)).expect("write");
    let (_, mixed) = run(dir.path(), "mixed", &config, &shuffled, &["--threads", "2"]);
    assert_eq!(mixed, recs);
}

#[test]
fn groups_survive_spilling_to_disk() {
    let dir = tmp();
    // Two days of events: more windows than a tiny memory limit holds.
    let data = gen_bytes(&["--count", "60000", "--rate", "0.35", "--seed", "5"]);
    let input = dir.path().join("in.jsonl");
    fs::write(&input, &data).expect("write the input");
    let config = format!(
        "{HEAD}{}",
        sli_body("routes", "group_by = [\"http.route\"]\ngroup_limit = 4\n")
    );
    let (_, whole) = run(dir.path(), "whole", &config, &input, &[]);
    let (spilled, small) = run(
        dir.path(),
        "small",
        &config,
        &input,
        &["--memory-limit", "1MiB"],
    );
    assert!(spilled.stderr.contains("Spilled "), "{}", spilled.stderr);
    assert_eq!(small, whole);
    let counted: u64 = whole
        .iter()
        .filter(|r| r["kind"] == "window")
        .map(|r| r["total"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(counted, 60_000);
}

fn report_json(cfg: &Path, records: &Path, extra: &[&str]) -> Value {
    let (c, r) = (p(cfg), p(records));
    let mut args = vec!["report", "-c", &c, "--records", &r, "--format", "json"];
    args.extend_from_slice(extra);
    let run = slipstream(&args, None, None);
    run.assert_code(0, "report");
    serde_json::from_slice(&run.stdout).expect("report --format json is JSON")
}

/// 20,000 generated lines (`seed`) backfilled with [`grouped_and_written`]'s
/// two configurations into `grouped.jsonl` and `written.jsonl` beside
/// `grouped.toml` and `written.toml`: the folder, the input and the routes.
fn backfilled_both_ways(seed: &str) -> (tempfile::TempDir, std::path::PathBuf, Vec<String>) {
    let dir = tmp();
    let input = generate(
        &dir.path().join("in.jsonl"),
        &["--count", "20000", "--rate", "50", "--seed", seed],
    );
    let data = fs::read(&input).expect("read the input");
    let routes: Vec<String> = routes(&data).into_iter().collect();
    assert!(routes.len() >= 3, "routes: {routes:?}");
    let (grouped, written) = grouped_and_written(&routes);
    run(dir.path(), "grouped", &grouped, &input, &[]);
    run(dir.path(), "written", &written, &input, &[]);
    (dir, input, routes)
}

/// `report` lists each group as an SLO of its own, named by its series,
/// with the numbers the report gives for the same SLI written out with a
/// filter on the route (over the same period).
#[test]
fn the_report_lists_each_group_as_the_written_out_sli() {
    let (dir, _, routes) = backfilled_both_ways("11");
    let d = dir.path();
    // The same period for both: the report's default is the records' span,
    // and a route's first window may come after the input's.
    let period = |doc: &Value| doc["slos"][0]["period"].clone();
    let w = report_json(&d.join("written.toml"), &d.join("written.jsonl"), &[]);
    assert_eq!(
        report_json(&d.join("grouped.toml"), &d.join("grouped.jsonl"), &[])["slos"]
            .as_array()
            .map(Vec::len),
        Some(routes.len())
    );
    let (from, to) = {
        let p = period(&w);
        (
            p["from"].as_str().map(str::to_string),
            p["to"].as_str().map(str::to_string),
        )
    };
    let ranged = |name: &str| {
        let (f, t) = (from.clone().expect("from"), to.clone().expect("to"));
        let (cfg, recs) = (
            d.join(format!("{name}.toml")),
            d.join(format!("{name}.jsonl")),
        );
        report_json(&cfg, &recs, &["--from", &f, "--to", &t])
    };
    let g = ranged("grouped");
    let w = ranged("written");
    let g = g["slos"].as_array().expect("slos");
    let w = w["slos"].as_array().expect("slos");
    assert_eq!(g.len(), routes.len(), "one SLO per route: {g:?}");
    for (i, route) in routes.iter().enumerate() {
        let name = format!("grouped {{http.route={route}}}");
        let got = g
            .iter()
            .find(|s| s["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no SLO named {name}"));
        let want = &w[i];
        assert_eq!(want["name"], format!("r{i}").as_str());
        for field in ["good", "bad", "compliance", "met", "latency", "budget"] {
            assert_eq!(got[field], want[field], "{name}: {field}");
        }
    }
}

/// The answers of a `what-if` or `suggest` run, one a series (a line at the
/// margin and the indented or empty lines after it), with each group's
/// series name replaced by the written-out SLI's, sorted.
fn answers(stdout: &str, routes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in stdout.lines() {
        let mut line = line.to_string();
        for (i, route) in routes.iter().enumerate() {
            line = line.replace(&format!("grouped {{http.route={route}}}"), &format!("r{i}"));
        }
        match out.last_mut() {
            Some(last) if line.is_empty() || line.starts_with(' ') => {
                last.push('\n');
                last.push_str(&line);
            }
            _ => out.push(line),
        }
    }
    for a in &mut out {
        *a = a.trim_end().to_string();
    }
    out.sort();
    out
}

#[test]
fn what_if_and_suggest_answer_for_each_group_as_for_the_written_out_sli() {
    let (dir, input, routes) = backfilled_both_ways("5");
    let d = dir.path();
    let input = p(&input);
    // From the window records (`--records`) or from the raw logs (`--logs`).
    let ask = |command: &str, name: &str, logs: bool, extra: &[&str]| {
        let (cfg, recs) = (
            p(&d.join(format!("{name}.toml"))),
            p(&d.join(format!("{name}.jsonl"))),
        );
        let mut args = vec![command, "-c", &cfg];
        args.extend_from_slice(&if logs {
            ["--logs", &input]
        } else {
            ["--records", &recs]
        });
        args.extend_from_slice(extra);
        let run = slipstream(&args, None, None);
        run.assert_code(0, &format!("{command} {name}"));
        String::from_utf8(run.stdout).expect("UTF-8 answers")
    };
    // Every SLI by default; the grouped SLI's name stands for its groups.
    let targets = ["--target", "99.5%,95%"];
    let want = answers(&ask("what-if", "written", false, &targets), &routes);
    assert_eq!(want.len(), routes.len(), "{want:?}");
    assert_eq!(
        answers(&ask("what-if", "grouped", false, &targets), &routes),
        want
    );
    let threshold = ["--sli", "grouped", "--threshold", "150ms"];
    let got = answers(&ask("what-if", "grouped", true, &threshold), &routes);
    let want = answers(
        &ask("what-if", "written", true, &["--threshold", "150ms"]),
        &routes,
    );
    assert!(want
        .iter()
        .all(|a| a.contains("good: status < 500 && latency < 150ms")));
    assert_eq!(got, want);
    let want = answers(&ask("suggest", "written", true, &[]), &routes);
    assert!(
        want.iter().all(|a| a.contains("latency threshold")),
        "{want:?}"
    );
    assert_eq!(
        answers(&ask("suggest", "grouped", true, &[]), &routes),
        want
    );

    // One group by its series name.
    let one = format!("grouped {{http.route={}}}", routes[1]);
    let got = answers(&ask("what-if", "grouped", false, &["--sli", &one]), &routes);
    let want = answers(&ask("what-if", "written", false, &["--sli", "r1"]), &routes);
    assert_eq!((got.len(), &got), (1, &want));
    let cfg = p(&d.join("grouped.toml"));
    let recs = p(&d.join("grouped.jsonl"));
    let typo = slipstream(
        &["what-if", "-c", &cfg, "--records", &recs, "--sli", "groupd"],
        None,
        None,
    );
    assert_eq!(typo.code, Some(1), "{}", typo.stderr);
    assert!(
        typo.stderr.contains("--sli groupd: no such SLI"),
        "{}",
        typo.stderr
    );
    let nope = slipstream(
        &[
            "what-if",
            "-c",
            &cfg,
            "--records",
            &recs,
            "--sli",
            "grouped {http.route=/nope}",
        ],
        None,
        None,
    );
    assert_eq!(nope.code, Some(1), "{}", nope.stderr);
    let listed = format!(
        "no such group of grouped; they hold grouped {{http.route={}}}, ",
        routes[0]
    );
    assert!(nope.stderr.contains(&listed), "{}", nope.stderr);
}
