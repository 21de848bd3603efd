//! The timestamp role read from text, in every `timestamp_format`: RFC 3339
//! and ISO 8601, Common Log Format, Unix numbers with fractions, strftime.
//! `auto` tries RFC 3339 first (the common case, parsed with the minute
//! cache), then the other forms.

use crate::config::TimestampFormat;
use crate::time::{self, UnixUnit};

/// A timestamp written as text, in nanoseconds since the epoch.
#[inline]
pub fn parse_text(
    format: &TimestampFormat,
    s: &str,
    rfc3339: &mut time::Rfc3339Parser,
) -> Option<i64> {
    let b = s.as_bytes();
    match format {
        TimestampFormat::Rfc3339 => rfc3339.parse(b).or_else(|| time::parse_iso8601(b)),
        TimestampFormat::Clf => time::parse_clf(b),
        TimestampFormat::Strftime(f) => time::parse_strftime(s, f),
        TimestampFormat::Unix(UnixUnit::Auto) => rfc3339.parse(b).or_else(|| auto(s)),
        TimestampFormat::Unix(unit) => unix_text(s, *unit),
    }
}

/// `auto` past RFC 3339: ISO 8601, CLF (with or without its brackets), a
/// Unix number written as a string.
#[cold]
fn auto(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    time::parse_iso8601(b)
        .or_else(|| time::parse_clf(s.trim_start_matches('[').trim_end_matches(']').as_bytes()))
        .or_else(|| unix_text(s, UnixUnit::Auto))
}

/// A Unix timestamp written as text: integers and plain decimals exactly
/// (`1795773600.25` is 250 ms past the second, not a float's neighbour),
/// anything else (exponents) as a float.
pub fn unix_text(s: &str, unit: UnixUnit) -> Option<i64> {
    if let Ok(i) = s.parse::<i64>() {
        return time::from_unix_int(i, unit);
    }
    if let Some((int, frac)) = s.split_once('.') {
        if let (Ok(i), true) = (int.parse::<i64>(), frac.bytes().all(|b| b.is_ascii_digit())) {
            let whole = time::from_unix_int(i, unit)?;
            // Nanoseconds per unit of the integer part, found from the whole part.
            let per_unit = if i == 0 { 0 } else { whole / i };
            let mut frac_ns: i64 = 0;
            let mut scale = per_unit;
            for d in frac.bytes().take(18) {
                scale /= 10;
                frac_ns += i64::from(d - b'0') * scale;
            }
            let signed = if int.starts_with('-') {
                -frac_ns
            } else {
                frac_ns
            };
            if per_unit != 0 {
                return whole.checked_add(signed);
            }
        }
    }
    let f: f64 = s.trim().parse().ok()?;
    time::from_unix(f, unit)
}
