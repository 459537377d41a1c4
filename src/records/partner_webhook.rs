//! Mono's webhooks, received: `POST /partners/mono/webhook`
//! ([`mono_webhook_router`]), so an account unlinked at Mono stops reading
//! `validated` here without an operator.
//!
//! | event | what the records do |
//! |---|---|
//! | `mono.events.account_unlinked` | every auth of the account is unlinked, as `connectflow records unlink --local` does: `validated: false`, `last_updated` now; a re-authorisation of it still waiting for its person is withdrawn ([`Reauthoriser::withdraw`]) |
//! | `mono.events.reauthorisation_required` | the records are unchanged (they keep no such state); each validated auth of the account is handed to the [`Reauthoriser`] the router was given ([`mono_webhook_router_reauthorising`]; `serve` gives the USSD channel, which offers a re-authorisation on the person's next dial), and logged at info |
//! | `mono.events.account_reauthorized` | the records are unchanged; a re-authorisation of the account still waiting for its person (asked for here, done another way: Mono's widget, the bank's app) is withdrawn, so they are not asked to log in again for nothing |
//! | any other | nothing; logged at debug |
//!
//! A delivery must carry Mono's `mono-webhook-secret` header, compared in
//! constant time with the configured secret; without it, or with another,
//! the answer is 401 and nothing is read further. Mono retries anything
//! that is not 2xx. What can never succeed is still a 4xx (a body that is
//! not JSON, names no event, or an unlink that names no account): Mono
//! retries it, and it shows as failing on Mono's dashboard, where an
//! operator sees it, rather than vanishing behind a 200 (each retry costs
//! one parse here). What may succeed later is a 503 (the database), and
//! what is done or has nothing to do is a 200: an unlink already applied (Mono's retry), an account this database
//! never saw (it may be another app's), an event we do not act on. Errors
//! are JSON in the `/v2/` endpoints' envelope
//! (`{status: "error", message, data: null}`).
//!
//! The account id is read where Mono's documentation puts it:
//! `data.account._id` (its field table, and `reauthorisation_required`),
//! `data.account.id` (its unlink sample), or `data.id` (`account_connected`);
//! unknown fields anywhere are ignored.

use super::sql::{PartnerUnlink, SqlStore};
use super::store::RecordsError;
use super::time;
use super::Auth;
use crate::form::Secret;
use crate::store::BoxFuture;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Where Mono's deliveries are received (set it as the app's webhook URL
/// in Mono's dashboard).
pub const MONO_WEBHOOK_PATH: &str = "/partners/mono/webhook";

/// The header Mono sends its webhook secret in.
pub const MONO_WEBHOOK_SECRET_HEADER: &str = "mono-webhook-secret";

/// The largest delivery read. Mono's events are a few hundred bytes; the
/// bound is generous so that an event we ignore anyway (a large
/// `account_updated`) is not refused and retried for ever.
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;

/// The longest account id taken from a delivery (Mono's are 24 hex
/// digits); the same bound the dialects put on identifiers.
const MAX_ACCOUNT_ID: usize = 1024;

/// The partner name the records keep Mono's auths under.
const MONO: &str = "mono";

const UNLINKED: &str = "mono.events.account_unlinked";
const REAUTH_REQUIRED: &str = "mono.events.reauthorisation_required";
const REAUTHORIZED: &str = "mono.events.account_reauthorized";

/// The secret Mono sends with every delivery (`mono-webhook-secret`), from
/// the app's webhook settings. Redacted in `Debug`.
#[derive(Clone)]
pub struct MonoWebhookSecret(Secret);

impl std::fmt::Debug for MonoWebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MonoWebhookSecret(***)")
    }
}

impl MonoWebhookSecret {
    /// The environment variable `connectflow serve` reads it from.
    pub const ENV: &'static str = "MONO_WEBHOOK_SECRET";

    /// `secret` as the webhook secret; `None` when it is blank (a blank
    /// secret would admit any request that sends an empty header).
    ///
    /// Trimmed: a header value cannot begin or end with whitespace, so a
    /// secret read with a trailing newline (from a file or a mounted
    /// secret) would otherwise refuse every delivery.
    pub fn new(secret: impl Into<Secret>) -> Option<MonoWebhookSecret> {
        let secret = secret.into().expose().trim().to_owned();
        (!secret.is_empty()).then(|| MonoWebhookSecret(Secret::new(secret)))
    }

