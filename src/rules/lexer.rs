//! Rule source text to tokens, each with its 1-based character column.
//!
//! The lexer owns the spelling of literals: numbers (`-5`, `1.5`, `1e3`),
//! durations (`300ms`, `1m30s`), strings with `\"`, `\\`, `\n`, `\t` and `\r`
//! escapes (any other backslash stays, as regular expressions want it:
//! `"^/v\d+/"`), and field paths: letters (any script), digits, `_`, `@`,
//! and inside a path also `.`, `-` and `/` (`@timestamp`, `région`,
//! `labels.app.kubernetes.io/name`). It also catches the
//! operators people type from other languages (`=`, `&`, `<>`) with a hint.

use super::eval::CmpOp;
use super::RuleError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Num(f64),
    /// A duration, in nanoseconds.
    Dur(f64),
    Str(String),
    True,
    False,
    Null,
    In,
    Not,
    LParen,
    RParen,
    LBrack,
    RBrack,
    Comma,
    Cmp(CmpOp),
    /// `=~`, or `!~` when `negate`.
    Match {
        negate: bool,
    },
    And,
    Or,
    Bang,
    Eof,
}

/// A token and where it sits in the source.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// 1-based column of the first character.
    pub(super) col: usize,
    /// 1-based column just past the last character.
    pub(super) end: usize,
    /// The source text of the token (empty for `Eof`).
    pub(super) text: String,
}

/// Nanoseconds per duration unit.
fn unit_ns(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        "d" => 86_400e9,
        _ => return None,
    })
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '_' | '@')
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '@' | '.' | '-' | '/')
}

/// Splits `source` into tokens, ending with an `Eof` token whose column is
/// one space past the last non-blank character (where a missing value goes).
pub(super) fn lex(source: &str) -> Result<Vec<Token>, RuleError> {
    let chars: Vec<char> = source.chars().collect();
    let mut lx = Lexer { chars, i: 0 };
    let mut out = Vec::new();
    loop {
        while lx.peek(0).is_some_and(char::is_whitespace) {
            lx.i += 1;
        }
        let start = lx.i;
        let Some(c) = lx.peek(0) else { break };
        let tok = match c {
            '(' | ')' | '[' | ']' | ',' => {
                lx.i += 1;
                match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBrack,
                    ']' => Tok::RBrack,
                    _ => Tok::Comma,
                }
            }
            '"' => lx.string()?,
            '0'..='9' => lx.number()?,
            '-' if lx.peek(1).is_some_and(|c| c.is_ascii_digit()) => lx.number()?,
            c if is_ident_start(c) => lx.word(),
            '=' | '!' | '<' | '>' | '&' | '|' => lx.operator(c)?,
            '\'' => {
                return Err(lx.error(start, "strings take double quotes, as in \"GET\""));
            }
            other => return Err(lx.error(start, format!("unexpected character `{other}`"))),
        };
        out.push(Token {
            tok,
            col: start + 1,
            end: lx.i + 1,
            text: lx.text(start, lx.i),
        });
    }
    let last = lx.chars.iter().rposition(|c| !c.is_whitespace());
    let col = last.map_or(1, |i| i + 3);
    out.push(Token {
        tok: Tok::Eof,
        col,
        end: col,
        text: String::new(),
    });
    Ok(out)
}

