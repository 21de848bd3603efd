//! The `postgres` sink: one row per record key in `window_records`,
//! `slo_records` and `alert_records`, whose columns are the record's
//! top-level fields with nested objects flattened by `_` (`latency_p99`,
//! `budget_remaining`, `burn_rate_1h`).
//!
//! The schema is slipstream's own: versioned migrations run at start-up in
//! one transaction under an advisory lock, so several instances may start
//! together. Each write is one transaction of batched upserts (rows travel
//! as one JSON array per batch, unpacked by `jsonb_to_recordset`), so a
//! replay after a crash leaves exactly one row per key with the same
//! numbers, and the call returns only once PostgreSQL has committed.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres::{Client, Config as PgConfig};
use postgres_openssl::MakeTlsConnector;
use serde_json::{Map, Value};

use super::Sink;
use crate::config::RecordKinds;
use crate::record::{AnyRecord, Record, RecordKind};

/// The schema, one entry per version. Never edit a released entry: add one.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("postgres/001_records.sql")),
    (2, include_str!("postgres/002_breakdown.sql")),
    (3, include_str!("postgres/003_latency_histogram.sql")),
    (4, include_str!("postgres/004_groups.sql")),
];

/// Any number, the same for every instance: serializes migrations.
const MIGRATION_LOCK: i64 = 0x736c_6970_7374_7231; // "slipstr1"

/// Rows per statement: large enough to amortize a round trip, small enough
/// to keep one statement's JSON to a few megabytes.
const BATCH_ROWS: usize = 2_000;

/// One table: its name, key columns and typed columns, in the order
/// `jsonb_to_recordset` reads them.
struct Table {
    name: &'static str,
    kind: RecordKind,
    key: &'static [&'static str],
    columns: &'static [(&'static str, &'static str)],
}

const TABLES: [Table; 3] = [
    Table {
        name: "window_records",
        kind: RecordKind::Window,
        key: &["sli", "group_key", "window_start"],
        columns: &[
            ("sli", "text"),
            ("group", "jsonb"),
            ("group_key", "text"),
            ("window_start", "timestamptz"),
            ("window_end", "timestamptz"),
            ("total", "bigint"),
            ("good", "bigint"),
            ("bad", "bigint"),
            ("invalid", "bigint"),
            ("compliance", "float8"),
            ("target", "float8"),
            ("latency_unit", "text"),
            ("latency_count", "bigint"),
            ("latency_min", "float8"),
            ("latency_mean", "float8"),
            ("latency_max", "float8"),
            ("latency_p50", "float8"),
            ("latency_p75", "float8"),
            ("latency_p90", "float8"),
            ("latency_p95", "float8"),
            ("latency_p99", "float8"),
            ("latency_p999", "float8"),
            ("latency", "jsonb"),
            ("latency_histogram", "text"),
            ("breakdown", "jsonb"),
        ],
    },
    Table {
        name: "slo_records",
        kind: RecordKind::Slo,
        key: &["sli", "group_key", "at"],
        columns: &[
            ("sli", "text"),
            ("group", "jsonb"),
            ("group_key", "text"),
            ("at", "timestamptz"),
            ("objective_target", "float8"),
            ("objective_window", "text"),
            ("objective_method", "text"),
            ("objective_slice", "text"),
            ("period_start", "timestamptz"),
            ("period_end", "timestamptz"),
            ("good", "bigint"),
            ("bad", "bigint"),
            ("compliance", "float8"),
            ("budget_allowed", "float8"),
            ("budget_spent", "float8"),
            ("budget_remaining", "float8"),
            ("budget_remaining_ratio", "float8"),
            ("budget_outage_minutes_left", "float8"),
            ("burn_rate_5m", "float8"),
            ("burn_rate_30m", "float8"),
            ("burn_rate_1h", "float8"),
            ("burn_rate_2h", "float8"),
            ("burn_rate_6h", "float8"),
            ("burn_rate_1d", "float8"),
            ("burn_rate_3d", "float8"),
        ],
    },
    Table {
        name: "alert_records",
        kind: RecordKind::Alert,
        key: &["sli", "group_key", "severity", "at"],
        columns: &[
            ("sli", "text"),
            ("group", "jsonb"),
            ("group_key", "text"),
            ("severity", "text"),
            ("at", "timestamptz"),
            ("state", "text"),
            ("long_window", "text"),
            ("short_window", "text"),
            ("burn_rate_long", "float8"),
            ("burn_rate_short", "float8"),
            ("threshold", "float8"),
            ("incident_start", "timestamptz"),
            ("budget_spent_in_incident", "float8"),
            ("exhaustion_at", "timestamptz"),
            ("summary", "text"),
        ],
    },
];

