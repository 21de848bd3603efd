//! Tests of the rule language. Expected values come from the language's
//! definition (the contract), worked out by hand, not from running the code.
//!
//! `mod.rs` holds the helpers and the operators; `logic.rs` precedence,
//! three-valued logic, durations and the API; `errors.rs` compile errors and
//! their rendering.

mod errors;
mod logic;

use std::borrow::Cow;

use super::{compile, Rule};
use crate::event::{FieldTable, Value};

/// Nanoseconds per latency unit.
const MS: f64 = 1e6;

fn num(n: f64) -> Value<'static> {
    Value::Num(n)
}

fn st(s: &'static str) -> Value<'static> {
    Value::Str(Cow::Borrowed(s))
}

fn b(x: bool) -> Value<'static> {
    Value::Bool(x)
}

/// Compiles `src` or fails the test with the rendered error.
fn rule(src: &str, fields: &mut FieldTable, unit_ns: f64) -> Rule {
    compile(src, fields, unit_ns).unwrap_or_else(|e| panic!("{}", e.render(src)))
}

/// Evaluates `src` (latency in `unit_ns`) over an event holding `pairs`;
/// every other field is missing.
fn eval_unit(src: &str, unit_ns: f64, pairs: &[(&str, Value<'static>)]) -> Option<bool> {
    let mut fields = FieldTable::default();
    let rule = rule(src, &mut fields, unit_ns);
    let mut values = vec![None; fields.len()];
    for (path, value) in pairs {
        let slot = fields.slot(path);
        if slot >= values.len() {
            values.resize(slot + 1, None);
        }
        values[slot] = Some(value.clone());
    }
    rule.eval(&values)
}

/// [`eval_unit`] with latency in milliseconds.
fn eval(src: &str, pairs: &[(&str, Value<'static>)]) -> Option<bool> {
    eval_unit(src, MS, pairs)
}

#[test]
fn numbers_every_operator() {
    let ev = |src| eval(src, &[("status", num(500.0))]);
    assert_eq!(ev("status == 500"), Some(true));
    assert_eq!(ev("status == 501"), Some(false));
    assert_eq!(ev("status != 500"), Some(false));
    assert_eq!(ev("status != 404"), Some(true));
    assert_eq!(ev("status < 500"), Some(false));
    assert_eq!(ev("status < 501"), Some(true));
    assert_eq!(ev("status <= 500"), Some(true));
    assert_eq!(ev("status <= 499"), Some(false));
    assert_eq!(ev("status > 500"), Some(false));
    assert_eq!(ev("status > 499"), Some(true));
    assert_eq!(ev("status >= 500"), Some(true));
    assert_eq!(ev("status >= 501"), Some(false));
}

#[test]
fn literal_on_the_left_flips_the_operator() {
    assert_eq!(eval("500 <= status", &[("status", num(500.0))]), Some(true));
    assert_eq!(
        eval("500 <= status", &[("status", num(499.0))]),
        Some(false)
    );
    assert_eq!(eval("400 > status", &[("status", num(404.0))]), Some(false));
    assert_eq!(eval("400 > status", &[("status", num(200.0))]), Some(true));
    assert_eq!(eval("404 == status", &[("status", num(404.0))]), Some(true));
    assert_eq!(
        eval("\"api\" == service", &[("service", st("api"))]),
        Some(true)
    );
}

#[test]
fn number_spellings() {
    assert_eq!(eval("x > -5", &[("x", num(-4.0))]), Some(true));
    assert_eq!(eval("x > -5", &[("x", num(-6.0))]), Some(false));
    assert_eq!(eval("x == 1.5", &[("x", num(1.5))]), Some(true));
    assert_eq!(eval("x == 1e3", &[("x", num(1000.0))]), Some(true));
    assert_eq!(eval("x == 2.5e-1", &[("x", num(0.25))]), Some(true));
    assert_eq!(eval("x==-2", &[("x", num(-2.0))]), Some(true));
}

#[test]
fn strings_every_operator() {
    let ev = |src, v| eval(src, &[("name", st(v))]);
    assert_eq!(ev("name == \"api\"", "api"), Some(true));
    assert_eq!(ev("name == \"api\"", "web"), Some(false));
    assert_eq!(ev("name != \"api\"", "web"), Some(true));
    assert_eq!(ev("name != \"api\"", "api"), Some(false));
    // Lexicographic, by code point: "apple" < "banana" < "cherry", "Z" < "a".
    assert_eq!(ev("name < \"banana\"", "apple"), Some(true));
    assert_eq!(ev("name < \"banana\"", "cherry"), Some(false));
    assert_eq!(ev("name < \"a\"", "Z"), Some(true));
    assert_eq!(ev("name <= \"banana\"", "banana"), Some(true));
    assert_eq!(ev("name > \"banana\"", "cherry"), Some(true));
    assert_eq!(ev("name > \"banana\"", "banana"), Some(false));
    assert_eq!(ev("name >= \"banana\"", "banana"), Some(true));
    assert_eq!(ev("name >= \"banana\"", "apple"), Some(false));
}

#[test]
fn string_escapes_and_dotted_paths() {
    let src = r#"msg == "say \"hi\" \\ ok""#;
    assert_eq!(eval(src, &[("msg", st("say \"hi\" \\ ok"))]), Some(true));
    assert_eq!(
        eval(r#"msg == "a\tb\nc""#, &[("msg", st("a\tb\nc"))]),
        Some(true)
    );
    assert_eq!(
        eval(r#"http.route == "/a""#, &[("http.route", st("/a"))]),
        Some(true)
    );
    let tier = r#"labels.x-tier == "gold""#;
    assert_eq!(eval(tier, &[("labels.x-tier", st("gold"))]), Some(true));
    assert_eq!(eval(tier, &[("labels.x", st("gold"))]), None);
}

#[test]
fn bools_and_null() {
    assert_eq!(eval("ok == true", &[("ok", b(true))]), Some(true));
    assert_eq!(eval("ok == true", &[("ok", b(false))]), Some(false));
    assert_eq!(eval("ok == false", &[("ok", b(false))]), Some(true));
    assert_eq!(eval("ok != false", &[("ok", b(true))]), Some(true));
    assert_eq!(eval("ok != true", &[("ok", b(true))]), Some(false));
    assert_eq!(eval("ok", &[("ok", b(true))]), Some(true));
    assert_eq!(eval("ok", &[("ok", b(false))]), Some(false));
    assert_eq!(eval("true", &[]), Some(true));
    assert_eq!(eval("false", &[]), Some(false));
    assert_eq!(eval("x == null", &[("x", Value::Null)]), Some(true));
    assert_eq!(eval("x != null", &[("x", Value::Null)]), Some(false));
    assert_eq!(eval("null == x", &[("x", Value::Null)]), Some(true));
    // Every present value is null or not; only a missing field is unknown.
    assert_eq!(eval("x == null", &[("x", num(0.0))]), Some(false));
    assert_eq!(eval("x != null", &[("x", st(""))]), Some(true));
    assert_eq!(eval("x != null", &[("x", Value::Object)]), Some(true));
    assert_eq!(eval("null != x", &[("x", b(false))]), Some(true));
    assert_eq!(eval("x == null", &[]), None);
    assert_eq!(eval("x != null", &[]), None);
}

#[test]
fn field_against_field() {
    let ev = |src, a, b| eval(src, &[("a", a), ("b", b)]);
    assert_eq!(ev("a == b", num(3.0), num(3.0)), Some(true));
    assert_eq!(ev("a < b", num(3.0), num(2.0)), Some(false));
    assert_eq!(ev("a >= b", num(3.0), num(2.0)), Some(true));
    assert_eq!(ev("a < b", st("a"), st("b")), Some(true));
    assert_eq!(ev("a != b", st("a"), st("b")), Some(true));
    assert_eq!(ev("a == b", b(true), b(true)), Some(true));
    assert_eq!(ev("a != b", b(true), b(false)), Some(true));
    assert_eq!(ev("a == b", Value::Null, Value::Null), Some(true));
    // Mismatches and orderings that do not exist.
    assert_eq!(ev("a == b", num(1.0), st("1")), None);
    assert_eq!(ev("a < b", b(false), b(true)), None);
    assert_eq!(ev("a < b", Value::Null, Value::Null), None);
    assert_eq!(ev("a == b", Value::Object, Value::Object), None);
    assert_eq!(eval("a == b", &[("a", num(1.0))]), None);
}

#[test]
fn in_and_not_in() {
    let ev = |src, v| eval(src, &[("status", num(v))]);
    assert_eq!(ev("status in [429, 503]", 503.0), Some(true));
    assert_eq!(ev("status in [429, 503]", 500.0), Some(false));
    assert_eq!(ev("status not in [429, 503]", 500.0), Some(true));
    assert_eq!(ev("status not in [429, 503]", 429.0), Some(false));
    assert_eq!(ev("status in [429, 503,]", 429.0), Some(true));
    assert_eq!(ev("status in [404]", 404.0), Some(true));
    let svc = |src, v| eval(src, &[("service", v)]);
    assert_eq!(svc(r#"service in ["a", "b"]"#, st("b")), Some(true));
    assert_eq!(svc(r#"service in ["a", "b"]"#, st("c")), Some(false));
    assert_eq!(svc(r#"service not in ["a", "b"]"#, st("c")), Some(true));
    // A value whose type no element has is a mismatch, for `in` and `not in`.
    assert_eq!(svc("service in [1, 2]", st("1")), None);
    assert_eq!(svc("service not in [1, 2]", st("1")), None);
    assert_eq!(svc(r#"service in ["a"]"#, num(1.0)), None);
    assert_eq!(svc("service in [1, 2]", Value::Null), None);
    assert_eq!(svc(r#"service in ["a"]"#, Value::Array), None);
    assert_eq!(eval("service in [1]", &[]), None);
}

#[test]
fn in_mixed_list() {
    let ev = |v| eval(r#"x in [1, "a", true, null]"#, &[("x", v)]);
    assert_eq!(ev(st("a")), Some(true));
    assert_eq!(ev(st("b")), Some(false));
    assert_eq!(ev(num(1.0)), Some(true));
    assert_eq!(ev(num(2.0)), Some(false));
    assert_eq!(ev(b(true)), Some(true));
    assert_eq!(ev(b(false)), Some(false));
    assert_eq!(ev(Value::Null), Some(true));
    // With `null` in the list, every present value is decided, as `== null`.
    assert_eq!(ev(Value::Object), Some(false));
    assert_eq!(
        eval(r#"x in [null, "timeout"]"#, &[("x", num(5.0))]),
        Some(false)
    );
    assert_eq!(eval(r#"x not in [null]"#, &[("x", st("boom"))]), Some(true));
    assert_eq!(eval(r#"x in [null]"#, &[]), None);
}

#[test]
fn regex_match_anchoring_and_negation() {
    let ev = |src, v| eval(src, &[("path", v)]);
    assert_eq!(ev(r#"path =~ "api""#, st("/v1/api/users")), Some(true));
    assert_eq!(ev(r#"path =~ "api""#, st("/v1/web")), Some(false));
    assert_eq!(ev(r#"path =~ "^/api""#, st("/v1/api")), Some(false));
    assert_eq!(ev(r#"path =~ "^/api""#, st("/api/x")), Some(true));
    assert_eq!(ev(r#"path =~ "users$""#, st("/api/users")), Some(true));
    assert_eq!(ev(r#"path =~ "users$""#, st("/api/users/1")), Some(false));
    assert_eq!(ev(r#"path =~ "^/v\\d+/""#, st("/v2/x")), Some(true));
    assert_eq!(ev(r#"path !~ "^/health""#, st("/healthz")), Some(false));
    assert_eq!(ev(r#"path !~ "^/health""#, st("/api")), Some(true));
    // Not a string, or missing: the rule cannot say.
    assert_eq!(ev(r#"path =~ "5""#, num(5.0)), None);
    assert_eq!(ev(r#"path !~ "5""#, num(5.0)), None);
    assert_eq!(eval(r#"path !~ "x""#, &[]), None);
}

/// Patterns without metacharacters are tested as plain text; they must
/// answer exactly as the regular expression would.
#[test]
fn plain_text_patterns_match_as_their_regex() {
    let patterns = [
        "^/api",
        "^/api$",
        "api",
        "",
        "^",
        "^$",
        "users$",
        "^/api/v1/checkout",
        "é",
        "^é$",
        r"^a\$",
        r"^a\$$",
        "^a.b",
        "a.b",
        "^/api/check-out",
        "(?i)^/API",
    ];
    let subjects = [
        "",
        "/api",
        "/api/",
        "/v1/api",
        "/API/x",
        "users",
        "a$",
        "a",
        "axb",
        "a.b",
        "é",
        "xé",
        "/api/v1/checkout/pay",
        "/api/check-out",
        "api$",
    ];
    for p in patterns {
        let re = regex::Regex::new(p).expect("valid pattern");
        let src = format!("path =~ {}", serde_json::to_string(p).expect("json string"));
        for s in subjects {
            let got = eval(&src, &[("path", Value::Str(Cow::Borrowed(s)))]);
            assert_eq!(got, Some(re.is_match(s)), "{p:?} on {s:?}");
        }
    }
}

#[test]
fn exists_any_type_never_unknown() {
    let ev = |pairs: &[(&str, Value<'static>)]| eval("exists(x)", pairs);
    assert_eq!(ev(&[]), Some(false));
    assert_eq!(ev(&[("x", Value::Null)]), Some(true));
    assert_eq!(ev(&[("x", Value::Object)]), Some(true));
    assert_eq!(ev(&[("x", Value::Array)]), Some(true));
    assert_eq!(ev(&[("x", num(0.0))]), Some(true));
    assert_eq!(ev(&[("x", b(false))]), Some(true));
    assert_eq!(eval("!exists(x)", &[]), Some(true));
    assert_eq!(
        eval("exists(latency)", &[("latency", num(3.0))]),
        Some(true)
    );
    assert_eq!(
        eval("exists( labels.tier )", &[("labels.tier", st("a"))]),
        Some(true)
    );
}

#[test]
fn type_mismatches_are_unknown() {
    assert_eq!(eval("status == 500", &[("status", st("500"))]), None);
    assert_eq!(eval(r#"service == "a""#, &[("service", num(1.0))]), None);
    assert_eq!(eval(r#"service < "a""#, &[("service", b(true))]), None);
    assert_eq!(eval("x < 5", &[("x", Value::Object)]), None);
    assert_eq!(eval("x == 5", &[("x", Value::Array)]), None);
    assert_eq!(eval("x != 5", &[("x", Value::Null)]), None);
    assert_eq!(eval("x == true", &[("x", num(1.0))]), None);
    assert_eq!(eval("x == 1", &[("x", b(true))]), None);
    // A field used as a condition must hold a bool.
    assert_eq!(eval("flag", &[("flag", num(1.0))]), None);
    assert_eq!(eval("flag", &[("flag", st("true"))]), None);
    assert_eq!(eval("flag", &[]), None);
    assert_eq!(eval("!flag", &[("flag", Value::Null)]), None);
}
