//! Guessing what a rejected line is, and which known names are nearest to
//! a name that was not found.

/// The format a line looks like, by the name `[decode] format` takes;
/// `None` when it is none that slipstream reads (see [`crate::decode::sniff`]).
pub fn sniff_format(line: &str) -> Option<&'static str> {
    crate::decode::sniff(line)
}

use crate::names::edit_distance;

/// How far apart two names are for a "did you mean": the edit distance,
/// except that an abbreviation (`ts` for `timestamp`: every character of the
/// shorter, in order, in the longer) counts as at most 2.
pub fn distance(a: &str, b: &str) -> usize {
    let d = edit_distance(a, b);
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut rest = long.chars();
    let abbreviation = short.chars().count() >= 2 && short.chars().all(|c| rest.any(|l| l == c));
    if abbreviation {
        d.min(2)
    } else {
        d
    }
}

/// `candidates` ordered nearest to `name` first by [`distance`] (ties by
/// name).
pub fn nearest(name: &str, candidates: &[String]) -> Vec<String> {
    let mut ranked: Vec<(usize, &String)> =
        candidates.iter().map(|c| (distance(name, c), c)).collect();
    ranked.sort();
    ranked.into_iter().map(|(_, c)| c.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_names_come_first() {
        let fields: Vec<String> = ["status", "request_time", "uri", "upstream"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(nearest("url", &fields)[0], "uri");
        assert_eq!(nearest("stat", &fields)[0], "status");
        let fields: Vec<String> = ["status", "ts", "upstream_url", "uri"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(nearest("timestamp", &fields)[0], "ts");
        assert_eq!(nearest("url", &fields)[..2], ["uri", "upstream_url"]);
        assert_eq!(distance("timestamp", "ts"), 2);
        assert_eq!(distance("ts", "timestamp"), 2);
        assert_eq!(distance("url", "status"), edit_distance("url", "status"));
    }

    #[test]
    fn json_objects_are_told_from_text_lines() {
        assert_eq!(sniff_format(r#"{"status":200}"#), Some("json"));
        assert_eq!(
            sniff_format(r#"127.0.0.1 - - [10/Oct/2026:13:55:36 +0900] "GET / HTTP/1.1" 200 2326"#),
            Some("apache")
        );
        assert_eq!(sniff_format("[1, 2]"), None);
    }
}
