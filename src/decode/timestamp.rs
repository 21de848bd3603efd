//! The timestamp role read from text, in every `timestamp_format`: RFC 3339
//! and ISO 8601, Common Log Format, CloudFront's date and time, Unix numbers
//! with fractions, strftime. `auto` tries RFC 3339 first (the common case,
//! parsed with the minute cache), then the other forms.

use super::settings::TimestampFormat;
use crate::time::{self, days_from_civil, days_in_month, digits, UnixUnit, NANOS_PER_SEC};

/// A timestamp written as text, in nanoseconds since the epoch. A time
/// written without an offset is in `[decode] timezone` (UTC by default).
#[inline]
pub fn parse_text(format: &TimestampFormat, s: &str, parsers: &mut Parsers) -> Option<i64> {
    let b = s.as_bytes();
    let zoned = |t: i64| (t, true);
    let (t, has_offset) = match format {
        TimestampFormat::Rfc3339 => parsers
            .rfc3339
            .parse(b)
            .map(zoned)
            .or_else(|| iso8601_local(b))?,
        TimestampFormat::Clf => parsers.clf.parse_local(b)?,
        TimestampFormat::Strftime(f) => strftime_local(s, f)?,
        TimestampFormat::Unix(UnixUnit::Auto) => {
            parsers.rfc3339.parse(b).map(zoned).or_else(|| auto(s))?
        }
        TimestampFormat::Unix(unit) => zoned(unix_text(s, *unit)?),
    };
    match &mut parsers.zone {
        Some(zone) if !has_offset => zone.utc_of(t),
        _ => Some(t),
    }
}

/// `auto` past RFC 3339: ISO 8601, CLF (with or without its brackets), a
/// Unix number written as a string; whether the time had an offset.
#[cold]
fn auto(s: &str) -> Option<(i64, bool)> {
    let b = s.as_bytes();
    iso8601_local(b)
        .or_else(|| {
            ClfParser::default()
                .parse_local(s.trim_start_matches('[').trim_end_matches(']').as_bytes())
        })
        .or_else(|| unix_text(s, UnixUnit::Auto).map(|t| (t, true)))
}

/// The zone of times written without an offset, remembering the offset of
/// the last local hour it converted: offsets change on whole local hours
/// (daylight saving), and the lines of a log mostly share their hour.
#[derive(Debug, Clone)]
pub struct LocalZone {
    tz: chrono_tz::Tz,
    /// The local hour (seconds since the epoch as if UTC, divided by 3600)
    /// whose offset is `offset`.
    hour: i64,
    /// Seconds to subtract from a local time of that hour to get UTC.
    offset: i64,
}

impl LocalZone {
    pub fn new(tz: chrono_tz::Tz) -> LocalZone {
        LocalZone {
            tz,
            hour: i64::MIN,
            offset: 0,
        }
    }

    /// `local_ns`, a wall-clock time in this zone read as if it were UTC,
    /// in UTC. A time that occurs twice (clocks going back) is the first;
    /// one that does not occur (clocks going forward) is read with the
    /// offset before the change.
    #[inline]
    pub fn utc_of(&mut self, local_ns: i64) -> Option<i64> {
        let hour = local_ns.div_euclid(NANOS_PER_SEC).div_euclid(3600);
        if hour != self.hour {
            self.offset = offset_of_local_hour(self.tz, hour)?;
            self.hour = hour;
        }
        local_ns.checked_sub(self.offset * NANOS_PER_SEC)
    }
}

#[cold]
fn offset_of_local_hour(tz: chrono_tz::Tz, hour: i64) -> Option<i64> {
    use chrono::{LocalResult, Offset, TimeZone};
    let local = chrono::DateTime::from_timestamp(hour.checked_mul(3600)?, 0)?.naive_utc();
    let offset = match tz.offset_from_local_datetime(&local) {
        LocalResult::Single(o) | LocalResult::Ambiguous(o, _) => o.fix(),
        // In the gap: the offset in force a few hours before it.
        LocalResult::None => tz
            .offset_from_utc_datetime(&(local - chrono::Duration::hours(3)))
            .fix(),
    };
    Some(i64::from(offset.local_minus_utc()))
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
/// read eight at a time; the standard parser's generality costs more per
/// line.
#[inline]
fn plain_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 18 {
        return None;
    }
    let (mut at, mut v) = (0, 0u64);
    super::digits::run(s, &mut at, &mut v);
    // At most 18 digits: below i64::MAX.
    (at == s.len()).then_some(v as i64)
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
    /// `[decode] timezone`: where times without an offset are; UTC if `None`.
    pub zone: Option<LocalZone>,
}

impl Parsers {
    pub fn new(timezone: Option<chrono_tz::Tz>) -> Parsers {
        Parsers {
            zone: timezone.map(LocalZone::new),
            ..Parsers::default()
        }
    }
}

/// `10/Oct/2026:13:55`: the part of a CLF time up to its minute.
const CLF_MINUTE_BYTES: usize = 17;

/// Parses a Common Log Format time, `10/Oct/2026:13:55:36 +0900` (nginx's
/// `$time_local`, Apache's `%t` without its brackets), remembering the last
/// minute it read as [`time::Rfc3339Parser`] does. A fraction after the
/// seconds (`12:14:14.655`, as HAProxy writes) is read; a time without a
/// zone is returned as if UTC, for [`parse_text`] to place in
/// `[decode] timezone`.
#[derive(Debug, Clone, Default)]
pub struct ClfParser {
    /// The last valid `dd/Mon/yyyy:HH:MM` and its start in seconds (as UTC).
    memo: time::MinuteMemo<CLF_MINUTE_BYTES>,
}

