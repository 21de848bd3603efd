//! One comparison, type-checked into an evaluable [`Node`].
//!
//! This is where the rule language's typing lives: the field goes on the
//! left (`300ms > latency` becomes `latency < 300.0`), durations are allowed
//! only against `latency` and converted to its unit, the numeric roles refuse
//! strings, booleans and null take only `==` and `!=`, lists follow only `in`,
//! and regular expressions are compiled once.

use regex::Regex;

use super::eval::{CmpOp, ListSet, Node, Pattern};
use super::RuleError;
use crate::event::{LATENCY_SLOT, ROLE_SLOTS, STATUS_SLOT};

/// A comparison operator as parsed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Op {
    Cmp(CmpOp),
    /// `=~`, or `!~` when `negate`.
    Match {
        negate: bool,
    },
    /// `in`, or `not in` when `negate`.
    In {
        negate: bool,
    },
}

/// One side of a comparison, with where it was written.
#[derive(Debug, Clone)]
pub(super) struct Operand {
    pub(super) kind: Kind,
    /// 1-based column of its first character.
    pub(super) col: usize,
    /// Its source text.
    pub(super) text: String,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// A field, by slot.
    Path(usize),
    Num(f64),
    /// A duration, in nanoseconds.
    Dur(f64),
    Str(String),
    Bool(bool),
    Null,
    List(Vec<Operand>),
}

/// Compiles `lhs op rhs`. `op_text` and `op_col` locate the operator for
/// messages; `latency_unit_ns` converts duration literals.
pub(super) fn comparison(
    lhs: Operand,
    op: Op,
    op_text: &str,
    op_col: usize,
    rhs: Operand,
    latency_unit_ns: f64,
) -> Result<Node, RuleError> {
    match op {
        Op::In { negate } => {
            let slot = field(&lhs, op_text)?;
            let Kind::List(items) = rhs.kind else {
                return Err(RuleError::new(
                    rhs.col,
                    format!("expected a list like `[429, 503]` after `{op_text}`"),
                ));
            };
            if items.is_empty() {
                return Err(RuleError::new(
                    rhs.col,
                    "the list is empty; give at least one value, as in `[429, 503]`",
                ));
            }
            let set = list_set(slot, &lhs.text, items, latency_unit_ns)?;
            Ok(Node::In {
                slot,
                set: Box::new(set),
                negate,
            })
        }
        Op::Match { negate } => {
            let slot = field(&lhs, op_text)?;
            if slot < ROLE_SLOTS {
                return Err(RuleError::new(
                    lhs.col,
                    format!("`{}` is a number; `{op_text}` matches strings", lhs.text),
                ));
            }
            let Kind::Str(pattern) = rhs.kind else {
                return Err(RuleError::new(
                    rhs.col,
                    format!(
                        "expected a string holding a regular expression after `{op_text}`, \
                         as in `\"^/api/\"`"
                    ),
                ));
            };
            let re = Regex::new(&pattern).map_err(|e| {
                RuleError::new(
                    rhs.col,
                    format!("invalid regular expression: {}", regex_message(&e)),
                )
            })?;
            Ok(Node::Regex {
                slot,
                re: Box::new(Pattern::new(re)),
                negate,
            })
        }
        Op::Cmp(op) => ordered(lhs, op, op_text, op_col, rhs, latency_unit_ns),
    }
}

/// The slot of a field on the left of `in` or `=~`.
fn field(lhs: &Operand, op_text: &str) -> Result<usize, RuleError> {
    match lhs.kind {
        Kind::Path(slot) => Ok(slot),
        _ => Err(RuleError::new(
            lhs.col,
            format!(
                "the left side of `{op_text}` must be a field, not `{}`",
                lhs.text
            ),
        )),
    }
}

/// The one line of the regex crate's message that says what is wrong.
fn regex_message(e: &regex::Error) -> String {
    let full = e.to_string();
    full.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .map_or_else(|| full.trim().to_string(), str::to_string)
}

fn duration_error(lit: &Operand) -> RuleError {
    RuleError::new(
        lit.col,
        format!(
            "a duration like `{}` compares only with `latency`",
            lit.text
        ),
    )
}

/// `status` takes a string of digits as its number, in a rule as in an
/// event: `status == "200"` is `status == 200`.
fn status_digits(slot: usize, kind: &mut Kind) {
    if let Kind::Str(s) = kind {
        if let Some(n) = crate::event::status_digits(s).filter(|_| slot == STATUS_SLOT) {
            *kind = Kind::Num(n);
        }
    }
}

