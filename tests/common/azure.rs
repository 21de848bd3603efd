//! A real Azure Blob Storage server for the tests: Azurite's blob service
//! (npm's `azurite`) on a free loopback port, in memory, with its telemetry
//! off, checking every request's Shared Key or SAS signature against its
//! published development account. The container is filled by Microsoft's
//! own Python client (PyPI's `azure-storage-blob`); the client under test is
//! always the binary's own. Azurite's debug log is its request log.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::kafka::free_port;

/// Azurite's development account and its published key.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Creates the container, uploads every file under a folder with its
/// relative path as the name, and prints a SAS that may read and list the
/// container for an hour.
const SETUP: &str = r#"
import datetime, os, sys
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas
endpoint, account, key, container, folder = sys.argv[1:6]
conn = (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
        f"BlobEndpoint={endpoint}/{account};")
client = BlobServiceClient.from_connection_string(conn, retry_total=0)
c = client.create_container(container)
for root, _, files in os.walk(folder):
    for f in files:
        path = os.path.join(root, f)
        with open(path, "rb") as data:
            c.upload_blob(os.path.relpath(path, folder).replace(os.sep, "/"), data)
print(generate_container_sas(account, container, account_key=key,
      permission=ContainerSasPermissions(read=True, list=True),
      expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)))
"#;

/// How to install what these tests need.
const INSTALL: &str = "the Azure tests need Azurite's blob service and Microsoft's Python client: \
     `npm install --prefix /var/tmp/slipstream-npm azurite` (then put \
     /var/tmp/slipstream-npm/node_modules/.bin on PATH or set SLIPSTREAM_AZURITE_BLOB to its \
     azurite-blob) and `python3 -m pip install azure-storage-blob`; .ci/run does both";

/// A running Azurite, stopped when dropped.
pub struct Azurite {
    child: Child,
    pub port: u16,
    /// Its debug log: one `RequestMethod=GET RequestURL=...` line a request.
    pub log: PathBuf,
    /// A SAS that may read and list the container.
    pub sas: String,
}

impl Azurite {
    /// Starts Azurite on a free loopback port and fills `container` with
    /// the files under `folder`.
    pub fn start(dir: &Path, container: &str, folder: &Path) -> Azurite {
        let port = free_port();
        let log = dir.join("azurite.log");
        let out = std::fs::File::create(dir.join("azurite.out")).expect("create azurite output");
        let program =
            std::env::var("SLIPSTREAM_AZURITE_BLOB").unwrap_or_else(|_| "azurite-blob".into());
        let child = Command::new(&program)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args([
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--loose",
                "--debug",
            ])
            .arg(&log)
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} ({e}): {INSTALL}"));
        let mut azurite = Azurite {
            child,
            port,
            log,
            sas: String::new(),
        };
        super::wait_listening(&mut azurite.child, port, &program, &dir.join("azurite.out"));
        let out = Command::new("python3")
            .args(["-c", SETUP, &azurite.url(), ACCOUNT, KEY, container])
            .arg(folder)
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "filling the container failed ({INSTALL}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        azurite.sas = String::from_utf8_lossy(&out.stdout).trim().to_string();
        azurite
    }

    /// The blob service's URL, without the account.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment of a user of Azurite: the emulator's switch and
    /// where it listens; the development account and key are implied.
    pub fn emulator_env(&self) -> Vec<(String, String)> {
        vec![
            ("AZURE_STORAGE_USE_EMULATOR".into(), "true".into()),
            ("AZURITE_BLOB_STORAGE_URL".into(), self.url()),
        ]
    }

    /// The environment of a user of an account at another endpoint (as in
    /// a sovereign cloud): account, key and endpoint, no emulator switch.
    pub fn account_env(&self, key: &str) -> Vec<(String, String)> {
        vec![
            ("AZURE_STORAGE_ACCOUNT_NAME".into(), ACCOUNT.into()),
            ("AZURE_STORAGE_ACCOUNT_KEY".into(), key.into()),
            (
                "AZURE_STORAGE_ENDPOINT".into(),
                format!("{}/{ACCOUNT}", self.url()),
            ),
        ]
    }

    /// The URLs (path and query, `%2F` as `/`) of the GET requests Azurite
    /// saw so far, listings included (they carry `comp=list`).
    pub fn gets(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once("RequestMethod=GET RequestURL="))
            .filter_map(|(_, r)| r.split_whitespace().next())
            .map(|u| {
                let path = u.splitn(4, '/').nth(3).unwrap_or("");
                format!("/{}", path.replace("%2F", "/"))
            })
            .collect()
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
