//! The librdkafka pass-through (`[source.kafka.librdkafka]`): every key is
//! checked against the linked librdkafka when the configuration is loaded,
//! a typo is a configuration error with a suggestion, and no value — typed
//! in the file or read from the environment — ever reaches stdout or stderr,
//! neither from `validate` nor from `run` against the embedded broker.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::kafka::*;
use common::*;

/// `slipstream ARGS...` with extra environment; (exit code, stdout + stderr).
fn run_bin(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("spawn slipstream");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// A marker no message would hold by chance.
fn marker(s: &Setup) -> String {
    format!("m4rk3r-{}-{}", std::process::id(), s.port)
}

/// A minimal configuration with a `[source.kafka]` table whose librdkafka
/// settings are `librdkafka` (TOML, written after the source's keys).
fn source_config(dir: &Path, librdkafka: &str) -> std::path::PathBuf {
    let path = dir.join("typo.toml");
    let text = format!(
        "[source.kafka]\nbrokers = \"127.0.0.1:1\"\ntopics = [\"in\"]\n{librdkafka}\n\n[[sli]]\nname = \"all\"\ngood = \"status < 500\"\n"
    );
    fs::write(&path, text).expect("write config");
    path
}

fn assert_typo_reported(path: &Path, line: usize, what: &str) {
    let p = p(path);
    for args in [
        vec!["validate", "-c", &p],
        vec!["explain", "-c", &p, "/dev/null"],
    ] {
        let (code, text) = run_bin(&args, &[]);
        assert_eq!(code, Some(1), "{what}: `{}` must exit 1:\n{text}", args[0]);
        assert!(
            text.contains(&format!("{p}:{line}:")),
            "{what}: the file and line {line} are named:\n{text}"
        );
        assert!(
            text.contains("ssl.key.pasword"),
            "{what}: the key is named:\n{text}"
        );
        assert!(
            text.contains("did you mean `ssl.key.password`?"),
            "{what}: the known key is suggested:\n{text}"
        );
        assert!(
            !text.contains("hunter2"),
            "{what}: the value is printed:\n{text}"
        );
    }
}

/// A misspelt key is a configuration error of every command that loads the
/// file, naming the file, the line and the key, suggesting the known key,
/// and never showing the value; in an inline table and in a table.
#[test]
fn a_misspelt_key_is_named_with_a_suggestion_and_its_value_never_shows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inline = source_config(
        dir.path(),
        "librdkafka = { \"ssl.key.pasword\" = \"hunter2-secret\" }",
    );
    assert_typo_reported(&inline, 4, "inline table");
    let table = source_config(
        dir.path(),
        "\n[source.kafka.librdkafka]\n\"client.id\" = \"x\"\n\"ssl.key.pasword\" = \"hunter2-secret\"",
    );
    assert_typo_reported(&table, 7, "table");
}

/// A secret from the environment for a key this build of librdkafka rejects
/// (OAuth/OIDC needs libcurl, which the bundled librdkafka is built
/// without): `validate` and `run` fail, naming the key, and the secret shows
/// nowhere.
#[test]
fn a_rejected_secret_from_the_environment_never_shows() {
    let s = Setup::new();
    let broker = Broker::start(s.dir.path(), &["in"]);
    let secret = marker(&s);
    let cfg = s.config(
        &broker.bootstrap,
        "rejected-group",
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.oauthbearer.client.secret", "${KAFKA_PASSWORD}"),
        ],
        "",
        "",
    );
    let env = [("KAFKA_PASSWORD", secret.as_str())];
    let c = p(&cfg);
    let (code, text) = run_bin(&["validate", "-c", &c], &env);
    assert!(
        !text.contains(&secret),
        "validate prints the secret:\n{text}"
    );
    assert_eq!(code, Some(1), "validate must reject the key:\n{text}");
    assert!(
        text.contains("sasl.oauthbearer.client.secret") && text.contains(&c),
        "validate names the file and the key:\n{text}"
    );

    let (code, text) = run_bin(&["run", "-c", &c], &env);
    assert!(!text.contains(&secret), "run prints the secret:\n{text}");
    assert_eq!(code, Some(1), "run must fail:\n{text}");
    assert!(
        text.contains("sasl.oauthbearer.client.secret"),
        "run names the key:\n{text}"
    );
}

/// A value librdkafka accepts key by key but cannot use once the client
/// runs: an unsecured OAUTHBEARER token configuration with a piece librdkafka
/// does not know, which it quotes from that piece on in its error. The job
/// runs; librdkafka's error is shown without the secret part.
#[test]
fn librdkafka_errors_at_run_time_never_show_a_secret() {
    let s = Setup::new();
    let broker = Broker::start(s.dir.path(), &["in"]);
    let secret = marker(&s);
    let cfg = s.config(
        &broker.bootstrap,
        "oauth-group",
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            (
                "sasl.oauthbearer.config",
                "principal=slipstream bogus clientSecret=${KAFKA_PASSWORD}",
            ),
        ],
        "",
        "",
    );
    let env = [("KAFKA_PASSWORD", secret.as_str())];
    let (code, text) = run_bin(&["validate", "-c", &p(&cfg)], &env);
    assert_eq!(code, Some(0), "each key and value is valid:\n{text}");
    assert!(
        !text.contains(&secret),
        "validate prints the secret:\n{text}"
    );

    let mut job = Job::start(&cfg, &s.log(), &[], &env);
    let log = wait_until(
        "librdkafka's complaint about sasl.oauthbearer.config",
        Duration::from_secs(30),
        || {
            fs::read_to_string(s.log())
                .ok()
                .filter(|t| t.contains("Unrecognized sasl.oauthbearer.config"))
        },
    );
    job.kill9();
    let log = fs::read_to_string(s.log()).unwrap_or(log);
    assert!(
        !log.contains(&secret),
        "the secret is in the job's output:\n{log}"
    );
}

/// Real librdkafka keys, as strings, numbers and booleans, still validate,
/// and the job runs with them to the oracle's records.
#[test]
fn real_librdkafka_keys_validate_and_run() {
    let s = Setup::new();
    let broker = Broker::start(s.dir.path(), &["in"]);
    let cfg = s.config(
        &broker.bootstrap,
        "real-group",
        &[("fetch.min.bytes", "1"), ("client.id", "x")],
        "",
        "",
    );
    // Numbers and booleans as TOML writes them, in the same table.
    let text = fs::read_to_string(&cfg).expect("config").replacen(
        "[source.kafka.librdkafka]\n",
        "[source.kafka.librdkafka]\n\"fetch.wait.max.ms\" = 100\n\"check.crcs\" = true\n",
        1,
    );
    fs::write(&cfg, text).expect("config");
    let (code, text) = run_bin(&["validate", "-c", &p(&cfg)], &[]);
    assert_eq!(code, Some(0), "validate:\n{text}");

    let data = events(17, 400, BASE_NS, 2 * WINDOW_NS, &[0, 1, 2, 3]);
    let exp = expected(&oracle_events(&data), None, None);
    let mut producer = TestProducer::new(&broker.bootstrap, "in");
    producer.send_all(&data);
    producer.send_all(&pushers(BASE_NS + 10 * WINDOW_NS, &[0, 1, 2, 3]));
    producer.flush();
    run_to_every_window(&s, &cfg, &exp, "real keys");
}
