//! A partner's institution list, shared by every session of a process.
//!
//! Every turn that shows or restores a flow needs the catalogue; fetching it
//! per turn would make each person cost the partner a read. The cache keeps
//! it for `ttl`, lets one refresh run at a time (concurrent turns wait for
//! that one instead of each making their own), and remembers a failure for
//! `failure_ttl`, so a partner that is down is not asked again by every turn.
//! A refreshed list equal to the cached one keeps the cached `Arc`, so
//! screens rendered from it and snapshots referring to it stay valid.

use crate::driver::Driver;
use crate::flow::{Call, CallError, Catalogue, Reply, Timestamp};
use crate::store::Clock;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A fetch's outcome and when it happened.
type Fetched = (Timestamp, Result<Arc<Catalogue>, CallError>);

/// The cached list of one partner.
#[derive(Debug)]
pub(crate) struct CatalogueCache {
    ttl: Duration,
    failure_ttl: Duration,
    entry: Mutex<Option<Fetched>>,
    /// Held while a refresh runs: the one-at-a-time gate.
    refresh: tokio::sync::Mutex<()>,
}

impl CatalogueCache {
    pub(crate) fn new(ttl: Duration, failure_ttl: Duration) -> CatalogueCache {
        CatalogueCache {
            ttl,
            failure_ttl,
            entry: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// The list: cached while fresh, else fetched through `driver` within
    /// `timeout` (one fetch at a time).
    pub(crate) async fn get(
        &self,
        driver: &Driver,
        clock: &dyn Clock,
        timeout: Duration,
    ) -> Result<Arc<Catalogue>, CallError> {
        if let Some(cached) = self.fresh(clock.now()) {
            return cached;
        }
        let _gate = self.refresh.lock().await;
        // Another turn may have refreshed it while this one waited.
        if let Some(cached) = self.fresh(clock.now()) {
            return cached;
        }
        let result = match driver.call_within(&Call::ListInstitutions, timeout).await {
            Ok(Reply::Institutions(fresh)) => Ok(fresh),
            Ok(_) => Err(CallError::Malformed("expected an institution list".into())),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            tracing::warn!(partner = driver.partner(), error = %e, "institution list unavailable");
        }
        self.store(clock.now(), result)
    }

    /// The cached entry, if still fresh: a list for `ttl`, a failure for
    /// `failure_ttl`.
    fn fresh(&self, now: Timestamp) -> Option<Result<Arc<Catalogue>, CallError>> {
        let guard = self.entry.lock().unwrap_or_else(PoisonError::into_inner);
        let (at, result) = guard.as_ref()?;
        let ttl = if result.is_ok() {
            self.ttl
        } else {
            self.failure_ttl
        };
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        (now < at.plus_ms(ttl_ms)).then(|| result.clone())
    }

    fn store(
        &self,
        now: Timestamp,
        result: Result<Arc<Catalogue>, CallError>,
    ) -> Result<Arc<Catalogue>, CallError> {
        let mut guard = self.entry.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = match (&result, guard.as_ref()) {
            (Ok(fresh), Some((_, Ok(old)))) if old.fingerprint() == fresh.fingerprint() => {
                Ok(Arc::clone(old))
            }
            _ => result,
        };
        *guard = Some((now, kept.clone()));
        kept
    }
}
