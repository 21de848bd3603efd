//! Generated requests written in the log formats of real servers, so a
//! configuration for nginx, Apache, ALB, Envoy, CloudFront, HAProxy,
//! logfmt or a regex can be tried on synthetic traffic
//! (`slipstream gen --format nginx`), and so tests and benchmarks can check
//! that every format yields the windows that the same requests as JSON do.
//!
//! Each format keeps times and latencies at its own resolution (nginx's
//! `$time_local` has seconds, Envoy's `%DURATION%` milliseconds):
//! [`Request::at_resolution`] rounds a request the way its format does, so
//! its JSON twin carries the very same numbers.

use std::fmt::Write;

use crate::decode::Format;
use crate::time::{civil_from_days, format_rfc3339, parse_rfc3339_str, NANOS_PER_SEC};

/// One request, as every format writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub time_ns: i64,
    pub method: String,
    pub host: String,
    pub path: String,
    pub status: u16,
    pub latency_us: u64,
    pub bytes: u64,
    pub client_ip: String,
    pub user_agent: String,
    pub request_id: String,
}

impl Request {
    /// Reads a line of `slipstream gen` (JSON).
    pub fn from_gen_json(line: &[u8]) -> Option<Request> {
        let v: serde_json::Value = serde_json::from_slice(line).ok()?;
        let text = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_string);
        Some(Request {
            time_ns: parse_rfc3339_str(&text("/timestamp")?)?,
            method: text("/method")?,
            host: text("/http/host")?,
            path: text("/http/route")?,
            status: u16::try_from(v.get("status")?.as_u64()?).ok()?,
            latency_us: (v.get("latency_ms")?.as_f64()? * 1000.0).round() as u64,
            bytes: v.get("bytes_sent")?.as_u64()?,
            client_ip: text("/client_ip")?,
            user_agent: text("/user_agent")?,
            request_id: text("/request_id")?,
        })
    }

    /// The request as `format` keeps it: its time cut to the format's
    /// resolution (whole seconds or milliseconds), its latency rounded to it.
    pub fn at_resolution(&self, format: Format) -> Request {
        let (time_step, latency_step) = match format {
            Format::Nginx | Format::Apache | Format::CloudFront => (NANOS_PER_SEC, 1000),
            Format::Alb | Format::Envoy | Format::Haproxy => (1_000_000, 1000),
            Format::Json | Format::Logfmt | Format::Regex => (1_000_000, 1),
        };
        let latency_step = if format == Format::Apache {
            1
        } else {
            latency_step
        };
        Request {
            time_ns: self.time_ns.div_euclid(time_step) * time_step,
            latency_us: (self.latency_us + latency_step / 2) / latency_step * latency_step,
            ..self.clone()
        }
    }
}

/// The `[decode]` section that reads what [`render`] writes in `format`.
pub fn decode_section(format: Format) -> &'static str {
    match format {
        Format::Json => "[decode]\nformat = \"json\"\n[decode.fields]\nlatency = \"latency_ms\"\n",
        Format::Nginx => concat!(
            "[decode]\nformat = \"nginx\"\n",
            "log_format = '$remote_addr - $remote_user [$time_local] \"$request\" $status ",
            "$body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time $host'\n"
        ),
        Format::Apache => concat!(
            "[decode]\nformat = \"apache\"\n",
            "log_format = '%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D %{Host}i'\n"
        ),
        Format::Alb => "[decode]\nformat = \"alb\"\n",
        Format::Envoy => "[decode]\nformat = \"envoy\"\n",
        Format::CloudFront => "[decode]\nformat = \"cloudfront\"\n",
        Format::Haproxy => "[decode]\nformat = \"haproxy\"\n",
        Format::Logfmt => "[decode]\nformat = \"logfmt\"\n[decode.fields]\ntimestamp = \"ts\"\n",
        Format::Regex => concat!(
            "[decode]\nformat = \"regex\"\n",
            "pattern = '^(?P<timestamp>\\S+) (?P<method>[A-Z]+) (?P<host>[^/ ]+)(?P<path>/\\S*) ",
            "(?P<status>\\d{3}) (?P<latency>\\d+)us$'\n",
            "[decode.fields]\nlatency_unit = \"us\"\n"
        ),
    }
}

/// The names of the host, method and path fields in `format`, and the
/// pattern that comes before a path there (ALB logs whole URLs).
pub fn field_names(format: Format) -> [&'static str; 4] {
    match format {
        Format::Json => ["http.host", "method", "http.route", ""],
        Format::Nginx => ["host", "request_method", "request_uri", ""],
        Format::Apache => ["host", "method", "uri", ""],
        Format::Alb => [
            "domain_name",
            "request_method",
            "request_url",
            "https://[^/]+",
        ],
        Format::Envoy => [
            "REQ.authority",
            "REQ.method",
            "REQ.x-envoy-original-path",
            "",
        ],
        Format::CloudFront => ["x-host-header", "cs-method", "cs-uri-stem", ""],
        Format::Haproxy => ["captured_request_headers", "http_method", "http_uri", ""],
        Format::Logfmt | Format::Regex => ["host", "method", "path", ""],
    }
}

