//! [`Known`]: which customers have linked before, held in memory so that
//! asking about one who has not costs a hash lookup, not a query.
//!
//! The first hop of every USSD dial asks the records for the banks that
//! phone linked before (to list them first). Nearly every dial is from a
//! customer who never linked, and a query per dial was the first hop's main
//! cost. This set answers "certainly not" for them; for anyone in it the
//! records are still asked, so a false positive (a 64-bit hash collision,
//! an account since unlinked) only costs the query it saves elsewhere.
//!
//! Invariant: every customer with a record created more than [`OVERLAP`]
//! before the last refresh, and every customer this instance linked itself,
//! is in the set. Other instances' links arrive with the next refresh (at
//! most one a [`REFRESH`], started in the background by whichever caller
//! notices first, never two at once: no hop waits for it); until then such
//! a customer sees the banks in the usual order — a nicety lost for a
//! second, never a wrong answer about an account. Until the first refresh
//! has read the records (after a start), every question goes to the
//! records, so two hops of one session never order the banks differently.
//! Records are stamped with their writers' clocks: a link from an instance
//! whose clock runs more than [`OVERLAP`] behind can be missed until a
//! restart (the banks in the usual order for that customer).
//!
//! Memory: about 16 bytes per customer who ever linked; the records are
//! read [`PAGE`] rows at a time, so a first refresh over a million records
//! never holds them all at once.

use super::store::{AuthStore, RecordsError};
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// How stale the set may get before a caller refreshes it.
pub(crate) const REFRESH: Duration = Duration::from_secs(1);
/// How far back each refresh looks behind the newest record it saw (ms):
/// records are stamped with their writer's clock, and instances' clocks may
/// disagree by this much without a link being missed. Each refresh re-reads
/// this window, so it stays short: at 700 links a second, 3,500 rows.
pub(crate) const OVERLAP: u64 = 5_000;

/// Rows read per query.
pub(crate) const PAGE: u32 = 10_000;

/// The set's hasher. Its keys are hashes already (of partner and
/// customer), so a key is its own hash: std's SipHash would hash it again
/// on every lookup, and every first hop looks one up.
#[derive(Debug, Default, Clone, Copy)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is ever called (the keys are `u64`s); this is
        // here because the trait wants it, and still mixes every byte.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Customers known to have a record, by hash of (partner, customer id).
#[derive(Debug, Default)]
pub(crate) struct Known {
    set: RwLock<HashSet<u64, BuildHasherDefault<Prehashed>>>,
    /// Hashes (partner, customer id) into the set's keys: seeded per
    /// process, which is all a set rebuilt at every start needs (foldhash,
    /// a few times cheaper than SipHash on a phone number).
    hasher: hashbrown::DefaultHashBuilder,
    /// The newest `created_at` seen, and when the set was last refreshed
    /// (`None`: never loaded). Held while refreshing, so one caller does it.
    refreshed: Mutex<Option<(u64, Instant)>>,
    /// Set once a refresh has read the records. Until then the set knows
    /// nobody, and every question goes to the records as before: the
    /// first screen and the next hop must order the banks the same way
    /// (the person's "1" is read against the list they saw).
    loaded: AtomicBool,
    /// A refresh is running: no second one starts beside it.
    running: AtomicBool,
}

impl Known {
    /// The set's key for `customer` of `partner`.
    fn key(&self, partner: &str, customer: &str) -> u64 {
        self.hasher.hash_one((partner, customer))
    }

