//! Input extraction: what the person typed on this hop.
//!
//! Cumulative gateways (Africa's Talking and its clones) send every input so
//! far joined with `*`, escaping nothing, so a typed `*` is indistinguishable
//! from a separator. Splitting on `*` and taking the last segment is wrong for
//! any input containing `*` (`12*34`, `****`). Instead we diff the new text
//! against the raw text of the previous hop (ussd.md §2.2): the new input is
//! whatever follows `prev + "*"`.
//!
//! # Invariant
//!
//! For any answer sequence `a1, a2, …, an` the gateway can actually
//! distinguish, feeding the cumulative texts `t0 = ""`, `t1 = a1`,
//! `tk = t(k-1) + "*" + ak` hop by hop (`extract(None, t0)`, then
//! `extract(Some(t(k-1)), tk)`) yields `Begin { prefill: [] }` followed by
//! exactly `Input(a1), …, Input(an)`, and re-feeding any `tk` as its own
//! `prev` yields `Duplicate`. "Distinguishable" excludes one case only: an
//! empty first answer, whose text `""` equals the first hop's and so is
//! reported as `Duplicate` (§2.2). Every later answer may be empty or contain
//! `*`, because the text always grows by at least the separator.
//!
//! The same holds after a non-empty (pre-dialled) first hop `t0`: every
//! answer after it is recovered, including an empty first one.

use std::borrow::Cow;

pub use super::marks::TextMarks;

/// What one cumulative hop carries, relative to the previous hop's raw text.
///
/// Its `Debug` withholds the input (a PIN, perhaps), showing its length.
#[derive(Clone, PartialEq, Eq)]
pub enum Extracted {
    /// No hop seen yet for this session: start the flow.
    Begin {
        /// Pre-dialled segments (`*384*123*1*2#` → `["1", "2"]`), empty on a
        /// normal first hop. Use at most as a bank pre-selection, never as a
        /// PIN, OTP or password (§2.4).
        prefill: Vec<String>,
    },
    /// The same text as the previous hop (a retry, or an empty first reply):
    /// re-send the last screen and do not advance or run side effects.
    Duplicate,
    /// The new input, verbatim: may be empty or contain `*`.
    Input(String),
    /// The text does not extend the stored one, so the session state is out
    /// of step with the gateway. `input` is the best guess (the last
    /// `*`-segment); the caller should log a warning.
    Lost {
        /// The last `*`-segment of the text.
        input: String,
    },
}

impl std::fmt::Debug for Extracted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use super::gateway::Withheld;
        match self {
            // Pre-dialled segments are never read as a secret (§2.4).
            Extracted::Begin { prefill } => {
                f.debug_struct("Begin").field("prefill", prefill).finish()
            }
            Extracted::Duplicate => f.write_str("Duplicate"),
            Extracted::Input(input) => f
                .debug_tuple("Input")
                .field(&Withheld(input.len()))
                .finish(),
            Extracted::Lost { input } => f
                .debug_struct("Lost")
                .field("input", &Withheld(input.len()))
                .finish(),
        }
    }
}

/// Applies the suffix-diff rule of ussd.md §2.2 to one hop.
///
/// `prev` is the raw `text` stored for this `(gateway, sessionId)` on the
/// previous hop, `None` if no hop has been seen. The caller stores `text` as
/// the new `prev` after every hop, whatever the result (the rule says so
/// even for `Lost`, so the next hop diffs against what the gateway holds).
///
/// | prev | text | result |
/// |---|---|---|
/// | none | `""` | `Begin { prefill: [] }` |
/// | `""` | `1` | `Input("1")` |
/// | `1` | `1*2` | `Input("2")` |
/// | `1*2` | `1*2*12*34` | `Input("12*34")` |
/// | `7*a*b` | `7*a*b*****` | `Input("****")` |
/// | `1` | `1*` | `Input("")` |
/// | `1*2` | `1*2` | `Duplicate` |
pub fn extract(prev: Option<&str>, text: &str) -> Extracted {
    let Some(prev) = prev else {
        return Extracted::Begin {
            prefill: split_segments(text),
        };
    };
    if text == prev {
        return Extracted::Duplicate;
    }
    if prev.is_empty() {
        // The first reply has no separator in front of it.
        return Extracted::Input(text.to_owned());
    }
    match text
        .strip_prefix(prev)
        .and_then(|rest| rest.strip_prefix('*'))
    {
        Some(input) => Extracted::Input(input.to_owned()),
        None => Extracted::Lost {
            input: last_segment(text).to_owned(),
        },
    }
}

/// The pre-dialled segments of a Hubtel-style `Initiation`: what follows the
/// service code in the dialled string.
///
/// `dialled_prefill("714*4", "*714*4*1*2#")` is `["1", "2"]`. Both arguments
/// may come with or without the leading `*` and trailing `#`, and surrounding
/// whitespace is ignored. When the dialled string does not start with the
/// service code (or either is empty) the result is empty: a mismatch says
/// nothing reliable about which segments the person added.
pub fn dialled_prefill(service_code: &str, dialled: &str) -> Vec<String> {
    let code = strip_code_marks(service_code);
    let dialled = strip_code_marks(dialled);
    if code.is_empty() {
        return Vec::new();
    }
    match dialled.strip_prefix(code) {
        Some(rest) => match rest.strip_prefix('*') {
            Some(rest) => split_segments(rest),
            // Either exactly the code, or a longer code that merely shares
            // its prefix (`*7145#` vs `714`): no pre-dialled input.
            None => Vec::new(),
        },
        None => Vec::new(),
    }
}

