//! What every librdkafka client of the job reports — its log callback, its
//! error callback and the errors a consumer's poll returns — logged once per
//! distinct error through one process-wide [`LogLimiter`].
//!
//! librdkafka says one thing up to four times: a broker connection that
//! fails is a `FAIL` log line, an error event (the error callback), the
//! same error again from the consumer's poll, and, once no broker is left,
//! an `AllBrokersDown` error every few tens of milliseconds. Here:
//!
//! - `FAIL` log lines at error level are dropped: librdkafka always sends
//!   the same text as an error event;
//! - an error a consumer's poll returns right after the error callback
//!   reported it is not logged again ([`poll_error`]);
//! - everything else goes through the limiter, keyed by the error code and
//!   the text with its numbers normalized (durations, counts) and
//!   librdkafka's "(after 12ms in state CONNECT)" suffix removed; repeats
//!   are summarized once per [`PERIOD`] ("57 more in the last 10 s").
//!
//! Every client's context calls [`log`] and [`error`] (through
//! [`crate::kafka`], which removes secrets first), so the
//! `rdkafka` crate's own logging of these callbacks (targets `librdkafka`
//! and `rdkafka::client`, through the `log` crate) never runs. The lines
//! here have the target `librdkafka`: `SLIPSTREAM_LOG=info,librdkafka=error`
//! keeps only its errors.

use std::cell::Cell;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tracing::{debug, error, info, warn};

use super::log_limit::{normalize, LogLimiter, Summary};

/// How often a persisting error is summarized.
pub const PERIOD: Duration = Duration::from_secs(10);

const TARGET: &str = "librdkafka";

/// What a logged line says.
#[derive(Debug, Clone)]
enum Report {
    Error {
        code: String,
        reason: String,
        fatal: bool,
    },
    Log {
        level: RDKafkaLogLevel,
        facility: String,
        message: String,
    },
    /// The job's own sentence about a librdkafka error.
    Job {
        message: &'static str,
        error: String,
    },
}

static LIMITER: LazyLock<Mutex<LogLimiter<Report>>> =
    LazyLock::new(|| Mutex::new(LogLimiter::new(PERIOD)));

thread_local! {
    /// The code of the error the error callback reported last on this
    /// thread: a consumer's poll returns that same error next.
    static JUST_REPORTED: Cell<Option<RDKafkaErrorCode>> = const { Cell::new(None) };
}

/// librdkafka's variable suffix of a broker error, "(after 12ms in state
/// CONNECT, 3 identical error(s) suppressed)", is no part of its identity.
fn without_suffix(text: &str) -> &str {
    text.find(" (after ").map_or(text, |i| &text[..i])
}

fn code_name(error: &KafkaError) -> String {
    match error.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => error.to_string(),
    }
}

/// The error callback of every client.
pub fn error(error: &KafkaError, reason: &str) {
    let code = error.rdkafka_error_code();
    JUST_REPORTED.with(|j| j.set(code));
    let code_name = code_name(error);
    let key = format!("error|{code_name}|{}", normalize(without_suffix(reason)));
    observe(
        &key,
        Report::Error {
            code: code_name,
            reason: reason.to_string(),
            fatal: matches!(error, KafkaError::MessageConsumptionFatal(_))
                || code == Some(RDKafkaErrorCode::Fatal),
        },
    );
}

/// An error a consumer's poll returned: logged unless the error callback
/// reported it just before (librdkafka hands the one error event to both);
/// errors of a partition's messages come only this way.
pub fn poll_error(error: &KafkaError) {
    let code = error.rdkafka_error_code();
    if code.is_some() && JUST_REPORTED.with(|j| j.take()) == code {
        return;
    }
    let code_name = code_name(error);
    let reason = error.to_string();
    let key = format!("error|{code_name}|{}", normalize(&reason));
    observe(
        &key,
        Report::Error {
            code: code_name,
            reason,
            fatal: matches!(error, KafkaError::MessageConsumptionFatal(_)),
        },
    );
}

