//! The webhook sink against servers on 127.0.0.1 that answer well, badly,
//! slowly or endlessly.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use super::*;
use crate::config::DEFAULT_TIMEOUT;
use crate::record::RecordKind;

/// A one-shot HTTP server answering `status`; returns its port and a
/// handle yielding the request it received.
fn server(status: &'static str, requests: usize) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..requests {
            let (mut s, _) = listener.accept().unwrap();
            seen.push(read_request(&mut s));
            write!(s, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").unwrap();
        }
        seen
    });
    (port, h)
}

/// Reads one request: its head, then the body by Content-Length.
fn read_request(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).unwrap();
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(i) = text.find("\r\n\r\n") {
            let len: usize = text
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length").then_some(v)
                })
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= i + 4 + len {
                break;
            }
        }
        assert!(n > 0, "the request ended early");
    }
    String::from_utf8_lossy(&buf).to_string()
}

/// A server that takes one request and answers with `answer(stream)`
/// on its own thread; returns its port and the thread.
fn answering<T: Send + 'static>(
    answer: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (u16, std::thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        read_request(&mut s);
        answer(s)
    });
    (port, h)
}

/// Posts on another thread; the outcome and how long it took, or
/// `None` when it has not returned within `limit`.
fn post_within(endpoint: Endpoint, limit: Duration) -> Option<(Result<()>, Duration)> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let r = endpoint.post(br#"{"kind":"alert"}"#);
        let _ = tx.send((r, started.elapsed()));
    });
    rx.recv_timeout(limit).ok()
}

#[test]
fn a_trickling_answer_fails_at_the_deadline() {
    // One byte a second, never a whole status line: each read gets
    // something well within the deadline, the request never ends.
    let (port, server) = answering(|mut s| {
        let mut sent = 0;
        for b in b"HTTP/1.1 200 OK".iter().chain([b'x'; 45].iter()) {
            if s.write_all(&[*b]).is_err() {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_secs(1));
        }
        sent
    });
    let mut endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/hook")).unwrap();
    endpoint.timeout = Duration::from_secs(2);
    let Some((result, took)) = post_within(endpoint, Duration::from_secs(4)) else {
        panic!("the post was still waiting 4 s into a 2 s deadline");
    };
    let e = format!("{:#}", result.unwrap_err());
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}: {e}"
    );
    assert!(e.contains("did not answer within 2s"), "{e}");
    assert!(e.contains("127.0.0.1"), "{e}");
    // The client hung up: the server stops long before its 60 bytes.
    assert!(server.join().unwrap() < 10);
}

/// The peak resident memory of this process (`VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

#[test]
fn an_endless_status_line_fails_promptly_in_bounded_memory() {
    // The peak memory is the whole process's: other tests running
    // alongside would move it, so the work runs in a process of its own
    // that runs this test alone.
    const ALONE: &str = "SLIPSTREAM_TEST_WEBHOOK_ALONE";
    let name = concat!(
        module_path!(),
        "::an_endless_status_line_fails_promptly_in_bounded_memory"
    );
    let name = name.split_once("::").unwrap().1;
    if std::env::var_os(ALONE).is_none() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(ALONE, "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && text.contains("1 passed"), "{text}");
        return;
    }
    // `HTTP/1.1 200 OK` and then 256 MiB without a line end, from one
    // 64 KiB buffer, until the client hangs up.
    const TOTAL: usize = 256 << 20;
    let (port, server) = answering(|mut s| {
        let chunk = vec![b'x'; 64 << 10];
        let mut sent = 0;
        if s.write_all(b"HTTP/1.1 200 OK").is_ok() {
            while sent < TOTAL && s.write_all(&chunk).is_ok() {
                sent += chunk.len();
            }
        }
        sent
    });
    let before = peak_rss();
    let mut endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/hook")).unwrap();
    endpoint.timeout = Duration::from_secs(30);
    let Some((result, took)) = post_within(endpoint, Duration::from_secs(20)) else {
        panic!("the post was still reading after 20 s");
    };
    let grew = peak_rss().saturating_sub(before);
    let sent = server.join().unwrap();
    assert!(grew < 4 << 20, "the peak RSS grew by {grew} bytes");
    assert!(result.is_err(), "an endless status line was taken as 200");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // What the kernel buffers aside, the client stopped reading early.
    assert!(sent < 32 << 20, "the server sent {sent} bytes");
    let e = format!("{:#}", result.unwrap_err());
    assert!(e.contains("127.0.0.1"), "{e}");
}

