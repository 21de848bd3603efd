//! The commands that read history — `report`, `what-if`, `review` and
//! `suggest` — with the arguments they share: where the records come from
//! and which SLIs to consider.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::commands::{load, time_range};
use super::output::{out, outln};
use crate::config::Config;
use crate::report::series::Subject;

/// Where the records of `report` and `what-if` come from: exactly one.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct SourceArgs {
    /// Records as JSON lines (a file sink or `backfill --output`).
    #[arg(long)]
    pub records: Option<PathBuf>,
    /// The PostgreSQL store of a `postgres` sink.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Archived logs, read through the backfill engine.
    #[arg(long, num_args = 1.., value_name = "INPUT")]
    pub logs: Vec<String>,
}

impl SourceArgs {
    /// The records; from PostgreSQL only those of `[from, to)`.
    fn load_range(
        &self,
        config: &Config,
        from_ns: Option<i64>,
        to_ns: Option<i64>,
    ) -> Result<crate::report::Records> {
        use crate::report::Records;
        let records = if let Some(path) = &self.records {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the records {}", path.display()))?;
            Records::from_jsonl(&text)
        } else if let Some(url) = &self.postgres {
            Records::from_postgres(url, from_ns, to_ns)?
        } else {
            Records::from_logs(config, &self.logs)?
        };
        match crate::report::check_source(config, &records) {
            Ok(warnings) => warnings.iter().for_each(|w| eprintln!("warning: {w}")),
            Err(e) => anyhow::bail!(e),
        }
        Ok(records)
    }

    /// Like [`Self::load_range`], but from logs only the window counts, which is
    /// all a replay needs.
    fn load_windows(&self, config: &Config) -> Result<crate::report::Records> {
        if self.logs.is_empty() {
            self.load_range(config, None, None)
        } else {
            crate::report::Records::windows_from_logs(config, &self.logs)
        }
    }
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The configuration file (TOML): which SLIs, in which order.
    #[arg(short, long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Start of the period (RFC 3339) [default: the first record].
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period (RFC 3339, exclusive) [default: the last record].
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: crate::report::Format,
    #[arg(long, value_enum, default_value = "en")]
    pub lang: crate::report::Lang,
    /// The time zone of the report's times (an IANA name, like Asia/Tokyo)
    /// [default: the objective's `timezone`, else UTC]. JSON stays in UTC.
    #[arg(long, value_parser = parse_tz)]
    pub tz: Option<chrono_tz::Tz>,
    /// Write the report here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// An IANA time zone name, for `--tz`.
fn parse_tz(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse().map_err(|_| {
        format!("`{name}` is not a time zone of the IANA database: write a name like Asia/Tokyo, Europe/Berlin or UTC")
    })
}

/// The history `what-if` and `suggest` replay.
#[derive(clap::Args)]
pub struct HistoryArgs {
    /// The configuration file (TOML) with the objectives as they are.
    #[arg(short, long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    /// The SLIs to consider: a grouped SLI's name stands for all its groups, `NAME {field=value}`
    /// for one [default: every SLI with an objective, each group of a grouped one].
    #[arg(long)]
    pub sli: Vec<String>,
}

#[derive(clap::Args)]
pub struct WhatIfArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Other targets, comma-separated, as ratios or percentages: 0.995,0.999 or 99.5%,99.9%.
    #[arg(long, value_delimiter = ',', value_parser = crate::config::parse_ratio)]
    pub target: Vec<f64>,
    /// Other thresholds for the duration in the good rule, comma-separated: 200ms,300ms
    /// (needs --logs: the threshold decides which events are good).
    #[arg(long, value_delimiter = ',')]
    pub threshold: Vec<String>,
}

#[derive(clap::Args)]
pub struct ReviewArgs {
    /// The configuration file (TOML): the SLIs, objectives, owners and review dates.
    #[arg(short, long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    /// How many of the latest objective periods to judge.
    #[arg(long, default_value_t = 3)]
    pub periods: usize,
    /// Today's date (YYYY-MM-DD), for the age of reviews [default: today].
    #[arg(long)]
    pub today: Option<String>,
}

pub fn review(args: &ReviewArgs) -> Result<ExitCode> {
    use crate::report::review;
    let config = load(&args.config)?;
    let today_ns = match &args.today {
        Some(d) => crate::time::parse_rfc3339_str(&format!("{d}T00:00:00Z"))
            .with_context(|| format!("--today {d}: expected a date like 2026-11-28"))?,
        None => crate::time::now_ns(),
    };
    let records = args.source.load_windows(&config)?;
    let flags = review::review(
        &config,
        &records,
        &review::Options {
            periods: args.periods.max(1),
            today_ns,
        },
    )?;
    out!("{}", review::render(&config, &flags));
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct SuggestArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
}

