//! Precedence, Kleene logic, durations and the public API.

use super::{b, eval, eval_unit, num, rule, st, MS};
use crate::event::{FieldTable, Value, LATENCY_SLOT, ROLE_SLOTS, STATUS_SLOT};
use crate::rules::{compile, Rule};

const S: f64 = 1e9;
const US: f64 = 1e3;
const NS: f64 = 1.0;

fn abc(src: &str, a: bool, b_: bool, c: bool) -> Option<bool> {
    eval(src, &[("a", b(a)), ("b", b(b_)), ("c", b(c))])
}

#[test]
fn and_binds_tighter_than_or() {
    // a || (b && c) = true; (a || b) && c would be false.
    assert_eq!(abc("a || b && c", true, false, false), Some(true));
    // (a && b) || c = true; a && (b || c) would be false.
    assert_eq!(abc("a && b || c", false, true, true), Some(true));
    // Parentheses override.
    assert_eq!(abc("(a || b) && c", true, false, false), Some(false));
    assert_eq!(abc("a && (b || c)", false, true, true), Some(false));
    assert_eq!(abc("((a))", true, false, false), Some(true));
}

#[test]
fn not_binds_tighter_than_and_or_looser_than_comparisons() {
    // (!a) && b = false; !(a && b) would be true.
    assert_eq!(abc("!a && b", true, false, false), Some(false));
    // (!a) || b = true; !(a || b) would be false.
    assert_eq!(abc("!a || b", true, true, false), Some(true));
    assert_eq!(abc("!(a || b)", false, true, false), Some(false));
    assert_eq!(abc("!!a", true, false, false), Some(true));
    // `!status == 500` is `!(status == 500)`.
    assert_eq!(
        eval("!status == 500", &[("status", num(404.0))]),
        Some(true)
    );
    assert_eq!(
        eval("!status == 500", &[("status", num(500.0))]),
        Some(false)
    );
    assert_eq!(eval("!x in [1, 2]", &[("x", num(3.0))]), Some(true));
}

#[test]
fn mixed_rule() {
    let src = "status >= 500 || status == 429 && retry";
    assert_eq!(eval(src, &[("status", num(503.0))]), Some(true));
    assert_eq!(
        eval(src, &[("status", num(429.0)), ("retry", b(true))]),
        Some(true)
    );
    assert_eq!(
        eval(src, &[("status", num(200.0)), ("retry", b(true))]),
        Some(false)
    );
    // 429 with retry missing: false || (true && unknown) = unknown.
    assert_eq!(eval(src, &[("status", num(429.0))]), None);
}

/// The value of `a` or `b` in the truth tables: a bool or missing.
fn tv(x: Option<bool>) -> Option<Value<'static>> {
    x.map(Value::Bool)
}

fn table(src: &str, rows: &[(Option<bool>, Option<bool>, Option<bool>)]) {
    for &(a, bv, want) in rows {
        let mut fields = FieldTable::default();
        let rule = rule(src, &mut fields, MS);
        let (slot_a, slot_b) = (fields.slot("a"), fields.slot("b"));
        let mut values = vec![None; fields.len()];
        values[slot_a] = tv(a);
        values[slot_b] = tv(bv);
        assert_eq!(rule.eval(&values), want, "{src} with a={a:?} b={bv:?}");
    }
}

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);
const N: Option<bool> = None;

#[test]
fn kleene_and() {
    #[rustfmt::skip]
    let rows = [
        (T, T, T), (T, F, F), (T, N, N),
        (F, T, F), (F, F, F), (F, N, F),
        (N, T, N), (N, F, F), (N, N, N),
    ];
    table("a && b", &rows);
}

#[test]
fn kleene_or() {
    #[rustfmt::skip]
    let rows = [
        (T, T, T), (T, F, T), (T, N, T),
        (F, T, T), (F, F, F), (F, N, N),
        (N, T, T), (N, F, N), (N, N, N),
    ];
    table("a || b", &rows);
}

#[test]
fn kleene_not() {
    table("!a", &[(T, N, F), (F, N, T), (N, N, N)]);
}

