//! HAProxy's HTTP log format (`option httplog`, and `option httpslog`
//! with its TLS fields after the request), with or without a syslog prefix
//! (`Feb  6 12:14:14 lb1 haproxy[14389]: `, or RFC 5424's
//! `<134>1 2026-02-06T12:14:14Z lb1 haproxy 14389 - - `). Fields are named
//! as in HAProxy's documentation (`client_ip`, `accept_date`, `TR`, `Tw`,
//! `Tc`, `Tr`, `Ta`, `status_code`, `termination_state`...); timers of `-1`
//! (never reached) are missing, as is a `status_code` of `-1` (no
//! response was sent), and `http_request` is also split into
//! `http_method`, `http_uri` and `http_version`. HAProxy writes
//! `accept_date` in the local time of its host without an offset: it is
//! read as UTC.

use super::alb::host_port;
use super::fill::Fill;
use super::settings::{LatencyUnit, TimestampFormat};
use super::spec::{Column, Format, Spec, Splitter};
use super::syslog;
use super::template::split_request;
use super::LineReject;

pub const FIELDS: [&str; 37] = [
    "client_ip",
    "client_port",
    "accept_date",
    "frontend_name",
    "backend_name",
    "server_name",
    "TR",
    "Tw",
    "Tc",
    "Tr",
    "Ta",
    "status_code",
    "bytes_read",
    "captured_request_cookie",
    "captured_response_cookie",
    "termination_state",
    "actconn",
    "feconn",
    "beconn",
    "srv_conn",
    "retries",
    "srv_queue",
    "backend_queue",
    "captured_request_headers",
    "captured_response_headers",
    "http_request",
    "http_method",
    "http_uri",
    "http_version",
    // `option httpslog`'s, after the request.
    "fc_err",
    "ssl_fc_err",
    "ssl_c_err",
    "ssl_c_ca_err",
    "ssl_fc_is_resumed",
    "ssl_fc_sni",
    "ssl_version",
    "ssl_ciphers",
];

const TIMERS: usize = 6;
const STATUS: usize = 11;
const CONNS: usize = 16;
const QUEUES: usize = 21;
const HEADERS: usize = 23;
const REQUEST: usize = 25;
const TLS_ERRORS: usize = 29;
const TLS: usize = 34;

pub fn spec() -> Spec {
    let columns = FIELDS
        .iter()
        .enumerate()
        .map(|(i, &n)| match i {
            2 => Column::time(n, TimestampFormat::Clf),
            TIMERS..=10 => Column::timer(n),
            STATUS => Column::status(n),
            _ => Column::new(n),
        })
        .collect();
    Spec {
        format: Format::Haproxy,
        columns,
        splitter: Splitter::Haproxy,
        timestamp: "accept_date".into(),
        status: "status_code".into(),
        latency: "Ta".into(),
        latency_unit: LatencyUnit::Millis,
    }
}

/// The next space-separated word from `pos`, and where the one after starts.
fn word(line: &str, pos: usize) -> Result<(&str, usize), LineReject> {
    if pos >= line.len() {
        return Err(LineReject::BadLine);
    }
    Ok(match memchr::memchr(b' ', &line.as_bytes()[pos..]) {
        Some(off) => (&line[pos..pos + off], pos + off + 1),
        None => (&line[pos..], line.len()),
    })
}

/// `a/b/c` into the columns from `first` on; exactly `n` parts.
fn parts<'a>(
    v: &'a str,
    first: usize,
    n: usize,
    fill: &mut Fill<'a, '_>,
) -> Result<(), LineReject> {
    let mut k = 0;
    for p in v.split('/') {
        if k == n {
            return Err(LineReject::BadLine);
        }
        fill.put(first + k, p.strip_prefix('+').unwrap_or(p), false);
        k += 1;
    }
    if k == n {
        Ok(())
    } else {
        Err(LineReject::BadLine)
    }
}

