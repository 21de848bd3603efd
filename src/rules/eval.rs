//! The compiled form of a rule and its evaluation.
//!
//! A rule is a tree of [`Node`]s whose leaves each read one slot (two for a
//! field-to-field comparison) and compare it with a literal prepared at
//! compile time: numbers already in the latency unit, strings owned, regular
//! expressions compiled. Evaluation borrows everything and allocates nothing.

use memchr::memmem::Finder;
use regex::Regex;

use crate::event::Value;

/// The right side of `=~`: a regular expression, or the plain text test it
/// amounts to when it is only literals (`^/api/` is a prefix test,
/// `^/api/(checkout|cart)` two, `^(GET|HEAD)$` an equality with either).
#[derive(Debug, Clone)]
// A node holds its pattern boxed: the size of the regex variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Pattern {
    Regex(Regex),
    /// `^(a|b)`: starts with one of them.
    Prefix(Box<[Box<str>]>),
    /// `^(a|b)$`: is one of them.
    Whole(Box<[Box<str>]>),
    /// `text`, anywhere.
    Contains(Finder<'static>),
}

/// At most this many literals make a literal test; past it, the regex is
/// as fast.
const MAX_LITERALS: usize = 8;

impl Pattern {
    /// The pattern for a regular expression that compiled as `re`.
    pub(super) fn new(re: Regex) -> Pattern {
        let src = re.as_str();
        if let Some((literals, whole)) = anchored_literals(src) {
            return if whole {
                Pattern::Whole(literals)
            } else {
                Pattern::Prefix(literals)
            };
        }
        if regex::escape(src) == src {
            return Pattern::Contains(Finder::new(src).into_owned());
        }
        Pattern::Regex(re)
    }

    #[inline]
    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Regex(re) => re.is_match(s),
            // Inlined word compares: a call to memcmp costs more than
            // comparing the few bytes of a path prefix.
            Pattern::Prefix(ps) => ps.iter().any(|p| {
                s.as_bytes()
                    .get(..p.len())
                    .is_some_and(|head| same_bytes(head, p.as_bytes()))
            }),
            Pattern::Whole(ws) => ws.iter().any(|w| same_bytes(s.as_bytes(), w.as_bytes())),
            Pattern::Contains(f) => f.find(s.as_bytes()).is_some(),
        }
    }

    /// A copy sharing no regex cache with this one.
    fn unshared(&self) -> Pattern {
        match self {
            // Recompiling a pattern that already compiled cannot fail.
            Pattern::Regex(re) => {
                Pattern::Regex(Regex::new(re.as_str()).unwrap_or_else(|_| re.clone()))
            }
            other => other.clone(),
        }
    }
}

/// The strings a regex anchored at the start of the text stands for, and
/// whether it is anchored at the end too: `^/api/(checkout|cart)` is text
/// starting with `/api/checkout` or `/api/cart`. `None` when the regex is
/// not anchored so, or matches more than a few literals exactly (a class, a
/// repetition, a multi-line `^`).
fn anchored_literals(src: &str) -> Option<(Box<[Box<str>]>, bool)> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    use regex_syntax::hir::{Hir, HirKind, Look};

    let hir = regex_syntax::Parser::new().parse(src).ok()?;
    let HirKind::Concat(parts) = hir.kind() else {
        return None;
    };
    let is = |h: &Hir, look: Look| matches!(h.kind(), HirKind::Look(l) if *l == look);
    let (first, rest) = parts.split_first()?;
    if !is(first, Look::Start) {
        return None;
    }
    let (middle, whole) = match rest.split_last() {
        Some((last, middle)) if is(last, Look::End) => (middle, true),
        _ => (rest, false),
    };
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix);
    let seq = extractor.extract(&Hir::concat(middle.to_vec()));
    if !seq.is_exact() {
        return None;
    }
    let literals = seq.literals()?;
    if literals.len() > MAX_LITERALS {
        return None;
    }
    let strs = literals
        .iter()
        .map(|l| std::str::from_utf8(l.as_bytes()).ok().map(Box::from))
        .collect::<Option<Box<[Box<str>]>>>()?;
    Some((strs, whole))
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// `a op b`.
    #[inline(always)]
    pub(super) fn test<T: PartialOrd + ?Sized>(self, a: &T, b: &T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }

    /// The operator that gives the same answer with its operands swapped.
    pub(super) fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            op => op,
        }
    }

    /// `==` or `!=`: the only operators that apply to booleans and null.
    pub(super) fn is_equality(self) -> bool {
        matches!(self, CmpOp::Eq | CmpOp::Ne)
    }
}

