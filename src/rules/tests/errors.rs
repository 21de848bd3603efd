//! Compile errors: each message and its 1-based character column, counted by
//! hand from the rule text, and the caret rendering.

use super::MS;
use crate::event::FieldTable;
use crate::rules::{compile, RuleError};

fn err(src: &str) -> RuleError {
    match compile(src, &mut FieldTable::default(), MS) {
        Ok(rule) => panic!("`{src}` compiled: {rule:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn check(src: &str, column: usize, message: &str) {
    let e = err(src);
    assert_eq!((e.column(), e.message()), (column, message), "rule `{src}`");
}

#[test]
fn empty_rule() {
    let msg = "the rule is empty; write a condition such as `status < 500`";
    check("", 1, msg);
    check("   ", 1, msg);
}

#[test]
fn missing_values_point_past_the_end() {
    // "status <=" is 9 characters; the value belongs one space later.
    check("status <=", 11, "expected a value after `<=`");
    check("a &&", 6, "expected a value after `&&`");
    check("a &&   ", 6, "expected a value after `&&`");
    check("a || )", 6, "expected a value after `||`");
    check("!", 3, "expected a value after `!`");
    check("x not in", 10, "expected a value after `not in`");
    check("a < !b", 5, "expected a value after `<`");
    check("()", 2, "expected a value after `(`");
    check("&& a", 1, "expected a value before `&&`");
    check("== 5", 1, "expected a value before `==`");
}

#[test]
fn unclosed_parentheses_and_brackets() {
    check(
        "(status >= 500",
        16,
        "expected `)` to close `(` opened at column 1",
    );
    check(
        "a && (b || c",
        14,
        "expected `)` to close `(` opened at column 6",
    );
    check(
        "(a and b)",
        4,
        "unexpected `and`; expected an operator after `a`; did you mean `&&`?",
    );
    check(
        "x in [1,",
        10,
        "expected `]` to close `[` opened at column 6",
    );
    check(
        "x in [1 2]",
        9,
        "expected `,` or `]` to close `[` opened at column 6",
    );
    check(
        "exists(a",
        10,
        "expected `)` to close `exists(` opened at column 7",
    );
    check("a)", 2, "unmatched `)`");
    check(")", 1, "unmatched `)`");
}

#[test]
fn unknown_operators_suggest_the_right_one() {
    check(
        "status = 500",
        8,
        "unknown operator `=`; did you mean `==`?",
    );
    check("a & b", 3, "unknown operator `&`; did you mean `&&`?");
    check("a | b", 3, "unknown operator `|`; did you mean `||`?");
    check("a <> b", 3, "unknown operator `<>`; did you mean `!=`?");
    check("a === b", 3, "unknown operator `===`; did you mean `==`?");
    check("a => 1", 3, "unknown operator `=>`; did you mean `>=`?");
    check(
        "not a",
        1,
        "`not` only appears in `not in`; use `!` to negate a condition",
    );
    check(
        "a && not b",
        6,
        "`not` only appears in `not in`; use `!` to negate a condition",
    );
    check("a not [1]", 7, "expected `in` after `not`");
}

#[test]
fn lexical_errors() {
    check(r#"service == "api"#, 12, "unterminated string");
    check(r#"x == "a\"#, 6, "unterminated string");
    check(r#"x == "\d"#, 6, "unterminated string");
    check("x == 'a'", 6, "strings take double quotes, as in \"GET\"");
    check("a $ b", 3, "unexpected character `$`");
    check("1.2.3 == a", 1, "malformed number `1.2.3`");
    check(
        "latency < 5x",
        11,
        "unknown duration unit `x` in `5x`; use ns, us, ms, s, m, h or d",
    );
    check(
        "latency < -5ms",
        11,
        "a duration cannot be negative: `-5ms`",
    );
    check("latency < 1m30", 11, "missing unit in duration `1m30`");
}

#[test]
fn trailing_input() {
    check(
        "status == 500 foo",
        15,
        "unexpected `foo` after a complete rule",
    );
    check(
        "status == 5 and b",
        13,
        "unexpected `and` after a complete rule; did you mean `&&`?",
    );
    check(
        "a == 1 OR b",
        8,
        "unexpected `OR` after a complete rule; did you mean `||`?",
    );
    check(
        "status 500",
        8,
        "unexpected `500`; expected an operator after `status`",
    );
}

#[test]
fn comparisons_do_not_chain() {
    let msg = "comparisons do not chain; write `a < b && b < c` instead of `a < b < c`";
    check("a < b < c", 7, msg);
    check("status < 500 < 600", 14, msg);
    check("x == 1 in [1]", 8, msg);
    check(
        "exists(a) == true",
        11,
        "the left side of `==` is a condition, not a value",
    );
    check(
        "(a < b) < c",
        9,
        "the left side of `<` is a condition, not a value",
    );
}

#[test]
fn values_are_not_conditions() {
    check(
        "5",
        1,
        "`5` is not a condition; compare it with a field, as in `field == 5`",
    );
    check(
        r#"a && "x""#,
        6,
        r#"`"x"` is not a condition; compare it with a field, as in `field == "x"`"#,
    );
    check(
        "[1, 2]",
        1,
        "`[1, 2]` is not a condition; compare it with a field, as in `field in [1, 2]`",
    );
    check(
        "null || a",
        1,
        "`null` is not a condition; compare it with a field, as in `field == null`",
    );
    check(
        "300ms",
        1,
        "`300ms` is not a condition; compare it with latency, as in `latency <= 300ms`",
    );
    check(
        "status",
        1,
        "`status` is a number, not a condition; compare it, as in `status < 500`",
    );
    check(
        "a || !latency",
        7,
        "`latency` is a number, not a condition; compare it, as in `latency <= 300ms`",
    );
    check(
        "1 == 1",
        1,
        "`1 == 1` compares two constants; one side must be a field",
    );
}

#[test]
fn duration_errors() {
    let msg = |d: &str| format!("a duration like `{d}` compares only with `latency`");
    check("status < 300ms", 10, &msg("300ms"));
    check("http.route == 5s", 15, &msg("5s"));
    check("1.5s > x", 1, &msg("1.5s"));
    check(r#"route in ["a", 5s]"#, 16, &msg("5s"));
    check(
        r#"latency == "fast""#,
        12,
        "`latency` is a number; compare it with a number or a duration like `300ms`",
    );
    check(
        r#"latency in [1, "x"]"#,
        16,
        "`latency` is a number; compare it with a number or a duration like `300ms`",
    );
    check(
        r#"status == "5e2""#,
        11,
        "`status` is a number; write `5e2` without quotes",
    );
    check(
        r#"status in [500, "x"]"#,
        17,
        "`status` is a number; compare it with a number",
    );
    check(
        "status == true",
        11,
        "`status` is a number; compare it with a number",
    );
    check(
        r#"latency =~ "x""#,
        1,
        "`latency` is a number; `=~` matches strings",
    );
}

#[test]
fn operator_operand_errors() {
    check(
        "ok < true",
        4,
        "`<` cannot order booleans; use `==` or `!=`",
    );
    check("x >= null", 3, "`>=` cannot order `null`; use `==` or `!=`");
    check("x in 5", 6, "expected a list like `[429, 503]` after `in`");
    check(
        "x not in y",
        10,
        "expected a list like `[429, 503]` after `not in`",
    );
    check(
        "x in []",
        6,
        "the list is empty; give at least one value, as in `[429, 503]`",
    );
    check(
        "x in [1, y]",
        10,
        "a list holds literal values, not fields like `y`",
    );
    check("x in [[1]]", 7, "lists cannot be nested");
    check("x == [1]", 6, "a list can only follow `in` or `not in`");
    check(
        "5 in [5]",
        1,
        "the left side of `in` must be a field, not `5`",
    );
    check(
        "x =~ 5",
        6,
        "expected a string holding a regular expression after `=~`, as in `\"^/api/\"`",
    );
    check(
        "exists()",
        8,
        "expected a field path inside `exists(...)`, as in `exists(labels.tier)`",
    );
}

#[test]
fn bad_regex_points_at_the_literal() {
    let e = err(r#"path =~ "(abc""#);
    assert_eq!(e.column(), 9);
    assert!(
        e.message().starts_with("invalid regular expression: "),
        "{}",
        e.message()
    );
    assert!(e.message().contains("unclosed group"), "{}", e.message());
    assert!(!e.message().contains('\n'), "{}", e.message());
}

#[test]
fn columns_count_characters_not_bytes() {
    // x(1) space(2) ==(3,4) space(5) "é"(6-8) space(9) &&(10,11) space(12) y(13) space(14) =(15)
    check(
        r#"x == "é" && y = 1"#,
        15,
        "unknown operator `=`; did you mean `==`?",
    );
}

#[test]
fn render_puts_the_caret_under_the_column() {
    let src = "status <=";
    assert_eq!(
        err(src).render(src),
        "expected a value after `<=`\n  status <=\n            ^"
    );
    let src = "status = 500";
    assert_eq!(
        err(src).render(src),
        "unknown operator `=`; did you mean `==`?\n  status = 500\n         ^"
    );
    let src = "(a || b";
    assert_eq!(
        err(src).render(src),
        "expected `)` to close `(` opened at column 1\n  (a || b\n          ^"
    );
}

#[test]
fn render_keeps_tabs_and_picks_the_line() {
    let src = "a\t= b";
    assert_eq!(
        err(src).render(src),
        "unknown operator `=`; did you mean `==`?\n  a\t= b\n   \t^"
    );
    // a(1) space(2) &&(3,4) newline(5) b(6) space(7) =(8)
    let src = "a &&\nb = 1";
    let e = err(src);
    assert_eq!(e.column(), 8);
    assert_eq!(
        e.render(src),
        "unknown operator `=`; did you mean `==`?\n  b = 1\n    ^"
    );
}

#[test]
fn error_trait_and_display() {
    let e = err("status <=");
    assert_eq!(e.to_string(), "expected a value after `<=` (column 11)");
    let dynamic: &dyn std::error::Error = &e;
    assert!(dynamic.source().is_none());
}

#[test]
fn nesting_is_bounded_with_an_error_not_a_crash() {
    use crate::rules::parser::MAX_NESTING;
    let nested = |n: usize| format!("{}status < 500{}", "(".repeat(n), ")".repeat(n));
    let negated = |n: usize| format!("{}status < 500", "!".repeat(n));
    let mixed = |n: usize| format!("{}status < 500{}", "!(".repeat(n), ")".repeat(n));
    let mut fields = FieldTable::default();
    for ok in [
        nested(MAX_NESTING),
        negated(MAX_NESTING),
        mixed(MAX_NESTING / 2),
    ] {
        compile(&ok, &mut fields, MS).unwrap();
    }
    let message = format!(
        "the rule nests `(` and `!` more than {MAX_NESTING} deep; \
         write it flatter (`a && b && c` needs no parentheses)"
    );
    // The error points at the first `(` or `!` past the limit: its column
    // is one more than the characters before it.
    check(&nested(MAX_NESTING + 1), MAX_NESTING + 1, &message);
    check(&negated(MAX_NESTING + 1), MAX_NESTING + 1, &message);
    check(&mixed(MAX_NESTING / 2 + 1), MAX_NESTING + 1, &message);
    // Far deeper than any stack allows for recursion.
    check(&nested(20_000), MAX_NESTING + 1, &message);
    check(&negated(20_000), MAX_NESTING + 1, &message);
}

#[test]
fn render_shows_a_long_line_around_the_column() {
    let src = format!("{}status = 500{}", "(".repeat(80), ")".repeat(80));
    let e = err(&src);
    assert_eq!(e.column(), 88);
    let shown: String = src.chars().skip(87 - 60).take(120).collect();
    assert_eq!(
        e.render(&src),
        format!(
            "unknown operator `=`; did you mean `==`?\n  …{shown}…\n  {}^",
            " ".repeat(61)
        )
    );
}