#[test]
fn unknown_comes_from_mismatches_too() {
    let src = "a && x == 5";
    assert_eq!(eval(src, &[("a", b(false)), ("x", st("5"))]), Some(false));
    assert_eq!(eval(src, &[("a", b(true)), ("x", st("5"))]), None);
    let src = "x == 5 || a";
    assert_eq!(
        eval(src, &[("a", b(true)), ("x", Value::Object)]),
        Some(true)
    );
    assert_eq!(eval(src, &[("a", b(false)), ("x", Value::Object)]), None);
}

#[test]
fn durations_in_milliseconds() {
    let ev = |src, v| eval_unit(src, MS, &[("latency", num(v))]);
    assert_eq!(ev("latency <= 300ms", 300.0), Some(true));
    assert_eq!(ev("latency <= 300ms", 300.5), Some(false));
    assert_eq!(ev("latency < 1.5s", 1499.0), Some(true));
    assert_eq!(ev("latency < 1.5s", 1500.0), Some(false));
    assert_eq!(ev("300ms > latency", 299.0), Some(true));
    assert_eq!(ev("300ms > latency", 300.0), Some(false));
    assert_eq!(ev("latency >= 100us", 0.1), Some(true));
    assert_eq!(ev("latency >= 100us", 0.09), Some(false));
    assert_eq!(ev("latency == 250ns", 0.00025), Some(true));
    assert_eq!(ev("latency < 2m", 119_999.0), Some(true));
    assert_eq!(ev("latency < 2m", 120_000.0), Some(false));
    assert_eq!(ev("latency < 1m30s", 89_999.0), Some(true));
    assert_eq!(ev("latency < 1m30s", 90_000.0), Some(false));
    assert_eq!(ev("latency < 1h", 3_599_999.0), Some(true));
    assert_eq!(ev("latency < 1d", 86_399_999.0), Some(true));
    assert_eq!(ev("latency < 1d", 86_400_000.0), Some(false));
    assert_eq!(ev("latency in [100ms, 200ms]", 200.0), Some(true));
    assert_eq!(ev("latency in [100ms, 200ms]", 150.0), Some(false));
    // A bare number is already in the latency unit.
    assert_eq!(ev("latency <= 300", 300.0), Some(true));
    assert_eq!(ev("latency <= 300", 301.0), Some(false));
}

#[test]
fn durations_in_other_units() {
    let s = |src, v| eval_unit(src, S, &[("latency", num(v))]);
    assert_eq!(s("latency <= 300ms", 0.3), Some(true));
    assert_eq!(s("latency <= 300ms", 0.31), Some(false));
    assert_eq!(s("latency > 1.5s", 1.6), Some(true));
    assert_eq!(s("latency > 1.5s", 1.5), Some(false));
    assert_eq!(s("latency < 2", 1.9), Some(true));
    assert_eq!(s("latency < 2", 2.5), Some(false));
    let us = |src, v| eval_unit(src, US, &[("latency", num(v))]);
    assert_eq!(us("latency < 1ms", 999.0), Some(true));
    assert_eq!(us("latency < 1ms", 1000.0), Some(false));
    let ns = |src, v| eval_unit(src, NS, &[("latency", num(v))]);
    assert_eq!(ns("latency == 1s", 1e9), Some(true));
    assert_eq!(ns("latency < 1us", 999.0), Some(true));
}

