//! `GET /link/v1/session` answered from memory while the session record is
//! unchanged: a front-end polls, and between two actions every poll would
//! otherwise parse the record, restore the flow and render the same JSON.
//!
//! Entries are keyed by the record's *version*, read from the store on
//! every request, so an entry is used only for the exact record it was
//! rendered from, whichever instance wrote it; the token, its expiry and
//! the flow's next deadline are still checked on every hit. Nothing is
//! cached while a bank call is in flight (its lease is judged per request).

use crate::flow::Timestamp;
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
    /// The record version it was rendered from.
    pub(crate) version: Version,
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
#[derive(Debug, Default)]
pub(crate) struct ViewCache {
    entries: Mutex<HashMap<String, Arc<Cached>>>,
}

impl ViewCache {
    /// The answer rendered from `key` at `version`, if kept.
    pub(crate) fn get(&self, key: &str, version: Version) -> Option<Arc<Cached>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|c| c.version == version)
            .map(Arc::clone)
    }

    /// Keeps `cached` for `key`, replacing an older version's.
    pub(crate) fn put(&self, key: &str, cached: Cached) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
                entries.clear();
            }
            entries.insert(key.to_owned(), Arc::new(cached));
        }
    }
}
