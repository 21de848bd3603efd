//! The settings of the object stores that `backfill` reads
//! (`[source.s3]`, `[source.gcs]`, `[source.azure]`): what the environment
//! does not give. `sources::files::object` turns them into clients.

/// `[source.s3]`: settings for S3 and S3-compatible stores that the
/// environment does not give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// The endpoint of an S3-compatible store (`AWS_ENDPOINT_URL` wins);
    /// `http://` is allowed when the URL says so.
    pub endpoint: Option<String>,
    /// The buckets' region when neither `AWS_REGION` nor the profile says.
    pub region: Option<String>,
    /// The profile of the shared files when `AWS_PROFILE` is not set.
    pub profile: Option<String>,
    /// How many times a failed request is retried before its object is
    /// reported.
    pub max_retries: usize,
}

impl Default for S3Settings {
    fn default() -> S3Settings {
        S3Settings {
            endpoint: None,
            region: None,
            profile: None,
            max_retries: 5,
        }
    }
}

/// `[source.gcs]`: settings for Google Cloud Storage that the environment
/// does not give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcsSettings {
    /// The storage API's base URL when not `https://storage.googleapis.com`
    /// (a private endpoint, an emulator); `GOOGLE_BASE_URL` and
    /// `STORAGE_EMULATOR_HOST` win.
    pub endpoint: Option<String>,
    /// How many times a failed request is retried before its object is
    /// reported.
    pub max_retries: usize,
}

impl Default for GcsSettings {
    fn default() -> GcsSettings {
        GcsSettings {
            endpoint: None,
            max_retries: 5,
        }
    }
}

/// `[source.azure]`: settings for Azure Blob Storage that the environment
/// does not give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureSettings {
    /// The storage account when `AZURE_STORAGE_ACCOUNT_NAME` is not set.
    pub account: Option<String>,
    /// The account's blob endpoint when not
    /// `https://ACCOUNT.blob.core.windows.net` (another cloud, a private
    /// endpoint, Azurite at `http://127.0.0.1:10000/devstoreaccount1`);
    /// `AZURE_STORAGE_ENDPOINT` wins. `http://` is allowed when the URL
    /// says so.
    pub endpoint: Option<String>,
    /// Read Azurite with its development account, as
    /// `AZURE_STORAGE_USE_EMULATOR=true` does.
    pub use_emulator: bool,
    /// How many times a failed request is retried before its object is
    /// reported.
    pub max_retries: usize,
}

impl Default for AzureSettings {
    fn default() -> AzureSettings {
        AzureSettings {
            account: None,
            endpoint: None,
            use_emulator: false,
            max_retries: 5,
        }
    }
}
