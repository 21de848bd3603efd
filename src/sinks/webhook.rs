//! The `webhook` sink: each record as a JSON `POST` to an HTTP endpoint
//! (alerts by default), for chat or paging integrations.
//!
//! A record counts as written once the endpoint answered 2xx; anything else
//! (a refused connection, a timeout, another status) fails the batch, which
//! the stream job retries with backoff before committing, so no alert is
//! lost across a restart (one may be posted twice, with the same body).
//! Only `http://` is spoken: put a TLS-terminating proxy in front of an
//! `https://` endpoint.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::Sink;
use crate::config::RecordKinds;
use crate::record::Record;

const TIMEOUT: Duration = Duration::from_secs(5);

/// An `http://host[:port]/path` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| "only http:// URLs are supported; put a TLS-terminating proxy in front of https endpoints".to_string())?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| format!("`{p}` is not a port"))?),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        Ok(Endpoint {
            host: host.to_string(),
            port,
            path: path.to_string(),
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
        let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
            .with_context(|| format!("cannot connect to {}:{}", self.host, self.port))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
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
                path: "/a/b".into()
            }
        );
        assert_eq!(Endpoint::parse("http://h").unwrap().port, 80);
        assert!(Endpoint::parse("https://h/x")
            .unwrap_err()
            .contains("proxy"));
        assert!(Endpoint::parse("http://h:x/").is_err());
    }
}
