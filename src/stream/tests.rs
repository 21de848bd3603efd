use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::config::Config;
use crate::reject::LineReject;
use crate::window::SliWindow;

const MIN: i64 = 60_000_000_000;
const BASE: i64 = 1_795_773_600 * 1_000_000_000; // 2026-11-27T10:00:00Z

fn config() -> Config {
    Config::parse(
        Path::new("t.toml"),
        r#"
[window]
size = "1m"
max_out_of_orderness = "5s"
allowed_lateness = "1m"
idle_timeout = "30s"
[[sli]]
name = "all"
good = "status < 500"
"#,
    )
    .unwrap()
}

fn event(t_ns: i64, status: u32) -> Vec<u8> {
    format!(r#"{{"timestamp":{t_ns},"status":{status}}}"#).into_bytes()
}

/// A job with partitions 0 and 1 of topic 0, assigned now.
fn two_partitions() -> (Job, Instant) {
    let mut job = Job::new(&config());
    let t0 = Instant::now();
    job.assign((0, 0), None, t0);
    job.assign((0, 1), None, t0);
    (job, t0)
}

#[test]
fn watermark_waits_for_every_active_partition_and_skips_idle_ones() {
    let (mut job, t0) = two_partitions();
    job.process((0, 0), 0, &event(BASE + 10 * MIN, 200), t0);
    assert_eq!(job.watermark(t0), None, "partition 1 has not spoken yet");
    job.process((0, 1), 0, &event(BASE + 2 * MIN, 200), t0);
    assert_eq!(job.watermark(t0), Some(BASE + 2 * MIN - 5_000_000_000));
    // Partition 0 keeps talking; partition 1 falls silent for the idle
    // timeout, but it is not known to be at its end (its broker may be
    // down): it still holds the watermark.
    let later = t0 + Duration::from_secs(31);
    job.process((0, 0), 1, &event(BASE + 11 * MIN, 200), later);
    assert_eq!(job.watermark(later), Some(BASE + 2 * MIN - 5_000_000_000));
    // Once the consumer reached its end, it is idle after the timeout.
    job.reached_end((0, 1), later);
    assert_eq!(job.watermark(later), Some(BASE + 2 * MIN - 5_000_000_000));
    let idle = later + Duration::from_secs(31);
    assert_eq!(job.watermark(idle), Some(BASE + 11 * MIN - 5_000_000_000));
}

/// A partition whose producer writes only broken lines must not stop every
/// window of the job from closing once it is caught up; while it is still
/// reading a backlog, it holds the watermark whatever the backlog holds.
#[test]
fn a_caught_up_partition_of_rejected_lines_stops_holding_the_watermark() {
    let (mut job, t0) = two_partitions();
    let mut offset = 0;
    let mut feed = |job: &mut Job, at: Instant, minute: i64, caught_up: bool| {
        job.process((0, 0), offset, &event(BASE + minute * MIN, 200), at);
        let junk = job.process((0, 1), offset, br#"{"ts":"no timestamp here"}"#, at);
        assert_eq!(
            junk,
            Outcome::Rejected(Reject::Line(LineReject::NoTimestamp))
        );
        if caught_up {
            // The consumer reports the end after every message it catches up on.
            job.reached_end((0, 1), at);
        }
        offset += 1;
    };
    // A minute of backlog, all rejected lines: partition 1 is not idle.
    for s in 0..60 {
        feed(&mut job, t0 + Duration::from_secs(s), 1, false);
    }
    assert_eq!(job.watermark(t0 + Duration::from_secs(60)), None);
    // Caught up at 60 s, still nothing but rejected lines.
    let caught_up = t0 + Duration::from_secs(60);
    for s in 0..30 {
        feed(
            &mut job,
            caught_up + Duration::from_secs(s),
            1 + s as i64 / 10,
            true,
        );
    }
    assert_eq!(job.watermark(caught_up + Duration::from_secs(29)), None);
    assert!(job
        .close_windows(caught_up + Duration::from_secs(29))
        .is_empty());
    // Thirty seconds after it caught up with no event: partition 1 is idle.
    let later = caught_up + Duration::from_secs(31);
    feed(&mut job, later, 5, true);
    assert_eq!(job.watermark(later), Some(BASE + 5 * MIN - 5_000_000_000));
    let closed = job.close_windows(later);
    let starts: Vec<i64> = closed.iter().map(|w| w.start_ns).collect();
    assert_eq!(starts, vec![BASE + MIN, BASE + 2 * MIN]);
    assert_eq!(closed.iter().map(|w| w.slis[0].total).sum::<u64>(), 60 + 20);
    // A real event brings it back: it holds the watermark again.
    job.process((0, 1), 999, &event(BASE + 4 * MIN, 200), later);
    assert_eq!(job.watermark(later), Some(BASE + 4 * MIN - 5_000_000_000));
}

#[test]
fn windows_close_after_lateness_and_later_events_are_too_late() {
    let mut job = Job::new(&config());
    let t = Instant::now();
    job.assign((0, 0), None, t);
    assert_eq!(
        job.process((0, 0), 0, &event(BASE + 1, 503), t),
        Outcome::Counted
    );
    // Watermark at 10:02:04: window 10:00-10:01 needs 10:02:00 + 5 s of out-of-orderness.
    job.process((0, 0), 1, &event(BASE + 2 * MIN + 4_000_000_000, 200), t);
    assert!(job.close_windows(t).is_empty());
    job.process((0, 0), 2, &event(BASE + 2 * MIN + 6_000_000_000, 200), t);
    let closed = job.close_windows(t);
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].start_ns, BASE);
    assert_eq!((closed[0].slis[0].total, closed[0].slis[0].bad), (1, 1));
    assert_eq!(
        job.process((0, 0), 3, &event(BASE + 30_000_000_000, 200), t),
        Outcome::TooLate
    );
    assert_eq!(
        job.process((0, 0), 4, b"not json", t),
        Outcome::Rejected(Reject::Line(LineReject::NotJson))
    );
    // Offsets 1 and 2 sit in the open window 10:02: commit up to offset 1.
    let points = job.commit_points();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].1, 1);
    assert_eq!(points[0].2.position, 5);
    assert_eq!(points[0].2.frontier_ns, job.frontier_ns());
}