    /// Adds a customer this instance just linked.
    pub(crate) fn insert(&self, partner: &str, customer: &str) {
        self.set
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.key(partner, customer));
    }

    /// False only when `customer` has certainly never linked through
    /// `partner` (as of the last refresh). Starts a refresh in the
    /// background when the last one is more than [`REFRESH`] old.
    pub(crate) fn may_have_linked(
        self: &Arc<Self>,
        store: &Arc<dyn AuthStore>,
        partner: &str,
        customer: &str,
    ) -> bool {
        if self.contains(self.key(partner, customer)) {
            return true;
        }
        if !self.running.load(Ordering::Acquire) {
            if let Some(since) = self.claim_refresh() {
                self.running.store(true, Ordering::Release);
                let (known, store) = (Arc::clone(self), Arc::clone(store));
                tokio::spawn(async move {
                    match known.refresh(store.as_ref(), since).await {
                        Ok(()) => known.loaded.store(true, Ordering::Release),
                        Err(e) => tracing::warn!(error = %e, "could not read who linked before"),
                    }
                    known.running.store(false, Ordering::Release);
                });
            }
        }
        // Not loaded yet: "maybe", so the records are asked.
        !self.loaded.load(Ordering::Acquire)
    }

    fn contains(&self, k: u64) -> bool {
        self.set
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&k)
    }

    /// When a refresh is due (more than [`REFRESH`] since the last, and
    /// nobody else deciding), claims it and says from when to read.
    fn claim_refresh(&self) -> Option<u64> {
        let mut guard = self.refreshed.try_lock().ok()?;
        let since = match *guard {
            Some((_, at)) if at.elapsed() < REFRESH => return None,
            Some((newest, _)) => newest.saturating_sub(OVERLAP),
            None => 0,
        };
        // Claimed now, before the query: callers arriving while it runs
        // answer from the set instead of all querying at once.
        *guard = Some((guard.map_or(0, |(n, _)| n), Instant::now()));
        Some(since)
    }

    /// Adds every customer with a record created at or after `since`.
    async fn refresh(&self, store: &dyn AuthStore, since: u64) -> Result<(), RecordsError> {
        self.refresh_paged(store, since, PAGE).await
    }

    /// [`refresh`](Self::refresh), `page` rows a query.
    async fn refresh_paged(
        &self,
        store: &dyn AuthStore,
        since: u64,
        page: u32,
    ) -> Result<(), RecordsError> {
        let mut from = since;
        let mut newest = since;
        let mut size = page;
        loop {
            let rows = store.customers_since(from, size).await?;
            {
                let mut set = self.set.write().unwrap_or_else(PoisonError::into_inner);
                for row in &rows {
                    set.insert(self.key(&row.partner, &row.customer));
                    newest = newest.max(row.created_at);
                }
            }
            if rows.len() < size as usize {
                break;
            }
            // The next page starts at the last row's millisecond: its rows
            // are read again (harmless in a set) rather than skipped, since
            // more of them may follow. When one millisecond fills a whole
            // page, the page grows until that millisecond fits in it (a set
            // cannot skip by id as `export.rs` does).
            let last = rows.last().map_or(from, |r| r.created_at);
            if last > from {
                (from, size) = (last, page);
            } else {
                size = size.saturating_mul(2);
            }
        }
        let mut guard = self
            .refreshed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((seen, _)) = guard.as_mut() {
            *seen = (*seen).max(newest);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::InstitutionRef;
    use crate::records::{Env, Location, NewLink, SqlStore};
    use crate::service::{Customer, LinkedAccount};

    /// Finding (review, 2026-12-04): the first refresh after a start read
    /// every record in one query and held all its rows at once (hundreds of
    /// MB over a million records). It reads a page at a time, and still
    /// finds every customer when pages end inside a millisecond or one
    /// millisecond holds more records than a page.
    #[tokio::test]
    async fn a_refresh_finds_every_customer_a_page_at_a_time() {
        let path = std::env::temp_dir().join(format!(
            "connectflow-known-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        let store = SqlStore::open(&Location::Sqlite(path.clone()), None)
            .await
            .unwrap();
        for i in 0..25u64 {
            let linked = LinkedAccount {
                reference: format!("r{i}"),
                partner: "mono".into(),
                institution: Some(InstitutionRef {
                    id: format!("bank{i}"),
                    name: "Bank".into(),
                }),
                institution_icon: None,
                auth_method: None,
                account_id: format!("a{i}"),
                phone_number: None,
                customer: Some(Customer {
                    id: format!("c{i}"),
                    ..Customer::default()
                }),
                channel: "ussd".into(),
            };
            // Five records a millisecond, against pages of four.
            let at = 1_000 + i / 5;
            let link = NewLink {
                linked: &linked,
                env: Env::Sandbox,
                at,
                outbox: false,
            };
            store.link(link).await.unwrap();
        }
        let known = Known::default();
        known.refresh_paged(&store, 0, 4).await.unwrap();
        for i in 0..25 {
            assert!(known.contains(known.key("mono", &format!("c{i}"))), "c{i}");
        }
        let _ = std::fs::remove_file(path);
    }
}