impl ClfParser {
    /// The time as UTC, or as if UTC when it has no zone; whether it had one.
    #[inline]
    pub fn parse_local(&mut self, s: &[u8]) -> Option<(i64, bool)> {
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
        let (zone, has_offset) = match &s[20 + used..] {
            [] => (0, false),
            [b' ', z @ ..] => (zone_offset(z)?, true),
            _ => return None,
        };
        let secs = minute + i64::from(sec) - zone;
        Some((
            secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)?,
            has_offset,
        ))
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

/// Parses an ISO 8601 date and time, and says whether it had an offset: RFC 3339 (`2026-10-10T13:55:36+09:00`)
/// and the forms around it that servers write — a zone as `+0900` or `+09`,
/// a `,` before the fraction, no zone at all (returned as if UTC).
fn iso8601_local(s: &[u8]) -> Option<(i64, bool)> {
    if let Some(t) = time::parse_rfc3339(s) {
        return Some((t, true));
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
    let rest = &s[19 + used..];
    let zone = zone_offset(rest)?;
    let secs = civil_secs(year, month, day, h, m, sec)? - zone;
    Some((
        secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)?,
        !rest.is_empty(),
    ))
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

/// Parses `s` with a strftime format (chrono's syntax: `%d/%b/%Y:%H:%M:%S %z`),
/// and says whether it had an offset.
/// Without a zone in the format the time is taken as UTC.
fn strftime_local(s: &str, format: &str) -> Option<(i64, bool)> {
    let (dt, has_offset) = match chrono::DateTime::parse_from_str(s, format) {
        Ok(dt) => (dt.naive_utc(), true),
        Err(_) => (
            chrono::NaiveDateTime::parse_from_str(s, format).ok()?,
            false,
        ),
    };
    Some((dt.and_utc().timestamp_nanos_opt()?, has_offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_clf(s: &[u8]) -> Option<i64> {
        ClfParser::default().parse_local(s).map(|(t, _)| t)
    }

    fn parse_iso8601(s: &[u8]) -> Option<i64> {
        iso8601_local(s).map(|(t, _)| t)
    }

    fn parse_strftime(s: &str, format: &str) -> Option<i64> {
        strftime_local(s, format).map(|(t, _)| t)
    }

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
            assert_eq!(
                parser.parse_local(line.as_bytes()).map(|(t, _)| t),
                Some(want),
                "{line}"
            );
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
            assert_eq!(
                parser
                    .parse_local(line.as_bytes())
                    .map(|(t, _)| t)
                    .is_some(),
                ok,
                "{line}"
            );
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

    #[test]
    fn times_without_an_offset_are_read_in_the_configured_zone() {
        let paris: chrono_tz::Tz = "Europe/Paris".parse().expect("a zone");
        let utc = |s: &str| crate::time::parse_rfc3339_str(s).expect("an RFC 3339 time");
        let auto = TimestampFormat::Unix(UnixUnit::Auto);
        let mut p = Parsers::new(Some(paris));
        // One parser through a year: winter (+01:00), summer (+02:00), the
        // hour that does not exist in spring (read with the winter offset),
        // the hour that occurs twice in autumn (the first, still summer).
        for (local, want) in [
            ("06/Feb/2026:12:14:14.655", "2026-02-06T11:14:14.655Z"),
            ("2026-03-29T01:59:59", "2026-03-29T00:59:59Z"),
            ("2026-03-29T02:30:00", "2026-03-29T01:30:00Z"),
            ("2026-03-29T03:00:00", "2026-03-29T01:00:00Z"),
            ("2026-07-01 12:00:00", "2026-07-01T10:00:00Z"),
            ("2026-10-25T02:30:00", "2026-10-25T00:30:00Z"),
            ("2026-10-25T03:30:00", "2026-10-25T02:30:00Z"),
            ("[25/Dec/2026:00:00:00]", "2026-12-24T23:00:00Z"),
        ] {
            assert_eq!(parse_text(&auto, local, &mut p), Some(utc(want)), "{local}");
        }
        // Times that carry their offset, and Unix numbers, keep it.
        for (text, want) in [
            ("2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"),
            ("2026-07-01T12:00:00+09:00", "2026-07-01T03:00:00Z"),
            ("06/Feb/2026:12:14:14 +0000", "2026-02-06T12:14:14Z"),
            ("1782907200", "2026-07-01T12:00:00Z"),
        ] {
            assert_eq!(parse_text(&auto, text, &mut p), Some(utc(want)), "{text}");
        }
        // Each explicit format, and a strftime format without %z.
        let mut tokyo = Parsers::new(Some("Asia/Tokyo".parse().expect("a zone")));
        let cases = [
            (TimestampFormat::Clf, "01/Jan/2026:09:00:00"),
            (TimestampFormat::Rfc3339, "2026-01-01T09:00:00"),
            (
                TimestampFormat::Strftime("%Y/%m/%d %H:%M:%S".into()),
                "2026/01/01 09:00:00",
            ),
        ];
        for (format, text) in &cases {
            assert_eq!(
                parse_text(format, text, &mut tokyo),
                Some(utc("2026-01-01T00:00:00Z")),
                "{text}"
            );
        }
        // Without a zone configured, UTC as before.
        let mut plain = Parsers::new(None);
        assert_eq!(
            parse_text(&auto, "2026-07-01T12:00:00", &mut plain),
            Some(utc("2026-07-01T12:00:00Z"))
        );
    }
}
