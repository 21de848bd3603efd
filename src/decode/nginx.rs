//! nginx's access log: `log_format` as written in nginx.conf, with nginx's
//! variable names as field names (`remote_addr`, `request_time`,
//! `http_user_agent`, `upstream_response_time`). `$request` is also split
//! into `request_method`, `request_uri` and `server_protocol`, the
//! variables nginx itself has for those parts.

use super::settings::{LatencyUnit, TimestampFormat};
use super::spec::{Column, Format, Spec, Splitter};
use super::template::Template;
use crate::time::UnixUnit;

/// nginx's predefined `combined` format.
pub const COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

/// The variables of nginx's core and common modules.
const KNOWN: &[&str] = &[
    "args",
    "binary_remote_addr",
    "body_bytes_sent",
    "bytes_sent",
    "connection",
    "connection_requests",
    "connection_time",
    "content_length",
    "content_type",
    "document_root",
    "document_uri",
    "gzip_ratio",
    "host",
    "hostname",
    "http2",
    "http3",
    "https",
    "is_args",
    "limit_rate",
    "msec",
    "nginx_version",
    "pid",
    "pipe",
    "proxy_add_x_forwarded_for",
    "proxy_host",
    "proxy_port",
    "proxy_protocol_addr",
    "proxy_protocol_port",
    "query_string",
    "realip_remote_addr",
    "realip_remote_port",
    "realpath_root",
    "remote_addr",
    "remote_port",
    "remote_user",
    "request",
    "request_body",
    "request_completion",
    "request_filename",
    "request_id",
    "request_length",
    "request_method",
    "request_time",
    "request_uri",
    "scheme",
    "server_addr",
    "server_name",
    "server_port",
    "server_protocol",
    "status",
    "tcpinfo_rtt",
    "tcpinfo_rttvar",
    "tcpinfo_snd_cwnd",
    "tcpinfo_rcv_space",
    "time_iso8601",
    "time_local",
    "uri",
];

/// Prefixes of the variable families (`$http_user_agent`, `$upstream_status`).
const PREFIXES: &[&str] = &[
    "arg_",
    "cookie_",
    "http_",
    "sent_http_",
    "sent_trailer_",
    "upstream_",
    "ssl_",
    "geoip_",
    "geoip2_",
    "jwt_",
    "limit_",
    "realip_",
    "proxy_protocol_",
];

fn known(name: &str) -> bool {
    KNOWN.contains(&name)
        || PREFIXES
            .iter()
            .any(|p| name.starts_with(p) && name.len() > p.len())
}

fn column(name: &str) -> Column {
    match name {
        "time_local" => Column::time(name, TimestampFormat::Clf),
        "time_iso8601" => Column::time(name, TimestampFormat::Rfc3339),
        "msec" => Column::time(name, TimestampFormat::Unix(UnixUnit::Seconds)),
        _ => Column::new(name),
    }
}

/// The literal text of a `log_format` as nginx's configuration parser
/// reads it: `\"`, `\'` and `\\` are the character, `\t`, `\r` and `\n` a
/// tab, carriage return and newline; any other backslash stays. So a format
/// pasted from nginx.conf into a TOML literal string reads as nginx reads it.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('"' | '\'' | '\\')) => out.push(e),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Compiles a `log_format` string (`combined` when absent), its escapes
/// read as nginx reads them ([`unescape`]).
pub fn spec(log_format: Option<&str>) -> Result<Spec, (String, usize)> {
    let text = log_format.unwrap_or(COMBINED);
    let mut columns: Vec<Column> = Vec::new();
    let col =
        |name: &str, columns: &mut Vec<Column>| match columns.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                columns.push(column(name));
                columns.len() - 1
            }
        };
    let mut t = Template::default();
    let mut rest = text;
    let mut at = 0;
    while let Some(i) = rest.find('$') {
        t.lit(&unescape(&rest[..i]));
        let after = &rest[i + 1..];
        let (name, used) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| (format!("`${{` at {} has no closing `}}`", at + i), at + i))?;
            (&braced[..end], end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            return Err((
                "a `$` without a variable name; write `$name`".into(),
                at + i,
            ));
        }
        if !known(name) {
            return Err((
                format!(
                    "unknown nginx variable `${name}`; nginx's variables are listed at \
                     https://nginx.org/en/docs/varindex.html (variables of your own, from \
                     `map` or `set`, can be read with format = \"regex\")"
                ),
                at + i,
            ));
        }
        let c = col(name, &mut columns);
        let request = (name == "request").then(|| {
            [
                col("request_method", &mut columns),
                col("request_uri", &mut columns),
                col("server_protocol", &mut columns),
            ]
        });
        t.var(c, request).map_err(|m| (m, at + i))?;
        if name.starts_with("upstream_")
            || name == "http_x_forwarded_for"
            || name == "proxy_add_x_forwarded_for"
        {
            // Lists written with their `, ` separators, even unquoted.
            t.list();
        }
        rest = &after[used..];
        at += i + 1 + used;
    }
    t.lit(&unescape(rest));
    let timestamp = ["time_local", "time_iso8601", "msec"]
        .into_iter()
        .find(|n| columns.iter().any(|c| c.name == *n))
        .unwrap_or("time_local");
    Ok(Spec {
        format: Format::Nginx,
        columns,
        splitter: Splitter::Template(t),
        timestamp: timestamp.into(),
        status: "status".into(),
        latency: "request_time".into(),
        latency_unit: LatencyUnit::Seconds,
    })
}
