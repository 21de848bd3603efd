//! Setup checks: a configuration that does not fit its logs gives empty or
//! invalid numbers without failing, so after a backfill (and early in a
//! stream job) the counts are judged and each sign of a wrong setup becomes
//! a [`Warning`] that says what was seen and what to change:
//!
//! - `no_events`: nothing was read (an empty input, every event outside
//!   `--from/--to`);
//! - `rejected`: more than 1% of the lines were rejected — what the first
//!   one looks like and, when most were, which format would read it;
//! - `no_match`: an SLI matched no event;
//! - `invalid`: more than 1% of an SLI's events were invalid — the role or
//!   field, and one value it held;
//! - `unknown_field`: a field that an SLI's rules name never appeared —
//!   with the fields that did, nearest first.
//!
//! The engine gathers what these need in a [`Probe`] as it reads, at almost
//! no cost per event (see [`probe`]).

pub mod probe;
mod sniff;
pub mod watch;

use std::fmt;

pub use probe::Probe;
pub use sniff::{distance, nearest, sniff_format};
pub use watch::Watch;

use crate::config::Config;
use crate::event::{LATENCY_SLOT, STATUS_SLOT, TIMESTAMP_SLOT};
use crate::reject::LineReject;

/// An SLI's share of invalid events above which it is warned about.
pub const INVALID_SHARE: f64 = 0.01;

/// The share of rejected lines above which a run is warned about: those
/// lines count in no SLI, so each one is a request the numbers miss.
pub const REJECTED_SHARE: f64 = 0.01;

/// One sign of a wrong setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `no_events`, `rejected`, `no_match`, `invalid` or `unknown_field`.
    pub kind: &'static str,
    /// The SLI concerned, for the kinds that concern one.
    pub sli: Option<String>,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Counts of one SLI over what was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SliCounts {
    pub total: u64,
    pub good: u64,
    pub bad: u64,
    pub invalid: u64,
}

impl SliCounts {
    /// Adds a window's counts of the SLI.
    pub fn add(&mut self, w: &crate::window::SliWindow) {
        self.total += w.total;
        self.good += w.good;
        self.bad += w.bad;
        self.invalid += w.invalid;
    }
}

/// The first rejected line: where, why, and its text.
#[derive(Debug, Clone)]
pub struct FirstRejected {
    /// `input:line`, or a partition and offset; empty when unknown.
    pub at: String,
    pub reason: LineReject,
    pub text: String,
    /// The format the whole line looks like (`text` may be cut).
    pub looks_like: Option<&'static str>,
}

/// What a run read, as the checks need it.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    pub lines: u64,
    /// Lines that became events (in `--from/--to` or not).
    pub decoded: u64,
    /// Events counted in windows.
    pub counted: u64,
    pub rejected: u64,
    pub first_rejected: Option<FirstRejected>,
    /// Per SLI, in the configuration's order.
    pub slis: &'a [SliCounts],
    pub probe: &'a Probe,
    /// Where `decoded` and `counted` differ, what bounded the events
    /// (`--from/--to`).
    pub range: Option<&'a str>,
    /// Whether an SLI that matched nothing is judged: not where the counts
    /// are a part of the input (an ingest instance's partitions), since
    /// the SLI may match elsewhere; the rollup judges that.
    pub no_match: bool,
}

/// The format `[decode] format` names.
fn configured_format(config: &Config) -> &'static str {
    config.decode.spec.format.name()
}

/// Every warning `seen` calls for, in a stable order: the input's, then
/// each SLI's in the configuration's order.
pub fn check(config: &Config, seen: &Observed<'_>) -> Vec<Warning> {
    let mut out = Vec::new();
    if seen.lines > 0 && seen.rejected as f64 > REJECTED_SHARE * seen.lines as f64 {
        out.push(rejected(config, seen));
    }
    if seen.decoded == 0 {
        if seen.rejected == 0 {
            out.push(Warning {
                kind: "no_events",
                sli: None,
                message: "the input held no line: nothing was counted; check the input paths"
                    .into(),
            });
        }
        return out;
    }
    if seen.counted == 0 {
        out.push(Warning {
            kind: "no_events",
            sli: None,
            message: format!(
                "none of the {} events read fell {}: nothing was counted",
                thousands(seen.decoded),
                seen.range.unwrap_or("in the time range")
            ),
        });
        return out;
    }
    if let Some(w) = latency_faults(config, seen.probe) {
        out.push(w);
    }
    for (i, (sli, counts)) in config.slis.iter().zip(seen.slis).enumerate() {
        let unknown = unknown_fields(config, seen.probe, i);
        if counts.total == 0 {
            if seen.no_match {
                let counted = format!("none of the {} events counted", thousands(seen.counted));
                let mut w = unmatched(sli, &counted);
                if !unknown.is_empty() {
                    w.message
                        .push_str(" (a field it names never appeared: see below)");
                }
                out.push(w);
            }
        } else if counts.invalid as f64 > INVALID_SHARE * counts.total as f64 {
            out.push(invalid(config, seen.probe, i, counts));
        }
        for message in unknown {
            out.push(Warning {
                kind: "unknown_field",
                sli: Some(sli.name.clone()),
                message,
            });
        }
    }
    out
}

