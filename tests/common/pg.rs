//! The test PostgreSQL server: a throwaway cluster that `.ci/run` starts with
//! `.ci/postgres.sh` and names in `SLIPSTREAM_TEST_POSTGRES_URL` (its data
//! directory in `SLIPSTREAM_TEST_POSTGRES_DIR`, for stopping it). Each test
//! gets a database of its own; rows are read back as JSON with
//! `row_to_json`, independently of the sink's code.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const HOW: &str = "start one with `.ci/postgres.sh start DIR` and export \
                   SLIPSTREAM_TEST_POSTGRES_URL=<the URL it prints> and \
                   SLIPSTREAM_TEST_POSTGRES_DIR=DIR (.ci/run does this)";

/// The server's URL (its `postgres` database).
pub fn server_url() -> String {
    std::env::var("SLIPSTREAM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| panic!("these tests need PostgreSQL: {HOW}"))
}

fn with_db(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{db}")
}

/// A new, empty database named `name` (dropped first if a previous run left
/// it); returns its URL.
pub fn fresh_db(name: &str) -> String {
    let mut c = connect(&server_url());
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        c.batch_execute(&sql).expect("create the test database");
    }
    with_db(&server_url(), name)
}

/// Writes `dir/slipstream.toml`: the test configuration with a postgres
/// sink at `url` after its file sink; returns its path.
pub fn write_config(dir: &Path, url: &str) -> std::path::PathBuf {
    let path = dir.join("slipstream.toml");
    let text = format!(
        "{}\n[[sink]]\ntype = \"postgres\"\nurl = \"{url}\"\n",
        super::config_text(None)
    );
    std::fs::write(&path, text).expect("write config");
    path
}

pub fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL ({e}): {HOW}"))
}

/// Every row of `sql` as a JSON object.
pub fn rows(url: &str, sql: &str) -> Vec<Value> {
    try_rows(url, sql).unwrap_or_else(|e| panic!("query failed: {e}\n{sql}"))
}

/// [`rows`], or the error (a table not created yet, a server down).
pub fn try_rows(url: &str, sql: &str) -> Result<Vec<Value>, String> {
    let mut c = postgres::Client::connect(url, postgres::NoTls).map_err(|e| e.to_string())?;
    let rows = c
        .query(&format!("SELECT row_to_json(t)::text FROM ({sql}) t"), &[])
        .map_err(|e| match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        })?;
    Ok(rows
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).expect("row_to_json gives JSON"))
        .collect())
}

/// `SELECT count(*)` of a table.
pub fn count(url: &str, table: &str) -> i64 {
    connect(url)
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .expect("count")
        .get(0)
}

fn control(cmd: &str) {
    let dir = std::env::var("SLIPSTREAM_TEST_POSTGRES_DIR")
        .unwrap_or_else(|_| panic!("stopping PostgreSQL needs its directory: {HOW}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/postgres.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(cmd)
        .arg(&dir)
        .output()
        .expect("run .ci/postgres.sh");
    assert!(
        out.status.success(),
        ".ci/postgres.sh {cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stops the server as a crash would (`pg_ctl stop -m immediate`).
pub fn stop_immediate() {
    control("stop-immediate");
}

/// Starts the server again (same port, same data).
pub fn start() {
    control("start");
}

/// The records of kind `kind` in a JSONL file sink, flattened as the store's
/// columns are named: nested objects joined with `_`.
pub fn flattened(records: &[Value], kind: &str) -> Vec<serde_json::Map<String, Value>> {
    records
        .iter()
        .filter(|r| r["kind"] == kind)
        .map(|r| {
            let mut out = serde_json::Map::new();
            // A grouped SLI's group, as compact JSON in the key.
            let group_key = match r.get("group") {
                Some(g) => g.to_string(),
                None => String::new(),
            };
            out.insert("group_key".into(), Value::String(group_key));
            for (k, v) in r.as_object().expect("object") {
                match v {
                    // Kept whole, in a jsonb column.
                    Value::Object(_) if k == "breakdown" || k == "group" => {
                        out.insert(k.clone(), v.clone());
                    }
                    Value::Object(inner) => {
                        for (ik, iv) in inner {
                            out.insert(format!("{k}_{ik}"), iv.clone());
                        }
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            out
        })
        .collect()
}

/// Checks that every field of every record has a column with the same value
/// in `table`, matched on the key columns; timestamps are compared as
/// instants. Returns how many rows were compared.
pub fn assert_rows_match(
    url: &str,
    table: &str,
    key: &[&str],
    records: &[serde_json::Map<String, Value>],
) -> usize {
    let have = rows(url, &format!("SELECT * FROM {table}"));
    let norm_key = |m: &serde_json::Map<String, Value>| -> String {
        key.iter()
            .map(|k| normalize(&m[*k]).to_string())
            .collect::<Vec<_>>()
            .join("|")
    };
    let by_key: std::collections::BTreeMap<String, &Value> = have
        .iter()
        .map(|r| (norm_key(r.as_object().expect("row")), r))
        .collect();
    assert_eq!(by_key.len(), have.len(), "{table}: one row per key");
    let mut want: std::collections::BTreeMap<String, &serde_json::Map<String, Value>> =
        Default::default();
    for r in records {
        want.insert(norm_key(r), r);
    }
    assert_eq!(
        by_key.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{table}: the same keys as the file sink"
    );
    for (k, rec) in &want {
        let row = by_key[k];
        for (field, v) in rec.iter().filter(|(f, _)| *f != "kind") {
            assert!(
                row.get(field).is_some(),
                "{table}: no column for the record field `{field}`"
            );
            assert_eq!(
                normalize(&row[field]),
                normalize(v),
                "{table} {k}: column `{field}`"
            );
        }
    }
    want.len()
}

/// Timestamps (RFC 3339 in records, `+00:00` from PostgreSQL) as
/// nanoseconds, numbers as floats (`123.0` in a record is `123` from a
/// float8 column); everything else as it is.
fn normalize(v: &Value) -> Value {
    if let Some(f) = v.as_f64() {
        return Value::from(f);
    }
    if let Some(s) = v.as_str() {
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Value::from(t.timestamp_nanos_opt().expect("in range"));
        }
    }
    v.clone()
}
