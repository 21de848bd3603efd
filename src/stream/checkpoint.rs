//! The checkpoint that travels with each committed Kafka offset, in the
//! offset commit's metadata, so a restarted job knows what it already did.
//!
//! - `frontier`: every window ending at or before it has been written and
//!   acknowledged by every sink. Replayed events of those windows are skipped,
//!   so an emitted window is never rewritten with partial data.
//! - `position`: the next offset the job had not yet read when it committed.
//!   Messages before it were fully handled (counted, or dead-lettered and
//!   acknowledged); a replay skips the ones that belong to emitted windows and
//!   does not dead-letter rejected ones twice.

/// Per-partition checkpoint, stored as `slipstream/1 frontier=N position=N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Nanoseconds since the epoch; windows ending at or before it are done.
    pub frontier_ns: i64,
    /// Next offset not yet read at commit time.
    pub position: i64,
}

const PREFIX: &str = "slipstream/1";

impl Checkpoint {
    pub fn encode(&self) -> String {
        format!(
            "{PREFIX} frontier={} position={}",
            self.frontier_ns, self.position
        )
    }

    /// Reads a checkpoint; `None` for empty or foreign metadata.
    pub fn decode(metadata: &str) -> Option<Checkpoint> {
        let rest = metadata.strip_prefix(PREFIX)?;
        let mut frontier_ns = None;
        let mut position = None;
        for part in rest.split_whitespace() {
            match part.split_once('=')? {
                ("frontier", v) => frontier_ns = v.parse().ok(),
                ("position", v) => position = v.parse().ok(),
                _ => {}
            }
        }
        Some(Checkpoint {
            frontier_ns: frontier_ns?,
            position: position?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_foreign_metadata() {
        let c = Checkpoint {
            frontier_ns: -5,
            position: 1234,
        };
        assert_eq!(Checkpoint::decode(&c.encode()), Some(c));
        assert_eq!(Checkpoint::decode(""), None);
        assert_eq!(Checkpoint::decode("written by another tool"), None);
        assert_eq!(Checkpoint::decode("slipstream/1 frontier=1"), None);
    }
}
