//! Golden lines of every text format, written by hand from each vendor's
//! documented format with the quirks real files have, and the roles and
//! fields they must decode to. Times are 2026-10-10T04:55:36Z
//! (1791608136 s) and 2026-02-06T12:14:14Z (1770380054 s), worked out apart.
//!
//! Why one long file: it is data, one golden case after another, read
//! format by format; splitting it would only scatter the shared expected
//! times.

use std::path::Path;

use super::*;
use crate::config::Config;

const T0: i64 = 1_791_608_136 * 1_000_000_000;
const HA: i64 = 1_770_380_054 * 1_000_000_000;

/// A decoder for `decode` (TOML lines of `[decode]`) whose rules name `fields`.
fn decoder(decode: &str, fields: &[&str]) -> (Decoder, Vec<usize>) {
    let filter = fields
        .iter()
        .map(|f| format!("exists({f})"))
        .collect::<Vec<_>>()
        .join(" || ");
    let filter = if filter.is_empty() {
        String::new()
    } else {
        format!("filter = '{filter}'\n")
    };
    let text = format!("{decode}\n[[sli]]\nname = \"a\"\n{filter}good = 'status < 500'\n");
    let config = Config::parse(Path::new("t.toml"), &text).expect("config");
    let mut table = config.fields.clone();
    let slots = fields.iter().map(|f| table.slot(f)).collect();
    assert_eq!(table.len(), config.fields.len(), "every field is a rule's");
    (Decoder::new(&config.decode, &config.fields), slots)
}

fn s(v: &str) -> Option<Value<'static>> {
    Some(Value::Str(v.to_string().into()))
}

fn n(v: f64) -> Option<Value<'static>> {
    Some(Value::Num(v))
}

/// What one line must decode to: time, status, latency, then each field.
struct Want {
    time_ns: i64,
    status: Option<f64>,
    latency_ns: Option<u64>,
    fields: Vec<Option<Value<'static>>>,
}

fn check(d: &mut Decoder, slots: &[usize], line: &str, want: Want) {
    let mut e = Event::with_slots(d.slots());
    d.decode(line.as_bytes(), &mut e)
        .unwrap_or_else(|r| panic!("{line}: rejected as {r}"));
    assert_eq!(e.time_ns, want.time_ns, "time of {line}");
    assert_eq!(
        e.values[STATUS_SLOT],
        want.status.map(Value::Num),
        "status of {line}"
    );
    assert_eq!(e.latency_ns, want.latency_ns, "latency of {line}");
    for (i, (slot, v)) in slots.iter().zip(&want.fields).enumerate() {
        assert_eq!(&e.values[*slot], v, "field {i} of {line}");
    }
}

fn reject(d: &mut Decoder, line: &str) -> Option<LineReject> {
    let mut e = Event::with_slots(d.slots());
    d.decode(line.as_bytes(), &mut e).err()
}

