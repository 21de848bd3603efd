//! The `window` record: one SLI in one window.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{OrderedMap, RecordKind};

/// A `kind = "window"` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowRecord {
    pub kind: RecordKind,
    pub sli: String,
    /// For a grouped SLI: the group's value of each `group_by` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    pub window_start: String,
    pub window_end: String,
    pub total: u64,
    pub good: u64,
    pub bad: u64,
    pub invalid: u64,
    /// good / (good + bad); `null` when no event was valid.
    pub compliance: Option<f64>,
    pub target: Option<f64>,
    pub latency: Option<LatencySummary>,
    /// The window's latencies in microseconds: HdrHistogram's V2
    /// compressed encoding, base64, for percentiles over any set of windows.
    pub latency_histogram: Option<String>,
    /// For SLIs with a `breakdown`: per field, the values of the bad events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Breakdown>,
}

/// The fields of a window record that objectives are rebuilt from: a
/// whole record reads as one, and so does the lean row a store gives back
/// for a rebuild (`kind`, `sli`, `window_start`, `good`, `bad`, `latency`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WindowCounts {
    pub kind: RecordKind,
    pub sli: String,
    #[serde(default)]
    pub group: Option<Group>,
    pub window_start: String,
    pub good: u64,
    pub bad: u64,
    #[serde(default)]
    pub latency: Option<LatencySummary>,
}

impl WindowCounts {
    /// One line of a sink's history, if it is a window record.
    pub fn parse(line: &str) -> Option<WindowCounts> {
        serde_json::from_str::<WindowCounts>(line)
            .ok()
            .filter(|w| w.kind == RecordKind::Window)
    }
}

/// A group of a grouped SLI: per `group_by` field (in the SLI's order), its
/// value, `null` where the events lacked the field.
pub type Group = OrderedMap<Option<String>>;

/// Per breakdown field (in the SLI's order), keyed by the field's path.
pub type Breakdown = OrderedMap<BreakdownField>;

/// One breakdown field: whether the counts are exact, how many distinct
/// values were counted, and the values with the most bad events, most first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownField {
    pub exact: bool,
    pub distinct: usize,
    pub top: Vec<TopValue>,
}

/// One value of a breakdown field and its bad events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopValue {
    pub value: String,
    pub bad: u64,
}

/// Latency of the window in milliseconds, whatever the input unit:
/// `{"unit": "ms", "count", "min", "mean", "p50", ..., "max"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    /// Keyed `p50`, `p99`, ... in the order the SLI lists them.
    pub percentiles: Vec<(String, f64)>,
    pub max: f64,
}

impl LatencySummary {
    /// The percentile keyed `key` (`p50`, `p99.9` as `p999`), if listed.
    pub fn percentile(&self, key: &str) -> Option<f64> {
        self.percentiles
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
    }
}

impl Serialize for LatencySummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5 + self.percentiles.len()))?;
        m.serialize_entry("unit", "ms")?;
        m.serialize_entry("count", &self.count)?;
        m.serialize_entry("min", &self.min)?;
        m.serialize_entry("mean", &self.mean)?;
        for (k, v) in &self.percentiles {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("max", &self.max)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for LatencySummary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Summary;
        impl<'de> Visitor<'de> for Summary {
            type Value = LatencySummary;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a latency object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let (mut count, mut min, mut mean, mut max) = (None, None, None, None);
                let mut percentiles = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "unit" => {
                            let unit: String = map.next_value()?;
                            if unit != "ms" {
                                return Err(A::Error::custom(format!(
                                    "latency unit {unit:?}, expected \"ms\""
                                )));
                            }
                        }
                        "count" => count = Some(map.next_value()?),
                        "min" => min = Some(map.next_value()?),
                        "mean" => mean = Some(map.next_value()?),
                        "max" => max = Some(map.next_value()?),
                        _ => percentiles.push((key, map.next_value()?)),
                    }
                }
                Ok(LatencySummary {
                    count: count.ok_or_else(|| A::Error::missing_field("count"))?,
                    min: min.ok_or_else(|| A::Error::missing_field("min"))?,
                    mean: mean.ok_or_else(|| A::Error::missing_field("mean"))?,
                    percentiles,
                    max: max.ok_or_else(|| A::Error::missing_field("max"))?,
                })
            }
        }
        d.deserialize_map(Summary)
    }
}
