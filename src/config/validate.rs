//! Checks of every raw value, once: durations, rules, units, sinks. Each
//! error carries the file position of the value and the dotted field.
//!
//! Why one long file: the [`Validator`] walks the raw configuration once and
//! its checks share the source map, the environment expansion and the "did
//! you mean" suggestions; the larger self-contained parts (`[decode]`,
//! `[sli.alerts]`, `[sink.buffer]`) already live in their own files.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use super::raw::{self, RawSli, SpanStr};
use super::*;
use crate::event::FieldTable;
use crate::rules::{self, Rule};

/// Validation of the raw values, with the source map for error positions.
pub(super) struct Validator<'a> {
    pub(super) map: &'a SourceMap<'a>,
    /// Each rule compiled so far, by its text and latency unit: hundreds
    /// of SLIs often share one `good` rule, and one field table holds the
    /// fields of every rule, so a rule compiles to the same thing each time.
    pub(super) compiled: std::cell::RefCell<std::collections::HashMap<(String, u64), Rule>>,
}

/// The percentiles of an SLI that names none: p50, p90 and p99, made
/// once for the thousands of SLIs a configuration may hold.
fn default_percentiles() -> &'static [Percentile] {
    static DEFAULT: std::sync::OnceLock<Vec<Percentile>> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(|| {
        [0.5, 0.9, 0.99]
            .iter()
            .filter_map(|&q| Percentile::from_quantile(q))
            .collect()
    })
}

/// The longest duration any setting accepts: 366 days.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 86_400);