/// The pre-dialled segments of a first dial whose gateway sends no service
/// code (Arkesel, Nalo, Airtel, Sendexa), read against the codes this deployment
/// answers: what follows the longest of `codes` that the dialled string
/// starts with, segment by segment; `None` when no code matches.
///
/// `configured_prefill(&["*384*123#".into()], "*384*123*1#")` is
/// `Some(["1"])`, and `Some([])` for `*384*123#` itself. Longest first, so
/// `*384#` and `*384*123#` served together read `*384*123*1#` as the second
/// code and one segment. The marks are optional on both sides, so a dial
/// that lost its `*` (`384*123`) still matches. `None` says nothing matched:
/// which segments were the code's and which the person's is then unknown,
/// and a guess could pick the wrong bank.
pub fn configured_prefill(codes: &[String], dialled: &str) -> Option<Vec<String>> {
    let typed = strip_code_marks(dialled);
    codes
        .iter()
        .map(|code| strip_code_marks(code))
        .filter(|code| {
            !code.is_empty()
                && typed
                    .strip_prefix(code)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('*'))
        })
        .max_by_key(|code| code.len())
        .map(|code| dialled_prefill(code, dialled))
}

/// A USSD code as an operator prints it, checked and made canonical:
/// digits in `*`-separated segments, its leading `*` and closing `#`
/// optional (`*384*123#`, `384*123`, ` *544# `), as `*384*123#`. `None`
/// for anything else (a letter, a space or an empty segment inside, a
/// non-ASCII digit): such a code could never match what a handset dials.
pub fn parse_service_code(text: &str) -> Option<String> {
    let core = strip_code_marks(text);
    let digits = core
        .split('*')
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    (!core.is_empty() && digits).then(|| normalise_service_code(core))
}

/// Whether `input` is a dialled code: a `*`, then digits and `*`s
/// starting and ending with a digit, then a `#` or not — a gateway that
/// sends the `#` unencoded in its query loses it (a `#` starts the URL's
/// fragment). How Airtel's first hop and HollaTags' `begin` message are
/// told from answers. The `*` is required: an answer typed with a `#` after it
/// (`1#`, a habit on some handsets) stays an answer.
pub fn is_dialled_code(input: &str) -> bool {
    let Some(rest) = input.strip_prefix('*') else {
        return false;
    };
    let code = rest.strip_suffix('#').unwrap_or(rest);
    code.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && code.bytes().last().is_some_and(|b| b.is_ascii_digit())
        && code.bytes().all(|b| b.is_ascii_digit() || b == b'*')
}

/// A service code in the canonical `*…#` form (`714*4` → `*714*4#`), so
/// codes compare equal across gateways that send them with or without the
/// marks. Surrounding whitespace is removed; an empty code stays empty.
pub fn normalise_service_code(code: &str) -> String {
    normalised_service_code(Cow::Borrowed(code))
}

/// [`normalise_service_code`], keeping `code`'s own buffer when it is
/// already canonical: a form's `%2A384%23`, decoded, is not copied again.
pub(crate) fn normalised_service_code(code: Cow<'_, str>) -> String {
    let core = strip_code_marks(&code);
    if core.is_empty() {
        return String::new();
    }
    // Exactly one `*` and one `#` stripped, and nothing else: `*core#`.
    if code.len() == core.len() + 2 && code.starts_with('*') && code.ends_with('#') {
        return code.into_owned();
    }
    let mut out = String::with_capacity(core.len() + 2);
    out.push('*');
    out.push_str(core);
    out.push('#');
    out
}

/// Trims whitespace, leading `*`s and trailing `#`s.
fn strip_code_marks(code: &str) -> &str {
    code.trim().trim_start_matches('*').trim_end_matches('#')
}

/// The `*`-segments of a non-empty text, verbatim (empty segments kept so the
/// positions stay meaningful); an empty text has none.
pub(super) fn split_segments(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split('*').map(str::to_owned).collect()
}

/// The text after the last `*`, or the whole text if it has none.
pub(super) fn last_segment(text: &str) -> &str {
    text.rsplit_once('*').map_or(text, |(_, last)| last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Invariant: a code is `*`, its core (trimmed, its leading `*`s
        /// and trailing `#`s stripped) and `#`, or empty when the core is;
        /// the path that keeps an already canonical code's buffer gives
        /// the same as building it anew.
        #[test]
        fn a_service_code_is_its_core_between_the_marks(
            // Half of the cases shaped as gateways send a code (`*384*1#`,
            // the canonical path), half anything of its alphabet.
            code in prop_oneof!["\\*[0-9*]{0,6}#", "[ *#0-9]{0,9}"],
        ) {
            let core = code.trim().trim_start_matches('*').trim_end_matches('#');
            let want = if core.is_empty() { String::new() } else { format!("*{core}#") };
            prop_assert_eq!(normalised_service_code(Cow::Owned(code.clone())), want.clone());
            prop_assert_eq!(normalise_service_code(&code), want);
        }
    }

    #[test]
    fn a_dialled_code_is_told_from_an_answer() {
        // The `#` may be missing (a raw `#` is lost from a query).
        for code in ["*384*123#", "*544#", "*384*123*1#", "*384*123", "*12"] {
            assert!(is_dialled_code(code), "{code}");
        }
        for answer in [
            "", "1", "1#", "12#", "384*123#", "1234", "12*34", "*", "#", "*#", "**1#", "*1*#",
            "*abc#",
        ] {
            assert!(!is_dialled_code(answer), "{answer}");
        }
    }
}
