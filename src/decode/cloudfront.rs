//! Amazon CloudFront standard logs (W3C extended format, tab-separated).
//! The `#Fields:` header line sets the columns of the lines after it; until
//! one is seen, the columns are those of AWS's documented order. Fields are
//! named as in that header, with `cs(Host)` written `cs-host` (and so on for
//! `cs(Referer)`, `cs(User-Agent)`, `cs(Cookie)`) so rules can name them.
//! Values stay as CloudFront writes them (URL-encoded where it encodes).
//! Header lines (`#Version`, `#Fields`) are counted under the reason
//! `header`, not decoded.

use super::fill::Fill;
use super::settings::LatencyUnit;
use super::spec::{Column, Format, Spec, Splitter};
use super::LineReject;

/// The standard log's fields in AWS's documented order.
pub const FIELDS: [&str; 33] = [
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

/// A `#Fields` name as a field name: `cs(User-Agent)` is `cs-user-agent`.
pub fn field_name(header: &str) -> String {
    match header
        .strip_prefix("cs(")
        .or_else(|| header.strip_prefix("sc("))
        .and_then(|h| h.strip_suffix(')'))
    {
        Some(inner) => format!("{}-{}", &header[..2], inner.to_ascii_lowercase()),
        None => header.to_string(),
    }
}

pub fn spec() -> Spec {
    Spec {
        format: Format::CloudFront,
        columns: FIELDS
            .iter()
            .map(|f| match *f {
                "sc-status" => Column::status(f),
                _ => Column::new(field_name(f)),
            })
            .collect(),
        splitter: Splitter::CloudFront,
        timestamp: "date+time".into(),
        status: "sc-status".into(),
        latency: "time-taken".into(),
        latency_unit: LatencyUnit::Seconds,
    }
}

/// The columns of the fields of a line, in order, as the last `#Fields`
/// header set them.
#[derive(Debug, Clone)]
pub(super) struct Header {
    names: Vec<String>,
    order: Vec<Option<usize>>,
}

impl Header {
    pub(super) fn new(spec: &Spec) -> Header {
        let names: Vec<String> = spec.columns.iter().map(|c| c.name.clone()).collect();
        Header {
            order: (0..names.len()).map(Some).collect(),
            names,
        }
    }

    /// Starts an input: the columns are those its `preamble` (its leading
    /// `#` lines) sets, or AWS's documented order.
    pub(super) fn start(&mut self, preamble: &str) {
        self.order = (0..self.names.len()).map(Some).collect();
        for line in preamble.lines() {
            if let Some(header) = line.strip_prefix('#') {
                self.read_header(header.trim_end_matches('\r'));
            }
        }
    }

    /// A header line without its `#`: `Fields:` sets the columns.
    fn read_header(&mut self, header: &str) {
        if let Some(fields) = header.strip_prefix("Fields:") {
            self.order = fields
                .split_whitespace()
                .map(|f| {
                    let name = field_name(f);
                    self.names.iter().position(|n| *n == name)
                })
                .collect();
        }
    }

    pub(super) fn split<'a>(
        &mut self,
        line: &'a str,
        fill: &mut Fill<'a, '_>,
    ) -> Result<(), LineReject> {
        if let Some(header) = line.strip_prefix('#') {
            self.read_header(header);
            return Err(LineReject::Header);
        }
        let mut n = 0;
        for (i, v) in line.split('\t').enumerate() {
            if let Some(Some(col)) = self.order.get(i) {
                fill.put(*col, v, false);
            }
            n = i + 1;
        }
        // Fewer fields than up to `time-taken`: not a CloudFront line.
        if n < 19.min(self.order.len()) {
            return Err(LineReject::BadLine);
        }
        Ok(())
    }
}