/// `no_match`: the SLI matched `what` ("none of the 1,000 events counted").
pub fn unmatched(sli: &crate::config::Sli, what: &str) -> Warning {
    let filter = sli.filter.as_ref().map_or("", |f| f.source());
    Warning {
        kind: "no_match",
        sli: Some(sli.name.clone()),
        message: format!(
            "SLI \"{}\" matched {what}; its filter is `{filter}`",
            sli.name
        ),
    }
}

/// Events whose latency field held a number that is no latency: below 0,
/// too large to be a number, or above `max_latency`. Each is invalid for
/// latency rules and left out of the percentiles.
fn latency_faults(config: &Config, probe: &Probe) -> Option<Warning> {
    let total: u64 = probe.latency_faults.iter().map(|(n, _)| n).sum();
    if total == 0 {
        return None;
    }
    let kinds: Vec<String> = probe
        .latency_faults
        .iter()
        .filter_map(|(n, first)| {
            let f = first.as_ref()?;
            Some(format!(
                "{} {} (first {})",
                thousands(*n),
                f.describe(),
                f.value()
            ))
        })
        .collect();
    let d = &config.decode;
    Some(Warning {
        kind: "latency_out_of_range",
        sli: None,
        message: format!(
            "{} event(s) held a number in the latency field \"{}\" (in {}) that is no latency: {}; \
             max_latency is {}. Those events count as invalid for latency rules and stay out of the percentiles; \
             check the logger, [decode.fields] latency_unit, or raise [decode] max_latency",
            thousands(total),
            d.latency_field,
            d.latency_unit.name(),
            kinds.join(", "),
            humantime::format_duration(std::time::Duration::from_nanos(d.max_latency_ns as u64)),
        ),
    })
}

/// The field a slot reads: the mapped field of a role, or the path.
fn field_of(config: &Config, slot: usize) -> (Option<&'static str>, String) {
    let d = &config.decode;
    match slot {
        TIMESTAMP_SLOT => (Some("timestamp"), d.timestamp_field.clone()),
        STATUS_SLOT => (Some("status"), d.status_field.clone()),
        LATENCY_SLOT => (Some("latency"), d.latency_field.clone()),
        _ => (
            None,
            config
                .fields
                .paths()
                .find(|(s, _)| *s == slot)
                .map_or_else(|| format!("#{slot}"), |(_, p)| p.to_string()),
        ),
    }
}

/// Whether `field` is a column (or, `a+b`, a sum of columns) that every
/// line of the configured text format has: a value missing there was
/// written as missing, not left out by the logger.
fn every_line_has(config: &Config, field: &str) -> bool {
    use crate::decode::Format;
    let spec = &config.decode.spec;
    !matches!(spec.format, Format::Json | Format::Logfmt)
        && field.split('+').all(|f| spec.column(f.trim()).is_some())
}

/// `"name" (the status role, [decode.fields] status)` or `"path"`.
fn describe(config: &Config, slot: usize) -> String {
    match field_of(config, slot) {
        (Some(role), field) => {
            format!("{role}: field \"{field}\"")
        }
        (None, field) => format!("field \"{field}\""),
    }
}

