//! The librdkafka pass-through (`[source.kafka.librdkafka]`): each property
//! checked once against the linked librdkafka when the file is loaded, and
//! its values kept out of everything librdkafka says.
//!
//! **Checks.** Each key is set on its own, with its value, on a fresh native
//! configuration ([`ClientConfig::create_native_config`], librdkafka's
//! `rd_kafka_conf_set`). librdkafka answers `RD_KAFKA_CONF_UNKNOWN` for a key
//! it does not know — a configuration error with a "did you mean" — and
//! `RD_KAFKA_CONF_INVALID` for a value it refuses (a number out of range, a
//! property this build does not support) — an error with librdkafka's reason,
//! redacted. Asking the linked library rather than a list means the check is
//! exactly what `run` will meet, whatever librdkafka version is bundled.
//! Settings that only conflict with one another are found when the client
//! is created, as before.
//!
//! **Names for suggestions.** librdkafka has no call that returns its
//! property names; `rd_kafka_conf_properties_show` prints its table of
//! properties (the text of its CONFIGURATION.md) to a `FILE *`. The table is
//! read from an anonymous temporary file, once, and only when a key is
//! unknown: the names always match the linked library, with no copy in the
//! repository to drift when it is upgraded. When the table cannot be read
//! the error simply has no suggestion.
//!
//! **Redaction.** librdkafka quotes values in its messages (`Invalid value
//! "..." for configuration property ...`, `Unrecognized
//! sasl.oauthbearer.config beginning at: ...`). [`Redactor`] removes the values
//! of every secret key ([`super::is_secret_key`]) and of the key an error is
//! about from any such text; [`describe`] words a librdkafka error with it.
//! Every client slipstream creates goes through `crate::kafka`, which uses
//! both.

use std::fmt::Write as _;
use std::sync::OnceLock;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaConfRes;

use super::is_secret_key;

/// What replaces a hidden value.
pub const HIDDEN: &str = "***";

/// Pieces of a secret value shorter than this are not hidden on their own:
/// they say little, and hiding them would garble the rest of the message.
const MIN_PIECE: usize = 4;

/// Checks one pass-through property against the linked librdkafka. The
/// error never holds the value.
pub fn check(key: &str, value: &str) -> Result<(), String> {
    let mut one = ClientConfig::new();
    one.set(key, value);
    match one.create_native_config() {
        Ok(_) => Ok(()),
        Err(KafkaError::ClientConfig(RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN, ..)) => {
            Err(unknown(key))
        }
        Err(e) => Err(describe(&e, &Redactor::default())),
    }
}

/// The message for a key librdkafka does not know.
fn unknown(key: &str) -> String {
    let version = rdkafka::util::get_rdkafka_version().1;
    let mut m = format!("`{key}` is not a property of librdkafka {version}");
    match suggestion(key, property_names()) {
        Some(known) => {
            let _ = write!(m, "; did you mean `{known}`?");
        }
        None => m.push_str(
            " (see https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md)",
        ),
    }
    m
}

/// A librdkafka error in words, without the value of any secret key known
/// to `redactor`, nor the value of the key a configuration error is about.
/// For a secret key whose value librdkafka quotes, its message is left out.
pub fn describe(error: &KafkaError, redactor: &Redactor) -> String {
    match error {
        KafkaError::ClientConfig(_, reason, key, value) => {
            let redactor = redactor.clone().about(key, value);
            let reason = reason.trim_end_matches('.');
            if is_secret_key(key) && redactor.reveals(reason) {
                format!("librdkafka rejects the value of `{key}` (its message is not shown: it quotes the secret)")
            } else {
                format!("librdkafka rejects `{key}`: {}", redactor.redact(reason))
            }
        }
        other => redactor.redact(&other.to_string()),
    }
}

/// Hides configured values in text librdkafka wrote.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Values hidden wherever they occur, longest first.
    anywhere: Vec<String>,
    /// Values hidden only as whole words (not inside a longer word or
    /// number): values of keys that are not secret, often short.
    words: Vec<String>,
}

impl Redactor {
    /// Hides the values of the secret keys among `props`.
    pub fn new<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> Redactor {
        let mut r = Redactor::default();
        for (key, value) in props {
            if is_secret_key(key) {
                r.hide_secret(value);
            }
        }
        r
    }

    /// Hides the values of the secret keys of a client configuration.
    pub fn of(config: &ClientConfig) -> Redactor {
        Redactor::new(config.config_map())
    }