impl Validator<'_> {
    pub(super) fn err(
        &self,
        span: Range<usize>,
        field: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        self.map.error(span, field, message)
    }

    /// Replaces `${VAR}` with the environment variable; `$$` is a literal `$`.
    pub(super) fn expand(&self, s: &SpanStr, field: &str) -> Result<String, ConfigError> {
        expand_env(s.get_ref()).map_err(|m| self.err(s.span(), field, m))
    }

    /// A duration of the configuration, up to [`MAX_DURATION`]: no setting
    /// means more than a year, and a longer one would only overflow later.
    pub(super) fn duration(&self, s: &SpanStr, field: &str) -> Result<Duration, ConfigError> {
        let d = humantime::parse_duration(s.get_ref().trim()).map_err(|e| {
            self.err(
                s.span(),
                field,
                format!(
                    "`{}` is not a duration ({e}); write it like `500ms`, `5s`, `1m` or `28d`",
                    s.get_ref()
                ),
            )
        })?;
        if d > MAX_DURATION {
            return Err(self.err(
                s.span(),
                field,
                format!(
                    "`{}` is longer than the longest duration accepted, 366d",
                    s.get_ref()
                ),
            ));
        }
        Ok(d)
    }

    fn text(&self, v: &Option<raw::SpanStr>, field: &str) -> Result<Option<String>, ConfigError> {
        v.as_ref().map(|v| self.expand(v, field)).transpose()
    }

    /// An object store's endpoint: a URL, `http://` only where it says so.
    fn endpoint(
        &self,
        v: &Option<raw::SpanStr>,
        field: &str,
    ) -> Result<Option<String>, ConfigError> {
        let endpoint = self.text(v, field)?;
        if let (Some(e), Some(span)) = (&endpoint, v) {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(self.err(
                    span.span(),
                    field,
                    "must be a URL starting with https:// (or http:// for a store without TLS)",
                ));
            }
        }
        Ok(endpoint)
    }

    fn max_retries(
        &self,
        v: &Option<toml::Spanned<i64>>,
        default: usize,
        field: &str,
    ) -> Result<usize, ConfigError> {
        match v {
            None => Ok(default),
            Some(n) => match usize::try_from(*n.get_ref()) {
                Ok(n) if n <= 100 => Ok(n),
                _ => Err(self.err(n.span(), field, "must be between 0 and 100")),
            },
        }
    }

    pub(super) fn s3_source(&self, s: &raw::RawS3Source) -> Result<S3Settings, ConfigError> {
        Ok(S3Settings {
            endpoint: self.endpoint(&s.endpoint, "source.s3.endpoint")?,
            region: self.text(&s.region, "source.s3.region")?,
            profile: self.text(&s.profile, "source.s3.profile")?,
            max_retries: self.max_retries(
                &s.max_retries,
                S3Settings::default().max_retries,
                "source.s3.max_retries",
            )?,
        })
    }

    pub(super) fn gcs_source(&self, s: &raw::RawGcsSource) -> Result<GcsSettings, ConfigError> {
        Ok(GcsSettings {
            endpoint: self.endpoint(&s.endpoint, "source.gcs.endpoint")?,
            max_retries: self.max_retries(
                &s.max_retries,
                GcsSettings::default().max_retries,
                "source.gcs.max_retries",
            )?,
        })
    }

    pub(super) fn azure_source(
        &self,
        s: &raw::RawAzureSource,
    ) -> Result<AzureSettings, ConfigError> {
        Ok(AzureSettings {
            account: self.text(&s.account, "source.azure.account")?,
            endpoint: self.endpoint(&s.endpoint, "source.azure.endpoint")?,
            use_emulator: s.use_emulator.unwrap_or(false),
            max_retries: self.max_retries(
                &s.max_retries,
                AzureSettings::default().max_retries,
                "source.azure.max_retries",
            )?,
        })
    }

    pub(super) fn kafka_source(&self, k: raw::RawKafkaSource) -> Result<KafkaSource, ConfigError> {
        let brokers = self.expand(&k.brokers, "source.kafka.brokers")?;
        if brokers.trim().is_empty() {
            return Err(self.err(
                k.brokers.span(),
                "source.kafka.brokers",
                "must name at least one broker",
            ));
        }
        if k.topics.get_ref().is_empty() {
            return Err(self.err(
                k.topics.span(),
                "source.kafka.topics",
                "must name at least one topic",
            ));
        }
        let group_id = match &k.group_id {
            Some(g) => self.expand(g, "source.kafka.group_id")?,
            None => "slipstream".to_string(),
        };
        let mut librdkafka = BTreeMap::new();
        for (key, value) in &k.librdkafka {
            let field = format!("source.kafka.librdkafka.\"{key}\"");
            let text = match value.get_ref() {
                raw::PassThrough::Str(s) => {
                    expand_env(s).map_err(|m| self.err(value.span(), &field, m))?
                }
                raw::PassThrough::Bool(b) => b.to_string(),
                raw::PassThrough::Int(i) => i.to_string(),
                raw::PassThrough::Float(f) => f.to_string(),
            };
            librdkafka::check(key, &text).map_err(|m| self.err(value.span(), &field, m))?;
            librdkafka.insert(key.clone(), text);
        }
        Ok(KafkaSource {
            brokers,
            topics: k.topics.into_inner(),
            group_id,
            librdkafka,
        })
    }

    pub(super) fn window(&self, w: &raw::RawWindow) -> Result<WindowConfig, ConfigError> {
        let get = |v: &Option<SpanStr>, default: Duration, field: &str| match v {
            Some(s) => self.duration(s, field),
            None => Ok(default),
        };
        let size = get(&w.size, Duration::from_secs(60), "window.size")?;
        if size < Duration::from_secs(1)
            || size > Duration::from_secs(86_400)
            || size.subsec_nanos() != 0
        {
            let span = w.size.as_ref().map_or(0..0, |s| s.span());
            return Err(self.err(
                span,
                "window.size",
                "must be a whole number of seconds between 1s and 1d",
            ));
        }
        Ok(WindowConfig {
            size_ns: size.as_nanos() as i64,
            max_out_of_orderness: get(
                &w.max_out_of_orderness,
                Duration::from_secs(5),
                "window.max_out_of_orderness",
            )?,
            allowed_lateness: get(
                &w.allowed_lateness,
                Duration::from_secs(60),
                "window.allowed_lateness",
            )?,
            idle_timeout: get(
                &w.idle_timeout,
                Duration::from_secs(30),
                "window.idle_timeout",
            )?,
        })
    }

    fn rule(
        &self,
        s: &SpanStr,
        field: &str,
        fields: &mut FieldTable,
        unit: LatencyUnit,
    ) -> Result<Rule, ConfigError> {
        let key = (s.get_ref().clone(), unit.nanos().to_bits());
        if let Some(rule) = self.compiled.borrow().get(&key) {
            return Ok(rule.clone());
        }
        let rule = rules::compile(s.get_ref(), fields, unit.nanos()).map_err(|e| {
            // Point at the character inside the TOML string, through its
            // quotes, escapes and line breaks.
            let span = s.span();
            let at = span.start
                + toml_string_offset(&self.map.text[span.clone()], e.column().saturating_sub(1));
            let mut err = self.err(at..at, field, e.message().to_string());
            // `render` starts with the message, which the error already shows.
            let rendered = e.render(s.get_ref());
            err.detail = Some(
                rendered
                    .split_once('\n')
                    .map_or(rendered.clone(), |(_, rest)| rest.to_string()),
            );
            err
        })?;
        self.compiled.borrow_mut().insert(key, rule.clone());
        Ok(rule)
    }

    pub(super) fn sli(
        &self,
        i: usize,
        s: &RawSli,
        fields: &mut FieldTable,
        unit: LatencyUnit,
        size_ns: i64,
    ) -> Result<Sli, ConfigError> {
        let name = s.name.get_ref().trim().to_string();
        if name.is_empty() || name.contains(['|', '\n']) {
            return Err(self.err(
                s.name.span(),
                &format!("sli[{i}].name"),
                "must be a non-empty name without `|` or line breaks",
            ));
        }
        let filter = match &s.filter {
            Some(f) => Some(self.rule(f, &format!("sli[{i}].filter"), fields, unit)?),
            None => None,
        };
        let good = self.rule(&s.good, &format!("sli[{i}].good"), fields, unit)?;
        let percentiles = match &s.percentiles {
            None => default_percentiles().to_vec(),
            Some(list) => {
                let mut out: Vec<Percentile> = Vec::new();
                for &q in list.get_ref() {
                    let p = Percentile::from_quantile(q).ok_or_else(|| {
                        self.err(
                            list.span(),
                            &format!("sli[{i}].percentiles"),
                            format!("{q} is not a quantile in (0, 1] with at most 9 decimals, like 0.99"),
                        )
                    })?;
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
                out
            }
        };
        let mut breakdown = Vec::new();
        if let Some(list) = &s.breakdown {
            for path in list.get_ref() {
                let path = path.trim();
                if path.is_empty() || path.split('.').any(str::is_empty) {
                    return Err(self.err(
                        list.span(),
                        &format!("sli[{i}].breakdown"),
                        format!("`{path}` is not a field path like `http.route`"),
                    ));
                }
                if !breakdown.iter().any(|(p, _): &(String, usize)| p == path) {
                    breakdown.push((path.to_string(), fields.slot(path)));
                }
            }
        }
        let (group_by, group_limit) = self.group_by(i, s, fields)?;
        let breakdown_limit = match &s.breakdown_limit {
            None => 20,
            Some(n) if (1..=10_000).contains(n.get_ref()) => *n.get_ref() as usize,
            Some(n) => {
                return Err(self.err(
                    n.span(),
                    &format!("sli[{i}].breakdown_limit"),
                    "must be between 1 and 10000",
                ))
            }
        };
        let objective = match &s.objective {
            Some(o) => Some(self.objective(
                i,
                o,
                &percentiles,
                s.alerts.as_ref(),
                size_ns / 1_000_000_000,
            )?),
            None => None,
        };
        if let (None, Some(a)) = (&s.objective, &s.alerts) {
            let span = a
                .min_events
                .as_ref()
                .map(|n| n.span())
                .or_else(|| a.pairs.as_ref()?.first().map(|p| p.severity.span()))
                .unwrap_or_else(|| s.name.span());
            return Err(self.err(
                span,
                &format!("sli[{i}].alerts"),
                "burn-rate alerts need an objective: add `[sli.objective]` with `target` and `window`, or remove `[sli.alerts]`",
            ));
        }
        if let Some(r) = &s.reviewed {
            if crate::time::parse_rfc3339_str(&format!("{}T00:00:00Z", r.get_ref())).is_none() {
                return Err(self.err(
                    r.span(),
                    &format!("sli[{i}].reviewed"),
                    "must be a date like `2026-11-02`",
                ));
            }
        }
        Ok(Sli {
            name,
            description: s.description.clone(),
            owner: s.owner.clone(),
            reviewed: s.reviewed.as_ref().map(|r| r.get_ref().clone()),
            filter,
            good,
            percentiles,
            breakdown,
            breakdown_limit,
            group_by,
            group_limit,
            objective,
        })
    }

    fn objective(
        &self,
        i: usize,
        o: &raw::RawObjective,
        percentiles: &[Percentile],
        alerts: Option<&raw::RawAlerts>,
        size_secs: i64,
    ) -> Result<Objective, ConfigError> {
        let field = |f: &str| format!("sli[{i}].objective.{f}");
        let target = o.target.get_ref().0;
        if !(target > 0.0 && target < 1.0) {
            return Err(self.err(
                o.target.span(),
                &field("target"),
                format!("{target} must be a ratio strictly between 0 and 1, like 0.999"),
            ));
        }
        let window = match o.window.get_ref().as_str() {
            "calendar:month" => ObjectiveWindow::CalendarMonth,
            "calendar:week" => ObjectiveWindow::CalendarWeek,
            other if other.starts_with("calendar:") => {
                return Err(self.err(
                    o.window.span(),
                    &field("window"),
                    format!("unknown calendar period `{other}`; expected `calendar:month` or `calendar:week`"),
                ))
            }
            _ => {
                let d = self.duration(&o.window, &field("window"))?;
                if d < Duration::from_secs(3600) {
                    return Err(self.err(o.window.span(), &field("window"), "a rolling objective window must be at least 1h"));
                }
                ObjectiveWindow::Rolling(d)
            }
        };
        let method = match o.method.as_ref().map(|m| m.get_ref().as_str()) {
            None | Some("occurrences") => BudgetMethod::Occurrences,
            Some("timeslices") => BudgetMethod::Timeslices,
            Some(other) => {
                let span = o.method.as_ref().map_or(0..0, |m| m.span());
                return Err(self.err(
                    span,
                    &field("method"),
                    format!("unknown method `{other}`; expected `occurrences` or `timeslices`"),
                ));
            }
        };
        let timezone = match &o.timezone {
            None => None,
            Some(tz) if matches!(window, ObjectiveWindow::Rolling(_)) => {
                return Err(self.err(
                    tz.span(),
                    &field("timezone"),
                    "only calendar windows take a timezone",
                ));
            }
            Some(tz) => Some(tz.get_ref().parse::<chrono_tz::Tz>().map_err(|_| {
                self.err(
                    tz.span(),
                    &field("timezone"),
                    format!(
                        "unknown time zone `{}`; use an IANA name like `Asia/Tokyo` or `UTC`",
                        tz.get_ref()
                    ),
                )
            })?),
        };
        if let Some(old) = &o.alert_min_events {
            return Err(self.err(
                old.span(),
                &field("alert_min_events"),
                format!(
                    "moved: write `min_events = {old}` under `[sli.alerts]` (next to `[sli.objective]`)",
                    old = old.get_ref()
                ),
            ));
        }
        if let Some(old) = &o.alert {
            return Err(self.err(
                old.span(),
                &field("alert"),
                "`[[sli.objective.alert]]` with `budget_share` is gone: the Workbook's burn rates hold for every objective and need no table; \
                 to set your own, write `[[sli.alerts.pairs]]` with `severity`, `long_window`, `short_window` and `burn_rate` \
                 (a budget_share s over a long window L is burn_rate = s x objective window / L)",
            ));
        }
        let alerts = self.alerts(i, alerts, &window, size_secs)?;
        let slice = match &o.slice {
            None => SliceRule::Compliance {
                op: SliceOp::Ge,
                threshold: target,
            },
            Some(_) if method != BudgetMethod::Timeslices => {
                let span = o.slice.as_ref().map_or(0..0, |s| s.span());
                return Err(self.err(
                    span,
                    &field("slice"),
                    "only `method = \"timeslices\"` takes a slice rule",
                ));
            }
            Some(s) => parse_slice(s.get_ref(), percentiles)
                .map_err(|msg| self.err(s.span(), &field("slice"), msg))?,
        };
        Ok(Objective {
            target,
            window,
            window_text: o.window.get_ref().trim().to_string(),
            method,
            timezone,
            alerts,
            slice,
        })
    }

    pub(super) fn sink(&self, i: usize, s: &raw::RawSink) -> Result<SinkConfig, ConfigError> {
        let field = |f: &str| format!("sink[{i}].{f}");
        let records = match &s.records {
            // A webhook is for people: alerts only, unless asked otherwise.
            None if s.kind.get_ref() == "webhook" => RecordKinds {
                window: false,
                slo: false,
                alert: true,
            },
            None => RecordKinds::default(),
            Some(list) => {
                let mut kinds = RecordKinds {
                    window: false,
                    slo: false,
                    alert: false,
                };
                for r in list.get_ref() {
                    match r.as_str() {
                        "window" => kinds.window = true,
                        "slo" => kinds.slo = true,
                        "alert" => kinds.alert = true,
                        other => {
                            return Err(self.err(
                                list.span(),
                                &field("records"),
                                format!(
                                    "unknown record kind `{other}`; expected window, slo or alert"
                                ),
                            ))
                        }
                    }
                }
                kinds
            }
        };
        let require = |v: &Option<SpanStr>, name: &str| -> Result<String, ConfigError> {
            match v {
                Some(s) => self.expand(s, &field(name)),
                None => Err(self.err(
                    s.kind.span(),
                    &field(name),
                    format!("a `{}` sink needs `{name}`", s.kind.get_ref()),
                )),
            }
        };
        let forbid = |v: &Option<SpanStr>, name: &str| -> Result<(), ConfigError> {
            match v {
                Some(x) => Err(self.err(
                    x.span(),
                    &field(name),
                    format!("a `{}` sink takes no `{name}`", s.kind.get_ref()),
                )),
                None => Ok(()),
            }
        };
        if s.kind.get_ref() != "webhook" {
            forbid(&s.timeout, "timeout")?;
        }
        let kind = match s.kind.get_ref().as_str() {
            "file" => {
                forbid(&s.topic, "topic")?;
                forbid(&s.url, "url")?;
                SinkKind::File {
                    path: PathBuf::from(require(&s.path, "path")?),
                }
            }
            "kafka" => {
                forbid(&s.path, "path")?;
                forbid(&s.url, "url")?;
                SinkKind::Kafka {
                    topic: require(&s.topic, "topic")?,
                }
            }
            "postgres" => {
                forbid(&s.path, "path")?;
                forbid(&s.topic, "topic")?;
                SinkKind::Postgres {
                    url: require(&s.url, "url")?,
                }
            }
            "webhook" => {
                forbid(&s.path, "path")?;
                forbid(&s.topic, "topic")?;
                let url = require(&s.url, "url")?;
                if let Err(m) = super::Endpoint::parse(&url) {
                    let span = s.url.as_ref().map_or(0..0, |u| u.span());
                    return Err(self.err(span, &field("url"), m));
                }
                let timeout = match &s.timeout {
                    None => super::DEFAULT_TIMEOUT,
                    Some(t) => {
                        let d = self.duration(t, &field("timeout"))?;
                        if d.is_zero() {
                            return Err(self.err(
                                t.span(),
                                &field("timeout"),
                                "a request needs some time: write it like `5s` or `500ms`",
                            ));
                        }
                        d
                    }
                };
                SinkKind::Webhook { url, timeout }
            }
            other => {
                return Err(self.err(
                    s.kind.span(),
                    &field("type"),
                    format!(
                        "unknown sink type `{other}`; expected file, kafka, postgres or webhook"
                    ),
                ))
            }
        };
        let buffer = self.buffer(i, s.kind.get_ref(), s.buffer.as_ref())?;
        Ok(SinkConfig {
            records,
            kind,
            buffer,
        })
    }

    pub(super) fn dead_letter(
        &self,
        d: &raw::RawDeadLetter,
    ) -> Result<DeadLetterConfig, ConfigError> {
        match d.kind.get_ref().as_str() {
            "kafka" => match &d.topic {
                Some(t) => Ok(DeadLetterConfig::Kafka {
                    topic: self.expand(t, "dead_letter.topic")?,
                }),
                None => Err(self.err(
                    d.kind.span(),
                    "dead_letter.topic",
                    "a `kafka` dead-letter destination needs `topic`",
                )),
            },
            "file" => match &d.path {
                Some(p) => Ok(DeadLetterConfig::File {
                    path: PathBuf::from(self.expand(p, "dead_letter.path")?),
                }),
                None => Err(self.err(
                    d.kind.span(),
                    "dead_letter.path",
                    "a `file` dead-letter destination needs `path`",
                )),
            },
            other => Err(self.err(
                d.kind.span(),
                "dead_letter.type",
                format!("unknown dead-letter type `{other}`; expected kafka or file"),
            )),
        }
    }
}