/// The literals of an `in` list, grouped by type.
#[derive(Debug, Clone, Default)]
pub(super) struct ListSet {
    pub(super) nums: Box<[f64]>,
    pub(super) strs: Box<[Box<str>]>,
    pub(super) bools: Box<[bool]>,
    pub(super) null: bool,
}

impl ListSet {
    /// Whether `value` equals an element; `None` when no element has its
    /// type and the list holds no `null`.
    #[inline]
    fn contains(&self, value: &Value<'_>) -> Option<bool> {
        let typed = match value {
            Value::Num(n) if !self.nums.is_empty() => Some(self.nums.iter().any(|x| x == n)),
            Value::Str(s) if !self.strs.is_empty() => Some(
                self.strs
                    .iter()
                    .any(|x| same_bytes(x.as_bytes(), s.as_bytes())),
            ),
            Value::Bool(b) if !self.bools.is_empty() => Some(self.bools.contains(b)),
            Value::Null if self.null => Some(true),
            _ => None,
        };
        // A list holding `null` decides for every present value, as
        // `== null` does.
        if self.null {
            Some(typed.unwrap_or(false))
        } else {
            typed
        }
    }
}

/// One node of a compiled rule.
#[derive(Debug, Clone)]
pub(super) enum Node {
    /// `true` or `false` written as the condition.
    Const(bool),
    /// A field used as a condition: its value when it is a bool.
    Truthy(usize),
    /// `exists(path)`.
    Exists(usize),
    Not(Box<Node>),
    /// `&&` over two or more conditions.
    All(Box<[Node]>),
    /// `||` over two or more conditions.
    Any(Box<[Node]>),
    /// A field against a number (durations already in the latency unit).
    Num {
        slot: usize,
        op: CmpOp,
        rhs: f64,
    },
    Str {
        slot: usize,
        op: CmpOp,
        rhs: Box<str>,
    },
    /// `== true` and friends; `ne` for `!=`.
    Bool {
        slot: usize,
        ne: bool,
        rhs: bool,
    },
    /// `== null` or `!= null`: decided for every present value, unknown
    /// only when the field is missing.
    Null {
        slot: usize,
        ne: bool,
    },
    /// A field against another field.
    Slots {
        lhs: usize,
        op: CmpOp,
        rhs: usize,
    },
    /// `=~`, or `!~` when `negate`.
    Regex {
        slot: usize,
        re: Box<Pattern>,
        negate: bool,
    },
    /// `in`, or `not in` when `negate`.
    In {
        slot: usize,
        set: Box<ListSet>,
        negate: bool,
    },
}

/// The value in `slot`, if the event has one.
#[inline]
fn get<'v, 'a>(values: &'v [Option<Value<'a>>], slot: usize) -> Option<&'v Value<'a>> {
    values.get(slot)?.as_ref()
}

impl Node {
    /// A copy whose regular expressions share nothing with this one's.
    /// `Regex::clone` shares a cache pool that threads contend for; a
    /// thread that evaluates millions of events wants its own.
    pub(super) fn unshared(&self) -> Node {
        match self {
            Node::Not(n) => Node::Not(Box::new(n.unshared())),
            Node::All(items) => Node::All(items.iter().map(Node::unshared).collect()),
            Node::Any(items) => Node::Any(items.iter().map(Node::unshared).collect()),
            Node::Regex { slot, re, negate } => Node::Regex {
                slot: *slot,
                re: Box::new(re.unshared()),
                negate: *negate,
            },
            other => other.clone(),
        }
    }

    /// Whether an `exists()` or `== null` test reads `slot`.
    pub(super) fn asks_presence(&self, slot: usize) -> bool {
        match self {
            Node::Exists(s) | Node::Null { slot: s, .. } => *s == slot,
            Node::Not(inner) => inner.asks_presence(slot),
            Node::All(items) | Node::Any(items) => items.iter().any(|n| n.asks_presence(slot)),
            _ => false,
        }
    }

    /// `&&` over `items`, flattening nested `&&`s; one item stays itself.
    pub(super) fn all(items: Vec<Node>) -> Node {
        Node::join(items, true)
    }

    /// `||` over `items`, flattening nested `||`s; one item stays itself.
    pub(super) fn any(items: Vec<Node>) -> Node {
        Node::join(items, false)
    }

