//! The bank order a first screen showed, remembered until its answer.
//!
//! Invariant: an answer served by the process that served its first screen
//! is read against the order that screen showed. The first screen stores
//! nothing, and the answer asks the records again which banks the phone
//! linked before; the two asks agree unless one of them ran out of its
//! second (records slow on one hop and not the other), and then the number
//! the person chose would pick a bank at that number in the other order.
//! So a screen whose order the answer might not reproduce (the records did
//! not say in time, or said some banks) is remembered here, by session,
//! for as long as a USSD session lasts; an answer finds it and asks
//! nothing.
//!
//! Nearly every dial is a phone with no earlier banks, answered at once:
//! nothing is remembered, and an answer looks only at a count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Longer than a gateway keeps a session open (Africa's Talking's limit is
/// about three minutes).
const KEPT_FOR: Duration = Duration::from_secs(5 * 60);

/// At most this many screens are remembered (a few hundred bytes each);
/// past it, expired ones are dropped and, if none has, a screen is not
/// remembered (its answer asks the records again, as without this).
const MOST: usize = 10_000;

#[derive(Debug, Default)]
pub(super) struct ShownFirst {
    /// By session key: when the screen was shown, and its banks first
    /// (empty: the plain order, shown when the records did not say).
    shown: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    /// How many are remembered: an answer with none to find takes no lock.
    count: AtomicUsize,
}

impl ShownFirst {
    /// The first screen of session `key` showed `first` at its head, `now`.
    pub(super) fn remember(&self, key: &str, first: &[String], now: Instant) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        if shown.len() >= MOST {
            shown.retain(|_, (at, _)| now.duration_since(*at) < KEPT_FOR);
        }
        if shown.len() < MOST || shown.contains_key(key) {
            shown.insert(key.to_owned(), (now, first.to_vec()));
        }
        self.count.store(shown.len(), Ordering::Relaxed);
    }

    /// The order session `key`'s first screen showed, if remembered (and
    /// not expired). Kept: an invalid answer shows the screen again, and
    /// the next is read against it too.
    pub(super) fn get(&self, key: &str) -> Option<Vec<String>> {
        // No clock read either, for the answers with nothing to find.
        if self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.get_at(key, Instant::now())
    }

    fn get_at(&self, key: &str, now: Instant) -> Option<Vec<String>> {
        let shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        let (at, first) = shown.get(key)?;
        (now.duration_since(*at) < KEPT_FOR).then(|| first.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screen_is_found_by_its_session_only_and_a_full_table_refuses_more() {
        let now = Instant::now();
        let shown = ShownFirst::default();
        assert_eq!(shown.get_at("ussd:at:1", now), None);
        shown.remember("ussd:at:1", &["b".to_owned()], now);
        shown.remember("ussd:at:2", &[], now);
        assert_eq!(shown.get_at("ussd:at:1", now), Some(vec!["b".to_owned()]));
        assert_eq!(shown.get_at("ussd:at:2", now), Some(Vec::new()));
        assert_eq!(shown.get_at("ussd:at:3", now), None);
        for i in 0..MOST {
            shown.remember(&format!("k{i}"), &[], now);
        }
        assert_eq!(shown.count.load(Ordering::Relaxed), MOST);
        shown.remember("one-more", &[], now);
        assert_eq!(shown.get_at("one-more", now), None, "past the bound");
        // A session already remembered is updated, full or not.
        shown.remember("ussd:at:1", &[], now);
        assert_eq!(shown.get_at("ussd:at:1", now), Some(Vec::new()));
    }

    #[test]
    fn a_screen_is_forgotten_after_a_sessions_length_and_makes_room() {
        let now = Instant::now();
        let shown = ShownFirst::default();
        shown.remember("ussd:at:1", &["b".to_owned()], now);
        let almost = now + KEPT_FOR - Duration::from_secs(1);
        assert!(shown.get_at("ussd:at:1", almost).is_some());
        assert_eq!(shown.get_at("ussd:at:1", now + KEPT_FOR), None);
        // Expired entries make room once the table is full.
        for i in 0..MOST - 1 {
            shown.remember(&format!("k{i}"), &[], now);
        }
        shown.remember("fresh", &[], now + KEPT_FOR);
        assert_eq!(shown.get_at("fresh", now + KEPT_FOR), Some(Vec::new()));
        assert_eq!(shown.count.load(Ordering::Relaxed), 1);
    }
}
