//! Listing a bucket like a directory: a URL that names an object is that
//! object; otherwise it is a folder, listed one level at a time (so that
//! folders whose dates are out of range are never listed), every name in
//! key order, objects and sub-folders interleaved as a directory's entries
//! are.

use object_store::path::Path as KeyPath;
use object_store::ObjectStore;
use object_store::ObjectStoreExt;

use super::{Scheme, Url};
use crate::sources::files::select::Selection;

/// An entry of a folder, in the order a directory's would be walked.
enum Entry {
    Folder(KeyPath),
    Object(KeyPath, u64),
}

impl Entry {
    fn key(&self) -> &str {
        match self {
            Entry::Folder(p) | Entry::Object(p, _) => p.as_ref(),
        }
    }
}

/// The objects `url` names, with their sizes, in key order.
pub(super) async fn objects(
    store: &dyn ObjectStore,
    url: &Url<'_>,
    selection: &Selection,
) -> object_store::Result<Vec<(KeyPath, u64)>> {
    let key = url.key.trim_end_matches('/');
    // A key without a trailing `/` may be one object.
    if !url.key.is_empty() && !url.key.ends_with('/') {
        match store.head(&KeyPath::from(key)).await {
            Ok(meta) => return Ok(vec![(meta.location, meta.size)]),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let mut out = Vec::new();
    // Depth first, each folder's entries in key order: a stack of what is
    // left, next on top.
    let root = (!key.is_empty()).then(|| KeyPath::from(key));
    let mut stack = vec![Entry::Folder(root.unwrap_or_default())];
    while let Some(entry) = stack.pop() {
        match entry {
            Entry::Object(path, size) => out.push((path, size)),
            Entry::Folder(prefix) => {
                let prefix = (!prefix.as_ref().is_empty()).then_some(prefix);
                let listed = store.list_with_delimiter(prefix.as_ref()).await?;
                let mut entries: Vec<Entry> = listed
                    .common_prefixes
                    .into_iter()
                    .filter(|p| selection.wants_dir(p.as_ref()))
                    .map(Entry::Folder)
                    .chain(
                        listed
                            .objects
                            .into_iter()
                            .filter(|o| selection.wants_file(o.location.as_ref()))
                            .map(|o| Entry::Object(o.location, o.size)),
                    )
                    .collect();
                entries.sort_by(|a, b| b.key().cmp(a.key()));
                stack.extend(entries);
            }
        }
    }
    Ok(out)
}

/// What a failed listing means, and what to do about it. The client's own
/// message names the request, never a secret.
pub(super) fn explain(scheme: Scheme, e: &object_store::Error) -> String {
    let text = e.to_string();
    let denied = matches!(
        e,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) || text.contains(" 403 ")
        || text.contains(" 401 ");
    let hint = match (denied, e, scheme) {
        // A profile's credential_process that failed says what to do itself.
        _ if text.contains("credential_process of") => "",
        (true, _, Scheme::S3) => {
            "; check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the instance's role) and that they may list the bucket"
        }
        (true, _, Scheme::Gcs) => {
            "; check the credentials (GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_SERVICE_ACCOUNT, or the instance's service account) and that they may list the bucket"
        }
        (true, _, Scheme::Azure) => {
            "; check the credentials (AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN, or the machine's managed identity) and that they may list the container"
        }
        (_, object_store::Error::NotFound { .. }, _) => "; check the bucket's name",
        _ => "; check the URL, the endpoint and the network",
    };
    format!("cannot list: {text}{hint}")
}
