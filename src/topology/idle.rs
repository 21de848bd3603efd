//! An ingest instance's idle partitions, checked against their end offsets
//! before they are reported idle. The consumer learns of new messages at
//! its next fetch, which may come late (a busy or stopped process, a broker
//! that holds an empty fetch back); a partition reported idle while
//! messages wait in it lets the rollup close its windows without them,
//! once another instance reports its own partitions past them.

use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;

use super::Runner;

/// How long a look at a partition's end offset may take; one that does not
/// answer in time counts as having more to read (an outage never makes a
/// partition idle).
const END_TIMEOUT: Duration = Duration::from_millis(500);

impl Runner<'_> {
    /// Each partition that would be reported idle: its end offset now,
    /// against the one when it first counted as idle. A partition whose end
    /// moved since, or that cannot be looked at, is not idle until the
    /// consumer reaches its end again.
    pub(super) fn confirm_idle(&mut self, now: Instant) {
        let candidates = self.shared.job().idle_candidates(now);
        self.idle_ends.retain(|k, _| candidates.contains(k));
        let mut reachable = true;
        for key in candidates {
            let end = if reachable {
                self.consumer
                    .fetch_watermarks(&self.shared.topics[key.0], key.1, END_TIMEOUT)
                    .ok()
                    .map(|(_, high)| high)
            } else {
                None
            };
            reachable = end.is_some();
            let moved = match (end, self.idle_ends.get(&key)) {
                (None, _) => true,
                (Some(end), Some(&first)) => end > first,
                (Some(end), None) => {
                    self.idle_ends.insert(key, end);
                    false
                }
            };
            if moved {
                self.idle_ends.remove(&key);
                self.shared.job().more_to_read(key);
            }
        }
    }
}
