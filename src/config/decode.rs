//! Checks of `[decode]`: the format, its `log_format` or `pattern`
//! (compiled here, so a mistake points at its line and column), the roles'
//! fields with the format's defaults, the timestamp format and the latency
//! unit.

use super::raw::{self, SpanStr};
use super::validate::{toml_string_offset, valid_path, Validator};
use super::{ConfigError, DecodeConfig, LatencyUnit, TimestampFormat};
use crate::time::UnixUnit;

/// The largest `max_event_bytes`: 1 GiB.
const MAX_EVENT_BYTES: i64 = 1 << 30;

/// `max_latency` when the configuration does not say: a request that took
/// longer is more likely a wrong unit or a clock jump than a real request.
const DEFAULT_MAX_LATENCY: std::time::Duration = std::time::Duration::from_secs(3600);

impl Validator<'_> {
    pub(super) fn decode(&self, d: &raw::RawDecode) -> Result<DecodeConfig, ConfigError> {
        use crate::decode::Format;
        let format = match &d.format {
            None => Format::Json,
            Some(f) => Format::from_name(f.get_ref()).ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                self.err(
                    f.span(),
                    "decode.format",
                    format!(
                        "unknown format `{}`; expected one of {}",
                        f.get_ref(),
                        names.join(", ")
                    ),
                )
            })?,
        };
        if let Some(l) = &d.log_format {
            if !matches!(format, Format::Nginx | Format::Apache | Format::Envoy) {
                return Err(self.err(
                    l.span(),
                    "decode.log_format",
                    format!(
                        "`log_format` is read by the formats nginx, apache and envoy, not `{}`",
                        format.name()
                    ),
                ));
            }
        }
        match (&d.pattern, format) {
            (Some(p), f) if f != Format::Regex => {
                return Err(self.err(
                    p.span(),
                    "decode.pattern",
                    "`pattern` is read by format = \"regex\" only",
                ))
            }
            (None, Format::Regex) => {
                let at = d.format.as_ref().map_or(0..0, |f| f.span());
                return Err(self.err(
                    at,
                    "decode.pattern",
                    "format = \"regex\" needs `pattern`, a regular expression with named \
                     groups like `(?P<status>\\d+)`",
                ));
            }
            _ => {}
        }
        let spec = crate::decode::compile(
            format,
            d.log_format.as_ref().map(|s| s.get_ref().as_str()),
            d.pattern.as_ref().map(|s| s.get_ref().as_str()),
        )
        .map_err(|(message, offset)| {
            let (s, field) = match (&d.log_format, &d.pattern) {
                (Some(s), _) => (s, "decode.log_format"),
                (_, Some(s)) => (s, "decode.pattern"),
                _ => return ConfigError::new(self.map.file, message),
            };
            let span = s.span();
            let chars = s.get_ref().get(..offset).map_or(0, |p| p.chars().count());
            let at = span.start + toml_string_offset(&self.map.text[span.clone()], chars);
            self.err(at..at, field, message)
        })?;
        let max_event_bytes = match &d.max_event_bytes {
            Some(m) if !(64..=MAX_EVENT_BYTES).contains(m.get_ref()) => {
                return Err(self.err(
                    m.span(),
                    "decode.max_event_bytes",
                    format!("must be between 64 and {MAX_EVENT_BYTES} (1 GiB)"),
                ))
            }
            Some(m) => *m.get_ref() as usize,
            None => 1_048_576,
        };
        let max_latency = match &d.max_latency {
            Some(s) => self.duration(s, "decode.max_latency")?,
            None => DEFAULT_MAX_LATENCY,
        };
        let timezone = match &d.timezone {
            None => None,
            Some(tz) => Some(tz.get_ref().parse::<chrono_tz::Tz>().map_err(|_| {
                self.err(
                    tz.span(),
                    "decode.timezone",
                    format!(
                        "unknown time zone `{}`; use an IANA name like `Europe/Paris` or `UTC`",
                        tz.get_ref()
                    ),
                )
            })?),
        };
        let f = &d.fields;
        let path =
            |v: &Option<SpanStr>, default: &str, field: &str| -> Result<String, ConfigError> {
                match v {
                    Some(s) if !valid_path(s.get_ref()) => Err(self.err(
                        s.span(),
                        field,
                        format!(
                            "`{}` is not a field path like `ts` or `http.duration_ms`",
                            s.get_ref()
                        ),
                    )),
                    Some(s) => Ok(s.get_ref().clone()),
                    None => Ok(default.to_string()),
                }
            };
        let timestamp_format = match &f.timestamp_format {
            None => TimestampFormat::Unix(UnixUnit::Auto),
            Some(s) => match s.get_ref().as_str() {
                "auto" => TimestampFormat::Unix(UnixUnit::Auto),
                "rfc3339" | "iso8601" => TimestampFormat::Rfc3339,
                "clf" => TimestampFormat::Clf,
                "unix_s" => TimestampFormat::Unix(UnixUnit::Seconds),
                "unix_ms" => TimestampFormat::Unix(UnixUnit::Millis),
                "unix_us" => TimestampFormat::Unix(UnixUnit::Micros),
                "unix_ns" => TimestampFormat::Unix(UnixUnit::Nanos),
                strftime if strftime.contains('%') => {
                    check_strftime(strftime).map_err(|m| {
                        self.err(s.span(), "decode.fields.timestamp_format", m)
                    })?;
                    TimestampFormat::Strftime(strftime.to_string())
                }
                other => {
                    return Err(self.err(
                        s.span(),
                        "decode.fields.timestamp_format",
                        format!("unknown format `{other}`; expected one of auto, rfc3339, clf, unix_s, unix_ms, unix_us, unix_ns, or a strftime format like `%d/%b/%Y:%H:%M:%S %z`"),
                    ))
                }
            },
        };
        let latency_unit = match &f.latency_unit {
            // Apache's durations carry their unit in their name: another
            // duration field than the default one has its own unit.
            None if spec.format == crate::decode::Format::Apache => {
                match f.latency.as_ref().map(|l| l.get_ref().as_str()) {
                    Some("duration_s") => LatencyUnit::Seconds,
                    Some("duration_ms") => LatencyUnit::Millis,
                    Some("duration_us") => LatencyUnit::Micros,
                    Some(other) if other != spec.latency => {
                        let span = f.latency.as_ref().map_or(0..0, |l| l.span());
                        return Err(self.err(
                            span,
                            "decode.fields.latency",
                            format!("the unit of `{other}` is unknown: give it with [decode.fields] latency_unit = \"s\", \"ms\", \"us\" or \"ns\""),
                        ));
                    }
                    _ => spec.latency_unit,
                }
            }
            None => spec.latency_unit,
            Some(s) => match s.get_ref().as_str() {
                "s" => LatencyUnit::Seconds,
                "ms" => LatencyUnit::Millis,
                "us" => LatencyUnit::Micros,
                "ns" => LatencyUnit::Nanos,
                other => {
                    return Err(self.err(
                        s.span(),
                        "decode.fields.latency_unit",
                        format!("unknown unit `{other}`; expected one of s, ms, us, ns"),
                    ))
                }
            },
        };
        let timestamp_field = path(&f.timestamp, &spec.timestamp, "decode.fields.timestamp")?;
        // A format with fixed columns must have the timestamp among them.
        if !spec.columns.is_empty() {
            if let Some(missing) = timestamp_field
                .split('+')
                .find(|part| spec.column(part).is_none())
            {
                let names: Vec<&str> = spec.columns.iter().map(|c| c.name.as_str()).collect();
                let (span, field) = match (&f.timestamp, &d.log_format, &d.pattern) {
                    (Some(t), _, _) => (t.span(), "decode.fields.timestamp"),
                    (None, Some(l), _) => (l.span(), "decode.log_format"),
                    (None, _, Some(p)) => (p.span(), "decode.pattern"),
                    _ => (0..0, "decode.fields.timestamp"),
                };
                return Err(self.err(
                    span,
                    field,
                    format!(
                        "the timestamp field `{missing}` is not in this {} format; its fields are {} \
                         (add a time to the format, or name the timestamp field in [decode.fields])",
                        format.name(),
                        names.join(", ")
                    ),
                ));
            }
        }
        Ok(DecodeConfig {
            max_event_bytes,
            max_latency_ns: max_latency.as_nanos() as f64,
            timestamp_field,
            timestamp_format,
            timezone,
            status_field: path(&f.status, &spec.status, "decode.fields.status")?,
            latency_field: path(&f.latency, &spec.latency, "decode.fields.latency")?,
            latency_unit,
            spec,
            log_format: d.log_format.as_ref().map(|s| s.get_ref().clone()),
            pattern: d.pattern.as_ref().map(|s| s.get_ref().clone()),
        })
    }
}

/// Checks a strftime format by formatting a time with it: chrono reports
/// an unknown specifier as an error there.
fn check_strftime(format: &str) -> Result<(), String> {
    use std::fmt::Write;
    let items = chrono::format::StrftimeItems::new(format);
    if items
        .clone()
        .any(|i| matches!(i, chrono::format::Item::Error))
    {
        return Err(format!(
            "`{format}` is not a strftime format chrono can read (see \
             https://docs.rs/chrono/latest/chrono/format/strftime/)"
        ));
    }
    let mut out = String::new();
    let t = chrono::DateTime::UNIX_EPOCH.fixed_offset();
    write!(out, "{}", t.format_with_items(items)).map_err(|_| format!("`{format}` cannot be used"))
}
