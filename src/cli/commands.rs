//! The commands that are not about history: `validate`, `explain`,
//! `backfill`, `run`, `demo`, `openslo`, `dev-broker`, `probe` and `gen`,
//! each from its parsed arguments to an exit status.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::logs::{init_logs, shutdown_flag};
use super::output::{out, outln, quiet_on_broken_pipe};
use super::{BackfillArgs, LogFormat, RoleArg};
use crate::config::Config;
use crate::time::parse_rfc3339_str;

/// The configuration at `path`, loaded and checked.
pub(crate) fn load(path: &Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

/// `slipstream validate`: the summary of each SLI, or with `effective` the
/// whole configuration as TOML with every default filled in.
pub fn validate(path: &Path, effective: bool) -> Result<ExitCode> {
    let config = load(path)?;
    if effective {
        out!("{}", crate::config::effective(&config));
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}: OK, {} SLI(s).", path.display(), config.slis.len());
    for w in crate::slo::window_size_warnings(&config) {
        outln!("warning: {w}");
    }
    out!("{}", crate::config::describe(&config));
    Ok(ExitCode::SUCCESS)
}

/// `slipstream explain`: the first `lines` lines of `input` as the engine
/// sees them.
pub fn explain(path: &Path, lines: usize, input: &str) -> Result<ExitCode> {
    explain_lines(path, lines, input).or_else(quiet_on_broken_pipe)
}

fn explain_lines(path: &Path, lines: usize, input: &str) -> Result<ExitCode> {
    let config = load(path)?;
    let source = if input == "-" {
        crate::backfill::Input::Stdin
    } else {
        crate::backfill::Input::File(PathBuf::from(input))
    };
    let mut reader = crate::backfill::open_decompressed(&source)
        .with_context(|| format!("cannot read {input}; check the path"))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let tally = crate::explain::explain(&config, &mut reader, lines, &mut out)?;
    out.flush()?;
    if tally.lines == 0 {
        eprintln!("warning: {input} holds no line to explain");
    }
    Ok(ExitCode::SUCCESS)
}

/// `--from` and `--to`, of which the first must come before the second.
pub(crate) fn time_range(
    from: &Option<String>,
    to: &Option<String>,
) -> Result<(Option<i64>, Option<i64>)> {
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

/// `slipstream backfill`: exit 2 when some input could not be read, 3 with
/// `--strict` when the summary warns of a wrong setup.
pub fn backfill(args: BackfillArgs) -> Result<ExitCode> {
    let config = load(&args.config)?;
    for w in crate::slo::window_size_warnings(&config) {
        eprintln!("warning: {w}");
    }
    let (from_ns, to_ns) = time_range(&args.from, &args.to)?;
    let opts = crate::backfill::Options {
        inputs: args.inputs,
        include: args.include,
        exclude: args.exclude,
        from_ns,
        to_ns,
        output: args.output,
        threads: args.threads,
        progress: !args.no_progress && std::io::stderr().is_terminal(),
        map_files: !args.no_mmap,
        memory_limit: args.memory_limit.unwrap_or(0),
        tmp_dir: args.tmp_dir,
        leave_out: Vec::new(),
    };
    let summary = crate::backfill::run(&config, &opts)?;
    // Rendered whole, then written once: stderr is unbuffered, and a table of
    // a thousand SLIs written cell by cell costs tens of thousands of writes.
    let text = summary.to_string();
    std::io::stderr()
        .write_all(text.as_bytes())
        .context("cannot write the summary to standard error")?;
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

/// `slipstream run`: the stream job in the given role until a stop signal.
pub fn run_job(path: &Path, log_format: LogFormat, role: RoleArg) -> Result<ExitCode> {
    use crate::topology::Role;
    init_logs(log_format, "info");
    let config = load(path)?;
    for w in crate::slo::window_size_warnings(&config) {
        tracing::warn!("{w}");
    }
    let role = match role {
        RoleArg::All => Role::All,
        RoleArg::Ingest => Role::Ingest,
        RoleArg::Rollup => Role::Rollup,
    };
    let shutdown = shutdown_flag()?;
    crate::topology::stop_within_hard_deadline(shutdown.clone());
    match crate::topology::run_role(&config, shutdown.clone(), role) {
        // A stop is asked for and comes within its deadline whatever the
        // sinks do: what could not be written is replayed on restart.
        Err(e) if shutdown.load(std::sync::atomic::Ordering::Relaxed) => {
            tracing::warn!(error = %format!("{e:#}"), "Stopped without writing everything; a restart replays it from the last commit.");
            Ok(ExitCode::SUCCESS)
        }
        result => result.map(|()| ExitCode::SUCCESS),
    }
}

/// `slipstream demo`: warnings only, the terminal view is the output.
pub fn demo(args: &crate::demo::DemoArgs) -> Result<ExitCode> {
    init_logs(LogFormat::Text, "warn");
    crate::demo::run(args, shutdown_flag()?)?;
    Ok(ExitCode::SUCCESS)
}

/// `slipstream dev-broker`.
pub fn dev_broker(args: &crate::kafka::devbroker::DevBrokerArgs) -> Result<ExitCode> {
    init_logs(LogFormat::Text, "info");
    crate::kafka::devbroker::run(args)?;
    Ok(ExitCode::SUCCESS)
}

/// `slipstream openslo export`: the objectives as YAML on stdout.
pub fn openslo_export(path: &Path, service: &str) -> Result<ExitCode> {
    out!("{}", crate::openslo::export(&load(path)?, service));
    Ok(ExitCode::SUCCESS)
}

/// `slipstream openslo import`: TOML on stdout, a note on stderr for what
/// could not be mapped; exit 1 when nothing could.
pub fn openslo_import(file: &Path) -> Result<ExitCode> {
    let yaml = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let imported = crate::openslo::import(&yaml)
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

/// `slipstream probe`: exit 0 on a 2xx answer.
pub fn probe(url: &str) -> Result<ExitCode> {
    let endpoint =
        crate::config::Endpoint::parse(url).map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let (code, status) = endpoint.request("GET", b"")?;
    outln!("{status}");
    Ok(if (200..300).contains(&code) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `slipstream gen`: output cut short by its reader is no error.
pub fn generate(args: &crate::synth::GenArgs) -> Result<ExitCode> {
    crate::synth::run(args)
        .map(|_| ExitCode::SUCCESS)
        .or_else(quiet_on_broken_pipe)
}
