//! Archived logs in object stores: `s3://bucket/prefix`, `gs://bucket/prefix`
//! and `az://container/prefix`, through the `object_store` crate.
//!
//! [`Remote`] holds one client per bucket named on the command line, built
//! from the standard places of each store (`credentials.rs` for S3,
//! `gcs.rs`, `azure.rs`), and the small tokio runtime
//! their I/O runs on — never on the per-event path. `list.rs` lists a
//! prefix like a directory, in key order, pruning folders and names by the
//! [`Selection`]; `fetch.rs` fetches the objects' bytes in ranges, a fixed
//! number in flight, on a thread of its own, for the reader to decompress
//! and cut into chunks as it does local files.

mod azure;
mod credentials;
mod fetch;
mod gcs;
mod list;
mod process;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as KeyPath;
use object_store::{BackoffConfig, ObjectStore, RetryConfig};

pub use crate::config::{AzureSettings, GcsSettings, S3Settings};
pub use fetch::Fetched;

use super::select::Selection;

/// The object stores `backfill` reads, by URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scheme {
    S3,
    Gcs,
    Azure,
}

impl Scheme {
    fn prefix(self) -> &'static str {
        match self {
            Scheme::S3 => "s3",
            Scheme::Gcs => "gs",
            Scheme::Azure => "az",
        }
    }
}

/// One object to read: where it is and how large it was when listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// The bucket's (or container's) URL, `s3://bucket`.
    pub root: String,
    pub key: KeyPath,
    pub size: u64,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.root, self.key)
    }
}

/// An object store URL split: scheme, bucket, and the key or prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url<'a> {
    pub scheme: Scheme,
    pub bucket: &'a str,
    pub key: &'a str,
}

impl Url<'_> {
    fn root(&self) -> String {
        format!("{}://{}", self.scheme.prefix(), self.bucket)
    }
}

/// The URL in a command-line argument, or `None` for a local path.
pub fn parse_url(arg: &str) -> Option<Url<'_>> {
    let (scheme, rest) = arg.split_once("://")?;
    let scheme = match scheme {
        "s3" | "s3a" => Scheme::S3,
        "gs" => Scheme::Gcs,
        "az" | "azure" => Scheme::Azure,
        _ => return None,
    };
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    Some(Url {
        scheme,
        bucket,
        key,
    })
}

/// Ranges fetched at once; with [`RANGE_BYTES`], what bounds the memory the
/// fetched bytes take, whatever the size of the bucket.
pub const IN_FLIGHT: usize = 16;
/// Bytes asked of an object per request.
pub const RANGE_BYTES: u64 = 4 << 20;

/// The settings of every kind of store: `[source.s3]`, `[source.gcs]` and
/// `[source.azure]`.
#[derive(Debug, Clone, Copy)]
pub struct StoreSettings<'a> {
    pub s3: &'a S3Settings,
    pub gcs: &'a GcsSettings,
    pub azure: &'a AzureSettings,
}

/// The clients of the buckets named on the command line.
pub struct Remote {
    runtime: tokio::runtime::Runtime,
    stores: BTreeMap<String, Arc<dyn ObjectStore>>,
}

