//! Bounds on the lists and structures a partner reply makes the flow keep.
//!
//! `dialect::text` bounds single strings; this bounds what holds many of
//! them. A session record is capped at 256 KB (and meant to stay near
//! 16 KB); it holds one form or one account list at a time, copied from the
//! partner's reply. A reply with 10,000 fields, options or accounts would
//! make the session unsaveable after a non-idempotent login, and the bank's
//! answer would be lost. So:
//!
//! - a list past its cap is **refused** as a malformed reply: dropping form
//!   fields, options, challenges or accounts would silently change what the
//!   person answers or links (the bank would refuse an answer with a field
//!   missing; the account they want might be the one dropped);
//! - display text (titles, hints, option labels, unknown type names) is
//!   **cut** with [`clip`](super::text::clip);
//! - what is sent back exactly (field names, option values) is **refused**
//!   when absurdly long ([`echoed`]), and so is a field's `value` (a captcha
//!   image cut is a broken image);
//! - keys we do not model (`extra`) are kept while they fit a small budget
//!   and the rest left out: the flow never reads them, they only round-trip
//!   to a front-end;
//! - and whatever is left must serialize within [`MAX_KEPT_BYTES`], else it
//!   is refused: a backstop that holds whatever the per-item caps allow.
//!
//! Each cap is far above what a real bank sends, so only a broken or hostile
//! reply meets one.

use super::text::{clip_owned, echoed, MAX_CODE_CHARS, MAX_MESSAGE_CHARS};
use crate::flow::{Account, CallError};
use crate::form::{ContentType, Extra, Field, FieldKind, Form};
use serde::Serialize;
use std::io;

/// Most fields on one form. Real login and MFA forms have one to four
/// (username, password, captcha; an OTP); 32 leaves room for any plausible
/// "verify your identity" screen.
pub(super) const MAX_FORM_FIELDS: usize = 32;

/// Most options on one choice field. Real ones are a handful ("where should
/// we send the code?": phone, email); 100 covers even a list of branches.
pub(super) const MAX_FIELD_OPTIONS: usize = 100;

/// Most accounts in one account choice (Mono `101`, Flinks' summary). A
/// person holds a few accounts at a bank, a business a few dozen; 100 is
/// more than any account picker could show.
pub(super) const MAX_ACCOUNTS: usize = 100;

/// Most security challenges in one Flinks `203`. Banks ask one question at
/// a time, sometimes two or three; 16 is far past any real one.
pub(super) const MAX_CHALLENGES: usize = 16;

/// Most institutions in one catalogue. Mono lists around a hundred banks
/// across its countries; 1,000 is ten times that. Kept in memory for every
/// flow of a process and sent whole to the link page, so a list past it is
/// refused rather than cut (a cut list would hide banks without a word).
pub(super) const MAX_INSTITUTIONS: usize = 1000;

/// Most auth methods of one institution. Mono knows four kinds (internet and
/// mobile banking, manual, USSD); 16 leaves room for new ones.
pub(super) const MAX_AUTH_METHODS: usize = 16;

/// Longest field `value`, in bytes: a captcha image as a `data:` URL, or a
/// default value. A captcha PNG is a few KB (the sandbox's, uncompressed, is
/// about 8 KB as base64); 32 KiB is four times that.
pub(super) const MAX_FIELD_VALUE_BYTES: usize = 32 * 1024;

/// Longest institution icon kept, in bytes. An icon is an https URL of a
/// hundred bytes, or at most a small inline `data:` image; the catalogue is
/// sent to every link page, so a bigger one is left out (the bank is listed
/// without its icon, as one without an `icon` key).
pub(super) const MAX_ICON_BYTES: usize = 4 * 1024;

/// Bytes of unmodelled keys (`extra`, as JSON) kept per object: a form, a
/// field, an account, an institution or an auth method. Real ones carry a
/// few short keys (`products`, `scope`, `bvn`), well under it.
pub(super) const MAX_EXTRA_BYTES: usize = 1024;

