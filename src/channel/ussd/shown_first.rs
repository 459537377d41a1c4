//! What a first screen showed, remembered until its answer.
//!
//! Invariant: an answer served by the process that served its first screen
//! is read against what that screen showed: its order and its list. The
//! first screen stores nothing, and the answer asks again: the records,
//! which banks the phone linked before, and the cache, for the partner's
//! list. The records' two answers agree unless one of them ran out of its
//! second (slow on one hop and not the other); the cache's, unless the
//! screen was shown from a list standing in for the partner's latest (a
//! refresh running, or failed), which the refresh may replace before the
//! answer comes, or the screen was shown in the minutes after a refresh
//! changed the list (its answer must be told apart from one to a screen
//! numbered before the change, begin.rs). Either way the number the person
//! chose would pick the bank at that number in another list. So a screen
//! that the answer might not reproduce is remembered here, by session and
//! phone, for as long as a USSD session lasts; an answer finds it and asks
//! nothing.
//!
//! Nearly every dial is a phone with no earlier banks, answered at once,
//! from a fresh list: nothing is remembered, and while nothing is, an
//! answer looks only at a count (once something is, every first answer
//! and dial takes the table's lock until the sweep empties it).

use crate::flow::Catalogue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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

/// What a first screen showed that its answer must be read against.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Shown {
    /// The banks at its head (empty: the plain order, shown when the
    /// records did not say).
    pub(super) first: Vec<String>,
    /// The list it was rendered from, when its answer might find another:
    /// it stood in for the partner's latest (a refresh running or failed,
    /// which may bring another list before the answer comes), or it
    /// replaced another in the last minutes (begin.rs tells an answer to
    /// it from one to the list before only by this).
    pub(super) list: Option<Arc<Catalogue>>,
}

#[derive(Debug, Default)]
struct Table {
    /// By session key.
    screens: HashMap<String, Screen>,
    /// When the expired were last dropped (`None`: never).
    swept: Option<Instant>,
}

/// A remembered screen: when it was shown, to which phone, and what it
/// showed.
#[derive(Debug)]
struct Screen {
    at: Instant,
    phone: String,
    shown: Shown,
}

impl Table {
    /// Drops the expired: at most once a [`KEPT_FOR`] (a table of live
    /// screens is not scanned on every dial), or once a second while the
    /// table is full (so a full table makes room as soon as any expire).
    fn sweep(&mut self, now: Instant) {
        let every = if self.screens.len() >= MOST {
            Duration::from_secs(1)
        } else {
            KEPT_FOR
        };
        if self
            .swept
            .is_some_and(|swept| now.duration_since(swept) < every)
        {
            return;
        }
        self.screens
            .retain(|_, screen| now.duration_since(screen.at) < KEPT_FOR);
        self.swept = Some(now);
    }
}

impl ShownFirst {
    /// The first screen of session `key`, shown to `phone` at `now`,
    /// showed `shown`.
    pub(super) fn remember(&self, key: &str, phone: &str, shown: Shown, now: Instant) {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.sweep(now);
        if table.screens.len() < MOST || table.screens.contains_key(key) {
            let screen = Screen {
                at: now,
                phone: phone.to_owned(),
                shown,
            };
            table.screens.insert(key.to_owned(), screen);
        }
        self.count.store(table.screens.len(), Ordering::Relaxed);
    }

