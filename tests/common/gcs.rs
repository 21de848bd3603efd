//! A Google Cloud Storage server for the tests: PyPI's
//! `gcp-storage-emulator` on a free loopback port, in memory, filled
//! through its JSON API's media uploads, its stderr being its request log.
//!
//! The emulator serves objects' bytes on the XML API's paths
//! (`GET /BUCKET/KEY`, ranges included), which is how `object_store`
//! fetches them, but it lacks the two other XML API calls `object_store`
//! makes: `HEAD /BUCKET/KEY` and the listing `GET /BUCKET?list-type=2`
//! (it answers 501 to both). So the binary talks to a small proxy
//! ([`XmlShim`]) that answers those two from the emulator's JSON API (the
//! object's metadata, and `GET /storage/v1/b/BUCKET/o?prefix=&delimiter=`)
//! in the XML API's shape, and passes every other request to the emulator
//! untouched. The emulator answers every request the binary makes; its
//! log counts them. The emulator checks no credentials: the shim can ask
//! for a bearer token and answers 401, as Google does, to any other.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::kafka::free_port;

/// Uploads every file under a folder with its relative path as the name.
const SETUP: &str = r#"
import os, sys, urllib.parse, urllib.request
endpoint, bucket, folder = sys.argv[1], sys.argv[2], sys.argv[3]
for root, _, files in os.walk(folder):
    for f in files:
        path = os.path.join(root, f)
        name = os.path.relpath(path, folder).replace(os.sep, "/")
        url = f"{endpoint}/upload/storage/v1/b/{bucket}/o?uploadType=media&name=" + urllib.parse.quote(name, safe="")
        with open(path, "rb") as data:
            req = urllib.request.Request(url, data=data.read(), method="POST",
                                         headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(req).read()
"#;

const INSTALL: &str = "the Google Cloud Storage tests need gcp-storage-emulator: \
     `python3 -m pip install gcp-storage-emulator` (or set SLIPSTREAM_GCS_EMULATOR to its \
     program); .ci/run installs it";

/// A running emulator, stopped when dropped.
pub struct GcsEmulator {
    child: Child,
    pub port: u16,
    /// Its request log: one `"GET /bucket/key HTTP/1.1" 206 -` line a request.
    pub log: PathBuf,
}

impl GcsEmulator {
    /// Starts the emulator on a free loopback port with `bucket` and fills
    /// it with the files under `folder`.
    pub fn start(dir: &Path, bucket: &str, folder: &Path) -> GcsEmulator {
        let port = free_port();
        let log = dir.join("gcs.log");
        let log_file = std::fs::File::create(&log).expect("create the emulator's log");
        let program = std::env::var("SLIPSTREAM_GCS_EMULATOR")
            .unwrap_or_else(|_| "gcp-storage-emulator".into());
        let child = Command::new(&program)
            .args(["start", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--in-memory", "--default-bucket", bucket])
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} ({e}): {INSTALL}"));
        let mut emulator = GcsEmulator { child, port, log };
        super::wait_listening(&mut emulator.child, port, &program, &emulator.log);
        let out = Command::new("python3")
            .args(["-c", SETUP, &format!("http://127.0.0.1:{port}"), bucket])
            .arg(folder)
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "filling the bucket failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        emulator
    }

    /// The paths of the GET requests in the emulator's log so far, with
    /// `%2F` as `/`: the objects' ranges (`/BUCKET/KEY`) and the JSON
    /// listings the shim made (`/storage/v1/b/BUCKET/o?prefix=...`).
    pub fn gets(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once("\"GET ").map(|(_, r)| r))
            .filter_map(|r| r.split_once(' ').map(|(path, _)| decode(path)))
            .collect()
    }
}

impl Drop for GcsEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The proxy in front of the emulator that serves the XML API's HEAD and
/// listing from its JSON API, and asks for `token` when there is one.
pub struct XmlShim {
    pub port: u16,
}

impl XmlShim {
    pub fn start(upstream: u16, token: Option<String>) -> XmlShim {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the shim");
        let port = listener.local_addr().expect("shim address").port();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let token = token.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream, token.as_deref());
                });
            }
        });
        XmlShim { port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// `%XX` escapes decoded.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every byte but letters, digits and `-._~` escaped.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The emulator serves one connection at a time with a short accept queue;
/// the shim sends it one request at a time, so that parallel fetches wait
/// here instead of failing there.
static UPSTREAM: Mutex<()> = Mutex::new(());

/// Sends `request` to the emulator and reads its whole answer.
fn exchange(port: u16, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let _one = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    let mut up = TcpStream::connect(("127.0.0.1", port))?;
    up.set_read_timeout(Some(Duration::from_secs(30)))?;
    up.write_all(request)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    Ok(answer)
}

/// One GET to the emulator: status and body.
fn upstream_get(port: u16, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let answer = exchange(port, request.as_bytes())?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |i| i + 4);
    let status = String::from_utf8_lossy(&answer[..split])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    Ok((status, answer[split..].to_vec()))
}