/// Largest form or account list a reply may leave in the flow, as JSON. The
/// record holds one at a time beside a few KB of session, channel and event
/// state, so half the 256 KB record cap always saves. Real ones are far
/// smaller (a form under 1 KB, 10 KB with a captcha; ten accounts about
/// 2 KB), but the caps above must compose: 32 fields or 16 questions of 100
/// short options each is over 100 KB, and is kept.
pub(super) const MAX_KEPT_BYTES: usize = 128 * 1024;

/// Refuses a list of `len` items past `max`; `what` names the items.
pub(super) fn at_most(len: usize, max: usize, what: &str) -> Result<(), CallError> {
    if len <= max {
        Ok(())
    } else {
        Err(CallError::Malformed(format!("more than {max} {what}")))
    }
}

/// A form from a partner reply, bounded as the module says: `Err` when a list
/// is past its cap, a sent-back string is absurdly long, or the whole is
/// still too big to keep.
pub(super) fn form(mut form: Form) -> Result<Form, CallError> {
    at_most(form.fields.len(), MAX_FORM_FIELDS, "form fields")?;
    form.title = clip_owned(std::mem::take(&mut form.title), MAX_MESSAGE_CHARS);
    extra(&mut form.extra);
    for f in &mut form.fields {
        field(f)?;
    }
    fits(&form, "form")?;
    Ok(form)
}

fn field(f: &mut Field) -> Result<(), CallError> {
    // The name keys the value sent back: cut, it would be a different field.
    echoed(&f.name, "field name")?;
    at_most(f.options.len(), MAX_FIELD_OPTIONS, "options on a field")?;
    if f.value
        .as_ref()
        .is_some_and(|v| v.len() > MAX_FIELD_VALUE_BYTES)
    {
        return Err(CallError::Malformed(format!(
            "field value longer than {MAX_FIELD_VALUE_BYTES} bytes"
        )));
    }
    f.hint = clip_owned(std::mem::take(&mut f.hint), MAX_MESSAGE_CHARS);
    // Unknown type names are kept for a front-end that knows them; cut like
    // any partner code (a cut one is still unknown, never a known kind).
    if let FieldKind::Unknown(kind) = &mut f.kind {
        *kind = clip_owned(std::mem::take(kind), MAX_CODE_CHARS);
    }
    if let ContentType::Unknown(kind) = &mut f.content_type {
        *kind = clip_owned(std::mem::take(kind), MAX_CODE_CHARS);
    }
    for option in &mut f.options {
        echoed(&option.value, "option value")?;
        option.label = clip_owned(std::mem::take(&mut option.label), MAX_MESSAGE_CHARS);
    }
    extra(&mut f.extra);
    Ok(())
}

/// An account list from a partner reply: refused past [`MAX_ACCOUNTS`] or
/// [`MAX_KEPT_BYTES`]. Never cut: the account a person wants may be the one
/// left out. Each account's own strings are bounded by its decoder.
pub(super) fn accounts(list: Vec<Account>) -> Result<Vec<Account>, CallError> {
    at_most(list.len(), MAX_ACCOUNTS, "accounts")?;
    fits(&list, "account list")?;
    Ok(list)
}

/// Keeps the unmodelled keys of `map` that fit, in the map's order, within
/// [`MAX_EXTRA_BYTES`] of JSON; leaves the others out. A key past the budget
/// on its own is always left out, and never stops smaller ones after it.
pub(super) fn extra(map: &mut Extra) {
    let mut left = MAX_EXTRA_BYTES;
    map.retain(|key, value| {
        let size = left
            .checked_sub(key.len())
            .and_then(|room| json_len_within(value, room))
            .map(|n| n + key.len());
        match size {
            Some(n) => {
                left -= n;
                true
            }
            None => false,
        }
    });
}

/// Refuses `value` when its JSON is over [`MAX_KEPT_BYTES`].
fn fits(value: &impl Serialize, what: &str) -> Result<(), CallError> {
    match json_len_within(value, MAX_KEPT_BYTES) {
        Some(_) => Ok(()),
        None => Err(CallError::Malformed(format!(
            "{what} larger than {} KiB",
            MAX_KEPT_BYTES / 1024
        ))),
    }
}

