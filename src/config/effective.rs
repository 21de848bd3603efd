//! `validate --effective`: the whole configuration as TOML, every default
//! filled in, so a user sees what slipstream will do. Secrets are redacted
//! (librdkafka values of secret keys, the password and query string of a
//! database URL, the path of a webhook URL)
//! and the output is itself a valid configuration.

use std::fmt::Write;
use std::time::Duration;

use super::{is_secret_key, BudgetMethod, Config, DeadLetterConfig, SinkKind, WhenFull};

const REDACTED: &str = "<redacted>";

/// A TOML string literal.
fn s(v: &str) -> String {
    toml::Value::String(v.to_string()).to_string()
}

fn d(v: Duration) -> String {
    s(&humantime::format_duration(v).to_string())
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(", "))
}

/// A URL with its password and query string redacted; a key/value
/// connection string (`host=db password=...`) with its password redacted.
fn url(u: &str) -> String {
    let Some(scheme_end) = u.find("://") else {
        return u
            .split(' ')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}={REDACTED}"),
                _ => kv.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
    };
    let mut out = u.to_string();
    let rest_start = scheme_end + 3;
    // The user information ends at the last `@` before the query: a
    // password may hold a raw `/`.
    let query = out.find('?').unwrap_or(out.len());
    if let Some(at) = out[rest_start..query].rfind('@') {
        let userinfo = &out[rest_start..rest_start + at];
        if let Some(colon) = userinfo.find(':') {
            let from = rest_start + colon + 1;
            out.replace_range(from..rest_start + at, REDACTED);
        }
    }
    if let Some(q) = out.find('?') {
        out.replace_range(q + 1.., REDACTED);
    }
    out
}

/// A webhook URL with its path redacted: a token is often there.
fn webhook_url(u: &str) -> String {
    let after_scheme = u.find("://").map_or(0, |i| i + 3);
    match u[after_scheme..].find('/') {
        Some(i) => format!("{}/{REDACTED}", &u[..after_scheme + i]),
        None => u.to_string(),
    }
}