    /// Also hides `value`, the value of `key` an error is about: anywhere
    /// when the key is secret, as a whole word otherwise.
    pub fn about(mut self, key: &str, value: &str) -> Redactor {
        if is_secret_key(key) {
            self.hide_secret(value);
        } else if !value.is_empty() && !self.words.iter().any(|w| w == value) {
            self.words.push(value.to_string());
            self.words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        }
        self
    }

    /// A secret value, and the pieces librdkafka may quote alone: its
    /// space-separated parts, and the values of their secret-looking
    /// `name=value` parts (`clientSecret=...` in `sasl.oauthbearer.config`).
    fn hide_secret(&mut self, value: &str) {
        let mut add = |s: &str, min: usize| {
            if s.len() >= min && !self.anywhere.iter().any(|a| a == s) {
                self.anywhere.push(s.to_string());
            }
        };
        add(value, 1);
        for piece in value.split_whitespace() {
            add(piece, MIN_PIECE);
            if let Some((name, v)) = piece.split_once('=') {
                if is_secret_key(name) {
                    add(v, MIN_PIECE);
                }
            }
        }
        self.anywhere.sort_by_key(|a| std::cmp::Reverse(a.len()));
    }

    /// `text` with every hidden value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.anywhere {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), HIDDEN);
            }
        }
        for word in &self.words {
            out = replace_words(&out, word);
        }
        out
    }

    /// Whether `text` holds a value this hides.
    pub fn reveals(&self, text: &str) -> bool {
        self.redact(text) != text
    }
}

/// `text` with each occurrence of `word` that is not part of a longer word,
/// number or dotted name replaced by `***`.
fn replace_words(text: &str, word: &str) -> String {
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || "_.-".contains(c));
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (i, _) in text.match_indices(word) {
        let end = i + word.len();
        if glued(text[..i].chars().next_back()) || glued(text[end..].chars().next()) {
            continue;
        }
        out.push_str(&text[copied..i]);
        out.push_str(HIDDEN);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// The known name closest to `key`, when it is close enough to be what was
/// meant: at most one edit per five characters (and at most three), case
/// aside.
fn suggestion<'a>(key: &str, names: &'a [String]) -> Option<&'a str> {
    let key = key.to_ascii_lowercase();
    let limit = (key.chars().count() / 5).clamp(1, 3);
    names
        .iter()
        .map(|n| (crate::names::edit_distance(&key, n), n))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, n)| n.as_str())
}

/// Every property name of the linked librdkafka (global and topic, aliases
/// included); empty when its table cannot be read.
pub fn property_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| properties_table().map(|t| names_in(&t)).unwrap_or_default())
}

