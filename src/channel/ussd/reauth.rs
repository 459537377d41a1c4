//! Re-authorisation on USSD, when the host or Mono asks: a linked account whose
//! bank needs the person again (Mono's `REAUTHORISATION_REQUIRED`) is put
//! in front of them the next time they dial.
//!
//! The host calls [`UssdService::request_reauth`] (or `POST
//! /ussd/v1/reauth` with its API key, [`host_router`]), or Mono does: its
//! `reauthorisation_required` webhook, received with the records, asks
//! through this service's `Reauthoriser`. That stores a flow
//! that starts at the bank's re-authorisation — not yet started, only its
//! configuration kept, so no partner session is opened (and none expires)
//! before the person dials —
//! and points the phone's resume index at it. The next dial then meets it
//! through the resume offer every unfinished flow already gets, worded for
//! a re-authorisation: no extra store read on anyone's first hop, and the
//! race rules of resuming (exactly one dial takes the flow) hold as they
//! are. "Start again" leaves it for an ordinary link. A request not yet
//! offered is withdrawn when Mono says the account was re-authorised
//! another way or unlinked ([`UssdService::withdraw_reauth`]).

use super::resume::{every_phone_key, other_phone_keys, phone_key};
use super::session::UssdState;
use super::UssdService;
use crate::flow::{AuthMethodKind, ConnectFlow};
use crate::server::ApiKey;
use crate::service::{Customer, ServiceError};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The offer shown for a re-authorisation waiting for the person.
pub(super) const REAUTH_OFFER: [&str; 3] = [
    "Your bank needs you to log in again to keep your account linked.",
    "1. Continue",
    "2. Start again",
];

/// The names of requests' records, until a dial takes them (the offer
/// moves the flow to that dial's session).
const REQUEST_PREFIX: &str = "ussd:reauth:";

/// The names of the marks that an account's re-authorisation is settled
/// (Mono said it was done another way, or unlinked it), by the account id
/// as the store blinds it.
const SETTLED_PREFIX: &str = "ussd:reauth-settled:";

/// How long such a mark holds: Mono's retries of a `reauthorisation_required`
/// that arrived before it (answered 503 then) are not asked again for an
/// hour, and an offer shown on a dial before it is not shown again on a
/// later one (an offer lives a session's TTL, 10 minutes by default, after
/// its last dial). A new `reauthorisation_required` after that asks again.
const SETTLED_FOR: Duration = Duration::from_secs(3600);

/// How long a request waits for the person to dial, unless the host says.
pub const DEFAULT_REAUTH_WAIT: Duration = Duration::from_secs(24 * 3600);

/// The longest a request may wait (`wait_seconds` is clamped to 60 s ..
/// 30 days).
pub const MAX_REAUTH_WAIT: Duration = Duration::from_secs(30 * 24 * 3600);

/// What the host asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReauthRequest {
    /// The person's phone number (E.164; a missing `+` is added, as the
    /// gateways' numbers are).
    pub phone: String,
    /// The linked account (the partner's id) to re-authorise.
    pub account: String,
    /// The bank it is at (the partner's institution id).
    pub institution: String,
    /// How the person logs in there; the bank's first method when absent.
    #[serde(default)]
    pub auth_method: Option<String>,
    /// Seconds the request waits for a dial (default a day; 60 s to 30
    /// days).
    #[serde(default)]
    pub wait_seconds: Option<u64>,
}

impl UssdService {
    /// Whether the phone's index entry `index` leads to a re-authorisation
    /// asked for (by the host or Mono) that has not started, for this
    /// `phone`.
    pub(super) async fn waits_for_reauth(&self, index: &crate::store::Entry, phone: &str) -> bool {
        let key = String::from_utf8_lossy(&index.data);
        matches!(
            self.service.load::<UssdState>(&key).await,
            Ok(Some(loaded)) if loaded.session.channel.awaits_reauth_of(phone)
        )
    }

    /// Puts a re-authorisation of `request.account` in front of the person
    /// at `request.phone` the next time they dial, on any gateway this
    /// service answers. The host's decision: newer than Mono's word that
    /// the account was settled, which it clears.
    pub async fn request_reauth(&self, request: ReauthRequest) -> Result<(), ServiceError> {
        let settled = settled_key(self.service.store().as_ref(), &request.account);
        self.service.store().delete(&settled).await?;
        self.store_reauth(request).await.map(|_| ())
    }

