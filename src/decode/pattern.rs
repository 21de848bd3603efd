//! `format = "regex"`: a regular expression with named groups, the
//! catch-all for any line format. Each named group is a field; a line the
//! expression does not match is `bad_line`.

use super::fill::Fill;
use super::settings::LatencyUnit;
use super::spec::{Column, Format, Spec, Splitter};
use super::LineReject;

pub fn spec(pattern: &str) -> Result<Spec, (String, usize)> {
    if pattern.is_empty() {
        return Err((
            "format = \"regex\" needs `pattern`, a regular expression with named groups \
             like `(?P<status>\\d+)`"
                .into(),
            0,
        ));
    }
    let re = regex::Regex::new(pattern)
        .map_err(|e| (format!("the pattern does not compile: {e}"), 0))?;
    let columns: Vec<Column> = re.capture_names().flatten().map(Column::new).collect();
    if columns.is_empty() {
        return Err((
            "the pattern has no named group; name the parts to read, like \
             `(?P<status>\\d+)`"
                .into(),
            0,
        ));
    }
    Ok(Spec {
        format: Format::Regex,
        columns,
        splitter: Splitter::Regex(re),
        timestamp: "timestamp".into(),
        status: "status".into(),
        latency: "latency".into(),
        latency_unit: LatencyUnit::Millis,
    })
}

pub(super) fn split<'a>(
    re: &regex::Regex,
    locs: &mut regex::CaptureLocations,
    line: &'a str,
    fill: &mut Fill<'a, '_>,
) -> Result<(), LineReject> {
    re.captures_read(locs, line).ok_or(LineReject::BadLine)?;
    let mut col = 0;
    for (group, name) in re.capture_names().enumerate() {
        if name.is_none() {
            continue;
        }
        if let Some((s, e)) = locs.get(group) {
            fill.put(col, &line[s..e], false);
        }
        col += 1;
    }
    Ok(())
}
