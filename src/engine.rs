//! The engine: one line in, counted in its windows. Decoding, classification
//! and windowing of a shard, with no I/O, no locks and no allocation per
//! event in the common case. With more than a few SLIs, an event's values
//! are looked up in a [`FilterIndex`] of the SLIs' filters, and only the
//! SLIs it names have their filter evaluated.
//!
//! ```
//! use slipstream::{config::Config, engine::Engine};
//! let config = Config::parse("inline.toml".as_ref(), r#"
//!     [[sli]]
//!     name = "api"
//!     good = "status < 500"
//! "#).unwrap();
//! let mut engine = Engine::new(&config);
//! engine.process(br#"{"timestamp":"2026-11-27T10:00:01Z","status":503}"#).unwrap();
//! let windows = engine.windows_mut().take_until(i64::MAX);
//! assert_eq!(windows[0].slis[0].bad, 1);
//! ```

use std::sync::Arc;

use crate::config::{Config, Sli};
use crate::decode::Decoder;
use crate::event::{Event, Value};
use crate::reject::LineReject;
use crate::rules::{FilterIndex, Rule};
use crate::setup::Probe;
use crate::window::WindowSet;

/// What became of a line the engine accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Counted in its window.
    Counted { time_ns: i64 },
    /// Decoded, but outside the engine's time range (`--from/--to`).
    OutOfRange,
}

/// Decoder, SLIs and the open windows of one shard.
pub struct Engine {
    decoder: Decoder,
    slis: Arc<[Sli]>,
    windows: WindowSet,
    /// The slot vector, kept empty between lines to reuse its allocation.
    spare: Vec<Option<Value<'static>>>,
    from_ns: i64,
    to_ns: i64,
    /// What the setup checks need to know about the input.
    probe: Probe,
    /// The SLIs' filters by the values they require, when there are enough
    /// SLIs for lookups to beat evaluating every filter.
    index: Option<FilterIndex>,
    /// The SLIs an event may count for, kept between lines for its allocation.
    candidates: Vec<u32>,
    /// An event's group key, kept between events for its allocation.
    key: String,
    /// The SLIs' `good` rules, each distinct source once: SLIs written
    /// from one template (a route each, the same `good`) share one rule,
    /// which stays in the cache however many SLIs there are, and an event
    /// that counts for several of them is judged once.
    goods: Vec<Rule>,
    /// Per SLI, what counting an event needs of it first, apart from the
    /// rest of its definition: the SLIs' definitions take hundreds of
    /// bytes each, and with hundreds of SLIs reading them for each event
    /// misses the cache.
    hot: Vec<Hot>,
}

/// See [`Engine::hot`].
#[derive(Debug, Clone, Copy)]
struct Hot {
    /// The SLI's rule in [`Engine::goods`].
    good: u32,
    grouped: bool,
}

/// Up to this many SLIs, evaluating every filter is as fast as the index.
pub const SCAN_MAX_SLIS: usize = 8;

/// Reuses an emptied vector's allocation for values of another lifetime:
/// it holds none, so none outlives the line it borrowed from.
fn recycle<'b>(mut v: Vec<Option<Value<'_>>>) -> Vec<Option<Value<'b>>> {
    v.clear();
    // Collected in place: the same allocation, nothing to convert.
    v.into_iter().map(|_| None).collect()
}

impl Engine {
    pub fn new(config: &Config) -> Engine {
        let decoder = Decoder::new(&config.decode, &config.fields);
        let spare = Vec::with_capacity(decoder.slots());
        let logfmt = config.decode.spec.format == crate::decode::Format::Logfmt;
        let probe = Probe::new(decoder.slots(), config.slis.len(), logfmt);
        let index = FilterIndex::new(config.slis.iter().map(|s| s.filter.as_ref()));
        let index = (config.slis.len() > SCAN_MAX_SLIS && index.indexed() > 0).then_some(index);
        let mut goods: Vec<Rule> = Vec::new();
        let mut seen: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        let hot = config
            .slis
            .iter()
            .map(|s| Hot {
                good: *seen.entry(s.good.source()).or_insert_with(|| {
                    goods.push(s.good.unshared());
                    (goods.len() - 1) as u32
                }),
                grouped: !s.group_by.is_empty(),
            })
            .collect();
        Engine {
            decoder,
            slis: config
                .slis
                .iter()
                .map(|s| Sli {
                    filter: s.filter.as_ref().map(Rule::unshared),
                    good: s.good.unshared(),
                    ..s.clone()
                })
                .collect(),
            windows: WindowSet::new(config.window.size_ns, config.slis.len()),
            spare,
            from_ns: i64::MIN,
            to_ns: i64::MAX,
            probe,
            index,
            candidates: Vec::new(),
            key: String::new(),
            goods,
            hot,
        }
    }