    /// [`request_reauth`](Self::request_reauth) without clearing the
    /// settled mark: Mono's own asks, which must not undo its later word.
    /// The request's record name and version, for taking just it back.
    async fn store_reauth(
        &self,
        request: ReauthRequest,
    ) -> Result<(String, crate::store::Version), ServiceError> {
        // Keyed as the gateways key a phone (E.164, `+` added), so the
        // person's next dial finds it whichever gateway sends the number.
        let phone = super::gateway::msisdn::normalise_msisdn(&request.phone);
        let wait = request
            .wait_seconds
            .map_or(DEFAULT_REAUTH_WAIT, Duration::from_secs)
            .clamp(Duration::from_secs(60), MAX_REAUTH_WAIT);
        let customer = Customer {
            id: phone.clone(),
            phone: Some(phone.clone()),
            ..Customer::default()
        };
        let mut state = UssdState::new(phone.clone(), &[], None);
        state.unstarted = true;
        let (mut session, _) = self
            .service
            .start(self.partner(), None, Some(customer), state)?;
        let config = self
            .service
            .config()
            .flow
            .clone()
            .with_reference(session.reference.clone())
            .with_reauthorise(
                request.account,
                request.institution,
                request.auth_method.map(AuthMethodKind::from),
            );
        // Not driven, only its configuration kept: the partner hears of it
        // when the person continues, and the flow is built afresh then.
        session.flow = ConnectFlow::new(config, self.service.now()).snapshot();
        let key = format!("{REQUEST_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let store = self.service.store();
        let version = store
            .compare_and_set(&key, None, serde_json::to_vec(&session)?, wait)
            .await?;
        for gateway in super::gateway::NAMES {
            // An index under an older seal key's name would be offered
            // again once this one expires: taken away (best effort).
            for older in other_phone_keys(store.as_ref(), gateway, &phone) {
                if let Ok(Some(entry)) = store.get(&older).await {
                    let _ = store
                        .compare_and_set(&older, Some(entry.version), Vec::new(), Duration::ZERO)
                        .await;
                }
            }
            let index = phone_key(store.as_ref(), gateway, &phone);
            // Whatever the phone had unfinished is replaced: the host's
            // request is newer than it. A dial racing this write wins that
            // gateway's index (its own flow stays resumable); the request
            // still waits behind the others.
            for _ in 0..3 {
                let current = store.get(&index).await?.map(|e| e.version);
                match store
                    .compare_and_set(&index, current, key.as_bytes().to_vec(), wait)
                    .await
                {
                    Err(crate::store::StoreError::Conflict) => continue,
                    other => {
                        other?;
                        break;
                    }
                }
            }
        }
        Ok((key, version))
    }

    /// Takes back the request stored as `key` at `version` for `phone`, and
    /// every index of the phone that still names it: that one only (a
    /// request written since, the host's, is left), at the versions read
    /// (a dial that took it meanwhile keeps it).
    #[cfg(feature = "records")]
    async fn take_back(
        &self,
        phone: &str,
        key: &str,
        version: crate::store::Version,
    ) -> Result<(), ServiceError> {
        let store = self.service.store();
        match store
            .compare_and_set(key, Some(version), Vec::new(), Duration::ZERO)
            .await
        {
            Ok(_) => {}
            Err(crate::store::StoreError::Conflict) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        for index in every_phone_key(store.as_ref(), phone) {
            if let Some(entry) = store.get(&index).await? {
                if entry.data == key.as_bytes() {
                    let _ = store
                        .compare_and_set(&index, Some(entry.version), Vec::new(), Duration::ZERO)
                        .await;
                }
            }
        }
        Ok(())
    }
}

/// Where the mark that `account`'s re-authorisation is settled is kept.
fn settled_key(store: &dyn crate::store::SessionStore, account: &str) -> String {
    [SETTLED_PREFIX, &store.blind(account)].concat()
}

impl UssdService {
    /// Whether Mono said, within [`SETTLED_FOR`], that `account` was
    /// re-authorised another way or unlinked.
    pub(super) async fn reauth_settled(&self, account: &str) -> Result<bool, ServiceError> {
        let store = self.service.store();
        Ok(store
            .get(&settled_key(store.as_ref(), account))
            .await?
            .is_some())
    }

    /// Takes back a re-authorisation of `account` still waiting for the
    /// person at `phone`: asked for (by the host or Mono) and not yet
    /// offered. Mono says the account was re-authorised another way
    /// (`account_reauthorized`) or unlinked, and asking them to log in
    /// again would be for nothing. One on a handset's screen now is left to
    /// that dial: the person may be reading it, and an answer that found no
    /// session would be read as a first screen's (a bank picked); marked
    /// settled (for an hour), it is not offered on a later dial unless
    /// begun, nor asked again by Mono's retry of an older event. `true`
    /// when one was taken back here; idempotent.
    pub async fn withdraw_reauth(&self, phone: &str, account: &str) -> Result<bool, ServiceError> {
        let phone = super::gateway::msisdn::normalise_msisdn(phone);
        let store = self.service.store();
        // First, so that from here on neither Mono's retry of an earlier
        // `reauthorisation_required` nor a dial finding an offer shown
        // before brings it back ([`SETTLED_FOR`]).
        let settled = settled_key(store.as_ref(), account);
        for attempt in 1..=3 {
            let current = store.get(&settled).await?.map(|entry| entry.version);
            match store
                .compare_and_set(&settled, current, b"1".to_vec(), SETTLED_FOR)
                .await
            {
                Ok(_) => break,
                // Written or cleared (the host's request) meanwhile: read
                // again, so that a clearing does not pass for a mark.
                Err(crate::store::StoreError::Conflict) if attempt < 3 => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let mut withdrawn: Vec<String> = Vec::new();
        for index in every_phone_key(store.as_ref(), &phone) {
            let Some(entry) = store.get(&index).await? else {
                continue;
            };
            let key = String::from_utf8_lossy(&entry.data).into_owned();
            // Every gateway's index names the one request record.
            if !withdrawn.contains(&key) {
                if !key.starts_with(REQUEST_PREFIX) {
                    continue;
                }
                let Some(loaded) = readable(self.service.load::<UssdState>(&key).await)? else {
                    continue;
                };
                let session = &loaded.session;
                if !session.channel.awaits_reauth_of(&phone)
                    || session.flow.reauthorises() != Some(account)
                {
                    continue;
                }
                // At the version read: a dial that took the offer meanwhile
                // wins, and the person has it.
                match store
                    .compare_and_set(&key, loaded.version, Vec::new(), Duration::ZERO)
                    .await
                {
                    Ok(_) => withdrawn.push(key),
                    Err(crate::store::StoreError::Conflict) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            // The index would only lead to nothing: taken away (best effort,
            // at its version: a dial that wrote it meanwhile keeps it).
            let _ = store
                .compare_and_set(&index, Some(entry.version), Vec::new(), Duration::ZERO)
                .await;
        }
        Ok(!withdrawn.is_empty())
    }
}

/// Mono's `reauthorisation_required`, received with the records
/// (`mono_webhook_router_reauthorising`): an auth this channel linked, of
/// this channel's partner, for a known phone and bank, is put in front of
/// its person as [`request_reauth`](UssdService::request_reauth) does; any
/// other is not this channel's to ask.
///
/// Unlike the host's request, which is a decision to replace whatever the
/// phone had, Mono's may be a retry or a repeat: a re-authorisation of the
/// same account already waiting or under way is left as it is (asked, not
/// asked again), and a phone whose flow has a bank call running, or another
/// account's re-authorisation waiting, is asked later (an error: the
/// delivery is answered 503 and Mono retries it).
#[cfg(feature = "records")]
impl crate::records::Reauthoriser for UssdService {
    fn reauthorise<'a>(
        &'a self,
        auth: &'a crate::records::Auth,
    ) -> crate::store::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let Some(phone) = self.reachable(auth) else {
                return Ok(false);
            };
            // Mono said the account was settled since: this is a retry (or
            // a repeat) of an event older than that.
            if self
                .reauth_settled(&auth.partner_account_id)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(false);
            }
            match self
                .standing(phone, &auth.partner_account_id)
                .await
                .map_err(|e| e.to_string())?
            {
                Standing::Asked => return Ok(true),
                Standing::Busy => {
                    return Err("the phone's flow is busy (a bank call running, or another \
                                account's re-authorisation waiting): ask again later"
                        .into())
                }
                Standing::Free => {}
            }
            let request = ReauthRequest {
                phone: phone.to_owned(),
                account: auth.partner_account_id.clone(),
                institution: auth.bank.id.clone(),
                auth_method: auth.auth_method.clone(),
                wait_seconds: None,
            };
            let (key, version) = self
                .store_reauth(request)
                .await
                .map_err(|e| e.to_string())?;
            // Mono's `account_reauthorized` may have crossed this one: marked
            // after the check above, its withdrawal may have looked before
            // the request was written. Looked again now that it is, and this
            // request taken back if so: only it, not one the host may have
            // asked for since, and the mark left as Mono's word made it.
            if self
                .reauth_settled(&auth.partner_account_id)
                .await
                .map_err(|e| e.to_string())?
            {
                self.take_back(phone, &key, version)
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok(false);
            }
            Ok(true)
        })
    }

    fn withdraw<'a>(
        &'a self,
        auth: &'a crate::records::Auth,
    ) -> crate::store::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let Some(phone) = self.reachable(auth) else {
                return Ok(false);
            };
            self.withdraw_reauth(phone, &auth.partner_account_id)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// What a phone's indexes lead to, for a re-authorisation Mono asks for.
#[cfg(feature = "records")]
enum Standing {
    /// Nothing that a new request would harm.
    Free,
    /// A re-authorisation of this account, waiting or under way.
    Asked,
    /// A flow whose bank call is running, or another account's
    /// re-authorisation not finished.
    Busy,
}

#[cfg(feature = "records")]
impl UssdService {
    /// The phone of `auth`'s person when this channel can reach them: an
    /// auth it linked, of its partner, for an international number and a
    /// named bank and account; `None` for any other (not this channel's).
    fn reachable<'a>(&self, auth: &'a crate::records::Auth) -> Option<&'a str> {
        let phone = match &auth.customer {
            Some(customer) if auth.channel == super::session::CHANNEL => &customer.id,
            _ => return None,
        };
        let reachable = auth.partner == self.partner()
            && international(phone)
            && !auth.bank.id.trim().is_empty()
            && !auth.partner_account_id.trim().is_empty();
        reachable.then_some(phone.as_str())
    }

    async fn standing(&self, phone: &str, account: &str) -> Result<Standing, ServiceError> {
        let store = self.service.store();
        // Under the current name and any older seal key's (a rotation).
        for index in every_phone_key(store.as_ref(), phone) {
            let Some(entry) = store.get(&index).await? else {
                continue;
            };
            let key = String::from_utf8_lossy(&entry.data).into_owned();
            // A record that does not open is nothing a request would harm.
            let Some(loaded) = readable(self.service.load::<UssdState>(&key).await)? else {
                continue;
            };
            let session = &loaded.session;
            if session.channel.phone != phone
                || session.flow.is_finished()
                || session.channel.handed_off
            {
                continue;
            }
            match session.flow.reauthorises() {
                Some(of) if of == account => return Ok(Standing::Asked),
                Some(_) => return Ok(Standing::Busy),
                None if self.service.claim_is_live(session) => return Ok(Standing::Busy),
                None => {}
            }
        }
        Ok(Standing::Free)
    }
}

