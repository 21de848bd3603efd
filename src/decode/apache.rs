//! Apache httpd's access log: `LogFormat` as written in httpd.conf, each
//! directive given a readable field name (the table is in docs/formats.md).
//! `%r` is also split into `method`, `uri` and `protocol`.

use super::settings::{LatencyUnit, TimestampFormat};
use super::spec::{Column, Format, Spec, Splitter};
use super::template::Template;
use crate::time::UnixUnit;

/// Apache's `combined` format.
pub const COMBINED: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i""#;

/// Apache's `common` format (Common Log Format).
pub const COMMON: &str = r#"%h %l %u %t "%r" %>s %b"#;

/// A header, note, cookie or variable name as a field name: lower case,
/// `-` as `_` (`User-agent` is `user_agent`).
fn readable(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

/// The field name of a directive with its `{...}` argument, and how it is
/// read as a time when it is one.
fn field(letter: char, arg: Option<&str>) -> Option<(String, Option<TimestampFormat>)> {
    let plain = |n: &str| Some((n.to_string(), None));
    match (letter, arg) {
        ('a', Some("c")) => plain("peer_ip"),
        ('a', _) => plain("client_ip"),
        ('A', _) => plain("local_ip"),
        ('B' | 'b', _) => plain("bytes_sent"),
        ('C', Some(n)) => Some((format!("cookie_{}", readable(n)), None)),
        ('D', _) => plain("duration_us"),
        ('e', Some(n)) => Some((format!("env_{}", readable(n)), None)),
        ('f', _) => plain("filename"),
        ('h', _) => plain("remote_host"),
        ('H', _) => plain("protocol"),
        ('i', Some(n)) => Some((readable(n), None)),
        ('I', _) => plain("bytes_received"),
        ('k', _) => plain("keepalive_requests"),
        ('l', _) => plain("remote_logname"),
        ('L', _) => plain("log_id"),
        ('m', _) => plain("method"),
        ('n', Some(n)) => Some((format!("note_{}", readable(n)), None)),
        ('o', Some(n)) => Some((format!("sent_{}", readable(n)), None)),
        ('O', _) => plain("bytes_out"),
        ('p', _) => plain("server_port"),
        ('P', _) => plain("process_id"),
        ('q', _) => plain("query_string"),
        ('r', _) => plain("request_line"),
        ('R', _) => plain("handler"),
        ('s', _) => plain("status"),
        ('S', _) => plain("bytes_transferred"),
        ('t', None) => Some(("time".into(), Some(TimestampFormat::Clf))),
        ('t', Some(f)) => {
            let f = f
                .strip_prefix("begin:")
                .or_else(|| f.strip_prefix("end:"))
                .unwrap_or(f);
            let kind = match f {
                "sec" => TimestampFormat::Unix(UnixUnit::Seconds),
                "msec" => TimestampFormat::Unix(UnixUnit::Millis),
                "usec" => TimestampFormat::Unix(UnixUnit::Micros),
                "msec_frac" | "usec_frac" => return plain("time_fraction"),
                strftime => TimestampFormat::Strftime(strftime.to_string()),
            };
            Some(("time".into(), Some(kind)))
        }
        ('T', Some("ms")) => plain("duration_ms"),
        ('T', Some("us")) => plain("duration_us"),
        ('T', _) => plain("duration_s"),
        ('u', _) => plain("remote_user"),
        ('U', _) => plain("url_path"),
        ('v', _) => plain("canonical_server_name"),
        ('V', _) => plain("server_name"),
        ('X', _) => plain("connection_status"),
        _ => None,
    }
}

/// Compiles a `LogFormat` string (`combined` when absent). `\"`, `\\`,
/// `\t` and `\n` are read as httpd reads them.
pub fn spec(log_format: Option<&str>) -> Result<Spec, (String, usize)> {
    let text = log_format.unwrap_or(COMBINED);
    let mut columns: Vec<Column> = Vec::new();
    let col = |name: &str, time: Option<TimestampFormat>, columns: &mut Vec<Column>| match columns
        .iter()
        .position(|c| c.name == name)
    {
        Some(i) => i,
        None => {
            columns.push(match time {
                Some(kind) => Column::time(name, kind),
                None => Column::new(name),
            });
            columns.len() - 1
        }
    };
    let mut t = Template::default();
    let mut chars = text.char_indices().peekable();
    let mut lit = String::new();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 't')) => lit.push('\t'),
                Some((_, 'n')) => lit.push('\n'),
                Some((_, e)) => lit.push(e),
                None => lit.push('\\'),
            },
            '%' => {
                if let Some((_, '%')) = chars.peek() {
                    chars.next();
                    lit.push('%');
                    continue;
                }
                if let Some((format, end)) = time_run(text, at) {
                    t.lit(&lit);
                    lit.clear();
                    let spaces = spaces_in(&format);
                    let c = col(
                        "time",
                        Some(TimestampFormat::Strftime(format)),
                        &mut columns,
                    );
                    t.var(c, None).map_err(|m| (m, at))?;
                    t.spaces(spaces);
                    while chars.next_if(|&(i, _)| i < end).is_some() {}
                    continue;
                }
                // Modifiers: status conditions (`400,501`, `!200`), `<`, `>`.
                while let Some((_, m)) = chars.peek() {
                    if m.is_ascii_digit() || matches!(m, ',' | '!' | '<' | '>') {
                        chars.next();
                    } else {
                        break;
                    }
                }
                let mut arg = None;
                if let Some((_, '{')) = chars.peek() {
                    chars.next();
                    let start = chars.peek().map_or(text.len(), |(i, _)| *i);
                    let mut end = None;
                    for (i, a) in chars.by_ref() {
                        if a == '}' {
                            end = Some(i);
                            break;
                        }
                    }
                    let end = end.ok_or_else(|| ("`%{` has no closing `}`".to_string(), at))?;
                    arg = Some(&text[start..end]);
                }
                let Some((_, letter)) = chars.next() else {
                    return Err(("a `%` at the end without a directive".into(), at));
                };
                let Some((name, time)) = field(letter, arg) else {
                    return Err((
                        format!(
                            "unknown Apache directive `%{}{letter}`; the directives are listed at \
                             https://httpd.apache.org/docs/current/mod/mod_log_config.html",
                            arg.map(|a| format!("{{{a}}}")).unwrap_or_default()
                        ),
                        at,
                    ));
                };
                // `%t` writes its brackets itself: they are text around the time.
                let bracketed = letter == 't' && arg.is_none();
                if bracketed {
                    lit.push('[');
                }
                t.lit(&lit);
                lit.clear();
                let c = col(&name, time, &mut columns);
                let request = (letter == 'r').then(|| {
                    [
                        col("method", None, &mut columns),
                        col("uri", None, &mut columns),
                        col("protocol", None, &mut columns),
                    ]
                });
                t.var(c, request).map_err(|m| (m, at))?;
                if let Some(TimestampFormat::Strftime(f)) = &columns[c].time {
                    t.spaces(spaces_in(f));
                }
                if letter == 'i' && name == "x_forwarded_for" {
                    // A proxy chain, `client, proxy1, proxy2`, written as
                    // it came, spaces and all, quoted or not.
                    t.list();
                }
                if bracketed {
                    lit.push(']');
                }
            }
            c => lit.push(c),
        }
    }
    t.lit(&lit);
    let has = |n: &str| columns.iter().any(|c| c.name == n);
    let (latency, latency_unit) = if has("duration_us") {
        ("duration_us", LatencyUnit::Micros)
    } else if has("duration_ms") {
        ("duration_ms", LatencyUnit::Millis)
    } else if has("duration_s") {
        ("duration_s", LatencyUnit::Seconds)
    } else {
        ("duration_us", LatencyUnit::Micros)
    };
    Ok(Spec {
        format: Format::Apache,
        columns,
        splitter: Splitter::Template(t),
        timestamp: "time".into(),
        status: "status".into(),
        latency: latency.into(),
        latency_unit,
    })
}

