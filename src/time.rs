//! Event time: parsing RFC 3339 and Unix numbers into nanoseconds since the
//! Unix epoch, and formatting them back as RFC 3339 UTC.
//!
//! Everything inside slipstream keeps time as `i64` nanoseconds (UTC), which
//! covers the years 1678 to 2262. The parsers here are hand-written because
//! they sit on the hot path of decoding: no allocation, no time zone database.

/// Nanoseconds per second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// The number written by the `n` ASCII digits at `at`, if they are digits.
pub(crate) fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    let mut v = 0u32;
    for &b in part {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Some(v)
}

/// Parses an RFC 3339 timestamp (`2026-11-27T10:00:00.123Z`,
/// `2026-11-27T19:00:00+09:00`; `t`, `z` and a space separator are accepted as
/// RFC 3339 allows) into nanoseconds since the epoch. Fractions finer than a
/// nanosecond are truncated. Returns `None` for anything else.
pub fn parse_rfc3339(s: &[u8]) -> Option<i64> {
    let head: &[u8; MINUTE_BYTES] = s.get(..MINUTE_BYTES)?.try_into().ok()?;
    rfc3339_after_minute(s, minute_secs(head)?)
}

/// Length of `YYYY-MM-DDTHH:MM`, the part of a timestamp that consecutive
/// log lines usually share.
const MINUTE_BYTES: usize = 16;

/// Seconds since the epoch at the start of the minute `YYYY-MM-DDTHH:MM`.
fn minute_secs(head: &[u8; MINUTE_BYTES]) -> Option<i64> {
    let num = |at: usize, n: usize| {
        head[at..at + n].iter().try_fold(0u32, |v, &b| {
            b.is_ascii_digit().then(|| v * 10 + u32::from(b - b'0'))
        })
    };
    let (year, month, day) = (i64::from(num(0, 4)?), num(5, 2)?, num(8, 2)?);
    let (hour, minute) = (num(11, 2)?, num(14, 2)?);
    if head[4] != b'-'
        || head[7] != b'-'
        || !matches!(head[10], b'T' | b't' | b' ')
        || head[13] != b':'
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
    {
        return None;
    }
    Some(
        days_from_civil(year, month, day) * 86_400
            + i64::from(hour) * 3600
            + i64::from(minute) * 60,
    )
}

/// The rest of a timestamp after its minute (`:SS`, a fraction, the zone),
/// given the minute's start in seconds.
#[inline]
fn rfc3339_after_minute(s: &[u8], minute_secs: i64) -> Option<i64> {
    if s.get(MINUTE_BYTES) != Some(&b':') {
        return None;
    }
    let second = digits(s, MINUTE_BYTES + 1, 2)?;
    if second > 60 {
        return None;
    }
    let mut i = MINUTE_BYTES + 3;
    let mut nanos = 0i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000i64;
        while let Some(&b) = s.get(i) {
            if !b.is_ascii_digit() {
                break;
            }
            nanos += i64::from(b - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs: i64 = match s.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(s, i + 1, 2)?;
            let om = digits(s, i + 4, 2)?;
            if s.get(i + 3) != Some(&b':') || oh > 23 || om > 59 {
                return None;
            }
            i += 6;
            let off = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    if i != s.len() {
        return None;
    }
    // A leap second (:60) is folded onto the next second, as most systems do.
    let secs = minute_secs + i64::from(second) - offset_secs;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)
}

/// The last minute a time parser read, as the `N` bytes that write it
/// (`2026-10-10T13:55`) and its start in seconds: the lines of a log mostly
/// share their date, hour and minute, which are then compared rather than
/// parsed again.
#[derive(Debug, Clone)]
pub struct MinuteMemo<const N: usize> {
    last: Option<([u8; N], i64)>,
}

impl<const N: usize> Default for MinuteMemo<N> {
    fn default() -> Self {
        MinuteMemo { last: None }
    }
}

impl<const N: usize> MinuteMemo<N> {
    /// The start of the minute `head` writes: remembered, or found by
    /// `parse` (and remembered when valid).
    #[inline]
    pub fn minute(
        &mut self,
        head: &[u8; N],
        parse: impl FnOnce(&[u8; N]) -> Option<i64>,
    ) -> Option<i64> {
        match self.last {
            Some((key, secs)) if key == *head => Some(secs),
            _ => {
                let secs = parse(head)?;
                self.last = Some((*head, secs));
                Some(secs)
            }
        }
    }
}

/// [`parse_rfc3339`] that remembers the last minute it read.
#[derive(Debug, Clone, Default)]
pub struct Rfc3339Parser {
    memo: MinuteMemo<MINUTE_BYTES>,
}

impl Rfc3339Parser {
    #[inline]
    pub fn parse(&mut self, s: &[u8]) -> Option<i64> {
        let head: &[u8; MINUTE_BYTES] = s.get(..MINUTE_BYTES)?.try_into().ok()?;
        let minute = self.memo.minute(head, minute_secs)?;
        rfc3339_after_minute(s, minute)
    }
}

/// How a numeric timestamp is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnixUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
    /// By magnitude: below 1e11 seconds, below 1e14 milliseconds, below 1e17
    /// microseconds, else nanoseconds.
    Auto,
}