    /// Session `key`'s first screen (shown again, a reused session id)
    /// showed nothing to remember: what an earlier one showed must not
    /// stand for it.
    pub(super) fn forget(&self, key: &str) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.screens.remove(key);
        self.count.store(table.screens.len(), Ordering::Relaxed);
    }

    /// What session `key`'s first screen showed, if it was shown to
    /// `phone` (a gateway that reuses session ids must not read one
    /// caller's answer against another's banks) and has not expired. Kept:
    /// an invalid answer shows the screen again, and the next is read
    /// against it too.
    pub(super) fn get(&self, key: &str, phone: &str) -> Option<Shown> {
        if self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.get_at(key, phone, Instant::now())
    }

    fn get_at(&self, key: &str, phone: &str, now: Instant) -> Option<Shown> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.sweep(now);
        self.count.store(table.screens.len(), Ordering::Relaxed);
        let screen = table.screens.get(key)?;
        (screen.phone == phone && now.duration_since(screen.at) < KEPT_FOR)
            .then(|| screen.shown.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: &str = "+254711000001";

    fn banks(first: &[&str]) -> Shown {
        Shown {
            first: first.iter().map(|b| (*b).to_owned()).collect(),
            list: None,
        }
    }

    #[test]
    fn a_screen_is_found_by_its_session_and_phone_only_and_a_full_table_refuses_more() {
        let now = Instant::now();
        let shown = ShownFirst::default();
        assert_eq!(shown.get("ussd:at:1", PHONE), None);
        let list = Arc::new(Catalogue::new(Vec::new()));
        let stood_in = Shown {
            first: Vec::new(),
            list: Some(Arc::clone(&list)),
        };
        shown.remember("ussd:at:1", PHONE, banks(&["b"]), now);
        shown.remember("ussd:at:2", PHONE, stood_in.clone(), now);
        assert_eq!(shown.get_at("ussd:at:1", PHONE, now), Some(banks(&["b"])));
        assert_eq!(shown.get_at("ussd:at:2", PHONE, now), Some(stood_in));
        assert_eq!(shown.get_at("ussd:at:3", PHONE, now), None);
        assert_eq!(
            shown.get_at("ussd:at:1", "+254711000002", now),
            None,
            "another phone's answer on a reused session id"
        );
        for i in 0..MOST {
            shown.remember(&format!("k{i}"), PHONE, banks(&[]), now);
        }
        assert_eq!(shown.count.load(Ordering::Relaxed), MOST);
        shown.remember("one-more", PHONE, banks(&[]), now);
        assert_eq!(shown.get_at("one-more", PHONE, now), None, "past the bound");
        // A session already remembered is updated, full or not.
        shown.remember("ussd:at:1", PHONE, banks(&[]), now);
        assert_eq!(shown.get_at("ussd:at:1", PHONE, now), Some(banks(&[])));
        // And forgotten when its screen is shown again with nothing to
        // remember.
        shown.forget("ussd:at:1");
        assert_eq!(shown.get_at("ussd:at:1", PHONE, now), None);
        assert_eq!(shown.count.load(Ordering::Relaxed), MOST - 1);
    }

    #[test]
    fn a_full_table_is_swept_once_a_second_and_the_expired_make_room() {
        let now = Instant::now();
        let shown = ShownFirst::default();
        shown.remember("ussd:at:1", PHONE, banks(&["b"]), now);
        let almost = now + KEPT_FOR - Duration::from_secs(1);
        assert!(shown.get_at("ussd:at:1", PHONE, almost).is_some());
        for i in 0..MOST - 1 {
            shown.remember(&format!("k{i}"), PHONE, banks(&[]), almost);
        }
        assert_eq!(shown.count.load(Ordering::Relaxed), MOST, "full");
        // Full, the table is swept once a second: the screen shown at `now`
        // goes, the others are live, and one more fits.
        let swept_at = now + KEPT_FOR;
        assert_eq!(shown.get_at("ussd:at:1", PHONE, swept_at), None);
        shown.remember("fresh", PHONE, banks(&[]), swept_at);
        assert_eq!(shown.get_at("fresh", PHONE, swept_at), Some(banks(&[])));
        // Within the second, full again: refused, nothing swept.
        let soon = swept_at + Duration::from_millis(500);
        shown.remember("refused", PHONE, banks(&[]), soon);
        assert_eq!(shown.get_at("refused", PHONE, soon), None);
        // Once the rest expire, the next sweep makes room for more.
        let later = almost + KEPT_FOR;
        shown.remember("late", PHONE, banks(&[]), later);
        assert_eq!(shown.get_at("late", PHONE, later), Some(banks(&[])));
        assert_eq!(shown.count.load(Ordering::Relaxed), 2, "fresh and late");
    }

    #[test]
    fn a_table_with_room_is_swept_at_most_once_a_session_length() {
        let now = Instant::now();
        let shown = ShownFirst::default();
        shown.remember("a", PHONE, banks(&[]), now);
        shown.remember("b", PHONE, banks(&[]), now + Duration::from_secs(10));
        let after = now + KEPT_FOR + Duration::from_secs(5);
        assert_eq!(shown.get_at("a", PHONE, after), None, "expired");
        assert_eq!(shown.count.load(Ordering::Relaxed), 1, "a swept, b live");
        // b expires 15 s later; the next sweep is a KEPT_FOR away.
        let expired = after + Duration::from_secs(15);
        assert_eq!(shown.get_at("b", PHONE, expired), None, "expired");
        assert_eq!(shown.count.load(Ordering::Relaxed), 1, "not swept yet");
        assert_eq!(shown.get_at("b", PHONE, after + KEPT_FOR), None);
        assert_eq!(shown.count.load(Ordering::Relaxed), 0, "swept");
    }
}