struct Lexer {
    chars: Vec<char>,
    /// Index of the next character.
    i: usize,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.chars[from..to].iter().collect()
    }

    /// An error at the character with index `at`.
    fn error(&self, at: usize, message: impl Into<String>) -> RuleError {
        RuleError::new(at + 1, message)
    }

    fn eat_while(&mut self, pred: impl Fn(char) -> bool) {
        while self.peek(0).is_some_and(&pred) {
            self.i += 1;
        }
    }

    fn word(&mut self) -> Tok {
        let start = self.i;
        self.eat_while(is_ident_char);
        match self.text(start, self.i).as_str() {
            "true" => Tok::True,
            "false" => Tok::False,
            "null" => Tok::Null,
            "in" => Tok::In,
            "not" => Tok::Not,
            _ => Tok::Ident(self.text(start, self.i)),
        }
    }

    fn string(&mut self) -> Result<Tok, RuleError> {
        let start = self.i;
        self.i += 1;
        let mut s = String::new();
        loop {
            match self.peek(0) {
                None => return Err(self.error(start, "unterminated string")),
                Some('"') => {
                    self.i += 1;
                    return Ok(Tok::Str(s));
                }
                Some('\\') => {
                    let unescaped = match self.peek(1) {
                        None => return Err(self.error(start, "unterminated string")),
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        // `\d`, `\.`, `\w`: the backslash is the regex's.
                        Some(_) => {
                            s.push('\\');
                            self.i += 1;
                            continue;
                        }
                    };
                    s.push(unescaped);
                    self.i += 2;
                }
                Some(c) => {
                    s.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// A number, or a duration: one or more number-unit pairs (`1m30s`).
    fn number(&mut self) -> Result<Tok, RuleError> {
        let start = self.i;
        let negative = self.peek(0) == Some('-');
        if negative {
            self.i += 1;
        }
        let mut duration_ns: Option<f64> = None;
        loop {
            let value = self.unsigned_number()?;
            let unit_start = self.i;
            self.eat_while(char::is_alphabetic);
            if unit_start == self.i {
                if duration_ns.is_some() {
                    let text = self.text(start, self.i);
                    return Err(self.error(start, format!("missing unit in duration `{text}`")));
                }
                self.reject_trailing_word(start)?;
                return Ok(Tok::Num(if negative { -value } else { value }));
            }
            let unit = self.text(unit_start, self.i);
            let Some(ns) = unit_ns(&unit) else {
                self.eat_while(is_ident_char);
                let text = self.text(start, self.i);
                return Err(self.error(
                    start,
                    format!(
                        "unknown duration unit `{unit}` in `{text}`; \
                         use ns, us, ms, s, m, h or d"
                    ),
                ));
            };
            *duration_ns.get_or_insert(0.0) += value * ns;
            if !self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                break;
            }
        }
        self.reject_trailing_word(start)?;
        if negative {
            let text = self.text(start, self.i);
            return Err(self.error(start, format!("a duration cannot be negative: `{text}`")));
        }
        Ok(Tok::Dur(duration_ns.unwrap_or_default()))
    }

    /// Digits, an optional fraction and an optional exponent.
    fn unsigned_number(&mut self) -> Result<f64, RuleError> {
        let start = self.i;
        self.eat_while(|c| c.is_ascii_digit());
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
            self.eat_while(|c| c.is_ascii_digit());
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1 + sign;
                self.eat_while(|c| c.is_ascii_digit());
            }
        }
        let text = self.text(start, self.i);
        text.parse()
            .map_err(|_| self.error(start, format!("malformed number `{text}`")))
    }

    /// A number glued to more word characters (`1.2.3`, `5_000`) is malformed.
    fn reject_trailing_word(&mut self, start: usize) -> Result<(), RuleError> {
        if self.peek(0).is_some_and(is_ident_char) {
            self.eat_while(is_ident_char);
            let text = self.text(start, self.i);
            return Err(self.error(start, format!("malformed number `{text}`")));
        }
        Ok(())
    }

    fn operator(&mut self, first: char) -> Result<Tok, RuleError> {
        let start = self.i;
        let second = self.peek(1);
        let third = self.peek(2);
        let unknown = |op: &str, hint: &str| {
            self.error(
                start,
                format!("unknown operator `{op}`; did you mean `{hint}`?"),
            )
        };
        let (tok, len) = match (first, second) {
            ('=', Some('=')) if third == Some('=') => return Err(unknown("===", "==")),
            ('=', Some('=')) => (Tok::Cmp(CmpOp::Eq), 2),
            ('=', Some('~')) => (Tok::Match { negate: false }, 2),
            ('=', Some('<')) => return Err(unknown("=<", "<=")),
            ('=', Some('>')) => return Err(unknown("=>", ">=")),
            ('=', _) => return Err(unknown("=", "==")),
            ('!', Some('=')) if third == Some('=') => return Err(unknown("!==", "!=")),
            ('!', Some('=')) => (Tok::Cmp(CmpOp::Ne), 2),
            ('!', Some('~')) => (Tok::Match { negate: true }, 2),
            ('!', _) => (Tok::Bang, 1),
            ('<', Some('=')) => (Tok::Cmp(CmpOp::Le), 2),
            ('<', Some('>')) => return Err(unknown("<>", "!=")),
            ('<', _) => (Tok::Cmp(CmpOp::Lt), 1),
            ('>', Some('=')) => (Tok::Cmp(CmpOp::Ge), 2),
            ('>', _) => (Tok::Cmp(CmpOp::Gt), 1),
            ('&', Some('&')) => (Tok::And, 2),
            ('&', _) => return Err(unknown("&", "&&")),
            ('|', Some('|')) => (Tok::Or, 2),
            _ => return Err(unknown("|", "||")),
        };
        self.i += len;
        Ok(tok)
    }
}
