//! A webhook's endpoint as the configuration gives it: checked once when
//! the configuration is read, used by the webhook sink and `slipstream
//! probe`.

use std::path::PathBuf;
use std::time::Duration;

/// How long a request may take unless `[[sink]] timeout` says otherwise.
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
    /// The deadline of a request: resolving, connecting, sending, and the
    /// whole answer.
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
}