#[test]
fn paths_resolve_to_slots() {
    let mut fields = FieldTable::default();
    let rule = rule(
        r#"status < 500 && http.route == "/a" && latency < 1s"#,
        &mut fields,
        MS,
    );
    assert_eq!(fields.len(), ROLE_SLOTS + 1);
    assert_eq!(fields.paths().collect::<Vec<_>>(), vec![(3, "http.route")]);
    let mut values = vec![None; fields.len()];
    values[STATUS_SLOT] = Some(num(200.0));
    values[LATENCY_SLOT] = Some(num(999.0));
    values[3] = Some(st("/a"));
    assert_eq!(rule.eval(&values), Some(true));
    values[LATENCY_SLOT] = Some(num(1000.0));
    assert_eq!(rule.eval(&values), Some(false));
    // A second rule reuses the slot.
    let again = super::rule(r#"http.route != "/b""#, &mut fields, MS);
    assert_eq!(fields.len(), ROLE_SLOTS + 1);
    assert_eq!(again.eval(&values), Some(true));
}

/// Field paths in any script, with `@` and `/`, as JSON keys are written.
#[test]
fn paths_take_the_characters_of_json_keys() {
    let mut fields = FieldTable::default();
    let src =
        r#"@type == "a" && région == "b" && labels.app.kubernetes.io/name == "c" && _x-1 == 1"#;
    let rule = super::rule(src, &mut fields, MS);
    let paths: Vec<&str> = fields.paths().map(|(_, p)| p).collect();
    assert_eq!(
        paths,
        ["@type", "région", "labels.app.kubernetes.io/name", "_x-1"]
    );
    let mut values = vec![None; fields.len()];
    for (path, v) in [
        ("@type", st("a")),
        ("région", st("b")),
        ("labels.app.kubernetes.io/name", st("c")),
        ("_x-1", num(1.0)),
    ] {
        values[fields.slot(path)] = Some(v);
    }
    assert_eq!(rule.eval(&values), Some(true));
}

/// A backslash before anything but `"`, `\\`, `n`, `t` or `r` stays in the
/// string, as regular expressions want it.
#[test]
fn regex_escapes_stay_in_strings() {
    let route = |src: &str, r: &'static str| eval(src, &[("route", st(r))]);
    assert_eq!(route(r#"route =~ "^/v\d+/""#, "/v12/x"), Some(true));
    assert_eq!(route(r#"route =~ "^/v\d+/""#, "/vd/x"), Some(false));
    // The same regex with the backslash escaped.
    assert_eq!(route(r#"route =~ "^/v\\d+/""#, "/v12/x"), Some(true));
    assert_eq!(route(r#"route =~ "^/a\.b$""#, "/a.b"), Some(true));
    assert_eq!(route(r#"route =~ "^/a\.b$""#, "/axb"), Some(false));
    assert_eq!(route(r#"route == "a\wb""#, "a\\wb"), Some(true));
    assert_eq!(route(r#"route == "a\"b""#, "a\"b"), Some(true));
}

/// `status` takes a string of digits in a rule as it does in an event.
#[test]
fn status_takes_a_string_of_digits() {
    let status = |src: &str, v: f64| eval(src, &[("status", num(v))]);
    assert_eq!(status(r#"status == "503""#, 503.0), Some(true));
    assert_eq!(status(r#"status == "503""#, 500.0), Some(false));
    assert_eq!(status(r#"status >= "500""#, 502.0), Some(true));
    assert_eq!(status(r#"status in ["429", 503]"#, 429.0), Some(true));
    assert_eq!(status(r#"status not in ["429", "503"]"#, 200.0), Some(true));
}

#[test]
fn failed_compile_leaves_fields_alone() {
    let mut fields = FieldTable::default();
    assert!(compile("foo == 1 && bar ==", &mut fields, MS).is_err());
    assert_eq!(fields.len(), ROLE_SLOTS);
}

#[test]
fn short_values_count_as_missing() {
    let mut fields = FieldTable::default();
    let exists = rule("exists(x)", &mut fields, MS);
    let equal = rule("x == 1", &mut fields, MS);
    assert_eq!(fields.len(), ROLE_SLOTS + 1);
    assert_eq!(exists.eval(&[None, None, None]), Some(false));
    assert_eq!(exists.eval(&[]), Some(false));
    assert_eq!(equal.eval(&[None, None, None]), None);
}

#[test]
fn rule_api() {
    fn shareable<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
    shareable::<Rule>();
    let mut fields = FieldTable::default();
    let src = "  status >= 500 ";
    let rule = rule(src, &mut fields, MS);
    assert_eq!(rule.source(), src);
    assert_eq!(rule.to_string(), src);
    let copy = rule.clone();
    let mut values = vec![None; fields.len()];
    values[STATUS_SLOT] = Some(num(502.0));
    assert_eq!(copy.eval(&values), Some(true));
    assert!(format!("{rule:?}").contains("status >= 500"));
}
