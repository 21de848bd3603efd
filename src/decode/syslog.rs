//! Syslog headers in front of a log line: HAProxy writes one, and Heroku's
//! log drains put one before their logfmt.

/// What follows `<PRI>1 `, the start of an RFC 5424 header.
pub(super) fn after_version(line: &str) -> Option<&str> {
    let (pri, rest) = line.strip_prefix('<')?.split_once('>')?;
    let digits = !pri.is_empty() && pri.len() <= 3 && pri.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| rest.strip_prefix("1 ")).flatten()
}

/// The end of an RFC 5424 header, as HAProxy's `log ... format rfc5424`
/// writes it: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD `, its
/// structured data `-` or `[...]` elements.
pub(super) fn rfc5424_header(line: &str) -> Option<usize> {
    let rest = after_version(line)?;
    let mut pos = line.len() - rest.len();
    for _ in 0..5 {
        pos += line[pos..].find(' ')? + 1;
    }
    let sd = &line[pos..];
    if sd.starts_with("- ") {
        Some(pos + 2)
    } else if sd.starts_with('[') {
        Some(pos + sd.find("] ")? + 2)
    } else {
        None
    }
}