/// A numeric role (`status`, `latency`, `timestamp`) met a non-number literal.
fn number_role_error(slot: usize, name: &str, lit: &Operand) -> RuleError {
    let message = match (&lit.kind, slot) {
        (Kind::Str(s), STATUS_SLOT) if s.trim().parse::<f64>().is_ok() => {
            format!("`{name}` is a number; write `{}` without quotes", s.trim())
        }
        (_, LATENCY_SLOT) => {
            format!("`{name}` is a number; compare it with a number or a duration like `300ms`")
        }
        _ => format!("`{name}` is a number; compare it with a number"),
    };
    RuleError::new(lit.col, message)
}

/// `==`, `!=`, `<`, `<=`, `>`, `>=`.
fn ordered(
    lhs: Operand,
    op: CmpOp,
    op_text: &str,
    op_col: usize,
    rhs: Operand,
    latency_unit_ns: f64,
) -> Result<Node, RuleError> {
    for side in [&lhs, &rhs] {
        if let Kind::List(_) = side.kind {
            return Err(RuleError::new(
                side.col,
                "a list can only follow `in` or `not in`",
            ));
        }
    }
    let (slot, field, op, mut lit) = match (&lhs.kind, &rhs.kind) {
        (Kind::Path(a), Kind::Path(b)) => {
            return Ok(Node::Slots {
                lhs: *a,
                op,
                rhs: *b,
            })
        }
        (Kind::Path(slot), _) => (*slot, lhs, op, rhs),
        (_, Kind::Path(slot)) => (*slot, rhs, op.flip(), lhs),
        _ => {
            return Err(RuleError::new(
                lhs.col,
                format!(
                    "`{} {op_text} {}` compares two constants; one side must be a field",
                    lhs.text, rhs.text
                ),
            ))
        }
    };
    let numeric_role = slot < ROLE_SLOTS;
    status_digits(slot, &mut lit.kind);
    let node = match lit.kind {
        Kind::Num(n) => Node::Num { slot, op, rhs: n },
        Kind::Dur(_) if slot != LATENCY_SLOT => return Err(duration_error(&lit)),
        Kind::Dur(ns) => Node::Num {
            slot,
            op,
            rhs: ns / latency_unit_ns,
        },
        Kind::Str(_) | Kind::Bool(_) if numeric_role => {
            return Err(number_role_error(slot, &field.text, &lit))
        }
        Kind::Str(s) => Node::Str {
            slot,
            op,
            rhs: s.into_boxed_str(),
        },
        Kind::Bool(_) | Kind::Null if !op.is_equality() => {
            let what = if let Kind::Null = lit.kind {
                "`null`"
            } else {
                "booleans"
            };
            return Err(RuleError::new(
                op_col,
                format!("`{op_text}` cannot order {what}; use `==` or `!=`"),
            ));
        }
        Kind::Bool(b) => Node::Bool {
            slot,
            ne: op == CmpOp::Ne,
            rhs: b,
        },
        Kind::Null => Node::Null {
            slot,
            ne: op == CmpOp::Ne,
        },
        Kind::Path(_) | Kind::List(_) => {
            return Err(RuleError::new(
                lit.col,
                format!("unexpected `{}`", lit.text),
            ))
        }
    };
    Ok(node)
}

/// The literals of an `in` list, checked against the field on the left.
fn list_set(
    slot: usize,
    name: &str,
    items: Vec<Operand>,
    latency_unit_ns: f64,
) -> Result<ListSet, RuleError> {
    let (mut nums, mut strs, mut bools, mut null) = (Vec::new(), Vec::new(), Vec::new(), false);
    for mut item in items {
        status_digits(slot, &mut item.kind);
        match item.kind {
            Kind::Num(n) => nums.push(n),
            Kind::Dur(_) if slot != LATENCY_SLOT => return Err(duration_error(&item)),
            Kind::Dur(ns) => nums.push(ns / latency_unit_ns),
            Kind::Str(_) | Kind::Bool(_) if slot < ROLE_SLOTS => {
                return Err(number_role_error(slot, name, &item))
            }
            Kind::Str(s) => strs.push(s.into_boxed_str()),
            Kind::Bool(b) => bools.push(b),
            Kind::Null => null = true,
            Kind::Path(_) => {
                return Err(RuleError::new(
                    item.col,
                    format!(
                        "a list holds literal values, not fields like `{}`",
                        item.text
                    ),
                ))
            }
            Kind::List(_) => return Err(RuleError::new(item.col, "lists cannot be nested")),
        }
    }
    Ok(ListSet {
        nums: nums.into_boxed_slice(),
        strs: strs.into_boxed_slice(),
        bools: bools.into_boxed_slice(),
        null,
    })
}
