//! [`CachedDirectory`]: a host's customer directory, asked once per phone
//! a while rather than once per new session.
//!
//! Invariant: only a customer the partner already knows
//! ([`PartnerCustomer::Known`]) is reused, for the same phone and partner,
//! until `ttl` after it was asked for. Nothing else is: a phone the host
//! does not know (or has barred) is asked about again on its next session;
//! a new customer's name and email are not, since once linked the host
//! will name the partner's id for them instead, and reusing the name would
//! open a second new customer; a failure is not remembered. Lookups of one
//! phone at the same moment (a gateway that sends a first answer twice at
//! once) share one request to the host and its answer, a failure included.
//!
//! Where it saves a lookup: a session's customer already survives a resume
//! and "Start again", so what it saves is the lookups of a phone's *new*
//! sessions: a second link after a first, a dial after a flow that failed,
//! "Start again" on a re-authorisation offer, and twins.
//!
//! Phones are kept in memory only for that: an expired entry is dropped at
//! the latest by the first lookup a `ttl` after the last sweep, and past
//! [`CAPACITY`] phones new answers are simply not remembered (nothing
//! remembered is dropped for them).

use super::customers::{CustomerDirectory, DirectoryError, Lookup};
use crate::flow::PartnerCustomer;
use crate::metrics::Metrics;
use crate::store::BoxFuture;
use prometheus_client::metrics::counter::Counter;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Phones remembered at once: past this, answers are not remembered until
/// a sweep makes room (a flood of phones is not worth memory).
const CAPACITY: usize = 100_000;
/// The longest a phone's customer is remembered: a host that bars a phone
/// or changes its customer is heeded within this.
const MAX_TTL: Duration = Duration::from_secs(3600);
/// When full, the least time between two sweeps.
const FULL_SWEEP: Duration = Duration::from_secs(1);
/// A slot whose lookup was given up on (its caller's reply budget ran out)
/// and that no one asked for again is dropped after this.
const ABANDONED: Duration = Duration::from_secs(120);

/// A lookup's answer, shared by the callers of that moment.
type Answer = Arc<OnceCell<Result<Lookup, DirectoryError>>>;

/// One phone's lookup: its answer once there is one (shared by the callers
/// of that moment), and when it was asked for.
struct Slot {
    answer: Answer,
    asked: Instant,
}

/// The slots, and when they were last swept of expired ones.
struct Slots {
    by_phone: HashMap<(String, String), Slot>,
    swept: Instant,
}

/// A [`CustomerDirectory`] in front of another, remembering who each
/// phone is for `ttl` (see the module doc).
pub struct CachedDirectory {
    inner: Arc<dyn CustomerDirectory>,
    ttl: Duration,
    slots: Mutex<Slots>,
    /// [`CAPACITY`] (smaller in tests).
    capacity: usize,
    remembered: Option<Counter>,
}

impl std::fmt::Debug for CachedDirectory {
    // No phones: they are the people's.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedDirectory")
            .field("inner", &self.inner)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachedDirectory {
    /// `inner`, a phone's known customer remembered for `ttl` (at most an
    /// hour).
    pub fn new(inner: Arc<dyn CustomerDirectory>, ttl: Duration) -> CachedDirectory {
        CachedDirectory {
            inner,
            ttl: ttl.min(MAX_TTL),
            slots: Mutex::new(Slots {
                by_phone: HashMap::new(),
                swept: Instant::now(),
            }),
            capacity: CAPACITY,
            remembered: None,
        }
    }

    /// Also in `/metrics`: `connectflow_customer_lookups_remembered_total`,
    /// the lookups answered from memory (the directory's own counts are
    /// of the host's requests).
    pub fn with_metrics(mut self, metrics: &Metrics) -> CachedDirectory {
        let remembered = Counter::default();
        metrics.register(
            "customer_lookups_remembered",
            "USSD customer lookups answered from memory, the host not asked",
            remembered.clone(),
        );
        self.remembered = Some(remembered);
        self
    }

    /// Whether `slot` still stands at `now`: answered within the TTL, or
    /// still being asked (never expired under a lookup in flight).
    fn stands(&self, slot: &Slot, now: Instant) -> bool {
        let age = now.saturating_duration_since(slot.asked);
        if slot.answer.initialized() {
            age < self.ttl
        } else {
            age < ABANDONED.max(self.ttl)
        }
    }

    /// The slot for `key` and whether its answer is a remembered one; a
    /// new slot when there is none standing. `None`: full, nothing is
    /// remembered for now.
    fn slot(&self, key: &(String, String), now: Instant) -> Option<(Answer, bool)> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.by_phone.get(key) {
            if self.stands(slot, now) {
                return Some((Arc::clone(&slot.answer), slot.answer.initialized()));
            }
        }
        // Swept once a TTL (so an expired phone is gone within two), and
        // when full at most once a second: a sweep is a pass over every
        // phone under the lock, so it follows a TTL's (or a second's)
        // lookups, never each one.
        let since = now.saturating_duration_since(slots.swept);
        if since >= self.ttl || (slots.by_phone.len() >= self.capacity && since >= FULL_SWEEP) {
            slots.by_phone.retain(|_, slot| self.stands(slot, now));
            slots.swept = now;
        }
        if slots.by_phone.len() >= self.capacity {
            return None;
        }
        let answer = Arc::new(OnceCell::new());
        slots.by_phone.insert(
            key.clone(),
            Slot {
                answer: Arc::clone(&answer),
                asked: now,
            },
        );
        Some((answer, false))
    }

    /// Forgets `key`'s slot if it is still `answer`'s.
    fn forget(&self, key: &(String, String), answer: &Answer) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if slots
            .by_phone
            .get(key)
            .is_some_and(|s| Arc::ptr_eq(&s.answer, answer))
        {
            slots.by_phone.remove(key);
        }
    }
}

impl CustomerDirectory for CachedDirectory {
    fn lookup<'a>(
        &'a self,
        phone: &'a str,
        partner: &'a str,
    ) -> BoxFuture<'a, Result<Lookup, DirectoryError>> {
        Box::pin(async move {
            let key = (phone.to_owned(), partner.to_owned());
            let Some((answer, remembered)) = self.slot(&key, Instant::now()) else {
                return self.inner.lookup(phone, partner).await;
            };
            if remembered {
                if let Some(counter) = &self.remembered {
                    counter.inc();
                }
            }
            // One caller asks; the others of that moment wait for its
            // answer. A caller given up on mid-way leaves the next to ask.
            let looked_up = answer
                .get_or_init(|| self.inner.lookup(phone, partner))
                .await
                .clone();
            let keep = matches!(looked_up, Ok(Lookup::Found(PartnerCustomer::Known { .. })));
            if !keep {
                self.forget(&key, &answer);
            }
            looked_up
        })
    }
}

#[cfg(test)]
mod tests;
