//! Links whose delivery failed, kept in the session store until a delivery
//! of them succeeds: the backstop that outlives a process.
//!
//! Invariant: an entry leaves the list only after a delivery of it
//! succeeded (delivery is idempotent by reference, so delivering one twice
//! records nothing twice). Every write is a compare-and-set over what was
//! read; a list this instance cannot read but another may (unparseable by
//! this build, sealed with a key it lacks) is never written over, and an
//! entry this build cannot parse is kept as it is. Only a list that fails
//! authentication, which no instance can read, is cleared.
//!
//! Why: `redeliver` retries a failed delivery in the background, but only
//! while its process lives, and a USSD person has hung up by then. A link
//! made while the auth records were down, then a restart, was only in a log
//! line. The list is one record of the session store (shared by every
//! instance of a Redis deployment, sealed like the sessions; with the
//! memory store it lives as long as the process), holding the links
//! themselves, not the sessions' keys: a session may expire long before the
//! records are back. [`SessionService::sweep_parked`] delivers what it
//! holds; `serve` runs it at start and every [`SWEEP_EVERY`].
//!
//! The list is [`SHARDS`] records, not one: each is rewritten whole on a
//! change, so each is bounded ([`MAX_PER_SHARD`]), and a link goes to the
//! first shard with room, starting from one its identity picks (so parks
//! spread and contend less). A list written by a build before the shards
//! ([`LEGACY_KEY`]) is still swept, never parked into.

use super::{LinkedAccount, SessionService};
use crate::store::{StoreError, Version};
use serde_json::Value;
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
/// How long one park or one removal keeps trying a contended list (many
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
pub(crate) type Id = (String, String, String, Option<String>);

/// The store key of shard `n`.
fn shard(n: u64) -> String {
    format!("{LEGACY_KEY}:{}", n % SHARDS)
}

/// Every key a parked link may be under: the shards, then the legacy list.
fn every_key() -> impl Iterator<Item = String> {
    (0..SHARDS).map(shard).chain([LEGACY_KEY.to_owned()])
}

/// The shard a link tries first: FNV-1a of its reference and account, the
/// same on every instance and build (std's hasher is seeded per process).
fn first_shard(linked: &LinkedAccount) -> u64 {
    let bytes = linked
        .reference
        .bytes()
        .chain([0])
        .chain(linked.account_id.bytes());
    bytes.fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    }) % SHARDS
}

fn id(linked: &LinkedAccount) -> Id {
    (
        linked.reference.clone(),
        linked.partner.clone(),
        linked.account_id.clone(),
        linked.customer.as_ref().map(|c| c.id.clone()),
    )
}

/// Why the list was not read.
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the list is not a list this build reads: {0}")]
    Format(serde_json::Error),
}

impl SessionService {
    /// Keeps `linked` on the parked list (once: a link already there by
    /// reference and account is left as it is, and one this process parked
    /// is not looked for again).
    pub(crate) async fn park(&self, linked: &LinkedAccount) {
        let id = id(linked);
        if self.parked_here.lock().is_ok_and(|here| here.contains(&id)) {
            return;
        }
        let Ok(entry) = serde_json::to_value(linked) else {
            return;
        };
        let start = first_shard(linked);
        let mut outcome = Err(String::from(
            "every shard of the parked-delivery list is full",
        ));
        for n in start..start + SHARDS {
            outcome = self
                .change_parked(&shard(n), |links| {
                    if links.iter().any(|l| is(l, linked)) {
                        return Ok(false);
                    }
                    if links.len() >= MAX_PER_SHARD {
                        return Err(FULL);
                    }
                    links.push(entry.clone());
                    Ok(true)
                })
                .await;
            // A full shard: the next one. Anything else (parked, or the
            // store failing) decides.
            if !matches!(&outcome, Err(why) if why == FULL) {
                break;
            }
        }
        match outcome {
            Ok(()) => {
                if let Ok(mut here) = self.parked_here.lock() {
                    // Bounded like the list itself.
                    if here.len() >= SHARDS as usize * MAX_PER_SHARD {
                        here.clear();
                    }
                    here.insert(id);
                }
            }
            // Logged with what an operator needs to record it by hand.
            Err(why) => {
                tracing::error!(reference = %linked.reference, account = %linked.account_id,
                partner = %linked.partner, why = %why,
                "the link could not be parked for a later delivery; only this process retries it")
            }
        }
    }

