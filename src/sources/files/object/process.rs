//! Credentials from an AWS profile's `credential_process`: the command
//! AWS's own tools run to get keys from elsewhere, such as
//! `aws configure export-credentials --profile NAME --format process` for an
//! SSO login or an assumed role, a vault or a password manager. It runs
//! with `/bin/sh -c`, prints one JSON object (`Version` 1, `AccessKeyId`,
//! `SecretAccessKey`, and optionally `SessionToken` and `Expiration`), and
//! runs again [`EARLY`] before that expiration, so that a backfill longer
//! than the keys' life goes on. Its output holds the secret and is never
//! shown; a failure shows its exit status and the last line it wrote to
//! stderr.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use object_store::aws::AwsCredential;
use object_store::CredentialProvider;
use serde_json::Value;

/// Keys are fetched again this long (in nanoseconds, 5 minutes) before
/// they expire.
const EARLY: i64 = 5 * 60 * 1_000_000_000;

/// Keys and when they expire (Unix nanoseconds), if they do.
type Keys = (Arc<AwsCredential>, Option<i64>);

#[derive(Debug)]
pub(super) struct CredentialProcess {
    profile: String,
    command: String,
    cached: Mutex<Option<Keys>>,
}

impl CredentialProcess {
    pub(super) fn new(profile: &str, command: &str) -> CredentialProcess {
        CredentialProcess {
            profile: profile.to_string(),
            command: command.to_string(),
            cached: Mutex::new(None),
        }
    }

    /// The cached keys while they have more than [`EARLY`] to live, or new
    /// ones from the command.
    fn keys(&self, now_ns: i64) -> Result<Arc<AwsCredential>, String> {
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((keys, expires)) = cached.as_ref() {
            if expires.is_none_or(|e| now_ns < e.saturating_sub(EARLY)) {
                return Ok(Arc::clone(keys));
            }
        }
        let (keys, expires) = self.run().map_err(|why| {
            format!(
                "the credential_process of the AWS profile {:?} (`{}`) gave no credentials: {why}; \
                 run it in a shell to see why (for an SSO profile, `aws sso login` first)",
                self.profile, self.command
            )
        })?;
        let keys = Arc::new(keys);
        *cached = Some((Arc::clone(&keys), expires));
        Ok(keys)
    }

    fn run(&self) -> Result<(AwsCredential, Option<i64>), String> {
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("it could not be started ({e})"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty());
            return Err(match last {
                Some(line) => format!("it {}: {line}", out.status),
                None => format!("it {}", out.status),
            });
        }
        parse(&out.stdout)
    }
}