fn respond(
    client: &mut TcpStream,
    status: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<()> {
    write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n",
        body.len()
    )?;
    client.write_all(body)?;
    client.shutdown(Shutdown::Both)
}

fn serve(mut client: TcpStream, upstream: u16, token: Option<&str>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut authorized = token.is_none();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if let (Some((name, value)), Some(t)) = (line.split_once(':'), token) {
            if name.eq_ignore_ascii_case("authorization") && value.trim() == format!("Bearer {t}") {
                authorized = true;
            }
        }
        if line == "\r\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        if !line.to_ascii_lowercase().starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
    }
    let first = String::from_utf8_lossy(&head).into_owned();
    let mut words = first.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if !authorized {
        let body =
            b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AuthenticationRequired</Code>\
            <Message>Invalid Credentials</Message></Error>";
        return respond(&mut client, "401 Unauthorized", "", body);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let parts: Vec<String> = path
        .trim_start_matches('/')
        .splitn(2, '/')
        .map(decode)
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    match (method, parts.as_slice()) {
        ("GET", [bucket]) if query.contains("list-type=2") => {
            let param = |name: &str| {
                query
                    .split('&')
                    .find_map(|p| p.strip_prefix(&format!("{name}=")))
                    .map(decode)
                    .unwrap_or_default()
            };
            let (prefix, delimiter) = (param("prefix"), param("delimiter"));
            let json_path = format!(
                "/storage/v1/b/{bucket}/o?prefix={}&delimiter={}",
                encode(&prefix),
                encode(&delimiter)
            );
            let (status, body) = upstream_get(upstream, &json_path)?;
            if status != 200 {
                return respond(&mut client, &format!("{status} Upstream"), "", &body);
            }
            let listing: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let mut xml = format!(
                "<?xml version='1.0' encoding='UTF-8'?><ListBucketResult \
                 xmlns='http://doc.s3.amazonaws.com/2006-03-01'><Name>{bucket}</Name>\
                 <Prefix>{}</Prefix><IsTruncated>false</IsTruncated>",
                xml_escape(&prefix)
            );
            for item in listing["items"].as_array().into_iter().flatten() {
                xml.push_str(&format!(
                    "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>\"{}\"</ETag>\
                     <Size>{}</Size></Contents>",
                    xml_escape(item["name"].as_str().unwrap_or("")),
                    item["updated"].as_str().unwrap_or(""),
                    item["etag"].as_str().unwrap_or(""),
                    item["size"].as_str().unwrap_or("0"),
                ));
            }
            for p in listing["prefixes"].as_array().into_iter().flatten() {
                xml.push_str(&format!(
                    "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                    xml_escape(p.as_str().unwrap_or(""))
                ));
            }
            xml.push_str("</ListBucketResult>");
            respond(
                &mut client,
                "200 OK",
                "Content-Type: application/xml\r\n",
                xml.as_bytes(),
            )
        }
        ("HEAD", [bucket, key]) => {
            let Some((size, headers)) = metadata(upstream, bucket, key)? else {
                return respond(&mut client, "404 Not Found", "", b"");
            };
            // The size goes in Content-Length with no body, as HEAD's.
            write!(
                client,
                "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n{headers}Connection: close\r\n\r\n"
            )?;
            client.shutdown(Shutdown::Both)
        }
        _ => {
            // The emulator matches a bucket's name unescaped (`request-logs`,
            // where the client writes `request%2Dlogs`); the rest as sent.
            let raw = path.trim_start_matches('/').split('/').next().unwrap_or("");
            let head = first.replacen(&format!("/{raw}/"), &format!("/{}/", decode(raw)), 1);
            let mut answer = exchange(upstream, head.as_bytes())?;
            // The emulator's object GET lacks the ETag and Last-Modified
            // that the XML API sends and `object_store` requires.
            if let ("GET", [bucket, key]) = (method, parts.as_slice()) {
                if let Some((_, headers)) = metadata(upstream, bucket, key)? {
                    if let Some(end) = answer.windows(2).position(|w| w == b"\r\n") {
                        let tail = answer.split_off(end + 2);
                        answer.extend_from_slice(headers.as_bytes());
                        answer.extend_from_slice(&tail);
                    }
                }
            }
            client.write_all(&answer)?;
            client.shutdown(Shutdown::Both)
        }
    }
}

/// An object's size, and its ETag and Last-Modified headers, from the
/// emulator's JSON API; `None` when there is no such object.
fn metadata(upstream: u16, bucket: &str, key: &str) -> std::io::Result<Option<(String, String)>> {
    let (status, body) = upstream_get(
        upstream,
        &format!("/storage/v1/b/{bucket}/o/{}", encode(key)),
    )?;
    if status != 200 {
        return Ok(None);
    }
    let meta: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let updated = meta["updated"]
        .as_str()
        .and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default();
    Ok(Some((
        meta["size"].as_str().unwrap_or("0").to_string(),
        format!(
            "ETag: \"{}\"\r\nLast-Modified: {updated}\r\n",
            meta["etag"].as_str().unwrap_or("")
        ),
    )))
}
