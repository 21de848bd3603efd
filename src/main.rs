//! The `slipstream` command line: parses arguments and runs one command.
//! The commands, their flags and everything they do live in the library
//! (`slipstream::cli` and the modules it calls).

use std::process::ExitCode;

use clap::Parser;

use slipstream::cli::{self, Cli, Command, OpensloCommand};

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
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Validate { config, effective } => cli::validate(&config, effective),
        Command::Explain {
            config,
            lines,
            input,
        } => cli::explain(&config, lines, &input),
        Command::Backfill(args) => cli::backfill(args),
        Command::Run {
            config,
            log_format,
            role,
        } => cli::run_job(&config, log_format, role),
        Command::Demo(args) => cli::demo(&args),
        Command::Openslo {
            command: OpensloCommand::Export { config, service },
        } => cli::openslo_export(&config, &service),
        Command::Openslo {
            command: OpensloCommand::Import { file },
        } => cli::openslo_import(&file),
        Command::DevBroker(args) => cli::dev_broker(&args),
        Command::Report(args) => cli::report(&args),
        Command::WhatIf(args) => cli::what_if(&args),
        Command::Review(args) => cli::review(&args),
        Command::Suggest(args) => cli::suggest(&args),
        Command::Probe { url } => cli::probe(&url),
        Command::Gen(args) => cli::generate(&args),
        Command::Completions { shell } => cli::completions(shell),
        Command::Man { out_dir } => cli::man(out_dir.as_deref()),
    }
}
