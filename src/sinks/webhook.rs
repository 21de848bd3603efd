//! The `webhook` sink: each record as a JSON `POST` to an HTTP endpoint
//! (alerts by default), for chat or paging integrations.
//!
//! A record counts as written once the endpoint answered 2xx; anything else
//! (a refused connection, a timeout, another status) fails the batch, which
//! the stream job retries with backoff before committing, so no alert is
//! lost across a restart (one may be posted twice, with the same body).
//! `https://` endpoints are verified against the system's CA certificates
//! (OpenSSL's defaults; `SSL_CERT_FILE` names another bundle).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use openssl::ssl::{SslConnector, SslMethod};

use anyhow::{bail, Context, Result};

use super::Sink;
use crate::config::RecordKinds;
use crate::record::Record;

/// How long a request may wait unless `[[sink]] timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// An `http://` or `https://` `host[:port]/path` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub path: String,
    pub tls: bool,
    /// CA certificates (PEM) to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// How long connecting, sending or a read of the answer may wait.
    pub timeout: Duration,
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

    /// Posts one JSON body; fails unless the answer is 2xx.
    pub fn post(&self, body: &[u8]) -> Result<()> {
        let (code, status) = self.request("POST", body)?;
        if !(200..300).contains(&code) {
            bail!("the webhook answered `{status}`");
        }
        Ok(())
    }

    /// One request; returns the answer's status code and status line.
    pub fn request(&self, method: &str, body: &[u8]) -> Result<(u16, String)> {
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {}", self.host))?
            .next()
            .with_context(|| format!("{} has no address", self.host))?;
        let stream = TcpStream::connect_timeout(&addr, self.timeout)
            .with_context(|| format!("cannot connect to {}:{}", self.host, self.port))?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        if !self.tls {
            return self.exchange(stream, method, body);
        }
        let mut builder = SslConnector::builder(SslMethod::tls()).context("cannot set up TLS")?;
        if let Some(ca) = &self.ca_file {
            builder
                .set_ca_file(ca)
                .with_context(|| format!("cannot read the CA file {}", ca.display()))?;
        }
        let tls = builder.build().connect(&self.host, stream).map_err(|e| {
            anyhow::anyhow!("TLS handshake with {}:{} failed: {e}", self.host, self.port)
        })?;
        self.exchange(tls, method, body)
    }

    /// Writes the request on an open connection and reads the status line.
    fn exchange<S: Read + Write>(
        &self,
        mut stream: S,
        method: &str,
        body: &[u8],
    ) -> Result<(u16, String)> {
        let content = if body.is_empty() {
            String::new()
        } else {
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
        };
        write!(
            stream,
            "{method} {} HTTP/1.1\r\nHost: {}:{}\r\n{content}Connection: close\r\nUser-Agent: slipstream\r\n\r\n",
            self.path,
            self.host,
            self.port,
        )?;
        stream.write_all(body)?;
        stream.flush()?;
        let mut status = String::new();
        BufReader::new(stream)
            .read_line(&mut status)
            .with_context(|| format!("no answer from {}:{}", self.host, self.port))?;
        let code: u16 = status
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Ok((code, status.trim().to_string()))
    }
}

/// Records posted to a webhook.
pub struct WebhookSink {
    endpoint: Endpoint,
    kinds: RecordKinds,
}

impl WebhookSink {
    pub fn new(url: &str, kinds: RecordKinds) -> Result<WebhookSink> {
        let endpoint = Endpoint::parse(url).map_err(anyhow::Error::msg)?;
        Ok(WebhookSink { endpoint, kinds })
    }

    /// Sets the deadline of each request (see [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> WebhookSink {
        self.endpoint.timeout = timeout;
        self
    }
}

impl Sink for WebhookSink {
    fn name(&self) -> String {
        // The path may carry a token: name the host only.
        format!("webhook:{}:{}", self.endpoint.host, self.endpoint.port)
    }

    fn write(&mut self, records: &[Record]) -> Result<usize> {
        let mut n = 0;
        for r in records.iter().filter(|r| r.kind.wanted_by(&self.kinds)) {
            self.endpoint.post(r.json.as_bytes())?;
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;

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
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read headers, then the body by Content-Length.
                loop {
                    let n = s.read(&mut chunk).unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(i) = text.find("\r\n\r\n") {
                        let len: usize = text
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= i + 4 + len || n == 0 {
                            break;
                        }
                    }
                }
                seen.push(String::from_utf8_lossy(&buf).to_string());
                write!(s, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").unwrap();
            }
            seen
        });
        (port, h)
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
        assert!(seen[0].contains("Content-Type: application/json"));
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