/// Where the log line proper starts: after a classic syslog prefix (up to
/// `]: `), after an RFC 5424 header, or at the start.
fn after_prefix(line: &str) -> usize {
    let head_end = line.find('"').unwrap_or(line.len());
    match line[..head_end].find("]: ") {
        Some(i) => i + 3,
        None => syslog::rfc5424_header(line).unwrap_or(0),
    }
}

/// `option httpslog`'s fields after the request line:
/// `0/0000000000000000/0/0/0 1wt.eu/TLSv1.3/TLS_AES_256_GCM_SHA384`. Other
/// fields there (a custom `log-format`'s) are passed over.
fn tls<'a>(tail: &'a str, fill: &mut Fill<'a, '_>) {
    let mut words = tail.split(' ');
    let (Some(errors), Some(session), None) = (words.next(), words.next(), words.next()) else {
        return;
    };
    if errors.split('/').count() == 5 && session.split('/').count() == 3 {
        for (col, v) in (TLS_ERRORS..).zip(errors.split('/')) {
            fill.put(col, v, false);
        }
        for (col, v) in (TLS..).zip(session.split('/')) {
            fill.put(col, v, false);
        }
    }
}

pub(super) fn split<'a>(line: &'a str, fill: &mut Fill<'a, '_>) -> Result<(), LineReject> {
    let mut pos = after_prefix(line);
    let (client, next) = word(line, pos)?;
    let (ip, port) = host_port(client);
    fill.put(0, ip, false);
    fill.put(1, port.ok_or(LineReject::BadLine)?, false);
    pos = next;
    // `[06/Feb/2009:12:14:14.655]`
    let (date, next) = word(line, pos)?;
    let date = date
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .ok_or(LineReject::BadLine)?;
    fill.put(2, date, false);
    pos = next;
    let (frontend, next) = word(line, pos)?;
    fill.put(3, frontend, false);
    pos = next;
    let (backend, next) = word(line, pos)?;
    let (b, s) = backend.split_once('/').ok_or(LineReject::BadLine)?;
    fill.put(4, b, false);
    fill.put(5, s, false);
    pos = next;
    let (timers, next) = word(line, pos)?;
    parts(timers, TIMERS, 5, fill)?;
    pos = next;
    for col in STATUS..CONNS {
        let (v, next) = word(line, pos)?;
        fill.put(col, v, false);
        pos = next;
    }
    let (conns, next) = word(line, pos)?;
    parts(conns, CONNS, 5, fill)?;
    pos = next;
    let (queues, next) = word(line, pos)?;
    parts(queues, QUEUES, 2, fill)?;
    pos = next;
    // Up to two `{...}` of captured headers, then the request line.
    let mut col = HEADERS;
    while line[pos..].starts_with('{') && col < REQUEST {
        let end = line[pos..].find('}').ok_or(LineReject::BadLine)? + pos;
        fill.put(
            col,
            line.get(pos + 1..end).ok_or(LineReject::BadLine)?,
            false,
        );
        col += 1;
        pos = match line.as_bytes().get(end + 1) {
            None => line.len(),
            Some(b' ') => end + 2,
            Some(_) => return Err(LineReject::BadLine),
        };
    }
    if pos < line.len() {
        // HAProxy writes a quote inside the request line as `#22`: the
        // next quote ends it.
        let inner = line[pos..].strip_prefix('"').ok_or(LineReject::BadLine)?;
        let end = inner.find('"').ok_or(LineReject::BadLine)?;
        let request = &inner[..end];
        match &inner[end + 1..] {
            "" => {}
            after => tls(after.strip_prefix(' ').ok_or(LineReject::BadLine)?, fill),
        }
        fill.put(REQUEST, request, true);
        if (REQUEST + 1..REQUEST + 4).any(|c| fill.wants(c)) {
            for (c, part) in (REQUEST + 1..).zip(split_request(request)) {
                if let Some(p) = part {
                    fill.put(c, p, true);
                }
            }
        }
    }
    Ok(())
}
