//! Dead letters: the messages that did not become counted events (rejected,
//! or later than the allowed lateness), kept with their reason and origin so
//! nothing is dropped silently. A poison message never stops the job.
//!
//! - `kafka`: the original bytes as the message value, with headers
//!   `slipstream.reason`, `slipstream.source.topic`, `.partition`, `.offset`
//!   (for a line of an archived input: `slipstream.source.file`, `.line`).
//! - `file`: one JSON line per message: `reason`, `topic`, `partition`,
//!   `offset` (or `input` and `line`), and the original as `raw` (UTF-8
//!   text) or `raw_base64`.
//!
//! A line too long to hold is cut to its first `max_event_bytes` bytes and
//! marked `truncated` (header `slipstream.truncated`).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};

use crate::config::DeadLetterConfig;
use crate::kafka::producer::ConfirmingProducer;

/// Where a dead letter came from.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// A message of a Kafka topic.
    Message {
        topic: &'a str,
        partition: i32,
        offset: i64,
    },
    /// A line (1-based) of an archived input.
    Line { input: &'a str, line: u64 },
}

/// The headers of a dead letter: its reason and origin.
pub fn dead_letter_headers(reason: &str, origin: Origin<'_>, truncated: bool) -> OwnedHeaders {
    let mut pairs: Vec<(&str, String)> = vec![("slipstream.reason", reason.to_string())];
    match origin {
        Origin::Message {
            topic,
            partition,
            offset,
        } => pairs.extend([
            ("slipstream.source.topic", topic.to_string()),
            ("slipstream.source.partition", partition.to_string()),
            ("slipstream.source.offset", offset.to_string()),
        ]),
        Origin::Line { input, line } => pairs.extend([
            ("slipstream.source.file", input.to_string()),
            ("slipstream.source.line", line.to_string()),
        ]),
    }
    if truncated {
        pairs.push(("slipstream.truncated", "true".to_string()));
    }
    pairs
        .iter()
        .fold(OwnedHeaders::new(), |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value.as_str()),
            })
        })
}

/// Where dead letters go.
pub enum DeadLetters {
    Kafka {
        topic: String,
        producer: ConfirmingProducer,
    },
    File {
        path: std::path::PathBuf,
        out: BufWriter<File>,
    },
    /// None configured: dead letters are only counted.
    Discard,
}

impl DeadLetters {
    /// `max_event_bytes` sizes the Kafka producer so that any message the
    /// decoder may reject as too large still fits in a dead letter.
    pub fn new(
        config: Option<&DeadLetterConfig>,
        kafka: Option<&ClientConfig>,
        max_event_bytes: usize,
    ) -> Result<DeadLetters> {
        Ok(match config {
            None => DeadLetters::Discard,
            Some(DeadLetterConfig::Kafka { topic }) => {
                let base = kafka.context(
                    "a `kafka` dead-letter destination needs [source.kafka] for its brokers",
                )?;
                DeadLetters::Kafka {
                    topic: topic.clone(),
                    // Room for the headers and the protocol's framing.
                    producer: ConfirmingProducer::with_max_message(
                        base,
                        max_event_bytes.saturating_mul(2).saturating_add(65_536),
                    )?,
                }
            }
            Some(DeadLetterConfig::File { path }) => DeadLetters::File {
                path: path.clone(),
                out: BufWriter::new(open_append(path)?),
            },
        })
    }

    /// Queues one dead letter; `truncated` when `raw` is only the start of
    /// the original.
    pub fn send(
        &mut self,
        reason: &str,
        origin: Origin<'_>,
        raw: &[u8],
        truncated: bool,
    ) -> Result<()> {
        match self {
            DeadLetters::Discard => Ok(()),
            DeadLetters::Kafka {
                topic: dlq,
                producer,
            } => {
                let key = match origin {
                    Origin::Message {
                        topic,
                        partition,
                        offset,
                    } => format!("{topic}|{partition}|{offset}"),
                    Origin::Line { input, line } => format!("{input}|{line}"),
                };
                producer.send(
                    dlq,
                    &key,
                    raw,
                    Some(dead_letter_headers(reason, origin, truncated)),
                )
            }
            DeadLetters::File { out, .. } => {
                let mut line = serde_json::json!({ "reason": reason });
                match origin {
                    Origin::Message {
                        topic,
                        partition,
                        offset,
                    } => {
                        line["topic"] = topic.into();
                        line["partition"] = partition.into();
                        line["offset"] = offset.into();
                    }
                    Origin::Line { input, line: n } => {
                        line["input"] = input.into();
                        line["line"] = n.into();
                    }
                }
                if truncated {
                    line["truncated"] = true.into();
                }
                match std::str::from_utf8(raw) {
                    Ok(text) => line["raw"] = text.into(),
                    // A cut line may end inside a character: keep it as text.
                    Err(e) if truncated && e.error_len().is_none() => {
                        line["raw"] = String::from_utf8_lossy(&raw[..e.valid_up_to()]).into()
                    }
                    Err(_) => line["raw_base64"] = base64(raw).into(),
                }
                writeln!(out, "{line}").context("cannot write a dead letter")
            }
        }
    }

    /// The destination, for summaries (`file:dlq/dead.jsonl`).
    pub fn name(&self) -> String {
        match self {
            DeadLetters::Discard => "nowhere".to_string(),
            DeadLetters::Kafka { topic, .. } => format!("kafka:{topic}"),
            DeadLetters::File { path, .. } => format!("file:{}", path.display()),
        }
    }

    /// Returns once every queued dead letter is durable.
    pub fn confirm(&mut self) -> Result<()> {
        match self {
            DeadLetters::Discard => Ok(()),
            DeadLetters::Kafka { producer, .. } => producer.confirm(Duration::from_secs(30)),
            DeadLetters::File { out, .. } => {
                out.flush()?;
                out.get_ref()
                    .sync_data()
                    .context("cannot sync the dead-letter file")
            }
        }
    }
}

fn open_append(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the dead-letter file {}", path.display()))
}

/// Standard base64 with padding, for bytes that are not UTF-8.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }
}
