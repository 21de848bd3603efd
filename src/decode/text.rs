//! The text formats behind one decoder: [`compile`] turns `[decode]` into a
//! format's [`Spec`], and [`TextDecoder`] fills an [`Event`] from one line
//! of any of them. Each format's module only splits a line into columns and
//! hands every column's text to a [`Fill`]; the roles are then read as for
//! JSON.

use super::fill::{Fill, Target};
use super::settings::{DecodeConfig, TimestampFormat};
use super::spec::{Format, Spec, Splitter};
use super::timestamp;
use super::{alb, cloudfront, haproxy, logfmt, pattern, template, LineReject, EVENT_TIME_RANGE};
use crate::event::{Event, Value, LATENCY_SLOT, STATUS_SLOT, TIMESTAMP_SLOT};
use crate::time::UnixUnit;

/// Compiles `[decode]`: the format, its `log_format` or `pattern`. The
/// error is a message and, where known, the byte offset in the given
/// string that it is about.
pub fn compile(
    format: Format,
    log_format: Option<&str>,
    pattern: Option<&str>,
) -> Result<Spec, (String, usize)> {
    match format {
        Format::Json => Ok(Spec::json()),
        Format::Nginx => super::nginx::spec(log_format),
        Format::Apache => super::apache::spec(log_format),
        Format::Envoy => super::envoy::spec(log_format),
        Format::Alb => Ok(alb::spec()),
        Format::CloudFront => Ok(cloudfront::spec()),
        Format::Haproxy => Ok(haproxy::spec()),
        Format::Logfmt => Ok(logfmt::spec()),
        Format::Regex => pattern::spec(pattern.unwrap_or_default()),
    }
}

/// Decodes the lines of one text format.
#[derive(Debug, Clone)]
pub(super) struct TextDecoder {
    spec: Spec,
    targets: Vec<Target>,
    /// logfmt: the wanted keys and their targets.
    keys: Vec<(String, usize)>,
    /// The time format of the timestamp role.
    ts_format: TimestampFormat,
    /// The timestamp role is a date column and a time column.
    ts_split: bool,
    /// How many columns a latency that is a sum adds up.
    latency_terms: u8,
    latency_unit_ns: f64,
    max_latency_ns: f64,
    times: timestamp::Parsers,
    /// nginx, Apache and Envoy: the format string, for the wanted columns.
    template: template::Plan,
    cloudfront: cloudfront::Header,
    locations: Option<regex::CaptureLocations>,
}

impl TextDecoder {
    /// The decoder of `d`'s format, filling the roles and the slots of
    /// `paths` (each rule path with its slot).
    pub(super) fn new<'p>(
        d: &DecodeConfig,
        paths: impl Iterator<Item = (usize, &'p str)>,
    ) -> TextDecoder {
        let spec = d.spec.clone();
        let mut keys: Vec<(String, usize)> = Vec::new();
        let mut targets: Vec<Target> = vec![Target::default(); spec.columns.len()];
        for (i, c) in spec.columns.iter().enumerate() {
            targets[i].minus_one_missing = c.minus_one_missing;
            targets[i].zero_missing = c.zero_missing;
        }
        // The column of a name; logfmt learns its columns from the names.
        let mut column = |name: &str, targets: &mut Vec<Target>| -> Option<usize> {
            if spec.format != Format::Logfmt {
                return spec.column(name);
            }
            if let Some((_, c)) = keys.iter().find(|(k, _)| k == name) {
                return Some(*c);
            }
            targets.push(Target::default());
            keys.push((name.to_string(), targets.len() - 1));
            Some(targets.len() - 1)
        };
        let ts_parts: Vec<&str> = d.timestamp_field.split('+').collect();
        for (i, part) in ts_parts.iter().take(2).enumerate() {
            if let Some(c) = column(part, &mut targets) {
                targets[c].ts = i as u8 + 1;
            }
        }
        let ts_format = match (&d.timestamp_format, ts_parts.len()) {
            (TimestampFormat::Unix(UnixUnit::Auto), 1) => spec
                .column(ts_parts[0])
                .and_then(|c| spec.columns[c].time.clone())
                .unwrap_or(TimestampFormat::Unix(UnixUnit::Auto)),
            (f, _) => f.clone(),
        };
        if let Some(c) = column(&d.status_field, &mut targets) {
            targets[c].slots.push(STATUS_SLOT);
        }
        let terms: Vec<&str> = d.latency_field.split('+').collect();
        for term in &terms {
            if let Some(c) = column(term, &mut targets) {
                if terms.len() == 1 {
                    targets[c].slots.push(LATENCY_SLOT);
                } else {
                    targets[c].sum = true;
                }
            }
        }
        for (slot, path) in paths {
            if let Some(c) = column(path, &mut targets) {
                targets[c].slots.push(slot);
            }
        }
        let locations = match &spec.splitter {
            Splitter::Regex(re) => Some(re.capture_locations()),
            _ => None,
        };
        let template = match &spec.splitter {
            Splitter::Template(t) => t.plan(|c| targets.get(c).is_some_and(Target::is_used)),
            _ => template::Plan::default(),
        };
        TextDecoder {
            template,
            cloudfront: cloudfront::Header::new(&spec),
            spec,
            targets,
            keys,
            ts_format,
            ts_split: ts_parts.len() == 2,
            latency_terms: if terms.len() > 1 {
                terms.len() as u8
            } else {
                0
            },
            latency_unit_ns: d.latency_unit.nanos(),
            max_latency_ns: d.max_latency_ns,
            times: timestamp::Parsers::new(d.timezone),
            locations,
        }
    }

