//! Which of the files and objects found under a directory or prefix are
//! read: `--include`/`--exclude` globs over their names, and, with
//! `--from`/`--to`, the dates that archives write into their paths — AWS's
//! `.../YYYY/MM/DD/` folders (load balancers) and CloudFront's
//! `<distribution>.YYYY-MM-DD-HH.` names — so that a one-day backfill of a
//! year's bucket neither lists nor fetches the other days.
//!
//! A log file holds requests from a little before the time its path names
//! (a load balancer's file for the five minutes before midnight lands in
//! the next day's folder; CloudFront delivers late entries in later
//! files), so a folder's day or a file's hour is widened by [`MARGIN_NS`]
//! each way before it is compared with the range: pruning never drops an
//! event in range, it only saves reading most of what is not.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::time::NANOS_PER_SEC;

/// How far a path's date is widened each way before it is compared with
/// `--from`/`--to`.
pub const MARGIN_NS: i64 = 3600 * NANOS_PER_SEC;

const DAY_NS: i64 = 86_400 * NANOS_PER_SEC;

/// What to read of what a directory or a prefix holds.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub from_ns: Option<i64>,
    pub to_ns: Option<i64>,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    /// Files and directories never read from a directory, by their
    /// resolved paths: those the run itself writes.
    leave_out: Vec<PathBuf>,
}

impl Selection {
    /// A selection by time range and globs. A glob's `*` matches `/` too:
    /// `*.gz` keeps every gzip file at any depth.
    pub fn new(
        from_ns: Option<i64>,
        to_ns: Option<i64>,
        include: &[String],
        exclude: &[String],
    ) -> Result<Selection, String> {
        Ok(Selection {
            from_ns,
            to_ns,
            include: globs(include, "--include")?,
            exclude: globs(exclude, "--exclude")?,
            leave_out: Vec::new(),
        })
    }

    /// The same selection, leaving out `paths` wherever a directory holds
    /// them: a run's own output in the directory it reads is not input.
    pub fn leaving_out(mut self, paths: &[PathBuf]) -> Selection {
        self.leave_out = paths.iter().map(|p| resolved(p)).collect();
        self
    }

    /// Whether `path`, found in a directory, is one of those left out.
    /// Only a path whose name matches is resolved.
    pub fn leaves_out(&self, path: &Path) -> bool {
        let Some(name) = path.file_name() else {
            return false;
        };
        self.leave_out
            .iter()
            .any(|p| p.file_name() == Some(name) && *p == resolved(path))
    }

    /// Whether a file or object found under a directory or a prefix is
    /// read: its name (path or key) passes the globs and the hour in a
    /// CloudFront name, if any, may hold events in range.
    pub fn wants_file(&self, name: &str) -> bool {
        if self.include.as_ref().is_some_and(|g| !g.is_match(name)) {
            return false;
        }
        if self.exclude.as_ref().is_some_and(|g| g.is_match(name)) {
            return false;
        }
        let base = name.rsplit('/').next().unwrap_or(name);
        match cloudfront_hour(base) {
            Some(start) => self.meets(start, start + 3600 * NANOS_PER_SEC),
            None => true,
        }
    }

    /// Whether a folder (a key prefix, without its last `/`) may hold
    /// events in range: one that ends in `YYYY`, `YYYY/MM` or `YYYY/MM/DD`
    /// is listed only when that year, month or day meets the range.
    pub fn wants_dir(&self, dir: &str) -> bool {
        match dated_folder(dir) {
            Some((start, end)) => self.meets(start, end),
            None => true,
        }
    }

    /// Whether `[start, end)`, widened by the margin, meets the range.
    fn meets(&self, start: i64, end: i64) -> bool {
        self.from_ns.is_none_or(|f| end + MARGIN_NS > f)
            && self.to_ns.is_none_or(|t| start - MARGIN_NS < t)
    }
}

/// `path` with its directory's links and relative parts resolved; the file
/// itself need not exist yet.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::fs::canonicalize(dir).map_or_else(|_| path.to_path_buf(), |d| d.join(name))
        }
        _ => path.to_path_buf(),
    }
}

fn globs(patterns: &[String], flag: &str) -> Result<Option<GlobSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|e| format!("{flag} {p:?} is not a valid glob: {e}"))?;
        set.add(glob);
    }
    set.build()
        .map(Some)
        .map_err(|e| format!("cannot compile the {flag} globs: {e}"))
}

/// The time span `[start, end)` in nanoseconds of a folder whose path ends
/// in `YYYY`, `YYYY/MM` or `YYYY/MM/DD`.
fn dated_folder(dir: &str) -> Option<(i64, i64)> {
    let parts: Vec<&str> = dir.trim_end_matches('/').rsplit('/').take(3).collect();
    // parts[0] is the last segment.
    let number = |s: &str, len: usize| -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let year_ok = |y: u32| (1970..=9999).contains(&y);
    match parts.as_slice() {
        [d, m, y, ..] if number(d, 2).is_some() && number(m, 2).is_some() => {
            let (y, m, d) = (number(y, 4)?, number(m, 2)?, number(d, 2)?);
            if !year_ok(y) {
                return None;
            }
            let start = day_ns(y, m, d)?;
            Some((start, start + DAY_NS))
        }
        [m, y, ..] if number(m, 2).is_some() && number(y, 4).is_some() => {
            let (y, m) = (number(y, 4)?, number(m, 2)?);
            if !year_ok(y) {
                return None;
            }
            let start = day_ns(y, m, 1)?;
            let end = if m == 12 {
                day_ns(y + 1, 1, 1)?
            } else {
                day_ns(y, m + 1, 1)?
            };
            Some((start, end))
        }
        [y, ..] => {
            let y = number(y, 4).filter(|y| year_ok(*y))?;
            Some((day_ns(y, 1, 1)?, day_ns(y + 1, 1, 1)?))
        }
        [] => None,
    }
}