#[test]
fn a_redirect_is_not_followed() {
    // Where the redirect points: nothing may connect there.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let to = elsewhere.local_addr().unwrap().port();
    let (port, server) = answering(move |mut s| {
        write!(
            s,
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{to}/moved/s3cret\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
    });
    let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/hook")).unwrap();
    let e = format!("{:#}", endpoint.post(b"{}").unwrap_err());
    server.join().unwrap();
    assert!(e.contains("302"), "{e}");
    assert!(e.contains("redirect"), "{e}");
    assert!(e.contains(&format!("127.0.0.1:{to}")), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
    match elsewhere.accept() {
        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the redirect was followed: {other:?}"),
    }
}

#[test]
fn an_error_answer_is_quoted_briefly_without_the_path() {
    let (port, server) = answering(|mut s| {
        let body = format!("quota exceeded for this hook{}", "y".repeat(100_000));
        write!(
            s,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap_or(());
    });
    let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/hooks/T0KEN-123")).unwrap();
    let e = format!("{:#}", endpoint.post(b"{}").unwrap_err());
    server.join().unwrap();
    assert!(e.contains("answered 500"), "{e}");
    assert!(e.contains("quota exceeded for this hook"), "{e}");
    assert!(e.len() < 400, "{} bytes: {e}", e.len());
    assert!(!e.contains("T0KEN"), "{e}");
}

fn records() -> Vec<Record> {
    vec![
        Record {
            kind: RecordKind::Window,
            key: "a|t".into(),
            json: r#"{"kind":"window"}"#.into(),
        },
        Record {
            kind: RecordKind::Alert,
            key: "a|page|t".into(),
            json: r#"{"kind":"alert","state":"firing"}"#.into(),
        },
    ]
}

#[test]
fn posts_each_wanted_record_as_json() {
    let (port, h) = server("204 No Content", 1);
    let kinds = RecordKinds {
        window: false,
        slo: false,
        alert: true,
    };
    let mut sink = WebhookSink::new(&format!("http://127.0.0.1:{port}/hooks/slo"), kinds).unwrap();
    assert_eq!(sink.write(&records()).unwrap(), 1);
    let seen = h.join().unwrap();
    assert!(
        seen[0].starts_with("POST /hooks/slo HTTP/1.1\r\n"),
        "{}",
        seen[0]
    );
    assert!(seen[0]
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    assert!(
        seen[0].ends_with(r#"{"kind":"alert","state":"firing"}"#),
        "{}",
        seen[0]
    );
}

/// A server answering each of `statuses` in turn, one request each;
/// yields the bodies it received.
fn answering_in_turn(
    statuses: &'static [&'static str],
) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for status in statuses {
            let (mut s, _) = listener.accept().unwrap();
            let request = read_request(&mut s);
            bodies.push(request.split("\r\n\r\n").nth(1).unwrap_or("").to_string());
            write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
        }
        bodies
    });
    (port, h)
}

#[test]
fn a_failure_mid_batch_says_what_was_delivered_and_the_retry_sends_only_the_rest() {
    let batch: Vec<Record> = (0..4)
        .map(|i| Record {
            kind: if i == 1 {
                RecordKind::Slo
            } else {
                RecordKind::Alert
            },
            key: format!("k{i}"),
            json: format!("{{\"n\":{i}}}"),
        })
        .collect();
    let alerts = RecordKinds {
        window: false,
        slo: false,
        alert: true,
    };
    // Records 0, 2 and 3 are posted (1 is not wanted); 2 gets a 500.
    let (port, h) = answering_in_turn(&["200 OK", "500 Internal Server Error", "200 OK", "200 OK"]);
    let mut sink = WebhookSink::new(&format!("http://127.0.0.1:{port}/"), alerts).unwrap();
    let (done, result) = sink.write_from(&batch);
    assert!(result.is_err());
    assert_eq!(done, 2, "records 0 and 1 are behind it");
    let (done, result) = sink.write_from(&batch[2..]);
    assert_eq!((done, result.unwrap()), (2, 2));
    assert_eq!(
        h.join().unwrap(),
        [r#"{"n":0}"#, r#"{"n":2}"#, r#"{"n":2}"#, r#"{"n":3}"#],
        "record 0 once, record 2 again only because it failed"
    );
}

#[test]
fn a_refusal_or_an_error_status_fails_the_batch() {
    let (port, h) = server("500 Internal Server Error", 1);
    let mut sink =
        WebhookSink::new(&format!("http://127.0.0.1:{port}/"), RecordKinds::default()).unwrap();
    let e = sink.write(&records()).unwrap_err();
    assert!(e.to_string().contains("500"), "{e}");
    h.join().unwrap();
    // Nobody listens any more.
    assert!(sink.write(&records()).is_err());
}

#[test]
fn urls_are_checked() {
    assert_eq!(
        Endpoint::parse("http://hooks.local:8080/a/b").unwrap(),
        Endpoint {
            host: "hooks.local".into(),
            port: 8080,
            path: "/a/b".into(),
            tls: false,
            ca_file: None,
            timeout: DEFAULT_TIMEOUT,
        }
    );
    assert_eq!(Endpoint::parse("http://h").unwrap().port, 80);
    let e = Endpoint::parse("https://h/x").unwrap();
    assert!(e.tls && e.port == 443);
    assert!(Endpoint::parse("ftp://h/x").is_err());
    let e = Endpoint::parse("https://u:s3cret@h/x").unwrap_err();
    assert!(!e.contains("s3cret"), "{e}");
    assert!(Endpoint::parse("http://h:x/").is_err());
}

/// A self-signed certificate for `localhost` and its key, as PEM.
fn self_signed() -> (Vec<u8>, Vec<u8>) {
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::{X509NameBuilder, X509};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (
        b.build().to_pem().unwrap(),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
}

#[test]
fn https_endpoints_are_verified_and_posted_to() {
    use openssl::pkey::PKey;
    use openssl::ssl::{SslAcceptor, SslMethod};
    use openssl::x509::X509;
    let (cert, key) = self_signed();
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor
        .set_certificate(&X509::from_pem(&cert).unwrap())
        .unwrap();
    acceptor
        .set_private_key(&PKey::private_key_from_pem(&key).unwrap())
        .unwrap();
    let acceptor = acceptor.build();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let (s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // The first client does not trust the certificate: no session.
            let Ok(mut tls) = acceptor.accept(s) else {
                seen.push(None);
                continue;
            };
            // The whole request, so that closing sends no reset.
            let body = br#"{"kind":"alert"}"#;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.ends_with(body) {
                let n = tls.read(&mut chunk).unwrap();
                assert!(n > 0, "the request ended early");
                buf.extend_from_slice(&chunk[..n]);
            }
            seen.push(Some(String::from_utf8_lossy(&buf).to_string()));
            write!(tls, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").unwrap();
        }
        seen
    });
    let mut endpoint = Endpoint::parse(&format!("https://localhost:{port}/alerts")).unwrap();
    let untrusted = endpoint.post(b"{}").unwrap_err();
    assert!(
        untrusted.to_string().contains("TLS handshake"),
        "{untrusted}"
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert).unwrap();
    endpoint.ca_file = Some(ca);
    endpoint.post(br#"{"kind":"alert"}"#).unwrap();
    let seen = server.join().unwrap();
    assert!(seen[0].is_none());
    let request = seen[1].as_deref().unwrap();
    assert!(
        request.starts_with("POST /alerts HTTP/1.1\r\n"),
        "{request}"
    );
}
