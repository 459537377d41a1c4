//! The names a record is made of, each stored as one byte.
//!
//! Invariant: [`NAMES`] is part of the stored format. A name's byte is its
//! position here, so a name is never removed, moved or changed, only
//! added at the end (up to [`MAX_NAMES`]); a string not listed is stored as
//! it is, so a record of a type not foreseen here still round-trips (it is
//! only longer). `the_names_are_frozen` holds the list to that. A name
//! added is new to older builds: they refuse a record that uses it (an
//! error, as for any format they predate), so it is deployed as a format
//! change is: every instance sharing a store upgraded together.
//!
//! What is listed: the field and variant names of the types a session
//! record holds (the flow's snapshot, its states, calls and events, the
//! USSD and link API channels' state) and values every record repeats
//! (partners, auth methods, form field types). A record's own data
//! (references, phone numbers, bank names) is never listed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Every tag byte from [`NAME`](super::NAME) up is a name: beyond this many,
/// names would need tags the format does not have.
pub(super) const MAX_NAMES: usize = (u8::MAX - super::NAME) as usize + 1;
// The writer adds a name's index to `NAME` in a byte: held here at compile time.
const _: () = assert!(NAMES.len() <= MAX_NAMES);

/// Frozen: append only (see the module's invariant).
pub(super) const NAMES: &[&str] = &[
    // A session record and its customer.
    "flow",
    "partner",
    "reference",
    "customer",
    "institution",
    "auth_method",
    "claim",
    "delivered",
    "keep_until",
    "channel",
    "id",
    "name",
    "email",
    "phone",
    // The flow's snapshot, its limits, counters and timers.
    "v",
    "config",
    "state",
    "catalogue",
    "next_id",
    "counters",
    "timers",
    "effects",
    "events",
    "max_login_attempts",
    "max_mfa_attempts",
    "max_rounds",
    "max_sessions",
    "max_renewals",
    "max_transport_failures",
    "login_rejections",
    "mfa_rejections",
    "rounds",
    "sessions",
    "renewals",
    "transport_failures",
    "polls",
    "code_emitted",
    "preselect_tried",
    "reauth_live",
    "read_retry",
    "session_expiry",
    "status_poll",
    "pending_deadline",
    "code_expiry",
    // Its states and what they hold.
    "LoadingInstitutions",
    "ChoosingInstitution",
    "CreatingSession",
    "AwaitingCredentials",
    "LoggingIn",
    "AwaitingInput",
    "AwaitingAccount",
    "Committing",
    "Pending",
    "Linked",
    "Exchanging",
    "Done",
    "Failed",
    "Exited",
    "session",
    "target",
    "form",
    "values",
    "origin",
    "accounts",
    "account",
    "code",
    "attempt",
    "continuation",
    "index",
    "number",
    "prefill",
    "partner_customer",
    "account_id",
    "Login",
    "Input",
    "Account",
    "Reauthorise",
    // Calls: in flight (the claim) and not yet made (the effects).
    "call",
    "at",
    "kind",
    "live",
    "ListInstitutions",
    "CreateSession",
    "Commit",
    "Poll",
    "ExchangeCode",
    "list_institutions",
    "create_session",
    "reauthorise",
    "login",
    "commit",
    "poll",
    "exchange_code",
    // Failures.
    "failure",
    "message",
    "attempts",
    "detail",
    "rejected",
    "unrecognised",
    "too_many_attempts",
    "too_many_rounds",
    "too_many_sessions",
    "session_expired",
    "code_expired",
    "partner_unavailable",
    "unauthorized",
    "protocol",
    // Events.
    "type",
    "timestamp",
    "OPENED",
    "INSTITUTION_SELECTED",
    "AUTH_METHOD_SWITCHED",
    "SUBMIT_CREDENTIALS",
    "SUBMIT_MFA",
    "ACCOUNT_SELECTED",
    "ACCOUNT_LINKED",
    "ERROR",
    "EXIT",
    "SUCCESS",
    "authMethod",
    "mfaType",
    "errorType",
    "errorMessage",
    "pageName",
    "selectedAccountsCount",
    // Auth methods and partners.
    "internet_banking",
    "mobile_banking",
    "manual",
    "ussd",
    "mono",
    "flinks",
    // Forms and the fields partners most often ask for.
    "title",
    "elements.input",
    "elements.captcha_input",
    "elements.choice",
    "string",
    "password",
    "contentType",
    "maxLength",
    "length",
    "hint",
    "options",
    "label",
    "value",
    "username",
    "pin",
    "otp",
    // Accounts.
    "currency",
    "balance",
    "status",
    "active",
    "NGN",
    // The USSD channel.
    "texts",
    "marks",
    "secret",
    "last_sequence",
    "last_screen",
    "text",
    "end",
    "masked",
    "cursor",
    "invalid",
    "first",
    "hop",
    "unstarted",
    "start",
    "page",
    "method",
    "field",
    "leaving",
    "menu",
    "working",
    "continue",
    "resume_offer",
    // The link API channel, and delivery.
    "token_hash",
    "public_hash",
    "expires_at",
    "seq",
    "last",
    "salt",
    "first_event",
    "redirect_url",
    "opened",
    "preselect",
    "digest",
    "returning",
];