    fn join(mut items: Vec<Node>, all: bool) -> Node {
        if items.len() == 1 {
            if let Some(only) = items.pop() {
                return only;
            }
        }
        let mut flat = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Node::All(inner) if all => flat.extend(inner.into_vec()),
                Node::Any(inner) if !all => flat.extend(inner.into_vec()),
                other => flat.push(other),
            }
        }
        if all {
            Node::All(flat.into_boxed_slice())
        } else {
            Node::Any(flat.into_boxed_slice())
        }
    }

    /// Three-valued evaluation; see [`super::Rule::eval`]. Leaves are
    /// evaluated in place; only nested `&&`, `||` and `!` recurse.
    #[inline(always)]
    pub(super) fn eval(&self, values: &[Option<Value<'_>>]) -> Option<bool> {
        match self {
            Node::Const(b) => Some(*b),
            Node::Truthy(slot) => match get(values, *slot)? {
                Value::Bool(b) => Some(*b),
                _ => None,
            },
            Node::Exists(slot) => Some(get(values, *slot).is_some()),
            Node::Not(_) | Node::All(_) | Node::Any(_) => self.eval_logic(values),
            Node::Num { slot, op, rhs } => match get(values, *slot)? {
                Value::Num(n) => Some(op.test(n, rhs)),
                _ => None,
            },
            Node::Str { slot, op, rhs } => match get(values, *slot)? {
                Value::Str(s) => Some(match op {
                    CmpOp::Eq => same_bytes(s.as_bytes(), rhs.as_bytes()),
                    CmpOp::Ne => !same_bytes(s.as_bytes(), rhs.as_bytes()),
                    _ => op.test::<str>(s, rhs),
                }),
                _ => None,
            },
            Node::Bool { slot, ne, rhs } => match get(values, *slot)? {
                Value::Bool(b) => Some((b == rhs) != *ne),
                _ => None,
            },
            // Any present value is null or not: `error == null` decides.
            Node::Null { slot, ne } => Some(matches!(get(values, *slot)?, Value::Null) != *ne),
            Node::Slots { lhs, op, rhs } => {
                compare_values(get(values, *lhs)?, *op, get(values, *rhs)?)
            }
            Node::Regex { slot, re, negate } => match get(values, *slot)? {
                Value::Str(s) => Some(re.is_match(s) != *negate),
                _ => None,
            },
            Node::In { slot, set, negate } => {
                set.contains(get(values, *slot)?).map(|b| b != *negate)
            }
        }
    }

    /// `!`, `&&` and `||`.
    #[inline(never)]
    fn eval_logic(&self, values: &[Option<Value<'_>>]) -> Option<bool> {
        match self {
            Node::Not(inner) => inner.eval(values).map(|b| !b),
            Node::All(items) => decided_by(items, false, values),
            Node::Any(items) => decided_by(items, true, values),
            leaf => leaf.eval(values),
        }
    }
}

/// Why a rule could not decide an event: the slot of the first comparison
/// that met a missing value or one of another type, and what it needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undecided {
    pub slot: usize,
    /// The type the comparison needed: "number", "string", "bool", or
    /// "a value" when the field was missing and any type would do.
    pub needs: &'static str,
}

impl Node {
    /// Every slot the rule reads, in the order it names them.
    pub(super) fn slots(&self, out: &mut Vec<usize>) {
        let mut push = |s: usize| {
            if !out.contains(&s) {
                out.push(s);
            }
        };
        match self {
            Node::Const(_) => {}
            Node::Not(n) => n.slots(out),
            Node::All(items) | Node::Any(items) => items.iter().for_each(|n| n.slots(out)),
            Node::Slots { lhs, rhs, .. } => {
                push(*lhs);
                push(*rhs);
            }
            Node::Truthy(slot)
            | Node::Exists(slot)
            | Node::Num { slot, .. }
            | Node::Str { slot, .. }
            | Node::Bool { slot, .. }
            | Node::Null { slot, .. }
            | Node::Regex { slot, .. }
            | Node::In { slot, .. } => push(*slot),
        }
    }

    /// The first leaf that evaluates to unknown over `values`, for a rule
    /// that did: only called for an event found invalid, so never on the
    /// hot path.
    pub(super) fn undecided(&self, values: &[Option<Value<'_>>]) -> Option<Undecided> {
        if self.eval(values).is_some() {
            return None;
        }
        let at = |slot: usize, needs: &'static str| {
            let needs = if get(values, slot).is_none() {
                "a value"
            } else {
                needs
            };
            Some(Undecided { slot, needs })
        };
        match self {
            Node::Const(_) | Node::Exists(_) => None,
            Node::Not(n) => n.undecided(values),
            Node::All(items) | Node::Any(items) => items.iter().find_map(|n| n.undecided(values)),
            Node::Truthy(slot) | Node::Bool { slot, .. } => at(*slot, "bool"),
            Node::Num { slot, .. } => at(*slot, "number"),
            Node::Str { slot, .. } | Node::Regex { slot, .. } => at(*slot, "string"),
            Node::Null { slot, .. } => at(*slot, "a value"),
            Node::In { slot, set, .. } => {
                let needs = if set.nums.is_empty() {
                    "string"
                } else {
                    "number"
                };
                at(*slot, needs)
            }
            Node::Slots { lhs, rhs, .. } => match (get(values, *lhs), get(values, *rhs)) {
                (None, _) => at(*lhs, "a value"),
                (_, None) => at(*rhs, "a value"),
                (Some(_), Some(b)) => at(*lhs, b.type_name()),
            },
        }
    }
}

