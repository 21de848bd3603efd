//! `[sink.buffer]`: how the stream job queues records for one sink, so that
//! one sink's outage does not stop the others. The raw values are checked
//! here once (bounds, known policies) into a [`BufferConfig`].

use std::path::PathBuf;

use super::raw::RawBuffer;
use super::validate::Validator;
use super::ConfigError;

/// What the job does while a sink cannot take records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Consumption waits for the sink, and offsets are committed only past
    /// what it acknowledged: nothing is lost (the default of every sink but
    /// `webhook`).
    Block,
    /// The job goes on; the sink's records wait in its queue, up to
    /// `max_records`, and newer ones are dropped and counted while it is
    /// full: at most once (the default of `webhook`).
    DropNewest,
}

impl WhenFull {
    pub fn name(self) -> &'static str {
        match self {
            WhenFull::Block => "block",
            WhenFull::DropNewest => "drop_newest",
        }
    }
}

/// The default `max_records` of a `drop_newest` sink: a few minutes of
/// records for a large configuration, about 10 MB.
pub const DEFAULT_MAX_RECORDS: usize = 10_000;

/// The largest `max_records`: records are kept in memory, about 1 KB each.
pub const MAX_RECORDS: usize = 1_000_000;

/// `[sink.buffer]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferConfig {
    pub when_full: WhenFull,
    /// How many records may wait for a `drop_newest` sink.
    pub max_records: usize,
    /// `type = "disk"`: the file that keeps a `drop_newest` sink's queue
    /// across restarts; `None` keeps it in memory only.
    pub disk: Option<PathBuf>,
}

impl BufferConfig {
    /// The buffer of a sink of `kind` without a `[sink.buffer]`.
    pub fn default_for(kind: &str) -> BufferConfig {
        BufferConfig {
            when_full: if kind == "webhook" {
                WhenFull::DropNewest
            } else {
                WhenFull::Block
            },
            max_records: DEFAULT_MAX_RECORDS,
            disk: None,
        }
    }
}

