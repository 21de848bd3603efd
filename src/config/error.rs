//! Configuration errors that point at the file, the line and column, and the
//! field, so a user can go straight to the mistake.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A configuration problem, located in its file.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column, where known.
    pub position: Option<(usize, usize)>,
    /// The dotted field, e.g. `sli[1].good` or `window.size`.
    pub field: Option<String>,
    pub message: String,
    /// Extra lines shown under the message (a rule with a caret, say).
    pub detail: Option<String>,
}

impl ConfigError {
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            position: None,
            field: None,
            message: message.into(),
            detail: None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, "\n{detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The source text of a configuration file, for turning byte offsets into
/// line and column numbers.
pub struct SourceMap<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl SourceMap<'_> {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// An error at a span, naming a field.
    pub fn error(
        &self,
        span: Range<usize>,
        field: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            position: Some(self.position(span.start)),
            field: Some(field.to_string()),
            message: message.into(),
            detail: None,
        }
    }

    /// The dotted key that a TOML parse error at `offset` concerns: the
    /// nearest table header above it and the key on its line.
    pub fn key_at(&self, offset: usize) -> Option<String> {
        let offset = offset.min(self.text.len());
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        let line = self.text[line_start..line_end].trim();
        let key = line
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_string());
        let mut header = None;
        let mut at = line_start;
        for l in self.text[..line_start].split_inclusive('\n').rev() {
            at -= l.len();
            if l.trim().starts_with('[') {
                header = Some(self.table_name(l, at));
                break;
            }
        }
        match (header, key) {
            (Some(h), Some(k)) if !k.starts_with('[') => Some(format!("{h}.{k}")),
            (None, Some(k)) => Some(k),
            (_, _) if line.starts_with('[') => Some(self.table_name(line, line_start)),
            (h, _) => h,
        }
    }

    /// The name of the table whose header `line` starts at byte `at`:
    /// `window`, `sli[1]` for the second `[[sli]]`, `sli[1].objective` for a
    /// table inside it, `sli[1].objective.alert[0]` for its first
    /// `[[sli.objective.alert]]`.
    fn table_name(&self, line: &str, at: usize) -> String {
        let Some((name, array)) = header(line) else {
            return line.trim().to_string();
        };
        let before = self.text.get(..at).unwrap_or(self.text);
        // Byte offsets of the headers `[[path]]` before this one.
        let arrays_of = |path: &str, from: usize| -> Vec<usize> {
            let mut offsets = Vec::new();
            let mut pos = 0;
            for l in before.split_inclusive('\n') {
                if pos >= from && header(l) == Some((path, true)) {
                    offsets.push(pos);
                }
                pos += l.len();
            }
            offsets
        };
        let top = name.split('.').next().unwrap_or(name);
        if name == top {
            return if array {
                format!("{name}[{}]", arrays_of(name, 0).len())
            } else {
                name.to_string()
            };
        }
        let rest = &name[top.len() + 1..];
        let tops = arrays_of(top, 0);
        let Some(&element) = tops.last() else {
            return if array {
                format!("{name}[{}]", arrays_of(name, 0).len())
            } else {
                name.to_string()
            };
        };
        let i = tops.len() - 1;
        if array {
            format!("{top}[{i}].{rest}[{}]", arrays_of(name, element).len())
        } else {
            format!("{top}[{i}].{rest}")
        }
    }
}

/// A table header's dotted name and whether it is an array of tables
/// (`[[sli]]`); `None` for any other line.
fn header(line: &str) -> Option<(&str, bool)> {
    let line = line.trim();
    let (inner, array) = match line.strip_prefix("[[") {
        Some(rest) => (rest.split("]]").next()?, true),
        None => (line.strip_prefix('[')?.split(']').next()?, false),
    };
    Some((inner.trim(), array))
}
