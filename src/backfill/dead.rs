//! Rejected lines on their way to the `[dead_letter]` destination, from
//! the reader and every worker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use anyhow::{Context, Result};

use super::InputError;
use crate::config::Config;
use crate::dead_letter::{DeadLetters, Origin};
use crate::reject::LineReject;

/// Rejected lines on their way to the dead-letter destination, from the
/// reader and every worker. Rejections are rare: one lock is enough.
pub(super) struct DeadLetterQueue<'a> {
    letters: Option<Mutex<DeadLetters>>,
    /// The inputs' names, by index.
    names: &'a [String],
    max_bytes: usize,
    sent: AtomicU64,
    /// The first failure; later dead letters are still tried.
    failed: Mutex<Option<String>>,
}

impl<'a> DeadLetterQueue<'a> {
    pub(super) fn new(config: &Config, names: &'a [String]) -> Result<DeadLetterQueue<'a>> {
        let max_bytes = config.decode.max_event_bytes;
        let letters = match &config.dead_letter {
            None => None,
            Some(dl) => {
                let kafka = config
                    .source
                    .as_ref()
                    .map(crate::kafka::settings::client_config);
                let letters = DeadLetters::new(Some(dl), kafka.as_ref(), max_bytes)
                    .with_context(|| {
                        format!(
                            "cannot open the [dead_letter] destination of {}; fix it or remove the section",
                            config.path.display()
                        )
                    })?;
                Some(Mutex::new(letters))
            }
        };
        Ok(DeadLetterQueue {
            letters,
            names,
            max_bytes,
            sent: AtomicU64::new(0),
            failed: Mutex::new(None),
        })
    }

    /// Queues the dead letter of line `line` of input `input`; a line over
    /// the size limit is cut to it. `truncated`: `raw` is already cut.
    pub(super) fn send(
        &self,
        reason: LineReject,
        input: u32,
        line: u64,
        raw: &[u8],
        truncated: bool,
    ) {
        let Some(letters) = &self.letters else {
            return;
        };
        let cut = raw.len() > self.max_bytes;
        let raw = &raw[..raw.len().min(self.max_bytes)];
        let origin = Origin::Line {
            input: &self.names[input as usize],
            line,
        };
        let sent = match letters.lock() {
            Ok(mut l) => l.send(reason.name(), origin, raw, truncated || cut),
            Err(_) => Err(anyhow::anyhow!(
                "a worker panicked while writing a dead letter"
            )),
        };
        match sent {
            Ok(()) => {
                self.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                if let Ok(mut failed) = self.failed.lock() {
                    failed.get_or_insert_with(|| format!("{e:#}"));
                }
            }
        }
    }

    /// Waits until every dead letter is durable. Returns where they went
    /// and how many, or the first failure.
    pub(super) fn finish(self) -> std::result::Result<Option<(String, u64)>, InputError> {
        let sent = self.sent.into_inner();
        let name = self
            .letters
            .as_ref()
            .and_then(|l| l.lock().ok().map(|l| l.name()));
        let failed = self.failed.into_inner().ok().flatten();
        let confirmed = match self.letters.map(Mutex::into_inner) {
            None => Ok(()),
            Some(Ok(mut l)) => l.confirm().map_err(|e| format!("{e:#}")),
            Some(Err(_)) => Err("a worker panicked while writing a dead letter".to_string()),
        };
        match failed.map_or(confirmed, Err) {
            Ok(()) => Ok(name.map(|n| (n, sent))),
            Err(message) => Err(InputError {
                input: "dead letters".to_string(),
                offset: 0,
                message: format!("{message}; rejected lines are counted but not all were written"),
            }),
        }
    }
}
