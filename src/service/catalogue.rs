//! A partner's institution list, shared by every session of a process.
//!
//! Every turn that shows or restores a flow needs the catalogue; fetching it
//! per turn would make each person cost the partner a read. The cache keeps
//! it for `ttl`, runs one fetch at a time (concurrent turns wait for that
//! one instead of each making their own), and remembers a failure for
//! `failure_ttl`, so a partner that is down is not asked again by every turn.
//! A refreshed list equal to the cached one keeps the cached `Arc`, so
//! screens rendered from it and snapshots referring to it stay valid.
//!
//! The fetch is a task of its own, not a part of the turn that started it:
//! a turn with less time than the partner takes (a USSD dial, whose gateway
//! waits 4 s where the partner's read may take 9) stops waiting at its own
//! deadline, with the stale list if there is one, and the fetch goes on and
//! keeps the list for the next turn. Were the fetch the first turn's own
//! future, that turn's deadline would cancel it for everyone, and a
//! partner slower than the deadline would never have its list kept.

use crate::driver::Driver;
use crate::flow::{Call, CallError, Catalogue, Reply, Timestamp};
use crate::store::Clock;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// A fetch's outcome and when it happened.
type Fetched = (Timestamp, Result<Arc<Catalogue>, CallError>);

/// The cached list of one partner.
#[derive(Debug)]
pub(crate) struct CatalogueCache {
    ttl: Duration,
    failure_ttl: Duration,
    entry: Mutex<Entry>,
    /// Told each time a fetch ends (kept or dropped), under `entry`'s
    /// lock: what turns waiting for a fetch wait on.
    ended: watch::Sender<()>,
}

#[derive(Debug, Default)]
struct Entry {
    fetched: Option<Fetched>,
    /// A fetch is running: the one-at-a-time gate.
    fetching: bool,
}

/// What a turn finds in the cache.
pub(crate) enum Lookup {
    /// The list (or the failure) while fresh.
    Fresh(Result<Arc<Catalogue>, CallError>),
    /// Stale or missing: wait for the fetch with [`CatalogueCache::wait`];
    /// `start` when no fetch runs and this turn must start one
    /// ([`CatalogueCache::fetch`]).
    Stale {
        ended: watch::Receiver<()>,
        start: bool,
    },
}

impl CatalogueCache {
    pub(crate) fn new(ttl: Duration, failure_ttl: Duration) -> CatalogueCache {
        CatalogueCache {
            ttl,
            failure_ttl,
            entry: Mutex::new(Entry::default()),
            ended: watch::Sender::new(()),
        }
    }

    /// The list at `now`, or what to wait on. A stale list marks a fetch
    /// as running (`start`) if none is: the caller starts it.
    pub(crate) fn lookup(&self, now: Timestamp) -> Lookup {
        let mut entry = self.lock();
        if let Some(fresh) = self.fresh(&entry, now) {
            return Lookup::Fresh(fresh);
        }
        // Subscribed under the lock the fetch ends under, so its end is
        // one this turn hears of.
        let ended = self.ended.subscribe();
        let start = !entry.fetching;
        entry.fetching = true;
        Lookup::Stale { ended, start }
    }

    /// The outcome of the fetch `ended` waits on, until `by` (`None`:
    /// until it ends). Past `by`, the stale list if there is one, else
    /// [`CallError::Timeout`]; the fetch goes on.
    pub(crate) async fn wait(
        &self,
        mut ended: watch::Receiver<()>,
        by: Option<tokio::time::Instant>,
    ) -> Result<Arc<Catalogue>, CallError> {
        let waited = match by {
            Some(by) => tokio::time::timeout_at(by, ended.changed()).await,
            None => Ok(ended.changed().await),
        };
        let entry = self.lock();
        match (waited, &entry.fetched) {
            // The fetch's outcome (the sender lives as long as `self`, so
            // `changed` cannot fail); after a fetch dropped unfinished, the
            // list before it, if any.
            (Ok(_), Some((_, result))) => result.clone(),
            (Err(_), Some((_, Ok(stale)))) => Ok(Arc::clone(stale)),
            _ => Err(CallError::Timeout),
        }
    }

    /// The fetch a [`Lookup::Stale`] with `start` asked for: the list
    /// through `driver` within `timeout`, kept from when it came. To be
    /// spawned: it owns all it needs, and dropped at any point before its
    /// end (never polled, the runtime stopping), it lets the next turn
    /// start another and tells the turns waiting.
    pub(crate) fn fetch(
        self: &Arc<Self>,
        driver: Driver,
        clock: Arc<dyn Clock>,
        timeout: Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        // Made now, not on the first poll: a task dropped unpolled drops it.
        let running = Running(Some(Arc::clone(self)));
        async move {
            let result = match driver.call_within(&Call::ListInstitutions, timeout).await {
                Ok(Reply::Institutions(fresh)) => Ok(fresh),
                Ok(_) => Err(CallError::Malformed("expected an institution list".into())),
                Err(e) => Err(e),
            };
            if let Err(e) = &result {
                tracing::warn!(partner = driver.partner(), error = %e, "institution list unavailable");
            }
            running.fetched(clock.now(), result);
        }
    }

    /// A fetch ended: the gate opens and the waiting are told (`entry` is
    /// this cache's, locked).
    fn open_gate(&self, entry: &mut Entry) {
        entry.fetching = false;
        self.ended.send_replace(());
    }

