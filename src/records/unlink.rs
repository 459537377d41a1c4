//! Unlinking at the partner, before an auth is marked not validated: an
//! account the partner still holds must not look unlinked here.
//!
//! Mono: `POST /v2/accounts/{id}/unlink` with the secret key. Flinks:
//! `DELETE .../DeleteCard/{loginId}` (the dialect's
//! [`delete_card`](crate::dialect::Flinks::delete_card)); its
//! `INVALID_LOGIN` means the card was already gone, and `CARD_IN_USE` (a
//! card still processing its link) is tried again.

use super::Auth;
use crate::dialect::percent_encode;
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
    /// The auth's account id cannot be put in the partner's path: empty,
    /// `.` or `..`, which URL parsers resolve to another path (`..` takes
    /// the segment before it), so a request would reach another resource.
    #[error("the account id {0:?} cannot name an account in a path")]
    UnusableAccountId(String),
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

/// Where and how to reach the partner that linked an auth.
#[derive(Debug, Clone)]
pub struct PartnerAccess {
    /// The partner's API base URL.
    pub base_url: String,
    /// Mono's secret key; Flinks' secret (none for an instance without
    /// tokens).
    pub secret_key: Option<Secret>,
    /// Flinks' customer id (the GUID in its paths).
    pub flinks_customer_id: Option<String>,
}

/// Asks the partner to unlink `auth`'s account.
pub async fn unlink_at_partner(
    access: &PartnerAccess,
    auth: &Auth,
) -> Result<Unlinked, UnlinkError> {
    // Whatever its encoding, a dot segment is resolved away by the URL
    // parser, and an empty one names the collection: neither is this
    // account.
    if matches!(auth.partner_account_id.as_str(), "" | "." | "..") {
        return Err(UnlinkError::UnusableAccountId(
            auth.partner_account_id.clone(),
        ));
    }
    match auth.partner.as_str() {
        "mono" => {
            let key = access
                .secret_key
                .as_ref()
                .ok_or_else(|| UnlinkError::Unsupported("mono without a secret key".into()))?;
            unlink_at_mono(&access.base_url, key, auth).await
        }
        "flinks" => delete_card(access, auth).await,
        other => Err(UnlinkError::Unsupported(other.to_owned())),
    }
}

async fn delete_card(access: &PartnerAccess, auth: &Auth) -> Result<Unlinked, UnlinkError> {
    use crate::dialect::{Flinks, FlinksConfig};
    use crate::driver::{Driver, DriverConfig};
    use crate::flow::CallError;
    let customer = access
        .flinks_customer_id
        .clone()
        .ok_or_else(|| UnlinkError::Unsupported("flinks without its customer id".into()))?;
    let flinks = Flinks::new(FlinksConfig::new(customer, access.secret_key.clone()));
    let driver = Driver::new(&access.base_url, flinks.clone(), DriverConfig::default())
        .map_err(|e| UnlinkError::Transport(e.to_string()))?;
    // A card still processing its link answers `CARD_IN_USE`: "retry
    // later" (flinks.md §5, §7), so a few times, a second apart, before
    // saying no.
    let mut tries = 0;
    loop {
        tries += 1;
        let response = driver
            .request(&flinks.delete_card(&auth.partner_account_id))
            .await
            .map_err(|e| UnlinkError::Transport(e.to_string()))?;
        match flinks.decode_delete_card(&response) {
            Ok(()) => return Ok(Unlinked::Now),
            Err(CallError::Http { message, .. }) if message.starts_with("INVALID_LOGIN") => {
                return Ok(Unlinked::AlreadyGone)
            }
            Err(CallError::Http { message, .. })
                if message.starts_with("CARD_IN_USE") && tries < CARD_IN_USE_TRIES =>
            {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(UnlinkError::Refused {
                    status: response.status,
                    body: e.to_string(),
                })
            }
        }
    }
}

/// How many times a `DeleteCard` answered `CARD_IN_USE` is sent, a second
/// apart.
const CARD_IN_USE_TRIES: u32 = 5;

async fn unlink_at_mono(
    base_url: &str,
    secret_key: &Secret,
    auth: &Auth,
) -> Result<Unlinked, UnlinkError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| UnlinkError::Transport(e.to_string()))?;
    // Encoded: an id is Mono's word, read back from a record, and must
    // name that one account whatever it holds (`a/../b` would otherwise
    // unlink `b`).
    let url = format!(
        "{}/v2/accounts/{}/unlink",
        base_url.trim_end_matches('/'),
        percent_encode(&auth.partner_account_id)
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
    let body = response.text().await.unwrap_or_default();
    // Gone only on Mono's own word: a 404 carrying its JSON envelope. A bare
    // 404 is a wrong path or a proxy (`--base-url` with a `/v1` on it), and
    // an account Mono still holds must not look unlinked here.
    if status.as_u16() == 404 && monos_envelope(&body) {
        return Ok(Unlinked::AlreadyGone);
    }
    Err(UnlinkError::Refused {
        status: status.as_u16(),
        body: body.chars().take(200).collect(),
    })
}

/// True when `body` is Mono's failed envelope (`"status": "failed"`,
/// mono.md §8), not a proxy's or a web server's page: a gateway's own 404
/// often has a `message` too (`{"message":"Not Found"}` from AWS API
/// Gateway, `{"message":"no Route matched ..."}` from Kong).
///
/// Not one saying the route is unknown: a Mono-shaped server answers a
/// wrong path (`--base-url …/v1`) with the same envelope, `"Route not
/// found"`, and the account is then not known to be gone.
fn monos_envelope(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| {
        let failed = v
            .get("status")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("failed"));
        let no_route = v
            .get("message")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|m| m.to_ascii_lowercase().contains("route"));
        failed && !no_route
    })
}

#[cfg(test)]
mod tests {
    use super::monos_envelope;

    /// Only Mono's envelope says the account is gone; a bare 404 page, an
    /// empty body or other JSON does not.
    #[test]
    fn only_monos_envelope_counts_as_its_word() {
        assert!(monos_envelope(
            r#"{"status":"failed","message":"Account not found"}"#
        ));
        for not in [
            "",
            "Not Found",
            "<html>404</html>",
            "[]",
            r#"{"error":"x"}"#,
            r#"{"message":"Not Found"}"#,
            r#"{"message":"no Route matched with those values"}"#,
            r#"{"status":"failed","message":"Route not found"}"#,
        ] {
            assert!(!monos_envelope(not), "{not:?}");
        }
    }
}
