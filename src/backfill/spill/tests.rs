use super::*;
use crate::window::SliWindow;

const MIN: i64 = 60_000_000_000;

/// Part `k` of window `i`: counts and latencies that depend on both, so a
/// part counted twice or lost shows.
fn part(i: i64, k: u64, slis: usize) -> Window {
    let mut w = Window {
        start_ns: i * MIN,
        slis: vec![SliWindow::default(); slis].into_boxed_slice(),
    };
    let s = &mut w.slis[(i as usize + k as usize) % slis];
    s.total = 3 + k;
    s.good = 2 + k;
    s.bad = 1;
    for v in 0..(k + 1) {
        s.latency
            .record(((i as u64 * 7 + v * 13) % 500 + 1) * 1_000_000);
    }
    w
}

/// Every part of 300 windows, in an order that closes each window several
/// times: the oracle adds them up in a map.
fn parts() -> Vec<Window> {
    let mut out = Vec::new();
    for k in 0..4u64 {
        for i in 0..300i64 {
            let i = if k % 2 == 0 { i } else { 299 - i };
            if (i + k as i64) % 3 != 0 {
                out.push(part(i, k, 3));
            }
        }
    }
    out
}

fn oracle(parts: &[Window]) -> Vec<Window> {
    let mut all: BTreeMap<i64, Window> = BTreeMap::new();
    for p in parts {
        match all.get_mut(&p.start_ns) {
            None => {
                all.insert(p.start_ns, p.clone());
            }
            Some(w) => {
                for (a, b) in w.slis.iter_mut().zip(p.slis.iter()) {
                    a.merge(b);
                }
            }
        }
    }
    all.into_values().collect()
}

fn render(windows: &[Window]) -> Vec<String> {
    windows
        .iter()
        .flat_map(|w| {
            w.slis.iter().enumerate().map(move |(i, s)| {
                format!(
                    "{} {i} {} {} {} {} {:?}",
                    w.start_ns,
                    s.total,
                    s.good,
                    s.bad,
                    s.latency.count(),
                    s.latency.to_base64()
                )
            })
        })
        .collect()
}

#[test]
fn runs_merge_back_into_every_window_once() {
    let parent = tempfile::tempdir().expect("tempdir");
    let input = parts();
    let want = oracle(&input);
    // A budget of a few windows: many runs, more than FAN_IN, so some are
    // merged into one before the end.
    let mut spill = Spill::new(Some(SpillDir::detached(parent.path())), 3_000, 0, 3);
    for w in input.iter().cloned() {
        spill.add(w).expect("add");
    }
    assert!(spill.stats.runs > FAN_IN, "{} runs", spill.stats.runs);
    let got = spill.into_windows().expect("merge");
    assert_eq!(got.len(), 300, "every window once");
    assert_eq!(render(&got), render(&want));
    let everything = Spill::new(None, u64::MAX, 0, 3);
    let mut everything = everything;
    for w in input {
        everything.add(w).expect("add");
    }
    assert_eq!(everything.stats.runs, 0);
    assert_eq!(
        render(&everything.into_windows().expect("merge")),
        render(&want)
    );
}

#[test]
fn the_runs_go_with_the_spill() {
    let parent = tempfile::tempdir().expect("tempdir");
    let mut spill = Spill::new(Some(SpillDir::detached(parent.path())), 3_000, 0, 3);
    for w in parts() {
        spill.add(w).expect("add");
    }
    assert!(spill.stats.runs > 1);
    let count = || std::fs::read_dir(parent.path()).expect("list").count();
    assert_eq!(count(), 1, "one spill directory");
    let mut merged = spill.finish().expect("finish");
    assert!(merged.merge.next_window().expect("read").is_some());
    // Dropped halfway, as an error would.
    drop(merged);
    assert_eq!(count(), 0, "the directory and its runs are gone");
}

#[test]
fn a_window_without_counts_survives_a_run() {
    let parent = tempfile::tempdir().expect("tempdir");
    let mut spill = Spill::new(Some(SpillDir::detached(parent.path())), 1, 0, 2);
    let empty = Window {
        start_ns: 5 * MIN,
        slis: vec![SliWindow::default(); 2].into_boxed_slice(),
    };
    spill.add(empty.clone()).expect("add");
    assert_eq!(spill.stats.runs, 1);
    assert_eq!(spill.into_windows().expect("merge"), vec![empty]);
}
