//! What the bank keeps for one API key. Nothing here is shared between keys:
//! one app can neither see nor spend another's sessions, codes or links, nor
//! lock a user for it by typing wrong passwords.

use super::BankError;
use crate::flow::AuthMethodKind;
use crate::form::Form;
use std::collections::{HashMap, HashSet};

/// Wrong passwords in a row (per key, institution and user) after which the
/// user is locked for that key.
pub(super) const LOCK_AFTER: u32 = 3;

/// One API key's state.
#[derive(Debug, Default)]
pub(super) struct Tenant {
    /// By session id.
    pub(super) sessions: HashMap<String, BankSession>,
    /// Issued, not yet exchanged, by code.
    pub(super) codes: HashMap<String, CodeEntry>,
    /// Linked accounts by account id.
    pub(super) links: HashMap<String, LinkEntry>,
    /// Wrong logins in a row by (institution id, user index).
    pub(super) failures: HashMap<(String, usize), u32>,
    /// Locked by wrong logins, for the life of the bank.
    pub(super) locked: HashSet<(String, usize)>,
}

/// One connect session at the bank.
#[derive(Debug)]
pub(super) struct BankSession {
    /// Institution id.
    pub(super) institution: String,
    pub(super) method: AuthMethodKind,
    /// Epoch ms after which the session answers "expired".
    pub(super) expires_at: u64,
    /// The login form handed out, with its captcha if any.
    pub(super) form: Form,
    /// The captcha's answer, when the form has one.
    pub(super) captcha: Option<String>,
    pub(super) stage: Stage,
    /// The account this session re-authorises: only its own user may log
    /// in, and the user's re-authorisation script runs instead of the
    /// linking one.
    pub(super) reauth_of: Option<String>,
}

/// Where a session is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stage {
    /// Waiting for a login (also after a retryable refusal).
    Login,
    /// Logged in, somewhere in the user's script.
    Running(Progress),
    /// A code was issued; the session is spent.
    Finished,
}

/// A logged-in session's place in its user's script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Progress {
    /// Index of the user in the bank's world.
    pub(super) user: usize,
    /// Index of the challenge being answered.
    pub(super) at: usize,
    /// An account already picked (a mixed commit), so the account list is
    /// skipped.
    pub(super) chosen: Option<String>,
    /// Polls still to answer "pending" after the last answer, when the
    /// challenge is a wait.
    pub(super) polls_left: u32,
}

/// An issued link code.
#[derive(Debug)]
pub(super) struct CodeEntry {
    pub(super) link: LinkEntry,
    /// Epoch ms after which the code is refused.
    pub(super) expires_at: u64,
}

/// What a code links, and what an account id stands for.
#[derive(Debug, Clone)]
pub(super) struct LinkEntry {
    /// Institution id.
    pub(super) institution: String,
    /// Index of the user in the bank's world.
    pub(super) user: usize,
    /// The account number.
    pub(super) account: String,
    pub(super) method: AuthMethodKind,
}

impl BankSession {
    /// Unexpired and not finished: what the per-key cap counts.
    pub(super) fn is_live(&self, now: u64) -> bool {
        now <= self.expires_at && self.stage != Stage::Finished
    }
}

/// The session `id` as its key may use it at `now`.
pub(super) fn find<'a>(
    sessions: &'a mut HashMap<String, BankSession>,
    id: &str,
    now: u64,
) -> Result<&'a mut BankSession, BankError> {
    let session = sessions.get_mut(id).ok_or(BankError::SessionNotFound)?;
    unexpired(session, now)?;
    Ok(session)
}

/// [`find`], to read.
pub(super) fn find_ref<'a>(
    sessions: &'a HashMap<String, BankSession>,
    id: &str,
    now: u64,
) -> Result<&'a BankSession, BankError> {
    let session = sessions.get(id).ok_or(BankError::SessionNotFound)?;
    unexpired(session, now)?;
    Ok(session)
}

fn unexpired(session: &BankSession, now: u64) -> Result<(), BankError> {
    if now > session.expires_at {
        Err(BankError::SessionExpired)
    } else {
        Ok(())
    }
}

impl Tenant {
    /// Refuses a new session when `limit` are already live, saying when the
    /// first of them expires.
    pub(super) fn check_cap(&self, limit: usize, now: u64) -> Result<(), BankError> {
        let mut live = 0usize;
        let mut first_expiry = u64::MAX;
        for s in self.sessions.values().filter(|s| s.is_live(now)) {
            live += 1;
            first_expiry = first_expiry.min(s.expires_at);
        }
        if live < limit {
            return Ok(());
        }
        Err(BankError::TooManySessions {
            limit,
            // `is_live` counts the expiry instant itself, hence the +1.
            retry_after_ms: first_expiry.saturating_sub(now).saturating_add(1),
        })
    }

    /// Forgets sessions expired for longer than `grace` ms and dead codes, so
    /// a long-running server does not grow without bound. A recently expired
    /// or finished session is kept to answer "expired" or "already
    /// completed" rather than "not found".
    pub(super) fn prune(&mut self, now: u64, grace: u64) {
        self.sessions
            .retain(|_, s| s.expires_at.saturating_add(grace) >= now);
        self.codes.retain(|_, c| c.expires_at >= now);
    }

    /// True when nothing would be lost by forgetting this key.
    pub(super) fn is_empty(&self) -> bool {
        self.sessions.is_empty()
            && self.codes.is_empty()
            && self.links.is_empty()
            && self.failures.is_empty()
            && self.locked.is_empty()
    }

    /// Counts a wrong login; the [`LOCK_AFTER`]th in a row locks the user.
    /// Returns the count.
    pub(super) fn count_failure(&mut self, institution: &str, user: usize) -> u32 {
        let key = (institution.to_owned(), user);
        let tries = self.failures.entry(key.clone()).or_insert(0);
        *tries += 1;
        let tries = *tries;
        if tries >= LOCK_AFTER {
            self.failures.remove(&key);
            self.locked.insert(key);
        }
        tries
    }

    /// A right login resets the count, as banks do.
    pub(super) fn clear_failures(&mut self, institution: &str, user: usize) {
        self.failures.remove(&(institution.to_owned(), user));
    }

    pub(super) fn is_locked(&self, institution: &str, user: usize) -> bool {
        self.locked.contains(&(institution.to_owned(), user))
    }
}
