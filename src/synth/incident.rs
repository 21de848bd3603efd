//! Incidents: the `--incident` spec, parsed and checked once into an
//! [`Incident`] that cannot hold an invalid value.
//!
//! A spec is a comma-separated list of `key=value`:
//!
//! | key | kinds | value |
//! |---|---|---|
//! | `kind` | all, required | `errors` or `latency` |
//! | `start` | all, required | an offset from the generator's start (`10m`, humantime) or an RFC 3339 time |
//! | `duration` | all, required | a positive humantime duration (`5m`) |
//! | `rate` | `errors`, required | probability in 0..=1 that a matching request fails with a 5xx |
//! | `factor` | `latency`, required | positive multiplier of matching requests' latency |
//! | `service` | all, optional | only requests of this service |
//! | `route` | all, optional | only requests of this route (within `service` when both are given) |

use std::str::FromStr;
use std::time::Duration;

use anyhow::{anyhow, bail};

use super::catalog::{self, SERVICES};
use crate::time::parse_rfc3339_str;

/// What an incident does to the requests it matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IncidentKind {
    /// Requests fail with a 5xx with probability `rate`.
    Errors { rate: f64 },
    /// Latency is multiplied by `factor`.
    Latency { factor: f64 },
}

/// When an incident starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentStart {
    /// This long after the generator's start.
    Offset(Duration),
    /// At this absolute time, in nanoseconds since the Unix epoch.
    At(i64),
}

/// A validated incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    spec: String,
    kind: IncidentKind,
    start: IncidentStart,
    duration: Duration,
    service: Option<&'static str>,
    route: Option<&'static str>,
}

const KEYS: &str = "`kind`, `start`, `duration`, `rate`, `factor`, `service`, `route`";

impl Incident {
    /// The spec this incident was parsed from.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    pub fn kind(&self) -> IncidentKind {
        self.kind
    }

    pub fn start(&self) -> IncidentStart {
        self.start
    }

    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The service the incident is limited to, if any.
    pub fn service(&self) -> Option<&'static str> {
        self.service
    }

    /// The route the incident is limited to, if any.
    pub fn route(&self) -> Option<&'static str> {
        self.route
    }

    /// The incident's interval `[from, to)` in nanoseconds since the epoch,
    /// for a generator that starts at `gen_start_ns`.
    pub fn interval(&self, gen_start_ns: i64) -> (i64, i64) {
        let from = match self.start {
            IncidentStart::Offset(d) => gen_start_ns.saturating_add(duration_ns(d)),
            IncidentStart::At(ns) => ns,
        };
        (from, from.saturating_add(duration_ns(self.duration)))
    }

    /// Whether a request to `path` of service number `service` is affected.
    pub(super) fn matches(&self, service: usize, path: &str) -> bool {
        self.service.is_none_or(|s| SERVICES[service].name == s)
            && self.route.is_none_or(|r| r == path)
    }
}

fn duration_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl FromStr for Incident {
    type Err = anyhow::Error;

    fn from_str(spec: &str) -> anyhow::Result<Self> {
        parse(spec).map_err(|e| anyhow!("incident `{spec}`: {e}"))
    }
}

/// The key=value pairs of a spec, each key at most once.
#[derive(Default)]
struct Raw<'a> {
    kind: Option<&'a str>,
    start: Option<&'a str>,
    duration: Option<&'a str>,
    rate: Option<&'a str>,
    factor: Option<&'a str>,
    service: Option<&'a str>,
    route: Option<&'a str>,
}

fn split(spec: &str) -> anyhow::Result<Raw<'_>> {
    let mut raw = Raw::default();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((key, value)) = item.split_once('=') else {
            bail!("`{item}` is not key=value");
        };
        let (key, value) = (key.trim(), value.trim());
        let slot = match key {
            "kind" => &mut raw.kind,
            "start" => &mut raw.start,
            "duration" => &mut raw.duration,
            "rate" => &mut raw.rate,
            "factor" => &mut raw.factor,
            "service" => &mut raw.service,
            "route" => &mut raw.route,
            _ => bail!("unknown key `{key}`, expected one of {KEYS}"),
        };
        if slot.is_some() {
            bail!("key `{key}` is given twice");
        }
        if value.is_empty() {
            bail!("key `{key}` has no value");
        }
        *slot = Some(value);
    }
    Ok(raw)
}

