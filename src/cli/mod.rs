//! The command line's shape — every command, flag and help text — and the
//! commands behind it. The binary parses arguments into [`Cli`] and hands
//! each [`Command`] to its function here; completions and the manual page
//! are generated from the same definitions.

mod commands;
mod docs;
mod logs;
mod output;
mod reports;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::kafka::devbroker::DevBrokerArgs;
use crate::synth::GenArgs;

pub use commands::{
    backfill, demo, dev_broker, explain, generate, openslo_export, openslo_import, probe, run_job,
    validate,
};
pub use docs::{completions, man};
pub use reports::{
    report, review, suggest, what_if, ReportArgs, ReviewArgs, SuggestArgs, WhatIfArgs,
};

/// Exact SLI and SLO numbers from request logs, live from Kafka or from archives.
#[derive(Parser)]
#[command(name = "slipstream", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Compute window records from archived logs (files, directories, `-` for stdin, and
    /// s3://, gs:// and az:// prefixes).
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
    Demo(crate::demo::DemoArgs),
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
    /// A report every role reads the same way: per SLO a headline sentence, five questions
    /// answered in words (met, budget left, what spent it, is the target realistic, what if),
    /// compliance per day, charts (HTML) and a glossary; `--format json` gives the answers as
    /// data (docs/report-json.md).
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
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
    ///
    /// Example: slipstream completions bash > /usr/share/bash-completion/completions/slipstream
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) of slipstream and its commands, or write one page per
    /// command into a directory.
    ///
    /// Example: slipstream man | man -l -
    Man {
        /// Write `slipstream.1` and one `slipstream-COMMAND.1` per command here instead of
        /// printing the main page.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum OpensloCommand {
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
pub enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct BackfillArgs {
    /// The configuration file (TOML).
    #[arg(short, long)]
    pub config: PathBuf,
    /// Keep only events at or after this time (RFC 3339). Folders named by date
    /// (.../YYYY/MM/DD/, as AWS load balancers write) and CloudFront logs
    /// (<distribution>.YYYY-MM-DD-HH.*) wholly outside the range, give or take an hour, are
    /// neither listed nor read.
    #[arg(long)]
    pub from: Option<String>,
    /// Keep only events before this time (RFC 3339).
    #[arg(long)]
    pub to: Option<String>,
    /// Of the files and objects under a directory or a prefix, read only those whose path
    /// or key matches this glob (`*` matches `/` too: '*.gz'). Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Of the files and objects under a directory or a prefix, skip those whose path or
    /// key matches this glob ('*/debug/*'). Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Write JSONL records to this file (replacing it) instead of the configured sinks.
    /// Records are staged beside their target and put in place at the end (appended to a
    /// file sink, renamed over --output, through symlinks): a failed or interrupted run, or
    /// one that could read no input, leaves them as they were. A missing directory is
    /// created. Ctrl-C exits 130; SIGTERM exits 0, saying so.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Never draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Read plain files with read(2) instead of mapping them into memory:
    /// for files that may be truncated while backfill reads them.
    #[arg(long)]
    pub no_mmap: bool,
    /// Window state to keep in memory (512MiB, 2G, 300MB; default 128MiB). Windows closed
    /// beyond it are written to spill files and merged back at the end, so memory does not
    /// grow with the time the input covers; the records are the same either way.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// Where spill files go (default: beside --output, or the system's temporary
    /// directory). They are removed at the end, on an error, and on Ctrl-C.
    #[arg(long, value_name = "DIR")]
    pub tmp_dir: Option<PathBuf>,
    /// Exit with status 3 when the summary warns of a wrong setup: an SLI that matched no
    /// event, more than 1% of an SLI's events invalid, a field the rules name that never
    /// appeared, most lines rejected, or nothing read. (Status 2, an input that could not
    /// be read, comes first.)
    #[arg(long)]
    pub strict: bool,
    /// Log files or directories (searched recursively); `-` reads stdin; s3://BUCKET/PREFIX,
    /// gs://BUCKET/PREFIX and az://CONTAINER/PREFIX read a bucket's objects like a directory
    /// (credentials from the usual environment variables, AWS_PROFILE and the shared files,
    /// web identity or the instance; AWS_ENDPOINT_URL for S3-compatible stores). gzip and
    /// zstd are detected.
    #[arg(required = true)]
    pub inputs: Vec<String>,
}

/// A size in bytes: a number with an optional unit, K/M/G (powers of 1024,
/// with or without `iB`) or KB/MB/GB (powers of 1000).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size: write it like 512MiB, 2G or 300MB"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => {
            return Err(format!(
                "unknown unit in {text:?}: use K, M, G (or KiB, MiB, GiB), KB, MB or GB"
            ))
        }
    };
    let bytes = number
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes < 1 << 20 {
        return Err(format!(
            "{text:?} is less than 1 MiB: give the windows at least that"
        ));
    }
    Ok(bytes)
}

/// The part of the stream job an instance runs.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    All,
    Ingest,
    Rollup,
}
