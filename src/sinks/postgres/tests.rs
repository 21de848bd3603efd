use super::*;

#[test]
fn nested_fields_flatten_with_underscores() {
    let slo = flatten(
        r#"{"kind":"slo","sli":"a","at":"2026-11-29T02:00:00Z","objective":{"target":0.99,"window":"30d","method":"occurrences"},"period_start":"2026-11-29T00:00:00Z","period_end":"2026-11-29T02:00:00Z","good":99,"bad":1,"compliance":0.99,"budget":{"allowed":1.5,"spent":1,"remaining":0.5,"remaining_ratio":null,"outage_minutes_left":null},"burn_rate":{"5m":2.0,"1h":null}}"#,
    )
    .unwrap();
    assert_eq!(slo["budget_allowed"], 1.5);
    assert!(slo["budget_remaining_ratio"].is_null());
    assert_eq!(slo["burn_rate_5m"], 2.0);
    assert_eq!(slo["objective_window"], "30d");
    assert!(!slo.contains_key("budget"));
    let window = flatten(
        r#"{"kind":"window","sli":"a","window_start":"2026-11-29T02:00:00Z","window_end":"2026-11-29T02:01:00Z","total":3,"good":2,"bad":1,"invalid":0,"compliance":0.6666666666666666,"target":null,"latency":{"unit":"ms","count":3,"min":1.0,"mean":2.0,"p99":3.0,"max":3.0},"latency_histogram":null}"#,
    )
    .unwrap();
    assert_eq!(window["latency_p99"], 3.0);
    assert_eq!(window["latency"]["p99"], 3.0);
    assert!(
        flatten(r#"{"kind":"slo","sli":"a"}"#).is_err(),
        "not a whole record"
    );
}

#[test]
fn a_row_of_the_store_reads_back_as_the_record_it_was() {
    let line = r#"{"kind":"slo","sli":"a","at":"2026-11-29T02:00:00Z","objective":{"target":0.99,"window":"30d","method":"occurrences"},"period_start":"2026-11-29T00:00:00Z","period_end":"2026-11-29T02:00:00Z","good":99,"bad":1,"compliance":0.99,"budget":{"allowed":1.5,"spent":1,"remaining":0.5,"remaining_ratio":0.3333333333333333,"outage_minutes_left":null},"burn_rate":{"1h":null,"5m":2.0}}"#;
    let mut row = flatten(line).unwrap();
    // The store has a column for every slice, null where there is none.
    row.insert("objective_slice".into(), Value::Null);
    let back = record_from_row(&Value::Object(row).to_string()).unwrap();
    assert_eq!(back, AnyRecord::parse(line).unwrap());
}

#[test]
fn libpq_tls_parameters_are_taken_out_of_the_url() {
    let (url, tls) =
        split_tls("postgres://u:p@h/db?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=5");
    assert_eq!(url, "postgres://u:p@h/db?sslmode=require&connect_timeout=5");
    assert_eq!(
        tls,
        Tls {
            verify: true,
            verify_host: true,
            root: Some("/ca.pem".into())
        }
    );
    let (url, tls) = split_tls("postgres://u:p@h/db?sslmode=verify-ca");
    assert_eq!(url, "postgres://u:p@h/db?sslmode=require");
    assert!(tls.verify && !tls.verify_host);
    let (url, tls) = split_tls("postgres://u:p@h/db");
    assert_eq!((url.as_str(), tls), ("postgres://u:p@h/db", Tls::default()));
}

#[test]
fn a_raw_at_sign_in_the_password_is_refused_without_echoing_it() {
    let Err(e) = connect("postgres://u:se@cret@db.internal/x") else {
        panic!("connected with a broken URL");
    };
    let e = format!("{e:#}");
    assert!(e.contains("%40"), "{e}");
    assert!(!e.contains("cret"), "{e}");
    assert!(check_userinfo("postgres://u:se%40cret@db/x?a=b@c").is_ok());
}

#[test]
fn upserts_update_everything_but_the_key() {
    let sql = upsert_sql(&TABLES[1]);
    assert!(sql.contains("ON CONFLICT (\"sli\", \"group_key\", \"at\") DO UPDATE SET"));
    assert!(!sql.contains("\"sli\" = EXCLUDED"), "keys are not updated");
}

#[test]
fn a_groups_rows_carry_it_whole_and_in_the_key_and_read_back() {
    let line = r#"{"kind":"window","sli":"a","group":{"http.route":"/x","region":null},"window_start":"2026-11-29T02:00:00Z","window_end":"2026-11-29T02:01:00Z","total":3,"good":2,"bad":1,"invalid":0,"compliance":0.6666666666666666,"target":null,"latency":null,"latency_histogram":null}"#;
    let row = flatten(line).unwrap();
    assert_eq!(row["group_key"], r#"{"http.route":"/x","region":null}"#);
    assert_eq!(row["group"]["http.route"], "/x");
    assert!(!row.contains_key("group_http.route"));
    let back = record_from_row(&Value::Object(row).to_string()).unwrap();
    assert_eq!(back, AnyRecord::parse(line).unwrap());
    assert_eq!(
        back.key(),
        "a {http.route=/x,region=(none)}|2026-11-29T02:00:00Z"
    );

    // An ungrouped SLI's row: an empty key, a null group, no `group` back.
    let plain = r#"{"kind":"window","sli":"a","window_start":"2026-11-29T02:00:00Z","window_end":"2026-11-29T02:01:00Z","total":3,"good":2,"bad":1,"invalid":0,"compliance":0.6666666666666666,"target":null,"latency":null,"latency_histogram":null}"#;
    let mut row = flatten(plain).unwrap();
    assert_eq!(row["group_key"], "");
    row.insert("group".into(), Value::Null);
    let back = record_from_row(&Value::Object(row).to_string()).unwrap();
    assert_eq!(back.to_json(), plain);
}
