//! slipstream turns request logs into exact SLI and SLO numbers.
//!
//! The pipeline flows one way: bytes are decoded into [`event::Event`]s
//! ([`decode`]), classified good, bad or invalid per SLI by compiled
//! [`rules`], counted in event-time windows ([`window`]) by the [`engine`],
//! and written as records to sinks ([`sinks`]). [`backfill`] drives that
//! pipeline over archived logs; [`synth`] makes synthetic logs for demos and
//! benchmarks.

pub mod backfill;
pub mod cli;
pub mod config;
pub mod dead_letter;
pub mod decode;
pub mod demo;
pub mod engine;
pub mod event;
pub mod explain;
pub mod kafka;
pub mod names;
pub mod openslo;
pub mod record;
pub mod reject;
pub mod report;
pub mod rules;
pub mod scale;
pub mod setup;
pub mod short_key;
pub mod sinks;
pub mod slo;
pub mod sources;
pub mod stream;
pub mod synth;
pub mod telemetry;
#[cfg(test)]
mod testing;
pub mod time;
pub mod topology;
pub mod window;
