use super::*;
use crate::stream::{Job, Scope};
use std::time::Duration;

const CONFIG: &str = r#"
    [window]
    size = "1m"
    max_out_of_orderness = "0s"
    allowed_lateness = "0s"
    idle_timeout = "1s"

    [[sli]]
    name = "availability"
    good = "status < 500"

    [[sli]]
    name = "latency"
    good = "latency <= 300ms"
"#;

fn config() -> Config {
    Config::parse("scale.toml".as_ref(), CONFIG).expect("config")
}

fn event(t_s: i64, status: u32, latency_ms: u32) -> Vec<u8> {
    let ts = crate::time::format_rfc3339(t_s * 1_000_000_000);
    format!(r#"{{"timestamp":"{ts}","status":{status},"latency":{latency_ms}}}"#).into_bytes()
}

/// Events of three source partitions: (partition, time, status, latency).
fn events() -> Vec<(i32, i64, u32, u32)> {
    let mut v = Vec::new();
    let mut x = 7u64;
    for i in 0..900i64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let p = (x >> 33) as i32 % 3;
        let status = if (x >> 20) % 10 == 0 { 503 } else { 200 };
        v.push((p, i / 2, status, ((x >> 40) % 700) as u32));
    }
    // Every partition moves past the last window.
    for p in 0..3 {
        v.push((p, 1000, 200, 1));
    }
    v
}

/// The windows one job computes from all partitions.
fn single(config: &Config) -> Vec<Window> {
    let mut job = Job::new(config);
    let now = Instant::now();
    for p in 0..3 {
        job.assign((0, p), None, now);
    }
    let mut offsets = [0i64; 3];
    for (p, t, s, l) in events() {
        job.process((0, p), offsets[p as usize], &event(t, s, l), now);
        offsets[p as usize] += 1;
    }
    job.close_windows(now)
}

/// Runs ingest per partition into partials messages, in the order given.
fn ingest(config: &Config, order: &[i32], q_count: i32) -> Vec<(i32, Vec<u8>)> {
    let mut job = Job::with_scope(config, Scope::PerPartition);
    let now = Instant::now();
    for p in 0..3 {
        job.assign((0, p), None, now);
    }
    let evs = events();
    let mut offsets = [0i64; 3];
    let mut out = Vec::new();
    let topics = vec!["requests".to_string()];
    for &p in order {
        for &(ep, t, s, l) in evs.iter().filter(|e| e.0 == p) {
            job.process((0, ep), offsets[p as usize], &event(t, s, l), now);
            offsets[p as usize] += 1;
        }
        let handover = job.hand_over(now);
        out.extend(super::super::messages(config, &topics, &handover, q_count, true).in_order());
    }
    out
}

fn rollup(config: &Config, messages: &[(i32, Vec<u8>)], q_count: i32) -> Vec<Window> {
    let mut r = Rollup::new(config, q_count);
    let now = Instant::now();
    r.set_sources((0..3).map(|p| ("requests".to_string(), p)).collect());
    for q in 0..q_count {
        r.assign((0, q), None, now);
    }
    let mut offsets = vec![0i64; q_count as usize];
    let mut merged: BTreeMap<i64, Window> = BTreeMap::new();
    for (q, m) in messages {
        r.process((0, *q), offsets[*q as usize], m, now);
        offsets[*q as usize] += 1;
        if let Closed::Groups(groups) = r.close(now) {
            for (_, ws) in groups {
                for w in ws {
                    let e = merged.entry(w.start_ns).or_insert_with(|| Window {
                        start_ns: w.start_ns,
                        slis: vec![SliWindow::default(); config.slis.len()].into(),
                    });
                    for (a, b) in e.slis.iter_mut().zip(w.slis.iter()) {
                        a.merge(b);
                    }
                }
            }
        }
    }
    merged.into_values().collect()
}

#[test]
fn ingest_then_rollup_equals_one_job_in_any_order_with_duplicates() {
    let config = config();
    let want = single(&config);
    assert!(want.len() >= 7, "{} windows", want.len());
    for q_count in [1, 2, 5] {
        for order in [[0, 1, 2], [2, 0, 1]] {
            let mut messages = ingest(&config, &order, q_count);
            assert_eq!(
                rollup(&config, &messages, q_count),
                want,
                "q={q_count} {order:?}"
            );
            // Every message twice (a replay after an ingest crash).
            let again = messages.clone();
            messages.extend(again);
            assert_eq!(rollup(&config, &messages, q_count), want);
        }
    }
}

#[test]
fn nothing_closes_until_every_source_partition_reported() {
    let config = config();
    let messages = ingest(&config, &[0, 1], 1);
    let mut r = Rollup::new(&config, 1);
    let now = Instant::now();
    r.set_sources((0..3).map(|p| ("requests".to_string(), p)).collect());
    r.assign((0, 0), None, now);
    for (i, (_, m)) in messages.iter().enumerate() {
        r.process((0, 0), i as i64, m, now);
    }
    match r.close(now) {
        Closed::Groups(g) => assert!(g.is_empty(), "{g:?}"),
        other => panic!("{other:?}"),
    }
    let mut text = String::new();
    r.render_metrics(now, &mut text);
    assert!(
        text.contains("slipstream_rollup_waiting_on{topic=\"requests\",partition=\"2\"} 1"),
        "{text}"
    );
}

