//! Tokens to a compiled [`Node`] tree by recursive descent.
//!
//! ```text
//! or      := and ("||" and)*
//! and     := not ("&&" not)*
//! not     := "!" not | cmp
//! cmp     := primary [cmp-op value]          (no chaining)
//! primary := "(" or ")" | "exists" "(" path ")" | value
//! value   := path | number | duration | string | true | false | null | list
//! list    := "[" [value ("," value)* [","]] "]"
//! ```
//!
//! Most of the work here is in the error messages: each says what was
//! expected and points at the token where it was not found.

use super::compare::{self, Kind, Op, Operand};
use super::eval::Node;
use super::lexer::{Tok, Token};
use super::RuleError;
use crate::event::{FieldTable, LATENCY_SLOT, ROLE_SLOTS, STATUS_SLOT};

/// Parses and compiles the tokens of `source` (which end with `Eof`).
pub(super) fn parse(
    source: &str,
    tokens: &[Token],
    fields: &mut FieldTable,
    latency_unit_ns: f64,
) -> Result<Node, RuleError> {
    let mut p = Parser {
        chars: source.chars().collect(),
        toks: tokens,
        pos: 0,
        fields,
        latency_unit_ns,
        depth: 0,
    };
    if p.peek().tok == Tok::Eof {
        return Err(RuleError::new(
            1,
            "the rule is empty; write a condition such as `status < 500`",
        ));
    }
    let node = p.or()?;
    let t = p.peek();
    if t.tok != Tok::Eof {
        let message = if t.tok == Tok::RParen {
            "unmatched `)`".to_string()
        } else {
            format!(
                "unexpected `{}` after a complete rule{}",
                t.text,
                hint(&t.tok)
            )
        };
        return Err(RuleError::new(t.col, message));
    }
    Ok(node)
}

/// A suggestion for words people bring from other languages.
fn hint(tok: &Tok) -> &'static str {
    match tok {
        Tok::Ident(w) if w.eq_ignore_ascii_case("and") => "; did you mean `&&`?",
        Tok::Ident(w) if w.eq_ignore_ascii_case("or") => "; did you mean `||`?",
        _ => "",
    }
}

/// Whether `tok` can begin a value (the right side of a comparison).
fn starts_value(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Ident(_)
            | Tok::Num(_)
            | Tok::Dur(_)
            | Tok::Str(_)
            | Tok::True
            | Tok::False
            | Tok::Null
            | Tok::LBrack
    )
}

/// Whether `tok` can begin a condition.
fn starts_condition(tok: &Tok) -> bool {
    starts_value(tok) || matches!(tok, Tok::LParen | Tok::Bang)
}

/// Whether `tok` is an operator that needs a value on its left.
fn is_binary(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::And | Tok::Or | Tok::Cmp(_) | Tok::Match { .. } | Tok::In
    )
}

struct Parser<'t, 'f> {
    chars: Vec<char>,
    toks: &'t [Token],
    pos: usize,
    fields: &'f mut FieldTable,
    latency_unit_ns: f64,
    /// How many `(` and `!` enclose the cursor.
    depth: usize,
}

/// How deep `(` and `!` may nest. Rules people write nest a few levels;
/// each level costs stack here and in the evaluator, so a rule generated
/// thousands deep is an error rather than a crash.
pub(super) const MAX_NESTING: usize = 100;

/// What `primary` found: a condition, or a value that may be compared.
enum Primary {
    Cond(Node),
    Value(Operand),
}

