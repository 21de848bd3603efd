//! One log line per distinct error, not one per occurrence.
//!
//! A client that cannot reach its brokers reports the same error many times
//! a second. [`LogLimiter`] decides which occurrences are logged: the first
//! of a key, then, while it keeps coming, one summary per period ("57 more
//! in the last 10 s"). Pending repeats are also summarized as soon as a
//! different error is logged, so the log keeps the order in which things
//! happened. A key quiet for a whole period is forgotten: when it comes back
//! it is logged in full again.
//!
//! The limiter keeps no clock of its own: every call is given `now`, so
//! tests drive time explicitly.

use std::fmt;
use std::time::{Duration, Instant};

/// At most this many distinct keys are remembered; past it the one reported
/// longest ago is forgotten (with its pending repeats).
const MAX_KEYS: usize = 64;

/// Repeats of one logged error, to be logged as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary<T> {
    /// What was logged for the key's first occurrence.
    pub what: T,
    /// Occurrences not logged since the key was last reported.
    pub more: u64,
    /// How long ago the key was last reported.
    pub over: Duration,
}

impl<T> Summary<T> {
    /// "57 more in the last 10 s".
    pub fn describe(&self) -> String {
        format!("{} more in the last {}", self.more, Seconds(self.over))
    }
}

/// Whole seconds from 10 s on, tenths below ("2.5 s").
struct Seconds(Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs_f64();
        if s >= 10.0 {
            write!(f, "{:.0} s", s)
        } else {
            write!(f, "{:.1} s", s)
        }
    }
}

/// What to log for one occurrence: `log` says whether to log the
/// occurrence itself; `summaries` come before it.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict<T> {
    pub log: bool,
    pub summaries: Vec<Summary<T>>,
}

struct Entry<T> {
    key: String,
    what: T,
    /// When this key was last logged or summarized.
    reported_at: Instant,
    /// Occurrences since then, not logged.
    repeats: u64,
}

/// Remembers, per key, when it was last reported and how often it came
/// since. Keys are few (distinct errors), so they live in a small vector,
/// in the order they were first seen.
pub struct LogLimiter<T> {
    period: Duration,
    entries: Vec<Entry<T>>,
}

impl<T: Clone> LogLimiter<T> {
    pub fn new(period: Duration) -> LogLimiter<T> {
        LogLimiter {
            period,
            entries: Vec::new(),
        }
    }

    /// One occurrence of `key` at `now`; `what` is what a log line of it
    /// shows (kept from the first occurrence for the summaries).
    pub fn observe(&mut self, key: &str, what: T, now: Instant) -> Verdict<T> {
        let period = self.period;
        match self.entries.iter().position(|e| e.key == key) {
            Some(i) => {
                let e = &mut self.entries[i];
                let elapsed = now.saturating_duration_since(e.reported_at);
                if elapsed < period {
                    e.repeats += 1;
                    return Verdict {
                        log: false,
                        summaries: Vec::new(),
                    };
                }
                if e.repeats > 0 {
                    // The period ended while the error went on: this
                    // occurrence closes the summary.
                    e.repeats += 1;
                    let summaries = self.summarize(|e| e.repeats > 0, now);
                    return Verdict {
                        log: false,
                        summaries,
                    };
                }
                // Quiet for a whole period: logged in full again.
                e.what = what;
                e.reported_at = now;
                let summaries = self.summarize(|e| e.repeats > 0, now);
                Verdict {
                    log: true,
                    summaries,
                }
            }
            None => {
                let summaries = self.summarize(|e| e.repeats > 0, now);
                if self.entries.len() >= MAX_KEYS {
                    if let Some(oldest) =
                        (0..self.entries.len()).min_by_key(|&i| self.entries[i].reported_at)
                    {
                        self.entries.remove(oldest);
                    }
                }
                self.entries.push(Entry {
                    key: key.to_string(),
                    what,
                    reported_at: now,
                    repeats: 0,
                });
                Verdict {
                    log: true,
                    summaries,
                }
            }
        }
    }

    /// The summaries whose period has ended by `now`, to be called now and
    /// then (the job does once a second) so that repeats are summarized
    /// even when the error stops. Keys quiet for a whole period are
    /// forgotten.
    pub fn due(&mut self, now: Instant) -> Vec<Summary<T>> {
        let period = self.period;
        let ended = |e: &Entry<T>| now.saturating_duration_since(e.reported_at) >= period;
        let summaries = self.summarize(|e| e.repeats > 0 && ended(e), now);
        self.entries.retain(|e| !ended(e));
        summaries
    }

    /// Summarizes the entries `which` selects and starts their count anew.
    fn summarize(&mut self, which: impl Fn(&Entry<T>) -> bool, now: Instant) -> Vec<Summary<T>> {
        let mut out = Vec::new();
        for e in self.entries.iter_mut().filter(|e| which(e)) {
            out.push(Summary {
                what: e.what.clone(),
                more: e.repeats,
                over: now.saturating_duration_since(e.reported_at),
            });
            e.repeats = 0;
            e.reported_at = now;
        }
        out
    }
}