/// The SLIs to replay, as indices into `expanded` (`config` with each
/// grouped SLI's series an SLI of its own): those named on the command line
/// (a grouped SLI's name stands for all its series, a series' name for
/// itself), or every one whose objective window counts can replay.
fn chosen_slis(
    config: &Config,
    expanded: &Config,
    names: &[String],
    path: &Path,
) -> Result<Vec<usize>> {
    use crate::report::series::block_of;
    if names.is_empty() {
        let all: Vec<usize> = (0..expanded.slis.len())
            .filter(|&i| crate::report::whatif::replayable(&expanded.slis[i]))
            .collect();
        if all.is_empty() {
            anyhow::bail!(
                "no SLI in {} has an objective that window counts can replay: add an \
                 [sli.objective] to one, or name an SLI with --sli",
                path.display()
            );
        }
        return Ok(all);
    }
    let mut chosen = Vec::new();
    for name in names {
        let exact = expanded.slis.iter().position(|s| &s.name == name);
        let series: Vec<usize> = match (exact, config.slis.iter().position(|s| &s.name == name)) {
            (Some(i), _) => vec![i],
            (None, Some(block)) => (0..expanded.slis.len())
                .filter(|&i| block_of(config, &expanded.slis[i].name) == Some(block))
                .collect(),
            (None, None) => Vec::new(),
        };
        if let (true, Some(block)) = (series.is_empty(), block_of(config, name)) {
            let groups: Vec<&str> = expanded
                .slis
                .iter()
                .filter(|s| block_of(config, &s.name) == Some(block))
                .map(|s| s.name.as_str())
                .collect();
            anyhow::bail!(
                "--sli {name}: the records hold no such group of {}; they hold {}",
                config.slis[block].name,
                if groups.is_empty() {
                    "none".to_string()
                } else {
                    groups.join(", ")
                }
            );
        }
        if series.is_empty() {
            anyhow::bail!(
                "--sli {name}: no such SLI in {} (a group is named like `sli {{field=value}}`, \
                 as `slipstream report` lists it)",
                path.display()
            );
        }
        chosen.extend(series);
    }
    Ok(chosen)
}

pub fn suggest(args: &SuggestArgs) -> Result<ExitCode> {
    use crate::report::suggest;
    let h = &args.history;
    let text = std::fs::read_to_string(&h.config)
        .with_context(|| format!("cannot read {}", h.config.display()))?;
    let config = load(&h.config)?;
    let records = h.source.load_windows(&config)?;
    let expanded = crate::report::series::expand(&config, &records);
    let chosen = chosen_slis(&config, &expanded, &h.sli, &h.config)?;
    // The raw logs, backfilled once for every SLI's and group's threshold.
    let replayed = match h.source.logs.as_slice() {
        [] => None,
        logs => Some(crate::backfill::process(
            &config,
            &crate::report::data::logs_options(logs),
        )?),
    };
    let logs = replayed.as_ref().map(|o| o.windows.as_slice());
    let list = chosen
        .into_iter()
        .map(|i| {
            let subject = Subject::new(&expanded, i, &config, &text);
            suggest::suggest(&subject, &records, logs)
        })
        .collect::<Result<Vec<_>>>()?;
    out!("{}", suggest::render(&list));
    Ok(ExitCode::SUCCESS)
}

pub fn what_if(args: &WhatIfArgs) -> Result<ExitCode> {
    let h = &args.history;
    let text = std::fs::read_to_string(&h.config)
        .with_context(|| format!("cannot read {}", h.config.display()))?;
    let config = load(&h.config)?;
    for &t in &args.target {
        if !(t > 0.0 && t < 1.0) {
            anyhow::bail!("--target {t}: a target is a ratio strictly between 0 and 1, like 0.999");
        }
    }
    let records = h.source.load_windows(&config)?;
    let expanded = crate::report::series::expand(&config, &records);
    let chosen = chosen_slis(&config, &expanded, &h.sli, &h.config)?;
    let logs = (!h.source.logs.is_empty()).then_some(h.source.logs.as_slice());
    for (n, &i) in chosen.iter().enumerate() {
        let subject = Subject::new(&expanded, i, &config, &text);
        let outcomes = crate::report::whatif::what_if(
            &subject,
            &records,
            &args.target,
            &args.threshold,
            logs,
        )?;
        if n > 0 {
            outln!();
        }
        let sli = subject.sli();
        let latency = crate::report::period_latency(
            sli,
            records.windows.iter().filter(|w| w.sli == sli.name),
        );
        out!(
            "{}",
            crate::report::whatif::render(&sli.name, latency.as_ref(), &outcomes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn report(args: &ReportArgs) -> Result<ExitCode> {
    use crate::report::Report;
    let config = load(&args.config)?;
    let (from_ns, to_ns) = time_range(&args.from, &args.to)?;
    let records = args.source.load_range(&config, from_ns, to_ns)?;
    let report = Report::build_in(&config, records, from_ns, to_ns, args.tz);
    let text = report.render(args.format, args.lang);
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
