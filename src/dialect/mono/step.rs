//! The `responseCode` loop (mono.md §4): what Mono's `99`, `101`, `102` and
//! `400` mean, in the flow's terms. This is the one place that decides it.
//!
//! | Mono | flow |
//! |---|---|
//! | `99` + `data.code` | [`Step::Done`] with [`Linked::Code`](crate::flow::Linked::Code) |
//! | `101` + accounts | [`Step::ChooseAccount`] |
//! | `102` + `userInput` | [`Step::NeedsInput`] |
//! | `400` / `status: "failed"` | [`Step::Rejected`], sorted by [`classify_rejection`] |
//! | any other code | [`Step::Rejected`] as [`RejectionKind::Unrecognised`], with the code and Mono's message |

use super::json::{
    form_in, get, i64_of, is_failed, malformed, message, name_str, string_of, take, u64_of,
    word_str,
};
use crate::dialect::bounds::{self, at_most, extra, MAX_ACCOUNTS};
use crate::dialect::text::echoed;
use crate::flow::{Account, CallError, Rejection, RejectionKind, Step};
use serde_json::Value;

/// Sorts a Mono refusal by what a person can do about it.
///
/// A heuristic over the human-readable message, because Mono sends no machine
/// codes for login/commit failures (mono.md §8): a message mentioning
/// *locked, disabled, blocked, suspended* or *deactivated* is
/// [`RejectionKind::Final`]; one mentioning *session* together with *expired,
/// invalid* or *not found* is [`RejectionKind::SessionExpired`]; anything else
/// (wrong password, wrong OTP) is [`RejectionKind::Retry`], which the flow
/// bounds by its attempt limit anyway.
pub fn classify_rejection(message: &str) -> RejectionKind {
    let m = message.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&["locked", "disabled", "blocked", "suspended", "deactivated"]) {
        RejectionKind::Final
    } else if m.contains("session") && has(&["expired", "invalid", "not found"]) {
        RejectionKind::SessionExpired
    } else {
        RejectionKind::Retry
    }
}

pub(super) fn rejection(message: String) -> Rejection {
    Rejection::new(classify_rejection(&message), message)
}

/// The `responseCode` loop (mono.md §4): code at the top level, else inside
/// `data` (§11.1); payload nested (v2) or bare in `data` (v1, §11.2).
pub(super) fn step(body: &Value) -> Result<Step, CallError> {
    if !body.is_object() {
        return Err(malformed("login reply is not a JSON object"));
    }
    let data = get(body, "data");
    let code_value =
        get(body, "responseCode").or_else(|| data.and_then(|d| get(d, "responseCode")));
    let code = code_value.and_then(u64_of);
    // `status: "failed"` wins over any code: a body that says it failed must
    // never yield a link code.
    if is_failed(body) || code == Some(400) {
        let message = message(body).unwrap_or_else(|| "The institution refused the request".into());
        return Ok(Step::Rejected(rejection(message)));
    }
    match code {
        Some(99) => {
            let code = data
                .and_then(|d| get(d, "code"))
                .or_else(|| get(body, "code"))
                .and_then(string_of)
                .ok_or_else(|| malformed("responseCode 99 without a code"))?;
            // Exchanged for the account id exactly as sent.
            echoed(&code, "link code")?;
            Ok(Step::code(code))
        }
        Some(101) => {
            let list = data
                .and_then(|d| get(d, "accounts"))
                .or(data)
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
                .ok_or_else(|| malformed("responseCode 101 without accounts"))?;
            // Counted before any entry is read (each is copied): a list past
            // the cap is refused whole, never cut (`dialect::bounds`).
            at_most(list.len(), MAX_ACCOUNTS, "accounts")?;
            let accounts = list
                .iter()
                .map(account)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| malformed("responseCode 101 with an account that has no number"))?;
            for a in &accounts {
                // v2 commits send the number back: cut, it is another account.
                echoed(&a.number, "account number")?;
            }
            Ok(Step::choose_account(bounds::accounts(accounts)?))
        }
        Some(102) => {
            let ui = data
                .and_then(|d| get(d, "userInput"))
                .or_else(|| data.filter(|d| get(d, "form").is_some()))
                .ok_or_else(|| malformed("responseCode 102 without a form"))?;
            Ok(Step::needs_input(form_in(ui, "responseCode 102 form")?))
        }
        // A code Mono added after this was written: kept, with Mono's words,
        // rather than read as a broken reply (mono.md §4 lists 99/101/102/400).
        Some(other) => Ok(Step::Rejected(
            Rejection::new(
                RejectionKind::Unrecognised,
                message(body).unwrap_or_else(|| {
                    format!("Your bank answered with an unknown outcome ({other})")
                }),
            )
            .with_code(other.to_string()),
        )),
        None if code_value.is_some() => Err(malformed("responseCode is not a number")),
        None => Err(malformed("login reply without a responseCode")),
    }
}

/// One `101` entry. `balance` is kobo (mono.md §11.15) and is never turned
/// into naira here; a balance that is not an integer stays in `extra`.
/// Unmodelled keys are kept within the `extra` budget (`dialect::bounds`):
/// a list holds up to 100 accounts, each copied into the session.
fn account(v: &Value) -> Option<Account> {
    let mut o = v.as_object()?.clone();
    let number = take(
        &mut o,
        &["accountNumber", "account_number", "number"],
        string_of,
    )?;
    let name = take(&mut o, &["name"], name_str).unwrap_or_default();
    let mut a = Account::new(number, name);
    a.kind = take(&mut o, &["type"], word_str);
    a.currency = take(&mut o, &["currency"], word_str);
    a.status = take(&mut o, &["status"], word_str);
    a.balance = take(&mut o, &["balance"], i64_of);
    extra(&mut o);
    a.extra = o;
    Some(a)
}
