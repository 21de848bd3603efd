//! OpenSLO v1: export each SLI with an objective as an `SLO` document whose
//! indicator's metric source is of type `slipstream` (carrying the `filter`
//! and `good` rules, the latency percentiles, the breakdown fields, the
//! grouping (`groupBy`, `groupLimit`: one definition, one series per value,
//! as Pyrra's `grouping`) and the slice rule), and import such documents back into `[[sli]]` configuration,
//! explaining every part that has no slipstream meaning.
//!
//! Not carried either way: `[sli.alerts]` (OpenSLO's `AlertPolicy` documents
//! express single-window conditions that do not map onto multiwindow
//! burn-rate pairs; an imported objective alerts with the default pairs,
//! scaled to its window), `owner` and `reviewed`.

mod import;

use std::fmt::Write as _;

pub use import::{import, Import};

use crate::config::{BudgetMethod, Config, ObjectiveWindow, SliceRule};

/// An OpenSLO duration (`28d`, `6h`, `5m`, `30s`) for a number of seconds.
fn duration(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The objectives of `config` as OpenSLO v1 `SLO` documents, separated by `---`.
pub fn export(config: &Config, service: &str) -> String {
    let mut out = String::new();
    for sli in &config.slis {
        let Some(o) = &sli.objective else {
            continue;
        };
        if !out.is_empty() {
            out.push_str("---\n");
        }
        let filter = sli.filter.as_ref().map_or("true", |f| f.source());
        let _ = writeln!(
            out,
            "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: {}",
            quoted(&sli.name)
        );
        let _ = writeln!(out, "  displayName: {}", quoted(&sli.name));
        let _ = writeln!(out, "spec:");
        if let Some(d) = &sli.description {
            let _ = writeln!(out, "  description: {}", quoted(d));
        }
        let _ = writeln!(out, "  service: {}", quoted(service));
        let _ = writeln!(
            out,
            "  indicator:\n    metadata:\n      name: {}\n    spec:\n      ratioMetric:\n        counter: true",
            quoted(&format!("{}-indicator", sli.name))
        );
        let _ = writeln!(
            out,
            "        good:\n          metricSource:\n            type: slipstream\n            spec:\n              filter: {}\n              good: {}",
            quoted(filter),
            quoted(sli.good.source())
        );
        let quantiles: Vec<String> = sli
            .percentiles
            .iter()
            .map(|p| (p.numerator as f64 / p.denominator as f64).to_string())
            .collect();
        let _ = writeln!(out, "              percentiles: [{}]", quantiles.join(", "));
        if o.method == BudgetMethod::Timeslices {
            let _ = writeln!(out, "              slice: {}", quoted(&o.slice.to_string()));
        }
        if !sli.breakdown.is_empty() {
            let fields: Vec<String> = sli.breakdown.iter().map(|(f, _)| quoted(f)).collect();
            let _ = writeln!(out, "              breakdown: [{}]", fields.join(", "));
            let _ = writeln!(out, "              breakdownLimit: {}", sli.breakdown_limit);
        }
        if !sli.group_by.is_empty() {
            let fields: Vec<String> = sli.group_by.iter().map(|(f, _)| quoted(f)).collect();
            let _ = writeln!(out, "              groupBy: [{}]", fields.join(", "));
            let _ = writeln!(out, "              groupLimit: {}", sli.group_limit);
        }
        let _ = writeln!(
            out,
            "        total:\n          metricSource:\n            type: slipstream\n            spec:\n              filter: {}",
            quoted(filter)
        );
        let tz = o.timezone.map_or("UTC", |t| t.name());
        match &o.window {
            ObjectiveWindow::Rolling(d) => {
                let _ = writeln!(
                    out,
                    "  timeWindow:\n    - duration: {}\n      isRolling: true",
                    quoted(&duration(d.as_secs()))
                );
            }
            ObjectiveWindow::CalendarMonth | ObjectiveWindow::CalendarWeek => {
                let d = if o.window == ObjectiveWindow::CalendarMonth {
                    "1M"
                } else {
                    "1w"
                };
                let _ = writeln!(
                    out,
                    "  timeWindow:\n    - duration: {d}\n      isRolling: false\n      calendar:\n        startTime: \"2024-01-01 00:00:00\"\n        timeZone: {}",
                    quoted(tz)
                );
            }
        }
        let method = match o.method {
            BudgetMethod::Occurrences => "Occurrences",
            BudgetMethod::Timeslices => "Timeslices",
        };
        let _ = writeln!(out, "  budgetingMethod: {method}");
        let _ = writeln!(
            out,
            "  objectives:\n    - displayName: {}\n      target: {}",
            quoted(&sli.name),
            o.target
        );
        if o.method == BudgetMethod::Timeslices {
            // A percentile rule has no OpenSLO form: the metric source's
            // `slice` carries it.
            if let SliceRule::Compliance { threshold, .. } = &o.slice {
                let _ = writeln!(out, "      timeSliceTarget: {threshold}");
            }
            let _ = writeln!(
                out,
                "      timeSliceWindow: {}",
                quoted(&duration((config.window.size_ns / 1_000_000_000) as u64))
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn exports_one_document_per_objective_with_the_rules() {
        let config =
            Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml")).unwrap();
        let yaml = export(&config, "shop");
        let docs: Vec<&str> = yaml.split("---\n").collect();
        let with_objective = config.slis.iter().filter(|s| s.objective.is_some()).count();
        assert_eq!(docs.len(), with_objective);
        let first = docs[0];
        assert!(
            first.starts_with("apiVersion: openslo/v1\nkind: SLO\n"),
            "{first}"
        );
        assert!(first.contains("name: \"checkout-availability\""));
        assert!(
            first.contains(
                r#"filter: "service == \"checkout\" && http.route =~ \"^/api/checkout\"""#
            ),
            "{first}"
        );
        assert!(first.contains("good: \"status < 500\""));
        assert!(first.contains("duration: \"28d\"\n      isRolling: true"));
        assert!(first.contains("target: 0.999"));
        let calendar = docs
            .iter()
            .find(|d| d.contains("search-availability"))
            .unwrap();
        assert!(
            calendar.contains("duration: 1M\n      isRolling: false"),
            "{calendar}"
        );
        assert!(calendar.contains("timeZone: \"UTC\""));
    }

    /// Everything an objective says, for comparing two configurations.
    fn objectives(config: &Config) -> Vec<String> {
        config
            .slis
            .iter()
            .filter_map(|s| {
                let o = s.objective.as_ref()?;
                let breakdown: Vec<&str> = s.breakdown.iter().map(|(f, _)| f.as_str()).collect();
                let group_by: Vec<&str> = s.group_by.iter().map(|(f, _)| f.as_str()).collect();
                Some(format!(
                    "{} | {:?} | {:?} | {} | {:?} | {:?} {} | {:?} {} | {} | {:?} | {:?} | {:?} | {}",
                    s.name,
                    s.description,
                    s.filter.as_ref().map(|f| f.source()),
                    s.good.source(),
                    s.percentiles,
                    breakdown,
                    s.breakdown_limit,
                    group_by,
                    s.group_limit,
                    o.target,
                    o.window,
                    o.method,
                    o.timezone,
                    o.slice,
                ))
            })
            .collect()
    }

    #[test]
    fn export_then_import_gives_the_same_objectives() {
        let demo =
            Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml")).unwrap();
        let more = Config::parse(
            Path::new("more.toml"),
            r#"
[[sli]]
name = "slices-p99"
description = "p99 under 300 ms in 99% of minutes, \"quoted\"."
filter = 'service == "api" && !(route =~ "^/health")'
good = 'status < 500'
percentiles = [0.5, 0.99, 0.999]
[sli.objective]
target = 0.99
window = "4w"
method = "timeslices"
slice = "p99 <= 300ms"

[[sli]]
name = "slices-compliance"
good = 'status < 500 || status in [429]'
breakdown = ["region", "http.route"]
breakdown_limit = 7
[sli.objective]
target = 0.95
window = "calendar:week"
timezone = "Asia/Tokyo"
method = "timeslices"
slice = "compliance >= 0.995"

[[sli]]
name = "per-route"
filter = 'service == "api"'
good = 'status < 500'
group_by = ["http.route", "region"]
group_limit = 250
[sli.objective]
target = 0.999
window = "28d"

[[sli]]
name = "no-objective"
good = 'status < 500'
"#,
        )
        .unwrap();
        for config in [demo, more] {
            let yaml = export(&config, "shop");
            let imported = import(&yaml).unwrap();
            assert!(imported.notes.is_empty(), "{:?}", imported.notes);
            let back = Config::parse(Path::new("imported.toml"), &imported.toml)
                .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
            assert_eq!(objectives(&back), objectives(&config), "{yaml}");
        }
    }

    #[test]
    fn import_explains_what_it_cannot_map() {
        let yaml = r#"
apiVersion: openslo/v1
kind: SLI
metadata: {name: errors}
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource: {type: slipstream, spec: {filter: 'service == "pay"', bad: 'status >= 500'}}
    total:
      metricSource: {type: slipstream, spec: {filter: 'service == "pay"'}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: pay}
spec:
  indicatorRef: errors
  timeWindow: [{duration: 1w, isRolling: true}]
  budgetingMethod: Occurrences
  alertPolicies: [fast-burn]
  objectives:
    - {name: strict, target: 0.999}
    - {name: loose, targetPercent: 99.9}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: prom}
spec:
  indicator:
    metadata: {name: prom-sli}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(ok[5m]))'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(all[5m]))'}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: monthly-rolling}
spec:
  indicatorRef: errors
  timeWindow: [{duration: 1M, isRolling: true}]
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: ratio-slices}
spec:
  indicatorRef: errors
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: RatioTimeslices
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: pay-strict}
spec:
  indicatorRef: errors
  timeWindow: [{duration: 28d, isRolling: true}]
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: no-window}
spec:
  indicatorRef: errors
  timeWindow: []
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: fast-burn}
spec: {}
---
apiVersion: openslo/v1alpha
kind: SLO
metadata: {name: old}
"#;
        let imported = import(yaml).unwrap();
        assert_eq!(imported.mapped, 2, "{}", imported.toml);
        let config = Config::parse(Path::new("imported.toml"), &imported.toml).unwrap();
        let names: Vec<&str> = config.slis.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["pay-strict", "pay-loose"]);
        assert_eq!(config.slis[0].good.source(), "!(status >= 500)");
        assert_eq!(
            config.slis[0].filter.as_ref().map(|f| f.source()),
            Some(r#"service == "pay""#)
        );
        let o = config.slis[1].objective.as_ref().unwrap();
        assert_eq!(o.target, 0.999, "99.9 percent is exactly 0.999");
        assert_eq!(
            o.window,
            ObjectiveWindow::Rolling(std::time::Duration::from_secs(7 * 86_400))
        );
        let notes = imported.notes.join("\n");
        for expected in [
            "SLO `pay`: its alertPolicies are not mapped",
            "SLO `prom`: not imported: its good metric comes from `Prometheus`",
            "SLO `monthly-rolling`: not imported: its rolling timeWindow `1M` has no fixed length",
            "SLO `ratio-slices`: not imported: budgetingMethod `RatioTimeslices`",
            "AlertPolicy `fast-burn`: not mapped",
            "SLO `old`: skipped, its apiVersion is \"openslo/v1alpha\"",
            "SLO `pay-strict`: not imported: an SLI of that name was imported already",
            "SLO `no-window`: not imported: it has no timeWindow",
        ] {
            assert!(
                notes.contains(expected),
                "missing `{expected}` in:\n{notes}"
            );
        }
        assert_eq!(imported.notes.len(), 8, "{notes}");
    }
}
