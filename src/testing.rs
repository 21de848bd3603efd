//! Helpers shared by unit tests.

/// One step of a xorshift64 generator: deterministic from its seed, and
/// enough to spread generated test cases. The seed must not be 0.
pub fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// A number below `n` (which must not be 0) from the generator at `x`.
pub fn below(x: &mut u64, n: u64) -> u64 {
    xorshift(x) % n
}

/// One of `items`, chosen by the generator at `x`.
pub fn pick<'a>(x: &mut u64, items: &[&'a str]) -> &'a str {
    items[below(x, items.len() as u64) as usize]
}

/// The fields random filters test, beside the roles `status` and `latency`.
pub const RULE_FIELDS: [&str; 4] = ["svc", "route", "code", "flag"];

/// A random comparison over [`RULE_FIELDS`] and the roles: equalities,
/// `in` lists of mixed types, regular expressions that are prefixes, whole
/// words or neither, negations of each, orderings, `exists`, booleans and
/// `null`, with literals that events hold as strings and as numbers.
pub fn random_comparison(x: &mut u64) -> String {
    let field = pick(x, &RULE_FIELDS);
    let string = pick(x, &["a", "b", "/r/1", "/r/2", "200", "", "/api/x"]);
    let number = pick(x, &["200", "0", "-0", "2e2", "1.5", "404"]);
    match below(x, 16) {
        0 | 1 => format!("{field} == \"{string}\""),
        2 => format!("{field} != \"{string}\""),
        3 | 4 => format!("{field} == {number}"),
        5 => format!("{field} {} {number}", pick(x, &["!=", "<", ">=", "<="])),
        6 | 7 => {
            let items: Vec<String> = (0..=below(x, 3))
                .map(|_| match below(x, 5) {
                    0 | 1 => format!("\"{}\"", pick(x, &["a", "b", "/r/1", "200", ""])),
                    2 | 3 => pick(x, &["200", "0", "404", "-0"]).to_string(),
                    _ => pick(x, &["true", "false", "null"]).to_string(),
                })
                .collect();
            let not = if below(x, 4) == 0 { "not " } else { "" };
            format!("{field} {not}in [{}]", items.join(", "))
        }
        8 | 9 => {
            let re = pick(
                x,
                &[
                    "^/r/",
                    "^/r/(1|2)",
                    "^(a|b)$",
                    "^a$",
                    "^",
                    "^/",
                    "r/[0-9]",
                    "api",
                    "^/api/x",
                ],
            );
            let op = if below(x, 4) == 0 { "!~" } else { "=~" };
            format!("{field} {op} \"{re}\"")
        }
        10 => format!(
            "{field} {} {}",
            pick(x, &["==", "!="]),
            pick(x, &["true", "false", "null"])
        ),
        11 => pick(x, &["exists(svc)", "exists(route)", "flag", "!flag"]).to_string(),
        12 => format!(
            "status {} {}",
            pick(x, &["==", "<", "!="]),
            pick(x, &["200", "500", "404"])
        ),
        13 => "status in [200, 404]".to_string(),
        14 => format!("latency {} 100ms", pick(x, &["<", ">=", "=="])),
        _ => pick(x, &["true", "false", "code == svc", "route < \"/r/2\""]).to_string(),
    }
}

/// A random condition: comparisons joined by `&&`, `||` and `!`, nested
/// up to `depth` levels.
pub fn random_condition(x: &mut u64, depth: u32) -> String {
    if depth == 0 || below(x, 3) == 0 {
        return random_comparison(x);
    }
    match below(x, 4) {
        0 | 1 => format!(
            "({} && {})",
            random_condition(x, depth - 1),
            random_condition(x, depth - 1)
        ),
        2 => format!(
            "({} || {})",
            random_condition(x, depth - 1),
            random_condition(x, depth - 1)
        ),
        _ => format!("!({})", random_condition(x, depth - 1)),
    }
}

/// A random filter: most often a conjunction of conditions (what the
/// filter index files SLIs by), sometimes one disjunction at the top.
pub fn random_filter(x: &mut u64) -> String {
    let parts: Vec<String> = (0..=below(x, 2)).map(|_| random_condition(x, 2)).collect();
    let join = if below(x, 5) == 0 { " || " } else { " && " };
    parts.join(join)
}
