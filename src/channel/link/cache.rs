//! `GET /link/v1/session` answered from memory while the session record is
//! unchanged: a front-end polls, and between two actions every poll would
//! otherwise parse the record, restore the flow and render the same JSON.
//!
//! Entries are keyed by the record's *version*, read from the store on
//! every request, so an entry is used only for the exact record it was
//! rendered from, whichever instance wrote it; the token, its expiry and
//! the flow's next deadline are still checked on every hit. Nothing is
//! cached while a bank call is in flight (its lease is judged per request).
//!
//! [`SessionCache`] does the same for the record itself, opened, for
//! actions: a submit the form refuses (a 422, nothing written) otherwise
//! opened and parsed the whole record each time, a fifth of its CPU. A
//! link session's record holds no secret (typed values leave with their
//! call; the flow's snapshot redacts them), so keeping it opened here adds
//! nothing a memory dump of a request in flight would not show.

use super::state::LinkState;
use crate::flow::Timestamp;
use crate::service::Session;
use crate::store::Version;
use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries kept at most; past that the cache starts over (a few hundred
/// bytes each: a bound, not a tuning knob).
const MAX_ENTRIES: usize = 20_000;

/// One rendered answer.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    /// The record's token hash.
    pub(crate) token_hash: String,
    /// The token's expiry.
    pub(crate) expires_at: Timestamp,
    /// The flow's next deadline, when it has one: past it, render afresh.
    pub(crate) stale_at: Option<Timestamp>,
    /// The JSON.
    pub(crate) body: Bytes,
}

/// Rendered answers by session key.
pub(crate) type ViewCache = ByVersion<Cached>;

/// Opened session records by session key.
pub(crate) type SessionCache = ByVersion<Session<LinkState>>;

/// What was made from a record, by session key and the record's version.
#[derive(Debug)]
pub(crate) struct ByVersion<T> {
    entries: Mutex<HashMap<String, (Version, Arc<T>)>>,
}

impl<T> Default for ByVersion<T> {
    fn default() -> Self {
        ByVersion {
            entries: Mutex::default(),
        }
    }
}

impl<T> ByVersion<T> {
    /// What was kept for `key`, and the version it was made from.
    pub(crate) fn latest(&self, key: &str) -> Option<(Version, Arc<T>)> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).map(|(v, t)| (*v, Arc::clone(t)))
    }

    /// What was made from `key` at `version`, if kept.
    pub(crate) fn get(&self, key: &str, version: Version) -> Option<Arc<T>> {
        self.latest(key)
            .filter(|(v, _)| *v == version)
            .map(|(_, t)| t)
    }

    /// Keeps `value`, made from `key` at `version`, replacing an older
    /// version's.
    pub(crate) fn put(&self, key: &str, version: Version, value: T) {
        self.put_shared(key, version, Arc::new(value));
    }

    /// [`put`](Self::put) for a value the caller keeps using too.
    pub(crate) fn put_shared(&self, key: &str, version: Version, value: Arc<T>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
                entries.clear();
            }
            entries.insert(key.to_owned(), (version, value));
        }
    }
}
