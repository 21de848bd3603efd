//! Where a Google Cloud Storage client's settings come from: the
//! environment first, as Google's own tools read it —
//! `GOOGLE_APPLICATION_CREDENTIALS` (a service account's or a user's
//! credentials file), `GOOGLE_SERVICE_ACCOUNT` (a service account's file),
//! `GOOGLE_SERVICE_ACCOUNT_KEY` (its JSON), `GOOGLE_BEARER_TOKEN`,
//! `GOOGLE_BASE_URL`, and `STORAGE_EMULATOR_HOST`, which the client
//! libraries read to talk to an emulator without credentials — then the
//! `[source.gcs]` section. With no credentials anywhere, `object_store`
//! reads gcloud's application default credentials, then asks the metadata
//! server of the instance it runs on. Secrets are passed to the client and
//! never formatted into a message.

use std::collections::BTreeMap;

use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};

use crate::config::GcsSettings;

/// The variable Google's client libraries read for an emulator's address
/// (`localhost:9023` or `http://localhost:9023`); with it they send no
/// credentials.
const EMULATOR_HOST: &str = "STORAGE_EMULATOR_HOST";

/// A builder with the settings from every place but the bucket's name.
pub(super) fn gcs_builder(settings: &GcsSettings) -> GoogleCloudStorageBuilder {
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("GOOGLE_") || k == EMULATOR_HOST)
        .collect();
    builder_from(settings, &env)
}

fn builder_from(
    settings: &GcsSettings,
    env: &BTreeMap<String, String>,
) -> GoogleCloudStorageBuilder {
    let mut b = GoogleCloudStorageBuilder::new();
    if let Some(e) = &settings.endpoint {
        b = b.with_base_url(e);
    }
    if let Some(host) = env.get(EMULATOR_HOST).filter(|h| !h.is_empty()) {
        let url = if host.contains("://") {
            host.trim_end_matches('/').to_string()
        } else {
            format!("http://{}", host.trim_end_matches('/'))
        };
        b = b.with_base_url(&url).with_skip_signature(true);
    }
    for (k, v) in env {
        if let Ok(key) = k.to_ascii_lowercase().parse::<GoogleConfigKey>() {
            b = b.with_config(key, v);
        }
    }
    // `object_store` allows a plain-HTTP base URL for Google Cloud Storage
    // (an emulator) by default.
    b
}

/// What to set when the client cannot be built or the store refuses the
/// credentials.
pub(super) const HINT: &str = "set GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_SERVICE_ACCOUNT) to a \
     credentials file that may read the bucket, or run on Google Cloud with a service account that may; \
     for an emulator set STORAGE_EMULATOR_HOST";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::files::object::test_env as env;

    fn value(b: &GoogleCloudStorageBuilder, key: GoogleConfigKey) -> Option<String> {
        b.get_config_value(&key)
    }

    #[test]
    fn the_environment_wins_over_the_section() {
        let settings = GcsSettings {
            endpoint: Some("https://storage.example.net".into()),
            ..GcsSettings::default()
        };
        let b = builder_from(&settings, &env(&[]));
        assert_eq!(
            value(&b, GoogleConfigKey::BaseUrl).as_deref(),
            Some("https://storage.example.net")
        );
        let e = env(&[
            ("GOOGLE_BASE_URL", "http://127.0.0.1:4443"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/etc/gcs/key.json"),
        ]);
        let b = builder_from(&settings, &e);
        assert_eq!(
            value(&b, GoogleConfigKey::BaseUrl).as_deref(),
            Some("http://127.0.0.1:4443")
        );
        assert_eq!(
            value(&b, GoogleConfigKey::ApplicationCredentials).as_deref(),
            Some("/etc/gcs/key.json")
        );
    }

    #[test]
    fn an_emulator_host_is_reached_without_credentials() {
        for host in ["127.0.0.1:9023", "http://127.0.0.1:9023/"] {
            let b = builder_from(
                &GcsSettings::default(),
                &env(&[("STORAGE_EMULATOR_HOST", host)]),
            );
            assert_eq!(
                value(&b, GoogleConfigKey::BaseUrl).as_deref(),
                Some("http://127.0.0.1:9023")
            );
            assert_eq!(
                value(&b, GoogleConfigKey::SkipSignature).as_deref(),
                Some("true")
            );
        }
        // Without it, requests are signed.
        let b = builder_from(&GcsSettings::default(), &env(&[]));
        assert_ne!(
            value(&b, GoogleConfigKey::SkipSignature).as_deref(),
            Some("true")
        );
    }
}
