//! Bounds on the text a partner sends that a reply keeps.
//!
//! Whatever a dialect keeps ends up in flow state, events and stored session
//! records (capped in size), often more than once: a failure's message and
//! code are copied onto its event. One oversized string in a partner reply
//! would make the session unsaveable, losing the bank's answer to a
//! non-idempotent login. So every partner string a reply keeps is bounded
//! here: free text and codes are cut (a shorter sentence or code still says
//! what happened), identifiers that are sent back are refused when absurdly
//! long (a cut one would be wrong, and silently). Lists and whole forms are
//! bounded in `dialect::bounds`, with these helpers.

use crate::flow::CallError;

/// Longest partner message passed on, in characters: a message is for a
/// person, a longer one is a body we should not be echoing.
pub(super) const MAX_MESSAGE_CHARS: usize = 300;

/// Longest partner code or type name kept, in characters. Real ones are short
/// upper-case words (`INVALID_SECURITY_RESPONSE` is 25); 64 keeps any
/// plausible new one whole.
pub(super) const MAX_CODE_CHARS: usize = 64;

/// Longest identifier or prompt accepted from a partner, in bytes, when it
/// must be sent back exactly (a token, a RequestId, a security question that
/// keys its answer). Real ones are GUIDs or a sentence; anything near this is
/// not one, and refusing it is better than storing it.
pub(super) const MAX_ECHOED_BYTES: usize = 1024;

/// `text`, a value that goes back to the partner exactly (a token, a
/// RequestId, a LoginId, a session id, a code, a field name, an option),
/// when it is short enough to keep. A longer one is refused as a malformed
/// reply: cut, it would be wrong; kept, it would make the session too big to
/// save. `what` names it in the error.
pub(super) fn echoed<'a>(text: &'a str, what: &str) -> Result<&'a str, CallError> {
    if text.len() <= MAX_ECHOED_BYTES {
        Ok(text)
    } else {
        Err(CallError::Malformed(format!(
            "{what} longer than {MAX_ECHOED_BYTES} bytes"
        )))
    }
}

/// The first `max_chars` characters of `text`. A prefix by characters, so it
/// never ends inside a UTF-8 sequence; borrowed, so callers copy only what
/// they keep.
pub(super) fn clip(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        // `get` rather than indexing: the offset is a character boundary by
        // construction, and this reads partner bytes, so no path may panic.
        Some((end, _)) => text.get(..end).unwrap_or(text),
        None => text,
    }
}

/// [`clip`] for an owned string, without copying it.
pub(super) fn clip_owned(mut text: String, max_chars: usize) -> String {
    let end = clip(&text, max_chars).len();
    text.truncate(end);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding: partner strings were kept verbatim, unbounded; a bound that
    /// cut inside a character would corrupt (or, by indexing, panic on) the
    /// text a person reads.
    #[test]
    fn clipping_keeps_whole_characters_and_leaves_short_text_alone() {
        assert_eq!(clip("SHORT", MAX_CODE_CHARS), "SHORT");
        assert_eq!(clip("ééé", 2), "éé");
        assert_eq!(clip("a€b", 2), "a€");
        assert_eq!(clip_owned("日本語テキスト".to_owned(), 3), "日本語");
        assert_eq!(clip_owned("x".repeat(100_000), MAX_CODE_CHARS).len(), 64);
    }
}