/// The upsert of one table: a JSON array of flat rows in, one row per key.
fn upsert_sql(t: &Table) -> String {
    let names: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
    let typed: Vec<String> = t
        .columns
        .iter()
        .map(|(n, ty)| format!("\"{n}\" {ty}"))
        .collect();
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let updates: Vec<String> = names
        .iter()
        .filter(|n| !t.key.contains(n))
        .map(|n| format!("\"{n}\" = EXCLUDED.\"{n}\""))
        .collect();
    let key: Vec<String> = t.key.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "INSERT INTO {table} ({cols}) SELECT {cols} FROM jsonb_to_recordset($1::text::jsonb) AS r({typed}) \
         ON CONFLICT ({key}) DO UPDATE SET {updates}",
        table = t.name,
        cols = quoted.join(", "),
        typed = typed.join(", "),
        key = key.join(", "),
        updates = updates.join(", "),
    )
}

/// A record's columns: its fields with nested objects flattened by `_`;
/// the `latency` object is also kept whole, for percentiles without a
/// column, and the `breakdown` and `group` objects only whole; `group_key`
/// is the group's compact JSON (`''` for an ungrouped SLI).
fn flatten(json: &str) -> Result<Map<String, Value>> {
    let record = AnyRecord::parse(json).context("a line is not one of slipstream's records")?;
    let Value::Object(fields) = serde_json::to_value(&record)? else {
        anyhow::bail!("a record is not a JSON object");
    };
    let mut out = Map::new();
    // A grouped SLI's group: whole, and as its compact JSON in the key.
    let group_key = match record.group() {
        Some(g) => serde_json::to_string(g)?,
        None => String::new(),
    };
    out.insert("group_key".into(), Value::String(group_key));
    for (k, v) in fields {
        if k == "breakdown" || k == "group" {
            out.insert(k, v);
            continue;
        }
        if let Value::Object(inner) = &v {
            for (ik, iv) in inner {
                out.insert(format!("{k}_{ik}"), iv.clone());
            }
            if k != "latency" {
                continue;
            }
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// The objects of each kind that the store keeps flattened (`budget_allowed`)
/// and not whole; [`record_from_row`] nests them again.
const FLATTENED: [(&str, &[&str]); 3] = [
    ("window", &[]),
    ("slo", &["objective", "budget", "burn_rate"]),
    ("alert", &[]),
];

/// A record read back from a row of the store (`row_to_json` of a table,
/// with a `kind` column added): the flattened objects nested again and the
/// columns that only repeat the `latency` object dropped. `None` for a row
/// that is not a whole record.
pub fn record_from_row(row: &str) -> Option<AnyRecord> {
    let Ok(Value::Object(columns)) = serde_json::from_str::<Value>(row) else {
        return None;
    };
    let kind = columns.get("kind")?.as_str()?.to_string();
    let nested = FLATTENED.iter().find(|(k, _)| *k == kind)?.1;
    let mut out = Map::new();
    for (k, v) in columns {
        if k.starts_with("latency_") && k != "latency_histogram" {
            continue;
        }
        match nested
            .iter()
            .find_map(|n| Some((*n, k.strip_prefix(n)?.strip_prefix('_')?)))
        {
            Some((object, field)) => {
                if let Value::Object(inner) = out
                    .entry(object)
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    // A null slice is a record without one.
                    if !v.is_null() || object != "objective" {
                        inner.insert(field.to_string(), v);
                    }
                }
            }
            None if v.is_null() && (k == "breakdown" || k == "group") => {}
            None if k == "group_key" => {}
            None => {
                out.insert(k, v);
            }
        }
    }
    AnyRecord::from_value(Value::Object(out))
}

/// TLS as libpq reads the URL: `sslmode=verify-full` verifies the
/// server's certificate and name, `verify-ca` the certificate only,
/// `prefer` (the default) and `require` encrypt without verifying, and
/// `sslrootcert` names the CA file. tokio-postgres knows only the first
/// three modes and no `sslrootcert`, so both are taken out of the URL here.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tls {
    verify: bool,
    verify_host: bool,
    root: Option<String>,
}

/// The URL without the TLS parameters tokio-postgres does not read, and
/// those parameters.
fn split_tls(url: &str) -> (String, Tls) {
    let mut tls = Tls::default();
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), tls);
    };
    let mut kept = Vec::new();
    for kv in query.split('&') {
        match kv.split_once('=') {
            Some(("sslmode", "verify-full")) => {
                (tls.verify, tls.verify_host) = (true, true);
                kept.push("sslmode=require".to_string());
            }
            Some(("sslmode", "verify-ca")) => {
                tls.verify = true;
                kept.push("sslmode=require".to_string());
            }
            Some(("sslrootcert", path)) => tls.root = Some(path.to_string()),
            _ => kept.push(kv.to_string()),
        }
    }
    if kept.is_empty() {
        (base.to_string(), tls)
    } else {
        (format!("{base}?{}", kept.join("&")), tls)
    }
}

