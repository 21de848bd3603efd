//! The shape of a compact line: the bytes between its values, and what to
//! do with each value.
//!
//! Lines from one logger differ in their values, rarely in anything else.
//! Once the compact path has read a line, its shape is taken: the line cut
//! at each member's value into the bytes before it (`{"ts":`, then
//! `,"req":{"method":`, where the line descends into a wanted object, then
//! `,"path":`...) and what the scanner did with that value (skipped it, put
//! it in a slot, or handed it to its entry in the path tree). The next line
//! is first read along that shape: every piece of it compared whole, each
//! value read as the scanner read it there. The scanner would have found
//! the same keys at the same places, so it would have done the same; a line
//! that differs anywhere is read the usual way.

use super::compact::{key, skip};
use super::json::MAX_DEPTH;
use super::paths::{prefix_at, Entry, PathTree};

/// Bytes of a line compared in one step: a longer piece takes several.
pub const STEP_BYTES: usize = 16;

/// The pieces of a line, in order.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub steps: Vec<Step>,
}

/// A piece of a line: up to [`STEP_BYTES`] bytes, then what to do next.
#[derive(Debug, Clone)]
pub struct Step {
    /// The bytes, little-endian, zero-padded.
    pub bytes: u128,
    /// Ones over the bytes.
    pub mask: u128,
    pub len: usize,
    /// The depth of the value after the bytes, as the scanner counts it.
    pub depth: usize,
    pub action: Action,
}

/// What follows a piece of a line.
#[derive(Debug, Clone)]
pub enum Action {
    /// More bytes: the piece goes on in the next step.
    More,
    /// An unwanted value.
    Skip,
    /// A value for this one slot (the entry's `plain` slot).
    Plain(usize),
    /// A value for this entry: the timestamp, several slots, or a key with
    /// a child (an object there is descended into, which this shape did not
    /// do: such a line is read the usual way).
    Entry(Box<Entry>),
    /// The end of the line.
    End,
}

impl Step {
    /// This step's bytes as a slice, for the last few bytes of a line.
    pub fn bytes(&self) -> [u8; STEP_BYTES] {
        self.bytes.to_le_bytes()
    }
}

impl Shape {
    /// The shape of `text`, a line the compact path has read. `None` when
    /// a key both holds a value and is descended into (the object is a
    /// value of its own): such lines are not read along a shape.
    pub fn of(text: &str, tree: &PathTree) -> Option<Shape> {
        let mut shape = Shape::default();
        let mut from = 0;
        let end = shape.object(text, tree, 0, 0, &mut from, 0)?;
        (end == text.len()).then_some(())?;
        shape.push(&text.as_bytes()[from..end], 0, Action::End);
        Some(shape)
    }

    /// Walks the object at `i` of `node`, at `depth`, as the compact path
    /// reads it; `from` is where the current piece began. Returns the
    /// position past the object.
    fn object(
        &mut self,
        text: &str,
        tree: &PathTree,
        node: usize,
        mut i: usize,
        from: &mut usize,
        depth: usize,
    ) -> Option<usize> {
        let s = text.as_bytes();
        if depth + 1 >= MAX_DEPTH {
            return None;
        }
        let n = tree.nodes.get(node)?;
        i += 1;
        if *s.get(i)? == b'}' {
            return Some(i + 1);
        }
        loop {
            let (ks, ke, at) = key(s, i)?;
            let entry = n
                .index_with_prefix(prefix_at(s, ks, ke - ks), &s[ks..ke])
                .and_then(|w| n.entry(w));
            i = match entry {
                Some(e) if e.child.is_some() && s.get(at) == Some(&b'{') => {
                    if !e.slots.is_empty() {
                        return None;
                    }
                    self.object(text, tree, e.child?, at, from, depth + 1)?
                }
                _ => {
                    let action = match entry {
                        None => Action::Skip,
                        Some(Entry {
                            plain: Some(slot), ..
                        }) => Action::Plain(*slot),
                        Some(e) => Action::Entry(Box::new(e.clone())),
                    };
                    self.push(&s[*from..at], depth + 1, action);
                    let end = skip(text, at, depth + 1)?;
                    *from = end;
                    end
                }
            };
            match *s.get(i)? {
                b',' => i += 1,
                b'}' => return Some(i + 1),
                _ => return None,
            }
        }
    }

