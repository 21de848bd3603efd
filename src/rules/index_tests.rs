//! Tests of the filter index: which conjuncts it files SLIs by, and that
//! the SLIs it names for an event include every SLI whose filter holds,
//! by evaluating each filter (the oracle) over random rules and values.

use std::borrow::Cow;

use super::FilterIndex;
use crate::event::{FieldTable, Value};
use crate::rules::{compile, Rule};
use crate::testing::{below, pick, random_filter, xorshift, RULE_FIELDS};

/// Compiles `filters` (`""`: no filter) into one field table.
fn rules(filters: &[&str]) -> (FieldTable, Vec<Option<Rule>>) {
    let mut fields = FieldTable::default();
    for path in RULE_FIELDS {
        fields.slot(path);
    }
    let rules = filters
        .iter()
        .map(|src| {
            (!src.is_empty()).then(|| {
                compile(src, &mut fields, 1e6).unwrap_or_else(|e| panic!("{}", e.render(src)))
            })
        })
        .collect();
    (fields, rules)
}

fn index(rules: &[Option<Rule>]) -> FilterIndex {
    FilterIndex::new(rules.iter().map(Option::as_ref))
}

/// The field each filter is filed by (`None`: always a candidate).
fn filed_by(filters: &[&str]) -> Vec<Option<String>> {
    let (fields, rules) = rules(filters);
    let index = index(&rules);
    (0..filters.len())
        .map(|i| index.filed_by(i).map(|slot| fields.path(slot).to_string()))
        .collect()
}

fn one(filter: &str) -> Option<String> {
    filed_by(&[filter]).pop().flatten()
}

#[test]
fn required_equalities_lists_and_prefixes_are_indexed() {
    for filter in [
        r#"route == "/a""#,
        r#"route == "/a" && status < 500"#,
        r#"status < 500 && (svc == "a" || svc == "b") && route in ["/a", "/b"]"#,
        r#"route =~ "^/api/""#,
        r#"route =~ "^(GET|HEAD)$" && latency < 1s"#,
        r#"route == 200"#,
        r#"route == null"#,
        r#"route != true"#,
        r#"route"#,
        r#"!(svc == "a") && route in [1, "x", false, null]"#,
    ] {
        assert_eq!(one(filter).as_deref(), Some("route"), "{filter}");
    }
}

#[test]
fn conditions_that_a_lookup_cannot_decide_are_not_indexed() {
    for filter in [
        // `||` at the top: either side may hold alone.
        r#"route == "/a" || route == "/b""#,
        r#"route == "/a" || status < 500"#,
        r#"route != "/a""#,
        r#"route not in ["/a", "/b"]"#,
        r#"route !~ "^/a""#,
        r#"route =~ "a.*b""#,
        r#"route =~ "api""#,
        r#"route =~ "^/api/c+""#,
        r#"route =~ "(?i)^/api/cart""#,
        r#"route != null"#,
        r#"exists(route)"#,
        r#"!(route == "/a")"#,
        r#"route < "/b""#,
        r#"route == svc"#,
        r#"status < 500 && latency <= 300ms"#,
        "true",
        "",
    ] {
        assert_eq!(one(filter), None, "{filter}");
    }
}

#[test]
fn each_sli_is_filed_by_its_most_telling_conjunct() {
    // `route` names three values across the SLIs, `svc` one.
    assert_eq!(
        filed_by(&[
            r#"svc == "s" && route == "/a""#,
            r#"route == "/b" && svc == "s""#,
            r#"route == "/c""#,
            r#"svc == "s""#,
        ]),
        [Some("route"), Some("route"), Some("route"), Some("svc")].map(|f| f.map(String::from))
    );
    // An exact test before a prefix, even on a field of fewer values.
    assert_eq!(
        filed_by(&[
            r#"route =~ "^/a/" && method == "GET""#,
            r#"route =~ "^/b/""#,
        ]),
        [Some("method"), Some("route")].map(|f| f.map(String::from))
    );
}

