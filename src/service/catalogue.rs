//! A partner's institution list, shared by every session of a process.
//!
//! Every turn that shows or restores a flow needs the catalogue; fetching it
//! per turn would make each person cost the partner a read. The cache keeps
//! it for `ttl`, runs one fetch at a time (concurrent turns wait for that
//! one instead of each making their own), and remembers a failure for
//! `failure_ttl`, so a partner that is down is not asked again by every turn.
//! A refreshed list equal to the cached one keeps the cached `Arc`, so
//! screens rendered from it and snapshots referring to it stay valid.
//! While a failure is remembered, and past a turn's deadline, the last
//! list the partner gave stands in (stale, and said to be): a bank list a
//! few minutes old is worth more to a person than "not available".
//!
//! The fetch is a task of its own, not a part of the turn that started it:
//! a turn with less time than the partner takes (a USSD dial, whose gateway
//! waits 4 s where the partner's read may take 9) stops waiting at its own
//! deadline, with the stale list if there is one, and the fetch goes on and
//! keeps the list for the next turn. Were the fetch the first turn's own
//! future, that turn's deadline would cancel it for everyone, and a
//! partner slower than the deadline would never have its list kept.
//!
//! A refresh that brings a list of other banks, or the same in another
//! order, keeps the one it replaced, and when: a screen numbered from the
//! old list may be answered after the change, and its answer must be told
//! apart from one to the new list (`channel/ussd/begin.rs`). A list whose
//! banks only changed what they are shown with (names, icons, colours,
//! codes) is not such a change: its numbers still pick the same banks, so a
//! partner that touches those at every refresh does not keep every dial
//! remembered. Their ways to log in and forms count: a form that gains a
//! field USSD cannot show takes its bank out of the numbered list.

use crate::driver::Driver;
use crate::flow::{Call, CallError, Catalogue, Institution, Reply, Timestamp};
use crate::store::Clock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// The least time between two refreshes made early for a list another
/// instance has ([`CatalogueCache::lookup_expecting`]).
const EARLY_REFRESH_GAP_MS: u64 = 10_000;

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
    /// When a refresh last replaced the list with a different one (ms, as
    /// [`Timestamp`]; 0: never): read with no lock by every dial, which
    /// takes the lock only in the minutes after a change.
    replaced_at: AtomicU64,
}

#[derive(Debug, Default)]
struct Entry {
    /// The last fetch's outcome.
    fetched: Option<Fetched>,
    /// The last list a fetch gave, whatever came after.
    last_list: Option<Arc<Catalogue>>,
    /// A fetch is running: the one-at-a-time gate.
    fetching: bool,
    /// The list the last change replaced (at `replaced_at`).
    replaced: Option<Arc<Catalogue>>,
    /// No refresh for a list another instance has before this time (ms):
    /// see [`CatalogueCache::lookup_expecting`].
    early_after: u64,
    /// The fingerprint of the list before the last one, whatever changed
    /// (a new name too): a session stored on it is not on a newer list.
    previous: Option<u64>,
}

/// A list as a turn gets it: the partner's latest, or one that stands in
/// for it (`stale`: past its time, a refresh running or failed), which a
/// screen shown from it must remember to read its answer against.
pub(crate) type Listed = (Arc<Catalogue>, bool);

/// What a turn finds in the cache.
pub(crate) enum Lookup {
    /// The list while fresh, or the failure while remembered (with the
    /// last list standing in, when there is one).
    Fresh(Result<Listed, CallError>),
    /// Stale or missing: wait for the fetch with [`CatalogueCache::wait`];
    /// `start` when no fetch ran and this turn must spawn this one
    /// ([`Running::fetch`]). Dropped unspawned, it opens the gate again.
    Stale {
        ended: watch::Receiver<()>,
        start: Option<Running>,
    },
}

impl CatalogueCache {
    pub(crate) fn new(ttl: Duration, failure_ttl: Duration) -> CatalogueCache {
        CatalogueCache {
            ttl,
            failure_ttl,
            entry: Mutex::new(Entry::default()),
            ended: watch::Sender::new(()),
            replaced_at: AtomicU64::new(0),
        }
    }