    /// Adds the piece `bytes`, then `action`, in steps of up to
    /// [`STEP_BYTES`] bytes.
    fn push(&mut self, bytes: &[u8], depth: usize, action: Action) {
        if bytes.is_empty() {
            self.steps.push(Step {
                bytes: 0,
                mask: 0,
                len: 0,
                depth,
                action,
            });
            return;
        }
        let mut chunks = bytes.chunks(STEP_BYTES).peekable();
        while let Some(chunk) = chunks.next() {
            let mut padded = [0u8; STEP_BYTES];
            padded[..chunk.len()].copy_from_slice(chunk);
            self.steps.push(Step {
                bytes: u128::from_le_bytes(padded),
                mask: u128::MAX >> (8 * (STEP_BYTES - chunk.len())),
                len: chunk.len(),
                depth,
                action: if chunks.peek().is_some() {
                    Action::More
                } else {
                    action.clone()
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::json::scan;
    use super::super::order::{KeyOrder, WORTH};
    use super::*;
    use crate::event::TIMESTAMP_SLOT;
    use crate::testing::xorshift as next;

    const SLOTS: usize = 10;

    fn tree() -> PathTree {
        let mut tree = PathTree::default();
        tree.insert("ts", TIMESTAMP_SLOT);
        tree.insert("req.method", 1);
        tree.insert("req.path", 2);
        tree.insert("res.status", 3);
        // One key into two slots, and one whose token is longer than a step.
        tree.insert("svc", 4);
        tree.insert("svc", 5);
        tree.insert("a_rather_long_key_name_here", 6);
        // A key that holds a value and is descended into as well.
        tree.insert("http", 7);
        tree.insert("http.route", 8);
        tree.insert("deep.er.still.x", 9);
        tree
    }

    /// A random value for a member, of any kind, sometimes one the compact
    /// path gives up on.
    fn value(x: &mut u64) -> String {
        let pool = [
            r#""GET""#,
            r#""/api/checkout/cart""#,
            r#""""#,
            r#""é and 日本""#,
            "0",
            "-12",
            "44.881",
            "1767225600123",
            "1.5e3",
            "123456789012345678",
            "true",
            "false",
            "null",
            r#""a \"quoted\" word""#,
            "[1,{\"a\":[]}]",
            r#"{"route":"/r","x":1}"#,
            r#"{"er":{"still":{"x":5}}}"#,
            "{}",
            "[]",
        ];
        // Mostly plain strings, numbers and literals, as loggers write.
        let kinds = if next(x) % 300 == 0 { pool.len() } else { 13 };
        pool[(next(x) % kinds as u64) as usize].to_string()
    }

    /// A line of one of a few key orders: runs of lines share an order, as
    /// a logger's lines do, with values drawn anew.
    fn line(x: &mut u64, order: usize, spaced: bool) -> String {
        let (colon, comma) = if spaced { (": ", ", ") } else { (":", ",") };
        let members: &[&str] = match order {
            0 => &["ts", "req", "res", "svc", "client", "ua"],
            1 => &["ts", "svc", "a_rather_long_key_name_here", "req", "ua"],
            2 => &["req", "http", "ts", "deep", "svc"],
            _ => &["ts", "res", "res", "svc", "req"],
        };
        let mut out = String::from("{");
        for (k, name) in members.iter().enumerate() {
            if k > 0 {
                out.push_str(comma);
            }
            let v = match *name {
                "ts" if next(x) % 300 != 0 => format!("{}", 1_767_225_600_000 + next(x) % 1000),
                "req" if next(x) % 300 != 0 => format!(
                    r#"{{"method"{colon}{}{comma}"path"{colon}{}{comma}"host"{colon}"h"}}"#,
                    value(x),
                    value(x)
                ),
                "res" if next(x) % 300 != 0 => format!(r#"{{"status"{colon}{}}}"#, value(x)),
                _ => value(x),
            };
            out.push_str(&format!("\"{name}\"{colon}{v}"));
        }
        out.push('}');
        out
    }

    /// Reading along shapes gives exactly what reading every line afresh
    /// gives: the same verdict, values and timestamp text, line after line,
    /// through runs of one key order, changes of order and spacing, and
    /// lines broken anywhere.
    #[test]
    fn lines_read_along_a_shape_decode_as_read_afresh() {
        let tree = tree();
        let mut x = 0x05A4_E0F1_17E5_u64;
        let mut order = KeyOrder::default();
        let (mut along, mut lines, mut order_of, mut spaced) = (0, 0, 0, false);
        for _ in 0..100_000 {
            if next(&mut x) % 300 == 0 {
                order_of = (next(&mut x) % 4) as usize;
                spaced = next(&mut x) % 4 == 0;
            }
            let mut bytes = line(&mut x, order_of, spaced).into_bytes();
            if next(&mut x) % 150 == 0 {
                let at = (next(&mut x) % bytes.len() as u64) as usize;
                let noise = b"\"\\{}[]:,0e-. x";
                match next(&mut x) % 3 {
                    0 => drop(bytes.remove(at)),
                    1 => bytes.insert(at, bytes[at]),
                    _ => bytes[at] = noise[(next(&mut x) % noise.len() as u64) as usize],
                }
            }
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            lines += 1;
            let had_shape = order.shape().is_some();
            let mut got = vec![None; SLOTS];
            let got_result = scan(&text, &tree, &mut got, &mut order);
            along += usize::from(had_shape && order.shape().is_some());
            let mut want = vec![None; SLOTS];
            let want_result = scan(&text, &tree, &mut want, &mut KeyOrder::default());
            assert_eq!(got_result, want_result, "{text}");
            assert_eq!(got, want, "{text}");
        }
        assert!(
            along > lines / 2,
            "{along} of {lines} lines read along a shape"
        );
    }

    /// The pieces of a line with its actions: long pieces split, nested
    /// objects descended into within a piece, the end closing the line.
    #[test]
    fn a_shape_cuts_the_line_at_its_values() {
        let tree = tree();
        let text =
            r#"{"ts":1,"req":{"method":"GET","x":[1]},"a_rather_long_key_name_here":2,"svc":"s"}"#;
        let shape = Shape::of(text, &tree).expect("a shape");
        let pieces: Vec<(String, String)> = shape
            .steps
            .iter()
            .map(|s| {
                let piece = String::from_utf8(s.bytes()[..s.len].to_vec()).expect("UTF-8");
                let action = match &s.action {
                    Action::More => "more".to_string(),
                    Action::Skip => "skip".to_string(),
                    Action::Plain(slot) => format!("slot {slot}"),
                    Action::Entry(e) => format!("entry {:?}", e.slots),
                    Action::End => "end".to_string(),
                };
                (piece, action)
            })
            .collect();
        let want = [
            (r#"{"ts":"#, "entry [0]"),
            (r#","req":{"method""#, "more"),
            (r#":"#, "slot 1"),
            (r#","x":"#, "skip"),
            (r#"},"a_rather_long"#, "more"),
            (r#"_key_name_here":"#, "slot 6"),
            (r#","svc":"#, "entry [4, 5]"),
            (r#"}"#, "end"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(p, a)| (p.to_string(), a.to_string()))
            .collect();
        assert_eq!(pieces, want);
        // The pieces and the values between them make the line again.
        assert_eq!(
            shape.steps.iter().map(|s| s.len).sum::<usize>(),
            text.len() - 13
        );
        // A key both kept and descended into gives no shape.
        assert!(Shape::of(r#"{"http":{"route":"/"}}"#, &tree).is_none());
        assert!(Shape::of(r#"{"http":"/"}"#, &tree).is_some());
    }

    /// Lines whose shape keeps changing soon stop taking shapes; a shape
    /// that paid for itself is taken again at once when it fails.
    #[test]
    fn shapes_that_keep_failing_are_taken_ever_more_rarely() {
        let tree = tree();
        let shape = Shape::of(r#"{"ts":1}"#, &tree).expect("a shape");
        let mut order = KeyOrder::default();
        let mut taken = 0;
        for _ in 0..20_000 {
            if order.shape().is_some() {
                order.shape_read(false);
            }
            if order.wants_shape() {
                taken += 1;
                order.set_shape(Some(shape.clone()));
            }
        }
        // Waits of 1, 2, 4 ... 4096 lines, then 4096 at a time.
        assert!((12..=20).contains(&taken), "{taken} shapes taken");
        // A shape that fitted enough lines is taken again at once.
        order.set_shape(Some(shape.clone()));
        for _ in 0..WORTH {
            order.shape_read(true);
        }
        order.shape_read(false);
        assert!(order.wants_shape());
        // One that fitted fewer waits a line, then two.
        order.set_shape(Some(shape.clone()));
        order.shape_read(true);
        order.shape_read(false);
        assert!(!order.wants_shape() && order.wants_shape());
        // A line that gives no shape counts as a failure.
        order.set_shape(None);
        assert!(!order.wants_shape() && !order.wants_shape() && order.wants_shape());
    }
}