impl Validator<'_> {
    /// `sink[i].buffer` of a sink of type `kind`.
    pub(super) fn buffer(
        &self,
        i: usize,
        kind: &str,
        raw: Option<&RawBuffer>,
    ) -> Result<BufferConfig, ConfigError> {
        let mut b = BufferConfig::default_for(kind);
        let Some(raw) = raw else {
            return Ok(b);
        };
        let field = |f: &str| format!("sink[{i}].buffer.{f}");
        if let Some(w) = &raw.when_full {
            b.when_full = match w.get_ref().trim() {
                "block" => WhenFull::Block,
                "drop_newest" => WhenFull::DropNewest,
                other => {
                    let mut m =
                        format!("unknown policy `{other}`; expected `block` or `drop_newest`");
                    if let Some(near) = ["block", "drop_newest"]
                        .into_iter()
                        .find(|n| crate::names::edit_distance(other, n) <= 3)
                    {
                        m.push_str(&format!("; did you mean `{near}`?"));
                    }
                    return Err(self.err(w.span(), &field("when_full"), m));
                }
            };
        }
        if let Some(m) = &raw.max_records {
            if b.when_full == WhenFull::Block {
                return Err(self.err(
                    m.span(),
                    &field("max_records"),
                    "a `block` sink holds consumption while it fails, so nothing queues for it \
                     beyond the records being written: `max_records` applies only with \
                     `when_full = \"drop_newest\"`",
                ));
            }
            let n = *m.get_ref();
            if !(1..=MAX_RECORDS as i64).contains(&n) {
                return Err(self.err(
                    m.span(),
                    &field("max_records"),
                    format!("must be between 1 and {MAX_RECORDS} (records wait in memory)"),
                ));
            }
            b.max_records = n as usize;
        }
        let kind = raw.kind.as_ref().map(|k| (k.get_ref().trim(), k.span()));
        match kind {
            None | Some(("memory", _)) => {
                if let Some(p) = &raw.path {
                    return Err(self.err(
                        p.span(),
                        &field("path"),
                        "only a `type = \"disk\"` buffer takes a `path`",
                    ));
                }
            }
            Some(("disk", span)) => {
                if b.when_full == WhenFull::Block {
                    return Err(self.err(
                        span,
                        &field("type"),
                        "a `block` sink holds consumption instead of queueing: a disk buffer \
                         applies only with `when_full = \"drop_newest\"`",
                    ));
                }
                let Some(p) = &raw.path else {
                    return Err(self.err(
                        span,
                        &field("path"),
                        "a disk buffer needs `path`, the file that keeps the queue across restarts",
                    ));
                };
                b.disk = Some(PathBuf::from(self.expand(p, &field("path"))?));
            }
            Some((other, span)) => {
                return Err(self.err(
                    span,
                    &field("type"),
                    format!("unknown buffer type `{other}`; expected `memory` or `disk`"),
                ))
            }
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    const SLI: &str = "[[sli]]\nname = \"api\"\ngood = \"status < 500\"\n";

    fn parse(sink: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("test.toml"), &format!("{SLI}[[sink]]\n{sink}"))
    }

    const HOOK: &str = "type = \"webhook\"\nurl = \"http://h/x\"\n";
    const FILE: &str = "type = \"file\"\npath = \"x\"\n";

    #[test]
    fn a_webhook_drops_the_newest_by_default_and_every_other_sink_blocks() {
        let c = parse(HOOK).unwrap();
        assert_eq!(
            c.sinks[0].buffer,
            BufferConfig {
                when_full: WhenFull::DropNewest,
                max_records: 10_000,
                disk: None,
            }
        );
        for sink in [
            FILE,
            "type = \"kafka\"\ntopic = \"t\"\n",
            "type = \"postgres\"\nurl = \"postgres://h/db\"\n",
        ] {
            let c = parse(sink).unwrap();
            assert_eq!(c.sinks[0].buffer.when_full, WhenFull::Block, "{sink}");
        }
        let c = parse(&format!("{HOOK}[sink.buffer]\nwhen_full = \"block\"\n")).unwrap();
        assert_eq!(c.sinks[0].buffer.when_full, WhenFull::Block);
        let c = parse(&format!(
            "{FILE}[sink.buffer]\nwhen_full = \"drop_newest\"\nmax_records = 7\n"
        ))
        .unwrap();
        assert_eq!(
            c.sinks[0].buffer,
            BufferConfig {
                when_full: WhenFull::DropNewest,
                max_records: 7,
                disk: None,
            }
        );
        let c = parse(&format!(
            "{HOOK}[sink.buffer]\ntype = \"disk\"\npath = \"q/hook.queue\"\n"
        ))
        .unwrap();
        assert_eq!(c.sinks[0].buffer.disk, Some(PathBuf::from("q/hook.queue")));
    }

    #[test]
    fn a_disk_buffer_needs_a_path_and_a_drop_newest_sink() {
        let cases = [
            (
                format!("{HOOK}[sink.buffer]\ntype = \"disk\"\n"),
                "sink[0].buffer.path",
                "needs `path`",
            ),
            (
                format!("{FILE}[sink.buffer]\ntype = \"disk\"\npath = \"q\"\n"),
                "sink[0].buffer.type",
                "applies only with",
            ),
            (
                format!("{HOOK}[sink.buffer]\npath = \"q\"\n"),
                "sink[0].buffer.path",
                "only a `type = \"disk\"` buffer",
            ),
            (
                format!("{HOOK}[sink.buffer]\ntype = \"ssd\"\n"),
                "sink[0].buffer.type",
                "expected `memory` or `disk`",
            ),
        ];
        for (text, field, says) in cases {
            let e = parse(&text).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{text}: {e}");
            assert!(e.message.contains(says), "{text}: {e}");
        }
        let two = format!(
            "{HOOK}[sink.buffer]\ntype = \"disk\"\npath = \"q\"\n[[sink]]\n{HOOK}[sink.buffer]\ntype = \"disk\"\npath = \"q\"\n"
        );
        let e = parse(&two).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sink[1].buffer.path"), "{e}");
        assert!(e.message.contains("already"), "{e}");
    }

    #[test]
    fn a_bad_policy_names_line_field_and_the_nearest_policy() {
        let e = parse(&format!(
            "{HOOK}[sink.buffer]\nwhen_full = \"drop_newset\"\n"
        ))
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sink[0].buffer.when_full"), "{e}");
        assert_eq!(e.position.map(|p| p.0), Some(8), "{e}");
        assert!(
            e.message
                .contains("unknown policy `drop_newset`; expected `block` or `drop_newest`"),
            "{e}"
        );
        assert!(e.message.contains("did you mean `drop_newest`?"), "{e}");
        let e = parse(&format!("{HOOK}[sink.buffer]\nwhen_full = \"spill\"\n")).unwrap_err();
        assert!(!e.message.contains("did you mean"), "{e}");
    }

    #[test]
    fn max_records_out_of_bounds_or_on_a_block_sink_is_an_error_naming_the_bound() {
        for bad in ["0", "-1", "1000001", "9223372036854775807"] {
            let e = parse(&format!("{HOOK}[sink.buffer]\nmax_records = {bad}\n")).unwrap_err();
            assert_eq!(
                e.field.as_deref(),
                Some("sink[0].buffer.max_records"),
                "{bad}: {e}"
            );
            assert!(e.message.contains("between 1 and 1000000"), "{bad}: {e}");
        }
        let c = parse(&format!("{HOOK}[sink.buffer]\nmax_records = 1000000\n")).unwrap();
        assert_eq!(c.sinks[0].buffer.max_records, 1_000_000);
        let e = parse(&format!("{FILE}[sink.buffer]\nmax_records = 10\n")).unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("sink[0].buffer.max_records"),
            "{e}"
        );
        assert!(e.message.contains("applies only with"), "{e}");
    }

    #[test]
    fn the_effective_configuration_reads_back_every_buffer() {
        let text = format!(
            "{SLI}[[sink]]\n{FILE}[[sink]]\n{HOOK}[[sink]]\n{HOOK}[sink.buffer]\nmax_records = 50\ntype = \"disk\"\npath = \"q/it's.queue\"\n"
        );
        let c = Config::parse(Path::new("test.toml"), &text).unwrap();
        let again =
            Config::parse(Path::new("effective.toml"), &crate::config::effective(&c)).unwrap();
        let buffers = |c: &Config| c.sinks.iter().map(|s| s.buffer.clone()).collect::<Vec<_>>();
        assert_eq!(buffers(&again), buffers(&c));
        assert_eq!(
            c.sinks[2].buffer.disk.as_deref(),
            Some(Path::new("q/it's.queue"))
        );
    }

    #[test]
    fn an_unknown_buffer_key_is_an_error_naming_the_known_ones() {
        let e = parse(&format!("{HOOK}[sink.buffer]\nmax_events = 10\n")).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("unknown field `max_events`"), "{text}");
        assert!(text.contains("max_records"), "{text}");
    }
}
