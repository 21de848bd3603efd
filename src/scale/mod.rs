//! Scale-out: many instances in one consumer group, one exact answer.
//!
//! `slipstream run --role ingest` instances share the source partitions
//! through the consumer group. Each keeps the windows of every partition it
//! owns apart, closes them on the partition's own watermark, and sends them
//! as *partial windows* to the internal topic `<group_id>-partials`, with
//! each partition's progress. `--role rollup` instances, in the group
//! `<group_id>-rollup`, merge the partials into complete windows once every
//! source partition has passed them and write the `window`, `slo` and
//! `alert` records to the sinks ([`rollup`]). `--role all` does both in one
//! process, merging in memory.
//!
//! The SLIs are spread over the partials partitions by a hash of their name,
//! so all of one SLI's partials meet on one partition, in the order its
//! ingest instance sent them; progress reports go to every partition.

pub mod codec;
pub mod rollup;

use anyhow::Result;
use rdkafka::config::ClientConfig;

pub use codec::{Message, Partial, Source, SourceState};

use crate::config::Config;
use crate::kafka::admin;
use crate::stream::Handover;

/// The topic between the stages.
pub fn partials_topic(group_id: &str) -> String {
    format!("{group_id}-partials")
}

/// The consumer group of the rollup stage.
pub fn rollup_group(group_id: &str) -> String {
    format!("{group_id}-rollup")
}

/// The partials partition an SLI's partials go to: FNV-1a of its name.
pub fn partition_of(sli: &str, partitions: i32) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in sli.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % partitions.max(1) as u32) as i32
}

/// Messages for the partials topic, as (partials partition, payload).
#[derive(Debug, Default)]
pub struct Outgoing {
    pub partials: Vec<(i32, Vec<u8>)>,
    /// Sent only once every partial is acknowledged: a report says that the
    /// partials it covers are on the topic before it.
    pub progress: Vec<(i32, Vec<u8>)>,
}

impl Outgoing {
    pub fn is_empty(&self) -> bool {
        self.partials.is_empty() && self.progress.is_empty()
    }

    /// Every message, partials first.
    pub fn in_order(self) -> Vec<(i32, Vec<u8>)> {
        let mut all = self.partials;
        all.extend(self.progress);
        all
    }
}

/// The messages for a hand-over: one partial per closed or snapshot window
/// per partials partition (even with no event of its SLIs, so the rollup
/// knows the window exists), and, when `with_progress`, one progress report
/// per partials partition.
pub fn messages(
    config: &Config,
    topics: &[String],
    handover: &Handover,
    partitions: i32,
    with_progress: bool,
) -> Outgoing {
    let size = partitions.max(1);
    let q_of: Vec<i32> = config
        .slis
        .iter()
        .map(|s| partition_of(&s.name, size))
        .collect();
    let source = |(t, p): (usize, i32)| (topics[t].clone(), p);
    let mut out = Outgoing::default();
    let windows = handover
        .closed
        .iter()
        .map(|(key, w)| (*key, w, None))
        .chain(
            handover
                .snapshots
                .iter()
                .map(|(key, through, w)| (*key, w, Some(*through))),
        );
    for (key, w, snapshot_through) in windows {
        // A closed window covers everything its partition will ever count
        // in it: its version is the greatest possible.
        let through = snapshot_through.unwrap_or(i64::MAX);
        for q in 0..size {
            let slis = config
                .slis
                .iter()
                .zip(w.slis.iter())
                .zip(&q_of)
                .filter(|((_, sw), &sq)| sq == q && sw.total > 0)
                .map(|((s, sw), _)| (s.name.clone(), sw.clone()))
                .collect();
            let m = Message::Partial(Partial {
                source: source(key),
                start_ns: w.start_ns,
                through,
                slis,
            });
            out.partials.push((q, m.encode()));
        }
    }
    if with_progress && !handover.progress.is_empty() {
        let report = Message::Progress(
            handover
                .progress
                .iter()
                .map(|p| {
                    (
                        source(p.key),
                        SourceState {
                            frontier_ns: p.frontier_ns,
                            watermark_ns: p.watermark_ns,
                            idle: p.idle,
                        },
                    )
                })
                .collect(),
        )
        .encode();
        for q in 0..size {
            out.progress.push((q, report.clone()));
        }
    }
    out
}

/// Largest partials message: a window of an SLI with a full breakdown.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Makes sure the partials topic exists, creating it with `partitions`
/// partitions when missing, and returns its partition count.
pub fn ensure_partials_topic(base: &ClientConfig, topic: &str, partitions: i32) -> Result<i32> {
    crate::kafka::admin::ensure_topic(
        base,
        &admin::NewTopicSpec {
            what: "the partials topic",
            name: topic,
            partitions,
            max_message_bytes: MAX_MESSAGE_BYTES,
        },
    )
}
