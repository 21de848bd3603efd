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
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use ureq::tls::{PemItem, RootCerts, TlsConfig, TlsProvider};
use ureq::Agent;

use super::Sink;
use crate::config::{Endpoint, RecordKinds};
use crate::record::Record;

/// The most of an answer's status line and headers that is read.
const MAX_HEAD: usize = 64 * 1024;
/// The most of an error answer's body that is read, to quote it.
const QUOTED: u64 = 200;

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

/// A `webhook` sink for the stream job. A backfill sends nothing to
/// webhooks: alerts of the past are history, not news to page anyone with.
pub fn build(
    url: &str,
    timeout: Duration,
    kinds: RecordKinds,
    ctx: &super::Context<'_>,
) -> Result<Option<Box<dyn super::Sink>>> {
    match ctx.mode {
        super::Mode::Live => Ok(Some(Box::new(
            WebhookSink::new(url, kinds)?.with_timeout(timeout),
        ))),
        super::Mode::Backfill => {
            eprintln!("note: backfill sends nothing to webhook sinks; the past alerts are in the other sinks");
            Ok(None)
        }
    }
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

    /// Sets the deadline of each request (see [`crate::config::DEFAULT_TIMEOUT`]).
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
        self.write_from(records).1
    }

    /// Each record is its own request: the ones answered before a failure
    /// are delivered, and a retry starts after them.
    fn write_from(&mut self, records: &[Record]) -> (usize, Result<usize>) {
        let agent = match &self.agent {
            Some(a) => a.clone(),
            None => match self.endpoint.agent() {
                Ok(a) => self.agent.insert(a).clone(),
                Err(e) => return (0, Err(e)),
            },
        };
        let mut n = 0;
        for (i, r) in records.iter().enumerate() {
            if !r.kind.wanted_by(&self.kinds) {
                continue;
            }
            if let Err(e) = self.endpoint.post_with(&agent, r.json.as_bytes()) {
                return (i, Err(e));
            }
            n += 1;
        }
        (records.len(), Ok(n))
    }
}

#[cfg(test)]
mod tests;
