//! The `webhook` sink: each record as a JSON `POST` to an HTTP endpoint
//! (alerts by default), for chat or paging integrations.
//!
//! A record counts as written once the endpoint answered 2xx; anything else
//! (a refused connection, no whole answer within the deadline, another
//! status) fails the batch, which the stream job retries with backoff before
//! committing, so no alert is lost across a restart (one may be posted
//! twice, with the same body).
//!
//! The HTTP client is `ureq`'s. Each request has one deadline, `[[sink]]
//! timeout`, for resolving, connecting, sending and the whole answer; of the
//! answer at most 64 KiB of status line and headers are read, and of an
//! error's body the first 200 bytes, to quote them. Redirects are not
//! followed: a 3xx fails, naming where it points. No proxy from the
//! environment is used and no connection is kept between requests.
//! `https://` endpoints are verified (certificate and host name) through
//! the system's OpenSSL against its CA certificates (`SSL_CERT_FILE` names
//! another bundle).
//!
//! Errors never show the URL's path, which often carries a token.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use ureq::tls::{PemItem, RootCerts, TlsConfig, TlsProvider};
use ureq::Agent;

use super::Sink;
use crate::config::RecordKinds;
use crate::record::Record;

/// How long a request may take unless `[[sink]] timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of an answer's status line and headers that is read.
const MAX_HEAD: usize = 64 * 1024;
/// The most of an error answer's body that is read, to quote it.
const QUOTED: u64 = 200;

/// An `http://` or `https://` `host[:port]/path` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub path: String,
    pub tls: bool,
    /// CA certificates (PEM) to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// The deadline of a request: resolving, connecting, sending, and the
    /// whole answer.
    pub timeout: Duration,
}

/// What an endpoint answered.
struct Answer {
    code: u16,
    /// `HTTP/1.1 200 OK`.
    status: String,
    /// A redirect's target, scheme and authority only.
    location: Option<String>,
    /// The start of the body of an answer other than 2xx.
    quote: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let (rest, tls) = if let Some(r) = url.strip_prefix("https://") {
            (r, true)
        } else if let Some(r) = url.strip_prefix("http://") {
            (r, false)
        } else {
            return Err("expected an http:// or https:// URL".to_string());
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            // Not echoed: it would carry the credentials.
            return Err(
                "credentials in the URL are not supported; put a token in the path or use a proxy"
                    .to_string(),
            );
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| format!("`{p}` is not a port"))?),
            None => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        Ok(Endpoint {
            host: host.to_string(),
            port,
            path: path.to_string(),
            tls,
            ca_file: None,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// The URL as messages show it: without the path, which may carry a
    /// token.
    fn shown(&self) -> String {
        let path = if self.path == "/" { "/" } else { "/…" };
        format!("{}://{}:{}{path}", self.scheme(), self.host, self.port)
    }

    /// An HTTP client for this endpoint: its deadline, no redirects, no
    /// proxy, no kept connections, TLS through the system's OpenSSL.
    pub fn agent(&self) -> Result<Agent> {
        let roots = match &self.ca_file {
            None => RootCerts::PlatformVerifier,
            Some(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("cannot read the CA file {}", path.display()))?;
                let mut certs = Vec::new();
                for item in ureq::tls::parse_pem(&pem) {
                    if let PemItem::Certificate(c) = item.with_context(|| {
                        format!("the CA file {} is not valid PEM", path.display())
                    })? {
                        certs.push(c);
                    }
                }
                if certs.is_empty() {
                    bail!("the CA file {} holds no certificate", path.display());
                }
                RootCerts::new_with_certs(&certs)
            }
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::NativeTls)
            .root_certs(roots)
            .build();
        Ok(Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .max_response_header_size(MAX_HEAD)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .proxy(None)
            .user_agent("slipstream")
            .tls_config(tls)
            .build()
            .new_agent())
    }

    /// Posts one JSON body; fails unless the answer is 2xx.
    pub fn post(&self, body: &[u8]) -> Result<()> {
        self.post_with(&self.agent()?, body)
    }

    fn post_with(&self, agent: &Agent, body: &[u8]) -> Result<()> {
        let answer = self.exchange(agent, "POST", body, "webhook ")?;
        let (code, at) = (answer.code, self.shown());
        match code {
            200..=299 => Ok(()),
            300..=399 => bail!(
                "webhook {at} answered {} (a redirect, to {}); redirects are not followed: set the sink's `url` to where it points",
                answer.status_text(),
                answer.location.as_deref().unwrap_or("nowhere named")
            ),
            _ if answer.quote.is_empty() => {
                bail!("webhook {at} answered {} with no body", answer.status_text())
            }
            _ => bail!(
                "webhook {at} answered {}: {}",
                answer.status_text(),
                answer.quote
            ),
        }
    }

    /// One request; returns the answer's status code and status line.
    pub fn request(&self, method: &str, body: &[u8]) -> Result<(u16, String)> {
        let answer = self.exchange(&self.agent()?, method, body, "")?;
        Ok((answer.code, answer.status))
    }

    /// One request and what came back; `what` starts the URL in errors
    /// (`"webhook "`).
    fn exchange(&self, agent: &Agent, method: &str, body: &[u8], what: &str) -> Result<Answer> {
        let url = format!(
            "{}://{}:{}{}",
            self.scheme(),
            self.host,
            self.port,
            self.path
        );
        let request = ureq::http::Request::builder().method(method).uri(url);
        let sent = if body.is_empty() {
            request.body(()).map(|r| agent.run(r))
        } else {
            request
                .header("Content-Type", "application/json")
                .body(body)
                .map(|r| agent.run(r))
        };
        let mut response = match sent {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(self.explain(e, what)),
            // Not echoed: the error would quote the path.
            Err(_) => bail!("{what}{}: the URL is not a valid request", self.shown()),
        };
        let status = response.status();
        let location = status
            .is_redirection()
            .then(|| response.headers().get("location"))
            .flatten()
            .map(|l| origin(&String::from_utf8_lossy(l.as_bytes())));
        let mut quote = String::new();
        if !status.is_success() {
            let mut start = Vec::new();
            // What arrived before an error or the deadline is quoted all
            // the same.
            let _ = response
                .body_mut()
                .as_reader()
                .take(QUOTED)
                .read_to_end(&mut start);
            quote = quoted(&start);
        }
        Ok(Answer {
            code: status.as_u16(),
            status: format!(
                "{:?} {} {}",
                response.version(),
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim_end()
            .to_string(),
            location,
            quote,
        })
    }

    /// What went wrong, and what to check; never the URL's path.
    fn explain(&self, e: ureq::Error, what: &str) -> anyhow::Error {
        let at = format!("{what}{}", self.shown());
        match e {
            ureq::Error::Timeout(_) => anyhow!(
                "{at} did not answer within {}; check that it is up and answers promptly{}",
                humantime::format_duration(self.timeout),
                if what.is_empty() {
                    ""
                } else {
                    ", or raise the sink's `timeout`"
                }
            ),
            ureq::Error::HostNotFound => {
                anyhow!("cannot resolve {}: check the host name in `url`", self.host)
            }
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                anyhow!("cannot connect to {at}: nothing listens there")
            }
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                anyhow!("{at} closed the connection before a whole answer")
            }
            ureq::Error::Io(io) => anyhow!("the connection to {at} failed: {io}"),
            ureq::Error::ConnectionFailed => anyhow!("cannot connect to {at}"),
            ureq::Error::LargeResponseHeader(_, limit) => anyhow!(
                "{at} answered more than {} KiB of status line and headers; is it an HTTP server?",
                limit / 1024
            ),
            ureq::Error::Protocol(p) => {
                anyhow!("{at} answered something other than HTTP: {p}")
            }
            ureq::Error::NativeTls(t) => anyhow!(
                "TLS handshake with {}:{} failed: {t}; check the endpoint's certificate and the CA bundle (SSL_CERT_FILE)",
                self.host,
                self.port
            ),
            ureq::Error::Tls(t) => {
                anyhow!("TLS handshake with {}:{} failed: {t}", self.host, self.port)
            }
            // Not echoed: it would quote the path.
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
                anyhow!("{at}: the URL is not a valid request")
            }
            other => anyhow!("{at} failed: {other}"),
        }
    }
}

