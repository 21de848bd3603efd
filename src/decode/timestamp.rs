//! The timestamp role read from text, in every `timestamp_format`: RFC 3339
//! and ISO 8601, Common Log Format, CloudFront's date and time, Unix numbers
//! with fractions, strftime. `auto` tries RFC 3339 first (the common case,
//! parsed with the minute cache), then the other forms.

use super::settings::TimestampFormat;
use crate::time::{self, days_from_civil, days_in_month, digits, UnixUnit, NANOS_PER_SEC};

/// A timestamp written as text, in nanoseconds since the epoch.
#[inline]
pub fn parse_text(format: &TimestampFormat, s: &str, parsers: &mut Parsers) -> Option<i64> {
    let b = s.as_bytes();
    match format {
        TimestampFormat::Rfc3339 => parsers.rfc3339.parse(b).or_else(|| parse_iso8601(b)),
        TimestampFormat::Clf => parsers.clf.parse(b),
        TimestampFormat::Strftime(f) => parse_strftime(s, f),
        TimestampFormat::Unix(UnixUnit::Auto) => parsers.rfc3339.parse(b).or_else(|| auto(s)),
        TimestampFormat::Unix(unit) => unix_text(s, *unit),
    }
}

/// `auto` past RFC 3339: ISO 8601, CLF (with or without its brackets), a
/// Unix number written as a string.
#[cold]
fn auto(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    parse_iso8601(b)
        .or_else(|| parse_clf(s.trim_start_matches('[').trim_end_matches(']').as_bytes()))
        .or_else(|| unix_text(s, UnixUnit::Auto))
}

/// A Unix timestamp written as text: integers and plain decimals exactly
/// (`1795773600.25` is 250 ms past the second, not a float's neighbour),
/// anything else (exponents) as a float.
pub fn unix_text(s: &str, unit: UnixUnit) -> Option<i64> {
    if let Some(i) = plain_int(s.as_bytes()).or_else(|| s.parse::<i64>().ok()) {
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

/// `1767225600123`: digits only, at most 18 of them (never overflowing),
/// read one by one; the standard parser's generality costs more per line.
#[inline]
fn plain_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 18 {
        return None;
    }
    let mut v = 0i64;
    for &c in s {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(v)
}

/// Seconds since the epoch of a civil date and time, checked.
fn civil_secs(year: i64, month: u32, day: u32, h: u32, m: u32, sec: u32) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || h > 23
        || m > 59
        || sec > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + i64::from(h * 3600 + m * 60 + sec))
}

/// A fraction of a second after its `.` or `,`, in nanoseconds, and the
/// bytes it took (0 when there is none). Digits past the ninth are dropped.
fn fraction(s: &[u8], at: usize) -> Option<(i64, usize)> {
    if !matches!(s.get(at), Some(b'.' | b',')) {
        return Some((0, 0));
    }
    let mut i = at + 1;
    let mut nanos = 0i64;
    let mut scale = 100_000_000i64;
    while let Some(&b) = s.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        nanos += i64::from(b - b'0') * scale;
        scale /= 10;
        i += 1;
    }
    (i > at + 1).then_some((nanos, i - at))
}

/// A zone offset in seconds at the end of a timestamp: `Z`, `+09:00`,
/// `+0900`, `+09`, or nothing (UTC). `None` when bytes remain after it.
fn zone_offset(z: &[u8]) -> Option<i64> {
    let (sign, rest) = match z {
        [] | [b'Z' | b'z'] => return Some(0),
        [b'+', rest @ ..] => (1, rest),
        [b'-', rest @ ..] => (-1, rest),
        _ => return None,
    };
    let (h, m) = match rest {
        [h1, h2] => (digits(&[*h1, *h2], 0, 2)?, 0),
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
            (digits(&[*h1, *h2], 0, 2)?, digits(&[*m1, *m2], 0, 2)?)
        }
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * i64::from(h * 3600 + m * 60))
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The time parsers of one decoder, each remembering the last minute it
/// read: the lines of a log mostly share their date, hour and minute, which
/// are then compared rather than parsed again.
#[derive(Debug, Clone, Default)]
pub struct Parsers {
    pub rfc3339: time::Rfc3339Parser,
    pub clf: ClfParser,
}