/// Converts a Unix timestamp number into nanoseconds since the epoch, or
/// `None` when it is not finite or out of range.
pub fn from_unix(value: f64, unit: UnixUnit) -> Option<i64> {
    if !value.is_finite() {
        return None;
    }
    let unit = match unit {
        UnixUnit::Auto => {
            let a = value.abs();
            if a < 1e11 {
                UnixUnit::Seconds
            } else if a < 1e14 {
                UnixUnit::Millis
            } else if a < 1e17 {
                UnixUnit::Micros
            } else {
                UnixUnit::Nanos
            }
        }
        u => u,
    };
    let scale = match unit {
        UnixUnit::Seconds => 1e9,
        UnixUnit::Millis => 1e6,
        UnixUnit::Micros => 1e3,
        _ => 1.0,
    };
    let ns = (value * scale).round();
    if ns.abs() >= 9.2e18 {
        return None;
    }
    Some(ns as i64)
}

/// Integer form of [`from_unix`], exact for integers beyond 2^53 (nanosecond
/// timestamps are about 1.8e18).
pub fn from_unix_int(value: i64, unit: UnixUnit) -> Option<i64> {
    let unit = match unit {
        UnixUnit::Auto => {
            let a = value.unsigned_abs();
            if a < 100_000_000_000 {
                UnixUnit::Seconds
            } else if a < 100_000_000_000_000 {
                UnixUnit::Millis
            } else if a < 100_000_000_000_000_000 {
                UnixUnit::Micros
            } else {
                UnixUnit::Nanos
            }
        }
        u => u,
    };
    match unit {
        UnixUnit::Seconds => value.checked_mul(1_000_000_000),
        UnixUnit::Millis => value.checked_mul(1_000_000),
        UnixUnit::Micros => value.checked_mul(1_000),
        _ => Some(value),
    }
}

/// The system clock in nanoseconds since the epoch (0 before 1970).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Formats nanoseconds since the epoch as RFC 3339 UTC: whole seconds as
/// `2026-11-27T10:00:00Z`, otherwise with the shortest exact fraction.
/// Written digit by digit: every record carries two of these, and going
/// through `format!` cost more than the rest of a record's fields.
pub fn format_rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let frac = ns.rem_euclid(NANOS_PER_SEC) as u64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u64;
    let (y, m, d) = civil_from_days(days);
    let mut out = String::with_capacity(31);
    match u64::try_from(y) {
        Ok(y) if y <= 9999 => push_digits(&mut out, y, 4),
        _ => out.push_str(&format!("{y:04}")),
    }
    out.push('-');
    push_digits(&mut out, u64::from(m), 2);
    out.push('-');
    push_digits(&mut out, u64::from(d), 2);
    out.push('T');
    push_digits(&mut out, sod / 3600, 2);
    out.push(':');
    push_digits(&mut out, sod / 60 % 60, 2);
    out.push(':');
    push_digits(&mut out, sod % 60, 2);
    if frac != 0 {
        out.push('.');
        let mut digits = 9;
        let mut f = frac;
        while f % 10 == 0 {
            f /= 10;
            digits -= 1;
        }
        push_digits(&mut out, f, digits);
    }
    out.push('Z');
    out
}