    /// Keeps only events with `from <= time < to` (nanoseconds since the epoch).
    pub fn with_range(mut self, from_ns: Option<i64>, to_ns: Option<i64>) -> Engine {
        self.from_ns = from_ns.unwrap_or(i64::MIN);
        self.to_ns = to_ns.unwrap_or(i64::MAX);
        self
    }

    /// Looks the SLIs an event may count for up in the index of their
    /// filters (`true`), or evaluates every SLI's filter (`false`). The
    /// counts are the same either way; by default the index is used past
    /// [`SCAN_MAX_SLIS`] SLIs, when some filter requires a value.
    pub fn with_filter_index(mut self, on: bool) -> Engine {
        self.index = on.then(|| FilterIndex::new(self.slis.iter().map(|s| s.filter.as_ref())));
        self
    }

    pub fn slis(&self) -> &[Sli] {
        &self.slis
    }

    pub fn windows(&self) -> &WindowSet {
        &self.windows
    }

    pub fn windows_mut(&mut self) -> &mut WindowSet {
        &mut self.windows
    }

    pub fn into_windows(self) -> WindowSet {
        self.windows
    }

    /// The windows, and what the engine noticed about its input.
    pub fn into_parts(self) -> (WindowSet, Probe) {
        (self.windows, self.probe)
    }

    /// What the engine noticed about its input so far.
    pub fn probe(&self) -> &Probe {
        &self.probe
    }

    /// Starts reading lines of an input whose leading `#` lines are
    /// `preamble` (see [`Decoder::start_input`]).
    pub fn start_input(&mut self, preamble: &[u8]) {
        self.decoder.start_input(preamble);
    }

    /// Decodes one line (without its newline), classifies it for every SLI
    /// and counts it in its window.
    pub fn process(&mut self, line: &[u8]) -> Result<Accepted, LineReject> {
        let text = self.text(line)?;
        self.process_text(text)
    }

    /// [`Engine::process`] for a line already known to be UTF-8.
    pub fn process_text(&mut self, line: &str) -> Result<Accepted, LineReject> {
        let (from, to) = (self.from_ns, self.to_ns);
        self.process_text_if(line, |time_ns| time_ns >= from && time_ns < to)
            .map(|(time_ns, counted)| {
                if counted {
                    Accepted::Counted { time_ns }
                } else {
                    Accepted::OutOfRange
                }
            })
    }

    /// Decodes one line and counts it only when `admit` accepts its event
    /// time. Returns the event time and whether it was counted.
    #[inline]
    pub fn process_if(
        &mut self,
        line: &[u8],
        admit: impl FnOnce(i64) -> bool,
    ) -> Result<(i64, bool), LineReject> {
        let text = self.text(line)?;
        self.process_text_if(text, admit)
    }