    /// The list a refresh replaced with a different one after `since`, if
    /// one did (the last such change only). `since` is asked for only once
    /// the list has ever changed (a clock read saved on every dial before).
    // Read by the USSD channel only (its screens are numbered).
    #[cfg_attr(not(feature = "ussd"), allow(dead_code))]
    pub(crate) fn replaced_after(
        &self,
        since: impl FnOnce() -> Timestamp,
    ) -> Option<Arc<Catalogue>> {
        let at = self.replaced_at.load(Ordering::Relaxed);
        if at == 0 || at <= since().0 {
            return None;
        }
        self.lock().replaced.clone()
    }

    /// [`lookup_expecting`](Self::lookup_expecting) expecting no list.
    #[cfg(test)]
    pub(crate) fn lookup(self: &Arc<Self>, now: Timestamp) -> Lookup {
        self.lookup_expecting(now, None)
    }

    /// The list at `now`, or what to wait on. A stale list marks a fetch
    /// as running if none is, and hands the caller its guard to start it.
    ///
    /// For a session stored on the list of fingerprint `expected`, a fresh
    /// list that is neither it nor the list this one replaced may be older
    /// than the list another instance fetched and stored the session on
    /// (each instance refreshes on its own time), so it is taken as stale,
    /// at most once in [`EARLY_REFRESH_GAP_MS`] (a partner that flips
    /// between two lists is not asked at every hop). Otherwise two
    /// instances on the two lists would each take the other's session for
    /// one on a changed list, and show a person moved between them the
    /// list again at every hop.
    pub(crate) fn lookup_expecting(
        self: &Arc<Self>,
        now: Timestamp,
        expected: Option<u64>,
    ) -> Lookup {
        let mut entry = self.lock();
        if let Some(fresh) = self.fresh(&entry, now) {
            let known = |list: &Catalogue| Some(list.fingerprint()) == expected;
            let unknown = match (&fresh, expected) {
                (Ok((list, false)), Some(_)) => {
                    !known(list)
                        && !entry.replaced.as_deref().is_some_and(known)
                        && entry.previous != expected
                }
                _ => false,
            };
            // While a fetch runs, the unknown wait for it (the gap only
            // bounds starting one).
            if !unknown || (now.0 < entry.early_after && !entry.fetching) {
                return Lookup::Fresh(fresh);
            }
            if !entry.fetching {
                entry.early_after = now.plus_ms(EARLY_REFRESH_GAP_MS).0;
            }
        }
        // Subscribed under the lock the fetch ends under, so its end is
        // one this turn hears of.
        let ended = self.ended.subscribe();
        let start = (!entry.fetching).then(|| Running(Some(Arc::clone(self))));
        entry.fetching = true;
        Lookup::Stale { ended, start }
    }

