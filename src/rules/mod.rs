//! The `filter` and `good` expression language: a rule such as
//! `status < 500 && latency <= 300ms` is compiled once at start-up into a
//! small tree that classifies events without allocating.
//!
//! Compilation runs in three steps, one per file: `lexer.rs` turns the source
//! into tokens that remember their column, `parser.rs` applies the precedence
//! (`||`, then `&&`, then `!`, then the comparisons, which do not chain) and
//! `compare.rs` type-checks each comparison into a node of `eval.rs`'s tree,
//! resolving field paths to slots of the [`FieldTable`], converting duration
//! literals to the latency unit and compiling regular expressions.
//!
//! Evaluation is three-valued: a rule yields `Some(true)`, `Some(false)`, or
//! `None` when a value it needs is missing or of the wrong type. `&&`, `||`
//! and `!` follow Kleene's logic, so `false && <unknown>` is still false.
//!
//! `index.rs` files many SLIs' filters under the values their conjuncts
//! require, so that an event is evaluated only against the filters that
//! may hold for it.
//!
//! ```
//! use slipstream::event::{FieldTable, Value, STATUS_SLOT};
//! use slipstream::rules::compile;
//!
//! let mut fields = FieldTable::default();
//! let rule = compile("status < 500 && latency <= 300ms", &mut fields, 1e6).unwrap();
//! let mut values = vec![None; fields.len()];
//! values[STATUS_SLOT] = Some(Value::Num(200.0));
//! // latency is missing: the rule cannot say.
//! assert_eq!(rule.eval(&values), None);
//! values[STATUS_SLOT] = Some(Value::Num(503.0));
//! // ... unless one side is already false.
//! assert_eq!(rule.eval(&values), Some(false));
//! ```

mod compare;
mod eval;
mod index;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

use std::fmt;

use crate::event::{FieldTable, Value};

pub use eval::Undecided;
pub use index::FilterIndex;

/// A compiled rule: immutable, cheap to clone, safe to share between threads.
#[derive(Debug, Clone)]
pub struct Rule {
    source: Box<str>,
    root: eval::Node,
}

impl Rule {
    /// A copy for another thread: equal, but sharing no regex cache with
    /// this one (see `Node::unshared`).
    pub fn unshared(&self) -> Rule {
        Rule {
            source: self.source.clone(),
            root: self.root.unshared(),
        }
    }

    /// Evaluates the rule over one event's slot values.
    ///
    /// Three-valued: `Some(true)`, `Some(false)`, or `None` when a value the
    /// rule needs is missing or of the wrong type. A slot beyond the end of
    /// `values` counts as missing.
    #[inline]
    pub fn eval(&self, values: &[Option<Value<'_>>]) -> Option<bool> {
        self.root.eval(values)
    }

    /// The slots the rule reads (roles included), in the order they are
    /// written, each once: what `slipstream explain` and the setup warnings
    /// show beside a verdict.
    pub fn slots(&self) -> Vec<usize> {
        let mut out = Vec::new();
        self.root.slots(&mut out);
        out
    }

    /// Whether the rule asks whether `slot` is there at all (`exists(path)`,
    /// `path == null`), as rules do of fields that healthy traffic lacks.
    pub fn asks_presence(&self, slot: usize) -> bool {
        self.root.asks_presence(slot)
    }

    /// Why the rule yields `None` over `values`: the first comparison that
    /// met a missing value or a value of another type. `None` when the rule
    /// decides. Meant for the rare invalid event, not for every event.
    pub fn undecided(&self, values: &[Option<Value<'_>>]) -> Option<Undecided> {
        self.root.undecided(values)
    }

    /// The rule as the user wrote it.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Why a rule did not compile, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (column {column})")]
pub struct RuleError {
    column: usize,
    message: String,
}

impl RuleError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> Self {
        RuleError {
            column,
            message: message.into(),
        }
    }

    /// The 1-based character column in the rule source where the problem is.
    /// It may be one past the end (plus a space) when the rule ended too soon.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong, e.g. "expected a value after `<=`".
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message, the rule source and a caret under the column:
    ///
    /// ```text
    /// expected a value after `<=`
    ///   status <=
    ///             ^
    /// ```
    ///
    /// For a rule that spans several lines, only the line holding the column
    /// is shown. Tabs before the column are kept so the caret lines up.
    pub fn render(&self, source: &str) -> String {
        let target = self.column.saturating_sub(1);
        let lines: Vec<&str> = source.split('\n').collect();
        let (mut line, mut line_start) = ("", 0);
        for (i, l) in lines.iter().enumerate() {
            line = l;
            let len = l.chars().count();
            if target <= line_start + len || i + 1 == lines.len() {
                break;
            }
            line_start += len + 1;
        }
        let line: Vec<char> = line.strip_suffix('\r').unwrap_or(line).chars().collect();
        let offset = target.saturating_sub(line_start);
        // A long line is shown around the column only.
        let from = offset.saturating_sub(SHOWN_AROUND);
        let to = line.len().min(offset + SHOWN_AROUND);
        let lead = if from > 0 { "…" } else { "" };
        let trail = if to < line.len() { "…" } else { "" };
        let shown: String = line[from.min(to)..to].iter().collect();
        let mut caret: String = lead.chars().map(|_| ' ').collect();
        caret.extend(line[from.min(to)..offset.min(to)].iter().map(|&c| {
            if c == '\t' {
                '\t'
            } else {
                ' '
            }
        }));
        let pad = offset.saturating_sub(to.max(from));
        caret.extend(std::iter::repeat_n(' ', pad));
        format!("{}\n  {lead}{shown}{trail}\n  {caret}^", self.message)
    }
}

/// How many characters of a long rule line an error shows on either side of
/// its column.
const SHOWN_AROUND: usize = 60;

/// Compiles a rule, registering the field paths it names in `fields`.
///
/// `latency_unit_ns` is how the `latency` role is expressed: nanoseconds per
/// unit of the latency field (ms: 1e6, s: 1e9, us: 1e3, ns: 1). Duration
/// literals compared with `latency` are converted to that unit. On error,
/// `fields` is left as it was.
pub fn compile(
    source: &str,
    fields: &mut FieldTable,
    latency_unit_ns: f64,
) -> Result<Rule, RuleError> {
    // An error at the end of a rule that ends with a line break points just
    // after its last word, not at the start of an empty line below it.
    let body = source.trim_end();
    let end = if source[body.len()..].contains('\n') {
        body.chars().count() + 1
    } else {
        usize::MAX
    };
    let at_most_end = |mut e: RuleError| {
        e.column = e.column.min(end);
        e
    };
    let tokens = lexer::lex(source).map_err(at_most_end)?;
    let mut scratch = fields.clone();
    let root =
        parser::parse(source, &tokens, &mut scratch, latency_unit_ns).map_err(at_most_end)?;
    *fields = scratch;
    Ok(Rule {
        source: source.into(),
        root,
    })
}
