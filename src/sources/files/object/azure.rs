//! Where an Azure Blob Storage client's settings come from: the
//! environment first — `AZURE_STORAGE_ACCOUNT_NAME`, and a key
//! (`AZURE_STORAGE_ACCOUNT_KEY`), a SAS (`AZURE_STORAGE_SAS_TOKEN`), a
//! token (`AZURE_STORAGE_TOKEN`), a service principal (`AZURE_CLIENT_ID`,
//! `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID`), workload identity
//! (`AZURE_FEDERATED_TOKEN_FILE`), `AZURE_STORAGE_ENDPOINT` for another
//! cloud's endpoint, `AZURE_STORAGE_USE_EMULATOR` for Azurite (at
//! `AZURITE_BLOB_STORAGE_URL`, by default `http://127.0.0.1:10000`, with
//! its published development account and key) — then the `[source.azure]`
//! section. With an account and no credentials, `object_store` asks the
//! managed identity of the machine it runs on. Secrets are passed to the
//! client and never formatted into a message; a SAS travels in request
//! URLs, which the client then keeps out of its errors.

use std::collections::BTreeMap;

use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::ClientConfigKey;

use crate::config::AzureSettings;

/// The managed identity endpoint of App Service and Functions, which
/// `object_store` reads under this name too.
const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";

/// A builder with the settings from every place but the container's name.
pub(super) fn azure_builder(settings: &AzureSettings) -> MicrosoftAzureBuilder {
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("AZURE_") || k == IDENTITY_ENDPOINT)
        .collect();
    builder_from(settings, &env)
}

fn builder_from(settings: &AzureSettings, env: &BTreeMap<String, String>) -> MicrosoftAzureBuilder {
    let mut b = MicrosoftAzureBuilder::new();
    if let Some(a) = &settings.account {
        b = b.with_account(a);
    }
    if let Some(e) = &settings.endpoint {
        b = b.with_endpoint(e.clone());
    }
    if settings.use_emulator {
        b = b.with_use_emulator(true);
    }
    for (k, v) in env {
        if let Ok(key) = k.to_ascii_lowercase().parse::<AzureConfigKey>() {
            b = b.with_config(key, v);
        }
    }
    if let Some(e) = env.get(IDENTITY_ENDPOINT) {
        b = b.with_config(AzureConfigKey::MsiEndpoint, e);
    }
    // A plain-HTTP endpoint (Azurite, a test server) says so itself.
    let endpoint = b.get_config_value(&AzureConfigKey::Endpoint);
    if endpoint.is_some_and(|e| e.starts_with("http://")) {
        b = b.with_config(AzureConfigKey::Client(ClientConfigKey::AllowHttp), "true");
    }
    b
}

/// What to set when the client cannot be built or the store refuses the
/// credentials.
pub(super) const HINT: &str = "set AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY \
     (or AZURE_STORAGE_SAS_TOKEN, or a service principal's AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and \
     AZURE_TENANT_ID) for an account that may read the container; for Azurite set \
     AZURE_STORAGE_USE_EMULATOR=true";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::files::object::test_env as env;

    fn value(b: &MicrosoftAzureBuilder, key: AzureConfigKey) -> Option<String> {
        b.get_config_value(&key)
    }

    const ALLOW_HTTP: AzureConfigKey = AzureConfigKey::Client(ClientConfigKey::AllowHttp);

    #[test]
    fn the_environment_wins_over_the_section() {
        let settings = AzureSettings {
            account: Some("archive".into()),
            endpoint: Some("https://archive.blob.core.usgovcloudapi.net".into()),
            ..AzureSettings::default()
        };
        let b = builder_from(&settings, &env(&[]));
        assert_eq!(
            value(&b, AzureConfigKey::AccountName).as_deref(),
            Some("archive")
        );
        assert_ne!(value(&b, ALLOW_HTTP).as_deref(), Some("true"));
        let e = env(&[
            ("AZURE_STORAGE_ACCOUNT_NAME", "logs"),
            ("AZURE_STORAGE_ACCOUNT_KEY", "a2V5"),
            (
                "AZURE_STORAGE_ENDPOINT",
                "http://127.0.0.1:10000/devstoreaccount1",
            ),
        ]);
        let b = builder_from(&settings, &e);
        assert_eq!(
            value(&b, AzureConfigKey::AccountName).as_deref(),
            Some("logs")
        );
        assert_eq!(
            value(&b, AzureConfigKey::AccessKey).as_deref(),
            Some("a2V5")
        );
        assert_eq!(
            value(&b, AzureConfigKey::Endpoint).as_deref(),
            Some("http://127.0.0.1:10000/devstoreaccount1")
        );
        assert_eq!(value(&b, ALLOW_HTTP).as_deref(), Some("true"));
    }

    #[test]
    fn the_emulator_is_asked_for_by_the_section_or_the_environment() {
        let on = AzureSettings {
            use_emulator: true,
            ..AzureSettings::default()
        };
        let b = builder_from(&on, &env(&[]));
        assert_eq!(
            value(&b, AzureConfigKey::UseEmulator).as_deref(),
            Some("true")
        );
        let b = builder_from(
            &AzureSettings::default(),
            &env(&[("AZURE_STORAGE_USE_EMULATOR", "true")]),
        );
        assert_eq!(
            value(&b, AzureConfigKey::UseEmulator).as_deref(),
            Some("true")
        );
        let b = builder_from(&AzureSettings::default(), &env(&[]));
        assert_ne!(
            value(&b, AzureConfigKey::UseEmulator).as_deref(),
            Some("true")
        );
    }
}
