//! The webhook outbox: every link's delivery is a row written in the same
//! transaction as its auth, and a sender owned by `connectflow serve` POSTs
//! it to the host's webhook until the host answers 2xx.
//!
//! ```text
//!   link committed ──► pending (attempts 0, due now)
//!                        │ claimed: due moved to now + lease (CAS)
//!                        ▼
//!                      POST, signed, idempotency-key = row id
//!                ┌───────┴───────────────┐
//!              2xx                 anything else (or no answer)
//!                ▼                       ▼
//!            delivered        attempts + 1 < max: pending, due now + backoff
//!                             attempts + 1 = max: dead (in /metrics; `records
//!                                                 redeliver` makes it pending)
//!   a sender killed mid-send: the lease runs out, the row is due again
//! ```
//!
//! At least once: a receiver must dedupe by the `idempotency-key` header
//! (also `id` in the body). The backoff doubles from `first_backoff` up to
//! `max_backoff`; the due time is in the row, so it survives a restart, and
//! a sender starting up drains whatever a previous run left.

use super::model::Auth;
use super::store::{OutboxMessage, OutboxStore, RecordsError};
use super::time::now_ms;
use crate::form::Secret;
use crate::metrics::Metrics;
use crate::service::signature::{sign, SIGNATURE_HEADER};
use crate::service::LinkedAccount;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The header carrying a delivery's idempotency id (the same on every try).
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The header carrying which try this is (1 for the first).
pub const ATTEMPT_HEADER: &str = "x-connectflow-attempt";

/// A webhook that cannot be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The signing secret is empty: anyone could sign deliveries with it.
    #[error("the webhook signing secret is empty")]
    EmptySecret,
}

/// Where and how deliveries are sent.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// The URL to POST to.
    pub url: String,
    /// The HMAC key shared with the receiver.
    pub secret: Secret,
    /// Tries before a delivery is dead.
    pub max_attempts: u32,
    /// Wait after the first failed try; doubled after each next one.
    pub first_backoff: Duration,
    /// The longest wait between two tries.
    pub max_backoff: Duration,
    /// How long a sender may hold a claimed delivery before another may
    /// take it (longer than `timeout`).
    pub lease: Duration,
    /// How often the outbox is looked at when nothing wakes the sender.
    pub poll: Duration,
    /// The longest one POST may take.
    pub timeout: Duration,
    /// Deliveries sent at once.
    pub batch: u32,
}

impl OutboxConfig {
    /// Delivery to `url`, signed with `secret`: 15 tries, 2 s doubling up
    /// to 30 minutes between them (about 2½ hours in all, so a receiver
    /// down for two hours misses nothing). An empty (or blank) secret is
    /// refused.
    pub fn new(url: impl Into<String>, secret: impl Into<Secret>) -> Result<Self, OutboxError> {
        let secret = secret.into();
        if secret.expose().trim().is_empty() {
            return Err(OutboxError::EmptySecret);
        }
        Ok(OutboxConfig {
            url: url.into(),
            secret,
            max_attempts: 15,
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(30 * 60),
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            batch: 16,
        })
    }

    /// The wait after `attempts` failed tries (1: the first).
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.first_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff)
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Sends the outbox. One per process that serves; see the module docs.
#[derive(Debug)]
pub struct Outbox {
    store: Arc<dyn OutboxStore>,
    config: OutboxConfig,
    client: reqwest::Client,
    wake: Arc<Notify>,
    dead: Gauge,
    pending: Gauge,
    tries: Family<OutcomeLabels, Counter>,
}

