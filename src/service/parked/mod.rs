//! Links whose delivery failed, kept in the session store until a delivery
//! of them succeeds: the backstop that outlives a process.
//!
//! Invariant: an entry leaves the list only after a delivery of it
//! succeeded (delivery is idempotent by reference, so delivering one twice
//! records nothing twice). Every write is a compare-and-set over what was
//! read; a shard this instance cannot read but another may (unparseable by
//! this build, sealed with a key it lacks) is never written over, and an
//! entry this build cannot parse is kept as it is. Only a shard that fails
//! authentication, which no instance can read, is cleared.
//!
//! Why: `redeliver` retries a failed delivery in the background, but only
//! while its process lives, and a USSD person has hung up by then. A link
//! made while the auth records were down, then a restart, was only in a log
//! line. The list lives in the session store (shared by every instance of a
//! Redis deployment, sealed like the sessions; with the memory store it
//! lives as long as the process), holding the links themselves, not the
//! sessions' keys: a session may expire long before the records are back.
//! [`SessionService::sweep_parked`] delivers what it holds; `serve` runs it
//! at start and every [`SWEEP_EVERY`].
//!
//! The list is [`SHARDS`] records: each is rewritten whole on a change, so
//! each is bounded ([`MAX_PER_SHARD`]). A link goes to the first shard with
//! room, starting from one its reference and account pick (so parks spread
//! and contend less), passing over a shard it cannot read or that stays
//! contended. A sweep takes the shards one at a time from a random one, and
//! takes a shard's delivered links off it before the next. The single list
//! of a build before the shards ([`LEGACY_KEY`]) is still swept, never
//! parked into; a build from before them sweeps only that one, so rolling
//! back leaves the shards' links to their own processes' retries.

use super::{LinkedAccount, SessionService};
use crate::store::{StoreError, Version};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

/// The store key of the single list written before the shards: swept
/// until it empties, never parked into.
const LEGACY_KEY: &str = "delivery:parked";
/// How many records the list is spread over: with [`MAX_PER_SHARD`], how
/// many links an outage can leave undelivered before one is only logged.
/// A sweep reads every shard, so this many reads every [`SWEEP_EVERY`].
const SHARDS: u64 = 64;
/// How long the list is kept after its last change: long enough for an
/// outage of the auth records over a long weekend.
const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);
/// A shard is rewritten whole on each change, so it is bounded; a link
/// finding every shard full is logged in full for an operator instead (and
/// still retried by its own process). Small under unit tests, so filling
/// every shard is cheap to test.
const MAX_PER_SHARD: usize = if cfg!(test) { 3 } else { 1000 };
/// How long one park or one removal keeps trying a contended shard (many
/// deliveries fail at once when the records go down), with a growing,
/// jittered pause between tries.
const CONTENDED_FOR: Duration = Duration::from_secs(3);
/// How often `serve` sweeps the list.
pub const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// A sweep stops after this many failed deliveries in a row (the records
/// are still down: the rest would only wait out the same failure).
const FAILURES_IN_A_ROW: usize = 3;

/// A link's identity on the list, as the records tell two links of one
/// reference apart: reference, partner, account and customer.
type Id = (String, String, String, Option<String>);

/// What this process remembers of the list, so a link page polled through
/// an outage (a delivery tried on every poll) does not read the shards
/// each time.
#[derive(Debug, Default)]
pub(crate) struct Here {
    /// The links this process parked and has not seen delivered.
    ids: HashSet<Id>,
    /// Every shard was full when last tried: no park reads them again
    /// before this (one sweep's interval), when one may have room.
    full_until: Option<tokio::time::Instant>,
}

/// The store key of shard `n`.
fn shard(n: u64) -> String {
    format!("{LEGACY_KEY}:{}", n % SHARDS)
}

/// Every key a parked link may be under, from a random shard: the shards,
/// then the legacy list.
fn every_key() -> impl Iterator<Item = String> {
    let start = (uuid::Uuid::new_v4().as_u128() % u128::from(SHARDS)) as u64;
    (start..start + SHARDS)
        .map(shard)
        .chain([LEGACY_KEY.to_owned()])
}

/// The shard a link tries first: FNV-1a of its reference and account, the
/// same on every instance and build (std's hasher is seeded per process),
/// so a link parked twice meets its first copy on the way.
fn first_shard(linked: &LinkedAccount) -> u64 {
    let bytes = linked
        .reference
        .bytes()
        .chain([0])
        .chain(linked.account_id.bytes());
    crate::flow::fnv1a(bytes) % SHARDS
}

fn id(linked: &LinkedAccount) -> Id {
    (
        linked.reference.clone(),
        linked.partner.clone(),
        linked.account_id.clone(),
        linked.customer.as_ref().map(|c| c.id.clone()),
    )
}

