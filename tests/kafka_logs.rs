//! `slipstream run` with its broker unreachable (a loopback port nothing
//! listens on), stderr to a file: librdkafka's errors are logged once each
//! (repeats summarized), as plain text; `/readyz` names the broker and why;
//! SIGTERM still ends the job promptly and cleanly; and a job that consumed
//! nothing logs no commit of offsets.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, Instant};

use common::kafka::*;

/// How long the job retries before it is stopped: past the limiter's 10 s
/// period, so its summaries show.
const RETRYING: Duration = Duration::from_secs(13);

/// A job whose broker is unreachable for `RETRYING`, then stopped: its log.
fn run_unreachable(s: &Setup, group: &str) -> String {
    // Free a moment ago, and nothing listens on it: connections are refused.
    let broker = format!("127.0.0.1:{}", free_port());
    let cfg = s.config(&broker, group, &[], "", "");
    let mut job = Job::start(&cfg, &s.log(), &[], &[]);
    // The job keeps retrying; no condition ends this wait, its length is
    // the point: the errors repeat all along.
    std::thread::sleep(RETRYING);
    job.assert_running();
    assert_clean_exit(&mut job, "unreachable broker");
    drop(job);
    let text = String::from_utf8(fs::read(s.log()).expect("job log")).expect("UTF-8 log");
    text.replace(&broker, "BROKER")
}

#[test]
fn an_unreachable_broker_is_logged_once_in_plain_text() {
    let s = Setup::new();
    let text = run_unreachable(&s, "unreachable-logs");
    // Every check, then one assertion: each problem is told.
    let mut problems = Vec::new();
    if text.contains("\x1b[") {
        problems.push("colour codes in a log file".to_string());
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("===== ") && !l.trim().is_empty())
        .collect();
    if lines.len() >= 30 {
        problems.push(format!("{} lines in {RETRYING:?}", lines.len()));
    }
    // Each line without its timestamp; summaries apart.
    let mut once: BTreeMap<&str, usize> = BTreeMap::new();
    let mut summaries = 0;
    for line in &lines {
        let (_, rest) = line.split_once(' ').unwrap_or(("", line));
        if rest.contains(" more in the last ") {
            summaries += 1;
        } else {
            *once.entry(rest.trim()).or_default() += 1;
        }
    }
    for (line, n) in &once {
        if *n > 1 {
            problems.push(format!("{n} times: {line}"));
        }
    }
    let errors = once.keys().filter(|l| l.contains("librdkafka")).count();
    let refused = lines
        .iter()
        .filter(|l| l.contains("Connection refused") && !l.contains(" more in the last "))
        .count();
    if refused != 1 {
        problems.push(format!(
            "the refused connection is told {refused} times, not once"
        ));
    }
    if summaries == 0 || summaries > 2 * errors {
        problems.push(format!("{summaries} summaries of {errors} errors"));
    }
    // Nothing was consumed, so nothing was committed.
    if text.contains("Committed offsets") {
        problems.push("a commit of offsets is logged, though nothing was consumed".into());
    }
    assert!(
        problems.is_empty(),
        "{}\n----- the log:\n{text}",
        problems.join("\n")
    );
}

#[test]
fn readyz_names_the_unreachable_broker() {
    let s = Setup::new();
    let closed = free_port();
    let broker = format!("127.0.0.1:{closed}");
    let cfg = s.config(&broker, "unreachable-readyz", &[], "", "");
    let mut job = Job::start(&cfg, &s.log(), &[], &[]);
    let want = format!("not ready: cannot reach broker {broker} (connection refused)\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = None;
    while Instant::now() < deadline {
        job.assert_running();
        last = http_get(s.port, "/readyz");
        if last.as_ref().is_some_and(|(_, body)| *body == want) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(last, Some((503, want)), "/readyz within 10 s");
    assert_clean_exit(&mut job, "unreachable broker");
}

/// Once partitions were assigned, a broker outage leaves the job ready: it
/// waits for the brokers and loses nothing, so an orchestrator must not
/// take it out of service (or restart it) for that.
#[test]
fn readyz_stays_ready_when_the_brokers_go_down_after_assignment() {
    let s = Setup::new();
    let mut broker = Broker::start(s.dir.path(), &["in"]);
    let cfg = s.config(&broker.bootstrap, "ready-outage", &[], "", "");
    let mut job = Job::start(&cfg, &s.log(), &[], &[]);
    wait_until("/readyz to say ready", Duration::from_secs(60), || {
        job.assert_running();
        (http_get(s.port, "/readyz")? == (200, "ready\n".to_string())).then_some(())
    });
    let refused = || {
        fs::read_to_string(s.log())
            .unwrap_or_default()
            .matches("Connection refused")
            .count()
    };
    let before = refused();
    broker.command("down 1");
    // The job has seen the outage once librdkafka reports it.
    wait_until("the outage in the log", Duration::from_secs(30), || {
        job.assert_running();
        (refused() > before).then_some(())
    });
    // And stays ready all along, well past the report.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        assert_eq!(
            http_get(s.port, "/readyz"),
            Some((200, "ready\n".to_string())),
            "ready during the outage:\n{}",
            tail(&s.log(), 20)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    broker.command("up 1");
    assert_clean_exit(&mut job, "after the broker outage");
}