impl Remote {
    /// A client for every bucket that `args` name, or `None` when they name
    /// none. Fails when a client cannot be built (a URL without a bucket,
    /// an unreadable profile or credentials file, an Azure URL with no
    /// storage account): a message saying what to set.
    pub fn open(args: &[String], settings: StoreSettings<'_>) -> Result<Option<Remote>, String> {
        let mut stores = BTreeMap::new();
        for arg in args {
            let Some(url) = parse_url(arg) else {
                continue;
            };
            if url.bucket.is_empty() {
                return Err(format!(
                    "{arg} names no bucket; write {}://BUCKET/PREFIX",
                    url.scheme.prefix()
                ));
            }
            let root = url.root();
            if stores.contains_key(&root) {
                continue;
            }
            let store = build(&url, settings)?;
            stores.insert(root, store);
        }
        if stores.is_empty() {
            return Ok(None);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the object store client's runtime: {e}"))?;
        Ok(Some(Remote { runtime, stores }))
    }

    /// The objects that `arg` names: the one object of that key, or every
    /// object under it as a folder, in key order, as the selection keeps
    /// them; or why they could not be listed.
    pub fn expand(&self, arg: &str, selection: &Selection) -> Result<Vec<ObjectRef>, String> {
        let Some(url) = parse_url(arg) else {
            return Ok(Vec::new());
        };
        let root = url.root();
        let Some(store) = self.stores.get(&root) else {
            return Ok(Vec::new());
        };
        let found = self
            .runtime
            .block_on(list::objects(store.as_ref(), &url, selection));
        match found {
            Ok(objects) => Ok(objects
                .into_iter()
                .map(|(key, size)| ObjectRef {
                    root: root.clone(),
                    key,
                    size,
                })
                .collect()),
            Err(e) => Err(list::explain(url.scheme, &e)),
        }
    }
}

/// How failed requests are retried: throttling (429, 503), server errors
/// and broken connections, with exponential backoff.
fn retry(max_retries: usize) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            base: 2.0,
        },
        max_retries,
        retry_timeout: Duration::from_secs(120),
    }
}

fn build(url: &Url<'_>, settings: StoreSettings<'_>) -> Result<Arc<dyn ObjectStore>, String> {
    let what = url.root();
    let store: Arc<dyn ObjectStore> = match url.scheme {
        Scheme::S3 => Arc::new(
            credentials::s3_builder(settings.s3)?
                .with_bucket_name(url.bucket)
                .with_retry(retry(settings.s3.max_retries))
                .build()
                .map_err(|e| format!("cannot set up the client of {what}: {e}"))?,
        ),
        Scheme::Gcs => Arc::new(
            gcs::gcs_builder(settings.gcs)
                .with_bucket_name(url.bucket)
                .with_retry(retry(settings.gcs.max_retries))
                .build()
                .map_err(|e| format!("cannot set up the client of {what}: {e}; {}", gcs::HINT))?,
        ),
        Scheme::Azure => Arc::new(
            azure::azure_builder(settings.azure)
                .with_container_name(url.bucket)
                .with_retry(retry(settings.azure.max_retries))
                .build()
                .map_err(|e| format!("cannot set up the client of {what}: {e}; {}", azure::HINT))?,
        ),
    };
    Ok(store)
}

/// An environment of `(name, value)` pairs, for the settings' tests.
#[cfg(test)]
fn test_env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_a_prefix() {
        let u = parse_url("s3://logs/AWSLogs/1/").expect("a url");
        assert_eq!(
            (u.scheme, u.bucket, u.key),
            (Scheme::S3, "logs", "AWSLogs/1/")
        );
        let u = parse_url("gs://b").expect("a url");
        assert_eq!((u.scheme, u.bucket, u.key), (Scheme::Gcs, "b", ""));
        let u = parse_url("az://c/x.gz").expect("a url");
        assert_eq!((u.scheme, u.bucket, u.key), (Scheme::Azure, "c", "x.gz"));
        assert_eq!(parse_url("logs/s3://x"), None);
        assert_eq!(parse_url("/var/log/nginx"), None);
        assert_eq!(parse_url("ftp://host/x"), None);
    }

    #[test]
    fn a_url_without_a_bucket_is_refused_with_the_form_to_write() {
        let (s3, gcs, azure) = Default::default();
        let settings = StoreSettings {
            s3: &s3,
            gcs: &gcs,
            azure: &azure,
        };
        let err = Remote::open(&["s3:///x".to_string()], settings)
            .err()
            .unwrap_or_default();
        assert!(err.contains("s3://BUCKET/PREFIX"), "{err}");
        let none = Remote::open(&["logs/".to_string()], settings);
        assert!(matches!(none, Ok(None)));
    }
}
