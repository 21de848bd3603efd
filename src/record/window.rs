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

impl WindowRecord {
    /// The record as one line of JSON: the bytes its [`Serialize`] gives,
    /// written field by field, since a backfill writes millions of them.
    pub fn to_json(&self) -> String {
        let histogram = self.latency_histogram.as_ref().map_or(0, String::len);
        // Room for the fields of a record with latencies, so that the
        // line is written without growing.
        let mut out = String::with_capacity(480 + histogram);
        out.push_str("{\"kind\":\"");
        out.push_str(self.kind.as_str());
        out.push_str("\",\"sli\":");
        json::string(&mut out, &self.sli);
        if let Some(group) = &self.group {
            out.push_str(",\"group\":{");
            for (i, (field, value)) in group.0.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json::string(&mut out, field);
                out.push(':');
                match value {
                    Some(v) => json::string(&mut out, v),
                    None => out.push_str("null"),
                }
            }
            out.push('}');
        }
        out.push_str(",\"window_start\":");
        json::string(&mut out, &self.window_start);
        out.push_str(",\"window_end\":");
        json::string(&mut out, &self.window_end);
        for (name, n) in [
            ("total", self.total),
            ("good", self.good),
            ("bad", self.bad),
            ("invalid", self.invalid),
        ] {
            out.push_str(",\"");
            out.push_str(name);
            out.push_str("\":");
            json::int(&mut out, n);
        }
        out.push_str(",\"compliance\":");
        json::float_or_null(&mut out, self.compliance);
        out.push_str(",\"target\":");
        json::float_or_null(&mut out, self.target);
        out.push_str(",\"latency\":");
        match &self.latency {
            Some(l) => l.write_json(&mut out),
            None => out.push_str("null"),
        }
        out.push_str(",\"latency_histogram\":");
        match &self.latency_histogram {
            Some(h) => json::string(&mut out, h),
            None => out.push_str("null"),
        }
        if let Some(breakdown) = &self.breakdown {
            out.push_str(",\"breakdown\":");
            out.push_str(&serde_json::to_string(breakdown).unwrap_or_default());
        }
        out.push('}');
        out
    }
}

/// JSON values written as serde_json writes them.
mod json {
    /// A string, escaped where JSON needs it.
    pub fn string(out: &mut String, s: &str) {
        if needs_escape(s.as_bytes()) {
            out.push_str(&serde_json::to_string(s).unwrap_or_default());
        } else {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
    }

    /// Whether `s` holds a control character, a quote or a backslash;
    /// eight bytes at a time, since most strings are long and need none.
    pub(super) fn needs_escape(s: &[u8]) -> bool {
        const ONES: u64 = u64::from_ne_bytes([1; 8]);
        const HIGH: u64 = ONES << 7;
        // A byte below `n` (at most 128) sets its high bit here, and only
        // when some byte is: which one does not matter.
        let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
        let equal = |x: u64, b: u8| below(x ^ (ONES * u64::from(b)), 1);
        let mut chunks = s.chunks_exact(8);
        for chunk in &mut chunks {
            let x = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
            if below(x, 0x20) | equal(x, b'"') | equal(x, b'\\') != 0 {
                return true;
            }
        }
        chunks
            .remainder()
            .iter()
            .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
    }

    pub fn int(out: &mut String, n: u64) {
        out.push_str(itoa::Buffer::new().format(n));
    }

    /// A number, or `null` for none and for what JSON cannot hold.
    pub fn float_or_null(out: &mut String, f: Option<f64>) {
        match f {
            Some(f) => float(out, f),
            None => out.push_str("null"),
        }
    }

    pub fn float(out: &mut String, f: f64) {
        if f.is_finite() {
            out.push_str(zmij::Buffer::new().format_finite(f));
        } else {
            out.push_str("null");
        }
    }
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

    /// The object its [`Serialize`] gives, written field by field.
    fn write_json(&self, out: &mut String) {
        out.push_str("{\"unit\":\"ms\",\"count\":");
        json::int(out, self.count);
        out.push_str(",\"min\":");
        json::float(out, self.min);
        out.push_str(",\"mean\":");
        json::float(out, self.mean);
        for (key, v) in &self.percentiles {
            out.push(',');
            json::string(out, key);
            out.push(':');
            json::float(out, *v);
        }
        out.push_str(",\"max\":");
        json::float(out, self.max);
        out.push('}');
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{below, pick, xorshift};

    /// A string of pieces JSON escapes and pieces it does not.
    fn text(x: &mut u64) -> String {
        let pieces = [
            "r", "/api/v1", "\"", "\\", "\n", "\u{1}", "\u{7f}", "é", "日本", "p99", " ",
        ];
        (0..below(x, 12)).map(|_| pick(x, &pieces)).collect()
    }

    /// A float of any kind JSON meets, non-finite ones included.
    fn float(x: &mut u64) -> f64 {
        let specials = [
            0.0,
            -0.0,
            1e-7,
            1e21,
            0.1,
            f64::NAN,
            f64::INFINITY,
            123456.789,
        ];
        match below(x, 3) {
            0 => specials[below(x, specials.len() as u64) as usize],
            1 => below(x, 1_000_000) as f64 / 1000.0,
            _ => f64::from_bits(xorshift(x)),
        }
    }

    fn maybe<T>(x: &mut u64, f: impl FnOnce(&mut u64) -> T) -> Option<T> {
        (below(x, 3) > 0).then(|| f(x))
    }

    fn record(x: &mut u64) -> WindowRecord {
        WindowRecord {
            kind: RecordKind::Window,
            sli: text(x),
            group: maybe(x, |x| {
                OrderedMap(
                    (0..below(x, 3))
                        .map(|_| (text(x), maybe(x, text)))
                        .collect(),
                )
            }),
            window_start: text(x),
            window_end: text(x),
            total: xorshift(x),
            good: below(x, 1000),
            bad: xorshift(x) >> below(x, 64),
            invalid: 0,
            compliance: maybe(x, float),
            target: maybe(x, float),
            latency: maybe(x, |x| LatencySummary {
                count: xorshift(x),
                min: float(x),
                mean: float(x),
                percentiles: (0..below(x, 4)).map(|_| (text(x), float(x))).collect(),
                max: float(x),
            }),
            latency_histogram: maybe(x, text),
            breakdown: maybe(x, |x| {
                OrderedMap(vec![(
                    text(x),
                    BreakdownField {
                        exact: below(x, 2) == 0,
                        distinct: below(x, 100) as usize,
                        top: vec![TopValue {
                            value: text(x),
                            bad: xorshift(x),
                        }],
                    },
                )])
            }),
        }
    }

    /// The record written by hand is the one serde writes, byte for byte.
    #[test]
    fn a_window_record_is_written_as_serde_writes_it() {
        let mut x = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5_000 {
            let r = record(&mut x);
            assert_eq!(r.to_json(), serde_json::to_string(&r).unwrap(), "{r:?}");
        }
    }

    /// Every byte at every place of a string, among bytes that need no
    /// escape and bytes past ASCII: found exactly when JSON escapes it.
    #[test]
    fn a_byte_needs_escape_wherever_it_sits() {
        let naive = |s: &[u8]| s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for fill in [b'a', 0xff, 0x20, 0x80] {
            for len in 0..20 {
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut s = vec![fill; len];
                        s[at] = b;
                        assert_eq!(json::needs_escape(&s), naive(&s), "{s:?}");
                    }
                }
            }
        }
    }
}