fn parse(spec: &str) -> anyhow::Result<Incident> {
    let raw = split(spec)?;
    let kind_name = raw
        .kind
        .ok_or_else(|| anyhow!("missing key `kind`, expected `kind=errors` or `kind=latency`"))?;
    let kind = match kind_name {
        "errors" => {
            if raw.factor.is_some() {
                bail!("key `factor` applies to kind=latency only; kind=errors takes `rate`");
            }
            let v = raw.rate.ok_or_else(|| {
                anyhow!(
                    "missing key `rate`, expected the 5xx probability in 0..1 (e.g. `rate=0.3`)"
                )
            })?;
            let rate = v.parse::<f64>().ok().filter(|r| (0.0..=1.0).contains(r));
            let rate = rate.ok_or_else(|| {
                anyhow!("key `rate`: expected a probability between 0 and 1, got `{v}`")
            })?;
            IncidentKind::Errors { rate }
        }
        "latency" => {
            if raw.rate.is_some() {
                bail!("key `rate` applies to kind=errors only; kind=latency takes `factor`");
            }
            let v = raw.factor.ok_or_else(|| {
                anyhow!("missing key `factor`, expected the latency multiplier (e.g. `factor=5`)")
            })?;
            let factor = v.parse::<f64>().ok().filter(|f| f.is_finite() && *f > 0.0);
            let factor = factor
                .ok_or_else(|| anyhow!("key `factor`: expected a positive number, got `{v}`"))?;
            IncidentKind::Latency { factor }
        }
        other => bail!("unknown kind `{other}`, expected `errors` or `latency`"),
    };
    let start = parse_start(raw.start)?;
    let duration = parse_duration(raw.duration)?;
    let service = match raw.service {
        None => None,
        Some(name) => {
            let i = catalog::service_index(name).ok_or_else(|| {
                let known: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
                anyhow!(
                    "key `service`: unknown service `{name}`, expected one of {}",
                    known.join(", ")
                )
            })?;
            Some(i)
        }
    };
    let route = raw
        .route
        .map(|path| find_route(path, service))
        .transpose()?;
    Ok(Incident {
        spec: spec.to_string(),
        kind,
        start,
        duration,
        service: service.map(|i| SERVICES[i].name),
        route,
    })
}

fn parse_start(value: Option<&str>) -> anyhow::Result<IncidentStart> {
    let v = value.ok_or_else(|| {
        anyhow!("missing key `start`, expected an offset such as `10m` or an RFC 3339 time")
    })?;
    if let Some(ns) = parse_rfc3339_str(v) {
        return Ok(IncidentStart::At(ns));
    }
    humantime::parse_duration(v)
        .map(IncidentStart::Offset)
        .map_err(|_| {
            anyhow!(
                "key `start`: expected an offset from the generator start such as `10m` \
             or an RFC 3339 time such as `2026-01-01T01:00:00Z`, got `{v}`"
            )
        })
}

fn parse_duration(value: Option<&str>) -> anyhow::Result<Duration> {
    let v =
        value.ok_or_else(|| anyhow!("missing key `duration`, expected a duration such as `5m`"))?;
    match humantime::parse_duration(v) {
        Ok(d) if !d.is_zero() && d.as_nanos() < i64::MAX as u128 => Ok(d),
        _ => bail!("key `duration`: expected a positive duration such as `5m`, got `{v}`"),
    }
}