    /// Starts an input whose leading `#` lines are `preamble` ("" for
    /// none): CloudFront takes its columns from them.
    pub(super) fn start_input(&mut self, preamble: &str) {
        if matches!(self.spec.splitter, Splitter::CloudFront) {
            self.cloudfront.start(preamble);
        }
    }

    /// Decodes one line into `event`, whose values are all `None`.
    pub(super) fn decode<'a>(
        &mut self,
        line: &'a str,
        event: &mut Event<'a>,
    ) -> Result<(), LineReject> {
        let line = line.trim_end_matches(['\r', ' ']);
        let mut fill = Fill {
            targets: &self.targets,
            values: &mut event.values,
            ts: [None, None],
            sum: 0.0,
            sum_terms: 0,
        };
        match &self.spec.splitter {
            Splitter::Json => return Err(LineReject::BadLine),
            Splitter::Template(_) => self.template.split(line, &mut fill)?,
            Splitter::Alb => alb::split(line, &mut fill)?,
            Splitter::CloudFront => self.cloudfront.split(line, &mut fill)?,
            Splitter::Haproxy => haproxy::split(line, &mut fill)?,
            Splitter::Logfmt => logfmt::split(line, &self.keys, &mut fill)?,
            Splitter::Regex(re) => {
                let locs = self.locations.as_mut().ok_or(LineReject::BadLine)?;
                pattern::split(re, locs, line, &mut fill)?
            }
        }
        let (ts, sum, sum_terms) = (fill.ts, fill.sum, fill.sum_terms);
        let time_ns = match ts {
            [Some(date), Some(t)] if self.ts_split => {
                timestamp::parse_date_and_time(date.as_bytes(), t.as_bytes())
            }
            [Some(s), None] if !self.ts_split => {
                timestamp::parse_text(&self.ts_format, s, &mut self.times)
            }
            _ => return Err(LineReject::NoTimestamp),
        };
        event.time_ns = time_ns
            .filter(|t| EVENT_TIME_RANGE.contains(t))
            .ok_or(LineReject::BadTimestamp)?;
        event.values[TIMESTAMP_SLOT] = Some(Value::Num(event.time_ns as f64 / 1e9));
        if sum_terms > 0 && sum_terms == self.latency_terms && sum.is_finite() {
            event.values[LATENCY_SLOT] = Some(Value::Num(sum));
        }
        (event.latency_ns, event.latency_fault) =
            super::roles(&mut event.values, self.latency_unit_ns, self.max_latency_ns);
        Ok(())
    }
}