/// The [`Id`] of a stored entry, read from its JSON (an entry this build
/// cannot parse whole still has one, if it has these fields).
fn stored_id(entry: &Value) -> Id {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    (
        text(entry.get("reference")),
        text(entry.get("partner")),
        text(entry.get("account_id")),
        entry
            .get("customer")
            .and_then(|c| c.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    )
}

/// Why a shard was not read.
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the list is not a list this build reads: {0}")]
    Format(serde_json::Error),
}

/// Why a shard was not changed.
#[derive(Debug, thiserror::Error)]
enum Unchanged {
    /// No room for one more link: the next shard may have some.
    #[error("the shard is full")]
    Full,
    /// Another writer won every try for [`CONTENDED_FOR`].
    #[error("the shard stayed contended")]
    Contended,
    #[error(transparent)]
    Unreadable(#[from] Unreadable),
}

impl Unchanged {
    /// Whether the store itself failed (not this shard): trying another
    /// shard now would fail the same way.
    fn is_backend(&self) -> bool {
        matches!(
            self,
            Unchanged::Unreadable(Unreadable::Store(StoreError::Backend(_)))
        )
    }
}

impl SessionService {
    /// Keeps `linked` on the parked list: once (a link already on a shard
    /// it probes, by [`Id`], is left as it is, and one this process parked
    /// is not looked for again), in the first shard with room from its
    /// [`first_shard`].
    pub(crate) async fn park(&self, linked: &LinkedAccount) {
        let id = id(linked);
        let now = tokio::time::Instant::now();
        let skip = self.parked_here.lock().is_ok_and(|here| {
            here.ids.contains(&id) || here.full_until.is_some_and(|until| now < until)
        });
        if skip {
            // Already parked by this process, or every shard was full a
            // moment ago (its own process still retries it).
            return;
        }
        let Ok(entry) = serde_json::to_value(linked) else {
            return;
        };
        let start = first_shard(linked);
        let mut all_full = true;
        let mut last = None;
        for n in start..start + SHARDS {
            let outcome = self
                .change_parked(&shard(n), |links| {
                    if links.iter().any(|l| stored_id(l) == id) {
                        return Ok(false);
                    }
                    if links.len() >= MAX_PER_SHARD {
                        return Err(Unchanged::Full);
                    }
                    links.push(entry.clone());
                    Ok(true)
                })
                .await;
            let e = match outcome {
                Ok(()) => {
                    if let Ok(mut here) = self.parked_here.lock() {
                        // Bounded like the list itself.
                        if here.ids.len() >= SHARDS as usize * MAX_PER_SHARD {
                            here.ids.clear();
                        }
                        here.ids.insert(id);
                    }
                    return;
                }
                Err(e) => e,
            };
            all_full &= matches!(e, Unchanged::Full);
            let backend = e.is_backend();
            if !matches!(e, Unchanged::Full) && !backend {
                tracing::warn!(shard = n % SHARDS, error = %e, "a parked-delivery shard passed over");
            }
            last = Some(e);
            // The store itself failing would fail the same on any shard.
            // Anything else (full, contended, not this build's to read) is
            // this shard's: the next one (nothing was written to this one).
            if backend {
                break;
            }
        }
        let why = if all_full {
            if let Ok(mut here) = self.parked_here.lock() {
                here.full_until = Some(now + SWEEP_EVERY);
            }
            "every shard of the parked-delivery list is full".to_owned()
        } else {
            last.map(|e| e.to_string()).unwrap_or_default()
        };
        // Logged with what an operator needs to record it by hand.
        tracing::error!(reference = %linked.reference, account = %linked.account_id,
            partner = %linked.partner, why = %why,
            "the link could not be parked for a later delivery; only this process retries it");
    }