/// `&&` (`decisive` false) or `||` (`decisive` true) over `items`: the first
/// item that is `decisive` decides; otherwise an unknown item makes the
/// whole unknown.
#[inline(always)]
fn decided_by(items: &[Node], decisive: bool, values: &[Option<Value<'_>>]) -> Option<bool> {
    let mut unknown = false;
    for item in items {
        match item.eval(values) {
            Some(b) if b == decisive => return Some(decisive),
            None => unknown = true,
            Some(_) => {}
        }
    }
    (!unknown).then_some(!decisive)
}

/// `a == b` without a call to `memcmp` for the short strings that rules
/// compare (service names, methods, regions): up to sixteen bytes in two
/// overlapping word compares.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        (Some(a0), Some(b0)) if a.len() <= 16 => {
            a0 == b0 && a.last_chunk::<8>() == b.last_chunk::<8>()
        }
        (None, None) => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

/// Two event values of the same type compared; `None` for a type mismatch or
/// an ordering of booleans or nulls.
#[inline]
fn compare_values(a: &Value<'_>, op: CmpOp, b: &Value<'_>) -> Option<bool> {
    match (a, b) {
        (Value::Num(x), Value::Num(y)) => Some(op.test(x, y)),
        (Value::Str(x), Value::Str(y)) => Some(op.test::<str>(x, y)),
        (Value::Bool(x), Value::Bool(y)) if op.is_equality() => Some(op.test(x, y)),
        (Value::Null, Value::Null) if op.is_equality() => Some(op == CmpOp::Eq),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{same_bytes, Pattern};
    use regex::Regex;

    /// Every pattern, literal test or not, answers as the regex does.
    #[test]
    fn a_literal_pattern_matches_exactly_what_its_regex_matches() {
        let texts = [
            "",
            "/",
            "/api",
            "/api/",
            "/api/checkout",
            "/api/checkout/pay",
            "/api/checkout/payment/card",
            "/api/checkout/paymenT/card",
            "/api/cart",
            "/api/carts",
            "x/api/cart",
            "GET",
            "HEAD",
            "get",
            "GETS",
            "a$",
            "a.b",
            "axb",
            "line\n/api/cart",
            "\n/api/cart",
            "é/api",
            "/API/CART",
        ];
        let regexes = [
            "^/api/",
            "^/api/(checkout|cart)",
            "^/api/(checkout|cart)$",
            "^/api/checkout/payment/",
            "^(GET|HEAD)$",
            "^GET$",
            "^",
            "^$",
            "^(|/api)",
            "(?i)^/api/cart",
            "^a\\$",
            "^a\\.b",
            "^a.b",
            "^/api/c+",
            "(?m)^/api/cart",
            "/api/cart",
            "cart$",
            "^[a-z]+$",
            "^(a|b|c|d|e|f|g|h|i)",
            "^é/api",
        ];
        for src in regexes {
            let re = Regex::new(src).unwrap();
            let pattern = Pattern::new(re.clone());
            for text in texts {
                assert_eq!(
                    pattern.is_match(text),
                    re.is_match(text),
                    "{src} on {text:?}: {pattern:?}"
                );
            }
        }
        // The literal tests are taken where they apply.
        for (src, literal) in [
            ("^/api/(checkout|cart)", true),
            ("^(GET|HEAD)$", true),
            ("(?i)^/api/cart", false),
            ("^/api/c+", false),
            ("(?m)^/api/cart", false),
        ] {
            let p = Pattern::new(Regex::new(src).unwrap());
            assert_eq!(!matches!(p, Pattern::Regex(_)), literal, "{src}: {p:?}");
        }
    }

    #[test]
    fn same_bytes_agrees_with_equality_at_every_length_and_position() {
        for len in 0..40 {
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "len {len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_bytes(&a, &b), "len {len}, byte {at}");
            }
            let mut longer = a.clone();
            longer.push(b'z');
            assert!(!same_bytes(&a, &longer), "len {len}");
            assert!(!same_bytes(&longer, &a), "len {len}");
        }
    }
}
