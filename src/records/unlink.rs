//! Unlinking at the partner, before an auth is marked not validated: an
//! account the partner still holds must not look unlinked here.
//!
//! Mono: `POST /v2/accounts/{id}/unlink` with the secret key. Flinks'
//! `DeleteCard` is not written yet (the Flinks dialect is not built).

use super::Auth;
use crate::form::Secret;
use std::time::Duration;

/// Why the partner did not unlink.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnlinkError {
    /// This partner's unlink call is not written.
    #[error("unlinking at {0} is not supported yet")]
    Unsupported(String),
    /// The partner could not be reached.
    #[error("the partner could not be reached: {0}")]
    Transport(String),
    /// The partner refused.
    #[error("the partner refused the unlink: HTTP {status}: {body}")]
    Refused {
        /// Its status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
}

/// What the partner said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    /// It unlinked the account now.
    Now,
    /// It did not know the account (unlinked before, or never there).
    AlreadyGone,
}

/// Asks the partner at `base_url` to unlink `auth`'s account.
pub async fn unlink_at_partner(
    base_url: &str,
    secret_key: &Secret,
    auth: &Auth,
) -> Result<Unlinked, UnlinkError> {
    if auth.partner != "mono" {
        return Err(UnlinkError::Unsupported(auth.partner.clone()));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| UnlinkError::Transport(e.to_string()))?;
    let url = format!(
        "{}/v2/accounts/{}/unlink",
        base_url.trim_end_matches('/'),
        auth.partner_account_id
    );
    let response = client
        .post(url)
        .header("mono-sec-key", secret_key.expose())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| UnlinkError::Transport(e.without_url().to_string()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(Unlinked::Now);
    }
    if status.as_u16() == 404 {
        return Ok(Unlinked::AlreadyGone);
    }
    let body = response.text().await.unwrap_or_default();
    Err(UnlinkError::Refused {
        status: status.as_u16(),
        body: body.chars().take(200).collect(),
    })
}