#[test]
fn nginx_combined_and_custom_formats() {
    let fields = [
        "remote_addr",
        "remote_user",
        "request_method",
        "request_uri",
        "server_protocol",
        "body_bytes_sent",
        "http_user_agent",
    ];
    let (mut d, slots) = decoder("[decode]\nformat = \"nginx\"", &fields);
    check(
        &mut d,
        &slots,
        r#"203.0.113.7 - - [10/Oct/2026:13:55:36 +0900] "GET /api/items?id=3 HTTP/1.1" 200 512 "https://example.com/" "Mozilla/5.0 (X11) \x22quoted\x22 \x5Cx""#,
        Want {
            time_ns: T0,
            status: Some(200.0),
            // `combined` has no $request_time.
            latency_ns: None,
            fields: vec![
                s("203.0.113.7"),
                None,
                s("GET"),
                s("/api/items?id=3"),
                s("HTTP/1.1"),
                n(512.0),
                s(r#"Mozilla/5.0 (X11) "quoted" \x"#),
            ],
        },
    );
    // An IPv6 client, a user, and the empty request line of a client that
    // sent nothing.
    check(
        &mut d,
        &slots,
        r#"2001:db8::1 - alice [10/Oct/2026:04:55:37 +0000] "-" 400 0 "-" "-""#,
        Want {
            time_ns: T0 + 1_000_000_000,
            status: Some(400.0),
            latency_ns: None,
            fields: vec![s("2001:db8::1"), s("alice"), None, None, None, n(0.0), None],
        },
    );
    assert_eq!(
        reject(&mut d, "not an access log line"),
        Some(LineReject::BadLine)
    );
    assert_eq!(
        reject(
            &mut d,
            r#"1.2.3.4 - - [10/Oct/2026:13:55:99 +0900] "GET / HTTP/1.1" 200 1 "-" "-""#
        ),
        Some(LineReject::BadTimestamp)
    );

    let custom = r#"[decode]
format = "nginx"
log_format = '$remote_addr [$time_iso8601] "$request" $status $request_time "$upstream_response_time" "$http_user_agent"'"#;
    let (mut d, slots) = decoder(custom, &["upstream_response_time", "request_time"]);
    check(
        &mut d,
        &slots,
        r#"10.0.0.1 [2026-10-10T13:55:36+09:00] "POST /pay HTTP/2.0" 502 0.123 "0.100, 0.004" "curl/8.5.0""#,
        Want {
            time_ns: T0,
            status: Some(502.0),
            latency_ns: Some(123_000_000),
            fields: vec![s("0.100, 0.004"), n(0.123)],
        },
    );
    // The upstream times as the latency: the time spent in every upstream.
    let summed = format!("{custom}\n[decode.fields]\nlatency = \"upstream_response_time\"");
    let (mut d, slots) = decoder(&summed, &[]);
    check(
        &mut d,
        &slots,
        r#"10.0.0.1 [2026-10-10T04:55:36Z] "POST /pay HTTP/2.0" 502 0.123 "0.100, 0.004 : 0.010" "curl/8.5.0""#,
        Want {
            time_ns: T0,
            status: Some(502.0),
            latency_ns: Some(114_000_000),
            fields: vec![],
        },
    );
    // Unquoted, as nginx's documentation writes upstream variables: the
    // list's separators are part of the value, not the end of it.
    let unquoted = r#"[decode]
format = "nginx"
log_format = '$remote_addr [$time_iso8601] "$request" $status $request_time $upstream_addr $upstream_response_time $upstream_status "$http_user_agent"'
[decode.fields]
latency = "upstream_response_time""#;
    let (mut d, slots) = decoder(unquoted, &["upstream_addr", "upstream_status"]);
    for (addr, time, status, latency_ns) in [
        ("10.0.0.2:80", "0.050", "200", Some(50_000_000)),
        (
            "10.0.0.2:80, 10.0.0.3:80",
            "0.100, 0.004",
            "502, 200",
            Some(104_000_000),
        ),
        (
            "10.0.0.2:80, 10.0.0.3:80 : 10.0.0.4:80",
            "0.100, 0.004 : 0.010",
            "502, 504 : 200",
            Some(114_000_000),
        ),
        ("-", "-", "-", None),
        ("unix:/tmp/app.sock", "-, 0.020", "-, 200", Some(20_000_000)),
    ] {
        check(
            &mut d,
            &slots,
            &format!(
                r#"10.0.0.1 [2026-10-10T04:55:36Z] "GET / HTTP/1.1" 200 0.123 {addr} {time} {status} "curl/8.5.0""#
            ),
            Want {
                time_ns: T0,
                status: Some(200.0),
                latency_ns,
                fields: vec![
                    (addr != "-").then(|| Value::Str(addr.to_string().into())),
                    match status {
                        "-" => None,
                        "200" => n(200.0),
                        list => Some(Value::Str(list.to_string().into())),
                    },
                ],
            },
        );
    }
}

/// A `log_format` pasted from nginx.conf keeps nginx's escapes: `\t` is a
/// tab and `\"` a quote, as nginx's configuration parser reads them.
#[test]
fn nginx_log_format_escapes_read_as_nginx_reads_them() {
    let tabs = r#"[decode]
format = "nginx"
log_format = '$time_local\t$remote_addr\t$request\t$status\t$request_time\t$upstream_status'"#;
    let (mut d, slots) = decoder(tabs, &["remote_addr", "request_uri", "upstream_status"]);
    check(
        &mut d,
        &slots,
        "10/Oct/2026:13:55:36 +0900\t10.0.0.1\tGET /a HTTP/1.1\t503\t0.250\t503",
        Want {
            time_ns: T0,
            status: Some(503.0),
            latency_ns: Some(250_000_000),
            fields: vec![s("10.0.0.1"), s("/a"), n(503.0)],
        },
    );
    let quotes = r#"[decode]
format = "nginx"
log_format = '$remote_addr [$time_local] \"$request\" $status $request_time \"$http_x_forwarded_for\" \\ done'"#;
    let (mut d, slots) = decoder(quotes, &["request_method", "http_x_forwarded_for"]);
    check(
        &mut d,
        &slots,
        r#"10.0.0.1 [10/Oct/2026:13:55:36 +0900] "GET / HTTP/1.1" 200 0.010 "203.0.113.9" \ done"#,
        Want {
            time_ns: T0,
            status: Some(200.0),
            latency_ns: Some(10_000_000),
            fields: vec![s("GET"), s("203.0.113.9")],
        },
    );
    // A backslash before anything else stays, as nginx keeps it.
    let other =
        "[decode]\nformat = \"nginx\"\nlog_format = '$remote_addr \\d [$time_local] $status'";
    let (mut d, slots) = decoder(other, &["remote_addr"]);
    check(
        &mut d,
        &slots,
        r#"10.0.0.1 \d [10/Oct/2026:13:55:36 +0900] 204"#,
        Want {
            time_ns: T0,
            status: Some(204.0),
            latency_ns: None,
            fields: vec![s("10.0.0.1")],
        },
    );
}

/// A proxy chain in X-Forwarded-For, written unquoted as it came: the
/// whole list is the field, and the fields after it stay in place.
#[test]
fn forwarded_for_lists_stay_whole_unquoted() {
    let apache = r#"[decode]
format = "apache"
log_format = '%{X-Forwarded-For}i %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %{ms}T'"#;
    let nginx = r#"[decode]
format = "nginx"
log_format = '$http_x_forwarded_for - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time'"#;
    let line = r#"203.0.113.1, 10.0.0.1 - - [10/Oct/2026:04:55:36 +0000] "GET /x HTTP/1.1" 200 10 "-" "curl/8.5.0" "#;
    for (decode, fields, latency) in [
        (apache, ["x_forwarded_for", "remote_user", "uri"], "12"),
        (
            nginx,
            ["http_x_forwarded_for", "remote_user", "request_uri"],
            "0.012",
        ),
    ] {
        let (mut d, slots) = decoder(decode, &fields);
        for xff in [
            "203.0.113.1",
            "203.0.113.1, 10.0.0.1",
            "203.0.113.1, 10.0.0.1, 10.0.0.2",
        ] {
            check(
                &mut d,
                &slots,
                &format!("{xff}{}{latency}", &line["203.0.113.1, 10.0.0.1".len()..]),
                Want {
                    time_ns: T0,
                    status: Some(200.0),
                    latency_ns: Some(12_000_000),
                    fields: vec![s(xff), None, s("/x")],
                },
            );
        }
    }
}

#[test]
fn apache_combined_with_microseconds() {
    let decode = r#"[decode]
format = "apache"
log_format = '%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D'"#;
    let fields = [
        "remote_host",
        "method",
        "uri",
        "bytes_sent",
        "referer",
        "user_agent",
    ];
    let (mut d, slots) = decoder(decode, &fields);
    check(
        &mut d,
        &slots,
        r#"192.0.2.1 - - [10/Oct/2026:04:55:36 +0000] "GET /x?y=1 HTTP/1.1" 304 - "-" "Mozilla/5.0 \"Fancy\" Browser" 1500"#,
        Want {
            time_ns: T0,
            status: Some(304.0),
            latency_ns: Some(1_500_000),
            fields: vec![
                s("192.0.2.1"),
                s("GET"),
                s("/x?y=1"),
                None,
                None,
                s(r#"Mozilla/5.0 "Fancy" Browser"#),
            ],
        },
    );
    // The default is `combined`, without a duration.
    let (mut d, slots) = decoder("[decode]\nformat = \"apache\"", &["user_agent"]);
    check(
        &mut d,
        &slots,
        r#"::1 - frank [09/Oct/2026:21:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
        Want {
            time_ns: T0,
            status: Some(200.0),
            latency_ns: None,
            fields: vec![s("Mozilla/4.08 [en] (Win98; I ;Nav)")],
        },
    );
}

/// Times written by several `%{...}t` (mod_log_config's recipe for
/// milliseconds), and strftime times that hold spaces, bracketed or not.
#[test]
fn apache_times_in_several_parts_and_with_spaces() {
    let ms = T0 + 456_000_000;
    for (log_format, time, want) in [
        (
            r"[%{%d/%b/%Y:%H:%M:%S}t.%{msec_frac}t %{%z}t]",
            "[10/Oct/2026:13:55:36.456 +0900]",
            ms,
        ),
        (
            r"%{%d/%b/%Y %T}t.%{usec_frac}t %{%z}t",
            "10/Oct/2026 13:55:36.456789 +0900",
            T0 + 456_789_000,
        ),
        (
            r"%{begin:%d/%b/%Y %T}t.%{begin:msec_frac}t %{begin:%z}t",
            "10/Oct/2026 04:55:36.456 +0000",
            ms,
        ),
        (r"%{sec}t.%{msec_frac}t", "1791608136.456", ms),
        // A space-padded day: two spaces where the format has one.
        (
            r"%{%a %b %e %T %Y}t",
            "Sat Oct  3 04:55:36 2026",
            T0 - 7 * 86_400 * 1_000_000_000,
        ),
        (r"%{%a %b %e %T %Y}t", "Sat Oct 10 04:55:36 2026", T0),
        (r"%{%Y-%m-%d %H:%M:%S %z}t", "2026-10-10 13:55:36 +0900", T0),
    ] {
        let decode = format!(
            "[decode]\nformat = \"apache\"\nlog_format = '%h {log_format} \\\"%r\\\" %>s %b %D'"
        );
        let (mut d, slots) = decoder(&decode, &["remote_host", "uri", "bytes_sent"]);
        check(
            &mut d,
            &slots,
            &format!(r#"192.0.2.1 {time} "GET /x HTTP/1.1" 503 12 1500"#),
            Want {
                time_ns: want,
                status: Some(503.0),
                latency_ns: Some(1_500_000),
                fields: vec![s("192.0.2.1"), s("/x"), n(12.0)],
            },
        );
    }
    // A space-padded day followed by a field after one space (httpd's
    // `%{%a %b %e %T %Y}t %>s`): the padding is not taken for the end.
    let (mut d, slots) = decoder(
        "[decode]\nformat = \"apache\"\nlog_format = '%{%a %b %e %T %Y}t %>s %D'",
        &[],
    );
    for (line, want) in [
        (
            "Sat Oct  3 04:55:36 2026 503 1500",
            T0 - 7 * 86_400 * 1_000_000_000,
        ),
        ("Sat Oct 10 04:55:36 2026 503 1500", T0),
    ] {
        let w = Want {
            time_ns: want,
            status: Some(503.0),
            latency_ns: Some(1_500_000),
            fields: vec![],
        };
        check(&mut d, &slots, line, w);
    }
}

#[test]
fn alb_lines_with_unreached_targets_and_new_fields() {
    let fields = [
        "client_ip",
        "target_ip",
        "target_processing_time",
        "target_status_code",
        "request_method",
        "request_url",
        "user_agent",
        "trace_id",
    ];
    let (mut d, slots) = decoder("[decode]\nformat = \"alb\"", &fields);
    check(
        &mut d,
        &slots,
        r#"http 2026-10-10T04:55:36.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2026-10-10T04:55:36.185000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd a-field-from-2027"#,
        Want {
            time_ns: T0 + 186_641_000,
            status: Some(200.0),
            latency_ns: Some(1_000_000),
            fields: vec![
                s("192.168.131.39"),
                s("10.0.0.1"),
                n(0.001),
                n(200.0),
                s("GET"),
                s("http://www.example.com:80/"),
                s("curl/7.46.0"),
                s("Root=1-58337262-36d228ad5d99923122bbe354"),
            ],
        },
    );
    // No target reached: `-1` times, target `-`: the latency is missing.
    check(
        &mut d,
        &slots,
        r#"https 2026-10-10T04:55:37.000000Z app/my-lb/50dc6c495c0c9188 2001:db8::7:50122 - -1 -1 -1 503 - 0 0 "GET https://www.example.com:443/health HTTP/1.1" "ELB-HealthChecker/2.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 - "-" "-" "-" 0 2026-10-10T04:55:37.000000Z "forward" "-" "-" "-" "-" "-" "-" -"#,
        Want {
            time_ns: T0 + 1_000_000_000,
            status: Some(503.0),
            latency_ns: None,
            fields: vec![
                s("2001:db8::7"),
                None,
                None,
                None,
                s("GET"),
                s("https://www.example.com:443/health"),
                s("ELB-HealthChecker/2.0"),
                None,
            ],
        },
    );
    assert_eq!(
        reject(&mut d, "http 2026-10-10T04:55:37Z short"),
        Some(LineReject::BadLine)
    );
}

#[test]
fn envoy_default_format_with_flags_and_missing_upstream() {
    let fields = [
        "REQ.method",
        "REQ.x-envoy-original-path",
        "RESPONSE_FLAGS",
        "RESP.x-envoy-upstream-service-time",
        "REQ.user-agent",
        "UPSTREAM_HOST",
    ];
    let (mut d, slots) = decoder("[decode]\nformat = \"envoy\"", &fields);
    check(
        &mut d,
        &slots,
        r#"[2026-10-10T04:55:36.123Z] "GET /api/v1/items HTTP/1.1" 200 - 0 154 12 11 "-" "curl/8.5.0" "9f3e1c2a-0b6d-4f5e-9a1b-2c3d4e5f6a7b" "api.example.com" "10.0.0.12:8080""#,
        Want {
            time_ns: T0 + 123_000_000,
            status: Some(200.0),
            latency_ns: Some(12_000_000),
            fields: vec![
                s("GET"),
                s("/api/v1/items"),
                None,
                n(11.0),
                s("curl/8.5.0"),
                s("10.0.0.12:8080"),
            ],
        },
    );
    // Upstream failure: response flags, no upstream time, an agent with
    // quotes Envoy does not escape.
    check(
        &mut d,
        &slots,
        r#"[2026-10-10T04:55:37.000Z] "POST /pay HTTP/2" 503 UF,URX 120 91 30 - "203.0.113.9" "Mozilla/5.0 "odd" agent" "id-2" "pay.example.com" "-""#,
        Want {
            time_ns: T0 + 1_000_000_000,
            status: Some(503.0),
            latency_ns: Some(30_000_000),
            fields: vec![
                s("POST"),
                s("/pay"),
                s("UF,URX"),
                None,
                s(r#"Mozilla/5.0 "odd" agent"#),
                None,
            ],
        },
    );
    // The client left before any response: Envoy writes status 0, which
    // is no status (status rules judge the event invalid).
    check(
        &mut d,
        &slots,
        r#"[2026-10-10T04:55:38.000Z] "GET /slow HTTP/1.1" 0 DC 0 0 5000 - "-" "curl/8.5.0" "id-3" "api.example.com" "10.0.0.12:8080""#,
        Want {
            time_ns: T0 + 2_000_000_000,
            status: None,
            latency_ns: Some(5_000_000_000),
            fields: vec![
                s("GET"),
                s("/slow"),
                s("DC"),
                None,
                s("curl/8.5.0"),
                s("10.0.0.12:8080"),
            ],
        },
    );
}

#[test]
fn cloudfront_headers_set_the_columns() {
    let fields = ["cs-uri-stem", "c-ip", "cs-user-agent", "x-edge-result-type"];
    let (mut d, slots) = decoder("[decode]\nformat = \"cloudfront\"", &fields);
    assert_eq!(reject(&mut d, "#Version: 1.0"), Some(LineReject::Header));
    let documented = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";
    assert_eq!(reject(&mut d, documented), Some(LineReject::Header));
    check(
        &mut d,
        &slots,
        "2026-10-10\t04:55:36\tSEA19-C1\t2390\t2001:db8::5\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0)\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-",
        Want {
            time_ns: T0,
            status: Some(200.0),
            latency_ns: Some(1_000_000),
            fields: vec![
                s("/index.html"),
                s("2001:db8::5"),
                s("Mozilla/5.0%20(Windows%20NT%2010.0)"),
                s("Hit"),
            ],
        },
    );
    // A header with other columns changes how the next lines are read.
    assert_eq!(
        reject(&mut d, "#Fields: time date sc-status time-taken cs-uri-stem c-ip cs(User-Agent) x-edge-result-type a-new-field x1 x2 x3 x4 x5 x6 x7 x8 x9 x10"),
        Some(LineReject::Header)
    );
    check(
        &mut d,
        &slots,
        "04:55:37\t2026-10-10\t504\t30.000\t/slow\t192.0.2.9\tcurl/8.5.0\tError\tx\t\t\t\t\t\t\t\t\t\t",
        Want {
            time_ns: T0 + 1_000_000_000,
            status: Some(504.0),
            latency_ns: Some(30_000_000_000),
            fields: vec![s("/slow"), s("192.0.2.9"), s("curl/8.5.0"), s("Error")],
        },
    );
    // `000`: the viewer closed the connection before CloudFront answered.
    check(
        &mut d,
        &slots,
        "04:55:38\t2026-10-10\t000\t2.500\t/gone\t192.0.2.9\tcurl/8.5.0\tError\tx\t\t\t\t\t\t\t\t\t\t",
        Want {
            time_ns: T0 + 2_000_000_000,
            status: None,
            latency_ns: Some(2_500_000_000),
            fields: vec![s("/gone"), s("192.0.2.9"), s("curl/8.5.0"), s("Error")],
        },
    );
}

#[test]
fn haproxy_with_and_without_syslog_prefix() {
    let fields = [
        "client_ip",
        "frontend_name",
        "backend_name",
        "server_name",
        "Tc",
        "Tr",
        "termination_state",
        "captured_request_headers",
        "http_method",
        "http_uri",
    ];
    let (mut d, slots) = decoder("[decode]\nformat = \"haproxy\"", &fields);
    check(
        &mut d,
        &slots,
        r#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2026:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#,
        Want {
            time_ns: HA + 655_000_000,
            status: Some(200.0),
            latency_ns: Some(109_000_000),
            fields: vec![
                s("10.0.1.2"),
                s("http-in"),
                s("static"),
                s("srv1"),
                n(30.0),
                n(69.0),
                s("----"),
                s("1wt.eu"),
                s("GET"),
                s("/index.html"),
            ],
        },
    );
    // No server reached: `-1` timers are missing, and so is the latency
    // when `Ta` is one of them.
    check(
        &mut d,
        &slots,
        r#"2001:db8::2:4432 [06/Feb/2026:12:14:15.000] http-in~ app/<NOSRV> 12/-1/-1/-1/-1 503 212 - - SC-- 2/2/0/0/0 0/0 "GET /x HTTP/1.1""#,
        Want {
            time_ns: HA + 1_000_000_000,
            status: Some(503.0),
            latency_ns: None,
            fields: vec![
                s("2001:db8::2"),
                s("http-in~"),
                s("app"),
                s("<NOSRV>"),
                None,
                None,
                s("SC--"),
                None,
                s("GET"),
                s("/x"),
            ],
        },
    );
    // Aborted before any response: status `-1` is no status.
    check(
        &mut d,
        &slots,
        r#"10.0.1.3:40000 [06/Feb/2026:12:14:16.000] http-in be/srv1 0/0/0/-1/1500 -1 0 - - CD-- 1/1/1/1/0 0/0 "GET /stream HTTP/1.1""#,
        Want {
            time_ns: HA + 2_000_000_000,
            status: None,
            latency_ns: Some(1_500_000_000),
            fields: vec![
                s("10.0.1.3"),
                s("http-in"),
                s("be"),
                s("srv1"),
                n(0.0),
                None,
                s("CD--"),
                None,
                s("GET"),
                s("/stream"),
            ],
        },
    );
}

/// `option httpslog` adds TLS fields after the request; `log ... format
/// rfc5424` writes another syslog header.
#[test]
fn haproxy_https_log_and_rfc5424_header() {
    let fields = [
        "frontend_name",
        "http_uri",
        "fc_err",
        "ssl_fc_sni",
        "ssl_version",
        "ssl_ciphers",
    ];
    let (mut d, slots) = decoder("[decode]\nformat = \"haproxy\"", &fields);
    let line = r#"10.0.1.2:33317 [06/Feb/2026:12:14:14.655] https-in~ static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1" 0/0000000000000000/0/0/0 www.example.com/TLSv1.3/TLS_AES_256_GCM_SHA384"#;
    let want = || Want {
        time_ns: HA + 655_000_000,
        status: Some(200.0),
        latency_ns: Some(109_000_000),
        fields: vec![
            s("https-in~"),
            s("/index.html"),
            n(0.0),
            s("www.example.com"),
            s("TLSv1.3"),
            s("TLS_AES_256_GCM_SHA384"),
        ],
    };
    check(
        &mut d,
        &slots,
        &format!("Feb  6 12:14:14 lb1 haproxy[14389]: {line}"),
        want(),
    );
    for header in [
        "<134>1 2026-02-06T12:14:14.655000+00:00 lb1 haproxy 14389 - - ",
        r#"<134>1 2026-02-06T12:14:14.655Z lb1 haproxy 14389 - [meta sequenceId="1"] "#,
    ] {
        check(&mut d, &slots, &format!("{header}{line}"), want());
    }
    // Fields a custom log-format appends are passed over.
    check(
        &mut d,
        &slots,
        r#"10.0.1.2:33317 [06/Feb/2026:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1" extra"#,
        Want {
            fields: vec![s("http-in"), s("/index.html"), None, None, None, None],
            ..want()
        },
    );
    // The request line still has to be closed.
    assert_eq!(
        reject(
            &mut d,
            r#"10.0.1.2:33317 [06/Feb/2026:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"#
        ),
        Some(LineReject::BadLine)
    );
}

/// Heroku's router logs: logfmt behind an RFC 5424 header (a log drain)
/// or behind a first word in RFC 3339 (`heroku logs`); the header's time is
/// the `timestamp`, a `timestamp=` pair of the line's own wins.
#[test]
fn logfmt_behind_a_header_takes_its_time_from_the_header() {
    let (mut d, slots) = decoder(
        "[decode]\nformat = \"logfmt\"\n[decode.fields]\nlatency = \"service\"",
        &["path", "dyno"],
    );
    let router = r#"at=info method=GET path="/cart" host=shop.herokuapp.com request_id=4d1f fwd="203.0.113.9" dyno=web.1 connect=0ms service=45ms status=503 bytes=120 protocol=https"#;
    let want = || Want {
        time_ns: T0 + 456_000_000,
        status: Some(503.0),
        latency_ns: Some(45_000_000),
        fields: vec![s("/cart"), s("web.1")],
    };
    for line in [
        format!("<158>1 2026-10-10T04:55:36.456+00:00 host heroku router - {router}"),
        format!("295 <158>1 2026-10-10T04:55:36.456+00:00 host heroku router - {router}"),
        format!("<158>1 2026-10-10T04:55:36.456Z d.1 heroku router - - {router}"),
        format!("<158>1 2026-10-10T13:55:36.456+09:00 d.1 heroku router - [meta a=\"b\"] {router}"),
        format!("2026-10-10T04:55:36.456000+00:00 heroku[router]: {router}"),
        format!("timestamp=2026-10-10T04:55:36.456Z {router}"),
        format!("2020-01-01T00:00:00Z heroku[router]: timestamp=2026-10-10T04:55:36.456Z {router}"),
    ] {
        check(&mut d, &slots, &line, want());
    }
    // No clock in the header, and no time anywhere else.
    assert_eq!(
        reject(&mut d, &format!("<158>1 - host heroku router - {router}")),
        Some(LineReject::NoTimestamp)
    );
    assert_eq!(
        reject(&mut d, &format!("heroku[router]: {router}")),
        Some(LineReject::NoTimestamp)
    );
}

#[test]
fn logfmt_and_regex_take_roles_from_the_fields_section() {
    let (mut d, slots) = decoder(
        "[decode]\nformat = \"logfmt\"\n[decode.fields]\ntimestamp = \"ts\"\nlatency = \"dur\"\nlatency_unit = \"s\"",
        &["msg", "path"],
    );
    check(
        &mut d,
        &slots,
        r#"ts=2026-10-10T04:55:36Z level=info msg="GET \"/a b\" done" status=200 dur=0.25 path=/a"#,
        Want {
            time_ns: T0,
            status: Some(200.0),
            latency_ns: Some(250_000_000),
            fields: vec![s(r#"GET "/a b" done"#), s("/a")],
        },
    );
    assert_eq!(
        reject(&mut d, "status=200 dur=1"),
        Some(LineReject::NoTimestamp)
    );
    assert_eq!(reject(&mut d, "no pairs here"), Some(LineReject::BadLine));

    let decode = r#"[decode]
format = "regex"
pattern = '^(?P<when>\S+) (?P<code>\d{3}) (?P<took>\d+)us (?P<route>\S+)$'
[decode.fields]
timestamp = "when"
status = "code"
latency = "took"
latency_unit = "us"
timestamp_format = "%Y%m%dT%H%M%S%z""#;
    let (mut d, slots) = decoder(decode, &["route"]);
    check(
        &mut d,
        &slots,
        "20261010T135536+0900 503 1500us /api/a",
        Want {
            time_ns: T0,
            status: Some(503.0),
            latency_ns: Some(1_500_000),
            fields: vec![s("/api/a")],
        },
    );
    assert_eq!(
        reject(&mut d, "20261010T135536+0900 503"),
        Some(LineReject::BadLine)
    );
}

#[test]
fn json_reads_numbers_written_as_strings_and_dashes_as_missing() {
    let (mut d, slots) = decoder(
        "[decode.fields]\ntimestamp = \"time\"\nlatency = \"request_time\"\nlatency_unit = \"s\"",
        &[],
    );
    let line = |t: &str, status: &str, latency: &str| {
        format!(r#"{{"time":{t},"status":{status},"request_time":{latency}}}"#)
    };
    let cases = [
        (
            line("\"2026-10-10T13:55:36+09:00\"", "\"200\"", "\"0.123\""),
            T0,
            Some(200.0),
            Some(123_000_000),
        ),
        (
            line("\"10/Oct/2026:13:55:36 +0900\"", "200", "\"-\""),
            T0,
            Some(200.0),
            None,
        ),
        (
            line("\"1791608136.25\"", "\"-\"", "\"\""),
            T0 + 250_000_000,
            None,
            None,
        ),
        (
            line("1791608136250", "\"\"", "\"0.100, 0.004\""),
            T0 + 250_000_000,
            None,
            Some(104_000_000),
        ),
        (
            line("\"2026-10-10 04:55:36\"", "503", "0.5"),
            T0,
            Some(503.0),
            Some(500_000_000),
        ),
    ];
    for (text, time_ns, status, latency_ns) in cases {
        check(
            &mut d,
            &slots,
            &text,
            Want {
                time_ns,
                status,
                latency_ns,
                fields: vec![],
            },
        );
    }
    assert_eq!(
        reject(&mut d, &line("\"-\"", "200", "1")),
        Some(LineReject::NoTimestamp)
    );
}

/// Lines of every format, cut, doubled and sprinkled with quotes,
/// backslashes, tabs and multi-byte characters: each is decoded or
/// rejected, never a panic.
#[test]
fn mangled_lines_never_panic_in_any_format() {
    let samples = [
        ("[decode]\nformat = \"nginx\"", r#"203.0.113.7 - - [10/Oct/2026:13:55:36 +0900] "GET /a?b HTTP/1.1" 200 512 "-" "curl \x22x\x22""#),
        ("[decode]\nformat = \"apache\"", r#"::1 - frank [09/Oct/2026:21:55:36 -0700] "GET /x HTTP/1.0" 200 2326 "http://e/" "Mozilla \"q\"""#),
        ("[decode]\nformat = \"alb\"", r#"https 2026-10-10T04:55:37.000000Z app/lb/50 2001:db8::7:50122 - -1 -1 -1 503 - 0 0 "GET https://e:443/ HTTP/1.1" "ua" c p - "-" "-" "-" 0 2026-10-10T04:55:37Z "forward" "-" "-" "-" "-" "-" "-" -"#),
        ("[decode]\nformat = \"envoy\"", r#"[2026-10-10T04:55:37.000Z] "POST /pay HTTP/2" 503 UF 120 91 30 - "1.2.3.4" "a "b" c" "id" "h" "-""#),
        ("[decode]\nformat = \"cloudfront\"", "2026-10-10\t04:55:36\tSEA\t2390\t1.2.3.4\tGET\td.net\t/i\t200\t-\tM\t-\t-\tHit\tid\th\thttps\t23\t0.001\t-"),
        ("[decode]\nformat = \"haproxy\"", r#"Feb  6 12:14:14 lb haproxy[1]: 10.0.1.2:33317 [06/Feb/2026:12:14:14.655] in be/s 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {h} {} "GET / HTTP/1.1""#),
        ("[decode]\nformat = \"logfmt\"", r#"timestamp=2026-10-10T04:55:36Z msg="a \"b\" c" status=200 latency=1.5"#),
        ("[decode]\nformat = \"regex\"\npattern = '^(?P<timestamp>\\S+) (?P<status>\\d+)'", "2026-10-10T04:55:36Z 200"),
    ];
    let noise = [
        "\"", "\\", "\t", " ", "é", "日本", "{", "}", "[", "]", ":", "=", "-1", "-", "%", "$",
        "\\x2",
    ];
    let mut x = 0x5EED_u64;
    for (decode, line) in samples {
        let (mut d, _) = decoder(decode, &[]);
        let mut ok = 0;
        for round in 0..3000 {
            let mut text = line.to_string();
            for _ in 0..1 + round % 4 {
                crate::testing::xorshift(&mut x);
                let mut at = (x >> 8) as usize % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                match x % 3 {
                    0 => text.insert_str(at, noise[(x >> 40) as usize % noise.len()]),
                    1 => text.truncate(at),
                    _ => {
                        let tail = text[at..].to_string();
                        text.push_str(&tail);
                    }
                }
            }
            let mut e = Event::with_slots(d.slots());
            ok += usize::from(d.decode(text.as_bytes(), &mut e).is_ok());
        }
        // The unmangled line is read; most mangled ones are not.
        assert!(reject(&mut d, line).is_none(), "{decode}");
        assert!(ok < 3000, "{decode}: every mangled line was read");
    }
}

#[test]
fn envoy_start_time_with_a_strftime_argument() {
    // The argument holds `%`s of its own; the operator ends after its `)`.
    let (mut d, slots) = decoder(
        "[decode]\nformat = \"envoy\"\nlog_format = '[%START_TIME(%Y-%m-%dT%H:%M:%S%z)%] %RESPONSE_CODE% %DURATION%'",
        &[],
    );
    check(
        &mut d,
        &slots,
        "[2026-10-10T13:55:36+0900] 200 12",
        Want {
            time_ns: T0,
            status: Some(200.0),
            latency_ns: Some(12_000_000),
            fields: vec![],
        },
    );
}