impl Outbox {
    /// A sender of `store`'s deliveries; its gauges and counters are
    /// registered in `metrics` when given (`outbox_dead`, `outbox_pending`,
    /// `outbox_tries` by outcome).
    pub fn new(
        store: Arc<dyn OutboxStore>,
        config: OutboxConfig,
        metrics: Option<&Metrics>,
    ) -> Arc<Outbox> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        let outbox = Outbox {
            store,
            config,
            client,
            wake: Arc::new(Notify::new()),
            dead: Gauge::default(),
            pending: Gauge::default(),
            tries: Family::default(),
        };
        if let Some(m) = metrics {
            m.register(
                "outbox_dead",
                "Webhook deliveries that gave up after their last try",
                outbox.dead.clone(),
            );
            m.register(
                "outbox_pending",
                "Webhook deliveries waiting for a try",
                outbox.pending.clone(),
            );
            m.register(
                "outbox_tries",
                "Webhook delivery tries by outcome (delivered, failed, dead)",
                outbox.tries.clone(),
            );
        }
        Arc::new(outbox)
    }

    /// What wakes the sender at once (a link just committed a delivery).
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Runs the sender until `stop`: drains what is due (including rows a
    /// previous run left), then waits for a wake-up or the poll interval.
    pub fn spawn(self: &Arc<Self>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let sent = match this.run_once().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox: could not read due deliveries");
                        0
                    }
                };
                this.refresh().await;
                if sent >= this.config.batch as usize && !stop.is_cancelled() {
                    continue;
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = this.wake.notified() => {}
                    () = tokio::time::sleep(this.config.poll) => {}
                }
            }
        })
    }

    /// One pass: claims what is due, sends it all at once, records each
    /// outcome. How many were tried.
    pub async fn run_once(&self) -> Result<usize, RecordsError> {
        let now = now_ms();
        let lease = u64::try_from(self.config.lease.as_millis()).unwrap_or(u64::MAX);
        let due = self
            .store
            .claim_due(now, now.saturating_add(lease), self.config.batch.max(1))
            .await?;
        let count = due.len();
        let mut sends = tokio::task::JoinSet::new();
        for message in due {
            let client = self.client.clone();
            let config = self.config.clone();
            sends.spawn(async move {
                let outcome = send(&client, &config, &message).await;
                (message, outcome)
            });
        }
        while let Some(joined) = sends.join_next().await {
            let Ok((message, outcome)) = joined else {
                continue;
            };
            if let Err(e) = self.settle(&message, outcome).await {
                // The lease runs out and the row is tried again: at least once.
                tracing::warn!(reference = %message.reference, error = %e,
                    "outbox: could not record a delivery's outcome");
            }
        }
        Ok(count)
    }

    async fn settle(
        &self,
        message: &OutboxMessage,
        outcome: Result<(), String>,
    ) -> Result<(), RecordsError> {
        let attempts = message.attempts.saturating_add(1);
        let error = match outcome {
            Ok(()) => {
                self.tries
                    .get_or_create(&OutcomeLabels {
                        outcome: "delivered",
                    })
                    .inc();
                tracing::info!(reference = %message.reference, delivery = %message.id, attempts,
                    "webhook delivered");
                return self.store.delivered(&message.id, now_ms()).await;
            }
            Err(e) => e,
        };
        if attempts >= self.config.max_attempts {
            self.tries
                .get_or_create(&OutcomeLabels { outcome: "dead" })
                .inc();
            tracing::error!(reference = %message.reference, delivery = %message.id, attempts,
                error = %error, "webhook not delivered after the last try; dead-lettered");
            return self.store.failed(&message.id, attempts, None, &error).await;
        }
        self.tries
            .get_or_create(&OutcomeLabels { outcome: "failed" })
            .inc();
        let wait = u64::try_from(self.config.backoff(attempts).as_millis()).unwrap_or(u64::MAX);
        tracing::warn!(reference = %message.reference, delivery = %message.id, attempts,
            retry_in_ms = wait, error = %error, "webhook try failed");
        let retry_at = now_ms().saturating_add(wait);
        self.store
            .failed(&message.id, attempts, Some(retry_at), &error)
            .await
    }

    /// Brings the gauges up to date with the table.
    async fn refresh(&self) {
        match self.store.counts().await {
            Ok(counts) => {
                self.dead
                    .set(i64::try_from(counts.dead).unwrap_or(i64::MAX));
                self.pending
                    .set(i64::try_from(counts.pending).unwrap_or(i64::MAX));
            }
            Err(e) => tracing::warn!(error = %e, "outbox: could not count deliveries"),
        }
    }
}

/// One try: the stored body, signed now (the receiver's replay window runs
/// from each try, not from the link).
async fn send(
    client: &reqwest::Client,
    config: &OutboxConfig,
    message: &OutboxMessage,
) -> Result<(), String> {
    let body = message.body.as_bytes().to_vec();
    let signature = sign(config.secret.expose().as_bytes(), now_ms() / 1000, &body);
    let sent = client
        .post(&config.url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(IDEMPOTENCY_HEADER, &message.id)
        .header(
            ATTEMPT_HEADER,
            message.attempts.saturating_add(1).to_string(),
        )
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        // Without the URL: it may carry a token.
        Err(e) => Err(e.without_url().to_string()),
    }
}

/// A webhook's JSON: its id and event, whether the link was a returning
/// one, the auth as the `/v2/` endpoints show it, and the linked account's
/// own fields (`reference`, `partner`, `institution`, `account_id`,
/// `customer`, `phoneNumber`, `channel`, ...) at the top level, as the
/// webhook has always sent them.
#[derive(Serialize)]
struct WebhookBody<'a> {
    id: &'a str,
    event: &'static str,
    returning: bool,
    auth: &'a Auth,
    #[serde(flatten)]
    linked: &'a LinkedAccount,
}

/// The body of the delivery `id` of a link.
pub(crate) fn webhook_body(
    id: &str,
    auth: &Auth,
    returning: bool,
    linked: &LinkedAccount,
) -> String {
    let body = WebhookBody {
        id,
        event: "account.linked",
        returning,
        auth,
        linked,
    };
    // Serializing plain strings and numbers into a String cannot fail.
    serde_json::to_string(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A webhook signed with an empty (or blank) secret proves nothing:
    /// refused when configured, not discovered by a receiver later.
    #[test]
    fn an_empty_or_blank_secret_is_refused() {
        for blank in ["", "   "] {
            assert!(matches!(
                OutboxConfig::new("http://127.0.0.1:9/hook", blank),
                Err(OutboxError::EmptySecret)
            ));
        }
        assert!(OutboxConfig::new("http://127.0.0.1:9/hook", "s3cret").is_ok());
    }

    /// The default schedule keeps trying for at least two hours: the waits
    /// between the tries (the first is at once) add up to more, and to
    /// less than three.
    #[test]
    fn the_default_tries_span_two_hours_and_more() {
        let config = OutboxConfig::new("http://127.0.0.1:9/hook", "s3cret").unwrap();
        let waited: Duration = (1..config.max_attempts).map(|a| config.backoff(a)).sum();
        assert!(
            waited >= Duration::from_secs(2 * 3600) && waited < Duration::from_secs(3 * 3600),
            "{waited:?}"
        );
    }
}
