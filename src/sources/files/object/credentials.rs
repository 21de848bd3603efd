//! Where an S3 client's settings come from, in the order AWS's own tools
//! use: the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`, ...), then the
//! profile (`AWS_PROFILE`, or `[source.s3] profile`, or `default`) in the
//! shared files `~/.aws/credentials` and `~/.aws/config` (its static keys,
//! or its `credential_process`, see `process.rs`), then the
//! `[source.s3]` section; with no keys in any of them, `object_store` asks
//! web identity (EKS IRSA: `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`),
//! the container's credentials endpoint, then the instance metadata.
//! Secrets are passed to the client and never formatted into a message.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};

use super::process::CredentialProcess;

use crate::config::S3Settings;

/// A builder with the settings from every place but the bucket's name.
pub(super) fn s3_builder(settings: &S3Settings) -> Result<AmazonS3Builder, String> {
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .collect();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    builder_from(settings, &env, home)
}

fn builder_from(
    settings: &S3Settings,
    env: &BTreeMap<String, String>,
    home: Option<PathBuf>,
) -> Result<AmazonS3Builder, String> {
    let mut b = AmazonS3Builder::new();
    if let Some(r) = &settings.region {
        b = b.with_region(r);
    }
    if let Some(e) = &settings.endpoint {
        b = b.with_endpoint(e);
    }
    let named = env
        .get("AWS_PROFILE")
        .or(settings.profile.as_ref())
        .cloned();
    if !env.contains_key("AWS_ACCESS_KEY_ID") {
        let name = named.clone().unwrap_or_else(|| "default".to_string());
        let files = SharedFiles::locate(env, home);
        let profile = files.profile(&name);
        if let Some(r) = profile.get("region") {
            b = b.with_region(r);
        }
        match (
            profile.get("aws_access_key_id"),
            profile.get("aws_secret_access_key"),
        ) {
            (Some(id), Some(secret)) => {
                b = b.with_access_key_id(id).with_secret_access_key(secret);
                if let Some(t) = profile.get("aws_session_token") {
                    b = b.with_token(t);
                }
            }
            _ if profile.contains_key("credential_process") => {
                let command = &profile["credential_process"];
                b = b.with_credentials(Arc::new(CredentialProcess::new(&name, command)));
            }
            _ if named.is_some() => {
                return Err(format!(
                    "the AWS profile {name:?} has neither aws_access_key_id and aws_secret_access_key \
                     nor credential_process in {} or {}; for SSO or an assumed role, give a profile \
                     `credential_process = aws configure export-credentials --profile {name} --format process`, \
                     or export the credentials into the environment \
                     (eval \"$(aws configure export-credentials --profile {name} --format env)\")",
                    files.credentials.display(),
                    files.config.display()
                ));
            }
            _ => {}
        }
    }
    for (k, v) in env {
        if let Ok(key) = k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            b = b.with_config(key, v);
        }
    }
    // A plain-HTTP endpoint (a local MinIO, a test server) says so itself.
    let endpoint = b.get_config_value(&AmazonS3ConfigKey::Endpoint);
    if endpoint.is_some_and(|e| e.starts_with("http://")) {
        b = b.with_allow_http(true);
    }
    Ok(b)
}

/// The shared credentials and config files.
struct SharedFiles {
    credentials: PathBuf,
    config: PathBuf,
}

impl SharedFiles {
    fn locate(env: &BTreeMap<String, String>, home: Option<PathBuf>) -> SharedFiles {
        let aws = home.unwrap_or_default().join(".aws");
        SharedFiles {
            credentials: env
                .get("AWS_SHARED_CREDENTIALS_FILE")
                .map_or_else(|| aws.join("credentials"), PathBuf::from),
            config: env
                .get("AWS_CONFIG_FILE")
                .map_or_else(|| aws.join("config"), PathBuf::from),
        }
    }

    /// A profile's keys: the credentials file's `[name]` over the config
    /// file's `[profile name]` (`[default]` for the default profile).
    fn profile(&self, name: &str) -> BTreeMap<String, String> {
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let config_section = if name == "default" {
            "default".to_string()
        } else {
            format!("profile {name}")
        };
        let mut keys = section(&read(&self.config), &config_section);
        keys.extend(section(&read(&self.credentials), name));
        keys
    }
}