    /// Delivers the parked links, and takes those delivered off the list;
    /// returns how many were delivered. Takes the shards one at a time from
    /// a random one, each from a random place (one link the records always
    /// refuse must not stand before the rest for ever), and takes a shard's
    /// delivered links off it before the next (a long sweep keeps what it
    /// did if it stops). Stops after `FAILURES_IN_A_ROW` (3) failures in a
    /// row (the records are still down), or when the service begins to
    /// stop; what is not delivered stays.
    pub async fn sweep_parked(&self) -> usize {
        let mut listed: HashSet<Id> = HashSet::new();
        let mut unread = 0;
        let mut delivered_count = 0;
        let mut failed = 0;
        'shards: for key in every_key() {
            let links = match self.parked(&key).await {
                Ok((_, links)) => links,
                Err(e) => {
                    // This shard's links wait for the next sweep; the
                    // others are still delivered.
                    unread += 1;
                    tracing::debug!(key, error = %e, "a parked-delivery shard could not be read");
                    continue;
                }
            };
            let entries: Vec<LinkedAccount> = links
                .iter()
                // An entry this build cannot read stays for one that can.
                .filter_map(|entry| serde_json::from_value(entry.clone()).ok())
                .collect();
            listed.extend(entries.iter().map(id));
            let start = match entries.len() {
                0 => continue,
                n => (uuid::Uuid::new_v4().as_u128() % n as u128) as usize,
            };
            let mut off: HashSet<Id> = HashSet::new();
            let mut stop = false;
            for linked in entries.iter().cycle().skip(start).take(entries.len()) {
                if self.stopping.is_cancelled() {
                    stop = true;
                    break;
                }
                if self.deliver(linked).await.is_some() {
                    off.insert(id(linked));
                    failed = 0;
                } else {
                    failed += 1;
                    if failed >= FAILURES_IN_A_ROW {
                        stop = true;
                        break;
                    }
                }
            }
            if !off.is_empty() {
                delivered_count += off.len();
                let removed = self
                    .change_parked(&key, |links| {
                        let before = links.len();
                        links.retain(|l| !off.contains(&stored_id(l)));
                        Ok(links.len() != before)
                    })
                    .await;
                if let Err(why) = removed {
                    // Delivered all the same; the next sweep delivers them
                    // again, which records nothing twice.
                    tracing::warn!(why = %why, key, "delivered parked links are still listed");
                }
                if let Ok(mut here) = self.parked_here.lock() {
                    for d in &off {
                        here.ids.remove(d);
                        listed.remove(d);
                    }
                }
            }
            if stop {
                break 'shards;
            }
        }
        if unread > 0 {
            tracing::error!(
                shards = unread,
                "parked-delivery shards could not be read; their links wait for the next sweep"
            );
        } else if let Ok(mut here) = self.parked_here.lock() {
            // What this process parked and no shard lists (delivered by
            // another instance, or the list lost) may be parked again;
            // only known after a sweep that read every shard.
            here.ids.retain(|held| listed.contains(held));
        }
        delivered_count
    }

    /// Sweeps the parked list now and then every `every`, until the
    /// service begins to stop ([`drain`](Self::drain) ends it: between
    /// sweeps, or within one before its next delivery; a sweep stops after
    /// three failed deliveries in a row, so one is short while the records
    /// are down).
    pub async fn keep_sweeping(self: std::sync::Arc<Self>, every: Duration) {
        loop {
            let swept = self.sweep_parked().await;
            if swept > 0 {
                tracing::info!(delivered = swept, "parked links delivered");
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = self.stopping.cancelled() => return,
            }
        }
    }

    /// Applies `change` to the shard at `key` and writes it back with
    /// compare-and-set, trying again on a conflict (with a growing, jittered
    /// pause) for up to [`CONTENDED_FOR`]. `change` returns whether it
    /// changed anything (no write when not), or why it refuses.
    async fn change_parked(
        &self,
        key: &str,
        mut change: impl FnMut(&mut Vec<Value>) -> Result<bool, Unchanged>,
    ) -> Result<(), Unchanged> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let (version, mut links) = self.parked(key).await?;
            if !change(&mut links)? {
                return Ok(());
            }
            match self.write_parked(key, version, &links).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) if started.elapsed() < CONTENDED_FOR => {
                    // Jittered from a fresh random id, so that writers that
                    // lost together do not retry together.
                    let jitter = uuid::Uuid::new_v4().as_u128() % 1000;
                    tokio::time::sleep(pause.mul_f64(0.5 + jitter as f64 / 1000.0)).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(StoreError::Conflict) => return Err(Unchanged::Contended),
                Err(e) => return Err(Unreadable::Store(e).into()),
            }
        }
    }

    /// The entries parked at `key` now, and the shard's version (`None`:
    /// no shard there).
    /// Read straight from the store, not through `get_readable`: a list
    /// sealed with a key this instance lacks must be reported, never taken
    /// for absent (which would write a new one over it). One that fails
    /// authentication is cleared (no instance can read it, and kept it
    /// would stop every park until it expired).
    async fn parked(&self, key: &str) -> Result<(Option<Version>, Vec<Value>), Unreadable> {
        let entry = match self.store.get(key).await {
            Err(StoreError::Tampered { version }) => {
                tracing::error!(
                    key,
                    "a parked-delivery list failed authentication; clearing it"
                );
                self.store
                    .compare_and_set(key, Some(version), Vec::new(), Duration::ZERO)
                    .await?;
                None
            }
            other => other?,
        };
        let Some(entry) = entry else {
            return Ok((None, Vec::new()));
        };
        let links = serde_json::from_slice(&entry.data).map_err(Unreadable::Format)?;
        Ok((Some(entry.version), links))
    }

    async fn write_parked(
        &self,
        key: &str,
        version: Option<Version>,
        links: &[Value],
    ) -> Result<(), StoreError> {
        let data = serde_json::to_vec(links).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.store
            .compare_and_set(key, version, data, KEEP)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests;