    /// True when `headers` carry the secret, compared in constant time
    /// (its length aside).
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        headers
            .get(MONO_WEBHOOK_SECRET_HEADER)
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(self.0.expose().as_bytes())))
    }
}

/// Puts a re-authorisation in front of the person who linked an account
/// when Mono says the account needs them again
/// (`mono.events.reauthorisation_required`). The USSD channel's service
/// implements it (the offer comes on the person's next dial); the records
/// stay channel-neutral.
pub trait Reauthoriser: Send + Sync {
    /// Asks the person behind `auth` to re-authorise it: `Ok(true)` when
    /// asked (or already asked: Mono retries and repeats its events, so
    /// asking must be idempotent), `Ok(false)` when this reauthoriser cannot
    /// reach them (the auth was linked on another channel), `Err` when
    /// asking failed or must wait and may succeed later (the delivery is
    /// then answered 503, and Mono retries it).
    fn reauthorise<'a>(&'a self, auth: &'a Auth) -> BoxFuture<'a, Result<bool, String>>;

    /// Takes back what [`reauthorise`](Reauthoriser::reauthorise) asked of
    /// the person behind `auth` while it still waits for them: Mono says
    /// the account was re-authorised another way, or unlinked. A
    /// re-authorisation on the person's screen or begun is theirs to
    /// finish; a later `reauthorisation_required` retried from before this
    /// must not bring it back. `Ok(true)`
    /// when one was taken back, `Ok(false)` when none waited (or this
    /// reauthoriser cannot reach them), `Err` when it may succeed later
    /// (503: Mono retries, so this must be idempotent too). The default
    /// withdraws nothing: what was asked waits until it is taken or
    /// expires.
    fn withdraw<'a>(&'a self, _auth: &'a Auth) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Ok(false) })
    }
}

#[derive(Clone)]
struct Receiver {
    store: Arc<SqlStore>,
    secret: Arc<MonoWebhookSecret>,
    reauthoriser: Option<Arc<dyn Reauthoriser>>,
}

/// `POST /partners/mono/webhook` over `store`, admitting deliveries that
/// carry `secret`; bodies past [`MAX_WEBHOOK_BODY`] are refused (413). A
/// re-authorisation Mono asks for is only logged: see
/// [`mono_webhook_router_reauthorising`].
pub fn mono_webhook_router(store: Arc<SqlStore>, secret: MonoWebhookSecret) -> Router {
    webhook_router(store, secret, None)
}

/// [`mono_webhook_router`], handing every validated auth of an account Mono
/// says needs re-authorisation to `reauthoriser`.
pub fn mono_webhook_router_reauthorising(
    store: Arc<SqlStore>,
    secret: MonoWebhookSecret,
    reauthoriser: Arc<dyn Reauthoriser>,
) -> Router {
    webhook_router(store, secret, Some(reauthoriser))
}

fn webhook_router(
    store: Arc<SqlStore>,
    secret: MonoWebhookSecret,
    reauthoriser: Option<Arc<dyn Reauthoriser>>,
) -> Router {
    let receiver = Receiver {
        store,
        secret: Arc::new(secret),
        reauthoriser,
    };
    Router::new()
        .route(MONO_WEBHOOK_PATH, post(receive))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
        .with_state(receiver)
}

/// A refusal, in the `/v2/` endpoints' error envelope.
struct Refused {
    status: StatusCode,
    message: String,
}