/// Refuses a URL whose user or password holds a raw `@`: the parser would
/// take the rest of the password for the host and print it in errors.
fn check_userinfo(url: &str) -> Result<()> {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if authority.matches('@').count() > 1 {
            anyhow::bail!(
                "the PostgreSQL URL has an `@` in its user name or password: percent-encode it as %40"
            );
        }
    }
    Ok(())
}

/// Connects with TLS as the URL's `sslmode` asks (see [`Tls`]), a connect
/// timeout of 10 s unless the URL sets one, TCP keepalives after 30 s idle,
/// a 30 s TCP user timeout and a 60 s statement timeout unless the URL sets
/// `options`, so that a server that stops answering fails the write instead
/// of hanging the job.
pub fn connect(url: &str) -> Result<Client> {
    check_userinfo(url)?;
    let (url, tls) = split_tls(url);
    let mut config: PgConfig = url.parse().context(
        "the PostgreSQL URL is not valid (expected postgres://USER:PASSWORD@HOST:PORT/DB)",
    )?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
    config.tcp_user_timeout(Duration::from_secs(30));
    if config.get_options().is_none() {
        config.options("-c statement_timeout=60000");
    }
    config.application_name("slipstream");
    let mut builder = SslConnector::builder(SslMethod::tls()).context("cannot set up TLS")?;
    if let Some(root) = &tls.root {
        builder
            .set_ca_file(root)
            .with_context(|| format!("cannot read sslrootcert {root}"))?;
    }
    if !tls.verify {
        builder.set_verify(SslVerifyMode::NONE);
    }
    let mut connector = MakeTlsConnector::new(builder.build());
    if tls.verify && !tls.verify_host {
        connector.set_callback(|c, _| {
            c.set_verify_hostname(false);
            Ok(())
        });
    }
    let client = config.connect(connector).map_err(|e| {
        anyhow::anyhow!(
            "cannot connect to PostgreSQL at {}: {}",
            describe(&config),
            server_says(&e)
        )
    })?;
    Ok(client)
}

/// A PostgreSQL error in the server's own words (`password authentication
/// failed for user "x"`, `database "y" does not exist`), with its SQLSTATE;
/// the driver's own text for an error that is not the server's is only
/// "db error". Neither ever holds the password.
pub fn server_says(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            s.push_str(&format!("; {detail}"));
        }
        if let Some(hint) = db.hint() {
            s.push_str(&format!("; hint: {hint}"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    s
}

/// Host, port and database of a connection, never the password.
fn describe(c: &PgConfig) -> String {
    let host = c
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(s) => s.clone(),
            postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", c.get_dbname().unwrap_or("(default)"))
}

/// Brings the schema to the newest version; safe to run concurrently and
/// repeatedly. Returns the versions it applied.
pub fn migrate(client: &mut Client) -> Result<Vec<i32>> {
    // Up to date: nothing to lock or create, so a role without CREATE
    // rights can run against a schema an administrator migrated.
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('slipstream_migrations') IS NOT NULL",
            &[],
        )?
        .get(0);
    let current: Option<i32> = if exists {
        client
            .query_one("SELECT max(version) FROM slipstream_migrations", &[])?
            .get(0)
    } else {
        None
    };
    if current.is_some_and(|v| v >= newest) {
        return Ok(Vec::new());
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS slipstream_migrations (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now())",
    )?;
    let current: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM slipstream_migrations",
            &[],
        )?
        .get(0);
    let mut applied = Vec::new();
    for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)
            .with_context(|| format!("migration {version} failed"))?;
        tx.execute(
            "INSERT INTO slipstream_migrations (version) VALUES ($1)",
            &[&version],
        )?;
        applied.push(version);
    }
    tx.commit()?;
    Ok(applied)
}

/// The window records of the last `history_ns` before the newest one, as
/// JSON lines with the fields an objective rebuild reads.
pub fn window_history(url: &str, history_ns: i64) -> Result<Vec<String>> {
    window_history_before(url, None, history_ns)
}