/// The keys in a `credential_process` output; errors never quote it.
fn parse(stdout: &[u8]) -> Result<(AwsCredential, Option<i64>), String> {
    let v: Value = serde_json::from_slice(stdout)
        .map_err(|_| "its output is not one JSON object".to_string())?;
    if v["Version"].as_u64() != Some(1) {
        return Err("its output's Version is not 1".into());
    }
    let field = |name: &str| {
        v[name]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let missing = |name: &str| format!("its output has no {name}");
    let expires = match field("Expiration") {
        Some(t) => Some(expiration_ns(&t)?),
        None => None,
    };
    let keys = AwsCredential {
        key_id: field("AccessKeyId").ok_or_else(|| missing("AccessKeyId"))?,
        secret_key: field("SecretAccessKey").ok_or_else(|| missing("SecretAccessKey"))?,
        token: field("SessionToken"),
    };
    Ok((keys, expires))
}

/// An RFC 3339 time in Unix nanoseconds; past 2262, which nanoseconds
/// cannot count to, the last one they can.
fn expiration_ns(t: &str) -> Result<i64, String> {
    let at = chrono::DateTime::parse_from_rfc3339(t)
        .map_err(|_| format!("its Expiration {t:?} is not an RFC 3339 time"))?;
    Ok(at.timestamp_nanos_opt().unwrap_or(if at.timestamp() > 0 {
        i64::MAX
    } else {
        i64::MIN
    }))
}

#[async_trait::async_trait]
impl CredentialProvider for CredentialProcess {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        self.keys(crate::time::now_ns())
            .map_err(|why| object_store::Error::Generic {
                store: "S3",
                source: why.into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command that appends a line to `calls` and prints `output`.
    fn process(dir: &std::path::Path, output: &str) -> (CredentialProcess, std::path::PathBuf) {
        let calls = dir.join("calls");
        let script = dir.join("creds.sh");
        std::fs::write(
            &script,
            format!(
                "echo run >> '{}'\ncat <<'EOF'\n{output}\nEOF\n",
                calls.display()
            ),
        )
        .expect("write the script");
        let p = CredentialProcess::new("archive", &format!("sh '{}'", script.display()));
        (p, calls)
    }

    fn runs(calls: &std::path::Path) -> usize {
        std::fs::read_to_string(calls).map_or(0, |t| t.lines().count())
    }

    #[test]
    fn keys_are_kept_until_five_minutes_before_they_expire() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (p, calls) = process(
            dir.path(),
            r#"{"Version": 1, "AccessKeyId": "AKIA1", "SecretAccessKey": "S3CRET",
                "SessionToken": "TOKEN", "Expiration": "2026-03-10T12:00:00Z"}"#,
        );
        let expires = expiration_ns("2026-03-10T12:00:00Z").expect("time");
        assert_eq!(expiration_ns("2999-01-01T00:00:00+01:00"), Ok(i64::MAX));
        let keys = p.keys(expires - 3_600_000_000_000).expect("keys");
        assert_eq!(
            (keys.key_id.as_str(), keys.secret_key.as_str()),
            ("AKIA1", "S3CRET")
        );
        assert_eq!(keys.token.as_deref(), Some("TOKEN"));
        p.keys(expires - EARLY - 1).expect("keys");
        assert_eq!(runs(&calls), 1, "cached while more than 5 minutes are left");
        p.keys(expires - EARLY).expect("keys");
        assert_eq!(runs(&calls), 2, "run again 5 minutes before the expiration");
    }

    #[test]
    fn keys_without_an_expiration_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (p, calls) = process(
            dir.path(),
            r#"{"Version": 1, "AccessKeyId": "AKIA2", "SecretAccessKey": "S"}"#,
        );
        for now in [0, i64::MAX] {
            assert_eq!(p.keys(now).expect("keys").token, None);
        }
        assert_eq!(runs(&calls), 1);
    }

    #[test]
    fn failures_say_why_without_the_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (output, why) in [
            (
                r#"{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "VERYSECRET"}"#,
                "Version is not 1",
            ),
            (
                r#"{"Version": 1, "AccessKeyId": "A", "SessionToken": "VERYSECRET"}"#,
                "no SecretAccessKey",
            ),
            ("VERYSECRET", "not one JSON object"),
            (
                r#"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "VERYSECRET", "Expiration": "soon"}"#,
                "Expiration \"soon\" is not an RFC 3339 time",
            ),
        ] {
            let (p, _) = process(dir.path(), output);
            let err = p.keys(0).err().unwrap_or_default();
            assert!(err.contains(why), "{err}");
            assert!(err.contains("\"archive\""), "{err}");
            assert!(!err.contains("VERYSECRET"), "{err}");
        }
        let failing = CredentialProcess::new(
            "sso",
            "printf '%s%s' VERY SECRET; echo 'Error loading SSO Token: expired' >&2; exit 255",
        );
        let err = failing.keys(0).err().unwrap_or_default();
        assert!(
            err.contains("exit status: 255: Error loading SSO Token: expired"),
            "{err}"
        );
        assert!(err.contains("aws sso login"), "{err}");
        assert!(!err.contains("VERYSECRET"), "{err}");
    }
}