/// The job's warning `message` about a librdkafka error (a failed
/// commit), limited like librdkafka's own reports.
pub fn job_warning(message: &'static str, error: &KafkaError) {
    let error = error.to_string();
    let key = format!("job|{message}|{}", normalize(&error));
    observe(&key, Report::Job { message, error });
}

/// The log callback of every client.
pub fn log(level: RDKafkaLogLevel, facility: &str, message: &str) {
    if matches!(level, RDKafkaLogLevel::Debug) {
        // Asked for with the librdkafka setting `debug`: all of it.
        debug!(target: TARGET, facility, "{message}");
        return;
    }
    let error_or_worse = matches!(
        level,
        RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
    );
    if facility == "FAIL" && error_or_worse {
        // The error callback reports the same failure, with its code.
        return;
    }
    let key = format!("log|{facility}|{}", normalize(without_suffix(message)));
    observe(
        &key,
        Report::Log {
            level,
            facility: facility.to_string(),
            message: message.to_string(),
        },
    );
}

/// Summarizes the repeats whose period has ended; the job calls it about
/// once a second, so that repeats are told even after an error stops.
pub fn flush() {
    let summaries = match LIMITER.lock() {
        Ok(mut l) => l.due(Instant::now()),
        Err(_) => return,
    };
    for s in &summaries {
        emit(&s.what, Some(s));
    }
}

fn observe(key: &str, report: Report) {
    let verdict = match LIMITER.lock() {
        Ok(mut l) => l.observe(key, report.clone(), Instant::now()),
        Err(_) => return,
    };
    for s in &verdict.summaries {
        emit(&s.what, Some(s));
    }
    if verdict.log {
        emit(&report, None);
    }
}

fn emit(report: &Report, summary: Option<&Summary<Report>>) {
    match report {
        Report::Error {
            code,
            reason,
            fatal,
        } => match (summary, *fatal) {
            (None, false) => {
                warn!(target: TARGET, error = %code, reason = reason.as_str(), "librdkafka reported an error; it retries.")
            }
            (Some(s), false) => warn!(
                target: TARGET, error = %code, reason = reason.as_str(),
                "librdkafka reported that error again, {}; it retries.", s.describe()
            ),
            (None, true) => {
                error!(target: TARGET, error = %code, reason = reason.as_str(), "librdkafka reported a fatal error.")
            }
            (Some(s), true) => error!(
                target: TARGET, error = %code, reason = reason.as_str(),
                "librdkafka reported that fatal error again, {}.", s.describe()
            ),
        },
        Report::Log {
            level,
            facility,
            message,
        } => {
            let again = summary.map(|s| format!(" ({})", s.describe()));
            let again = again.as_deref().unwrap_or("");
            match level {
                RDKafkaLogLevel::Emerg
                | RDKafkaLogLevel::Alert
                | RDKafkaLogLevel::Critical
                | RDKafkaLogLevel::Error => error!(target: TARGET, facility, "{message}{again}"),
                RDKafkaLogLevel::Warning => warn!(target: TARGET, facility, "{message}{again}"),
                RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                    info!(target: TARGET, facility, "{message}{again}")
                }
                RDKafkaLogLevel::Debug => debug!(target: TARGET, facility, "{message}{again}"),
            }
        }
        Report::Job { message, error } => match summary {
            None => warn!(target: TARGET, error = %error, "{message}"),
            Some(s) => warn!(
                target: TARGET, error = %error,
                "{} ({}).", message.trim_end_matches('.'), s.describe()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_errors_differing_in_numbers_share_a_key() {
        let a = "127.0.0.1:19092/bootstrap: Connect to ipv4#127.0.0.1:19092 failed: Connection refused (after 0ms in state CONNECT)";
        let b = "127.0.0.1:19092/bootstrap: Connect to ipv4#127.0.0.1:19092 failed: Connection refused (after 1003ms in state CONNECT, 2 identical error(s) suppressed)";
        assert_eq!(normalize(without_suffix(a)), normalize(without_suffix(b)));
        assert_eq!(
            without_suffix("1/1 brokers are down"),
            "1/1 brokers are down"
        );
    }
}
