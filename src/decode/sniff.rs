//! Which format would read a line: for a user whose lines are all
//! rejected, the name to write in `[decode] format`.

use std::sync::OnceLock;

use super::order::KeyOrder;
use super::paths::PathTree;
use super::settings::{DecodeConfig, TimestampFormat};
use super::spec::Format;
use super::text::{compile, TextDecoder};
use super::{apache, json};
use crate::event::{Event, ROLE_SLOTS};
use crate::time::UnixUnit;

/// The format whose default layout reads `line` with a valid timestamp:
/// `json`, `alb`, `cloudfront`, `envoy` (its default format), `haproxy`,
/// `nginx` (nginx's `combined`, which Apache's `combined` is the same as),
/// `apache` (Apache's `common`) or `logfmt`; `None` when none does.
pub fn sniff(line: &str) -> Option<&'static str> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim_start().starts_with('{') {
        let mut values = vec![None; ROLE_SLOTS];
        return json::scan(
            line,
            &PathTree::default(),
            &mut values,
            &mut KeyOrder::default(),
        )
        .is_ok()
        .then_some("json");
    }
    static PROBES: OnceLock<Vec<(&'static str, TextDecoder)>> = OnceLock::new();
    let probes = PROBES.get_or_init(|| {
        [
            (Format::CloudFront, None),
            (Format::Alb, None),
            (Format::Envoy, None),
            (Format::Haproxy, None),
            (Format::Nginx, None),
            (Format::Apache, Some(apache::COMMON)),
            (Format::Logfmt, Some("timestamp")),
            (Format::Logfmt, Some("time")),
            (Format::Logfmt, Some("ts")),
        ]
        .into_iter()
        .filter_map(|(format, arg)| {
            // For logfmt, the argument is the key of the time.
            let (log_format, time_key) = match format {
                Format::Logfmt => (None, arg),
                _ => (arg, None),
            };
            let spec = compile(format, log_format, None).ok()?;
            let d = DecodeConfig {
                max_event_bytes: usize::MAX,
                max_latency_ns: f64::INFINITY,
                timestamp_field: time_key.unwrap_or(&spec.timestamp).to_string(),
                timestamp_format: TimestampFormat::Unix(UnixUnit::Auto),
                timezone: None,
                status_field: spec.status.clone(),
                latency_field: spec.latency.clone(),
                latency_unit: spec.latency_unit,
                spec,
                log_format: None,
                pattern: None,
            };
            Some((format.name(), TextDecoder::new(&d, std::iter::empty())))
        })
        .collect()
    });
    probes.iter().find_map(|(name, probe)| {
        let mut event = Event::with_slots(ROLE_SLOTS);
        // A logfmt line need not hold a status; the others always do.
        let ok = probe.clone().decode(line, &mut event).is_ok()
            && (*name == "logfmt" || event.values[crate::event::STATUS_SLOT].is_some());
        ok.then_some(*name)
    })
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn names_the_format_of_each_vendors_line() {
        let cases = [
            (r#"{"ts":"2026-10-10T04:55:36Z","status":200}"#, Some("json")),
            (
                r#"203.0.113.7 - - [10/Oct/2026:13:55:36 +0900] "GET /a HTTP/1.1" 200 512 "-" "curl/8.5.0""#,
                Some("nginx"),
            ),
            (
                r#"203.0.113.7 - frank [10/Oct/2026:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
                Some("apache"),
            ),
            (
                r#"https 2026-10-10T04:55:36.186641Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2026-10-10T04:55:36.184000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234"#,
                Some("alb"),
            ),
            (
                r#"[2026-10-10T04:55:36.123Z] "GET /api/v1/items HTTP/1.1" 200 - 0 154 12 11 "-" "curl/8.5.0" "9f3e1c2a-0b6d-4f5e-9a1b-2c3d4e5f6a7b" "api.example.com" "10.0.0.12:8080""#,
                Some("envoy"),
            ),
            (
                "2026-10-10\t04:55:36\tSEA19-C1\t2390\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-",
                Some("cloudfront"),
            ),
            (
                r#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2026:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#,
                Some("haproxy"),
            ),
            (
                r#"time=2026-10-10T04:55:36Z level=info msg="request done" status=200 latency=12.5"#,
                Some("logfmt"),
            ),
            (
                r#"2026-10-10T04:55:36.456000+00:00 heroku[router]: at=info method=GET path="/" status=200 service=4ms"#,
                Some("logfmt"),
            ),
            (
                r#"<158>1 2026-10-10T04:55:36.456+00:00 host heroku router - at=info path="/" status=200"#,
                Some("logfmt"),
            ),
            ("just some words", None),
            ("", None),
            (r#"{"unterminated":"#, None),
        ];
        for (line, want) in cases {
            assert_eq!(sniff(line), want, "{line}");
        }
    }
}