fn rejected(config: &Config, seen: &Observed<'_>) -> Warning {
    let most = seen.rejected * 2 > seen.lines;
    let mut message = if most {
        format!(
            "{} of {} lines were rejected",
            thousands(seen.rejected),
            thousands(seen.lines)
        )
    } else {
        format!(
            "{} of {} lines ({:.1}%) were rejected and count in no SLI",
            thousands(seen.rejected),
            thousands(seen.lines),
            100.0 * seen.rejected as f64 / seen.lines as f64
        )
    };
    let Some(first) = &seen.first_rejected else {
        return Warning {
            kind: "rejected",
            sli: None,
            message,
        };
    };
    let at = if first.at.is_empty() {
        String::new()
    } else {
        format!(" at {}", first.at)
    };
    message.push_str(&format!(
        "; the first ({}{at}) reads `{}`",
        first.reason,
        probe::cut(&first.text)
    ));
    let configured = configured_format(config);
    let ts = &config.decode.timestamp_field;
    match (first.looks_like, first.reason) {
        (Some(f), LineReject::NoTimestamp) if f == configured => {
            message.push_str(&format!(
                ": it has no field \"{ts}\", which [decode.fields] timestamp names as the event time"
            ));
            let fields: Vec<String> = seen.probe.fields.iter().cloned().collect();
            message.push_str(&did_you_mean(ts, &fields, "fields seen"));
        }
        (Some(f), LineReject::BadTimestamp) if f == configured => message.push_str(&format!(
            ": its field \"{ts}\" is not a time in the form [decode.fields] timestamp_format = \"{}\" reads",
            config.decode.timestamp_format.name()
        )),
        // nginx's and Apache's `combined` are the same layout: a line one
        // of them does not read has other fields than its `log_format`.
        (Some("nginx" | "apache"), LineReject::BadLine)
            if matches!(configured, "nginx" | "apache") =>
        {
            message.push_str(&format!(
                ": it is an access log in another layout than the `log_format` this configuration reads ({}); \
                 set [decode] log_format to the server's own (nginx's log_format, Apache's LogFormat), \
                 with the fields it writes after `combined`'s",
                config.decode.log_format.as_deref().unwrap_or("`combined`, when none is set")
            ))
        }
        (Some(f), _) if most && f != configured => message.push_str(&format!(
            ": it looks like `{f}`, and this configuration reads `{configured}`; set [decode] format = \"{f}\""
        )),
        (None, LineReject::NotJson | LineReject::NotObject) => message.push_str(&format!(
            ": it is not a JSON object, which is what [decode] format = \"{configured}\" reads"
        )),
        _ => {}
    }
    if !most {
        message.push_str(
            "; `slipstream explain --lines N` shows how the first N lines decode, and a [dead_letter] section keeps every rejected line",
        );
    }
    Warning {
        kind: "rejected",
        sli: None,
        message,
    }
}

fn invalid(config: &Config, probe: &Probe, i: usize, counts: &SliCounts) -> Warning {
    let sli = &config.slis[i];
    let share = 100.0 * counts.invalid as f64 / counts.total as f64;
    let mut message = if counts.invalid == counts.total {
        format!(
            "SLI \"{}\": all {} events were invalid (neither good nor bad, so its numbers are empty)",
            sli.name,
            thousands(counts.total)
        )
    } else {
        format!(
            "SLI \"{}\": {} of its {} events ({share:.1}%) were invalid (neither good nor bad)",
            sli.name,
            thousands(counts.invalid),
            thousands(counts.total)
        )
    };
    if let Some(Some(ex)) = probe.invalid.get(i) {
        let slot = ex.undecided.slot;
        let what = describe(config, slot);
        let rule = sli.good.source();
        let (role, field) = field_of(config, slot);
        let written_missing = every_line_has(config, &field);
        match &ex.held {
            None if ex.fault.is_some() => {}
            None if written_missing => message.push_str(&format!(
                "; {what} was written as missing (`-`, or `-1` for not measured) in those lines, and `{rule}` needs it"
            )),
            None => message.push_str(&format!(
                "; {what} is missing from the event, and `{rule}` needs it"
            )),
            Some((value, ty)) => {
                let article = if ex.undecided.needs.starts_with('a') {
                    ""
                } else {
                    "a "
                };
                let held = if *ty == "null" {
                    "null".to_string()
                } else {
                    format!("{value}, a {ty}")
                };
                message.push_str(&format!(
                    "; {what} holds {held}, where `{rule}` needs {article}{}",
                    ex.undecided.needs
                ));
            }
        }
        let quoted_number = ex.held.as_ref().is_some_and(|(v, ty)| {
            *ty == "string" && ex.undecided.needs == "number" && {
                let inner = v.trim_matches('"');
                inner.parse::<f64>().is_ok()
            }
        });
        if let Some(fault) = ex.fault {
            message.push_str(&format!(
                "; {what} holds {}, a latency {}, which counts as no latency for `{rule}` \
                 (see the warning about latencies)",
                fault.value(),
                fault.describe()
            ));
        }
        match role {
            _ if ex.fault.is_some() => {}
            _ if quoted_number => message.push_str(
                "; that is a number written as a string: have the server log it unquoted, or compare it with a string in the rule",
            ),
            Some(role) if slot != TIMESTAMP_SLOT && ex.held.is_none() && written_missing => {
                let example = if slot == STATUS_SLOT {
                    "the client left before any response"
                } else {
                    "it reached no server, or the connection closed first"
                };
                message.push_str(&format!(
                    "; the mapping is right: those requests have no {role} ({example}), \
                     and invalid is what counts them"
                ))
            }
            Some(role) if slot != TIMESTAMP_SLOT => message.push_str(&format!(
                "; map the field that holds the {role} with [decode.fields] {role} = \"...\""
            )),
            _ => {}
        }
    }
    Warning {
        kind: "invalid",
        sli: Some(sli.name.clone()),
        message,
    }
}

