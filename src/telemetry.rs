//! Self-metrics and the HTTP endpoints `/metrics`, `/healthz`, `/readyz`,
//! and the server of any further [`Pages`] the job adds (the status page).
//!
//! The job keeps its counters in plain fields of [`JobStats`] — no lock or
//! atomic per event — and publishes a rendered Prometheus text about once a
//! second; the HTTP thread only serves the last text. Label sets are bounded:
//! partitions, reasons, sinks.
//!
//! [`Telemetry::respond`] says what each endpoint answers; the `http` module
//! serves it ([`app`] is the router, [`serve`] the server on its own thread),
//! each connection on its own task and within bounds of number, time and
//! size, so that slow clients do not hold up the probes.
//!
//! [`librdkafka`] logs what every Kafka client of the job reports, once per
//! distinct error, through the [`log_limit::LogLimiter`].

mod http;
pub mod librdkafka;
pub mod log_limit;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::reject::Reject;

pub use http::{app, serve};

/// An answer: status, content type, body.
pub type Reply = (u16, &'static str, String);

/// Paths served beside the fixed endpoints, by a layer above this one (the
/// status page is made by the report). Answers are built on the HTTP
/// thread's blocking pool, so they may take a while without holding up the
/// probes.
pub trait Pages: Send + Sync {
    /// The answer to `path` (with the `query` after `?`, or ""); `None` when
    /// the path is not one of these pages.
    fn respond(&self, path: &str, query: &str) -> Option<Reply>;
    /// The paths, for the answer to an unknown one.
    fn paths(&self) -> &'static str;
}

/// What the HTTP endpoints serve.
#[derive(Default)]
pub struct Telemetry {
    metrics: Mutex<String>,
    ready: AtomicBool,
    /// Why the job is not ready, for `/readyz`.
    not_ready: Mutex<String>,
    pages: OnceLock<Arc<dyn Pages>>,
}

/// The endpoints answered from what the job published, without building anything.
pub const FIXED_PATHS: [&str; 3] = ["/metrics", "/healthz", "/readyz"];

impl Telemetry {
    pub fn publish(&self, text: String) {
        if let Ok(mut m) = self.metrics.lock() {
            *m = text;
        }
    }

    pub fn set_ready(&self, ready: bool, why_not: &str) {
        self.ready.store(ready, Ordering::Relaxed);
        if let Ok(mut w) = self.not_ready.lock() {
            why_not.clone_into(&mut w);
        }
    }

    /// Serves `pages` too; only the first call counts.
    pub fn add_pages(&self, pages: Arc<dyn Pages>) {
        let _ = self.pages.set(pages);
    }

    /// Whether pages were added: only they are worth a blocking task.
    pub fn has_pages(&self) -> bool {
        self.pages.get().is_some()
    }

    /// The response to a request path, with its query when it has one:
    /// status, content type, body.
    pub fn respond(&self, target: &str) -> Reply {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if !FIXED_PATHS.contains(&path) {
            if let Some(pages) = self.pages.get() {
                if let Some(reply) = pages.respond(path, query) {
                    return reply;
                }
                return (
                    404,
                    "text/plain",
                    format!(
                        "not found; try {}, /metrics, /healthz or /readyz\n",
                        pages.paths()
                    ),
                );
            }
        }
        match path {
            "/metrics" => (
                200,
                "text/plain; version=0.0.4",
                self.metrics.lock().map(|m| m.clone()).unwrap_or_default(),
            ),
            "/healthz" => (200, "text/plain", "ok\n".into()),
            "/readyz" if self.ready.load(Ordering::Relaxed) => {
                (200, "text/plain", "ready\n".into())
            }
            "/readyz" => (
                503,
                "text/plain",
                format!(
                    "not ready: {}\n",
                    self.not_ready.lock().map(|w| w.clone()).unwrap_or_default()
                ),
            ),
            _ => (
                404,
                "text/plain",
                "not found; try /metrics, /healthz or /readyz\n".into(),
            ),
        }
    }
}

/// Counters of the stream job.
#[derive(Debug, Default, Clone)]
pub struct JobStats {
    /// Messages read, per topic and partition.
    pub consumed: BTreeMap<(String, i32), u64>,
    /// Consumer lag per topic and partition, from librdkafka's statistics.
    pub lag: BTreeMap<(String, i32), i64>,
    pub rejected: [u64; Reject::ALL.len()],
    pub replayed: u64,
    pub windows_emitted: u64,
    /// Per grouped SLI, events counted in `__other__` past its `group_limit`.
    pub group_other: BTreeMap<String, u64>,
    pub open_windows: u64,
    /// Per sink: records written, failed writes, seconds spent writing, writes.
    pub sinks: BTreeMap<String, SinkStats>,
    pub dead_letters: u64,
    pub dead_letter_errors: u64,
    pub commits: u64,
    pub commit_failures: u64,
    pub async_commit_failures: u64,
    /// The latest state of each objective.
    pub objectives: Vec<crate::slo::ObjectiveGauge>,
    pub first_message_at: Option<f64>,
    pub last_message_at: Option<f64>,
    pub watermark_seconds: Option<f64>,
    pub frontier_seconds: Option<f64>,
}

#[derive(Debug, Default, Clone)]
pub struct SinkStats {
    pub records: u64,
    pub errors: u64,
    pub write_seconds: f64,
    pub writes: u64,
    /// Records waiting for the sink: its queue, or for a `block` sink the
    /// batch it has not acknowledged yet.
    pub queued: u64,
    /// Records dropped because the queue of a `drop_newest` sink was full.
    pub dropped: u64,
    /// Whether its last write failed.
    pub failing: bool,
}

/// Escapes a Prometheus label value.
pub fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl JobStats {
    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let family = |o: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            &mut o,
            "slipstream_events_consumed_total",
            "counter",
            "Messages read from the source, per partition.",
        );
        for ((t, p), n) in &self.consumed {
            let _ = writeln!(
                o,
                "slipstream_events_consumed_total{{topic=\"{}\",partition=\"{p}\"}} {n}",
                label(t)
            );
        }
        family(
            &mut o,
            "slipstream_consumer_lag",
            "gauge",
            "Messages behind the end of the partition, from librdkafka's statistics.",
        );
        for ((t, p), n) in &self.lag {
            let _ = writeln!(
                o,
                "slipstream_consumer_lag{{topic=\"{}\",partition=\"{p}\"}} {n}",
                label(t)
            );
        }
        family(
            &mut o,
            "slipstream_events_rejected_total",
            "counter",
            "Messages that did not become counted events, by reason.",
        );
        for r in Reject::ALL {
            let _ = writeln!(
                o,
                "slipstream_events_rejected_total{{reason=\"{}\"}} {}",
                r.name(),
                self.rejected[r.index()]
            );
        }
        family(
            &mut o,
            "slipstream_events_too_late_total",
            "counter",
            "Events later than the allowed lateness of their window.",
        );
        let _ = writeln!(
            o,
            "slipstream_events_too_late_total {}",
            self.rejected[Reject::TooLate.index()]
        );
        family(
            &mut o,
            "slipstream_events_replayed_total",
            "counter",
            "Replayed messages skipped because they were handled before a restart.",
        );
        let _ = writeln!(o, "slipstream_events_replayed_total {}", self.replayed);
        family(
            &mut o,
            "slipstream_windows_emitted_total",
            "counter",
            "Windows closed and written to every sink.",
        );
        let _ = writeln!(
            o,
            "slipstream_windows_emitted_total {}",
            self.windows_emitted
        );
        if !self.group_other.is_empty() {
            family(
                &mut o,
                "slipstream_group_other_events_total",
                "counter",
                "Events of a grouped SLI counted in the group __other__, past its group_limit.",
            );
            for (sli, n) in &self.group_other {
                let _ = writeln!(
                    o,
                    "slipstream_group_other_events_total{{sli=\"{}\"}} {n}",
                    label(sli)
                );
            }
        }
        family(
            &mut o,
            "slipstream_windows_open",
            "gauge",
            "Windows still open.",
        );
        let _ = writeln!(o, "slipstream_windows_open {}", self.open_windows);
        family(
            &mut o,
            "slipstream_sink_records_total",
            "counter",
            "Records acknowledged by each sink.",
        );
        for (s, st) in &self.sinks {
            let _ = writeln!(
                o,
                "slipstream_sink_records_total{{sink=\"{}\"}} {}",
                label(s),
                st.records
            );
        }
        family(
            &mut o,
            "slipstream_sink_errors_total",
            "counter",
            "Failed writes to each sink (each is retried).",
        );
        for (s, st) in &self.sinks {
            let _ = writeln!(
                o,
                "slipstream_sink_errors_total{{sink=\"{}\"}} {}",
                label(s),
                st.errors
            );
        }
        family(
            &mut o,
            "slipstream_sink_write_seconds",
            "summary",
            "Time to write and acknowledge a batch, per sink.",
        );
        for (s, st) in &self.sinks {
            let _ = writeln!(
                o,
                "slipstream_sink_write_seconds_sum{{sink=\"{}\"}} {}",
                label(s),
                st.write_seconds
            );
            let _ = writeln!(
                o,
                "slipstream_sink_write_seconds_count{{sink=\"{}\"}} {}",
                label(s),
                st.writes
            );
        }
        family(
            &mut o,
            "slipstream_sink_queued_records",
            "gauge",
            "Records waiting for each sink (for a `block` sink: the batch it has not acknowledged).",
        );
        for (s, st) in &self.sinks {
            let _ = writeln!(
                o,
                "slipstream_sink_queued_records{{sink=\"{}\"}} {}",
                label(s),
                st.queued
            );
        }
        family(
            &mut o,
            "slipstream_sink_dropped_records_total",
            "counter",
            "Records dropped because the queue of a `drop_newest` sink was full.",
        );
        for (s, st) in &self.sinks {
            let _ = writeln!(
                o,
                "slipstream_sink_dropped_records_total{{sink=\"{}\"}} {}",
                label(s),
                st.dropped
            );
        }
        family(
            &mut o,
            "slipstream_sink_failing",
            "gauge",
            "1 while the last write to the sink failed.",
        );
        for (s, st) in &self.sinks {
            let _ = writeln!(
                o,
                "slipstream_sink_failing{{sink=\"{}\"}} {}",
                label(s),
                u8::from(st.failing)
            );
        }
        family(
            &mut o,
            "slipstream_dead_letters_total",
            "counter",
            "Messages sent to the dead-letter destination.",
        );
        let _ = writeln!(o, "slipstream_dead_letters_total {}", self.dead_letters);
        family(
            &mut o,
            "slipstream_dead_letter_errors_total",
            "counter",
            "Failed dead-letter deliveries (each is retried).",
        );
        let _ = writeln!(
            o,
            "slipstream_dead_letter_errors_total {}",
            self.dead_letter_errors
        );
        family(
            &mut o,
            "slipstream_commits_total",
            "counter",
            "Offset commits.",
        );
        let _ = writeln!(o, "slipstream_commits_total {}", self.commits);
        family(
            &mut o,
            "slipstream_commit_failures_total",
            "counter",
            "Offset commits that failed.",
        );
        let _ = writeln!(
            o,
            "slipstream_commit_failures_total {}",
            self.commit_failures
        );
        family(
            &mut o,
            "slipstream_commit_callback_failures_total",
            "counter",
            "Offset commits the broker refused after they were sent (the consumer's commit callback): a later commit covers the same offsets.",
        );
        let _ = writeln!(
            o,
            "slipstream_commit_callback_failures_total {}",
            self.async_commit_failures
        );
        family(&mut o, "slipstream_slo_error_budget_remaining", "gauge", "Share of the error budget left in the objective's period (1 = untouched, below 0 = overspent).");
        for g in &self.objectives {
            if let Some(r) = g.state.remaining_ratio() {
                let _ = writeln!(
                    o,
                    "slipstream_slo_error_budget_remaining{{sli=\"{}\"}} {r}",
                    label(&g.sli)
                );
            }
        }
        family(
            &mut o,
            "slipstream_slo_compliance",
            "gauge",
            "Good / valid events over the objective's period.",
        );
        for g in &self.objectives {
            if let Some(c) = g.state.compliance() {
                let _ = writeln!(
                    o,
                    "slipstream_slo_compliance{{sli=\"{}\"}} {c}",
                    label(&g.sli)
                );
            }
        }
        family(
            &mut o,
            "slipstream_slo_burn_rate",
            "gauge",
            "Error budget burn rate over a trailing window (1 = the budget lasts the period).",
        );
        for g in &self.objectives {
            for (w, r) in &g.state.burn {
                if let Some(r) = r {
                    let _ = writeln!(
                        o,
                        "slipstream_slo_burn_rate{{sli=\"{}\",window=\"{w}\"}} {r}",
                        label(&g.sli)
                    );
                }
            }
        }
        family(
            &mut o,
            "slipstream_slo_alert_firing",
            "gauge",
            "1 while a burn-rate alert of this severity fires.",
        );
        for g in &self.objectives {
            for (sev, on) in [("page", g.page), ("ticket", g.ticket)] {
                let _ = writeln!(
                    o,
                    "slipstream_slo_alert_firing{{sli=\"{}\",severity=\"{sev}\"}} {}",
                    label(&g.sli),
                    u8::from(on)
                );
            }
        }
        if let (Some(first), Some(last)) = (self.first_message_at, self.last_message_at) {
            family(
                &mut o,
                "slipstream_first_message_seconds",
                "gauge",
                "Unix time when the first message was handled.",
            );
            let _ = writeln!(o, "slipstream_first_message_seconds {first}");
            family(
                &mut o,
                "slipstream_last_message_seconds",
                "gauge",
                "Unix time when the last message was handled (staleness: now minus this).",
            );
            let _ = writeln!(o, "slipstream_last_message_seconds {last}");
        }
        if let Some(w) = self.watermark_seconds {
            family(
                &mut o,
                "slipstream_watermark_seconds",
                "gauge",
                "The job's event-time watermark, Unix seconds.",
            );
            let _ = writeln!(o, "slipstream_watermark_seconds {w}");
        }
        if let Some(f) = self.frontier_seconds {
            family(
                &mut o,
                "slipstream_frontier_seconds",
                "gauge",
                "Windows ending at or before this time are emitted, Unix seconds.",
            );
            let _ = writeln!(o, "slipstream_frontier_seconds {f}");
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slo::ObjectiveGauge;
    use crate::slo::{Counts, SloState};

    #[test]
    fn endpoints_answer_without_a_socket() {
        let t = Telemetry::default();
        t.publish("x 1\n".into());
        assert_eq!(t.respond("/metrics").0, 200);
        assert_eq!(t.respond("/metrics").2, "x 1\n");
        assert_eq!(t.respond("/healthz").0, 200);
        t.set_ready(false, "sink file:x is failing");
        let (code, _, body) = t.respond("/readyz");
        assert_eq!(code, 503);
        assert!(body.contains("sink file:x is failing"));
        t.set_ready(true, "");
        assert_eq!(t.respond("/readyz").0, 200);
        assert_eq!(t.respond("/nope").0, 404);
    }

    #[test]
    fn commit_counters_are_served_apart() {
        let stats = JobStats {
            commits: 7,
            commit_failures: 2,
            async_commit_failures: 3,
            ..JobStats::default()
        };
        let text = stats.render();
        for line in [
            "slipstream_commits_total 7\n",
            "slipstream_commit_failures_total 2\n",
            "slipstream_commit_callback_failures_total 3\n",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
    }

    #[test]
    fn objective_gauges_carry_budget_burn_and_alerts() {
        let state = SloState {
            at_ns: 0,
            period_start_ns: 0,
            // 990 good, 10 bad against 99%: the budget of 10 is spent exactly.
            period: Counts { good: 990, bad: 10 },
            last_hour: Counts { good: 990, bad: 10 },
            burn: [
                ("5m", Some(2.5)),
                ("30m", None),
                ("1h", Some(1.0)),
                ("2h", None),
                ("6h", None),
                ("1d", None),
                ("3d", None),
            ],
            target: 0.99,
        };
        let stats = JobStats {
            objectives: vec![ObjectiveGauge {
                sli: "api \"v2\"".into(),
                state,
                page: true,
                ticket: false,
            }],
            ..JobStats::default()
        };
        let text = stats.render();
        assert!(
            text.contains("slipstream_slo_error_budget_remaining{sli=\"api \\\"v2\\\"\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("slipstream_slo_burn_rate{sli=\"api \\\"v2\\\"\",window=\"5m\"} 2.5\n"),
            "{text}"
        );
        assert!(
            !text.contains("window=\"30m\""),
            "no sample without traffic: {text}"
        );
        assert!(text
            .contains("slipstream_slo_alert_firing{sli=\"api \\\"v2\\\"\",severity=\"page\"} 1\n"));
        assert!(text.contains(
            "slipstream_slo_alert_firing{sli=\"api \\\"v2\\\"\",severity=\"ticket\"} 0\n"
        ));
        assert!(text.contains("slipstream_slo_compliance{sli=\"api \\\"v2\\\"\"} 0.99\n"));
    }
}