/// The window records of the `history_ns` before `before_ns` (before and
/// including the newest one when `None`), as JSON lines with the fields an
/// objective rebuild reads.
pub fn window_history_before(
    url: &str,
    before_ns: Option<i64>,
    history_ns: i64,
) -> Result<Vec<String>> {
    let mut client = connect(url)?;
    migrate(&mut client)?;
    // Microseconds: PostgreSQL's resolution.
    let end = match before_ns {
        Some(ns) => format!("to_timestamp({}::numeric / 1e6)", ns / 1_000),
        None => "(SELECT max(window_start) + interval '1 microsecond' FROM window_records)".into(),
    };
    let sql = format!(
        "SELECT json_build_object(
             'kind', 'window', 'sli', sli, 'group', \"group\",
             'window_start', to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
             'good', good, 'bad', bad, 'latency', latency)::text
         FROM window_records
         WHERE window_start < {end}
           AND window_start >= {end} - make_interval(secs => $1::float8 / 1e6)
         ORDER BY window_start"
    );
    let rows = client.query(sql.as_str(), &[&((history_ns / 1_000) as f64)])?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// Writes records to PostgreSQL.
pub struct PostgresSink {
    url: String,
    label: String,
    kinds: RecordKinds,
    client: Option<Client>,
    statements: Vec<String>,
}

impl PostgresSink {
    /// Connects and migrates the schema, so a wrong URL or missing rights
    /// show at start-up.
    pub fn new(url: &str, kinds: RecordKinds) -> Result<PostgresSink> {
        let mut client = connect(url)?;
        migrate(&mut client).context("cannot create or migrate slipstream's tables")?;
        let label = split_tls(url)
            .0
            .parse::<PgConfig>()
            .map(|c| describe(&c))
            .unwrap_or_default();
        Ok(PostgresSink {
            url: url.to_string(),
            label,
            kinds,
            client: Some(client),
            statements: TABLES.iter().map(upsert_sql).collect(),
        })
    }

    fn try_write(&mut self, records: &[Record]) -> Result<usize> {
        let wanted = |t: &Table, r: &&Record| r.kind == t.kind && r.kind.wanted_by(&self.kinds);
        if !records.iter().any(|r| TABLES.iter().any(|t| wanted(t, &r))) {
            return Ok(0);
        }
        if self.client.is_none() {
            self.client = Some(connect(&self.url)?);
        }
        let client = self.client.as_mut().context("no connection")?;
        let mut tx = client.transaction()?;
        let mut n = 0;
        for (t, sql) in TABLES.iter().zip(&self.statements) {
            let mine: Vec<&Record> = records.iter().filter(|r| wanted(t, r)).collect();
            for chunk in mine.chunks(BATCH_ROWS) {
                // The last record of a key wins: one statement may not
                // upsert a row twice.
                let mut rows: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
                for r in chunk {
                    rows.insert(&r.key, flatten(&r.json)?);
                }
                let json = serde_json::to_string(&rows.values().collect::<Vec<_>>())?;
                tx.execute(sql.as_str(), &[&json])
                    .with_context(|| format!("cannot upsert into {}", t.name))?;
                n += rows.len();
            }
        }
        tx.commit()?;
        Ok(n)
    }
}

impl Sink for PostgresSink {
    fn name(&self) -> String {
        format!("postgres:{}", self.label)
    }

    fn write(&mut self, records: &[Record]) -> Result<usize> {
        let result = self.try_write(records);
        if result.is_err() {
            // The connection may be broken: the next attempt opens a new one.
            self.client = None;
        }
        result
    }
}

/// A `postgres` sink, the same in every mode: each write is already one
/// committed transaction.
pub fn build(
    url: &str,
    kinds: RecordKinds,
    _ctx: &super::Context<'_>,
) -> Result<Option<Box<dyn Sink>>> {
    Ok(Some(Box::new(PostgresSink::new(url, kinds)?)))
}

/// The window records of a `postgres` sink: its `window_records`.
pub struct History<'a> {
    pub url: &'a str,
}

impl super::History for History<'_> {
    fn name(&self) -> String {
        "window_records in PostgreSQL".into()
    }

    fn windows(&self, before_ns: Option<i64>, history_ns: i64) -> Result<super::WindowLines> {
        let rows = window_history_before(self.url, before_ns, history_ns)
            .context("cannot read window_records from PostgreSQL to rebuild the objectives")?;
        Ok(super::WindowLines::Rows(rows))
    }
}

#[cfg(test)]
mod tests;
