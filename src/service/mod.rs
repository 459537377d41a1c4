//! The session service: one person's turn, for any remote channel.
//!
//! A remote channel (USSD, the JSON link API) serves a person in turns: a
//! hop, an HTTP request. Between turns the flow rests in a
//! [`SessionStore`]; any instance may serve the next turn. Every turn is the
//! same, and it lives here, not in a channel:
//!
//! ```text
//!            ┌────────── load (record + version) ◄──────────── store
//!            │
//!   channel decodes its wire ──► input for the flow (or a menu move)
//!            │
//!            ▼
//!   recover a dead instance's claim ─► apply the input ─► drive:
//!       reads (institution list)  answered from the per-partner cache
//!       a call that changes something at the partner ─► claim (CAS) ─► background call
//!            │
//!            ▼
//!   channel renders the view into its state ─► save (CAS) ─► deliver a link once
//! ```
//!
//! What a channel keeps (a USSD cursor, the link API's sequence number) is
//! its own `S` inside the [`Session<S>`] record; what every channel shares
//! (flow, partner, reference, claim, delivery) is the service's. The claim
//! lifecycle — how a login is sent at most once across instances and
//! crashes — is drawn in [`claim`]. Time comes from a [`Clock`], so all of
//! this is testable without sleeping.

mod catalogue;
pub mod claim;
mod create;
mod delivery;
mod health;
mod linked;
mod parked;
mod record;
pub mod signature;
mod start;
mod turn;

pub use crate::store::{Clock, SystemClock};
pub use claim::Claim;
pub use delivery::{Delivered, Delivery, DeliveryError, LinkedAccount};
pub use health::{marked, Health, HealthConfig, Status as HealthStatus, HEALTH_KEY};
pub use parked::SWEEP_EVERY;
#[cfg(feature = "testing")]
pub(crate) use record::is_compact;
#[cfg(feature = "ussd")]
pub(crate) use record::IndexWrite;
pub use record::{record_json, ChannelState, Customer, Session};
pub use signature::SIGNATURE_HEADER;
pub use start::new_reference;
pub use turn::{Channel, ClaimStatus, Loaded, Turn};

use crate::driver::Driver;
use crate::flow::{CallError, Catalogue, FlowConfig, FlowError, RestoreError};
use crate::store::{SessionStore, StoreError, Version};
use catalogue::{CatalogueCache, Lookup};
use std::sync::Arc;
use std::time::Duration;

/// How the service behaves.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The flow's limits (the reference is set per session).
    pub flow: FlowConfig,
    /// A session lives this long after its last turn.
    pub session_ttl: Duration,
    /// A claim older than this is taken to be from a dead process. Must
    /// exceed the longest chain of calls one turn can make (a login or
    /// commit at a slow bank, then the exchange, then a list read: 150 s by
    /// default, for the driver's 60 s cap on one step).
    pub claim_lease: Duration,
    /// How long the institution list is reused before it is fetched again.
    pub catalogue_ttl: Duration,
    /// How long a failure to fetch it is remembered (so a partner that is
    /// down is not asked by every turn).
    pub catalogue_failure_ttl: Duration,
    /// The longest a turn waits for the institution list.
    pub read_timeout: Duration,
}

impl ServiceConfig {
    /// How long a phone's index (the hint that offers a re-dial its
    /// unfinished flow) lives after it is written: twice the session's TTL.
    /// The index is written when a session starts or moves, and the session
    /// is renewed by every later turn (each hop of the telecom session, a
    /// call settling after it), so an index with the session's own TTL
    /// expired first and a re-dial within the session's life was offered
    /// nothing. An index outliving its session is harmless: the offer reads
    /// the session.
    pub fn index_ttl(&self) -> Duration {
        self.session_ttl.saturating_mul(2)
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            flow: FlowConfig::default(),
            session_ttl: Duration::from_secs(600),
            claim_lease: Duration::from_secs(150),
            catalogue_ttl: Duration::from_secs(300),
            catalogue_failure_ttl: Duration::from_secs(5),
            read_timeout: Duration::from_secs(9),
        }
    }
}