fn find_route(path: &str, service: Option<usize>) -> anyhow::Result<&'static str> {
    let candidates: Vec<&'static str> = SERVICES
        .iter()
        .enumerate()
        .filter(|(i, _)| service.is_none_or(|s| s == *i))
        .flat_map(|(_, s)| s.routes.iter().map(|r| r.path))
        .collect();
    if let Some(found) = candidates.iter().find(|p| **p == path) {
        return Ok(found);
    }
    let mut known = candidates;
    known.dedup();
    match service {
        Some(s) => bail!(
            "key `route`: service `{}` has no route `{path}`, expected one of {}",
            SERVICES[s].name,
            known.join(", ")
        ),
        None => bail!(
            "key `route`: unknown route `{path}`, expected one of {}",
            known.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(spec: &str) -> String {
        match spec.parse::<Incident>() {
            Ok(i) => panic!("`{spec}` parsed as {i:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_both_kinds_and_both_start_forms() {
        let i: Incident =
            "kind=errors,start=10m,duration=5m,rate=0.3,service=checkout,route=/api/checkout"
                .parse()
                .unwrap();
        assert_eq!(i.kind(), IncidentKind::Errors { rate: 0.3 });
        assert_eq!(i.start(), IncidentStart::Offset(Duration::from_secs(600)));
        assert_eq!(i.duration(), Duration::from_secs(300));
        assert_eq!(
            (i.service(), i.route()),
            (Some("checkout"), Some("/api/checkout"))
        );
        assert_eq!(
            i.interval(1_000),
            (1_000 + 600_000_000_000, 1_000 + 900_000_000_000)
        );

        let i: Incident = " kind=latency , start=2026-01-01T01:00:00Z, duration=10m, factor=5 "
            .parse()
            .unwrap();
        assert_eq!(i.kind(), IncidentKind::Latency { factor: 5.0 });
        // 2026-01-01T00:00:00Z is 1_767_225_600 s after the epoch (`date -d ... +%s`).
        let at = (1_767_225_600 + 3600) * 1_000_000_000;
        assert_eq!(i.interval(0), (at, at + 600_000_000_000));
        assert_eq!((i.service(), i.route()), (None, None));
        assert!(i.matches(0, "/api/search"));

        let i: Incident = "route=/api/search,kind=errors,rate=1,start=0s,duration=1s"
            .parse()
            .unwrap();
        assert!(i.matches(0, "/api/search"));
        assert!(!i.matches(0, "/api/search/suggest"));
    }

    #[test]
    fn errors_name_the_key_and_what_is_expected() {
        let e = err("kind=boom,start=1m,duration=1m");
        assert_eq!(
            e,
            "incident `kind=boom,start=1m,duration=1m`: unknown kind `boom`, expected `errors` or `latency`"
        );
        let cases = [
            ("start=1m,duration=1m,rate=0.1", "missing key `kind`"),
            ("kind=errors,duration=1m,rate=0.1", "missing key `start`"),
            ("kind=errors,start=1m,rate=0.1", "missing key `duration`"),
            ("kind=errors,start=1m,duration=1m", "missing key `rate`"),
            ("kind=latency,start=1m,duration=1m", "missing key `factor`"),
            ("kind=errors,start=1m,duration=1m,rate=1.5", "key `rate`: expected a probability between 0 and 1, got `1.5`"),
            ("kind=errors,start=1m,duration=1m,rate=x", "key `rate`: expected a probability"),
            ("kind=latency,start=1m,duration=1m,factor=0", "key `factor`: expected a positive number, got `0`"),
            ("kind=latency,start=1m,duration=1m,factor=-2", "key `factor`: expected a positive number"),
            ("kind=latency,start=1m,duration=1m,factor=2,rate=0.1", "key `rate` applies to kind=errors only"),
            ("kind=errors,start=1m,duration=1m,rate=0.1,factor=2", "key `factor` applies to kind=latency only"),
            ("kind=errors,start=soon,duration=1m,rate=0.1", "key `start`: expected an offset"),
            ("kind=errors,start=1m,duration=0s,rate=0.1", "key `duration`: expected a positive duration"),
            ("kind=errors,start=1m,duration=forever,rate=0.1", "key `duration`: expected a positive duration"),
            ("kind=errors,start=1m,duration=1m,rate=0.1,color=red", "unknown key `color`, expected one of"),
            ("kind=errors,kind=latency", "key `kind` is given twice"),
            ("kind=errors,start", "`start` is not key=value"),
            ("kind=errors,start=", "key `start` has no value"),
            ("kind=errors,start=1m,duration=1m,rate=0.1,service=billing", "key `service`: unknown service `billing`, expected one of search"),
            ("kind=errors,start=1m,duration=1m,rate=0.1,route=/nope", "key `route`: unknown route `/nope`"),
            (
                "kind=errors,start=1m,duration=1m,rate=0.1,service=search,route=/api/checkout",
                "key `route`: service `search` has no route `/api/checkout`, expected one of /api/search,",
            ),
        ];
        for (spec, want) in cases {
            let e = err(spec);
            assert!(e.starts_with(&format!("incident `{spec}`: ")), "{e}");
            assert!(e.contains(want), "`{spec}`: got {e:?}, want {want:?}");
        }
    }
}