fn event(fields: &FieldTable, pairs: &[(&str, Value<'static>)]) -> Vec<Option<Value<'static>>> {
    let mut fields = fields.clone();
    let mut values = vec![None; fields.len()];
    for (path, value) in pairs {
        values[fields.slot(path)] = Some(value.clone());
    }
    values
}

fn st(s: &'static str) -> Value<'static> {
    Value::Str(Cow::Borrowed(s))
}

#[test]
fn lookups_keep_the_types_a_comparison_keeps() {
    let filters = [
        r#"code == "200""#,
        "code == 200",
        "code in [0, true]",
        r#"code =~ "^2""#,
        r#"code =~ "^(2|20)""#,
        "code == null",
        r#"svc == "x""#,
    ];
    let (fields, rules) = rules(&filters);
    let index = index(&rules);
    assert_eq!(index.indexed(), filters.len());
    let mut scratch = Vec::new();
    let mut at = |pairs: &[(&str, Value<'static>)]| {
        index
            .candidates(&event(&fields, pairs), &mut scratch)
            .to_vec()
    };
    assert_eq!(at(&[("code", st("200"))]), [0, 3, 4]);
    assert_eq!(at(&[("code", Value::Num(200.0))]), [1]);
    assert_eq!(at(&[("code", Value::Num(-0.0))]), [2]);
    assert_eq!(at(&[("code", Value::Num(f64::NAN))]), [0u32; 0]);
    assert_eq!(at(&[("code", Value::Bool(true))]), [2]);
    assert_eq!(at(&[("code", Value::Bool(false))]), [0u32; 0]);
    assert_eq!(at(&[("code", Value::Null)]), [5]);
    assert_eq!(at(&[("code", Value::Object)]), [0u32; 0]);
    assert_eq!(at(&[("code", st("2")), ("svc", st("x"))]), [3, 4, 6]);
    assert_eq!(at(&[]), [0u32; 0]);
}

/// A value a random event holds in a field, or none.
fn random_value(x: &mut u64) -> Option<Value<'static>> {
    Some(match below(x, 9) {
        0 => return None,
        1..=3 => st(pick(
            x,
            &[
                "a", "b", "c", "/r/1", "/r/2", "/r/12", "/api/x", "200", "", "/",
            ],
        )),
        4 | 5 => Value::Num([200.0, 0.0, -0.0, 404.0, 1.5, 7.0][below(x, 6) as usize]),
        6 => Value::Bool(below(x, 2) == 0),
        7 => Value::Null,
        _ => Value::Array,
    })
}

#[test]
fn the_candidates_include_every_sli_whose_filter_holds() {
    let mut x = 0x1DE5_u64;
    let mut pruned = 0usize;
    let mut decided = 0usize;
    for _ in 0..300 {
        let n = 1 + below(&mut x, 40) as usize;
        let sources: Vec<String> = (0..n).map(|_| random_filter(&mut x)).collect();
        let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
        let (fields, rules) = rules(&sources);
        let index = index(&rules);
        let mut scratch = Vec::new();
        for _ in 0..50 {
            let mut values = event(&fields, &[]);
            for path in RULE_FIELDS {
                let mut f = fields.clone();
                values[f.slot(path)] = random_value(&mut x);
            }
            values[crate::event::STATUS_SLOT] =
                [None, Some(Value::Num(200.0)), Some(Value::Num(503.0))][below(&mut x, 3) as usize]
                    .clone();
            let candidates = index.candidates(&values, &mut scratch).to_vec();
            assert!(
                candidates.windows(2).all(|w| w[0] < w[1]),
                "{candidates:?} not ascending"
            );
            assert!(candidates.iter().all(|&i| (i as usize) < n));
            for (i, rule) in rules.iter().enumerate() {
                let holds = rule.as_ref().is_none_or(|r| r.eval(&values) == Some(true));
                let named = candidates.contains(&(i as u32));
                assert!(
                    !holds || named,
                    "`{}` holds over {values:?} but SLI {i} is no candidate",
                    sources[i]
                );
                if index.decides(i) {
                    assert_eq!(
                        named, holds,
                        "`{}` over {values:?}: the lookup decides it",
                        sources[i]
                    );
                    decided += 1;
                }
                pruned += usize::from(!named);
            }
        }
        // Keeps the generator's state moving between rule sets.
        xorshift(&mut x);
    }
    // The index does prune: a test that named every SLI would pass above.
    assert!(pruned > 10_000, "{pruned} SLIs pruned");
    assert!(decided > 10_000, "{decided} SLIs decided by their lookup");
}

#[test]
fn a_lookup_decides_a_filter_that_is_one_comparison() {
    let (_, rules) = rules(&[
        r#"route == "/a""#,
        r#"route in ["/a", "/b"]"#,
        r#"route =~ "^/api/""#,
        r#"route == "/a" && status < 500"#,
        r#"route =~ "/api/""#,
        "",
    ]);
    let index = index(&rules);
    let decides: Vec<bool> = (0..rules.len()).map(|i| index.decides(i)).collect();
    assert_eq!(decides, [true, true, true, false, false, false]);
}
