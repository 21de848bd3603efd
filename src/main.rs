//! The `slipstream` command line: parses arguments, loads the configuration
//! and runs one command. All the work lives in the library.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use slipstream::backfill;
use slipstream::config::{BudgetMethod, Config, ObjectiveWindow};
use slipstream::devbroker::DevBrokerArgs;
use slipstream::synth::{self, GenArgs};
use slipstream::time::parse_rfc3339_str;

/// `print!` that ends the command quietly when stdout's reader has gone
/// (`slipstream validate | head -1`), as other Unix tools do, instead of
/// a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        write_stdout(format_args!($($arg)*))
    };
}

/// `println!`, ending quietly as [`out!`] does.
macro_rules! outln {
    () => {
        out!("\n")
    };
    ($($arg:tt)*) => {
        out!("{}\n", format_args!($($arg)*))
    };
}

fn write_stdout(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// For the commands whose only output is stdout: output cut short by its
/// reader (`slipstream gen --out - | head`) is no error.
fn quiet_on_broken_pipe(e: anyhow::Error) -> Result<ExitCode> {
    let broken = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(e)
    }
}

/// Exact SLI and SLO numbers from request logs, live from Kafka or from archives.
#[derive(Parser)]
#[command(name = "slipstream", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute window records from archived logs (files, directories, `-` for stdin).
    ///
    /// Exit status: 0 when done; 1 for a usage or configuration error; 2 when some input
    /// could not be read (the rest was processed); 3 with --strict when the summary warns of a
    /// wrong setup.
    ///
    /// Example: slipstream backfill -c config/demo.toml --output out/windows.jsonl logs/
    Backfill(BackfillArgs),
    /// Check a configuration file and print each SLI.
    ///
    /// Example: slipstream validate -c config/demo.toml
    Validate {
        /// The configuration file (TOML).
        #[arg(short, long)]
        config: PathBuf,
        /// Print the whole configuration as TOML with every default filled in (secrets
        /// redacted) instead of the summary; the output is itself a valid configuration.
        #[arg(long)]
        effective: bool,
    },
    /// Show how the first lines of an input decode and how every SLI judges them: the time
    /// in UTC, status, latency and the fields the rules read, then per SLI whether the filter
    /// matched and why the event is good, bad or invalid. The first thing to run on your logs.
    ///
    /// Example: slipstream explain -c config/demo.toml --lines 5 /var/log/nginx/access.log
    Explain {
        /// The configuration file (TOML).
        #[arg(short, long)]
        config: PathBuf,
        /// How many lines to explain (blank lines are skipped and not counted).
        #[arg(long, default_value_t = 10)]
        lines: usize,
        /// A file (gzip and zstd are read too) or `-` for stdin.
        input: String,
    },
    /// The stream job: consume request logs from Kafka and write records to the sinks.
    ///
    /// Example: slipstream run -c config/local.toml
    Run {
        /// The configuration file (TOML).
        #[arg(short, long)]
        config: PathBuf,
        /// Log format on stderr.
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
        /// The part of the work this instance does: `all` in one process;
        /// `ingest` (source partitions to partial windows on the topic
        /// `<group_id>-partials`) and `rollup` (partial windows to records)
        /// to scale out over many instances.
        #[arg(long, value_enum, default_value = "all")]
        role: RoleArg,
    },
    /// The stream job on an embedded broker with synthetic traffic, shown live.
    ///
    /// Example: slipstream demo --duration 3m
    Demo(slipstream::demo::DemoArgs),
    /// OpenSLO v1 documents for the objectives.
    ///
    /// Example: slipstream openslo export -c config/demo.toml --service shop > slos.yaml
    Openslo {
        #[command(subcommand)]
        command: OpensloCommand,
    },
    /// An embedded Kafka-protocol broker for development and tests.
    ///
    /// Example: slipstream dev-broker --topic request-logs --partitions 4
    DevBroker(DevBrokerArgs),
    /// A report every role reads the same way: per SLO a headline sentence, the error budget
    /// left, compliance per day, charts (HTML), the incidents and a glossary.
    ///
    /// Example: slipstream report -c config/demo.toml --records out/records.jsonl --format html --lang ja --out report.html
    Report(ReportArgs),
    /// Replay history under other targets and latency thresholds: per option, the objective's
    /// periods met, budget exhaustions, and the pages and tickets that would have fired.
    ///
    /// Example: slipstream what-if -c config/demo.toml --logs logs/ --sli checkout-latency --target 0.995,0.999 --threshold 200ms,500ms
    WhatIf(WhatIfArgs),
    /// Check the last periods of every SLO for the patterns that sink SLO programs — every
    /// event invalid, never at risk, repeatedly missed, threshold below typical latency, low
    /// traffic, noisy alerts, blind spots, no owner, no or stale review — each with evidence
    /// and a next step.
    ///
    /// Example: slipstream review -c config/demo.toml --records out/records.jsonl --periods 3
    Review(ReviewArgs),
    /// Propose a target for every SLO (and, from --logs, a latency threshold for rules like
    /// `latency <= 300ms`) from what users actually got, with the reasoning: headroom, and how
    /// often it would have paged.
    ///
    /// Example: slipstream suggest -c config/demo.toml --logs logs/
    Suggest(SuggestArgs),
    /// Ask an HTTP endpoint (`/readyz`, `/healthz`) and exit 0 on a 2xx answer within 5 s, 1
    /// otherwise (a redirect is not followed): a health check for images without curl.
    ///
    /// Example: slipstream probe http://127.0.0.1:9898/readyz
    Probe {
        /// An `http://host:port/path` URL.
        url: String,
    },
    /// Generate synthetic request logs, deterministic for a seed.
    ///
    /// Example: slipstream gen --count 100000 --incident kind=errors,start=10m,duration=5m,rate=0.3,service=checkout --out logs.jsonl
    Gen(GenArgs),
}

