//! Delivers linked accounts to the host's webhook, signed and retried.

use super::delivery::{Delivered, Delivery, DeliveryError, LinkedAccount};
use super::signature::{sign, SIGNATURE_HEADER};
use crate::form::Secret;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A webhook that cannot be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signing secret is empty: anyone could sign deliveries with it.
    #[error("the webhook signing secret is empty")]
    EmptySecret,
}

/// Where and how to deliver.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The URL to POST to.
    pub url: String,
    /// The HMAC key shared with the receiver.
    pub secret: Secret,
    /// Tries before giving up.
    pub max_attempts: u32,
    /// Delay before the second try; doubled each time.
    pub first_backoff: Duration,
}

impl WebhookConfig {
    /// Delivery to `url`, signed with `secret`: 6 tries over about a
    /// minute. An empty (or blank) secret is refused.
    pub fn new(url: impl Into<String>, secret: impl Into<Secret>) -> Result<Self, WebhookError> {
        let secret = secret.into();
        if secret.expose().trim().is_empty() {
            return Err(WebhookError::EmptySecret);
        }
        Ok(WebhookConfig {
            url: url.into(),
            secret,
            max_attempts: 6,
            first_backoff: Duration::from_secs(2),
        })
    }
}

/// A [`Delivery`] that POSTs each [`LinkedAccount`] as JSON to a webhook,
/// signed, in the background, retried with backoff. At most once: a delivery
/// still failing after its tries, or pending when the process stops, is lost
/// (and logged with its reference).
#[derive(Debug)]
pub struct Webhook {
    client: reqwest::Client,
    config: WebhookConfig,
}

impl Webhook {
    /// A webhook sender for `config`.
    pub fn new(config: WebhookConfig) -> Webhook {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Webhook { client, config }
    }
}

impl Delivery for Webhook {
    /// Sends in the background until a 2xx or `max_attempts` tries. Not
    /// durable and not deduplicated: the auth records' outbox is.
    fn deliver<'a>(
        &'a self,
        linked: &'a LinkedAccount,
    ) -> crate::store::BoxFuture<'a, Result<Delivered, DeliveryError>> {
        let client = self.client.clone();
        let config = self.config.clone();
        let linked = linked.clone();
        tokio::spawn(async move {
            let body = match serde_json::to_vec(&linked) {
                Ok(b) => b,
                Err(_) => return,
            };
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let signature = sign(config.secret.expose().as_bytes(), now, &body);
            let mut delay = config.first_backoff;
            for attempt in 1..=config.max_attempts.max(1) {
                let sent = client
                    .post(&config.url)
                    .header("content-type", "application/json")
                    .header(SIGNATURE_HEADER, &signature)
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        tracing::info!(reference = %linked.reference, attempt, "webhook delivered");
                        return;
                    }
                    Ok(r) => {
                        tracing::warn!(reference = %linked.reference, attempt, status = r.status().as_u16(), "webhook refused")
                    }
                    Err(e) => {
                        tracing::warn!(reference = %linked.reference, attempt, error = %e, "webhook failed")
                    }
                }
                if attempt < config.max_attempts {
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                }
            }
            tracing::error!(reference = %linked.reference, "webhook not delivered; giving up");
        });
        Box::pin(async { Ok(Delivered::default()) })
    }
}