/// A loaded record, `None` when there is none or it does not open (another
/// format, another key: nothing to withdraw or to be harmed); the store
/// failing is an error, so the webhook answers 503 and Mono retries rather
/// than being told all is done.
fn readable<T>(loaded: Result<Option<T>, ServiceError>) -> Result<Option<T>, ServiceError> {
    match loaded {
        Err(ServiceError::Record(_)) => Ok(None),
        other => other,
    }
}

/// Whether `phone` is a number in international form (`+` and digits), as
/// the gateways key a dial: a request for any other would never be met.
fn international(phone: &str) -> bool {
    phone
        .strip_prefix('+')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// `POST /ussd/v1/reauth`: the host's call, with its API key. `202` when
/// the request waits for the person; `400` with a reason for a bad body;
/// `401` without the key.
pub fn host_router(service: Arc<UssdService>, key: ApiKey) -> Router {
    Router::new()
        .route("/ussd/v1/reauth", post(reauth))
        .with_state((service, Arc::new(key)))
}

async fn reauth(
    State((service, key)): State<(Arc<UssdService>, Arc<ApiKey>)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let answer = |status: StatusCode, message: &str| {
        (status, Json(serde_json::json!({ "message": message }))).into_response()
    };
    if !key.admits(&headers) {
        return answer(StatusCode::UNAUTHORIZED, "a valid API key is required");
    }
    let request: ReauthRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return answer(StatusCode::BAD_REQUEST, &format!("bad request: {e}")),
    };
    let blank = |s: &str| s.trim().is_empty();
    let phone = super::gateway::msisdn::normalise_msisdn(&request.phone);
    if phone.is_empty() || blank(&request.account) || blank(&request.institution) {
        return answer(
            StatusCode::BAD_REQUEST,
            "phone, account and institution are required",
        );
    }
    // A number left national (`0244567890`) would be indexed as written,
    // while the gateways key a dial by its international form: the person
    // would never be asked. Refused, not guessed at.
    if !international(&phone) {
        return answer(
            StatusCode::BAD_REQUEST,
            "phone must be an international number (E.164, e.g. +233244567890)",
        );
    }
    match service.request_reauth(request).await {
        Ok(()) => answer(
            StatusCode::ACCEPTED,
            "waiting: the person is asked when they next dial",
        ),
        Err(e) => {
            tracing::warn!(error = %e, "re-authorisation request not stored");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "not stored: try again shortly",
            )
        }
    }
}
