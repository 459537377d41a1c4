//! Delivers linked accounts to the host's webhook, signed and retried.

use super::delivery::{Delivery, LinkedAccount};
use crate::form::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// Header carrying `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-connectflow-signature";

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
    /// Delivery to `url`, signed with `secret`: 6 tries over about a minute.
    pub fn new(url: impl Into<String>, secret: impl Into<Secret>) -> Self {
        WebhookConfig {
            url: url.into(),
            secret: secret.into(),
            max_attempts: 6,
            first_backoff: Duration::from_secs(2),
        }
    }
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `secret`, as sent in
/// [`SIGNATURE_HEADER`]. A receiver recomputes it over the raw body and
/// compares in constant time.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
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
    /// Sends in the background until a 2xx or `max_attempts` tries.
    fn deliver(&self, linked: LinkedAccount) {
        let client = self.client.clone();
        let config = self.config.clone();
        tokio::spawn(async move {
            let body = match serde_json::to_vec(&linked) {
                Ok(b) => b,
                Err(_) => return,
            };
            let signature = sign(config.secret.expose().as_bytes(), &body);
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc_4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