/// The configuration as TOML with every default written out.
pub fn effective(config: &Config) -> String {
    let mut o = String::new();
    if let Some(k) = &config.source {
        let _ = writeln!(o, "[source.kafka]");
        let _ = writeln!(o, "brokers = {}", s(&k.brokers));
        let _ = writeln!(o, "topics = {}", list(k.topics.iter().map(|t| s(t))));
        let _ = writeln!(o, "group_id = {}", s(&k.group_id));
        let _ = writeln!(o, "[source.kafka.librdkafka]");
        for (key, value) in &k.librdkafka {
            let shown = if is_secret_key(key) { REDACTED } else { value };
            let _ = writeln!(o, "{} = {}", s(key), s(shown));
        }
        o.push('\n');
    }
    if config.s3 != crate::config::S3Settings::default() {
        let s3 = &config.s3;
        let _ = writeln!(o, "[source.s3]");
        for (key, value) in [
            ("endpoint", &s3.endpoint),
            ("region", &s3.region),
            ("profile", &s3.profile),
        ] {
            if let Some(v) = value {
                let _ = writeln!(o, "{key} = {}", s(v));
            }
        }
        let _ = writeln!(o, "max_retries = {}\n", s3.max_retries);
    }
    if config.gcs != crate::config::GcsSettings::default() {
        let gcs = &config.gcs;
        let _ = writeln!(o, "[source.gcs]");
        if let Some(v) = &gcs.endpoint {
            let _ = writeln!(o, "endpoint = {}", s(v));
        }
        let _ = writeln!(o, "max_retries = {}\n", gcs.max_retries);
    }
    if config.azure != crate::config::AzureSettings::default() {
        let az = &config.azure;
        let _ = writeln!(o, "[source.azure]");
        for (key, value) in [("account", &az.account), ("endpoint", &az.endpoint)] {
            if let Some(v) = value {
                let _ = writeln!(o, "{key} = {}", s(v));
            }
        }
        if az.use_emulator {
            let _ = writeln!(o, "use_emulator = true");
        }
        let _ = writeln!(o, "max_retries = {}\n", az.max_retries);
    }
    let dc = &config.decode;
    let _ = writeln!(o, "[decode]");
    let _ = writeln!(o, "format = {}", s(dc.spec.format.name()));
    if let Some(l) = &dc.log_format {
        let _ = writeln!(o, "log_format = {}", s(l));
    }
    if let Some(p) = &dc.pattern {
        let _ = writeln!(o, "pattern = {}", s(p));
    }
    let _ = writeln!(o, "max_event_bytes = {}", dc.max_event_bytes);
    if let Some(tz) = &dc.timezone {
        let _ = writeln!(o, "timezone = {}", s(tz.name()));
    }
    let _ = writeln!(
        o,
        "max_latency = {}",
        d(Duration::from_nanos(dc.max_latency_ns as u64))
    );
    let _ = writeln!(o, "[decode.fields]");
    let _ = writeln!(o, "timestamp = {}", s(&dc.timestamp_field));
    let _ = writeln!(o, "timestamp_format = {}", s(dc.timestamp_format.name()));
    let _ = writeln!(o, "status = {}", s(&dc.status_field));
    let _ = writeln!(o, "latency = {}", s(&dc.latency_field));
    let _ = writeln!(o, "latency_unit = {}\n", s(dc.latency_unit.name()));
    let w = &config.window;
    let _ = writeln!(o, "[window]");
    let _ = writeln!(o, "size = {}", d(Duration::from_nanos(w.size_ns as u64)));
    let _ = writeln!(o, "max_out_of_orderness = {}", d(w.max_out_of_orderness));
    let _ = writeln!(o, "allowed_lateness = {}", d(w.allowed_lateness));
    let _ = writeln!(o, "idle_timeout = {}\n", d(w.idle_timeout));
    for sli in &config.slis {
        let _ = writeln!(o, "[[sli]]");
        let _ = writeln!(o, "name = {}", s(&sli.name));
        for (key, v) in [
            ("description", &sli.description),
            ("owner", &sli.owner),
            ("reviewed", &sli.reviewed),
        ] {
            if let Some(v) = v {
                let _ = writeln!(o, "{key} = {}", s(v));
            }
        }
        if let Some(f) = &sli.filter {
            let _ = writeln!(o, "filter = {}", s(f.source()));
        }
        let _ = writeln!(o, "good = {}", s(sli.good.source()));
        let ps = sli.percentiles.iter().map(|p| {
            // The shortest decimal that reads back as the same fraction.
            format!("{:?}", p.numerator as f64 / p.denominator as f64)
        });
        let _ = writeln!(o, "percentiles = {}", list(ps));
        let _ = writeln!(
            o,
            "breakdown = {}",
            list(sli.breakdown.iter().map(|(path, _)| s(path)))
        );
        let _ = writeln!(o, "breakdown_limit = {}", sli.breakdown_limit);
        if !sli.group_by.is_empty() {
            let _ = writeln!(
                o,
                "group_by = {}",
                list(sli.group_by.iter().map(|(path, _)| s(path)))
            );
            let _ = writeln!(o, "group_limit = {}", sli.group_limit);
        }
        if let Some(obj) = &sli.objective {
            let _ = writeln!(o, "[sli.objective]");
            let _ = writeln!(o, "target = {}", obj.target);
            let _ = writeln!(o, "window = {}", s(&obj.window_text));
            let method = match obj.method {
                BudgetMethod::Occurrences => "occurrences",
                BudgetMethod::Timeslices => "timeslices",
            };
            let _ = writeln!(o, "method = {}", s(method));
            if let Some(tz) = &obj.timezone {
                let _ = writeln!(o, "timezone = {}", s(tz.name()));
            }
            if obj.method == BudgetMethod::Timeslices {
                let _ = writeln!(o, "slice = {}", s(&obj.slice.to_string()));
            }
            let alerts = &obj.alerts;
            let _ = writeln!(o, "[sli.alerts]");
            let _ = writeln!(o, "min_events = {}", alerts.min_events);
            if alerts.custom {
                for p in &alerts.pairs {
                    let _ = writeln!(o, "[[sli.alerts.pairs]]");
                    let _ = writeln!(o, "severity = {}", s(p.severity.name()));
                    let secs = |n: i64| d(Duration::from_secs(n.max(0) as u64));
                    let _ = writeln!(o, "long_window = {}", secs(p.long_secs));
                    let _ = writeln!(o, "short_window = {}", secs(p.short_secs));
                    let _ = writeln!(o, "burn_rate = {}", p.burn_rate);
                }
            } else {
                // Written out, the scaled pairs would be taken as written
                // and no longer follow the objective: `validate` lists them.
                let _ = writeln!(
                    o,
                    "# pairs: the Workbook's, windows scaled to the objective (see `slipstream validate`)"
                );
            }
        }
        o.push('\n');
    }
    for sink in &config.sinks {
        let _ = writeln!(o, "[[sink]]");
        let (kind, key, value) = match &sink.kind {
            SinkKind::File { path } => ("file", "path", s(&path.display().to_string())),
            SinkKind::Kafka { topic } => ("kafka", "topic", s(topic)),
            SinkKind::Postgres { url: u } => ("postgres", "url", s(&url(u))),
            SinkKind::Webhook { url: u, .. } => ("webhook", "url", s(&webhook_url(u))),
        };
        let _ = writeln!(o, "type = \"{kind}\"");
        let _ = writeln!(o, "{key} = {value}");
        if let SinkKind::Webhook { timeout, .. } = &sink.kind {
            let _ = writeln!(o, "timeout = {}", d(*timeout));
        }
        let r = sink.records;
        let kinds = [("window", r.window), ("slo", r.slo), ("alert", r.alert)]
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(k, _)| s(k));
        let _ = writeln!(o, "records = {}", list(kinds));
        let b = &sink.buffer;
        let _ = match (b.when_full, &b.disk) {
            (WhenFull::Block, _) => writeln!(o, "buffer = {{ when_full = \"block\" }}\n"),
            (WhenFull::DropNewest, None) => writeln!(
                o,
                "buffer = {{ when_full = \"drop_newest\", max_records = {} }}\n",
                b.max_records
            ),
            (WhenFull::DropNewest, Some(path)) => writeln!(
                o,
                "buffer = {{ when_full = \"drop_newest\", max_records = {}, type = \"disk\", path = {} }}\n",
                b.max_records,
                s(&path.display().to_string())
            ),
        };
    }
    if let Some(dl) = &config.dead_letter {
        let _ = writeln!(o, "[dead_letter]");
        match dl {
            DeadLetterConfig::Kafka { topic } => {
                let _ = writeln!(o, "type = \"kafka\"\ntopic = {}", s(topic));
            }
            DeadLetterConfig::File { path } => {
                let _ = writeln!(
                    o,
                    "type = \"file\"\npath = {}",
                    s(&path.display().to_string())
                );
            }
        }
        o.push('\n');
    }
    let _ = writeln!(o, "[http]\nlisten = {}", s(&config.http.listen));
    o
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn passwords_never_show_in_any_form_of_connection_string() {
        for (given, secret) in [
            (
                "postgres://slip:pg-secret@db:5432/slo?sslmode=require",
                "pg-secret",
            ),
            ("postgres://slip:pa/ss-secret@db/slo", "ss-secret"),
            (
                "host=db user=slip password=kv-secret dbname=slo",
                "kv-secret",
            ),
            ("postgres://db/slo?password=q-secret", "q-secret"),
        ] {
            let shown = url(given);
            assert!(!shown.contains(secret), "{given} -> {shown}");
            assert!(shown.contains("db"), "{given} -> {shown}");
        }
    }
}