/// A small deterministic event log over 3 partitions and ~12 minutes.
fn log() -> Vec<Vec<(i64, Vec<u8>)>> {
    let mut parts = vec![Vec::new(), Vec::new(), Vec::new()];
    let mut x: u64 = 42;
    for i in 0..3000i64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let p = (x >> 33) as usize % 3;
        // Mostly in order, with up to 3 s of disorder.
        let t = BASE + i * 240_000_000 - ((x >> 40) % 3_000) as i64 * 1_000_000;
        let status = if (x >> 20) % 17 == 0 { 500 } else { 200 };
        let line = if (x >> 12) % 97 == 0 {
            b"garbage".to_vec()
        } else {
            event(t, status)
        };
        let off = parts[p].len() as i64;
        parts[p].push((off, line));
    }
    parts
}

type CommitPoint = (PartitionKey, i64, Checkpoint);

fn key_of(w: &Window) -> (i64, SliWindow) {
    (w.start_ns, w.slis[0].clone())
}

/// Feeds partitions round-robin from `from` offsets, closing windows every
/// few messages; stops after `limit` messages. Returns emitted windows and
/// the last commit points taken after an emission.
fn run(
    job: &mut Job,
    log: &[Vec<(i64, Vec<u8>)>],
    from: &[i64],
    limit: usize,
    commit_every: usize,
) -> (Vec<(i64, SliWindow)>, Vec<CommitPoint>) {
    let t = Instant::now();
    let mut cursor: Vec<usize> = from.iter().map(|&o| o as usize).collect();
    let mut emitted = Vec::new();
    let mut commits = Vec::new();
    let mut n = 0;
    loop {
        let mut progressed = false;
        for (p, msgs) in log.iter().enumerate() {
            if n == limit {
                return (emitted, commits);
            }
            if let Some((off, line)) = msgs.get(cursor[p]) {
                job.process((0, p as i32), *off, line, t);
                cursor[p] += 1;
                n += 1;
                progressed = true;
                if n % 7 == 0 {
                    emitted.extend(job.close_windows(t).iter().map(key_of));
                }
                if n % commit_every == 0 {
                    commits = job.commit_points();
                }
            }
        }
        if !progressed {
            return (emitted, commits);
        }
    }
}