impl<'t> Parser<'t, '_> {
    fn peek(&self) -> &'t Token {
        let toks: &'t [Token] = self.toks;
        &toks[self.pos.min(toks.len() - 1)]
    }

    fn peek2(&self) -> &'t Token {
        let toks: &'t [Token] = self.toks;
        &toks[(self.pos + 1).min(toks.len() - 1)]
    }

    fn bump(&mut self) -> &'t Token {
        let t = self.peek();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    /// The source text between two columns.
    fn text(&self, from: usize, to: usize) -> String {
        self.chars[from - 1..to - 1].iter().collect()
    }

    /// Checks that a condition starts here, after operator `after`.
    fn need_condition(&self, after: &Token) -> Result<(), RuleError> {
        let t = self.peek();
        if t.tok == Tok::Not {
            return Err(RuleError::new(
                t.col,
                "`not` only appears in `not in`; use `!` to negate a condition",
            ));
        }
        if starts_condition(&t.tok) {
            return Ok(());
        }
        Err(RuleError::new(
            t.col,
            format!("expected a value after `{}`", after.text),
        ))
    }

    fn or(&mut self) -> Result<Node, RuleError> {
        self.need_start()?;
        let mut items = vec![self.and()?];
        while self.peek().tok == Tok::Or {
            let op = self.bump();
            self.need_condition(op)?;
            items.push(self.and()?);
        }
        Ok(Node::any(items))
    }

    /// At the start of the rule or of a parenthesis: say what is wrong when
    /// no condition starts here.
    fn need_start(&self) -> Result<(), RuleError> {
        let t = self.peek();
        if starts_condition(&t.tok) {
            return Ok(());
        }
        let message = match &t.tok {
            Tok::Not => "`not` only appears in `not in`; use `!` to negate a condition".into(),
            Tok::RParen if self.pos > 0 => "expected a value after `(`".into(),
            Tok::RParen => "unmatched `)`".into(),
            Tok::Eof => "expected a value after `(`".into(),
            tok if is_binary(tok) => format!("expected a value before `{}`", t.text),
            _ => format!("unexpected `{}`", t.text),
        };
        Err(RuleError::new(t.col, message))
    }

    fn and(&mut self) -> Result<Node, RuleError> {
        let mut items = vec![self.not()?];
        while self.peek().tok == Tok::And {
            let op = self.bump();
            self.need_condition(op)?;
            items.push(self.not()?);
        }
        Ok(Node::all(items))
    }

    fn not(&mut self) -> Result<Node, RuleError> {
        if self.peek().tok == Tok::Bang {
            let op = self.bump();
            self.need_condition(op)?;
            self.enter(op)?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Node::Not(Box::new(inner)));
        }
        self.cmp()
    }

    /// One level deeper, at `(` or `!`; an error past [`MAX_NESTING`].
    fn enter(&mut self, at: &Token) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(RuleError::new(
                at.col,
                format!(
                    "the rule nests `(` and `!` more than {MAX_NESTING} deep; \
                     write it flatter (`a && b && c` needs no parentheses)"
                ),
            ));
        }
        Ok(())
    }

    /// The comparison operator at the cursor, if any, consumed.
    fn comparison_op(&mut self) -> Result<Option<(Op, String)>, RuleError> {
        let t = self.peek();
        let op = match t.tok {
            Tok::Cmp(op) => Op::Cmp(op),
            Tok::Match { negate } => Op::Match { negate },
            Tok::In => Op::In { negate: false },
            Tok::Not => {
                let next = self.peek2();
                if next.tok != Tok::In {
                    return Err(RuleError::new(next.col, "expected `in` after `not`"));
                }
                self.bump();
                self.bump();
                return Ok(Some((Op::In { negate: true }, "not in".to_string())));
            }
            _ => return Ok(None),
        };
        self.bump();
        Ok(Some((op, t.text.clone())))
    }

    fn cmp(&mut self) -> Result<Node, RuleError> {
        let lhs = self.primary()?;
        let op_col = self.peek().col;
        let Some((op, op_text)) = self.comparison_op()? else {
            return self.condition(lhs);
        };
        let lhs = match lhs {
            Primary::Value(v) => v,
            Primary::Cond(_) => {
                return Err(RuleError::new(
                    op_col,
                    format!("the left side of `{op_text}` is a condition, not a value"),
                ))
            }
        };
        if !starts_value(&self.peek().tok) {
            return Err(RuleError::new(
                self.peek().col,
                format!("expected a value after `{op_text}`"),
            ));
        }
        let rhs = self.value()?;
        let node = compare::comparison(lhs, op, &op_text, op_col, rhs, self.latency_unit_ns)?;
        let next = self.peek();
        if matches!(
            next.tok,
            Tok::Cmp(_) | Tok::Match { .. } | Tok::In | Tok::Not
        ) {
            return Err(RuleError::new(
                next.col,
                "comparisons do not chain; write `a < b && b < c` instead of `a < b < c`",
            ));
        }
        Ok(node)
    }

    /// A primary used on its own as a condition.
    fn condition(&self, primary: Primary) -> Result<Node, RuleError> {
        let v = match primary {
            Primary::Cond(node) => return Ok(node),
            Primary::Value(v) => v,
        };
        let next = self.peek();
        if starts_condition(&next.tok) {
            return Err(RuleError::new(
                next.col,
                format!(
                    "unexpected `{}`; expected an operator after `{}`{}",
                    next.text,
                    v.text,
                    hint(&next.tok)
                ),
            ));
        }
        let t = &v.text;
        let message = match v.kind {
            Kind::Path(slot) if slot < ROLE_SLOTS => {
                let example = match slot {
                    STATUS_SLOT => "status < 500",
                    LATENCY_SLOT => "latency <= 300ms",
                    _ => "timestamp >= 1700000000",
                };
                format!("`{t}` is a number, not a condition; compare it, as in `{example}`")
            }
            Kind::Path(slot) => return Ok(Node::Truthy(slot)),
            Kind::Bool(b) => return Ok(Node::Const(b)),
            Kind::List(_) => {
                format!("`{t}` is not a condition; compare it with a field, as in `field in {t}`")
            }
            Kind::Dur(_) => {
                format!("`{t}` is not a condition; compare it with latency, as in `latency <= {t}`")
            }
            _ => format!("`{t}` is not a condition; compare it with a field, as in `field == {t}`"),
        };
        Err(RuleError::new(v.col, message))
    }

    fn primary(&mut self) -> Result<Primary, RuleError> {
        let t = self.peek();
        match &t.tok {
            Tok::LParen => {
                let open = self.bump();
                self.enter(open)?;
                let inner = self.or()?;
                self.depth -= 1;
                let close = self.peek();
                if close.tok != Tok::RParen {
                    return Err(RuleError::new(
                        close.col,
                        format!(
                            "expected `)` to close `(` opened at column {}{}",
                            open.col,
                            hint(&close.tok)
                        ),
                    ));
                }
                self.bump();
                Ok(Primary::Cond(inner))
            }
            Tok::Ident(name) if name == "exists" && self.peek2().tok == Tok::LParen => {
                self.exists().map(Primary::Cond)
            }
            _ => self.value().map(Primary::Value),
        }
    }

    /// `exists(path)`, at the `exists` token.
    fn exists(&mut self) -> Result<Node, RuleError> {
        self.bump();
        let open = self.bump();
        let path = self.peek();
        let Tok::Ident(name) = &path.tok else {
            return Err(RuleError::new(
                path.col,
                "expected a field path inside `exists(...)`, as in `exists(labels.tier)`",
            ));
        };
        self.bump();
        let close = self.peek();
        if close.tok != Tok::RParen {
            return Err(RuleError::new(
                close.col,
                format!(
                    "expected `)` to close `exists(` opened at column {}",
                    open.col
                ),
            ));
        }
        self.bump();
        Ok(Node::Exists(self.fields.slot(name)))
    }

    /// A value: a field path or a literal.
    fn value(&mut self) -> Result<Operand, RuleError> {
        let t = self.peek();
        let kind = match &t.tok {
            Tok::Ident(name) => Kind::Path(self.fields.slot(name)),
            Tok::Num(n) => Kind::Num(*n),
            Tok::Dur(ns) => Kind::Dur(*ns),
            Tok::Str(s) => Kind::Str(s.clone()),
            Tok::True => Kind::Bool(true),
            Tok::False => Kind::Bool(false),
            Tok::Null => Kind::Null,
            Tok::LBrack => return self.list(),
            _ => {
                return Err(RuleError::new(
                    t.col,
                    format!("expected a value, found `{}`", t.text),
                ))
            }
        };
        self.bump();
        Ok(Operand {
            kind,
            col: t.col,
            text: t.text.clone(),
        })
    }

    /// `[a, b, ...]`, at the `[` token.
    fn list(&mut self) -> Result<Operand, RuleError> {
        let open = self.bump();
        let unclosed = || format!("expected `]` to close `[` opened at column {}", open.col);
        let mut items = Vec::new();
        loop {
            let t = self.peek();
            if t.tok == Tok::RBrack {
                break;
            }
            if !starts_value(&t.tok) {
                let message = match t.tok {
                    Tok::Eof => unclosed(),
                    _ => format!("expected a value in the list, found `{}`", t.text),
                };
                return Err(RuleError::new(t.col, message));
            }
            items.push(self.value()?);
            let sep = self.peek();
            match sep.tok {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RBrack => break,
                _ => {
                    return Err(RuleError::new(
                        sep.col,
                        format!(
                            "expected `,` or `]` to close `[` opened at column {}",
                            open.col
                        ),
                    ))
                }
            }
        }
        let close = self.bump();
        Ok(Operand {
            kind: Kind::List(items),
            col: open.col,
            text: self.text(open.col, close.end),
        })
    }
}