    /// The outcome of the fetch `ended` waits on (looked up at `since`),
    /// until `by` (`None`: until it ends). Past `by`, or when it failed,
    /// the last list stands in if there is one (else
    /// [`CallError::Timeout`], or the failure); the fetch goes on.
    pub(crate) async fn wait(
        &self,
        mut ended: watch::Receiver<()>,
        since: Timestamp,
        by: Option<tokio::time::Instant>,
    ) -> Result<Listed, CallError> {
        let waited = match by {
            Some(by) => tokio::time::timeout_at(by, ended.changed()).await,
            None => Ok(ended.changed().await),
        };
        let entry = self.lock();
        // The sender lives as long as `self`, so `changed` cannot fail: a
        // wake is a fetch's end (after one dropped unfinished, the entry
        // is the one before it, older than the lookup: standing in).
        let outcome = match (waited, &entry.fetched) {
            (Ok(_), Some((at, Ok(list)))) => return Ok((Arc::clone(list), *at < since)),
            (Ok(_), Some((_, Err(e)))) => Err(e.clone()),
            _ => Err(CallError::Timeout),
        };
        match &entry.last_list {
            Some(list) => Ok((Arc::clone(list), true)),
            None => outcome,
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
    /// `failure_ttl` (the last list standing in for it, if any).
    fn fresh(&self, entry: &Entry, now: Timestamp) -> Option<Result<Listed, CallError>> {
        let (at, result) = entry.fetched.as_ref()?;
        let ttl = if result.is_ok() {
            self.ttl
        } else {
            self.failure_ttl
        };
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        if now >= at.plus_ms(ttl_ms) {
            return None;
        }
        Some(match (result, &entry.last_list) {
            (Ok(list), _) => Ok((Arc::clone(list), false)),
            (Err(_), Some(list)) => Ok((Arc::clone(list), true)),
            (Err(e), None) => Err(e.clone()),
        })
    }
}

/// A fetch not yet ended: made by [`CatalogueCache::lookup_expecting`]
/// with the gate shut for it. Ended by its outcome, or by being dropped
/// (never spawned, its task dropped unpolled or as the runtime stops):
/// either way the gate
/// opens and the waiting are told in the same hold of the lock as the
/// outcome is kept (a turn that starts the next fetch in between must not
/// be woken by this one's end).
pub(crate) struct Running(Option<Arc<CatalogueCache>>);

impl Running {
    /// The fetch: the list through `driver` within `timeout`, kept from
    /// when it came. To be spawned: it owns all it needs, the guard
    /// included from the call on (an async fn's arguments are in its
    /// future before its first poll), so a task dropped unpolled opens the
    /// gate too.
    pub(crate) async fn fetch(self, driver: Driver, clock: Arc<dyn Clock>, timeout: Duration) {
        let result = match driver.call_within(&Call::ListInstitutions, timeout).await {
            Ok(Reply::Institutions(fresh)) => Ok(fresh),
            Ok(_) => Err(CallError::Malformed("expected an institution list".into())),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            tracing::warn!(partner = driver.partner(), error = %e, "institution list unavailable");
        }
        self.fetched(clock.now(), result);
    }

    /// The outcome, kept from `now`: a list equal to the cached one keeps
    /// the cached `Arc`.
    fn fetched(mut self, now: Timestamp, result: Result<Arc<Catalogue>, CallError>) {
        let Some(cache) = self.0.take() else {
            return;
        };
        let mut entry = cache.lock();
        let kept = match (result, &entry.last_list) {
            (Ok(fresh), Some(old)) if old.fingerprint() == fresh.fingerprint() => {
                Ok(Arc::clone(old))
            }
            (Ok(fresh), Some(old)) if same_banks(old, &fresh) => Ok(fresh),
            (Ok(fresh), Some(old)) => {
                entry.replaced = Some(Arc::clone(old));
                // The time after the list, both under the lock: a dial that
                // sees the time takes the lock to read `replaced`, and
                // finds the list it goes with.
                cache.replaced_at.store(now.0.max(1), Ordering::Relaxed);
                Ok(fresh)
            }
            (result, _) => result,
        };
        if let Ok(list) = &kept {
            let before = entry.last_list.replace(Arc::clone(list));
            if let Some(before) = before.filter(|b| b.fingerprint() != list.fingerprint()) {
                entry.previous = Some(before.fingerprint());
            }
        }
        entry.fetched = Some((now, kept));
        cache.open_gate(&mut entry);
    }
}

/// Whether two lists hold the same banks in the same order, with the same
/// ways to log in and forms: what numbers a bank list (a bank without a
/// way USSD can show is left out of it), whatever else changed.
fn same_banks(one: &Catalogue, other: &Catalogue) -> bool {
    let (one, other) = (one.institutions().iter(), other.institutions().iter());
    one.map(numbered).eq(other.map(numbered))
}

/// What of a bank numbers it (see [`same_banks`]).
fn numbered(bank: &Institution) -> impl PartialEq + '_ {
    (&bank.id, &bank.ui, &bank.auth_methods)
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(cache) = self.0.take() {
            let mut entry = cache.lock();
            cache.open_gate(&mut entry);
        }
    }
}

impl super::SessionService {
    /// The list `partner`'s latest replaced, if it did so within `within`
    /// of now: a screen numbered before the change may be answered after
    /// it (the module's doc). No clock read while the list never changed.
    // Read by the USSD channel only (its screens are numbered).
    #[cfg_attr(not(feature = "ussd"), allow(dead_code))]
    pub(crate) fn list_replaced_within(
        &self,
        partner: &str,
        within: std::time::Duration,
    ) -> Option<Arc<Catalogue>> {
        let p = self.partner(partner).ok()?;
        let within = u64::try_from(within.as_millis()).unwrap_or(u64::MAX);
        p.catalogue
            .replaced_after(|| crate::flow::Timestamp(self.clock.now().0.saturating_sub(within)))
    }
}

#[cfg(test)]
#[path = "catalogue_tests.rs"]
mod tests;