/// No listed name is longer: a longer string is not looked up (a
/// screen's text, a hint).
const MAX_NAME_LEN: usize = 24;

/// The byte a listed string is stored as (its position in [`NAMES`]).
pub(super) fn index_of(name: &str) -> Option<u8> {
    // An open-addressed table, several times the list, built once: one
    // hash and usually one comparison per string written.
    static TABLE: OnceLock<[u8; SLOTS]> = OnceLock::new();
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_NAME_LEN {
        return None;
    }
    let table = TABLE.get_or_init(|| {
        let mut table = [u8::MAX; SLOTS];
        for (at, name) in NAMES.iter().enumerate().take(MAX_NAMES) {
            let mut slot = hash(name.as_bytes());
            while table[slot] != u8::MAX {
                slot = (slot + 1) % SLOTS;
            }
            table[slot] = at as u8;
        }
        table
    });
    let mut slot = hash(bytes);
    loop {
        let at = table[slot];
        if at == u8::MAX {
            return None;
        }
        if NAMES[usize::from(at)].as_bytes() == bytes {
            return Some(at);
        }
        slot = (slot + 1) % SLOTS;
    }
}

/// [`index_of`] for a name compiled in (a struct's field, an enum's
/// variant: most of what a record writes), remembered by where it is.
///
/// The same `&'static str` is written in every record, so its answer is
/// kept in a small direct-mapped cache keyed by its address and length:
/// one load and a compare instead of a hash and a string comparison. An
/// entry is one atomic word (address, length, answer), so threads racing
/// on a slot each leave a whole, true entry; a slot two names share only
/// costs a lookup.
pub(super) fn index_of_static(name: &'static str) -> Option<u8> {
    const WAYS: usize = 256;
    const NOT_A_NAME: u64 = 0xff;
    static CACHE: [AtomicU64; WAYS] = [const { AtomicU64::new(0) }; WAYS];
    let (at, len) = (name.as_ptr() as u64, name.len() as u64);
    // Entries hold a 48-bit address and an 8-bit length: anything else is
    // looked up as any string is.
    if at >> 48 != 0 || len > 0xff {
        return index_of(name);
    }
    let key = at << 16 | len << 8;
    // The product's top 8 bits: one of the 256 ways.
    let slot = &CACHE[((at ^ len).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize];
    let entry = slot.load(Ordering::Relaxed);
    if entry & !0xff == key {
        return match entry & 0xff {
            NOT_A_NAME => None,
            found => Some(found as u8),
        };
    }
    let found = index_of(name);
    slot.store(key | found.map_or(NOT_A_NAME, u64::from), Ordering::Relaxed);
    found
}

const SLOTS: usize = 1024;

/// The length and three of the bytes (first, middle, last), mixed: most
/// strings written are names or are not looked up at all, and this tells
/// the listed ones apart with a probe or two, in a few instructions
/// whatever the length. `bytes` is not empty.
fn hash(bytes: &[u8]) -> usize {
    let n = bytes.len();
    let at = |i: usize| u32::from(bytes.get(i).copied().unwrap_or(0));
    let x = (n as u32) | at(0) << 8 | at(n / 2) << 16 | at(n.saturating_sub(1)) << 24;
    // Fibonacci hashing: the product's top 10 bits, a slot of 1024.
    (x.wrapping_mul(0x9e37_79b9) >> 22) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each listed name is its own byte; anything else is not listed.
    #[test]
    fn every_name_is_found_at_its_position() {
        assert!(NAMES.len() <= MAX_NAMES);
        assert!(NAMES
            .iter()
            .all(|n| !n.is_empty() && n.len() <= MAX_NAME_LEN));
        for (at, name) in NAMES.iter().enumerate() {
            assert_eq!(index_of(name), Some(at as u8), "{name}");
        }
        for other in ["", "Flow", "flow ", "sandbox-bank", "+2348000"] {
            assert_eq!(index_of(other), None, "{other}");
            assert_eq!(index_of_static(other), None, "{other}");
        }
        // Asked twice (the second answer from the cache), and for a string
        // inside a longer one (the same address, another length).
        for _ in 0..2 {
            for (at, name) in NAMES.iter().enumerate() {
                assert_eq!(index_of_static(name), Some(at as u8), "{name}");
            }
            assert_eq!(
                index_of_static(&"first_event"[..5]),
                Some(index_of("first").unwrap())
            );
            assert_eq!(index_of_static(&"flowers"[..4]), index_of("flow"));
            assert_eq!(index_of_static("flowers"), None);
        }
    }

    /// The list is part of the stored format: a name moved or changed
    /// misreads every stored record. Names may only be appended: the
    /// first 186, as first written, hash to this.
    #[test]
    fn the_names_are_frozen() {
        assert!(NAMES.len() >= 186);
        let fnv = crate::flow::fnv1a(NAMES[..186].join("\n").bytes());
        assert_eq!(fnv, 0xd201_1e6d_e821_3829);
    }
}
