//! The summary `slipstream validate` prints of a loaded configuration: each
//! SLI with its filter, good rule, percentiles, objective and the burn-rate
//! alert pairs in effect.

use std::fmt::Write;

use super::{BudgetMethod, Config, ObjectiveWindow};

/// Every SLI of `config`, each after a blank line, as `validate` prints it.
pub fn describe(config: &Config) -> String {
    let mut out = String::new();
    for s in &config.slis {
        out.push('\n');
        line(&mut out, format_args!("SLI {}", s.name));
        if let Some(d) = &s.description {
            line(&mut out, format_args!("  description: {d}"));
        }
        match &s.filter {
            Some(f) => line(&mut out, format_args!("  filter:      {}", f.source())),
            None => line(&mut out, format_args!("  filter:      (every event)")),
        }
        line(&mut out, format_args!("  good:        {}", s.good.source()));
        let ps: Vec<&str> = s.percentiles.iter().map(|p| p.key.as_str()).collect();
        line(&mut out, format_args!("  latency:     {}", ps.join(", ")));
        match &s.objective {
            Some(o) => {
                let tz = match (&o.window, &o.timezone) {
                    (ObjectiveWindow::Rolling(_), _) => String::new(),
                    (_, Some(tz)) => format!(" in {}", tz.name()),
                    (_, None) => " in UTC".to_string(),
                };
                let what = match o.method {
                    BudgetMethod::Occurrences => "of events good".to_string(),
                    BudgetMethod::Timeslices => format!("of windows with {}", o.slice),
                };
                line(
                    &mut out,
                    format_args!(
                        "  objective:   {}% {what} over {}{tz}",
                        o.target * 100.0,
                        o.window_text,
                    ),
                );
                for l in o.alerts.describe(&o.window, &o.window_text) {
                    line(&mut out, format_args!("{l}"));
                }
            }
            None => line(&mut out, format_args!("  objective:   (none)")),
        }
    }
    out
}

fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    // Writing to a String cannot fail.
    let _ = out.write_fmt(args);
    out.push('\n');
}