#[derive(Subcommand)]
enum OpensloCommand {
    /// Write every objective as an OpenSLO v1 `SLO` document (YAML on stdout).
    Export {
        /// The configuration file (TOML).
        #[arg(short, long)]
        config: PathBuf,
        /// The OpenSLO `service` the objectives belong to.
        #[arg(long, default_value = "slipstream")]
        service: String,
    },
    /// Turn OpenSLO v1 `SLO` documents whose indicator uses `slipstream` metric sources
    /// into `[[sli]]` configuration (TOML on stdout); what cannot be mapped is explained on
    /// stderr. Exits 1 when nothing could be mapped.
    ///
    /// Example: slipstream openslo import slos.yaml >> slipstream.toml
    Import {
        /// The OpenSLO YAML file (`-` for stdin).
        file: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct BackfillArgs {
    /// The configuration file (TOML).
    #[arg(short, long)]
    config: PathBuf,
    /// Keep only events at or after this time (RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Keep only events before this time (RFC 3339).
    #[arg(long)]
    to: Option<String>,
    /// Write JSONL records to this file (replacing it) instead of the configured sinks.
    /// Records are staged beside their target and put in place at the end (appended to a
    /// file sink, renamed over --output, through symlinks): a failed or interrupted run, or
    /// one that could read no input, leaves them as they were. Ctrl-C exits 130; SIGTERM exits 0, saying so.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Never draw the progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Read plain files with read(2) instead of mapping them into memory:
    /// for files that may be truncated while backfill reads them.
    #[arg(long)]
    no_mmap: bool,
    /// Exit with status 3 when the summary warns of a wrong setup: an SLI that matched no
    /// event, more than 1% of an SLI's events invalid, a field the rules name that never
    /// appeared, most lines rejected, or nothing read. (Status 2, an input that could not
    /// be read, comes first.)
    #[arg(long)]
    strict: bool,
    /// Log files or directories (searched recursively); `-` reads stdin. gzip and zstd are detected.
    #[arg(required = true)]
    inputs: Vec<String>,
}

fn main() -> ExitCode {
    // A usage error exits 1, as a configuration error does; 2 is kept for
    // inputs that could not be read.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate { config, effective } if effective => {
            out!("{}", slipstream::config::effective(&load(&config)?));
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { config, .. } => validate(&config),
        Command::Explain {
            config,
            lines,
            input,
        } => explain(&config, lines, &input).or_else(quiet_on_broken_pipe),
        Command::Backfill(args) => run_backfill(args),
        Command::Run {
            config,
            log_format,
            role,
        } => run_job(&config, log_format, role),
        Command::Demo(args) => {
            // Warnings only: the demo's terminal view is the output.
            init_logs(LogFormat::Text, "warn");
            slipstream::demo::run(&args, shutdown_flag()?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Openslo {
            command: OpensloCommand::Export { config, service },
        } => {
            out!("{}", slipstream::openslo::export(&load(&config)?, &service));
            Ok(ExitCode::SUCCESS)
        }
        Command::Openslo {
            command: OpensloCommand::Import { file },
        } => {
            let yaml = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            let imported = slipstream::openslo::import(&yaml)
                .map_err(|e| anyhow::anyhow!("{}: not OpenSLO YAML: {e}", file.display()))?;
            out!("{}", imported.toml);
            for note in &imported.notes {
                eprintln!("note: {note}");
            }
            eprintln!(
                "{} SLI(s) imported, {} note(s)",
                imported.mapped,
                imported.notes.len()
            );
            Ok(if imported.mapped == 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::DevBroker(args) => {
            init_logs(LogFormat::Text, "info");
            slipstream::devbroker::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => report(&args),
        Command::WhatIf(args) => what_if(&args),
        Command::Review(args) => review(&args),
        Command::Suggest(args) => suggest(&args),
        Command::Probe { url } => {
            let endpoint = slipstream::sinks::webhook::Endpoint::parse(&url)
                .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
            let (code, status) = endpoint.request("GET", b"")?;
            outln!("{status}");
            Ok(if (200..300).contains(&code) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Gen(args) => synth::run(&args)
            .map(|_| ExitCode::SUCCESS)
            .or_else(quiet_on_broken_pipe),
    }
}

/// Where the records of `report` and `what-if` come from: exactly one.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct SourceArgs {
    /// Records as JSON lines (a file sink or `backfill --output`).
    #[arg(long)]
    records: Option<PathBuf>,
    /// The PostgreSQL store of a `postgres` sink.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Archived logs, read through the backfill engine.
    #[arg(long, num_args = 1.., value_name = "INPUT")]
    logs: Vec<String>,
}

impl SourceArgs {
    /// The records; from PostgreSQL only those of `[from, to)`.
    fn load_range(
        &self,
        config: &Config,
        from_ns: Option<i64>,
        to_ns: Option<i64>,
    ) -> Result<slipstream::report::Records> {
        use slipstream::report::Records;
        let records = if let Some(path) = &self.records {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the records {}", path.display()))?;
            Records::from_jsonl(&text)
        } else if let Some(url) = &self.postgres {
            Records::from_postgres(url, from_ns, to_ns)?
        } else {
            Records::from_logs(config, &self.logs)?
        };
        match slipstream::report::check_source(config, &records) {
            Ok(warnings) => warnings.iter().for_each(|w| eprintln!("warning: {w}")),
            Err(e) => anyhow::bail!(e),
        }
        Ok(records)
    }

    /// Like [`Self::load`], but from logs only the window counts, which is
    /// all a replay needs.
    fn load_windows(&self, config: &Config) -> Result<slipstream::report::Records> {
        if self.logs.is_empty() {
            self.load_range(config, None, None)
        } else {
            slipstream::report::Records::windows_from_logs(config, &self.logs)
        }
    }
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The configuration file (TOML): which SLIs, in which order.
    #[arg(short, long)]
    config: PathBuf,
    #[command(flatten)]
    source: SourceArgs,
    /// Start of the period (RFC 3339) [default: the first record].
    #[arg(long)]
    from: Option<String>,
    /// End of the period (RFC 3339, exclusive) [default: the last record].
    #[arg(long)]
    to: Option<String>,
    #[arg(long, value_enum, default_value = "md")]
    format: slipstream::report::Format,
    #[arg(long, value_enum, default_value = "en")]
    lang: slipstream::report::Lang,
    /// Write the report here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The history `what-if` and `suggest` replay.
#[derive(clap::Args)]
struct HistoryArgs {
    /// The configuration file (TOML) with the objectives as they are.
    #[arg(short, long)]
    config: PathBuf,
    #[command(flatten)]
    source: SourceArgs,
    /// The SLIs to consider [default: every SLI with an objective].
    #[arg(long)]
    sli: Vec<String>,
}

#[derive(clap::Args)]
struct WhatIfArgs {
    #[command(flatten)]
    history: HistoryArgs,
    /// Other targets, comma-separated, as ratios or percentages: 0.995,0.999 or 99.5%,99.9%.
    #[arg(long, value_delimiter = ',', value_parser = slipstream::config::parse_ratio)]
    target: Vec<f64>,
    /// Other thresholds for the duration in the good rule, comma-separated: 200ms,300ms
    /// (needs --logs: the threshold decides which events are good).
    #[arg(long, value_delimiter = ',')]
    threshold: Vec<String>,
}

#[derive(clap::Args)]
struct ReviewArgs {
    /// The configuration file (TOML): the SLIs, objectives, owners and review dates.
    #[arg(short, long)]
    config: PathBuf,
    #[command(flatten)]
    source: SourceArgs,
    /// How many of the latest objective periods to judge.
    #[arg(long, default_value_t = 3)]
    periods: usize,
    /// Today's date (YYYY-MM-DD), for the age of reviews [default: today].
    #[arg(long)]
    today: Option<String>,
}

fn review(args: &ReviewArgs) -> Result<ExitCode> {
    use slipstream::report::review;
    let config = load(&args.config)?;
    let today_ns = match &args.today {
        Some(d) => slipstream::time::parse_rfc3339_str(&format!("{d}T00:00:00Z"))
            .with_context(|| format!("--today {d}: expected a date like 2026-11-28"))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64),
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
struct SuggestArgs {
    #[command(flatten)]
    history: HistoryArgs,
}

/// The SLIs named on the command line, or every SLI whose objective can be
/// replayed from window counts.
fn chosen_slis(config: &Config, names: &[String], path: &Path) -> Result<Vec<usize>> {
    if names.is_empty() {
        return Ok((0..config.slis.len())
            .filter(|&i| slipstream::report::whatif::replayable(&config.slis[i]))
            .collect());
    }
    names
        .iter()
        .map(|name| {
            config
                .slis
                .iter()
                .position(|s| &s.name == name)
                .with_context(|| format!("--sli {name}: no such SLI in {}", path.display()))
        })
        .collect()
}

fn suggest(args: &SuggestArgs) -> Result<ExitCode> {
    use slipstream::report::suggest;
    let h = &args.history;
    let config = load(&h.config)?;
    let records = h.source.load_windows(&config)?;
    let logs = (!h.source.logs.is_empty()).then_some(h.source.logs.as_slice());
    let list = chosen_slis(&config, &h.sli, &h.config)?
        .into_iter()
        .map(|i| suggest::suggest(&config, i, &records, logs))
        .collect::<Result<Vec<_>>>()?;
    out!("{}", suggest::render(&list));
    Ok(ExitCode::SUCCESS)
}

fn what_if(args: &WhatIfArgs) -> Result<ExitCode> {
    let h = &args.history;
    let text = std::fs::read_to_string(&h.config)
        .with_context(|| format!("cannot read {}", h.config.display()))?;
    let config = load(&h.config)?;
    for &t in &args.target {
        if !(t > 0.0 && t < 1.0) {
            anyhow::bail!("--target {t}: a target is a ratio strictly between 0 and 1, like 0.999");
        }
    }
    let chosen = chosen_slis(&config, &h.sli, &h.config)?;
    let records = h.source.load_windows(&config)?;
    let logs = (!h.source.logs.is_empty()).then_some(h.source.logs.as_slice());
    for (n, &i) in chosen.iter().enumerate() {
        let outcomes = slipstream::report::whatif::what_if(
            &config,
            &text,
            i,
            &records,
            &args.target,
            &args.threshold,
            logs,
        )?;
        if n > 0 {
            outln!();
        }
        out!(
            "{}",
            slipstream::report::whatif::render(&config.slis[i].name, &outcomes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn report(args: &ReportArgs) -> Result<ExitCode> {
    use slipstream::report::Report;
    let config = load(&args.config)?;
    let (from_ns, to_ns) = time_range(&args.from, &args.to)?;
    let records = args.source.load_range(&config, from_ns, to_ns)?;
    let report = Report::build(&config, records, from_ns, to_ns);
    let text = report.render(args.format, args.lang);
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn load(path: &Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

fn explain(path: &Path, lines: usize, input: &str) -> Result<ExitCode> {
    let config = load(path)?;
    let source = if input == "-" {
        backfill::Input::Stdin
    } else {
        backfill::Input::File(PathBuf::from(input))
    };
    let mut reader = backfill::open_decompressed(&source)
        .with_context(|| format!("cannot read {input}; check the path"))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let tally = slipstream::explain::explain(&config, &mut reader, lines, &mut out)?;
    out.flush()?;
    if tally.lines == 0 {
        eprintln!("warning: {input} holds no line to explain");
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(path: &Path) -> Result<ExitCode> {
    let config = load(path)?;
    outln!("{}: OK, {} SLI(s).", path.display(), config.slis.len());
    for w in slipstream::slo::window_size_warnings(&config) {
        outln!("warning: {w}");
    }
    for s in &config.slis {
        outln!();
        outln!("SLI {}", s.name);
        if let Some(d) = &s.description {
            outln!("  description: {d}");
        }
        match &s.filter {
            Some(f) => outln!("  filter:      {}", f.source()),
            None => outln!("  filter:      (every event)"),
        }
        outln!("  good:        {}", s.good.source());
        let ps: Vec<&str> = s.percentiles.iter().map(|p| p.key.as_str()).collect();
        outln!("  latency:     {}", ps.join(", "));
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
                outln!(
                    "  objective:   {}% {what} over {}{tz}",
                    o.target * 100.0,
                    o.window_text,
                );
                for line in o.alerts.describe(&o.window, &o.window_text) {
                    outln!("{line}");
                }
            }
            None => outln!("  objective:   (none)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--from` and `--to`, of which the first must come before the second.
fn time_range(from: &Option<String>, to: &Option<String>) -> Result<(Option<i64>, Option<i64>)> {
    let (from_ns, to_ns) = (parse_time("from", from)?, parse_time("to", to)?);
    if let (Some(f), Some(t), Some(fs), Some(ts)) = (from_ns, to_ns, from, to) {
        if f >= t {
            anyhow::bail!("--from {fs} is not before --to {ts}: the range is empty; swap them");
        }
    }
    Ok((from_ns, to_ns))
}

fn parse_time(flag: &str, value: &Option<String>) -> Result<Option<i64>> {
    value
        .as_ref()
        .map(|v| {
            parse_rfc3339_str(v).with_context(|| {
                format!("--{flag} `{v}` is not an RFC 3339 time like 2026-11-27T10:00:00Z")
            })
        })
        .transpose()
}

fn run_backfill(args: BackfillArgs) -> Result<ExitCode> {
    let config = load(&args.config)?;
    for w in slipstream::slo::window_size_warnings(&config) {
        eprintln!("warning: {w}");
    }
    let (from_ns, to_ns) = time_range(&args.from, &args.to)?;
    let opts = backfill::Options {
        inputs: args.inputs,
        from_ns,
        to_ns,
        output: args.output,
        threads: args.threads,
        progress: !args.no_progress && std::io::stderr().is_terminal(),
        map_files: !args.no_mmap,
    };
    let summary = backfill::run(&config, &opts)?;
    eprint!("{summary}");
    if !summary.errors.is_empty() {
        eprintln!("Some input could not be read (see above); exiting with status 2.");
        Ok(ExitCode::from(2))
    } else if args.strict && !summary.warnings.is_empty() {
        eprintln!(
            "The setup looks wrong (see the warnings above); exiting with status 3 (--strict)."
        );
        Ok(ExitCode::from(3))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// Logs to stderr; `SLIPSTREAM_LOG` (e.g. `debug`) overrides the level.
/// Logs to stderr. Text is coloured only on a terminal, and not when
/// `NO_COLOR` is set (<https://no-color.org>): a file or a pipe gets plain
/// text. JSON never has colour.
fn init_logs(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLIPSTREAM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(use_colour(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR"),
            ))
            .init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

/// Colour on a terminal unless `NO_COLOR` is set to something (an empty
/// value counts as unset).
fn use_colour(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// A flag that SIGTERM and SIGINT set.
fn shutdown_flag() -> Result<Arc<AtomicBool>> {
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, shutdown.clone())
            .context("cannot install the signal handlers")?;
    }
    Ok(shutdown)
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    All,
    Ingest,
    Rollup,
}

fn run_job(path: &Path, log_format: LogFormat, role: RoleArg) -> Result<ExitCode> {
    use slipstream::topology::Role;
    init_logs(log_format, "info");
    let config = load(path)?;
    for w in slipstream::slo::window_size_warnings(&config) {
        tracing::warn!("{w}");
    }
    let role = match role {
        RoleArg::All => Role::All,
        RoleArg::Ingest => Role::Ingest,
        RoleArg::Rollup => Role::Rollup,
    };
    let shutdown = shutdown_flag()?;
    slipstream::topology::stop_within_hard_deadline(shutdown.clone());
    match slipstream::topology::run_role(&config, shutdown.clone(), role) {
        // A stop is asked for and comes within its deadline whatever the
        // sinks do: what could not be written is replayed on restart.
        Err(e) if shutdown.load(std::sync::atomic::Ordering::Relaxed) => {
            tracing::warn!(error = %format!("{e:#}"), "Stopped without writing everything; a restart replays it from the last commit.");
            Ok(ExitCode::SUCCESS)
        }
        result => result.map(|()| ExitCode::SUCCESS),
    }
}

#[cfg(test)]
mod tests {
    use super::use_colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("".into())));
        assert!(!use_colour(true, Some("1".into())));
        assert!(!use_colour(false, None));
    }
}