/// The `key = value` lines of `[name]` in an INI text.
fn section(text: &str, name: &str) -> BTreeMap<String, String> {
    let mut keys = BTreeMap::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
            continue;
        }
        if inside {
            if let Some((k, v)) = line.split_once('=') {
                keys.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::files::object::test_env as env;

    fn value(b: &AmazonS3Builder, key: AmazonS3ConfigKey) -> Option<String> {
        b.get_config_value(&key)
    }

    fn home_with(credentials: &str, config: &str) -> tempfile::TempDir {
        let home = tempfile::tempdir().expect("tempdir");
        let aws = home.path().join(".aws");
        std::fs::create_dir_all(&aws).expect("mkdir");
        std::fs::write(aws.join("credentials"), credentials).expect("write");
        std::fs::write(aws.join("config"), config).expect("write");
        home
    }

    #[test]
    fn the_environment_wins_over_the_profile_and_the_section() {
        let home = home_with(
            "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n",
            "[default]\nregion = eu-west-1\n",
        );
        let settings = S3Settings {
            endpoint: Some("https://s3.example.net".into()),
            region: Some("us-west-2".into()),
            ..S3Settings::default()
        };
        let e = env(&[
            ("AWS_ACCESS_KEY_ID", "ENVKEY"),
            ("AWS_SECRET_ACCESS_KEY", "ENVSECRET"),
            ("AWS_REGION", "ap-south-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ]);
        let b = builder_from(&settings, &e, Some(home.path().into())).expect("builder");
        assert_eq!(
            value(&b, AmazonS3ConfigKey::AccessKeyId).as_deref(),
            Some("ENVKEY")
        );
        assert_eq!(
            value(&b, AmazonS3ConfigKey::Region).as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(
            value(&b, AmazonS3ConfigKey::Endpoint).as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            value(
                &b,
                AmazonS3ConfigKey::Client(object_store::ClientConfigKey::AllowHttp)
            )
            .as_deref(),
            Some("true")
        );
    }

    #[test]
    fn a_named_profile_gives_its_keys_and_region() {
        let home = home_with(
            "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\
             [archive]\naws_access_key_id = A\naws_secret_access_key = AS\naws_session_token = AT\n",
            "[profile archive]\nregion = eu-central-1\n",
        );
        let settings = S3Settings {
            region: Some("us-west-2".into()),
            endpoint: Some("https://s3.example.net".into()),
            ..S3Settings::default()
        };
        let e = env(&[("AWS_PROFILE", "archive")]);
        let b = builder_from(&settings, &e, Some(home.path().into())).expect("builder");
        assert_eq!(
            value(&b, AmazonS3ConfigKey::AccessKeyId).as_deref(),
            Some("A")
        );
        assert_eq!(value(&b, AmazonS3ConfigKey::Token).as_deref(), Some("AT"));
        assert_eq!(
            value(&b, AmazonS3ConfigKey::Region).as_deref(),
            Some("eu-central-1")
        );
        // An https endpoint does not allow plain HTTP.
        assert_ne!(
            value(
                &b,
                AmazonS3ConfigKey::Client(object_store::ClientConfigKey::AllowHttp)
            )
            .as_deref(),
            Some("true")
        );
        // The default profile when none is named.
        let b = builder_from(&settings, &env(&[]), Some(home.path().into())).expect("builder");
        assert_eq!(
            value(&b, AmazonS3ConfigKey::AccessKeyId).as_deref(),
            Some("D")
        );
    }

    #[test]
    fn a_named_profile_without_keys_says_what_to_do_without_secrets() {
        let home = home_with(
            "[other]\naws_access_key_id = K\naws_secret_access_key = VERYSECRET\n",
            "[profile sso]\nsso_start_url = https://example.awsapps.com/start\n",
        );
        let err = builder_from(
            &S3Settings::default(),
            &env(&[("AWS_PROFILE", "sso")]),
            Some(home.path().into()),
        )
        .err()
        .unwrap_or_default();
        assert!(err.contains("\"sso\""), "{err}");
        assert!(err.contains("export-credentials"), "{err}");
        assert!(!err.contains("VERYSECRET"), "{err}");
        // No profile named and none in the files: the other providers decide.
        let empty = tempfile::tempdir().expect("tempdir");
        assert!(builder_from(&S3Settings::default(), &env(&[]), Some(empty.path().into())).is_ok());
    }
}