impl Refused {
    fn bad(message: impl Into<String>) -> Refused {
        Refused {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<RecordsError> for Refused {
    fn from(e: RecordsError) -> Refused {
        tracing::warn!(error = %e, "Mono webhook: the records database failed; Mono will retry");
        Refused {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the records are not available right now; try again".into(),
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "status": "error", "message": self.message, "data": null });
        (self.status, axum::Json(body)).into_response()
    }
}

/// What a delivery asks of the records.
#[derive(Debug, PartialEq, Eq)]
enum Delivery {
    /// `account_unlinked`, with its account id.
    Unlinked(String),
    /// `reauthorisation_required`, with its account id.
    ReauthRequired(String),
    /// `account_reauthorized`, with its account id.
    Reauthorized(String),
    /// Anything else: its event name.
    Other(String),
}

/// Reads a delivery's body. Pure, so every shape is unit-tested.
fn decode(body: &[u8]) -> Result<Delivery, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let event = value
        .get("event")
        .and_then(Value::as_str)
        .ok_or("the body names no event (a string \"event\")")?;
    let data = value.get("data").unwrap_or(&Value::Null);
    let account =
        || account_id(data).ok_or_else(|| format!("{event} names no account (data.account._id)"));
    Ok(match event {
        UNLINKED => Delivery::Unlinked(account()?),
        REAUTH_REQUIRED => Delivery::ReauthRequired(account()?),
        // The reference gives this event no payload shape: one naming no
        // account can do nothing here, and is not refused (it would fail on
        // Mono's dashboard for ever) but received and logged.
        REAUTHORIZED => match account_id(data) {
            Some(account) => Delivery::Reauthorized(account),
            None => Delivery::Other(REAUTHORIZED.to_owned()),
        },
        other => Delivery::Other(other.to_owned()),
    })
}

/// The account a delivery's `data` names: the first usable string of
/// `account._id`, `account.id`, `account` itself, `id`, `_id`. Usable: not
/// blank, not too long, and free of control characters (PostgreSQL
/// refuses a NUL in text, which would be a 503 Mono retries for ever; no
/// id of Mono's has one).
fn account_id(data: &Value) -> Option<String> {
    let account = data.get("account");
    [
        account.and_then(|a| a.get("_id")),
        account.and_then(|a| a.get("id")),
        account,
        data.get("id"),
        data.get("_id"),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .map(str::trim)
    .find(|id| !id.is_empty() && id.len() <= MAX_ACCOUNT_ID && !id.chars().any(char::is_control))
    .map(str::to_owned)
}

type Body = Result<Bytes, BytesRejection>;

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refused> {
    if !receiver.secret.admits(&headers) {
        tracing::warn!("Mono webhook refused: missing or wrong {MONO_WEBHOOK_SECRET_HEADER}");
        return Err(Refused {
            status: StatusCode::UNAUTHORIZED,
            message: format!("missing or wrong {MONO_WEBHOOK_SECRET_HEADER}"),
        });
    }
    let bytes = body.map_err(|e| Refused {
        status: e.status(),
        message: "the body could not be read".into(),
    })?;
    let delivery = decode(&bytes).map_err(|message| {
        tracing::warn!(%message, "Mono webhook refused: malformed delivery");
        Refused::bad(message)
    })?;
    let data = match delivery {
        Delivery::Unlinked(account) => {
            let done = receiver
                .store
                .unlink_partner_account(MONO, &account, time::now_ms())
                .await?;
            log_unlink(&account, &done);
            // The unlink stands whatever follows: Mono's retry of a 503
            // finds it applied and only withdraws again.
            let all: Vec<&Auth> = done.auths.iter().collect();
            let withdrawn = receiver.ask(Ask::Withdraw, &account, &all).await?;
            serde_json::json!({
                "event": UNLINKED,
                "auths": done.auths.len(),
                "unlinked": done.unlinked,
                "withdrawn": withdrawn,
            })
        }
        // Nothing to withdraw through: the records need not be read.
        Delivery::Reauthorized(account) if receiver.reauthoriser.is_none() => {
            tracing::info!(account = %account, "Mono webhook: account re-authorised");
            serde_json::json!({ "event": REAUTHORIZED, "auths": 0, "withdrawn": [], "unlinked": [] })
        }
        Delivery::Reauthorized(account) => {
            let auths = receiver.store.partner_account_auths(MONO, &account).await?;
            let all: Vec<&Auth> = auths.iter().collect();
            let withdrawn = receiver.ask(Ask::Withdraw, &account, &all).await?;
            tracing::info!(account = %account, withdrawn = ?withdrawn,
                "Mono webhook: account re-authorised (the records are unchanged)");
            serde_json::json!({
                "event": REAUTHORIZED,
                "auths": auths.len(),
                "withdrawn": withdrawn,
                "unlinked": [],
            })
        }
        Delivery::ReauthRequired(account) => {
            let auths = receiver.store.partner_account_auths(MONO, &account).await?;
            let ids: Vec<&str> = auths.iter().map(|a| a.id.as_str()).collect();
            // The records keep no "needs re-authorisation" state: the person
            // is asked by the channel that can reach them, if one was given;
            // else a host that wants them asked does it itself (on USSD,
            // `POST /ussd/v1/reauth`), and the line is where it learns of it.
            // An unlinked auth is not brought back by a re-authorisation.
            let validated: Vec<&Auth> = auths.iter().filter(|a| a.validated).collect();
            let asked = receiver.ask(Ask::Reauthorise, &account, &validated).await?;
            tracing::info!(
                account = %account,
                auths = ?ids,
                asked = ?asked,
                "Mono webhook: re-authorisation required (the records are unchanged)"
            );
            serde_json::json!({
                "event": REAUTH_REQUIRED,
                "auths": auths.len(),
                "asked": asked,
                "unlinked": [],
            })
        }
        Delivery::Other(event) => {
            tracing::debug!(%event, "Mono webhook: an event the records do not act on");
            serde_json::json!({ "event": event, "auths": 0, "unlinked": [] })
        }
    };
    let body = serde_json::json!({ "status": "success", "message": "received", "data": data });
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// What the reauthoriser is asked to do with each auth of an account.
#[derive(Debug, Clone, Copy)]
enum Ask {
    /// Put a re-authorisation in front of its person.
    Reauthorise,
    /// Take back one still waiting for them.
    Withdraw,
}

impl Receiver {
    /// Asks the reauthoriser, if one was given, to `ask` of each of `auths`
    /// (of `account`): the ids of those it did. Every auth is tried, a
    /// failure or not (Mono's retry then only matters where it failed: both
    /// asks are idempotent); one that failed makes the delivery a 503, so
    /// Mono retries it.
    async fn ask(&self, ask: Ask, account: &str, auths: &[&Auth]) -> Result<Vec<String>, Refused> {
        let Some(reauthoriser) = &self.reauthoriser else {
            return Ok(Vec::new());
        };
        let mut done = Vec::new();
        let mut failed = 0;
        for auth in auths {
            let outcome = match ask {
                Ask::Reauthorise => reauthoriser.reauthorise(auth).await,
                Ask::Withdraw => reauthoriser.withdraw(auth).await,
            };
            match outcome {
                Ok(true) => done.push(auth.id.clone()),
                Ok(false) => {}
                Err(e) => {
                    failed += 1;
                    tracing::warn!(account = %account, auth = %auth.id, ?ask, error = %e,
                        "Mono webhook: the reauthoriser could not do it now; Mono will retry");
                }
            }
        }
        if failed > 0 {
            let what = match ask {
                Ask::Reauthorise => "the re-authorisation could not be asked for",
                Ask::Withdraw => "a waiting re-authorisation could not be withdrawn",
            };
            return Err(Refused {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: format!("{what} right now ({failed} of {}); try again", auths.len()),
            });
        }
        Ok(done)
    }
}

fn log_unlink(account: &str, done: &PartnerUnlink) {
    if done.auths.is_empty() {
        // Mono sends an app's events to its one URL; an account linked
        // through another app, or another records database, lands here too.
        tracing::info!(account = %account, "Mono webhook: unlinked an account these records do not hold");
    } else if done.unlinked.is_empty() {
        tracing::info!(account = %account, "Mono webhook: account already unlinked here (a repeated delivery)");
    } else {
        tracing::info!(account = %account, auths = ?done.unlinked, "Mono webhook: account unlinked at Mono; its auths are unlinked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unlinked(account: Value) -> Vec<u8> {
        serde_json::json!({ "event": UNLINKED, "data": { "account": account } })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn the_documented_shapes_name_the_account_and_unknown_fields_are_ignored() {
        let want = Ok(Delivery::Unlinked("60770aa8c5878a2af69ed849".into()));
        // The field table's `_id`, the sample's `id`, a bare string.
        for account in [
            serde_json::json!({ "_id": "60770aa8c5878a2af69ed849", "extra": [1, 2] }),
            serde_json::json!({ "id": "60770aa8c5878a2af69ed849" }),
            serde_json::json!(" 60770aa8c5878a2af69ed849 "),
        ] {
            assert_eq!(decode(&unlinked(account.clone())), want, "{account}");
        }
        let flat = br#"{"event":"mono.events.account_unlinked","data":{"id":"60770aa8c5878a2af69ed849"},"app":"a","v":2}"#;
        assert_eq!(decode(flat), want);
        let reauth =
            br#"{"event":"mono.events.reauthorisation_required","data":{"account":{"_id":"abc"}}}"#;
        assert_eq!(decode(reauth), Ok(Delivery::ReauthRequired("abc".into())));
        let reauthorized =
            br#"{"event":"mono.events.account_reauthorized","data":{"account":{"_id":"abc"}}}"#;
        assert_eq!(
            decode(reauthorized),
            Ok(Delivery::Reauthorized("abc".into()))
        );
        // Its shape is not in the reference: without an account it is
        // received, not refused.
        let bare = br#"{"event":"mono.events.account_reauthorized","data":{}}"#;
        assert_eq!(decode(bare), Ok(Delivery::Other(REAUTHORIZED.into())));
        let other = br#"{"event":"mono.events.account_updated","data":{"meta":{}}}"#;
        assert_eq!(
            decode(other),
            Ok(Delivery::Other("mono.events.account_updated".into()))
        );
        // An event we ignore needs no account.
        assert_eq!(decode(br#"{"event":"x"}"#), Ok(Delivery::Other("x".into())));
    }

    #[test]
    fn what_cannot_be_acted_on_is_an_error_never_a_panic() {
        for body in [
            &b""[..],
            b"not json",
            b"{\"event\":",
            b"[]",
            b"null",
            b"{}",
            b"{\"event\":7}",
            b"{\"event\":\"mono.events.account_unlinked\"}",
            b"{\"event\":\"mono.events.account_unlinked\",\"data\":{\"account\":{\"_id\":\"  \"}}}",
            b"{\"event\":\"mono.events.account_unlinked\",\"data\":{\"account\":{\"_id\":42}}}",
            b"{\"event\":\"mono.events.reauthorisation_required\",\"data\":[]}",
        ] {
            assert!(decode(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        let long = "a".repeat(MAX_ACCOUNT_ID + 1);
        assert!(decode(&unlinked(serde_json::json!({ "_id": long }))).is_err());
        // A NUL or another control character: refused here (a 400), where
        // PostgreSQL would refuse it as a 503 that Mono retries for ever.
        for odd in ["a\u{0}b", "a\nb", "\u{7f}"] {
            assert!(
                decode(&unlinked(serde_json::json!({ "_id": odd }))).is_err(),
                "{odd:?}"
            );
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(decode(deep.as_bytes()).is_err());
    }

    #[test]
    fn only_the_secret_is_admitted() {
        assert!(MonoWebhookSecret::new("  ").is_none());
        let secret = MonoWebhookSecret::new("whsec_right").expect("usable");
        assert_eq!(format!("{secret:?}"), "MonoWebhookSecret(***)");
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            if let Ok(v) = value.parse() {
                headers.insert(MONO_WEBHOOK_SECRET_HEADER, v);
            }
            secret.admits(&headers)
        };
        assert!(with("whsec_right"));
        // Read from a file with its newline: Mono's header cannot carry
        // it, so the secret is trimmed and still admits Mono.
        let from_file = MonoWebhookSecret::new("whsec_right\n").expect("usable");
        let mut headers = HeaderMap::new();
        headers.insert(MONO_WEBHOOK_SECRET_HEADER, "whsec_right".parse().unwrap());
        assert!(from_file.admits(&headers));
        for wrong in [
            "",
            "whsec_righ",
            "whsec_right ",
            "whsec_rightx",
            "WHSEC_RIGHT",
        ] {
            assert!(!with(wrong), "{wrong:?}");
        }
        assert!(!secret.admits(&HeaderMap::new()));
    }
}
