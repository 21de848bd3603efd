//! `slipstream backfill az://...` against Azurite, Azure Blob Storage's
//! emulator, started by each test on a free loopback port and checking
//! every request's signature: a container of gzip ALB logs in AWS's layout
//! over three days and plain nginx logs. The oracle is the same files on
//! disk, backfilled as local files; the requests the server saw are
//! counted from its own log.

mod common;

use common::archive::{self, backfill_env, config, Setup, Store};
use common::azure::{Azurite, ACCOUNT};
use slipstream::decode::Format;

const CONTAINER: &str = archive::BUCKET;

fn url(prefix: &str) -> String {
    format!("az://{CONTAINER}/{prefix}")
}

/// Azurite's path of an object of the container.
fn blob(key: &str) -> String {
    format!("/{ACCOUNT}/{CONTAINER}/{key}")
}

/// The container on `azurite`, reached with `env`.
fn store(azurite: &Azurite, env: Vec<(String, String)>) -> Store<'_> {
    Store {
        scheme: "az",
        env,
        path_of: Box::new(blob),
        gets: Box::new(|| azurite.gets()),
    }
}

#[test]
fn a_container_backfills_as_its_files_on_disk_record_for_record() {
    let s = Setup::new();
    let azurite = Azurite::start(s.dir.path(), CONTAINER, &s.local);

    // The emulator's switch, as a developer sets it.
    s.assert_alb_as_on_disk(&store(&azurite, azurite.emulator_env()));
    // nginx logs through an account, its key and its endpoint, as for
    // another cloud.
    let (nginx, want, _) =
        s.nginx_as_on_disk(&store(&azurite, azurite.account_env(common::azure::KEY)));

    // A SAS instead of the key: the same records, and the SAS, which
    // travels in every request's URL, is in no message.
    let env = vec![
        (
            "AZURE_STORAGE_ACCOUNT_NAME".to_string(),
            ACCOUNT.to_string(),
        ),
        ("AZURE_STORAGE_SAS_TOKEN".to_string(), azurite.sas.clone()),
        (
            "AZURE_STORAGE_ENDPOINT".to_string(),
            format!("{}/{ACCOUNT}", azurite.url()),
        ),
    ];
    let (run, got) = backfill_env(&nginx, &s.path("az.jsonl"), &[&url("nginx")], &env);
    run.assert_code(0, "nginx backfill with a SAS");
    assert_eq!(got, want, "nginx records read with a SAS");
    let signature = azurite
        .sas
        .split('&')
        .find_map(|p| p.strip_prefix("sig="))
        .expect("a signature in the SAS");
    assert!(!run.stderr.contains(signature), "{}", run.stderr);
}

#[test]
fn from_and_to_fetch_only_the_days_in_range() {
    let s = Setup::new();
    let azurite = Azurite::start(s.dir.path(), CONTAINER, &s.local);
    let store = store(&azurite, azurite.emulator_env());
    s.assert_middle_day_as_on_disk(&store);
    s.assert_only_the_middle_day_asked(&store, "comp=list");
}

#[test]
fn wrong_credentials_give_a_clear_error_without_the_secret() {
    let s = Setup::new();
    let azurite = Azurite::start(s.dir.path(), CONTAINER, &s.local);
    let nginx = config(s.dir.path(), Format::Nginx, None);
    let u = url("nginx/");

    // A key that is not the account's: Azurite refuses the signature.
    let wrong = "bm90LXRoZS1hY2NvdW50LWtleS0xMjM0NTY3ODkwMTIzNDU2Nzg5MA==";
    let (run, got) = backfill_env(
        &nginx,
        &s.path("az.jsonl"),
        &[&u],
        &azurite.account_env(wrong),
    );
    run.assert_code(2, "a wrong key");
    assert!(got.is_empty(), "nothing written");
    assert!(
        run.stderr.contains(&u)
            && run.stderr.contains("403")
            && run.stderr.contains("AZURE_STORAGE_ACCOUNT_KEY"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(wrong), "{}", run.stderr);

    // A key that is no key at all: refused before any request, without
    // its text.
    let garbled = "this is not base64 but a secret!";
    let (run, _) = backfill_env(
        &nginx,
        &s.path("az.jsonl"),
        &[&u],
        &azurite.account_env(garbled),
    );
    assert_ne!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("AZURE_STORAGE_ACCOUNT_KEY"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(garbled), "{}", run.stderr);

    // No account at all: what to set.
    let (run, _) = backfill_env(&nginx, &s.path("az.jsonl"), &[&u], &[]);
    assert_ne!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("AZURE_STORAGE_ACCOUNT_NAME")
            && run.stderr.contains("AZURE_STORAGE_USE_EMULATOR"),
        "{}",
        run.stderr
    );
    // No object was read with any of them.
    let reads = azurite
        .gets()
        .iter()
        .filter(|g| g.starts_with(&blob("nginx/")))
        .count();
    assert_eq!(reads, 0, "no object was read");
}
