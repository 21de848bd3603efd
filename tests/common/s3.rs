//! A real S3-protocol server for the tests: `moto_server` (PyPI's
//! `moto[server]`) on a free loopback port — a user whose keys the tests
//! pass to the binary as AWS's tools would, checked when authentication is
//! on (moto 5 then rejects the signature of any request whose query holds
//! a `/`, such as every listing of a prefix, so only the credentials test
//! turns it on and reads an object by its key) — and a small HTTP proxy in front of it that fails chosen keys, for the
//! retries and failures. The client under test is always the binary's own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::kafka::free_port;

/// Creates a user with every right and its access key (the three requests
/// moto serves before it asks for signatures), then the bucket, and uploads
/// every file under a folder with its relative path as the key. Prints the
/// key id and the secret.
const SETUP: &str = r#"
import os, sys, boto3
endpoint, bucket, folder = sys.argv[1], sys.argv[2], sys.argv[3]
anyone = dict(endpoint_url=endpoint, region_name="us-east-1",
              aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **anyone)
iam.create_user(UserName="backfill")
iam.put_user_policy(UserName="backfill", PolicyName="all", PolicyDocument=
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
key = iam.create_access_key(UserName="backfill")["AccessKey"]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket=bucket)
for root, _, files in os.walk(folder):
    for f in files:
        path = os.path.join(root, f)
        s3.upload_file(path, bucket, os.path.relpath(path, folder).replace(os.sep, "/"))
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;

/// A running `moto_server`, stopped when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
    /// Its request log (stderr): one `"GET /bucket/key HTTP/1.1" 206 -` line a request.
    pub log: PathBuf,
    pub key_id: String,
    pub secret: String,
}

impl Moto {
    /// Starts moto on a free loopback port and fills `bucket` with the
    /// files under `folder`; `auth`: signatures are checked.
    pub fn start(dir: &Path, bucket: &str, folder: &Path, auth: bool) -> Moto {
        let port = free_port();
        let log = dir.join("moto.log");
        let log_file = std::fs::File::create(&log).expect("create moto log");
        let mut command = Command::new("moto_server");
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        if auth {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", "3");
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto_server ({e}): the S3 tests need it; install it with \
                     `python3 -m pip install 'moto[server]'`"
                )
            });
        let mut moto = Moto {
            child,
            port,
            log,
            key_id: String::new(),
            secret: String::new(),
        };
        super::wait_listening(&mut moto.child, port, "moto_server", &moto.log);
        let out = Command::new("python3")
            .args(["-c", SETUP, &moto.endpoint(), bucket])
            .arg(folder)
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "filling the bucket failed (is boto3 installed with moto?):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut words = text.split_whitespace();
        moto.key_id = words.next().expect("key id").to_string();
        moto.secret = words.next().expect("secret").to_string();
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that gives the binary this server and its keys.
    pub fn env(&self, endpoint: &str) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.secret.clone()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ENDPOINT_URL".into(), endpoint.to_string()),
        ]
    }

    /// The paths of the GET requests in the server's log so far
    /// (listings included: they carry `?list-type=2`), with `%2F` as `/`.
    pub fn gets(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once("\"GET ").map(|(_, r)| r))
            .filter_map(|r| r.split_once(' ').map(|(path, _)| path.replace("%2F", "/")))
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A proxy in front of a server that answers 500 to the requests whose
/// path contains a chosen string: a number of times, or always (`None`).
/// One request per connection; every request's path is logged.
pub struct FaultProxy {
    pub port: u16,
    /// (path, answered 500) of every request, in order.
    pub requests: Arc<Mutex<Vec<(String, bool)>>>,
}

impl FaultProxy {
    pub fn start(upstream: u16, faults: Vec<(String, Option<usize>)>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let requests: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
        let faults = Arc::new(Mutex::new(faults));
        let log = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (faults, log) = (faults.clone(), log.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream, &faults, &log);
                });
            }
        });
        FaultProxy { port, requests }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests whose path contains `part`: how many, how many failed.
    pub fn count(&self, part: &str) -> (usize, usize) {
        let log = self.requests.lock().expect("proxy log");
        let hits: Vec<&(String, bool)> = log.iter().filter(|(p, _)| p.contains(part)).collect();
        (
            hits.len(),
            hits.iter().filter(|(_, failed)| *failed).count(),
        )
    }
}

fn serve(
    client: TcpStream,
    upstream: u16,
    faults: &Mutex<Vec<(String, Option<usize>)>>,
    log: &Mutex<Vec<(String, bool)>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        if line == "\r\n" {
            // One request per connection upstream too.
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        if !line.to_ascii_lowercase().starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let first = String::from_utf8_lossy(&head);
    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
    let fail = {
        let mut faults = faults.lock().expect("faults");
        match faults
            .iter_mut()
            .find(|(part, _)| path.contains(part.as_str()))
        {
            Some((_, None)) => true,
            Some((_, Some(n))) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    };
    log.lock().expect("proxy log").push((path, fail));
    let mut client = client;
    if fail {
        client.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return client.shutdown(Shutdown::Both);
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.set_read_timeout(Some(Duration::from_secs(30)))?;
    up.write_all(&head)?;
    up.write_all(&body)?;
    // The whole answer, then the connection closes: the client opens a new
    // one for its next request, which this proxy sees.
    let mut answer = Vec::new();
    read_response(&mut up, &mut answer, first.starts_with("HEAD "))?;
    client.write_all(&answer)?;
    client.shutdown(Shutdown::Both)
}

/// Reads one HTTP response with a Content-Length (as moto writes them),
/// or to the end of the connection; an answer to HEAD has no body.
fn read_response(up: &mut TcpStream, out: &mut Vec<u8>, head: bool) -> std::io::Result<()> {
    let mut reader = BufReader::new(up);
    let mut length: Option<usize> = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok();
            }
        }
        out.extend_from_slice(line.as_bytes());
        if line == "\r\n" {
            break;
        }
    }
    match length {
        _ if head => Ok(()),
        Some(n) => {
            let start = out.len();
            out.resize(start + n, 0);
            reader.read_exact(&mut out[start..])
        }
        None => reader.read_to_end(out).map(|_| ()),
    }
}