/// Several `%{...}t` with only text between them, as mod_log_config's
/// documentation suggests for milliseconds (`%{%d/%b/%Y %T}t.%{msec_frac}t
/// %{%z}t`), read as one time: their formats and the text between as one
/// strftime format, and where the last one ends. `None` for fewer than two.
fn time_run(text: &str, at: usize) -> Option<(String, usize)> {
    let (mut format, mut between) = (String::new(), "");
    let (mut parts, mut pos, mut end) = (0, at, at);
    while let Some(rest) = text[pos..].strip_prefix("%{") {
        let Some((arg, after)) = rest.split_once('}') else {
            break;
        };
        if !after.starts_with('t') {
            break;
        }
        let arg = arg
            .strip_prefix("begin:")
            .or_else(|| arg.strip_prefix("end:"))
            .unwrap_or(arg);
        let piece = match arg {
            "msec_frac" => "%3f",
            "usec_frac" => "%6f",
            "sec" => "%s",
            // Whole times in milliseconds or microseconds do not combine.
            "msec" | "usec" => break,
            strftime => strftime,
        };
        format.push_str(between);
        format.push_str(piece);
        parts += 1;
        pos = text.len() - after.len() + 1;
        end = pos;
        let text_len = text[pos..].find(['%', '\\']).unwrap_or(text.len() - pos);
        between = &text[pos..pos + text_len];
        pos += text_len;
    }
    (parts >= 2).then_some((format, end))
}

/// The spaces a time in `format` holds: its literal ones.
fn spaces_in(format: &str) -> u8 {
    format.matches(' ').count().min(usize::from(u8::MAX)) as u8
}