/// Why a turn could not be served. A channel answers the person politely
/// whatever this is; none of it is the person's doing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The store failed, or another turn of the same session won the write
    /// ([`StoreError::Conflict`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored record is not one this build can read.
    #[error("stored session unreadable: {0}")]
    Record(#[from] serde_json::Error),
    /// The stored flow could not be restored.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// The record names a partner this process does not serve.
    #[error("no partner {0:?} is configured")]
    UnknownPartner(String),
    /// The flow refused an input the service made (a bug).
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// The background task of a call ended without an answer.
    #[error("the partner call was lost")]
    Lost,
}

impl ServiceError {
    /// True when another turn of the same session won the write.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ServiceError::Store(StoreError::Conflict))
    }
}

/// A partner flows can run against, with its catalogue cache.
#[derive(Debug)]
pub(crate) struct Partner {
    pub(crate) driver: Driver,
    pub(crate) catalogue: Arc<CatalogueCache>,
}

/// `budget` from now, as a deadline; a budget too large to add (a
/// configured "never") is a year, rather than the panic `Instant + Duration`
/// is on overflow.
pub(crate) fn deadline_in(budget: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(budget)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

/// Runs people's turns. Share one per process behind an `Arc`; every
/// channel of a `serve` process uses the same one.
#[derive(Debug)]
pub struct SessionService {
    partners: Vec<(&'static str, Arc<Partner>)>,
    store: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    config: ServiceConfig,
    delivery: Option<Arc<dyn Delivery>>,
    /// What recent calls say about each institution (see `health.rs`).
    health: Arc<Health>,
    /// Background partner calls, so shutdown can wait for them.
    pub(crate) tasks: tokio_util::task::TaskTracker,
    /// Cancelled when shutdown begins: background work that waits (a
    /// delivery retried later) makes its last try then, rather than hold
    /// the process for its whole pause.
    pub(crate) stopping: tokio_util::sync::CancellationToken,
    /// What this process knows of the parked list (`parked/`): the links it
    /// parked, and whether every shard was full a moment ago. A link page
    /// polled through an outage tries its delivery on every poll, and must
    /// not re-read the shards each time.
    pub(crate) parked_here: std::sync::Mutex<parked::Here>,
}

impl SessionService {
    /// A service running flows through `drivers` (one per partner; the first
    /// is the default) and keeping sessions in `store` (wrap it in
    /// [`Sealed`](crate::store::Sealed)).
    pub fn new(
        drivers: Vec<Driver>,
        store: Arc<dyn SessionStore>,
        config: ServiceConfig,
    ) -> SessionService {
        let partners = drivers
            .into_iter()
            .map(|driver| {
                let cache = Arc::new(CatalogueCache::new(
                    config.catalogue_ttl,
                    config.catalogue_failure_ttl,
                ));
                (
                    driver.partner(),
                    Arc::new(Partner {
                        driver,
                        catalogue: cache,
                    }),
                )
            })
            .collect::<Vec<_>>();
        // A claim covers one call and what follows it without the person (an
        // exchange after a code, a new session after a restarted login) plus
        // a list read: the lease must outlast that, or a live call could be
        // recovered as dead and its outcome dropped.
        for (name, p) in &partners {
            let worst = p.driver.longest_call() * 2 + config.read_timeout;
            if config.claim_lease < worst {
                tracing::warn!(partner = name, lease_ms = config.claim_lease.as_millis() as u64,
                    worst_ms = worst.as_millis() as u64,
                    "the claim lease is shorter than the longest call chain; a slow call may be recovered while still running");
            }
        }
        SessionService {
            partners,
            store,
            clock: Arc::new(SystemClock),
            config,
            delivery: None,
            health: Arc::new(Health::new(HealthConfig::default())),
            tasks: tokio_util::task::TaskTracker::new(),
            stopping: tokio_util::sync::CancellationToken::new(),
            parked_here: std::sync::Mutex::default(),
        }
    }

    /// Waits (up to `grace`) for the partner calls still running in the
    /// background to settle into their sessions: a process asked to stop
    /// must not drop an outcome the partner already produced. A link whose
    /// delivery is waiting to be retried is tried once more, now. Returns
    /// whether they all finished.
    pub async fn drain(&self, grace: Duration) -> bool {
        self.stopping.cancel();
        self.tasks.close();
        let done = tokio::time::timeout(grace, self.tasks.wait()).await.is_ok();
        self.tasks.reopen();
        done
    }

    /// The same service reading time from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> SessionService {
        self.clock = clock;
        self
    }

    /// The same service judging institutions' health with `health` (for
    /// example [`Health::with_metrics`], to show it in `/metrics`).
    pub fn with_health(mut self, health: Health) -> SessionService {
        self.health = Arc::new(health);
        self
    }

    /// What recent partner calls say about each institution.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The same service handing every linked account to `delivery`.
    pub fn with_delivery(mut self, delivery: Arc<dyn Delivery>) -> SessionService {
        self.delivery = Some(delivery);
        self
    }

    /// The config.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The store sessions are kept in.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> crate::flow::Timestamp {
        self.clock.now()
    }

    /// The default partner's name (the first configured).
    pub fn default_partner(&self) -> Option<&'static str> {
        self.partners.first().map(|(name, _)| *name)
    }

    /// The partners served, by name.
    pub fn partners(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.partners.iter().map(|(name, _)| *name)
    }

    pub(crate) fn partner(&self, name: &str) -> Result<&Arc<Partner>, ServiceError> {
        self.partners
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p)
            .ok_or_else(|| ServiceError::UnknownPartner(name.to_owned()))
    }

    /// The partner's institution list, from the cache or fetched (one fetch
    /// at a time, by a task of its own on the tokio runtime this is called
    /// from, a failure remembered briefly, the last list standing in for
    /// it while it is), as people are shown it: with institutions' health
    /// applied ([`Health::apply`]).
    pub async fn catalogue(&self, partner: &str) -> Result<Arc<Catalogue>, CallError> {
        self.catalogue_within(partner, None).await
    }

    /// [`catalogue`](Self::catalogue) for a turn that must answer by `by`
    /// (`None`: no limit): a stale list is waited for until then, then the
    /// last list stands in (none: the timeout, or the failure remembered),
    /// and the fetch
    /// it started or found running goes on, its list kept for the next
    /// turn (catalogue.rs says why).
    pub(crate) async fn catalogue_within(
        &self,
        partner: &str,
        by: Option<tokio::time::Instant>,
    ) -> Result<Arc<Catalogue>, CallError> {
        self.catalogue_at(partner, by).await.map(|(list, _)| list)
    }

    /// [`catalogue_within`](Self::catalogue_within), with whether the list
    /// is one standing in for the partner's latest (`true`): a screen shown
    /// from it must keep it to read its answer against, since the refresh
    /// may bring another before the answer comes.
    pub(crate) async fn catalogue_at(
        &self,
        partner: &str,
        by: Option<tokio::time::Instant>,
    ) -> Result<catalogue::Listed, CallError> {
        self.catalogue_expecting(partner, by, None).await
    }

    /// [`catalogue_at`](Self::catalogue_at) for a session stored on the
    /// list of fingerprint `expected` (by this instance or another): a
    /// fresh list that is not that one may be refreshed early
    /// ([`CatalogueCache::lookup_expecting`](catalogue::CatalogueCache::lookup_expecting)).
    pub(crate) async fn catalogue_expecting(
        &self,
        partner: &str,
        by: Option<tokio::time::Instant>,
        expected: Option<u64>,
    ) -> Result<catalogue::Listed, CallError> {
        let Ok(p) = self.partner(partner) else {
            return Err(CallError::Malformed(format!("no partner {partner:?}")));
        };
        let now = self.clock.now();
        let (list, stale) = match p.catalogue.lookup_expecting(now, expected) {
            Lookup::Fresh(listed) => listed?,
            Lookup::Stale { ended, start } => {
                if let Some(running) = start {
                    let timeout = self.config.read_timeout.min(p.driver.call_timeout());
                    // Its own task (tokio is this service's runtime): made
                    // before it is spawned, the guard opens the gate again
                    // however the task ends.
                    tokio::spawn(running.fetch(p.driver.clone(), Arc::clone(&self.clock), timeout));
                }
                p.catalogue.wait(ended, now, by).await?
            }
        };
        // The down and the degraded marked (health.rs).
        Ok((self.health.apply(partner, list, self.clock.now()), stale))
    }

    /// The institutions `customer` linked through `partner` before, most
    /// recent first (see [`Delivery::linked_before`]); empty without a
    /// delivery, and when the records cannot be read (the order of a bank
    /// list is not worth failing a turn for: that is logged).
    pub async fn linked_before(&self, partner: &str, customer: &str) -> Vec<String> {
        let Some(delivery) = &self.delivery else {
            return Vec::new();
        };
        match delivery.linked_before(partner, customer).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the customer's earlier links");
                Vec::new()
            }
        }
    }

    /// The session at `key`, if any. A record that does not open (another
    /// seal key, tampered, replayed) reads as absent.
    pub async fn load<S: ChannelState>(
        &self,
        key: &str,
    ) -> Result<Option<Loaded<S>>, ServiceError> {
        let Some(entry) = crate::store::get_readable(self.store.as_ref(), key).await? else {
            return Ok(None);
        };
        self.loaded(entry).map(Some)
    }

    /// The session at `key`; when there is none, the record at `fallback`
    /// (a USSD phone's index), read in the same round trip where the store
    /// allows. A record that does not open reads as absent, as in
    /// [`load`](Self::load).
    pub async fn load_or<S: ChannelState>(
        &self,
        key: &str,
        fallback: &str,
    ) -> Result<(Option<Loaded<S>>, Option<crate::store::Entry>), ServiceError> {
        match self.store.get_or(key, fallback).await {
            Ok((Some(entry), _)) => Ok((Some(self.loaded(entry)?), None)),
            Ok((None, other)) => Ok((None, other)),
            // One of them does not open: the one-record reads clear or skip
            // it (rare, so two round trips here are fine). Boxed so that
            // every hop's future does not carry this rare path's size.
            Err(StoreError::Tampered { .. } | StoreError::UnknownKey { .. }) => {
                Box::pin(self.load_each(key, fallback)).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// [`load_or`](Self::load_or) one record at a time.
    async fn load_each<S: ChannelState>(
        &self,
        key: &str,
        fallback: &str,
    ) -> Result<(Option<Loaded<S>>, Option<crate::store::Entry>), ServiceError> {
        match self.load(key).await? {
            Some(loaded) => Ok((Some(loaded), None)),
            None => Ok((
                None,
                crate::store::get_readable(self.store.as_ref(), fallback).await?,
            )),
        }
    }

    fn loaded<S: ChannelState>(
        &self,
        entry: crate::store::Entry,
    ) -> Result<Loaded<S>, ServiceError> {
        let mut session = Session::from_bytes(&entry.data)?;
        session.read_at = Some((entry.read_at, std::time::Instant::now()));
        Ok(Loaded {
            version: Some(entry.version),
            session,
        })
    }

    /// Writes `session` at `key` if the stored version is still `version`
    /// (`None`: the key must be absent); the new version, or a conflict.
    pub async fn save<S: ChannelState>(
        &self,
        key: &str,
        version: Option<Version>,
        session: &Session<S>,
    ) -> Result<Version, ServiceError> {
        let bytes = session.to_bytes()?;
        let ttl = self.ttl_of(session);
        Ok(match &session.index {
            None => self.store.compare_and_set(key, version, bytes, ttl).await?,
            Some(index) => {
                let also = crate::store::AlsoSet {
                    key: &index.key,
                    expected: index.expected,
                    data: index.data.clone(),
                    ttl: self.config.index_ttl(),
                };
                self.store
                    .compare_and_set_with(key, version, bytes, ttl, also)
                    .await?
            }
        })
    }

    /// How long a save keeps `session`: the session TTL, or until the time
    /// it must be kept to when that is later.
    pub(crate) fn ttl_of<S>(&self, session: &Session<S>) -> Duration {
        let promised = session
            .keep_until
            .map_or(0, |until| self.clock.now().until(until));
        self.config.session_ttl.max(Duration::from_millis(promised))
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    /// A budget configured as "never" (`Duration::MAX`, or a huge
    /// `--reply-budget`) is a far deadline, not the panic of
    /// `Instant + Duration` on overflow (review, 2026-12-04: a hop with such
    /// a budget panicked since its deadline was taken at arrival).
    #[tokio::test]
    async fn a_huge_budget_is_a_far_deadline_not_a_panic() {
        let far = deadline_in(Duration::MAX);
        assert!(far > tokio::time::Instant::now() + Duration::from_secs(300 * 24 * 3600));
        let near = deadline_in(Duration::from_secs(1));
        assert!(near <= tokio::time::Instant::now() + Duration::from_secs(1));
    }
}