    fn lock(&self) -> MutexGuard<'_, Entry> {
        self.entry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached entry, if still fresh: a list for `ttl`, a failure for
    /// `failure_ttl`.
    fn fresh(&self, entry: &Entry, now: Timestamp) -> Option<Result<Arc<Catalogue>, CallError>> {
        let (at, result) = entry.fetched.as_ref()?;
        let ttl = if result.is_ok() {
            self.ttl
        } else {
            self.failure_ttl
        };
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        (now < at.plus_ms(ttl_ms)).then(|| result.clone())
    }
}

/// A fetch not yet ended. Ended by [`fetched`](Running::fetched), or by
/// being dropped: either way the gate opens and the waiting are told in
/// the same hold of the lock as the outcome is kept (a turn that starts
/// the next fetch in between must not be woken by this one's end).
struct Running(Option<Arc<CatalogueCache>>);

impl Running {
    /// The outcome, kept from `now`: a list equal to the cached one keeps
    /// the cached `Arc`.
    fn fetched(mut self, now: Timestamp, result: Result<Arc<Catalogue>, CallError>) {
        let Some(cache) = self.0.take() else {
            return;
        };
        let mut entry = cache.lock();
        let kept = match (&result, &entry.fetched) {
            (Ok(fresh), Some((_, Ok(old)))) if old.fingerprint() == fresh.fingerprint() => {
                Ok(Arc::clone(old))
            }
            _ => result,
        };
        entry.fetched = Some((now, kept));
        cache.open_gate(&mut entry);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(cache) = self.0.take() {
            let mut entry = cache.lock();
            cache.open_gate(&mut entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::mono::{Customer, Mono, MonoConfig};
    use crate::driver::DriverConfig;
    use crate::store::SystemClock;

    const MINUTE: Duration = Duration::from_secs(60);

    /// A driver for a partner that is never reached (the fetches here are
    /// dropped or left unpolled).
    fn driver() -> Driver {
        let mono = Mono::new(MonoConfig::new(
            "test_sk",
            Customer::new_customer("Ada Obi", "ada@example.com"),
        ));
        Driver::new("http://127.0.0.1:9", mono, DriverConfig::default()).unwrap()
    }

    fn stale(lookup: Lookup) -> (watch::Receiver<()>, bool) {
        match lookup {
            Lookup::Stale { ended, start } => (ended, start),
            Lookup::Fresh(_) => panic!("a fresh list where none was fetched"),
        }
    }

    /// One fetch at a time: the first turn to find the list stale starts
    /// it, the others wait; a fetch dropped before its end (never polled)
    /// opens the gate again and wakes them, and with nothing kept they are
    /// told it timed out.
    #[tokio::test]
    async fn one_fetch_at_a_time_and_one_dropped_unpolled_lets_the_next_start() {
        let cache = Arc::new(CatalogueCache::new(MINUTE, MINUTE));
        let (first, start) = stale(cache.lookup(Timestamp(0)));
        assert!(start);
        let (_, again) = stale(cache.lookup(Timestamp(0)));
        assert!(!again, "a second fetch while one runs");
        drop(cache.fetch(driver(), Arc::new(SystemClock), MINUTE));
        // Bounded: a gate left shut would leave this turn waiting for good.
        let woken = tokio::time::timeout(MINUTE, cache.wait(first, None)).await;
        assert_eq!(woken, Ok(Err(CallError::Timeout)), "not woken");
        let (_, start) = stale(cache.lookup(Timestamp(0)));
        assert!(start, "the gate stayed shut after the fetch was dropped");
    }

    /// A turn past its deadline gets the stale list when there is one,
    /// else a timeout; a fetch's outcome reaches the turns waiting on it,
    /// and a list equal to the cached one keeps the cached `Arc`.
    #[tokio::test]
    async fn a_turn_past_its_deadline_gets_the_stale_list_and_an_equal_refresh_keeps_it() {
        let cache = Arc::new(CatalogueCache::new(MINUTE, MINUTE));
        let past = tokio::time::Instant::now();
        let (ended, _) = stale(cache.lookup(Timestamp(0)));
        assert_eq!(cache.wait(ended, Some(past)).await, Err(CallError::Timeout));

        let list = Arc::new(Catalogue::new(Vec::new()));
        let (ended, _) = stale(cache.lookup(Timestamp(0)));
        Running(Some(Arc::clone(&cache))).fetched(Timestamp(0), Ok(Arc::clone(&list)));
        let got = cache.wait(ended, None).await.unwrap();
        assert!(Arc::ptr_eq(&got, &list));

        // A minute on, stale: a refresh starts, and a turn that cannot
        // wait is given the stale list.
        let later = Timestamp(60_000);
        let (ended, start) = stale(cache.lookup(later));
        assert!(start);
        let got = cache.wait(ended, Some(past)).await.unwrap();
        assert!(Arc::ptr_eq(&got, &list));
        let equal = Arc::new(Catalogue::new(Vec::new()));
        let (ended, _) = stale(cache.lookup(later));
        Running(Some(Arc::clone(&cache))).fetched(later, Ok(equal));
        let got = cache.wait(ended, None).await.unwrap();
        assert!(
            Arc::ptr_eq(&got, &list),
            "an equal list replaced the cached Arc"
        );
        match cache.lookup(later) {
            Lookup::Fresh(Ok(fresh)) => assert!(Arc::ptr_eq(&fresh, &list)),
            _ => panic!("the refreshed list is not fresh"),
        }
    }
}