/// Parses a Common Log Format time, `10/Oct/2026:13:55:36 +0900` (nginx's
/// `$time_local`, Apache's `%t` without its brackets), into nanoseconds
/// since the epoch. A fraction after the seconds (`12:14:14.655`, as
/// HAProxy writes) is read; without a zone the time is taken as UTC.
pub fn parse_clf(s: &[u8]) -> Option<i64> {
    ClfParser::default().parse(s)
}

/// `10/Oct/2026:13:55`: the part of a CLF time up to its minute.
const CLF_MINUTE_BYTES: usize = 17;

/// [`parse_clf`] that remembers the last minute it read, as
/// [`time::Rfc3339Parser`] does.
#[derive(Debug, Clone, Default)]
pub struct ClfParser {
    /// The last valid `dd/Mon/yyyy:HH:MM` and its start in seconds (as UTC).
    memo: time::MinuteMemo<CLF_MINUTE_BYTES>,
}

impl ClfParser {
    #[inline]
    pub fn parse(&mut self, s: &[u8]) -> Option<i64> {
        if s.len() < 20 || s[17] != b':' {
            return None;
        }
        let head: &[u8; CLF_MINUTE_BYTES] = s[..CLF_MINUTE_BYTES].try_into().ok()?;
        let minute = self.memo.minute(head, clf_minute)?;
        let sec = digits(s, 18, 2)?;
        if sec > 60 {
            return None;
        }
        let (nanos, used) = fraction(s, 20)?;
        let zone = match &s[20 + used..] {
            [] => 0,
            [b' ', z @ ..] => zone_offset(z)?,
            _ => return None,
        };
        let secs = minute + i64::from(sec) - zone;
        secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)
    }
}

/// `10/Oct/2026:13:55` in seconds since the epoch, as UTC.
fn clf_minute(s: &[u8; CLF_MINUTE_BYTES]) -> Option<i64> {
    if s[2] != b'/' || s[6] != b'/' || s[11] != b':' || s[14] != b':' {
        return None;
    }
    let day = digits(s, 0, 2)?;
    let month = MONTHS.iter().position(|m| m[..] == s[3..6])? as u32 + 1;
    let year = i64::from(digits(s, 7, 4)?);
    let (h, m) = (digits(s, 12, 2)?, digits(s, 15, 2)?);
    civil_secs(year, month, day, h, m, 0)
}

/// Parses an ISO 8601 date and time: RFC 3339 (`2026-10-10T13:55:36+09:00`)
/// and the forms around it that servers write — a zone as `+0900` or `+09`,
/// a `,` before the fraction, no zone at all (taken as UTC).
pub fn parse_iso8601(s: &[u8]) -> Option<i64> {
    if let Some(t) = time::parse_rfc3339(s) {
        return Some(t);
    }
    if s.len() < 19
        || s[4] != b'-'
        || s[7] != b'-'
        || !matches!(s[10], b'T' | b't' | b' ')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (
        i64::from(digits(s, 0, 4)?),
        digits(s, 5, 2)?,
        digits(s, 8, 2)?,
    );
    let (h, m, sec) = (digits(s, 11, 2)?, digits(s, 14, 2)?, digits(s, 17, 2)?);
    let (nanos, used) = fraction(s, 19)?;
    let zone = zone_offset(&s[19 + used..])?;
    let secs = civil_secs(year, month, day, h, m, sec)? - zone;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)
}

/// Parses `YYYY-MM-DD` and `HH:MM:SS` given apart (CloudFront's `date` and
/// `time` columns), in UTC.
pub fn parse_date_and_time(date: &[u8], time: &[u8]) -> Option<i64> {
    if date.len() != 10 || date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    if time.len() < 8 || time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (nanos, used) = fraction(time, 8)?;
    if 8 + used != time.len() {
        return None;
    }
    let secs = civil_secs(
        i64::from(digits(date, 0, 4)?),
        digits(date, 5, 2)?,
        digits(date, 8, 2)?,
        digits(time, 0, 2)?,
        digits(time, 3, 2)?,
        digits(time, 6, 2)?,
    )?;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)
}

