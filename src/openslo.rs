//! OpenSLO v1 export: each SLI with an objective as an `SLO` document whose
//! indicator's metric source is of type `slipstream`, carrying the `filter`
//! and `good` rules, so other OpenSLO tools can list slipstream's objectives.

use std::fmt::Write as _;

use crate::config::{BudgetMethod, Config, ObjectiveWindow};

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
        let _ = writeln!(
            out,
            "        total:\n          metricSource:\n            type: slipstream\n            spec:\n              filter: {}",
            quoted(filter)
        );
        let tz = o.timezone.map_or("UTC", |t| t.name());
        match &o.window {
            ObjectiveWindow::Rolling(_) => {
                let _ = writeln!(
                    out,
                    "  timeWindow:\n    - duration: {}\n      isRolling: true",
                    quoted(&o.window_text)
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
            let _ = writeln!(
                out,
                "      timeSliceTarget: {}\n      timeSliceWindow: {}",
                o.target,
                quoted(&format!("{}s", config.window.size_ns / 1_000_000_000))
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
}
