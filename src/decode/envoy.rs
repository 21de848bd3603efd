//! Envoy's access log: the default format or a format string of command
//! operators. A field is named after its operator as written
//! (`START_TIME`, `RESPONSE_CODE`, `DURATION`, `UPSTREAM_HOST`); header
//! operators are `REQ.`, `RESP.` or `TRAILER.` and the header in lower case
//! without a leading `:` (`%REQ(:METHOD)%` is `REQ.method`, and
//! `%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%` is `REQ.x-envoy-original-path`).

use super::settings::{LatencyUnit, TimestampFormat};
use super::spec::{Column, Format, Spec, Splitter};
use super::template::Template;

/// Envoy's default access-log format.
pub const DEFAULT: &str = r#"[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%""#;

/// Envoy's command operators that take no argument or an optional one.
const OPERATORS: &[&str] = &[
    "START_TIME",
    "REQUEST_DURATION",
    "REQUEST_TX_DURATION",
    "RESPONSE_DURATION",
    "RESPONSE_TX_DURATION",
    "DURATION",
    "ROUNDTRIP_DURATION",
    "BYTES_RECEIVED",
    "BYTES_SENT",
    "UPSTREAM_WIRE_BYTES_SENT",
    "UPSTREAM_WIRE_BYTES_RECEIVED",
    "UPSTREAM_HEADER_BYTES_SENT",
    "UPSTREAM_HEADER_BYTES_RECEIVED",
    "DOWNSTREAM_WIRE_BYTES_SENT",
    "DOWNSTREAM_WIRE_BYTES_RECEIVED",
    "DOWNSTREAM_HEADER_BYTES_SENT",
    "DOWNSTREAM_HEADER_BYTES_RECEIVED",
    "PROTOCOL",
    "UPSTREAM_PROTOCOL",
    "RESPONSE_CODE",
    "RESPONSE_CODE_DETAILS",
    "CONNECTION_TERMINATION_DETAILS",
    "RESPONSE_FLAGS",
    "RESPONSE_FLAGS_LONG",
    "UPSTREAM_HOST",
    "UPSTREAM_CLUSTER",
    "UPSTREAM_LOCAL_ADDRESS",
    "UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
    "UPSTREAM_REMOTE_ADDRESS",
    "UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
    "UPSTREAM_TRANSPORT_FAILURE_REASON",
    "UPSTREAM_REQUEST_ATTEMPT_COUNT",
    "DOWNSTREAM_REMOTE_ADDRESS",
    "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_REMOTE_PORT",
    "DOWNSTREAM_DIRECT_REMOTE_ADDRESS",
    "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_LOCAL_ADDRESS",
    "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_LOCAL_PORT",
    "DOWNSTREAM_TLS_VERSION",
    "DOWNSTREAM_TLS_CIPHER",
    "DOWNSTREAM_TLS_SESSION_ID",
    "DOWNSTREAM_PEER_SUBJECT",
    "DOWNSTREAM_PEER_ISSUER",
    "DOWNSTREAM_PEER_URI_SAN",
    "DOWNSTREAM_LOCAL_URI_SAN",
    "REQUESTED_SERVER_NAME",
    "ROUTE_NAME",
    "VIRTUAL_CLUSTER_NAME",
    "CONNECTION_ID",
    "STREAM_ID",
    "UNIQUE_ID",
    "HOSTNAME",
    "GRPC_STATUS",
    "GRPC_STATUS_NUMBER",
    "ACCESS_LOG_TYPE",
];

/// Operators with a required argument, and the prefix of their field names.
const WITH_ARGUMENT: &[(&str, &str)] = &[
    ("REQ", "REQ."),
    ("RESP", "RESP."),
    ("TRAILER", "TRAILER."),
    ("DYNAMIC_METADATA", "DYNAMIC_METADATA."),
    ("FILTER_STATE", "FILTER_STATE."),
    ("ENVIRONMENT", "ENVIRONMENT."),
];

/// The field name and time format of one operator (without its `%`s).
fn field(op: &str) -> Result<Column, String> {
    // A length limit after the operator, `%REQ(USER-AGENT):10%`.
    let op = match op.rsplit_once("):") {
        Some((head, n)) if n.bytes().all(|b| b.is_ascii_digit()) => &op[..head.len() + 1],
        _ => op,
    };
    let (name, arg) = match op.split_once('(') {
        Some((name, rest)) => (
            name,
            Some(
                rest.strip_suffix(')')
                    .ok_or_else(|| format!("`%{op}%` has no closing `)`"))?,
            ),
        ),
        None => (op, None),
    };
    if let Some((_, prefix)) = WITH_ARGUMENT.iter().find(|(n, _)| *n == name) {
        let arg = arg.ok_or_else(|| format!("`%{name}%` needs an argument, as `%{name}(X)%`"))?;
        let first = arg.split('?').next().unwrap_or(arg);
        let header = first.trim_start_matches(':').to_ascii_lowercase();
        return Ok(Column::new(format!("{prefix}{header}")));
    }
    if !OPERATORS.contains(&name) {
        return Err(format!(
            "unknown Envoy command operator `%{op}%`; the operators are listed at \
             https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage"
        ));
    }
    Ok(match (name, arg) {
        ("START_TIME", None) => Column::time(name, TimestampFormat::Rfc3339),
        ("START_TIME", Some(f)) => Column::time(name, TimestampFormat::Strftime(f.to_string())),
        ("RESPONSE_CODE", _) => Column::status(name),
        _ => Column::new(name),
    })
}

/// Compiles an Envoy format string (the default format when absent).
pub fn spec(log_format: Option<&str>) -> Result<Spec, (String, usize)> {
    let text = log_format.unwrap_or(DEFAULT).trim_end_matches('\n');
    let mut columns: Vec<Column> = Vec::new();
    let mut t = Template::default();
    let mut rest = text;
    let mut at = 0;
    while let Some(i) = rest.find('%') {
        t.lit(&rest[..i]);
        let after = &rest[i + 1..];
        // An operator's argument may hold `%` itself
        // (`%START_TIME(%Y-%m-%dT%H:%M:%S%z)%`): its closing `%` comes after
        // the `)` that closes the argument.
        let name_end = after.find(['%', '(']).unwrap_or(after.len());
        let search_from = match after.as_bytes().get(name_end) {
            Some(b'(') => after[name_end..]
                .find(')')
                .map_or(name_end, |p| name_end + p),
            _ => name_end,
        };
        let end = after[search_from..]
            .find('%')
            .map(|p| search_from + p)
            .ok_or_else(|| ("a `%` without its closing `%`".to_string(), at + i))?;
        let op = &after[..end];
        if op.is_empty() {
            t.lit("%");
        } else {
            let c = field(op).map_err(|m| (m, at + i))?;
            let col = match columns.iter().position(|x| x.name == c.name) {
                Some(k) => k,
                None => {
                    columns.push(c);
                    columns.len() - 1
                }
            };
            t.var(col, None).map_err(|m| (m, at + i))?;
        }
        rest = &after[end + 1..];
        at += i + end + 2;
    }
    t.lit(rest);
    Ok(Spec {
        format: Format::Envoy,
        columns,
        splitter: Splitter::Template(t),
        timestamp: "START_TIME".into(),
        status: "RESPONSE_CODE".into(),
        latency: "DURATION".into(),
        latency_unit: LatencyUnit::Millis,
    })
}