    /// A line as text; one that is too large or not UTF-8 is also noted for
    /// the setup checks (a topic of binary payloads is a wrong setup too).
    #[inline]
    fn text<'l>(&mut self, line: &'l [u8]) -> Result<&'l str, LineReject> {
        self.decoder.text(line).inspect_err(|&reason| {
            let shown = String::from_utf8_lossy(&line[..line.len().min(4096)]);
            self.probe.line("");
            self.probe.rejected(&shown, reason);
        })
    }

    #[inline]
    fn process_text_if(
        &mut self,
        line: &str,
        admit: impl FnOnce(i64) -> bool,
    ) -> Result<(i64, bool), LineReject> {
        self.probe.line(line);
        // The slot vector is built in the event, not moved into it: a
        // vector's header written in parts and read back whole stalls.
        let mut event = Event {
            time_ns: 0,
            latency_ns: None,
            latency_fault: None,
            values: recycle(std::mem::take(&mut self.spare)),
        };
        event.values.extend((0..self.decoder.slots()).map(|_| None));
        let result = self.decoder.decode_text(line, &mut event).map(|()| {
            self.probe.event(&event.values);
            let admitted = admit(event.time_ns);
            if admitted {
                self.count(&event);
            }
            (event.time_ns, admitted)
        });
        self.spare = recycle(event.values);
        match result {
            Err(reason) if reason.is_skipped() => self.probe.skipped(),
            Err(reason) => self.probe.rejected(line, reason),
            Ok(_) => {}
        }
        result
    }

    /// Classifies a decoded event and counts it.
    #[inline]
    fn count(&mut self, event: &Event<'_>) {
        if let Some(fault) = event.latency_fault {
            self.probe.latency_fault(fault);
        }
        let window = self.windows.at_time(event.time_ns);
        // The last rule judged for this event, and its verdict.
        let mut judged: Option<(u32, Option<bool>)> = None;
        let (goods, hot, probe, key) = (&self.goods, &self.hot, &mut self.probe, &mut self.key);
        // Counts the event for SLI `i`, whose filter holds.
        let mut count = |i: usize, sli: &Sli, w: &mut crate::window::SliWindow| {
            let Some(&hot) = hot.get(i) else { return };
            let good = match judged {
                Some((rule, good)) if rule == hot.good => good,
                _ => {
                    let good = goods[hot.good as usize].eval(&event.values);
                    judged = Some((hot.good, good));
                    good
                }
            };
            if hot.grouped {
                count_grouped(i, sli, w, event, good, probe, key);
            } else {
                count_in(i, sli, w, event, good, probe);
            }
        };
        let holds = |sli: &Sli| {
            sli.filter
                .as_ref()
                .is_none_or(|f| f.eval(&event.values) == Some(true))
        };
        let Some(index) = &self.index else {
            for (i, (sli, w)) in self.slis.iter().zip(window.iter_mut()).enumerate() {
                if holds(sli) {
                    count(i, sli, w);
                }
            }
            return;
        };
        // In SLI order, as the scan: each SLI's counts and what the probe
        // sees do not depend on which of the two found it.
        for &i in index.candidates(&event.values, &mut self.candidates) {
            let i = i as usize;
            if let (Some(sli), Some(w)) = (self.slis.get(i), window.get_mut(i)) {
                if index.decides(i) || holds(sli) {
                    count(i, sli, w);
                }
            }
        }
    }
}

/// Counts an event of grouped SLI `i`, judged `good` by the SLI's rule,
/// in its window `w` and in its group there (`key` is scratch space).
#[inline(always)]
fn count_grouped(
    i: usize,
    sli: &Sli,
    w: &mut crate::window::SliWindow,
    event: &Event<'_>,
    good: Option<bool>,
    probe: &mut Probe,
    key: &mut String,
) {
    // The SLI's own counters hold the sums over its groups.
    w.total += 1;
    match good {
        Some(true) => w.good += 1,
        Some(false) => w.bad += 1,
        None => w.invalid += 1,
    }
    w.groups
        .get_or_insert_with(|| Box::new(crate::window::Groups::new(sli.group_limit)))
        .with_values(&sli.group_by, &event.values, key, |g| {
            count_in(i, sli, g, event, good, probe)
        });
}

/// Counts an event that belongs to SLI `i` in `w`.
#[inline(always)]
fn count_in(
    i: usize,
    sli: &Sli,
    w: &mut crate::window::SliWindow,
    event: &Event<'_>,
    good: Option<bool>,
    probe: &mut Probe,
) {
    w.total += 1;
    match good {
        Some(true) => w.good += 1,
        Some(false) => {
            w.bad += 1;
            if !sli.breakdown.is_empty() {
                count_breakdown(sli, w, &event.values);
            }
        }
        None => {
            w.invalid += 1;
            if probe.wants_invalid(i) {
                let why = sli.good.undecided(&event.values);
                probe.invalid(i, why, &event.values, event.latency_fault);
            }
        }
    }
    if let Some(ns) = event.latency_ns {
        w.latency.record(ns);
    }
}

/// Counts a bad event's value of every breakdown field of its SLI.
#[cold]
fn count_breakdown(sli: &Sli, w: &mut crate::window::SliWindow, values: &[Option<Value<'_>>]) {
    if w.breakdown.len() < sli.breakdown.len() {
        w.breakdown.resize(
            sli.breakdown.len(),
            crate::window::TopValues::for_limit(sli.breakdown_limit),
        );
    }
    for ((_, slot), top) in sli.breakdown.iter().zip(w.breakdown.iter_mut()) {
        let num;
        let value: &str = match values.get(*slot).and_then(Option::as_ref) {
            Some(Value::Str(s)) => s,
            Some(Value::Num(n)) => {
                num = n.to_string();
                &num
            }
            Some(Value::Bool(b)) => {
                if *b {
                    "true"
                } else {
                    "false"
                }
            }
            Some(Value::Null) | None => "(none)",
            Some(Value::Object) => "(object)",
            Some(Value::Array) => "(array)",
        };
        top.add(value);
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