/// Parses `s` with a strftime format (chrono's syntax: `%d/%b/%Y:%H:%M:%S %z`).
/// Without a zone in the format the time is taken as UTC.
pub fn parse_strftime(s: &str, format: &str) -> Option<i64> {
    let dt = match chrono::DateTime::parse_from_str(s, format) {
        Ok(dt) => dt.naive_utc(),
        Err(_) => chrono::NaiveDateTime::parse_from_str(s, format).ok()?,
    };
    dt.and_utc().timestamp_nanos_opt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clf_parser_that_remembers_its_minute_reads_each_line_as_chrono_does() {
        let lines = [
            "10/Oct/2026:13:55:36 +0900",
            "10/Oct/2026:13:55:59 +0900",
            "10/Oct/2026:13:55:01 -0130",
            "10/Oct/2026:13:56:00 +0900",
            "10/Oct/2026:13:55:36 +0900",
            "31/Dec/2026:23:59:59 +0000",
            "01/Jan/2027:00:00:00 +0000",
            "29/Feb/2028:12:00:00 +1400",
        ];
        let mut parser = ClfParser::default();
        for line in lines {
            let want = chrono::DateTime::parse_from_str(line, "%d/%b/%Y:%H:%M:%S %z")
                .unwrap()
                .timestamp()
                * NANOS_PER_SEC;
            assert_eq!(parser.parse(line.as_bytes()), Some(want), "{line}");
        }
        // A bad line between good ones of the same minute is still bad, and
        // does not change what the next one reads.
        for (line, ok) in [
            ("10/Oct/2026:13:55:36 +0900", true),
            ("10/Oct/2026:13:55:61 +0900", false),
            ("10/Oct/2026:13:55:3x +0900", false),
            ("10/Oct/2026:13:55:36 +2500", false),
            ("31/Feb/2026:13:55:36 +0900", false),
            ("10/Oct/2026:13:55:36 +0900", true),
        ] {
            assert_eq!(parser.parse(line.as_bytes()).is_some(), ok, "{line}");
        }
    }

    #[test]
    fn reads_common_log_format_iso_8601_and_strftime_times() {
        // 2026-10-10T04:55:36Z written in the ways servers write it.
        let utc = 1_791_608_136 * NANOS_PER_SEC;
        assert_eq!(parse_clf(b"10/Oct/2026:13:55:36 +0900"), Some(utc));
        assert_eq!(parse_clf(b"10/Oct/2026:04:55:36 +0000"), Some(utc));
        assert_eq!(parse_clf(b"09/Oct/2026:23:25:36 -0530"), Some(utc));
        assert_eq!(
            parse_clf(b"10/Oct/2026:04:55:36.655"),
            Some(utc + 655_000_000)
        );
        assert_eq!(parse_clf(b"10/Oct/2026:04:55:36"), Some(utc));
        for bad in [
            &b"10/Okt/2026:13:55:36 +0900"[..],
            b"31/Apr/2026:13:55:36 +0900",
            b"10/Oct/2026:13:55:36 +09001",
            b"10/Oct/2026 13:55:36 +0900",
            b"[10/Oct/2026:13:55:36 +0900]",
        ] {
            assert_eq!(parse_clf(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        for good in [
            &b"2026-10-10T13:55:36+09:00"[..],
            b"2026-10-10T13:55:36+0900",
            b"2026-10-10T13:55:36+09",
            b"2026-10-10T04:55:36Z",
            b"2026-10-10T04:55:36",
            b"2026-10-10 04:55:36",
            b"2026-10-09T23:55:36-05:00",
        ] {
            assert_eq!(
                parse_iso8601(good),
                Some(utc),
                "{}",
                String::from_utf8_lossy(good)
            );
        }
        assert_eq!(
            parse_iso8601(b"2026-10-10T13:55:36,25+09:00"),
            Some(utc + 250_000_000)
        );
        assert_eq!(parse_iso8601(b"2026-10-10T13:55:36+9"), None);
        assert_eq!(parse_date_and_time(b"2026-10-10", b"04:55:36"), Some(utc));
        assert_eq!(parse_date_and_time(b"2026-10-10", b"04:55"), None);
        assert_eq!(
            parse_strftime("10/Oct/2026:13:55:36 +0900", "%d/%b/%Y:%H:%M:%S %z"),
            Some(utc)
        );
        assert_eq!(
            parse_strftime("2026.10.10 04h55m36", "%Y.%m.%d %Hh%Mm%S"),
            Some(utc)
        );
        assert_eq!(parse_strftime("yesterday", "%Y.%m.%d"), None);
    }
}