/// The first column of the rows of librdkafka's property tables.
fn names_in(table: &str) -> Vec<String> {
    let mut names: Vec<String> = table
        .lines()
        .filter_map(|l| l.split_once(" | ").map(|(name, _)| name.trim()))
        .filter(|n| {
            !n.is_empty()
                && *n != "Property"
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
        })
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// librdkafka's table of properties, as `rd_kafka_conf_properties_show`
/// prints it, through an anonymous temporary file.
///
/// The one `unsafe` block outside the memory map of backfill: librdkafka has
/// no other interface to its property table than printing it to a C
/// `FILE *`, so the stream is made, read and closed through libc.
fn properties_table() -> Option<String> {
    // SAFETY: `tmpfile` returns a stream this block owns, or NULL (checked
    // before any use). librdkafka only writes to it; it is rewound, read
    // into a buffer whose length is the size given to `fread`, and closed
    // exactly once, on every path after it was opened.
    #[allow(unsafe_code)]
    let text = unsafe {
        let fp = libc::tmpfile();
        if fp.is_null() {
            None
        } else {
            rdkafka::bindings::rd_kafka_conf_properties_show(fp);
            let mut text = Vec::new();
            if libc::fflush(fp) == 0 {
                libc::rewind(fp);
                let mut buf = [0u8; 16 * 1024];
                loop {
                    let n = libc::fread(buf.as_mut_ptr().cast(), 1, buf.len(), fp);
                    if n == 0 {
                        break;
                    }
                    text.extend_from_slice(&buf[..n]);
                }
            }
            libc::fclose(fp);
            Some(text)
        }
    }?;
    String::from_utf8(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_linked_librdkafka() {
        let names = property_names();
        for known in [
            "bootstrap.servers",
            "ssl.key.password",
            "sasl.oauthbearer.client.secret",
            // Topic-level and alias names too.
            "acks",
            "request.required.acks",
            "linger.ms",
        ] {
            assert!(names.iter().any(|n| n == known), "{known} in {names:?}");
        }
        assert!(names.len() > 150, "{} names", names.len());
        assert!(!names.iter().any(|n| n == "Property" || n.contains(' ')));
    }

    #[test]
    fn keys_are_checked_one_by_one_against_librdkafka() {
        assert_eq!(check("client.id", "x"), Ok(()));
        assert_eq!(check("fetch.min.bytes", "1"), Ok(()));
        assert_eq!(check("acks", "all"), Ok(()));
        let e = check("ssl.key.pasword", "hunter2-secret").unwrap_err();
        assert!(e.contains("did you mean `ssl.key.password`?"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = check("Client.Id", "x").unwrap_err();
        assert!(e.contains("did you mean `client.id`?"), "{e}");
        let e = check("completely.made.up.thing", "x").unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
        assert!(e.contains("CONFIGURATION.md"), "{e}");
    }

    #[test]
    fn invalid_values_are_named_without_the_value() {
        // A value of a key that is not secret: hidden as a word only, so
        // the numbers of the reason stay readable.
        let e = check("fetch.min.bytes", "0").unwrap_err();
        assert!(e.contains("`fetch.min.bytes`"), "{e}");
        assert!(
            e.contains("value *** is") && e.contains("1..100000000"),
            "{e}"
        );
        let e = check("auto.offset.reset", "sometime-later").unwrap_err();
        assert!(!e.contains("sometime-later") && e.contains("***"), "{e}");
        // A secret this build refuses: librdkafka's reason does not quote
        // the value, so it is shown.
        let e = check("sasl.oauthbearer.client.secret", "hunter2-secret").unwrap_err();
        assert!(e.contains("`sasl.oauthbearer.client.secret`"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn a_secret_reason_that_quotes_the_value_is_left_out() {
        let e = KafkaError::ClientConfig(
            RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "Invalid value \"hunter2\" for configuration property \"sasl.password\"".into(),
            "sasl.password".into(),
            "hunter2".into(),
        );
        let shown = describe(&e, &Redactor::default());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("`sasl.password`"), "{shown}");
        assert!(shown.contains("not shown"), "{shown}");
    }

    #[test]
    fn redaction_hides_secrets_and_the_value_an_error_is_about() {
        let r = Redactor::new([
            ("sasl.password", "hunter2-pw"),
            ("sasl.username", "svc-user"),
            ("ssl.key.password", "k3y-pass"),
            ("client.id", "x"),
        ]);
        assert_eq!(
            r.redact("auth failed for svc-user with hunter2-pw, k3y-pass"),
            "auth failed for svc-user with ***, ***"
        );
        // Inside other text too: a secret is hidden wherever it occurs.
        assert_eq!(r.redact("xhunter2-pwx"), "x***x");
        assert!(!r.reveals("client.id x"));
        let about = r.clone().about("client.id", "x");
        assert_eq!(
            about.redact("value x of client.id, max.x, x1, \"x\""),
            "value *** of client.id, max.x, x1, \"***\""
        );
        let about = r.about("sasl.oauthbearer.client.secret", "s3cr3t-value");
        assert_eq!(about.redact("value s3cr3t-value"), "value ***");
    }

    #[test]
    fn redaction_hides_the_secret_pieces_librdkafka_quotes() {
        let r = Redactor::new([(
            "sasl.oauthbearer.config",
            "principal=svc bogus clientSecret=t0p-s3cret scope=a",
        )]);
        assert_eq!(
            r.redact("Unrecognized sasl.oauthbearer.config beginning at: bogus clientSecret=t0p-s3cret scope=a"),
            "Unrecognized sasl.oauthbearer.config beginning at: *** *** ***"
        );
        assert_eq!(r.redact("secret t0p-s3cret"), "secret ***");
        // Short pieces stay: hiding `a` would garble every message.
        assert_eq!(r.redact("scope a"), "scope a");
        // The whole value, whatever its length.
        assert_eq!(Redactor::new([("sasl.password", "pw")]).redact("pw"), "***");
        assert_eq!(Redactor::new([("sasl.password", "")]).redact("x"), "x");
    }

    #[test]
    fn describe_redacts_every_other_error() {
        let r = Redactor::new([("sasl.password", "hunter2-pw")]);
        let e = KafkaError::ClientCreation("cannot log in with hunter2-pw".into());
        assert_eq!(
            describe(&e, &r),
            "Client creation error: cannot log in with ***"
        );
    }

    #[test]
    fn a_misspelt_key_suggests_the_nearest_property() {
        let names: Vec<String> = ["client.id", "client.rack", "group.id"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(suggestion("clinet.id", &names), Some("client.id"));
        assert_eq!(suggestion("GROUP.ID", &names), Some("group.id"));
        assert_eq!(suggestion("topic.blah", &names), None);
    }
}