/// A key for text that differs between occurrences of one error only in
/// numbers: durations ("after 12ms"), counts ("3 identical error(s)
/// suppressed", "1/1 brokers are down"). Digits next to a `.` or `:` are
/// kept, so addresses and ports (`127.0.0.1:9092`) still tell brokers
/// apart.
pub fn normalize(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8().max(1);
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let address = |b: Option<&u8>| matches!(b, Some(b'.' | b':'));
        let before = start.checked_sub(1).and_then(|j| bytes.get(j));
        if address(before) || address(bytes.get(i)) {
            out.push_str(&text[start..i]);
        } else {
            out.push('N');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(10);

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn the_first_occurrence_is_logged_and_repeats_are_counted() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(PERIOD);
        let first = l.observe("a", "A", t0);
        assert!(first.log);
        assert!(first.summaries.is_empty());
        for ms in (50..9_950).step_by(50) {
            let v = l.observe("a", "A", at(t0, ms));
            assert!(!v.log && v.summaries.is_empty(), "at {ms} ms: {v:?}");
        }
        // 198 repeats at 50 ms .. 9,900 ms; the one at 10 s ends the period
        // and is counted in its summary.
        let v = l.observe("a", "A", at(t0, 10_000));
        assert!(!v.log);
        assert_eq!(
            v.summaries,
            vec![Summary {
                what: "A",
                more: 199,
                over: PERIOD
            }]
        );
        assert_eq!(v.summaries[0].describe(), "199 more in the last 10 s");
        // The next period starts there.
        assert!(!l.observe("a", "A", at(t0, 10_050)).log);
        assert!(l.due(at(t0, 19_999)).is_empty());
        let due = l.due(at(t0, 20_000));
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].more, due[0].over), (1, PERIOD));
    }

    #[test]
    fn a_different_error_summarizes_the_pending_repeats_first() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(PERIOD);
        assert!(l.observe("a", "A", t0).log);
        assert!(!l.observe("a", "A", at(t0, 1_000)).log);
        assert!(!l.observe("a", "A", at(t0, 2_500)).log);
        let v = l.observe("b", "B", at(t0, 2_500));
        assert!(v.log);
        assert_eq!(
            v.summaries,
            vec![Summary {
                what: "A",
                more: 2,
                over: Duration::from_millis(2_500)
            }]
        );
        assert_eq!(v.summaries[0].describe(), "2 more in the last 2.5 s");
        // A known error coming again within its period is only counted:
        // it does not summarize the others.
        assert!(!l.observe("b", "B", at(t0, 3_000)).log);
        let v = l.observe("a", "A", at(t0, 3_000));
        assert!(!v.log && v.summaries.is_empty(), "{v:?}");
        // Nothing pending is summarized twice.
        let due = l.due(at(t0, 12_500));
        let due: Vec<_> = due.iter().map(|s| (s.what, s.more)).collect();
        assert_eq!(due, vec![("A", 1), ("B", 1)]);
    }

    #[test]
    fn an_error_quiet_for_a_period_is_logged_in_full_again() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(PERIOD);
        assert!(l.observe("a", "A", t0).log);
        // No repeats: nothing to summarize when the period ends.
        assert!(l.due(at(t0, 10_000)).is_empty());
        let v = l.observe("a", "A2", at(t0, 15_000));
        assert!(v.log && v.summaries.is_empty());
        // Without a call of `due` in between, the same.
        assert!(!l.observe("a", "A2", at(t0, 15_100)).log);
        let v = l.observe("a", "A2", at(t0, 30_000));
        assert!(!v.log);
        assert_eq!(v.summaries[0].more, 2);
        let v = l.observe("a", "A3", at(t0, 45_000));
        assert!(v.log, "quiet since the summary at 30 s");
    }

    #[test]
    fn keys_are_bounded() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(PERIOD);
        for i in 0..(MAX_KEYS as u64 + 10) {
            assert!(l.observe(&i.to_string(), i, at(t0, i)).log);
        }
        assert_eq!(l.entries.len(), MAX_KEYS);
        // The oldest were forgotten; the newest are still limited.
        assert!(l.observe("0", 0, at(t0, 1_000)).log);
        assert!(!l.observe(&(MAX_KEYS + 9).to_string(), 0, at(t0, 1_000)).log);
    }

    #[test]
    fn numbers_are_normalized_but_addresses_kept() {
        let a = "127.0.0.1:19092/bootstrap: Connect to ipv4#127.0.0.1:19092 failed: Connection refused (after 0ms in state CONNECT)";
        let b = "127.0.0.1:19092/bootstrap: Connect to ipv4#127.0.0.1:19092 failed: Connection refused (after 1003ms in state CONNECT, 2 identical error(s) suppressed)";
        let c = "127.0.0.1:19093/bootstrap: Connect to ipv4#127.0.0.1:19093 failed: Connection refused (after 0ms in state CONNECT)";
        assert_eq!(
            normalize(a),
            "127.0.0.1:19092/bootstrap: Connect to ipvN#127.0.0.1:19092 failed: Connection refused (after Nms in state CONNECT)"
        );
        assert_eq!(
            normalize(b).split(" (after").next(),
            normalize(a).split(" (after").next()
        );
        assert_ne!(normalize(a), normalize(c));
        assert_eq!(
            normalize("1/1 brokers are down"),
            normalize("3/3 brokers are down")
        );
        // Host names, ports and broker ids stay.
        assert_eq!(
            normalize("kafka-1:9092/1: Disconnected"),
            "kafka-1:9092/1: Disconnected"
        );
        assert_eq!(
            normalize("(after 30002ms, 3 identical error(s) suppressed)"),
            "(after Nms, N identical error(s) suppressed)"
        );
        assert_eq!(normalize("é 12 ü"), "é N ü");
    }
}