    /// Delivers the parked links, and takes those delivered off the list;
    /// returns how many were delivered. Starts at a random place in the
    /// list (one link the records always refuse must not stand before the
    /// rest for ever) and stops after `FAILURES_IN_A_ROW` (3) failures in a
    /// row (the records are still down); what is not delivered stays.
    pub async fn sweep_parked(&self) -> usize {
        // Each entry with the key of the shard it is on. A shard that cannot
        // be read is passed over (its links wait for the next sweep), not
        // the whole sweep.
        let mut entries: Vec<(LinkedAccount, String)> = Vec::new();
        for key in every_key() {
            match self.parked(&key).await {
                Ok((_, links)) => entries.extend(
                    links
                        .iter()
                        // An entry this build cannot read stays for one that can.
                        .filter_map(|entry| serde_json::from_value(entry.clone()).ok())
                        .map(|linked| (linked, key.clone())),
                ),
                Err(e) => {
                    tracing::error!(error = %e, key, "a parked-delivery list could not be read")
                }
            }
        }
        // What this process parked and is no longer listed (delivered by
        // another instance, or the list lost) may be parked again.
        if let Ok(mut here) = self.parked_here.lock() {
            here.retain(|held| entries.iter().any(|(l, _)| id(l) == *held));
        }
        let start = match entries.len() {
            0 => return 0,
            n => (uuid::Uuid::new_v4().as_u128() % n as u128) as usize,
        };
        let mut delivered: Vec<&(LinkedAccount, String)> = Vec::new();
        let mut failed = 0;
        for entry in entries.iter().cycle().skip(start).take(entries.len()) {
            if self.deliver(&entry.0).await.is_some() {
                delivered.push(entry);
                failed = 0;
            } else {
                failed += 1;
                if failed >= FAILURES_IN_A_ROW {
                    break;
                }
            }
        }
        // Taken off the shards they were read from, one write per shard.
        let mut keys: Vec<&String> = delivered.iter().map(|(_, key)| key).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            let off: Vec<&LinkedAccount> = delivered
                .iter()
                .filter(|(_, k)| k == key)
                .map(|(l, _)| l)
                .collect();
            let removed = self
                .change_parked(key, |links| {
                    let before = links.len();
                    links.retain(|l| !off.iter().any(|d| is(l, d)));
                    Ok(links.len() != before)
                })
                .await;
            if let Err(why) = removed {
                // Delivered all the same; the next sweep delivers them again,
                // which records nothing twice.
                tracing::warn!(why = %why, key, "delivered parked links are still listed");
            }
        }
        if let Ok(mut here) = self.parked_here.lock() {
            for (d, _) in &delivered {
                here.remove(&id(d));
            }
        }
        delivered.len()
    }

    /// Sweeps the parked list now and then every `every`, until the
    /// service begins to stop ([`drain`](Self::drain) ends it between
    /// sweeps; a sweep stops at its first failed delivery, so one is short
    /// while the records are down).
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

    /// Applies `change` to the list at `key` and writes it back with compare-and-set,
    /// trying again on a conflict (with a growing, jittered pause) for up to
    /// [`CONTENDED_FOR`]. `change` returns whether it changed anything (no
    /// write when not), or why it refuses.
    async fn change_parked(
        &self,
        key: &str,
        mut change: impl FnMut(&mut Vec<Value>) -> Result<bool, &'static str>,
    ) -> Result<(), String> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let (version, mut links) = self.parked(key).await.map_err(|e| e.to_string())?;
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
                Err(StoreError::Conflict) => return Err("the list stayed contended".into()),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// The entries parked now, and the list's version (`None`: no list).
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

/// `change_parked`'s refusal for a shard with no room: the next is tried.
const FULL: &str = "the shard is full";

/// Whether the stored `entry` is `linked`, by [`Id`]: one reference may
/// link several accounts, or one account for several customers (one per
/// flow it was reused for), and the records keep each.
fn is(entry: &Value, linked: &LinkedAccount) -> bool {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let customer = entry.get("customer").and_then(|c| c.get("id"));
    (
        text(entry.get("reference")),
        text(entry.get("partner")),
        text(entry.get("account_id")),
        text(customer),
    ) == (
        Some(linked.reference.clone()),
        Some(linked.partner.clone()),
        Some(linked.account_id.clone()),
        linked.customer.as_ref().map(|c| c.id.clone()),
    )
}

#[cfg(test)]
mod tests;
