//! Shell completions and manual pages, generated from the command line's
//! own definitions (clap's `clap_complete` and `clap_mangen`), so they never
//! drift from `--help`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use super::output::out;
use super::Cli;

/// `slipstream completions SHELL`: the completion script on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "slipstream", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    Ok(ExitCode::SUCCESS)
}

/// `slipstream man`: the main page (roff) on stdout, or with `out_dir` one
/// page per command written there, each path on stdout.
pub fn man(out_dir: Option<&Path>) -> Result<ExitCode> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = out_dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut page)?;
        out!("{}", String::from_utf8_lossy(&page));
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    write_pages(&cmd, dir)?;
    Ok(ExitCode::SUCCESS)
}

/// The page of `cmd` and of each of its commands, depth first.
fn write_pages(cmd: &clap::Command, dir: &Path) -> Result<()> {
    let path = clap_mangen::Man::new(cmd.clone())
        .generate_to(dir)
        .with_context(|| format!("cannot write a manual page into {}", dir.display()))?;
    super::output::outln!("{}", path.display());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    Ok(())
}
