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
//! deadline, and the fetch goes on and keeps the list for the next turn.
//! Were the fetch the first turn's own future, that turn's deadline would
//! cancel it for everyone, and a partner slower than the deadline would
//! never have its list kept.

use crate::driver::Driver;
use crate::flow::{Call, CallError, Catalogue, Reply, Timestamp};
use crate::store::Clock;
use std::sync::{Arc, Mutex, PoisonError};
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
    /// Told each time a fetch ends (stored or not): what turns waiting for
    /// a fetch wait on.
    ended: watch::Sender<()>,
}

#[derive(Debug, Default)]
struct Entry {
    fetched: Option<Fetched>,
    /// A fetch is running: the one-at-a-time gate.
    fetching: bool,
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

    /// The list: cached while fresh, else the outcome of a fetch, waited
    /// for until `by` (`None`: until it ends). `start` spawns a task
    /// running [`fetch`](Self::fetch); it is called only when no fetch
    /// runs. A turn that stops waiting is told [`CallError::Timeout`],
    /// and the fetch goes on.
    pub(crate) async fn get(
        &self,
        now: Timestamp,
        start: impl FnOnce(),
        by: Option<tokio::time::Instant>,
    ) -> Result<Arc<Catalogue>, CallError> {
        let mut ended = {
            let mut entry = self.lock();
            if let Some(cached) = self.fresh(&entry, now) {
                return cached;
            }
            // Subscribed under the lock, so a fetch that ends after this
            // turn saw the list stale is one it hears of.
            let ended = self.ended.subscribe();
            if !entry.fetching {
                entry.fetching = true;
                start();
            }
            ended
        };
        let waited = match by {
            Some(by) => tokio::time::timeout_at(by, ended.changed()).await,
            None => Ok(ended.changed().await),
        };
        match waited {
            Err(_) => Err(CallError::Timeout),
            // The sender lives as long as `self`: `changed` cannot fail.
            // After a fetch abandoned, the list before it, if any (stale
            // rather than none).
            Ok(_) => match &self.lock().fetched {
                Some((_, result)) => result.clone(),
                None => Err(CallError::Timeout),
            },
        }
    }

    /// Fetches the list through `driver` within `timeout` and keeps the
    /// outcome: the body of the task `start` spawns.
    pub(crate) async fn fetch(&self, driver: &Driver, clock: &dyn Clock, timeout: Duration) {
        // Dropped unfinished (the runtime stopping), the fetch tells the
        // waiting, so none waits on a fetch that is gone.
        let unfinished = Unfinished(self);
        let result = match driver.call_within(&Call::ListInstitutions, timeout).await {
            Ok(Reply::Institutions(fresh)) => Ok(fresh),
            Ok(_) => Err(CallError::Malformed("expected an institution list".into())),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            tracing::warn!(partner = driver.partner(), error = %e, "institution list unavailable");
        }
        std::mem::forget(unfinished);
        self.fetched(clock.now(), result);
    }

    /// A fetch's outcome, kept from `now` and told to the turns waiting.
    fn fetched(&self, now: Timestamp, result: Result<Arc<Catalogue>, CallError>) {
        let mut entry = self.lock();
        let kept = match (&result, &entry.fetched) {
            (Ok(fresh), Some((_, Ok(old)))) if old.fingerprint() == fresh.fingerprint() => {
                Ok(Arc::clone(old))
            }
            _ => result,
        };
        entry.fetched = Some((now, kept));
        entry.fetching = false;
        self.ended.send_replace(());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entry> {
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

/// A fetch dropped before its outcome: the next turn starts another, and
/// the turns waiting are told.
struct Unfinished<'a>(&'a CatalogueCache);

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        self.0.lock().fetching = false;
        self.0.ended.send_replace(());
    }
}