/// Two ingest instances, one source partition each: both hand over
/// snapshots and go idle while the stream pauses; when it resumes,
/// instance `b` reports its partition past window 0 before instance
/// `a`, which lags, reports that its own partition woke up. The rollup
/// must not take `a`'s idle report, read before `b`'s progress, as
/// covering it: window 0 would close with `a`'s snapshot.
#[test]
fn an_idle_report_read_before_another_partition_moved_on_closes_nothing_past_it() {
    let config = config();
    let topics = vec!["requests".to_string()];
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(2);
    let (mut a, mut b) = (
        Job::with_scope(&config, Scope::PerPartition),
        Job::with_scope(&config, Scope::PerPartition),
    );
    a.assign((0, 0), None, t0);
    b.assign((0, 1), None, t0);
    // Every event of both partitions, for the oracle.
    let mut read: Vec<(i32, i64, Vec<u8>)> = Vec::new();
    let mut feed = |job: &mut Job, p: i32, times: std::ops::Range<i64>| {
        for t in times {
            let offset = read.iter().filter(|e| e.0 == p).count() as i64;
            let payload = event(t, if t % 3 == 0 { 503 } else { 200 }, 10);
            job.process((0, p), offset, &payload, t0);
            read.push((p, offset, payload));
        }
    };
    let out = |job: &mut Job, at: Instant| {
        super::super::messages(&config, &topics, &job.hand_over(at), 1, true).in_order()
    };
    // The first half of window 0, then a pause past the idle timeout.
    feed(&mut a, 0, 0..30);
    feed(&mut b, 1, 0..30);
    a.reached_end((0, 0), t0);
    b.reached_end((0, 1), t0);
    let mut topic = out(&mut a, later);
    topic.extend(out(&mut b, later));
    // The stream resumes: the rest of window 0 and beyond in both.
    feed(&mut a, 0, 30..90);
    feed(&mut b, 1, 30..90);
    topic.extend(out(&mut b, later));
    topic.extend(out(&mut a, later));
    // Both move far on, so every window up to 120 s closes.
    feed(&mut a, 0, 200..201);
    feed(&mut b, 1, 200..201);
    topic.extend(out(&mut b, later));
    topic.extend(out(&mut a, later));

    let mut r = Rollup::new(&config, 1);
    r.set_sources(vec![("requests".into(), 0), ("requests".into(), 1)]);
    r.assign((0, 0), None, later);
    let mut emitted = Vec::new();
    for (offset, (_, m)) in topic.iter().enumerate() {
        r.process((0, 0), offset as i64, m, later);
        if let Closed::Groups(groups) = r.close(later) {
            emitted.extend(groups.into_iter().flat_map(|(_, w)| w));
        }
    }
    let mut single = Job::new(&config);
    single.assign((0, 0), None, t0);
    single.assign((0, 1), None, t0);
    for (p, offset, payload) in &read {
        single.process((0, *p), *offset, payload, t0);
    }
    let want = single.close_windows(t0);
    assert_eq!(want.len(), 2, "windows 0 and 60 s");
    assert_eq!(want[0].slis[0].total, 120);
    assert_eq!(want[0].slis[0].bad, 40);
    assert_eq!(emitted, want);
}

#[test]
fn an_idle_partition_hands_over_its_open_windows() {
    let config = config();
    let mut job = Job::with_scope(&config, Scope::PerPartition);
    let t0 = Instant::now();
    job.assign((0, 0), None, t0);
    job.assign((0, 1), None, t0);
    // Partition 1 has one old event and goes quiet; partition 0 moves on.
    job.process((0, 1), 0, &event(30, 503, 10), t0);
    job.reached_end((0, 1), t0);
    for (i, t) in (0..200).enumerate() {
        job.process((0, 0), i as i64, &event(t, 200, 10), t0);
    }
    let topics = vec!["requests".to_string()];
    let later = t0 + Duration::from_secs(2);
    let h = job.hand_over(later);
    assert_eq!(h.snapshots.len(), 1, "{h:?}");
    let messages = super::super::messages(&config, &topics, &h, 1, true).in_order();
    let mut r = Rollup::new(&config, 1);
    r.set_sources(vec![("requests".into(), 0), ("requests".into(), 1)]);
    r.assign((0, 0), None, later);
    for (i, (_, m)) in messages.iter().enumerate() {
        r.process((0, 0), i as i64, m, later);
    }
    let Closed::Groups(groups) = r.close(later) else {
        panic!("rollup closes groups");
    };
    let first = &groups[0].1[0];
    assert_eq!(first.start_ns, 0);
    assert_eq!(
        first.slis[0].total, 61,
        "60 events of partition 0, 1 of partition 1"
    );
    assert_eq!(first.slis[0].bad, 1);
    // A second hand-over while still idle sends no new snapshot.
    assert!(job.hand_over(later).snapshots.is_empty());
}