/// True for a dotted field path: non-empty segments without spaces or quotes.
pub(super) fn valid_path(p: &str) -> bool {
    !p.is_empty()
        && p.split('.')
            .all(|seg| !seg.is_empty() && !seg.contains(|c: char| c.is_whitespace() || c == '"'))
}

/// Replaces `${VAR}` by the environment variable's value. `$$` stands for `$`.
/// The error names the variable, never a value.
pub fn expand_env(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| "unclosed `${` (write `$$` for a literal `$`)".to_string())?;
            let name = &body[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{name}}}` is not an environment variable reference"
                ));
            }
            let value = std::env::var(name)
                .map_err(|_| format!("the environment variable `{name}` is not set (it is referenced as `${{{name}}}`)"))?;
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses a timeslice rule: `compliance >= 0.99`, or a percentile of the
/// SLI against a duration, `p99 <= 300ms` (a bare number is milliseconds).
fn parse_slice(text: &str, percentiles: &[Percentile]) -> Result<SliceRule, String> {
    let usage = "expected `compliance >= RATIO` or `pNN <= DURATION`, like `p99 <= 300ms`";
    let text = text.trim();
    let (metric, op, value) = [
        ("<=", SliceOp::Le),
        (">=", SliceOp::Ge),
        ("<", SliceOp::Lt),
        (">", SliceOp::Gt),
    ]
    .iter()
    .find_map(|&(sym, op)| text.split_once(sym).map(|(m, v)| (m.trim(), op, v.trim())))
    .ok_or_else(|| format!("`{text}`: {usage}"))?;
    if metric == "compliance" {
        let threshold: f64 = super::parse_ratio(value)
            .ok()
            .filter(|t: &f64| (0.0..=1.0).contains(t))
            .ok_or_else(|| {
                format!("`{value}` is not a ratio in 0..1 like 0.99, or a percentage like 99%")
            })?;
        return Ok(SliceRule::Compliance { op, threshold });
    }
    if !metric.starts_with('p') {
        return Err(format!("unknown slice metric `{metric}`; {usage}"));
    }
    let index = percentiles
        .iter()
        .position(|p| p.key == metric)
        .ok_or_else(|| {
            let have: Vec<&str> = percentiles.iter().map(|p| p.key.as_str()).collect();
            format!(
                "`{metric}` is not among the SLI's percentiles ({}); add it to `percentiles`",
                have.join(", ")
            )
        })?;
    let threshold_ms = match value.parse::<f64>() {
        Ok(v) if v >= 0.0 => v,
        _ => humantime::parse_duration(value)
            .map(|d| d.as_secs_f64() * 1e3)
            .map_err(|_| format!("`{value}` is not a duration like `300ms`"))?,
    };
    Ok(SliceRule::Latency {
        index,
        key: metric.to_string(),
        op,
        threshold_ms,
    })
}

/// Where the `n`th character (from 0) of a TOML string's value is in its
/// source `raw`, which starts at the opening quote: the byte offset past
/// the quotes, the newline right after opening triple quotes, and escapes.
/// Past the end of the value: the closing quote.
pub(super) fn toml_string_offset(raw: &str, n: usize) -> usize {
    let (quote, basic) = match raw.as_bytes() {
        [b'"', b'"', b'"', ..] => (3, true),
        [b'\'', b'\'', b'\'', ..] => (3, false),
        [b'"', ..] => (1, true),
        _ => (1, false),
    };
    let mut i = quote;
    if quote == 3 {
        i += [&b"\n"[..], b"\r\n"]
            .iter()
            .find(|nl| raw.as_bytes()[i..].starts_with(nl))
            .map_or(0, |nl| nl.len());
    }
    let mut chars = 0;
    while i < raw.len() {
        let rest = &raw[i..];
        if rest.starts_with(&raw[..quote]) {
            break;
        }
        // One character of the value and its length in the source; a line
        // ending backslash stands for none.
        let (count, len) = match rest.as_bytes() {
            // TOML reads a line break in a multi-line string as `\n`.
            [b'\r', b'\n', ..] if quote == 3 => (1, 2),
            [b'\\', b'u', ..] if basic => (1, 6),
            [b'\\', b'U', ..] if basic => (1, 10),
            [b'\\', c, ..] if basic && c.is_ascii_whitespace() => {
                let skipped = rest[1..].len() - rest[1..].trim_start().len();
                (0, 1 + skipped)
            }
            [b'\\', _, ..] if basic => (1, 2),
            _ => (1, rest.chars().next().map_or(1, char::len_utf8)),
        };
        if count == 1 && chars == n {
            return i;
        }
        chars += count;
        i += len.min(rest.len());
    }
    i
}
