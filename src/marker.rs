//! Markers: unique strings an identity writes into the resources it creates or changes, so that
//! finding one of them in someone else's response is evidence rather than a guess.
//!
//! Shape: `tfz` + a 5-character run tag + one owner character + a 6-character serial, all
//! lowercase ASCII letters and digits (15 characters), so it survives validation of names and
//! titles and case-folding search. The run tag is random per campaign, never derived from the
//! seed: a server that cannot be reset still holds the markers of earlier runs, and those must
//! never count as evidence. The owner's *stem* (the first 9 characters) is a search term that
//! matches everything the owner wrote in this run and nothing else.

use std::sync::atomic::{AtomicU64, Ordering};

/// Total length of a marker.
pub const MARKER_LEN: usize = 15;
const PREFIX: &str = "tfz";
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Makes and recognises the markers of one campaign run.
#[derive(Debug)]
pub struct Markers {
    run: String,
    serial: AtomicU64,
    /// `tfz` + the run tag, and a searcher for it built once: every answer is searched.
    head: memchr::memmem::Finder<'static>,
}

impl Markers {
    /// A marker factory with a random run tag.
    pub fn new() -> Self {
        let raw = uuid::Uuid::new_v4().as_u128();
        Markers::with_run(&encode(raw as u64, 5))
    }

    /// A marker factory with a given 5-character run tag (tests).
    pub fn with_run(run: &str) -> Self {
        let run: String = run.chars().take(5).collect();
        let head = memchr::memmem::Finder::new(format!("{PREFIX}{run}").as_bytes()).into_owned();
        Markers {
            run,
            serial: AtomicU64::new(0),
            head,
        }
    }

    /// The run tag.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// The stem of `owner`'s markers: a search term for all of them.
    pub fn stem(&self, owner: usize) -> String {
        let mut s = String::with_capacity(MARKER_LEN);
        s.push_str(PREFIX);
        s.push_str(&self.run);
        s.push(owner_char(owner));
        s
    }

    /// A fresh marker owned by `owner` (an index: identities first, anonymous last).
    pub fn fresh(&self, owner: usize) -> String {
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        // Spread serials so consecutive markers differ in more than their last character.
        let mixed = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
        let mut s = self.stem(owner);
        push_encoded(&mut s, mixed, 6);
        s
    }

    /// Every marker of this run in `text`, with its owner index.
    pub fn find_all(&self, text: &str) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        self.find_into(text, &mut out);
        out
    }

    /// Every marker of this run in the request of `exchange` (its URL, headers and body).
    pub fn find_in_request(&self, exchange: &crate::exchange::Exchange) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        exchange.request_parts(|part| self.find_into(part, &mut out));
        out
    }

    /// Adds the markers in `text` not in `out` yet.
    fn find_into(&self, text: &str, out: &mut Vec<(String, usize)>) {
        let head = self.head.needle();
        let bytes = text.as_bytes();
        let mut from = 0;
        while let Some(pos) = self.head.find(&bytes[from..]) {
            let start = from + pos;
            let end = start + MARKER_LEN;
            from = start + head.len();
            if end > bytes.len() {
                break;
            }
            // Check the bytes before slicing: the text after a marker's head may be anything,
            // a multi-byte character among it (a server's answer is not ours to trust).
            if !bytes[start + head.len()..end]
                .iter()
                .all(|b| ALPHABET.contains(b))
            {
                continue;
            }
            let candidate = &text[start..end];
            // A longer alphanumeric run is not our marker (it only starts like one).
            if bytes.get(end).is_some_and(|b| ALPHABET.contains(b)) {
                continue;
            }
            let owner = owner_index(candidate.as_bytes()[head.len()]);
            if let Some(owner) = owner {
                if !out.iter().any(|(m, _)| m == candidate) {
                    out.push((candidate.to_string(), owner));
                }
            }
        }
    }
}

impl Default for Markers {
    fn default() -> Self {
        Self::new()
    }
}

fn owner_char(owner: usize) -> char {
    ALPHABET[owner % ALPHABET.len()] as char
}

fn owner_index(c: u8) -> Option<usize> {
    ALPHABET.iter().position(|a| *a == c)
}

fn encode(n: u64, len: usize) -> String {
    let mut s = String::with_capacity(len);
    push_encoded(&mut s, n, len);
    s
}

/// Appends `len` characters of the alphabet that spell `n` (lowest digit first).
fn push_encoded(s: &mut String, mut n: u64, len: usize) {
    for _ in 0..len {
        s.push(ALPHABET[(n % 36) as usize] as char);
        n /= 36;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_marker_head_before_multibyte_text_is_no_marker() {
        let m = Markers::with_run("qzq01");
        let real = m.fresh(1);
        let text = format!("[\"tfzqzq01a\",\"\u{e5ed6}'\u{9d86e}\"] {real}");
        assert_eq!(m.find_all(&text), vec![(real, 1)]);
        assert!(
            m.find_all("tfzqzq01\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}")
                .is_empty()
        );
    }

    #[test]
    fn fresh_markers_are_unique_and_recognised() {
        let m = Markers::with_run("r4nd0");
        let a = m.fresh(0);
        let b = m.fresh(0);
        let c = m.fresh(1);
        assert_ne!(a, b);
        assert_eq!(a.len(), MARKER_LEN);
        assert!(a.starts_with(&m.stem(0)));
        assert!(c.starts_with(&m.stem(1)));
        let text = format!("{{\"title\":\"{a}\",\"x\":\"--{c}--\",\"y\":\"{b}z\"}}");
        let found = m.find_all(&text);
        assert_eq!(found, vec![(a, 0), (c, 1)]);
    }

    #[test]
    fn other_runs_are_ignored() {
        let old = Markers::with_run("old00");
        let m = Markers::with_run("new00");
        assert!(m.find_all(&old.fresh(0)).is_empty());
        // The stem alone (an echoed search term) is not a marker.
        assert!(m.find_all(&format!("q={}", m.stem(0))).is_empty());
    }

    #[test]
    fn markers_anywhere_in_a_request_are_found_once() {
        let m = Markers::with_run("req01");
        let (a, b, c, d) = (m.fresh(0), m.fresh(1), m.fresh(2), m.fresh(3));
        let exchange = crate::exchange::Exchange {
            url: format!("http://h/x/{a}?q={b}"),
            request_headers: vec![("x-note".into(), format!("<{c}>"))],
            request_body: Some(serde_json::json!({
                "title": format!("{d} and {a}"),
                d.clone(): [1, {"deep": c}],
                "long": format!("{b}x"),
            })),
            ..Default::default()
        };
        let found: Vec<String> = m
            .find_in_request(&exchange)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(found, vec![a.clone(), b, c.clone(), d.clone()]);
        assert!(exchange.request_contains(&d));
        assert!(!exchange.request_contains(&m.fresh(0)));
    }

    proptest! {
        #[test]
        fn any_text_around_a_marker_still_finds_it(prefix in "[^a-z0-9]{0,8}", suffix in "[^a-z0-9]{0,8}") {
            let m = Markers::with_run("abcde");
            let mark = m.fresh(2);
            let found = m.find_all(&format!("{prefix}{mark}{suffix}"));
            prop_assert_eq!(found, vec![(mark, 2)]);
        }
    }
}
