//! The AWS Application Load Balancer access log: space-separated fields in
//! AWS's documented order, some between quotes, named as AWS names them
//! (`elb_status_code`, `target_processing_time`). `client:port` and
//! `target:port` are split into `client_ip`/`client_port` and
//! `target_ip`/`target_port`; `request` also into `request_method`,
//! `request_url` and `request_protocol`. Fields that AWS appends after the
//! documented ones are ignored.

use super::fill::Fill;
use super::settings::{LatencyUnit, TimestampFormat};
use super::spec::{Column, Format, Spec, Splitter};
use super::template::split_request;
use super::LineReject;

/// The fields in the order AWS writes them; `client:port` and
/// `target:port` stand for two columns each (see [`spec`]).
pub const FIELDS: [&str; 30] = [
    "type",
    "time",
    "elb",
    "client:port",
    "target:port",
    "request_processing_time",
    "target_processing_time",
    "response_processing_time",
    "elb_status_code",
    "target_status_code",
    "received_bytes",
    "sent_bytes",
    "request",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
    "target_group_arn",
    "trace_id",
    "domain_name",
    "chosen_cert_arn",
    "matched_rule_priority",
    "request_creation_time",
    "actions_executed",
    "redirect_url",
    "error_reason",
    "target:port_list",
    "target_status_code_list",
    "classification",
    "classification_reason",
    "conn_trace_id",
];

/// Columns past the fields: the halves of `client:port` and `target:port`,
/// and the parts of `request`.
const CLIENT_IP: usize = FIELDS.len();
const CLIENT_PORT: usize = CLIENT_IP + 1;
const TARGET_IP: usize = CLIENT_IP + 2;
const TARGET_PORT: usize = CLIENT_IP + 3;
const REQUEST_PARTS: [usize; 3] = [CLIENT_IP + 4, CLIENT_IP + 5, CLIENT_IP + 6];
/// A line with fewer fields than this (up to `user_agent`) is not ALB's.
const MIN_FIELDS: usize = 14;

pub fn spec() -> Spec {
    let mut columns: Vec<Column> = FIELDS
        .iter()
        .map(|&n| match n {
            "time" | "request_creation_time" => Column::time(n, TimestampFormat::Rfc3339),
            "request_processing_time" | "target_processing_time" | "response_processing_time" => {
                Column::timer(n)
            }
            "client:port" => Column::new("client"),
            "target:port" => Column::new("target"),
            "target:port_list" => Column::new("target_port_list"),
            _ => Column::new(n),
        })
        .collect();
    for n in [
        "client_ip",
        "client_port",
        "target_ip",
        "target_port",
        "request_method",
        "request_url",
        "request_protocol",
    ] {
        columns.push(Column::new(n));
    }
    Spec {
        format: Format::Alb,
        columns,
        splitter: Splitter::Alb,
        timestamp: "time".into(),
        status: "elb_status_code".into(),
        latency: "request_processing_time+target_processing_time+response_processing_time".into(),
        latency_unit: LatencyUnit::Seconds,
    }
}

/// The next field of a space-separated line with quoted fields, from
/// `pos`: its text, whether it was quoted, and where the next one starts.
#[inline]
pub(super) fn token(line: &str, pos: usize) -> Result<(&str, bool, usize), LineReject> {
    let b = line.as_bytes();
    if b.get(pos) == Some(&b'"') {
        let mut i = pos + 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => {
                    let next = match b.get(i + 1) {
                        None => i + 1,
                        Some(b' ') => i + 2,
                        Some(_) => return Err(LineReject::BadLine),
                    };
                    return Ok((&line[pos + 1..i], true, next));
                }
                _ => i += 1,
            }
        }
        return Err(LineReject::BadLine);
    }
    match memchr::memchr(b' ', &b[pos..]) {
        Some(off) => Ok((&line[pos..pos + off], false, pos + off + 1)),
        None => Ok((&line[pos..], false, b.len())),
    }
}

/// `10.0.0.1:443` or `2001:db8::1:443` as address and port (at the last `:`).
pub(super) fn host_port(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => {
            (h.trim_start_matches('[').trim_end_matches(']'), Some(p))
        }
        _ => (s, None),
    }
}

pub(super) fn split<'a>(line: &'a str, fill: &mut Fill<'a, '_>) -> Result<(), LineReject> {
    let mut pos = 0;
    let mut n = 0;
    while pos < line.len() && n < FIELDS.len() {
        let (v, quoted, next) = token(line, pos)?;
        fill.put(n, v, quoted);
        match n {
            3 | 4
                if fill.wants(if n == 3 { CLIENT_IP } else { TARGET_IP })
                    || fill.wants(if n == 3 { CLIENT_PORT } else { TARGET_PORT }) =>
            {
                let (h, p) = host_port(v);
                let base = if n == 3 { CLIENT_IP } else { TARGET_IP };
                fill.put(base, h, false);
                if let Some(p) = p {
                    fill.put(base + 1, p, false);
                }
            }
            12 if REQUEST_PARTS.iter().any(|&c| fill.wants(c)) => {
                for (c, part) in REQUEST_PARTS.iter().zip(split_request(v)) {
                    if let Some(p) = part {
                        fill.put(*c, p, quoted);
                    }
                }
            }
            _ => {}
        }
        pos = next;
        n += 1;
    }
    if n < MIN_FIELDS {
        return Err(LineReject::BadLine);
    }
    Ok(())
}