/// The lines a file of `format` starts with (CloudFront's headers).
pub fn header(format: Format) -> &'static str {
    match format {
        Format::CloudFront => concat!(
            "#Version: 1.0\n",
            "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem ",
            "sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type ",
            "x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ",
            "ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status ",
            "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type ",
            "sc-content-type sc-content-len sc-range-start sc-range-end\n"
        ),
        _ => "",
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// (year, month, day, hour, minute, second, millisecond) of a time in UTC.
fn civil(ns: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let ms = ns.rem_euclid(NANOS_PER_SEC) / 1_000_000;
    (y, m, d, sod / 3600, sod / 60 % 60, sod % 60, ms)
}

/// `10/Oct/2026:04:55:36` (Common Log Format without its zone).
fn clf(ns: i64) -> String {
    let (y, m, d, h, mi, s, _) = civil(ns);
    format!(
        "{d:02}/{}/{y:04}:{h:02}:{mi:02}:{s:02}",
        MONTHS[m as usize - 1]
    )
}

/// Milliseconds (or microseconds) as seconds with three (six) decimals.
fn seconds(us: u64, decimals: usize) -> String {
    format!("{:.*}", decimals, us as f64 / 1e6)
}

/// Microseconds as milliseconds with three decimals, exactly.
fn millis(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

/// Appends `r` as one line of `format`, without the newline.
pub fn render(format: Format, r: &Request, out: &mut String) {
    let lat_ms = r.latency_us / 1000;
    let _ = match format {
        Format::Json => write!(
            out,
            r#"{{"timestamp":"{}","method":"{}","http":{{"host":"{}","route":"{}"}},"status":{},"latency_ms":{},"bytes_sent":{},"client_ip":"{}","user_agent":"{}"}}"#,
            format_rfc3339(r.time_ns),
            r.method,
            r.host,
            r.path,
            r.status,
            millis(r.latency_us),
            r.bytes,
            r.client_ip,
            r.user_agent
        ),
        Format::Nginx => write!(
            out,
            r#"{} - - [{} +0000] "{} {} HTTP/1.1" {} {} "-" "{}" {} {}"#,
            r.client_ip,
            clf(r.time_ns),
            r.method,
            r.path,
            r.status,
            r.bytes,
            r.user_agent,
            seconds(r.latency_us, 3),
            r.host
        ),
        Format::Apache => write!(
            out,
            r#"{} - - [{} +0000] "{} {} HTTP/1.1" {} {} "-" "{}" {} {}"#,
            r.client_ip,
            clf(r.time_ns),
            r.method,
            r.path,
            r.status,
            if r.bytes == 0 { "-".to_string() } else { r.bytes.to_string() },
            r.user_agent,
            r.latency_us,
            r.host
        ),
        Format::Alb => write!(
            out,
            concat!(
                "https {t} app/slipstream-lb/50dc6c495c0c9188 {ip}:52114 10.0.0.1:8080 0.000 {lat} 0.000 ",
                "{st} {st} 230 {b} \"{m} https://{h}:443{p} HTTP/1.1\" \"{ua}\" ",
                "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 ",
                "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/app/73e2d6bc24d8a067 ",
                "\"Root=1-{id}\" \"{h}\" \"-\" 0 {t} \"forward\" \"-\" \"-\" \"10.0.0.1:8080\" \"{st}\" ",
                "\"-\" \"-\" TID_{id}"
            ),
            t = format_rfc3339(r.time_ns),
            ip = r.client_ip,
            lat = seconds(r.latency_us, 3),
            st = r.status,
            b = r.bytes,
            m = r.method,
            h = r.host,
            p = r.path,
            ua = r.user_agent,
            id = r.request_id
        ),
        Format::Envoy => write!(
            out,
            r#"[{}] "{} {} HTTP/1.1" {} - 0 {} {} {} "{}" "{}" "{}" "{}" "10.0.0.1:8080""#,
            format_rfc3339(r.time_ns),
            r.method,
            r.path,
            r.status,
            r.bytes,
            lat_ms,
            lat_ms,
            r.client_ip,
            r.user_agent,
            r.request_id,
            r.host
        ),
        Format::CloudFront => {
            let (y, m, d, h, mi, s, _) = civil(r.time_ns);
            let lat = seconds(r.latency_us, 3);
            write!(
                out,
                "{y:04}-{m:02}-{d:02}\t{h:02}:{mi:02}:{s:02}\tSEA19-C1\t{b}\t{ip}\t{me}\td111111abcdef8.cloudfront.net\t{p}\t{st}\t-\t{ua}\t-\t-\tMiss\t{id}\t{host}\thttps\t230\t{lat}\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tMiss\tHTTP/2.0\t-\t-\t52114\t{lat}\tMiss\tapplication/json\t{b}\t-\t-",
                b = r.bytes,
                ip = r.client_ip,
                me = r.method,
                p = r.path,
                st = r.status,
                ua = r.user_agent.replace(' ', "%20"),
                id = r.request_id,
                host = r.host,
            )
        }
        Format::Haproxy => {
            let (_, m, d, h, mi, s, ms) = civil(r.time_ns);
            write!(
                out,
                r#"{} {d:>2} {h:02}:{mi:02}:{s:02} lb1 haproxy[1234]: {}:52114 [{}.{ms:03}] www~ app/srv1 0/0/1/{}/{} {} {} - - ---- 3/3/1/1/0 0/0 {{{}}} "{} {} HTTP/1.1""#,
                MONTHS[m as usize - 1],
                r.client_ip,
                clf(r.time_ns),
                lat_ms.saturating_sub(1),
                lat_ms,
                r.status,
                r.bytes,
                r.host,
                r.method,
                r.path
            )
        }
        Format::Logfmt => write!(
            out,
            r#"ts={} method={} host={} path={} status={} latency={} ua="{}""#,
            format_rfc3339(r.time_ns),
            r.method,
            r.host,
            r.path,
            r.status,
            millis(r.latency_us),
            r.user_agent
        ),
        Format::Regex => write!(
            out,
            "{} {} {}{} {} {}us",
            format_rfc3339(r.time_ns),
            r.method,
            r.host,
            r.path,
            r.status,
            r.latency_us
        ),
    };
}
