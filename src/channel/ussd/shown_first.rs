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
/// past it a screen is not remembered (its answer asks the records again,
/// as without this) until the expired are dropped.
const MOST: usize = 10_000;

#[derive(Debug, Default)]
pub(super) struct ShownFirst {
    table: Mutex<Table>,
    /// How many screens the table holds (expired ones until a sweep): an
    /// answer with none to find takes no lock and reads no clock.
    count: AtomicUsize,
}

#[derive(Debug, Default)]
struct Table {
    /// By session key: when the screen was shown, to which phone, and its
    /// banks first (empty: the plain order, shown when the records did
    /// not say).
    shown: HashMap<String, Shown>,
    /// When the expired were last dropped (`None`: never).
    swept: Option<Instant>,
}

#[derive(Debug)]
struct Shown {
    at: Instant,
    phone: String,
    first: Vec<String>,
}

impl Table {
    /// Drops the expired, at most once a [`KEPT_FOR`]: a table filled by
    /// live screens is not scanned on every dial.
    fn sweep(&mut self, now: Instant) {
        if self
            .swept
            .is_some_and(|swept| now.duration_since(swept) < KEPT_FOR)
        {
            return;
        }
        self.shown
            .retain(|_, shown| now.duration_since(shown.at) < KEPT_FOR);
        self.swept = Some(now);
    }
}

impl ShownFirst {
    /// The first screen of session `key`, shown to `phone` at `now`, had
    /// `first` at its head.
    pub(super) fn remember(&self, key: &str, phone: &str, first: &[String], now: Instant) {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.sweep(now);
        if table.shown.len() < MOST || table.shown.contains_key(key) {
            let shown = Shown {
                at: now,
                phone: phone.to_owned(),
                first: first.to_vec(),
            };
            table.shown.insert(key.to_owned(), shown);
        }
        self.count.store(table.shown.len(), Ordering::Relaxed);
    }

    /// The order session `key`'s first screen showed, if it was shown to
    /// `phone` (a gateway that reuses session ids must not read one
    /// caller's answer against another's banks) and has not expired. Kept:
    /// an invalid answer shows the screen again, and the next is read
    /// against it too.
    pub(super) fn get(&self, key: &str, phone: &str) -> Option<Vec<String>> {
        if self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.get_at(key, phone, Instant::now())
    }

    fn get_at(&self, key: &str, phone: &str, now: Instant) -> Option<Vec<String>> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.sweep(now);
        self.count.store(table.shown.len(), Ordering::Relaxed);
        let shown = table.shown.get(key)?;
        (shown.phone == phone && now.duration_since(shown.at) < KEPT_FOR)
            .then(|| shown.first.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: &str = "+254711000001";

    #[test]
    fn a_screen_is_found_by_its_session_and_phone_only_and_a_full_table_refuses_more() {
        let now = Instant::now();
        let shown = ShownFirst::default();
        assert_eq!(shown.get("ussd:at:1", PHONE), None);
        shown.remember("ussd:at:1", PHONE, &["b".to_owned()], now);
        shown.remember("ussd:at:2", PHONE, &[], now);
        assert_eq!(
            shown.get_at("ussd:at:1", PHONE, now),
            Some(vec!["b".to_owned()])
        );
        assert_eq!(shown.get_at("ussd:at:2", PHONE, now), Some(Vec::new()));
        assert_eq!(shown.get_at("ussd:at:3", PHONE, now), None);
        assert_eq!(
            shown.get_at("ussd:at:1", "+254711000002", now),
            None,
            "another phone's answer on a reused session id"
        );
        for i in 0..MOST {
            shown.remember(&format!("k{i}"), PHONE, &[], now);
        }
        assert_eq!(shown.count.load(Ordering::Relaxed), MOST);
        shown.remember("one-more", PHONE, &[], now);
        assert_eq!(shown.get_at("one-more", PHONE, now), None, "past the bound");
        // A session already remembered is updated, full or not.
        shown.remember("ussd:at:1", PHONE, &[], now);
        assert_eq!(shown.get_at("ussd:at:1", PHONE, now), Some(Vec::new()));
    }

    #[test]
    fn a_screen_is_forgotten_after_a_sessions_length_and_the_expired_make_room() {
        let now = Instant::now();
        let shown = ShownFirst::default();
        shown.remember("ussd:at:1", PHONE, &["b".to_owned()], now);
        let almost = now + KEPT_FOR - Duration::from_secs(1);
        assert!(shown.get_at("ussd:at:1", PHONE, almost).is_some());
        for i in 0..MOST - 1 {
            shown.remember(&format!("k{i}"), PHONE, &[], almost);
        }
        assert_eq!(shown.get_at("ussd:at:1", PHONE, now + KEPT_FOR), None);
        // Swept then (the first sweep was at `now`): the screen shown at
        // `now` went, the others are live, and one more fits.
        let fresh_at = now + KEPT_FOR + Duration::from_secs(10);
        shown.remember("fresh", PHONE, &[], fresh_at);
        assert_eq!(shown.get_at("fresh", PHONE, fresh_at), Some(Vec::new()));
        assert_eq!(shown.count.load(Ordering::Relaxed), MOST);
        // The next sweep, a KEPT_FOR after that one, drops the screens
        // shown at `almost`, and the count falls with them.
        let later = now + 2 * KEPT_FOR;
        assert_eq!(shown.get_at("fresh", PHONE, later), Some(Vec::new()));
        assert_eq!(shown.count.load(Ordering::Relaxed), 1, "the expired swept");
    }
}