/// The length of `value` as JSON when it is at most `max` bytes, else
/// `None`. Counted as written and stopped at `max`, so a 1 MB value costs
/// no 1 MB copy; measured as JSON because that is what the record stores
/// (escapes included: a control character is six bytes there).
fn json_len_within(value: &impl Serialize, max: usize) -> Option<usize> {
    let mut counter = Counter { written: 0, max };
    // An error is the counter stopping (or a value that cannot be JSON,
    // which no partner reply holds): either way, not kept.
    serde_json::to_writer(&mut counter, value).ok()?;
    Some(counter.written)
}

/// An `io::Write` that only counts, and fails once past `max`.
struct Counter {
    written: usize,
    max: usize,
}

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written = self.written.saturating_add(buf.len());
        if self.written > self.max {
            Err(io::Error::other("over the bound"))
        } else {
            Ok(buf.len())
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Finding: a form's lists were kept whatever their length. At the caps
    /// a form is kept whole; one past either cap is refused.
    #[test]
    fn a_form_at_its_caps_is_kept_and_one_past_them_is_refused() {
        let options: Vec<(String, String)> = (0..MAX_FIELD_OPTIONS)
            .map(|i| (format!("{i}"), format!("Option {i}")))
            .collect();
        let mut fields: Vec<Field> = (1..MAX_FORM_FIELDS)
            .map(|i| Field::input(format!("f{i}"), "Hint"))
            .collect();
        fields.push(Field::choice("pick", "Pick", options.clone()));
        let at_caps = Form::new("T", fields.clone());
        assert_eq!(form(at_caps.clone()), Ok(at_caps));

        let mut too_many = fields.clone();
        too_many.push(Field::input("one_more", "Hint"));
        assert!(matches!(
            form(Form::new("T", too_many)),
            Err(CallError::Malformed(m)) if m == "more than 32 form fields"
        ));

        let mut options = options;
        options.push(("x".into(), "X".into()));
        let one_more_option = vec![Field::choice("pick", "Pick", options)];
        assert!(matches!(
            form(Form::new("T", one_more_option)),
            Err(CallError::Malformed(m)) if m == "more than 100 options on a field"
        ));
    }

    /// Finding: unmodelled keys were kept whatever their size. A huge one is
    /// left out; small ones, before or after it, stay.
    #[test]
    fn extra_keeps_what_fits_and_leaves_out_the_rest() {
        let mut map = Extra::new();
        map.insert("a_small".into(), json!(1));
        map.insert("b_huge".into(), Value::String("x".repeat(1_000_000)));
        map.insert("c_small".into(), json!({ "w": 2 }));
        map.insert("d".repeat(2000), Value::Null);
        extra(&mut map);
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(keys, ["a_small", "c_small"]);
    }

    /// Finding: per-item caps alone allow 32 fields of 32 KiB captcha
    /// images each, 1 MB in the session. Whatever the per-item caps allow,
    /// a form still over the backstop is refused.
    #[test]
    fn a_form_within_every_item_cap_but_too_big_to_keep_is_refused() {
        let image = "A".repeat(MAX_FIELD_VALUE_BYTES);
        let fields: Vec<Field> = (0..MAX_FORM_FIELDS)
            .map(|i| Field {
                kind: FieldKind::Captcha,
                value: Some(image.clone()),
                ..Field::input(format!("captcha{i}"), "Type the characters")
            })
            .collect();
        assert!(matches!(
            form(Form::new("T", fields)),
            Err(CallError::Malformed(m)) if m == "form larger than 128 KiB"
        ));
    }

    /// The backstop measures JSON as stored: escapes count.
    #[test]
    fn kept_size_counts_json_escapes() {
        // Under the bound in bytes, over it as JSON (`\u0001` is six bytes).
        let control = "\u{1}".repeat(MAX_KEPT_BYTES / 5);
        assert!(json_len_within(&control, MAX_KEPT_BYTES).is_none());
        assert_eq!(json_len_within(&"ab", 4), Some(4));
        assert_eq!(json_len_within(&"abc", 4), None);
    }
}
