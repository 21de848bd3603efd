//! Writing a command's output to stdout the way Unix tools do: a reader
//! that goes away (`slipstream validate | head -1`) ends the command
//! quietly instead of a panic.

use std::io::Write;

use anyhow::Result;
use std::process::ExitCode;

/// `print!` that ends the command quietly when stdout's reader has gone.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format_args!($($arg)*))
    };
}

/// `println!`, ending quietly as [`out!`] does.
macro_rules! outln {
    () => {
        $crate::cli::output::out!("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::output::out!("{}\n", format_args!($($arg)*))
    };
}

pub(crate) use {out, outln};

/// Writes to stdout; a closed pipe exits 0, another error exits 1.
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>) {
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
pub(crate) fn quiet_on_broken_pipe(e: anyhow::Error) -> Result<ExitCode> {
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