/// One message per field that SLI `i`'s rules name and no checked event
/// held.
fn unknown_fields(config: &Config, probe: &Probe, i: usize) -> Vec<String> {
    if probe.sampled_events == 0 {
        return Vec::new();
    }
    let sli = &config.slis[i];
    let mut slots = sli.filter.as_ref().map(|f| f.slots()).unwrap_or_default();
    for s in sli.good.slots() {
        if !slots.contains(&s) {
            slots.push(s);
        }
    }
    let rules = slots.len();
    for &(_, s) in &sli.group_by {
        if !slots.contains(&s) {
            slots.push(s);
        }
    }
    // JSON lines name their own fields, gathered from the first lines; a
    // text format's fields are its columns (logfmt's keys are gathered like JSON's).
    let (fields, label): (Vec<String>, &str) = if probe.fields.is_empty() {
        let columns = &config.decode.spec.columns;
        (
            columns.iter().map(|c| c.name.clone()).collect(),
            "fields of the format",
        )
    } else {
        (probe.fields.iter().cloned().collect(), "fields seen")
    };
    slots
        .into_iter()
        .enumerate()
        .map(|(n, slot)| (slot, if n < rules { "its rules" } else { "its group_by" }))
        // A field a rule asks about with `exists()` or `== null` may well
        // be absent from healthy traffic (`!exists(error)`).
        .filter(|&(s, _)| {
            s != TIMESTAMP_SLOT
                && !probe.seen.get(s).copied().unwrap_or(false)
                && !sli.filter.as_ref().is_some_and(|f| f.asks_presence(s))
                && !sli.good.asks_presence(s)
        })
        .map(|(slot, named_by)| {
            let (role, field) = field_of(config, slot);
            let whose = match role {
                Some(r) => format!(" (the {r} role, [decode.fields] {r})"),
                None => String::new(),
            };
            format!(
                "SLI \"{}\": field \"{field}\"{whose}, named by {named_by}, never appeared in the {} events checked{}",
                sli.name,
                thousands(probe.sampled_events),
                did_you_mean(&field, &fields, label)
            )
        })
        .collect()
}

/// `; did you mean "uri"? fields seen: uri, url_path, ...` (nearest first),
/// or the fields seen alone when none is near; empty when none was seen.
fn did_you_mean(name: &str, fields: &[String], label: &str) -> String {
    let ranked = nearest(name, fields);
    let Some(best) = ranked.first() else {
        return String::new();
    };
    let close = distance(name, best) <= (name.chars().count() / 3).max(2);
    let shown: Vec<&str> = ranked.iter().take(8).map(String::as_str).collect();
    let more = if ranked.len() > shown.len() {
        format!(" and {} more", ranked.len() - shown.len())
    } else {
        String::new()
    };
    if close {
        format!(
            "; did you mean \"{best}\"? {label}: {}{more}",
            shown.join(", ")
        )
    } else {
        format!("; {label}: {}{more}", shown.join(", "))
    }
}

/// `50000` as `50,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
