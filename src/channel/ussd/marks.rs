//! What a session remembers of the cumulative texts it has applied.
//!
//! # Invariant
//!
//! Nothing stored here can be tried against a secret answer (a PIN,
//! password or OTP typed on a masked screen): for each applied text the
//! record keeps its length and a hash of it *with every secret answer
//! replaced by its length*, and the byte ranges those answers occupy. A
//! 4-digit PIN hashed with a known prefix falls to 10,000 tries; left out,
//! there is nothing to try it against, sealed record or not (DESIGN.md: a
//! snapshot never carries a secret that has been sent).
//!
//! Apart from that, [`TextMarks::extract`] is [`extract`](super::input::extract)
//! against every text applied so far: it recovers each new answer and
//! recognises a retry of any earlier hop. Secret answers are compared by
//! length only, which a gateway's cumulative texts never need more than:
//! each text extends the last one, so two texts of the same length at the
//! same hop differ only if the gateway rewrote what was typed.

use super::input::{last_segment, split_segments, Extracted};
use serde::{Deserialize, Serialize};

/// The applied texts as lengths and hashes, never the text itself, which
/// holds every PIN and OTP typed so far.
///
/// Enough for the suffix-diff rule (the new input follows the last applied
/// text and a `*`) and for recognising a late retry of *any* earlier hop: a
/// gateway re-sending `1*1` after `1*1*user_otp` was applied must get the
/// current screen, never have its text taken as a new answer (sent to the
/// bank as a password, three of which lock the user).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextMarks {
    /// `(length, hash)` of each applied text, oldest first.
    marks: Vec<(u32, u32)>,
    /// Byte ranges `[start, end)` of the secret answers in the texts.
    secret: Vec<(u32, u32)>,
}

/// Hops remembered for retry detection; a session longer than this still
/// extracts input from the last one. Secret answers are all kept, not
/// capped: every later text contains them (so they outlive the marks), a
/// secret answer left out of the ranges would be hashed whole, and there
/// are never more than one telecom session's hops of them (a re-dial
/// starts the marks again).
const MAX_MARKS: usize = 32;

impl TextMarks {
    /// No hop seen yet.
    pub fn new() -> Self {
        TextMarks::default()
    }

    /// True before the first hop.
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// Records `text` as applied; `secret` when its answer was typed on a
    /// masked screen (a PIN, password or OTP), which then counts by its
    /// length only.
    pub fn push(&mut self, text: &str, secret: bool) {
        if secret {
            // The answer is what extraction took: after the last text and
            // its `*`, or the last segment of a text that did not extend it.
            let start = self
                .answer_at(text)
                .unwrap_or_else(|| text.len() - last_segment(text).len());
            self.secret.push((clamp(start), clamp(text.len())));
        }
        if self.marks.len() == MAX_MARKS {
            self.marks.remove(0);
        }
        let mark = self.mark(text);
        self.marks.push(mark);
    }

    /// [`extract`](super::input::extract) against the remembered texts:
    /// `Duplicate` for the last text *or any earlier one* (a late retry),
    /// else the suffix after the last text and its `*`.
    pub fn extract(&self, text: &str) -> Extracted {
        if self.marks.is_empty() {
            return Extracted::Begin {
                prefill: split_segments(text),
            };
        }
        if self.marks.contains(&self.mark(text)) {
            return Extracted::Duplicate;
        }
        match self.answer_at(text) {
            Some(start) => Extracted::Input(text[start..].to_owned()),
            None => Extracted::Lost {
                input: last_segment(text).to_owned(),
            },
        }
    }

    /// Where this hop's answer starts in `text` when it extends the last
    /// applied text (`None`: it does not).
    fn answer_at(&self, text: &str) -> Option<usize> {
        let &(last_len, last_hash) = self.marks.last()?;
        if last_len == 0 {
            // The first reply has no separator in front of it.
            return Some(0);
        }
        let cut = last_len as usize;
        let extends = text.len() > cut
            && text.is_char_boundary(cut)
            && self.mark(&text[..cut]) == (last_len, last_hash)
            && text.as_bytes()[cut] == b'*';
        extends.then_some(cut + 1)
    }

