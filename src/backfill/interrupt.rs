//! Ctrl-C and SIGTERM during a backfill: the temporary files the run staged
//! its records in, and its spill files, are removed and the process exits at once, every output
//! left as it was: 130 for Ctrl-C (SIGINT), as a shell reports it, and 0
//! for SIGTERM, the way supervisors stop every slipstream command (the
//! message on stderr says the records were not written). No destructor runs on a signal, and the reader may be
//! blocked on a pipe that stays silent, so a thread of its own waits for the
//! signals and does the cleaning. Once the records are being put in place,
//! a signal waits for that to finish and the run then ends normally, so an
//! output is never left with part of the records.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

#[derive(Default)]
struct State {
    /// Temporary files to remove on a signal.
    temps: Vec<PathBuf>,
    /// Temporary directories (the spill files') to remove on a signal.
    dirs: Vec<PathBuf>,
    /// Set once the records are in place: a signal then changes nothing.
    done: bool,
}

/// Holds SIGINT and SIGTERM for the length of a backfill; dropped, it lets
/// them go.
pub struct Interrupt {
    state: Arc<Mutex<State>>,
    handle: Handle,
}

/// While it lives, a signal waits: taken while the staged files are created
/// (so none is left unknown to the signal thread) and while they are put
/// in place.
pub struct Held<'a>(MutexGuard<'a, State>);

impl Held<'_> {
    /// Files a signal must remove.
    pub fn remove_on_signal(&mut self, temps: Vec<PathBuf>) {
        self.0.temps.extend(temps);
    }

    /// A directory a signal must remove with all it holds.
    pub fn remove_dir_on_signal(&mut self, dir: PathBuf) {
        self.0.dirs.push(dir);
    }

    /// Marks the records as in place: a signal that waited now does nothing.
    pub fn done(mut self) {
        self.0.done = true;
    }
}

impl Interrupt {
    /// Starts the thread that waits for the signals; on one, it removes the
    /// files named by [`Held::remove_on_signal`] and exits the process.
    pub fn install() -> Result<Interrupt> {
        let mut signals =
            Signals::new([SIGINT, SIGTERM]).context("cannot install the signal handlers")?;
        let handle = signals.handle();
        let state = Arc::new(Mutex::new(State::default()));
        let watched = state.clone();
        thread::Builder::new()
            .name("backfill-signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    stop(&watched, signal);
                }
            })
            .context("cannot start the thread that handles Ctrl-C")?;
        Ok(Interrupt { state, handle })
    }

    /// Holds back the signals until [`Held::done`] or its drop.
    pub fn hold(&self) -> Held<'_> {
        Held(lock(&self.state))
    }

    /// Creates files in the directories a signal removes, from any thread.
    pub fn creator(&self) -> Creator {
        Creator(self.state.clone())
    }
}

/// Creates files with the signals held, so that a file is either created
/// before a signal removes its directory, or never.
#[derive(Clone)]
pub struct Creator(Arc<Mutex<State>>);

impl Creator {
    /// A creator no signal handler knows of, for tests.
    #[cfg(test)]
    pub fn detached() -> Creator {
        Creator(Arc::new(Mutex::new(State::default())))
    }

    pub fn create(&self, path: &Path) -> std::io::Result<File> {
        let _held = lock(&self.0);
        File::create_new(path)
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        lock(&self.state).done = true;
        self.handle.close();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the temporary files and exits, unless the records are already in
/// place.
fn stop(state: &Mutex<State>, signal: i32) {
    let state = lock(state);
    if state.done {
        return;
    }
    for path in &state.temps {
        let _ = std::fs::remove_file(path);
    }
    for dir in &state.dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    let name = if signal == SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    eprintln!(
        "\ninterrupted by {name}: the backfill did not finish and left its output files as they were; run it again to write its records"
    );
    std::process::exit(if signal == SIGINT { 128 + SIGINT } else { 0 });
}