impl Answer {
    /// `302 Found`.
    fn status_text(&self) -> &str {
        self.status
            .split_once(' ')
            .map_or(self.status.as_str(), |(_, s)| s)
    }
}

/// A redirect's target as messages show it: scheme and host, no user
/// information, path or query.
fn origin(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else {
        return "a path of the same server".to_string();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}")
}

/// The start of an answer's body on one line, cut at a character's end.
fn quoted(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    };
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    one_line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Records posted to a webhook.
pub struct WebhookSink {
    endpoint: Endpoint,
    kinds: RecordKinds,
    /// Built at the first write.
    agent: Option<Agent>,
}

impl WebhookSink {
    pub fn new(url: &str, kinds: RecordKinds) -> Result<WebhookSink> {
        let endpoint = Endpoint::parse(url).map_err(anyhow::Error::msg)?;
        Ok(WebhookSink {
            endpoint,
            kinds,
            agent: None,
        })
    }

    /// Sets the deadline of each request (see [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> WebhookSink {
        self.endpoint.timeout = timeout;
        self.agent = None;
        self
    }
}

impl Sink for WebhookSink {
    fn name(&self) -> String {
        // The path may carry a token: name the host only.
        format!("webhook:{}:{}", self.endpoint.host, self.endpoint.port)
    }

    fn write(&mut self, records: &[Record]) -> Result<usize> {
        let agent = match &self.agent {
            Some(a) => a.clone(),
            None => self.agent.insert(self.endpoint.agent()?).clone(),
        };
        let mut n = 0;
        for r in records.iter().filter(|r| r.kind.wanted_by(&self.kinds)) {
            self.endpoint.post_with(&agent, r.json.as_bytes())?;
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::*;
    use crate::record::RecordKind;

    /// A one-shot HTTP server answering `status`; returns its port and a
    /// handle yielding the request it received.
    fn server(
        status: &'static str,
        requests: usize,
    ) -> (u16, std::thread::JoinHandle<Vec<String>>) {
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
        let endpoint =
            Endpoint::parse(&format!("http://127.0.0.1:{port}/hooks/T0KEN-123")).unwrap();
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
        let mut sink =
            WebhookSink::new(&format!("http://127.0.0.1:{port}/hooks/slo"), kinds).unwrap();
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
}