    /// Length and a 32-bit FNV-1a hash of `text` with each secret answer
    /// replaced by `0xFF` and its length (no UTF-8 text holds `0xFF`, so
    /// nothing typed hashes like a left-out answer). Not a secret-keeping
    /// hash: it only has to tell this session's few texts apart, and with
    /// no secret answer it is the plain hash records always held.
    fn mark(&self, text: &str) -> (u32, u32) {
        let bytes = text.as_bytes();
        let mut hash: u32 = 0x811c_9dc5;
        let mut feed = |b: u8| {
            hash ^= u32::from(b);
            hash = hash.wrapping_mul(0x0100_0193);
        };
        let mut at = 0;
        while at < bytes.len() {
            let secret = self
                .secret
                .iter()
                .find(|&&(start, end)| start as usize == at && end as usize > at);
            match secret {
                Some(&(_, end)) => {
                    let end = (end as usize).min(bytes.len());
                    feed(0xff);
                    clamp(end - at)
                        .to_le_bytes()
                        .into_iter()
                        .for_each(&mut feed);
                    at = end;
                }
                None => {
                    feed(bytes[at]);
                    at += 1;
                }
            }
        }
        (clamp(text.len()), hash)
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// As stored: the marks alone while no answer was secret (the form every
/// record had before secret answers were left out, so those records read
/// unchanged and most records keep it), else both lists.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Stored {
    Plain(Vec<(u32, u32)>),
    WithSecrets {
        marks: Vec<(u32, u32)>,
        secret: Vec<(u32, u32)>,
    },
}

impl Serialize for TextMarks {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.secret.is_empty() {
            return self.marks.serialize(serializer);
        }
        Stored::WithSecrets {
            marks: self.marks.clone(),
            secret: self.secret.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TextMarks {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Plain(marks) => TextMarks {
                marks,
                secret: Vec::new(),
            },
            Stored::WithSecrets { marks, secret } => TextMarks { marks, secret },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_fnv(text: &str) -> u32 {
        TextMarks::new().mark(text).1
    }

    /// The same table as [`extract`](super::super::input::extract)'s, through marks.
    #[test]
    fn marks_extract_like_the_text_rule() {
        let mut m = TextMarks::new();
        assert_eq!(m.extract(""), Extracted::Begin { prefill: vec![] });
        m.push("", false);
        assert_eq!(m.extract(""), Extracted::Duplicate);
        assert_eq!(m.extract("1"), Extracted::Input("1".into()));
        m.push("1", false);
        assert_eq!(m.extract("1*2"), Extracted::Input("2".into()));
        m.push("1*2", false);
        assert_eq!(m.extract("1*2*12*34"), Extracted::Input("12*34".into()));
        assert_eq!(m.extract("1*2*"), Extracted::Input("".into()));
        assert_eq!(m.extract("9*9"), Extracted::Lost { input: "9".into() });
    }

    /// Finding: a late gateway retry of an earlier hop (`1*1` after
    /// `1*1*user_otp`) is a duplicate, not a password.
    #[test]
    fn a_late_retry_of_any_earlier_hop_is_a_duplicate() {
        let mut m = TextMarks::new();
        for text in ["", "1", "1*1", "1*1*user_otp"] {
            m.push(text, false);
        }
        for late in ["", "1", "1*1", "1*1*user_otp"] {
            assert_eq!(m.extract(late), Extracted::Duplicate, "{late:?}");
        }
        assert_eq!(
            m.extract("1*1*user_otp*pass_good"),
            Extracted::Input("pass_good".into())
        );
        // The marks hold no typed text.
        let json = serde_json::to_string(&m).unwrap();
        assert!(!json.contains("user_otp"), "{json}");
    }

    /// Finding (review, 2026-12-04): each mark was an unkeyed hash of the
    /// whole text, PIN included, with the text before it known from the
    /// previous mark: the stored record gave a 4-digit PIN back in 10,000
    /// hash tries. Now no stored value matches any candidate PIN, while
    /// extraction and retries work as before.
    #[test]
    fn a_secret_answer_cannot_be_tried_against_the_stored_marks() {
        let mut m = TextMarks::new();
        for text in ["", "1", "4", "4*0801234567"] {
            m.push(text, false);
        }
        m.push("4*0801234567*2580", true);
        m.push("4*0801234567*2580*1", false);
        let stored = serde_json::to_string(&m).unwrap();
        assert!(!stored.contains("2580"), "{stored}");
        let back: TextMarks = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, m);
        let hashes: Vec<u32> = back.marks.iter().map(|&(_, h)| h).collect();
        for pin in 0..10_000 {
            for tail in ["", "*1"] {
                let guess = plain_fnv(&format!("4*0801234567*{pin:04}{tail}"));
                assert!(!hashes.contains(&guess), "PIN {pin:04} matches a mark");
            }
        }
        // Extraction and retry detection are unchanged.
        assert_eq!(
            back.extract("4*0801234567*2580*1*3"),
            Extracted::Input("3".into())
        );
        for late in ["4*0801234567", "4*0801234567*2580", "4*0801234567*2580*1"] {
            assert_eq!(back.extract(late), Extracted::Duplicate, "{late:?}");
        }
    }

    /// Finding (review of this change, 2026-12-04): past a cap of 32 secret
    /// answers, later ones were hashed whole. There is no cap: after 100 of
    /// them the last is still left out, and extraction and retries go on.
    #[test]
    fn after_many_secret_answers_the_last_is_still_left_out() {
        let mut m = TextMarks::new();
        m.push("", false);
        m.push("1", false);
        let mut text = String::from("1");
        for i in 0..100 {
            text = format!("{text}*{:04}", 1000 + i);
            assert_eq!(
                m.extract(&text),
                Extracted::Input(format!("{:04}", 1000 + i))
            );
            m.push(&text, true);
        }
        // Trying every 4-digit answer against the last mark, with the
        // ranges the record holds (all someone with the record has), must
        // not single one out.
        let (prefix, _) = text.rsplit_once('*').unwrap();
        let last = *m.marks.last().unwrap();
        let matching = (0..10_000)
            .filter(|pin| m.mark(&format!("{prefix}*{pin:04}")) == last)
            .count();
        assert_ne!(matching, 1, "the last answer is singled out");
        assert_eq!(
            m.extract(&format!("{text}*9")),
            Extracted::Input("9".into())
        );
        assert_eq!(m.extract(&text), Extracted::Duplicate);
    }

    /// Records written before secret answers were left out hold the plain
    /// list, and read as marks with no secret answer; marks with none are
    /// still written that way (the stored form most records keep).
    #[test]
    fn marks_without_a_secret_answer_keep_the_earlier_stored_form() {
        let mut m = TextMarks::new();
        m.push("", false);
        m.push("1", false);
        let stored = serde_json::to_string(&m).unwrap();
        assert_eq!(
            stored,
            format!("[[0,{}],[1,{}]]", plain_fnv(""), plain_fnv("1"))
        );
        let earlier: TextMarks = serde_json::from_str(&stored).unwrap();
        assert_eq!(earlier.extract("1*2"), Extracted::Input("2".into()));
    }
}
