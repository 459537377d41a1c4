//! Links whose delivery failed, kept in the session store until a delivery
//! of them succeeds: the backstop that outlives a process.
//!
//! Invariant: a link leaves the list only after a delivery of it succeeded
//! (delivery is idempotent by reference, so delivering one twice records
//! nothing twice); every write is a compare-and-set, so two instances
//! parking or sweeping at once lose nothing.
//!
//! Why: `redeliver` retries a failed delivery in the background, but only
//! while its process lives, and a USSD person has hung up by then. A link
//! made while the auth records were down, then a restart, was only in a log
//! line. The list is one record of the session store (shared by every
//! instance, sealed like the sessions), holding the links themselves, not
//! the sessions' keys: a session may expire long before the records are
//! back. [`SessionService::sweep_parked`] delivers what it holds; `serve`
//! runs it at start and every [`SWEEP_EVERY`].

use super::{LinkedAccount, SessionService};
use crate::store::{StoreError, Version};
use std::time::Duration;

/// The store key of the list.
const KEY: &str = "delivery:parked";
/// How long the list is kept after its last change: long enough for an
/// outage of the auth records over a long weekend.
const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);
/// The list is rewritten whole on each change, so it is bounded; a link
/// past this is logged in full for an operator instead (and still retried
/// by its own process).
const MAX_PARKED: usize = 1000;
/// Compare-and-set retries on a contended list before giving up (logged).
const TRIES: usize = 8;
/// How often `serve` sweeps the list.
pub const SWEEP_EVERY: Duration = Duration::from_secs(30);

impl SessionService {
    /// Keeps `linked` on the parked list (once: a link already there by
    /// reference and account is left as it is).
    pub(crate) async fn park(&self, linked: &LinkedAccount) {
        for _ in 0..TRIES {
            let (version, mut links) = match self.parked().await {
                Ok(read) => read,
                Err(e) => {
                    tracing::error!(reference = %linked.reference, account = %linked.account_id,
                        partner = %linked.partner, error = %e, "the link could not be parked for a later delivery");
                    return;
                }
            };
            if links.iter().any(|l| same(l, linked)) {
                return;
            }
            if links.len() >= MAX_PARKED {
                tracing::error!(reference = %linked.reference, account = %linked.account_id,
                    partner = %linked.partner, "the parked-delivery list is full; this link is only retried by this process");
                return;
            }
            links.push(linked.clone());
            match self.write_parked(version, &links).await {
                Err(StoreError::Conflict) => continue,
                Err(e) => {
                    tracing::error!(reference = %linked.reference, error = %e,
                        "the link could not be parked for a later delivery");
                    return;
                }
                Ok(()) => return,
            }
        }
        tracing::error!(reference = %linked.reference, "the parked-delivery list stayed contended");
    }

    /// Delivers every parked link, and takes those delivered off the list;
    /// returns how many were delivered. A link whose delivery fails again
    /// stays for the next sweep.
    pub async fn sweep_parked(&self) -> usize {
        let Ok((_, links)) = self.parked().await else {
            return 0;
        };
        let mut delivered = Vec::new();
        for linked in &links {
            if self.deliver(linked).await.is_some() {
                delivered.push(linked);
            }
        }
        if delivered.is_empty() {
            return 0;
        }
        for _ in 0..TRIES {
            let Ok((version, mut now)) = self.parked().await else {
                break;
            };
            now.retain(|l| !delivered.iter().any(|d| same(l, d)));
            match self.write_parked(version, &now).await {
                Err(StoreError::Conflict) => continue,
                // Delivered either way; the next sweep delivers those still
                // listed again, which records nothing twice.
                _ => break,
            }
        }
        delivered.len()
    }

    /// Sweeps the parked list now and then every `every`, until the
    /// service begins to stop (spawn it; `drain` ends it).
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

    /// The links parked now, and the list's version (`None`: no list).
    async fn parked(&self) -> Result<(Option<Version>, Vec<LinkedAccount>), StoreError> {
        let Some(entry) = crate::store::get_readable(self.store.as_ref(), KEY).await? else {
            return Ok((None, Vec::new()));
        };
        match serde_json::from_slice(&entry.data) {
            Ok(links) => Ok((Some(entry.version), links)),
            // Not a list this build wrote: start again over it, rather than
            // park nothing until it expires.
            Err(e) => {
                tracing::error!(error = %e, "the parked-delivery list does not read; replacing it");
                Ok((Some(entry.version), Vec::new()))
            }
        }
    }

    async fn write_parked(
        &self,
        version: Option<Version>,
        links: &[LinkedAccount],
    ) -> Result<(), StoreError> {
        let data = serde_json::to_vec(links).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.store
            .compare_and_set(KEY, version, data, KEEP)
            .await
            .map(|_| ())
    }
}

/// The same link: delivery is idempotent by reference, and one reference
/// may link several accounts (one per flow it was reused for).
fn same(a: &LinkedAccount, b: &LinkedAccount) -> bool {
    a.reference == b.reference && a.account_id == b.account_id
}