#[test]
fn crash_and_replay_emit_each_window_once_with_full_counts() {
    let log = log();
    let cfg = config();
    let t = Instant::now();
    let mut reference = Job::new(&cfg);
    for p in 0..3 {
        reference.assign((0, p), None, t);
    }
    let (expected, _) = run(&mut reference, &log, &[0, 0, 0], usize::MAX, 50);
    let expected: BTreeMap<i64, SliWindow> = expected.into_iter().collect();
    assert!(
        expected.len() >= 8,
        "the log spans enough windows: {}",
        expected.len()
    );

    // Crash after various numbers of messages; restart from the last commit.
    for crash_at in [400, 1111, 2000, 2999] {
        let mut seen: BTreeMap<i64, SliWindow> = BTreeMap::new();
        let mut job = Job::new(&cfg);
        for p in 0..3 {
            job.assign((0, p), None, t);
        }
        let (first, commits) = run(&mut job, &log, &[0, 0, 0], crash_at, 50);
        for (k, v) in first {
            assert!(seen.insert(k, v).is_none(), "emitted twice in one run");
        }
        let mut restarted = Job::new(&cfg);
        let mut from = [0i64; 3];
        for p in 0..3 {
            let c = commits.iter().find(|(key, _, _)| key.1 == p);
            restarted.assign((0, p), c.map(|c| c.2), t);
            from[p as usize] = c.map_or(0, |c| c.1);
        }
        let (second, _) = run(&mut restarted, &log, &from, usize::MAX, 50);
        for (k, v) in second {
            if let Some(old) = seen.get(&k) {
                assert_eq!(
                    old, &v,
                    "window {k} rewritten with other numbers (crash at {crash_at})"
                );
            }
            seen.insert(k, v);
        }
        assert_eq!(seen, expected, "crash at {crash_at}");
    }
}

/// One job over every partition: a partition with messages still to read
/// holds the watermark back, though it was silent past the idle timeout.
#[test]
fn in_one_job_a_partition_with_more_to_read_holds_its_windows_open() {
    let mut job = Job::with_scope(&config(), Scope::Shared);
    let t0 = Instant::now();
    job.assign((0, 0), None, t0);
    job.assign((0, 1), None, t0);
    job.process((0, 0), 0, &event(BASE + 10_000_000_000, 200), t0);
    job.process((0, 1), 0, &event(BASE + 10_000_000_000, 200), t0);
    job.reached_end((0, 1), t0);
    let later = t0 + Duration::from_secs(31);
    job.process((0, 0), 1, &event(BASE + 5 * MIN, 200), later);
    assert_eq!(job.idle_candidates(later), vec![(0, 1)]);
    assert!(job.watermark(later).is_some_and(|w| w > BASE + MIN));

    job.more_to_read((0, 1));
    assert!(job.idle_candidates(later).is_empty());
    let held = job.watermark(later).expect("a watermark");
    assert!(held < BASE + MIN, "held by partition 1: {held}");
}

#[test]
fn a_partition_with_more_to_read_is_not_reported_idle_until_it_reaches_its_end_again() {
    let mut job = Job::with_scope(&config(), Scope::PerPartition);
    let t0 = Instant::now();
    job.assign((0, 0), None, t0);
    job.assign((0, 1), None, t0);
    job.process((0, 0), 0, &event(BASE + 10_000_000_000, 200), t0);
    job.process((0, 1), 0, &event(BASE + 5 * MIN, 200), t0);
    job.reached_end((0, 0), t0);
    let later = t0 + Duration::from_secs(31);
    assert_eq!(job.idle_candidates(later), vec![(0, 0)]);
    assert!(job.idle_candidates(t0).is_empty(), "not silent long enough");

    // Its end moved while the consumer had not fetched yet.
    job.more_to_read((0, 0));
    assert!(job.idle_candidates(later).is_empty());
    let h = job.hand_over(later);
    assert!(h.snapshots.is_empty(), "{h:?}");
    assert!(h.progress.iter().all(|p| !p.idle), "{h:?}");

    // The consumer reads on to the end: idle again after the timeout.
    job.process((0, 0), 1, &event(BASE + 20_000_000_000, 200), later);
    job.reached_end((0, 0), later);
    let much_later = later + Duration::from_secs(31);
    assert_eq!(job.idle_candidates(much_later), vec![(0, 0)]);
    let h = job.hand_over(much_later);
    assert_eq!(h.snapshots.len(), 1, "{h:?}");
    assert_eq!(h.snapshots[0].2.slis[0].total, 2);
    assert!(h.progress.iter().any(|p| p.key == (0, 0) && p.idle));
}