/// Appends `value` as `width` decimal digits, zero-padded; `value` has no
/// more digits than that.
fn push_digits(out: &mut String, value: u64, width: u32) {
    let mut buf = [b'0'; 20];
    let mut v = value;
    for i in (0..width as usize).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    debug_assert_eq!(v, 0, "{value} has more than {width} digits");
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[..width as usize]).unwrap_or_default());
}

/// Parses an RFC 3339 string given on the command line or in config.
pub fn parse_rfc3339_str(s: &str) -> Option<i64> {
    parse_rfc3339(s.trim().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for days in (-200_000..200_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn parses_rfc3339_forms() {
        // 2026-11-27T10:00:00Z = 1_795_773_600 s (checked with `date -d ... +%s`).
        let base = 1_795_773_600 * NANOS_PER_SEC;
        assert_eq!(parse_rfc3339(b"2026-11-27T10:00:00Z"), Some(base));
        assert_eq!(parse_rfc3339(b"2026-11-27t10:00:00z"), Some(base));
        assert_eq!(parse_rfc3339(b"2026-11-27 10:00:00Z"), Some(base));
        assert_eq!(parse_rfc3339(b"2026-11-27T19:00:00+09:00"), Some(base));
        assert_eq!(parse_rfc3339(b"2026-11-27T05:30:00-04:30"), Some(base));
        assert_eq!(
            parse_rfc3339(b"2026-11-27T10:00:00.25Z"),
            Some(base + 250_000_000)
        );
        assert_eq!(
            parse_rfc3339(b"2026-11-27T10:00:00.123456789123Z"),
            Some(base + 123_456_789)
        );
        for bad in [
            &b"2026-11-27T10:00:00"[..],
            b"2026-13-01T00:00:00Z",
            b"2026-02-29T00:00:00Z",
            b"2026-11-27T10:00:00.Z",
            b"2026-11-27T24:00:00Z",
            b"2026-11-27T10:00:00Zx",
            b"27/11/2026",
            b"",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert!(parse_rfc3339(b"2024-02-29T00:00:00Z").is_some());
    }

    /// The plainest reading of the grammar, one field at a time, for the
    /// differential test below.
    fn reference(s: &str) -> Option<i64> {
        let num = |a: usize, b: usize| -> Option<i64> {
            let t = s.get(a..b)?;
            t.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| t.parse().ok())?
        };
        let sep = |i: usize, ok: &[u8]| s.as_bytes().get(i).is_some_and(|c| ok.contains(c));
        if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
            return None;
        }
        let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if !(1..=12).contains(&mo) || d < 1 || d > month_days[mo as usize - 1] {
            return None;
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut rest = &s[19..];
        let mut nanos = 0;
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            let frac = format!("{:0<9}", &r[..n.min(9)]);
            nanos = frac.parse::<i64>().ok()?;
            rest = &r[n..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && &rest[3..4] == ":" => {
                let (oh, om): (i64, i64) = (rest[1..3].parse().ok()?, rest[4..6].parse().ok()?);
                if !rest[1..3]
                    .bytes()
                    .chain(rest[4..6].bytes())
                    .all(|c| c.is_ascii_digit())
                    || oh > 23
                    || om > 59
                {
                    return None;
                }
                match &rest[..1] {
                    "+" => oh * 3600 + om * 60,
                    "-" => -(oh * 3600 + om * 60),
                    _ => return None,
                }
            }
            _ => return None,
        };
        let secs =
            days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + sec - offset;
        secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)
    }

    /// Valid timestamps and single-byte mutations of them parse exactly as
    /// the plain reading does, with and without the memo of the last minute.
    #[test]
    fn parse_rfc3339_agrees_with_the_plain_reading() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| crate::testing::xorshift(&mut seed) % n;
        let alphabet = b"0123456789-:.TtZz +/x9\xff";
        let (mut parsed, mut rejected) = (0, 0);
        let mut memo = Rfc3339Parser::default();
        let mut prev_minute = String::new();
        for _ in 0..200_000 {
            // Mostly valid fields, now and then one just out of range.
            let mut field = |lo: u64, hi: u64| {
                if next(16) == 0 {
                    next(hi + 2)
                } else {
                    lo + next(hi - lo + 1)
                }
            };
            let (y, mo, d) = (field(1680, 2260), field(1, 12), field(1, 31));
            let (h, mi, sec) = (field(0, 23), field(0, 59), field(0, 60));
            let mut t = format!(
                "{y:04}-{mo:02}-{d:02}{}{h:02}:{mi:02}:{sec:02}",
                ["T", "t", " "][next(3) as usize],
            );
            if next(2) == 0 {
                let digits = 1 + next(12) as usize;
                t.push('.');
                for _ in 0..digits {
                    t.push(char::from(b'0' + next(10) as u8));
                }
            }
            match next(4) {
                0 => t.push('Z'),
                1 => t.push('z'),
                _ => t.push_str(&format!(
                    "{}{:02}:{:02}",
                    ["+", "-"][next(2) as usize],
                    next(25),
                    next(61)
                )),
            }
            // Every other timestamp shares the previous one's minute, as
            // consecutive log lines do: the memo's case.
            if next(2) == 0 && !prev_minute.is_empty() {
                t.replace_range(..MINUTE_BYTES, &prev_minute);
            }
            prev_minute = t[..MINUTE_BYTES].to_string();
            let mut b = t.into_bytes();
            match next(4) {
                0 => {
                    let i = next(b.len() as u64) as usize;
                    b[i] = alphabet[next(alphabet.len() as u64) as usize];
                }
                1 => {
                    b.truncate(next(b.len() as u64) as usize);
                }
                _ => {}
            }
            let want = std::str::from_utf8(&b).ok().and_then(reference);
            let got = parse_rfc3339(&b);
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&b));
            assert_eq!(memo.parse(&b), want, "{}", String::from_utf8_lossy(&b));
            if got.is_some() {
                parsed += 1;
            } else {
                rejected += 1;
            }
        }
        // Both outcomes are well represented.
        assert!(
            parsed > 50_000 && rejected > 50_000,
            "{parsed} parsed, {rejected} rejected"
        );
    }

    #[test]
    fn unix_auto_reads_magnitude() {
        let s = 1_795_773_600i64;
        let ns = s * NANOS_PER_SEC;
        assert_eq!(from_unix(s as f64, UnixUnit::Auto), Some(ns));
        assert_eq!(from_unix((s * 1000) as f64, UnixUnit::Auto), Some(ns));
        assert_eq!(
            from_unix(1_795_773_600.5, UnixUnit::Auto),
            Some(ns + 500_000_000)
        );
        assert_eq!(from_unix_int(s * 1_000_000, UnixUnit::Auto), Some(ns));
        assert_eq!(from_unix_int(ns, UnixUnit::Auto), Some(ns));
        assert_eq!(from_unix_int(s, UnixUnit::Millis), Some(s * 1_000_000));
        assert_eq!(from_unix(f64::NAN, UnixUnit::Auto), None);
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        let base = 1_795_773_600 * NANOS_PER_SEC;
        assert_eq!(format_rfc3339(base), "2026-11-27T10:00:00Z");
        assert_eq!(
            format_rfc3339(base + 1_500_000),
            "2026-11-27T10:00:00.0015Z"
        );
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
    }

    /// chrono's RFC 3339 rendering is the oracle: over three and a half
    /// centuries (nanoseconds in an i64 end in 2262), at
    /// every fraction length, the same text.
    #[test]
    fn formats_as_chrono_does() {
        use chrono::{DateTime, SecondsFormat};
        let mut x = 0x5EED_u64;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // 1900 to 2255, with a fraction of 0 to 9 significant digits.
            let secs = -2_208_988_800 + (x % 11_208_988_800) as i64;
            let frac = match i % 4 {
                0 => 0,
                1 => (x >> 20) as i64 % 1_000 * 1_000_000,
                2 => (x >> 20) as i64 % 1_000_000 * 1_000,
                _ => (x >> 20) as i64 % NANOS_PER_SEC,
            };
            let ns = secs * NANOS_PER_SEC + frac;
            let expected =
                DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::AutoSi, true);
            // chrono writes the fraction in groups of three digits; ours is
            // the shortest, so compare the instants' text without trailing zeros.
            let trimmed = match expected.split_once('.') {
                Some((head, tail)) => {
                    let digits = tail.trim_end_matches('Z').trim_end_matches('0');
                    format!("{head}.{digits}Z")
                }
                None => expected,
            };
            assert_eq!(format_rfc3339(ns), trimmed, "{ns}");
        }
    }
}