/// The start of the hour in a CloudFront log's name,
/// `<distribution>.YYYY-MM-DD-HH.<id>[.gz]`.
fn cloudfront_hour(base: &str) -> Option<i64> {
    let mut parts = base.split('.');
    let _distribution = parts.next()?;
    let stamp = parts.next()?;
    parts.next()?;
    let b = stamp.as_bytes();
    if b.len() != 13 || b[4] != b'-' || b[7] != b'-' || b[10] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = &stamp[r];
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (y, m, d, h) = (
        digits(0..4)?,
        digits(5..7)?,
        digits(8..10)?,
        digits(11..13)?,
    );
    if h > 23 {
        return None;
    }
    Some(day_ns(y, m, d)? + i64::from(h) * 3600 * NANOS_PER_SEC)
}

/// Midnight UTC of a date, in nanoseconds; `None` for no such date.
fn day_ns(y: u32, m: u32, d: u32) -> Option<i64> {
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
    let secs = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
    Some(secs * NANOS_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp() * NANOS_PER_SEC)
            .expect("a test time")
    }

    fn day(from: &str, to: &str) -> Selection {
        Selection::new(Some(at(from)), Some(at(to)), &[], &[]).expect("selection")
    }

    #[test]
    fn dated_folders_outside_the_range_and_its_margin_are_pruned() {
        let s = day("2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z");
        let elb = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1";
        assert!(s.wants_dir(elb));
        assert!(s.wants_dir(&format!("{elb}/2026")));
        assert!(!s.wants_dir(&format!("{elb}/2025")));
        assert!(s.wants_dir(&format!("{elb}/2026/03")));
        assert!(!s.wants_dir(&format!("{elb}/2026/04")));
        assert!(!s.wants_dir(&format!("{elb}/2026/02")));
        assert!(s.wants_dir(&format!("{elb}/2026/03/10")));
        // The days on either side hold the margin's hour.
        assert!(s.wants_dir(&format!("{elb}/2026/03/09")));
        assert!(s.wants_dir(&format!("{elb}/2026/03/11")));
        assert!(!s.wants_dir(&format!("{elb}/2026/03/08")));
        assert!(!s.wants_dir(&format!("{elb}/2026/03/12")));
        // Not dates: kept.
        assert!(s.wants_dir("logs/2026x/03"));
        assert!(s.wants_dir("logs/13/99"));
        assert!(s.wants_dir("logs/1234567"));
        // A range from the middle of a day keeps only that day.
        let s = day("2026-03-10T02:00:00Z", "2026-03-10T20:00:00Z");
        assert!(!s.wants_dir(&format!("{elb}/2026/03/09")));
        assert!(!s.wants_dir(&format!("{elb}/2026/03/11")));
        // December's month ends with the year.
        let s = day("2026-12-31T12:00:00Z", "2027-01-01T00:00:00Z");
        assert!(s.wants_dir("x/2026/12"));
        assert!(!s.wants_dir("x/2026/11"));
        // No range: everything.
        assert!(Selection::default().wants_dir("x/1999/01/01"));
    }

    #[test]
    fn cloudfront_hours_outside_the_range_are_pruned() {
        let s = day("2026-03-10T05:00:00Z", "2026-03-10T06:00:00Z");
        assert!(s.wants_file("cf/E2ABC.2026-03-10-05.a1b2c3.gz"));
        assert!(s.wants_file("cf/E2ABC.2026-03-10-04.a1b2c3.gz"));
        assert!(s.wants_file("cf/E2ABC.2026-03-10-06.a1b2c3.gz"));
        assert!(!s.wants_file("cf/E2ABC.2026-03-10-03.a1b2c3.gz"));
        assert!(!s.wants_file("cf/E2ABC.2026-03-10-07.a1b2c3.gz"));
        // Names that are not CloudFront's are kept.
        assert!(s.wants_file("nginx/access.log.2026-01-01-01"));
        assert!(s.wants_file("x/E2.2026-13-10-07.a.gz"));
    }

    #[test]
    fn globs_include_then_exclude() {
        let s = Selection::new(
            None,
            None,
            &["*.gz".to_string()],
            &["*/debug/*".to_string()],
        )
        .expect("selection");
        assert!(s.wants_file("a/b/c.log.gz"));
        assert!(!s.wants_file("a/b/c.log"));
        assert!(!s.wants_file("a/debug/c.log.gz"));
        let bad = Selection::new(None, None, &["a[".to_string()], &[]);
        assert!(bad.is_err_and(|e| e.contains("--include")));
    }
}
