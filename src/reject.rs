//! Why a line or message was counted out instead of becoming counts, by the
//! stage that said so: decoding gives a [`LineReject`], the windows say
//! [`Reject::TooLate`], the rollup stage [`Reject::BadPartial`]. Counters,
//! summaries, metrics and dead letters share these names.

use std::fmt;

/// Why an input line or message did not become an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineReject {
    NotUtf8,
    NotJson,
    NotObject,
    NoTimestamp,
    BadTimestamp,
    TooLarge,
    /// A text line that does not have the shape of its format.
    BadLine,
    /// A header line of the format (CloudFront's `#Version`, `#Fields`):
    /// read for the columns it names, not an event.
    Header,
    /// A line of nothing but whitespace.
    Blank,
}

impl LineReject {
    pub const ALL: [LineReject; 9] = [
        LineReject::NotUtf8,
        LineReject::NotJson,
        LineReject::NotObject,
        LineReject::NoTimestamp,
        LineReject::BadTimestamp,
        LineReject::TooLarge,
        LineReject::BadLine,
        LineReject::Header,
        LineReject::Blank,
    ];

    /// The reason as it appears in summaries, metrics and dead letters.
    pub fn name(self) -> &'static str {
        match self {
            LineReject::NotUtf8 => "not_utf8",
            LineReject::NotJson => "not_json",
            LineReject::NotObject => "not_object",
            LineReject::NoTimestamp => "no_timestamp",
            LineReject::BadTimestamp => "bad_timestamp",
            LineReject::TooLarge => "too_large",
            LineReject::BadLine => "bad_line",
            LineReject::Header => "header",
            LineReject::Blank => "blank",
        }
    }

    /// Lines that are no input to look at: a format's header lines and blank
    /// lines are skipped and counted, not dead-lettered, and a setup is not
    /// judged by them.
    pub fn is_skipped(self) -> bool {
        matches!(self, LineReject::Header | LineReject::Blank)
    }

    /// The reason's place in [`LineReject::ALL`], for counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for LineReject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a line or message was counted out, at any stage of the stream job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reject {
    /// It did not decode into an event.
    Line(LineReject),
    /// Later than the allowed lateness of its window.
    TooLate,
    /// A message of the partials topic that cannot be read (rollup stage).
    BadPartial,
}

impl From<LineReject> for Reject {
    fn from(r: LineReject) -> Reject {
        Reject::Line(r)
    }
}

impl Reject {
    /// Every reason, in the order metrics list them.
    pub const ALL: [Reject; 11] = [
        Reject::Line(LineReject::NotUtf8),
        Reject::Line(LineReject::NotJson),
        Reject::Line(LineReject::NotObject),
        Reject::Line(LineReject::NoTimestamp),
        Reject::Line(LineReject::BadTimestamp),
        Reject::Line(LineReject::TooLarge),
        Reject::TooLate,
        Reject::BadPartial,
        Reject::Line(LineReject::BadLine),
        Reject::Line(LineReject::Header),
        Reject::Line(LineReject::Blank),
    ];

    /// The reason as it appears in summaries, metrics and dead letters.
    pub fn name(self) -> &'static str {
        match self {
            Reject::Line(r) => r.name(),
            Reject::TooLate => "too_late",
            Reject::BadPartial => "bad_partial",
        }
    }

    /// See [`LineReject::is_skipped`]; a message of another stage always
    /// counts.
    pub fn is_skipped(self) -> bool {
        matches!(self, Reject::Line(r) if r.is_skipped())
    }

    /// The reason's place in [`Reject::ALL`], for counters.
    pub fn index(self) -> usize {
        match self {
            Reject::Line(r) => r.index(),
            Reject::TooLate => LineReject::ALL.len(),
            Reject::BadPartial => LineReject::ALL.len() + 1,
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_counter_and_name() {
        let mut seen = vec![false; Reject::ALL.len()];
        let mut names = std::collections::BTreeSet::new();
        for r in Reject::ALL {
            assert!(!seen[r.index()], "{r} shares a counter");
            seen[r.index()] = true;
            assert!(names.insert(r.name()), "{r} shares a name");
        }
        for r in LineReject::ALL {
            assert_eq!(Reject::from(r).name(), r.name());
            assert_eq!(Reject::from(r).is_skipped(), r.is_skipped());
        }
    }
}