/// Partition 0 has one event at 10 s and turns idle; partition 1 is far
/// ahead. Returns the ingest state and its hand-over's messages.
fn idle_snapshot(config: &Config, topics: &[String], later: Instant) -> (Job, Vec<(i32, Vec<u8>)>) {
    let mut job = Job::with_scope(config, Scope::PerPartition);
    let t0 = later - Duration::from_secs(2);
    job.assign((0, 0), None, t0);
    job.assign((0, 1), None, t0);
    job.process((0, 0), 0, &event(10, 200, 10), t0);
    job.reached_end((0, 0), t0);
    job.process((0, 1), 0, &event(300, 200, 10), t0);
    let messages = super::super::messages(config, topics, &job.hand_over(later), 1, true);
    (job, messages.in_order())
}

#[test]
fn after_emission_duplicates_pass_and_missed_events_are_counted() {
    let config = config();
    let topics = vec!["requests".to_string()];
    let later = Instant::now() + Duration::from_secs(2);
    let rollup = || {
        let mut r = Rollup::new(&config, 1);
        r.set_sources(vec![("requests".into(), 0), ("requests".into(), 1)]);
        r.assign((0, 0), None, later);
        r
    };
    let mut offset = 0;
    let mut feed = |r: &mut Rollup, messages: Vec<(i32, Vec<u8>)>| {
        let mut emitted = Vec::new();
        for (_, m) in messages {
            r.process((0, 0), offset, &m, later);
            offset += 1;
            if let Closed::Groups(groups) = r.close(later) {
                emitted.extend(groups.into_iter().flat_map(|(_, w)| w));
            }
        }
        emitted
    };
    let late_partials = |r: &Rollup| {
        let mut text = String::new();
        r.render_metrics(later, &mut text);
        metric(&text, "slipstream_rollup_late_partials_total")
    };

    let (mut job, snapshot) = idle_snapshot(&config, &topics, later);
    let mut r = rollup();
    let emitted = feed(&mut r, snapshot);
    assert_eq!(emitted[0].start_ns, 0);
    assert_eq!(emitted[0].slis[0].total, 1, "emitted from the snapshot");
    // Partition 0 wakes up: one more event in the emitted window, and
    // one far ahead that closes the window at the ingest for good.
    job.process((0, 0), 1, &event(20, 503, 10), later);
    job.process((0, 0), 2, &event(500, 200, 10), later);
    let closed = super::super::messages(&config, &topics, &job.hand_over(later), 1, true);
    let window_0 = closed.partials[0].clone();
    feed(&mut r, vec![window_0.clone()]);
    assert_eq!(late_partials(&r), 1.0, "an event the record missed");
    feed(&mut r, vec![window_0]);
    assert_eq!(late_partials(&r), 2.0, "still more events than emitted");

    // A replay of the snapshot after its window was emitted.
    let mut r = rollup();
    let (_, snapshot) = idle_snapshot(&config, &topics, later);
    assert_eq!(feed(&mut r, snapshot.clone()).len(), 1);
    assert!(feed(&mut r, snapshot).is_empty());
    assert_eq!(late_partials(&r), 0.0, "a duplicate is not late");
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in {text}"))
}

#[test]
fn a_restarted_unit_never_emits_an_emitted_window_again() {
    let config = config();
    let messages = ingest(&config, &[0, 1, 2], 1);
    let mut r = Rollup::new(&config, 1);
    let now = Instant::now();
    r.set_sources((0..3).map(|p| ("requests".to_string(), p)).collect());
    r.assign((0, 0), None, now);
    let half = messages.len() / 2;
    let mut first = Vec::new();
    for (i, (_, m)) in messages[..half].iter().enumerate() {
        r.process((0, 0), i as i64, m, now);
        if let Closed::Groups(g) = r.close(now) {
            first.extend(g.into_iter().flat_map(|(_, w)| w));
        }
    }
    let (_, offset, checkpoint) = r.commit_points()[0];
    let mut again = Rollup::new(&config, 1);
    again.set_sources((0..3).map(|p| ("requests".to_string(), p)).collect());
    again.assign((0, 0), Some(checkpoint), now);
    let mut second = Vec::new();
    for (i, (_, m)) in messages.iter().enumerate().skip(offset as usize) {
        again.process((0, 0), i as i64, m, now);
        if let Closed::Groups(g) = again.close(now) {
            second.extend(g.into_iter().flat_map(|(_, w)| w));
        }
    }
    let mut all = first.clone();
    all.extend(second.iter().cloned());
    assert_eq!(all, single(&config));
    for w in &second {
        assert!(first.iter().all(|f| f.start_ns != w.start_ns));
    }
}
