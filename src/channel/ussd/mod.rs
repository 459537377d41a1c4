//! The USSD channel: a connect flow behind a USSD short code.
//!
//! Every hop from a gateway does the channel's five steps: load the session
//! (sealed, versioned) from a [`SessionStore`], extract the new input
//! ([`input::extract`]'s suffix-diff for cumulative gateways), apply it to
//! the menu or the flow, drive the flow until it needs the person again,
//! render the view into a screen that fits the budget ([`menu`]), and save
//! with compare-and-set so two overlapping hops of one session can never
//! both apply.
//!
//! Partner calls never block a hop past the gateway's reply budget: the call
//! goes on in a background task and the handset gets `Processing... 1.
//! Continue`. Before any call that changes something at the partner, the
//! hop *claims* the session in the store (with the request in flight, the
//! secret values already gone with it); if the process dies mid-call,
//! another instance sees the stale claim and tells the flow the call timed
//! out, which puts the person back on the screen they were on — it never
//! re-sends a login.
//!
//! The flow outlives the telecom session: a re-dial from the same number
//! within the session TTL offers `1. Continue` / `2. Start again`. On success
//! the account id goes to a webhook, signed with HMAC-SHA256.

pub mod gateway;
pub mod gsm;
pub mod input;
pub mod menu;
mod server;
mod webhook;

pub use server::router;

pub use webhook::{sign, WebhookConfig, SIGNATURE_HEADER};

use crate::driver::{now, Driver, DriverError};
use crate::flow::{
    Call, CallError, Catalogue, ConnectFlow, Effect, EventKind, FlowConfig, FlowError, Input,
    InstitutionRef, Reply, RestoreError, Snapshot, Timestamp, UserAction, View,
};
use crate::store::{SessionStore, StoreError, Version};
use gateway::{Gateway, GatewayRequest, GatewayResponse, Payload, Screen, SessionEnded};
use input::Extracted;
use menu::{Cursor, MenuConfig, Outcome};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the USSD service behaves.
#[derive(Debug, Clone)]
pub struct UssdConfig {
    /// Screens: budget, navigation keys, invalid-input limit.
    pub menu: MenuConfig,
    /// The flow's limits (the reference is set per session).
    pub flow: FlowConfig,
    /// A hop answers within this, with an interim screen if a call is slower.
    pub reply_budget: Duration,
    /// A session (and so a resumable flow) lives this long after its last hop.
    pub session_ttl: Duration,
    /// How long the institution list is reused before it is fetched again.
    pub catalogue_ttl: Duration,
    /// A claim older than this is taken to be from a dead process.
    pub claim_lease: Duration,
    /// Where to deliver linked accounts, if anywhere.
    pub webhook: Option<WebhookConfig>,
}

impl Default for UssdConfig {
    fn default() -> Self {
        UssdConfig {
            menu: MenuConfig::default(),
            flow: FlowConfig::default(),
            reply_budget: Duration::from_secs(10),
            session_ttl: Duration::from_secs(600),
            catalogue_ttl: Duration::from_secs(300),
            claim_lease: Duration::from_secs(60),
            webhook: None,
        }
    }
}

/// One USSD session at rest (sealed by the store).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    flow: Snapshot,
    phone: String,
    reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prev_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_sequence: Option<u64>,
    last_screen: Screen,
    #[serde(default)]
    cursor: Cursor,
    #[serde(default)]
    invalid: u8,
    /// A partner call is in flight, claimed at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim: Option<Timestamp>,
    /// The hop that claimed the session answered "Processing... 1. Continue".
    #[serde(default)]
    interim_shown: bool,
    /// The person saw "Processing... 1. Continue": the next input only continues.
    #[serde(default)]
    after_interim: bool,
    /// Showing "1. Continue / 2. Start again".
    #[serde(default)]
    resume_offer: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    institution: Option<InstitutionRef>,
    #[serde(default)]
    delivered: bool,
}

/// Why a hop could not be served (the handset gets a polite `END`).
#[derive(Debug, thiserror::Error)]
enum HopError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored session unreadable: {0}")]
    Decode(#[from] serde_json::Error),
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    Driver(#[from] DriverError),
}

/// What a handset sees while a call outlives the reply budget.
const INTERIM: &str = menu::PROCESSING;
const RESUME_OFFER: [&str; 3] = [
    "You have an unfinished bank link.",
    "1. Continue",
    "2. Start again",
];
const SORRY: &str = "Sorry, something went wrong. Please dial again.";

/// What the service keeps from a flow event: which institution got linked
/// (for the success screen and the webhook).
fn note_event(session: &mut Session, event: &crate::flow::Event) {
    if let EventKind::AccountLinked { institution } = &event.kind {
        session.institution = Some(institution.clone());
    }
}

fn screen(text: &str, end: bool) -> Screen {
    Screen {
        text: text.to_owned(),
        end,
    }
}

/// The USSD hop server. Share one per process behind an `Arc`.
pub struct UssdService {
    driver: Driver,
    store: Arc<dyn SessionStore>,
    config: UssdConfig,
    catalogue: Mutex<Option<(Instant, Arc<Catalogue>)>>,
    /// The rendered first screen and the catalogue it was rendered from
    /// (held, so the comparison by pointer can never meet a reused address).
    first_screen: Mutex<Option<(Arc<Catalogue>, Screen)>>,
    webhook: Option<webhook::Sender>,
}

impl std::fmt::Debug for UssdService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UssdService")
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

impl UssdService {
    /// A service that runs flows through `driver` and keeps sessions in `store`
    /// (wrap it in [`crate::store::Sealed`] unless it is in-process memory).
    pub fn new(
        driver: Driver,
        store: Arc<dyn SessionStore>,
        config: UssdConfig,
    ) -> Arc<UssdService> {
        let webhook = config.webhook.clone().map(webhook::Sender::new);
        Arc::new(UssdService {
            driver,
            store,
            config,
            catalogue: Mutex::new(None),
            first_screen: Mutex::new(None),
            webhook,
        })
    }

    /// Serves one hop: never panics, never answers 5xx; a problem becomes a
    /// polite `END` screen (and a log line without the person's input).
    pub async fn hop(
        self: &Arc<Self>,
        gateway: &dyn Gateway,
        request: &GatewayRequest,
    ) -> GatewayResponse {
        let raw = match gateway.decode(request) {
            Ok(raw) => raw,
            Err(e) => {
                tracing::warn!(gateway = gateway.name(), error = %e, "unreadable hop");
                return gateway.encode(&screen(SORRY, true), "", "");
            }
        };
        let key = format!("ussd:{}:{}", gateway.name(), raw.session_id);
        let screen = match self.serve(gateway.name(), &key, &raw).await {
            Ok(s) => s,
            // Another hop of this session won the write: it applied, this one
            // did not. Show what the winner left (its screen, or "Processing").
            Err(HopError::Store(StoreError::Conflict)) => match self.store.get(&key).await {
                Ok(Some(r)) => serde_json::from_slice::<Session>(&r.data)
                    .map(|s| s.last_screen)
                    .unwrap_or_else(|_| screen(SORRY, true)),
                _ => screen(SORRY, true),
            },
            Err(e) => {
                tracing::warn!(session = %raw.session_id, error = %e, "hop failed");
                screen(SORRY, true)
            }
        };
        gateway.encode(&screen, &raw.session_id, "")
    }

    /// An end-of-session notification. The flow is kept so a re-dial can resume it.
    pub fn session_ended(&self, gateway: &str, ended: &SessionEnded) {
        tracing::info!(gateway, session = %ended.session_id, status = %ended.status,
            hops = ?ended.hops, ms = ?ended.duration_ms, "channel session ended");
    }

    async fn serve(
        self: &Arc<Self>,
        gateway: &str,
        key: &str,
        raw: &gateway::RawHop,
    ) -> Result<Screen, HopError> {
        let now = now();
        if matches!(raw.payload, Payload::Release | Payload::Timeout) {
            // The telecom session is over; the flow stays for a re-dial.
            return Ok(screen("Goodbye.", true));
        }
        let record = self.store.get(key).await?;
        let (version, session) = match record {
            Some(r) => (
                Some(r.version),
                Some(serde_json::from_slice::<Session>(&r.data)?),
            ),
            None => (None, None),
        };
        let extracted = match (&raw.payload, &session) {
            (Payload::Cumulative(text), s) => {
                input::extract(s.as_ref().and_then(|s| s.prev_text.as_deref()), text)
            }
            (Payload::Initiation { dialled }, _) => Extracted::Begin {
                prefill: input::dialled_prefill(&raw.service_code, dialled),
            },
            (Payload::Latest { sequence, .. }, Some(s))
                if sequence.is_some() && *sequence == s.last_sequence =>
            {
                Extracted::Duplicate
            }
            (Payload::Latest { text, .. }, Some(_)) => Extracted::Input(text.clone()),
            // No state for this session: its first screen was stateless (or the
            // state expired). The text may only pick a bank, like pre-dialled input.
            (Payload::Latest { text, .. }, None) => Extracted::Begin {
                prefill: vec![text.clone()],
            },
            _ => Extracted::Begin {
                prefill: Vec::new(),
            },
        };
        let (text, sequence) = match &raw.payload {
            Payload::Cumulative(t) => (Some(t.clone()), None),
            Payload::Latest { sequence, .. } => (None, *sequence),
            _ => (None, None),
        };
        let Some(mut session) = session else {
            let prefill = match extracted {
                Extracted::Begin { prefill } => prefill,
                _ => Vec::new(),
            };
            return self
                .begin(gateway, key, raw, text, sequence, prefill, now)
                .await;
        };
        let input = match extracted {
            // Same text again (a gateway retry): same screen, nothing runs twice.
            Extracted::Duplicate | Extracted::Begin { .. } => return Ok(session.last_screen),
            Extracted::Input(i) => i,
            Extracted::Lost { input } => {
                tracing::warn!(session = %raw.session_id, "hop text does not extend the previous one; using its last segment");
                input
            }
        };
        if text.is_some() {
            session.prev_text = text;
        }
        if sequence.is_some() {
            session.last_sequence = sequence;
        }
        self.advance(key, version, session, &input, now).await
    }

    /// A hop of a session with no stored state: offer to resume an unfinished
    /// flow of this phone, or answer the first screen without storing
    /// anything, or (when input came with it) create the session.
    ///
    /// The first screen is the same for everyone and there is nothing to
    /// resume on it, so it is rendered from the cached catalogue with no
    /// store write: a person who dials and hangs up costs the store one read.
    /// Their first answer arrives with no history and is taken as pre-dialled
    /// input, which may only pick a bank (never reach a PIN or OTP field).
    #[allow(clippy::too_many_arguments)]
    async fn begin(
        self: &Arc<Self>,
        gateway: &str,
        key: &str,
        raw: &gateway::RawHop,
        text: Option<String>,
        sequence: Option<u64>,
        prefill: Vec<String>,
        now: Timestamp,
    ) -> Result<Screen, HopError> {
        let phone_key = format!("ussd-phone:{gateway}:{}", raw.phone);
        let previous = if raw.phone.is_empty() {
            None
        } else {
            self.store.get(&phone_key).await?
        };
        if prefill.is_empty() {
            if let Some(prev) = &previous {
                if let Some(offer) = self
                    .offer_resume(key, &phone_key, prev, text.clone(), sequence)
                    .await?
                {
                    return Ok(offer);
                }
            }
            return self.first_screen(None).await;
        }
        let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_ascii_uppercase();
        let mut flow = ConnectFlow::new(self.flow_config(&reference), now);
        let mut session = Session {
            flow: flow.snapshot(),
            phone: raw.phone.clone(),
            reference,
            prev_text: text.or(Some(String::new())),
            last_sequence: sequence,
            last_screen: screen(INTERIM, false),
            cursor: Cursor::Start,
            interim_shown: false,
            claim: None,
            after_interim: false,
            resume_offer: false,
            institution: None,
            delivered: false,
            invalid: 0,
        };
        self.answer_reads(&mut flow, now).await?;
        // Pre-dialled digits (`*384*123*2#`, or the first answer after a
        // stateless first screen) may only pick a bank from the first menu.
        // Pre-dialled digits (`*384*123*2#`, or the first answer after the
        // stateless first screen) may only pick a bank from the first menu.
        // Anything else gets the first screen again with an error line, and
        // nothing is stored.
        let first = prefill.first().map(String::as_str).unwrap_or("");
        let outcome = if first.chars().all(|c| c.is_ascii_digit()) && !first.is_empty() {
            menu::on_input(&flow.view(), &Cursor::Start, first, &self.config.menu)
        } else {
            Outcome::Invalid("Invalid choice.")
        };
        match outcome {
            Outcome::Move(cursor) => session.cursor = cursor,
            Outcome::Act(action @ UserAction::ChooseInstitution { .. }) => {
                flow.handle(now, Input::User(action))
                    .map_err(DriverError::from)?;
            }
            Outcome::Invalid(message) => return self.first_screen(Some(message)).await,
            Outcome::Act(_) => return self.first_screen(Some("Invalid choice.")).await,
        }
        if !raw.phone.is_empty() {
            // Best effort: a lost race here only loses the resume offer.
            let _ = self
                .store
                .compare_and_set(
                    &phone_key,
                    previous.map(|p| p.version),
                    key.as_bytes().to_vec(),
                    self.config.session_ttl,
                )
                .await;
        }
        self.run(key, None, session, flow, now).await
    }

    /// "You have an unfinished bank link": moves the phone's unfinished flow
    /// to this session (moved, not copied: two sessions must never drive one
    /// flow). `None` when there is nothing to resume.
    async fn offer_resume(
        &self,
        key: &str,
        phone_key: &str,
        prev: &crate::store::Record,
        text: Option<String>,
        sequence: Option<u64>,
    ) -> Result<Option<Screen>, HopError> {
        let old_key = String::from_utf8_lossy(&prev.data).into_owned();
        if old_key == key {
            return Ok(None);
        }
        let Some(old) = self.store.get(&old_key).await? else {
            return Ok(None);
        };
        let Ok(mut s) = serde_json::from_slice::<Session>(&old.data) else {
            return Ok(None);
        };
        // Worth resuming: past the bank list and not finished. A flow whose
        // call is still claimed by a live instance is left alone; a claim whose
        // lease ran out (its process died) is recovered when the person
        // continues, like any other hop.
        let worth = ConnectFlow::restore(s.flow.clone(), None).is_ok_and(|f| {
            !f.is_finished()
                && !matches!(
                    f.state().kind(),
                    crate::flow::StateKind::LoadingInstitutions
                        | crate::flow::StateKind::ChoosingInstitution
                )
        });
        if !worth || (s.claim.is_some() && !self.claim_expired(&s, now())) {
            return Ok(None);
        }
        s.resume_offer = true;
        s.after_interim = false;
        s.prev_text = text.or(Some(String::new()));
        s.last_sequence = sequence;
        s.invalid = 0;
        s.cursor = Cursor::Start;
        s.last_screen = self.fit(&RESUME_OFFER, false);
        let out = s.last_screen.clone();
        self.save(key, None, &s).await?;
        self.store.delete(&old_key).await?;
        self.store
            .compare_and_set(
                phone_key,
                Some(prev.version),
                key.as_bytes().to_vec(),
                self.config.session_ttl,
            )
            .await?;
        Ok(Some(out))
    }

    /// The bank list every session starts on, rendered once per catalogue.
    async fn first_screen(&self, error: Option<&str>) -> Result<Screen, HopError> {
        let catalogue = match self.catalogue().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "institution list unavailable");
                return Ok(screen(
                    "The bank list is not available right now. Please try again later.",
                    true,
                ));
            }
        };
        if error.is_none() {
            if let Ok(guard) = self.first_screen.lock() {
                if let Some((c, s)) = guard.as_ref() {
                    if Arc::ptr_eq(c, &catalogue) {
                        return Ok(s.clone());
                    }
                }
            }
        }
        let mut flow = ConnectFlow::new(self.config.flow.clone(), Timestamp(0));
        if let Some(Effect::Call { id, .. }) = flow.poll_effect() {
            let result = Ok(Reply::Institutions(Arc::clone(&catalogue)));
            flow.handle(Timestamp(0), Input::Api { id, result })
                .map_err(DriverError::from)?;
        }
        let first = menu::render(&flow.view(), &Cursor::Start, error, &self.config.menu);
        if error.is_none() {
            if let Ok(mut guard) = self.first_screen.lock() {
                *guard = Some((catalogue, first.clone()));
            }
        }
        Ok(first)
    }

    /// Applies one input to a stored session.
    async fn advance(
        self: &Arc<Self>,
        key: &str,
        version: Option<Version>,
        mut session: Session,
        input: &str,
        now: Timestamp,
    ) -> Result<Screen, HopError> {
        let mut flow = self.restore(&session.flow, now).await?;

        if session.claim.is_some() {
            if !self.claim_expired(&session, now) {
                // Still being worked on by this or another instance.
                session.last_screen = screen(INTERIM, false);
                let out = session.last_screen.clone();
                self.save(key, version, &session).await?;
                return Ok(out);
            }
            // The claim outlived its lease: its process died mid-call. Tell the
            // flow the call timed out; it takes the person back a screen and
            // never re-sends the call by itself.
            if let Some(id) = flow.state().waiting_for() {
                let _ = flow.handle(
                    now,
                    Input::Api {
                        id,
                        result: Err(CallError::Timeout),
                    },
                );
            }
            session.claim = None;
            session.after_interim = true;
        }
        if session.resume_offer {
            match input.trim() {
                "1" => {
                    session.resume_offer = false;
                    session.cursor = Cursor::Start;
                    flow.handle_timeout(now);
                    return self.run(key, version, session, flow, now).await;
                }
                "2" => {
                    session.resume_offer = false;
                    session.cursor = Cursor::Start;
                    session.institution = None;
                    let fresh = ConnectFlow::new(self.flow_config(&session.reference), now);
                    return self.run(key, version, session, fresh, now).await;
                }
                _ => {
                    return self
                        .invalid(key, version, session, &flow, "Invalid choice.")
                        .await;
                }
            }
        }
        if session.after_interim {
            // The person pressed "Continue": show where the flow is now.
            session.after_interim = false;
            flow.handle_timeout(now);
            return self.run(key, version, session, flow, now).await;
        }
        // A deadline may have passed while the person was typing: apply it
        // first, and if it changed the screen, show the new one.
        let before = flow.state().kind();
        flow.handle_timeout(now);
        if flow.state().kind() != before {
            session.cursor = Cursor::Start;
            return self.run(key, version, session, flow, now).await;
        }
        let outcome = menu::on_input(&flow.view(), &session.cursor, input, &self.config.menu);
        match outcome {
            Outcome::Invalid(message) => self.invalid(key, version, session, &flow, message).await,
            Outcome::Move(cursor) => {
                session.cursor = cursor;
                session.invalid = 0;
                self.run(key, version, session, flow, now).await
            }
            Outcome::Act(action) => {
                session.invalid = 0;
                session.cursor = Cursor::Start;
                match flow.handle(now, Input::User(action)) {
                    Ok(()) => self.run(key, version, session, flow, now).await,
                    Err(FlowError::InvalidValues(errors)) => {
                        let message = errors.first().map(|e| e.message()).unwrap_or_default();
                        session.last_screen = menu::render(
                            &flow.view(),
                            &session.cursor,
                            Some(&message),
                            &self.config.menu,
                        );
                        session.flow = flow.snapshot();
                        let out = session.last_screen.clone();
                        self.save(key, version, &session).await?;
                        Ok(out)
                    }
                    Err(_) => {
                        self.invalid(key, version, session, &flow, "Invalid choice.")
                            .await
                    }
                }
            }
        }
    }

    async fn invalid(
        &self,
        key: &str,
        version: Option<Version>,
        mut session: Session,
        flow: &ConnectFlow,
        message: &str,
    ) -> Result<Screen, HopError> {
        session.invalid = session.invalid.saturating_add(1);
        session.last_screen = if session.invalid >= self.config.menu.max_invalid {
            // The flow stays stored: a re-dial can resume it.
            self.fit(&["Too many invalid entries. Please dial again."], true)
        } else if session.resume_offer {
            let mut lines = vec![message];
            lines.extend(RESUME_OFFER);
            self.fit(&lines, false)
        } else {
            menu::render(
                &flow.view(),
                &session.cursor,
                Some(message),
                &self.config.menu,
            )
        };
        if session.invalid >= self.config.menu.max_invalid {
            session.invalid = 0;
        }
        let out = session.last_screen.clone();
        self.save(key, version, &session).await?;
        Ok(out)
    }

    /// Drives `flow` until it needs the person, renders, saves. Reads are
    /// answered from the catalogue cache or fetched inline; any other call
    /// is claimed first and made in a background task, so a slow bank gets
    /// the interim screen instead of a gateway timeout.
    async fn run(
        self: &Arc<Self>,
        key: &str,
        version: Option<Version>,
        mut session: Session,
        mut flow: ConnectFlow,
        now: Timestamp,
    ) -> Result<Screen, HopError> {
        self.collect_events(&mut flow, &mut session);
        if let Some((id, call)) = self.answer_reads(&mut flow, now).await? {
            self.collect_events(&mut flow, &mut session);
            // A call that changes something at the partner: claim first.
            session.claim = Some(now);
            session.interim_shown = false;
            session.flow = flow.snapshot();
            session.last_screen = screen(INTERIM, false);
            self.save(key, version, &session).await?;
            return self.in_background(key, session.claim, flow, id, call).await;
        }
        self.collect_events(&mut flow, &mut session);
        self.finish(&mut session, &flow);
        let out = session.last_screen.clone();
        self.save(key, version, &session).await?;
        self.deliver_if_done(&session, &flow);
        Ok(out)
    }

    async fn in_background(
        self: &Arc<Self>,
        key: &str,
        claim: Option<Timestamp>,
        mut flow: ConnectFlow,
        id: crate::flow::RequestId,
        call: Call,
    ) -> Result<Screen, HopError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let this = Arc::clone(self);
        let key_owned = key.to_owned();
        tokio::spawn(async move {
            let result = this.driver.call(&flow, &call).await;
            let mut events = Vec::new();
            let _ = flow.handle(now(), Input::Api { id, result });
            let driven = this
                .driver
                .run(&mut flow, &mut |e| events.push(e.clone()))
                .await;
            if let Err(e) = &driven {
                tracing::warn!(error = %e, "driving the flow failed");
            }
            let screen = this.settle(&key_owned, claim, flow, events).await;
            let _ = tx.send(screen);
        });
        match tokio::time::timeout(self.config.reply_budget, rx).await {
            Ok(Ok(Ok(screen))) => Ok(screen),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Ok(screen(SORRY, true)),
            Err(_) => Ok(self.interim(key, claim).await?),
        }
    }

    /// Saves the result of a background call onto the latest record, as long
    /// as the claim it made is still the session's claim.
    async fn settle(
        self: &Arc<Self>,
        key: &str,
        claim: Option<Timestamp>,
        flow: ConnectFlow,
        events: Vec<crate::flow::Event>,
    ) -> Result<Screen, HopError> {
        let updated = self
            .update_claimed(key, claim, |session| {
                for event in &events {
                    note_event(session, event);
                }
                session.claim = None;
                session.after_interim = session.interim_shown;
                session.interim_shown = false;
                session.cursor = Cursor::Start;
                self.finish(session, &flow);
            })
            .await?;
        Ok(match updated {
            Ok(session) => {
                self.deliver_if_done(&session, &flow);
                session.last_screen
            }
            Err(stale) => stale,
        })
    }

    /// The hop ran out of budget: record that the person was shown the
    /// interim screen (unless the background call just finished, in which
    /// case its screen is shown).
    async fn interim(&self, key: &str, claim: Option<Timestamp>) -> Result<Screen, HopError> {
        let updated = self
            .update_claimed(key, claim, |session| {
                session.last_screen = screen(INTERIM, false);
                session.interim_shown = true;
            })
            .await?;
        Ok(updated.map(|s| s.last_screen).unwrap_or_else(|last| last))
    }

    /// Read-modify-write of a claimed session: applies `change` to the latest
    /// record and saves it with compare-and-set, retrying when another hop
    /// wrote in between. `Err(screen)` (inside `Ok`) when `claim` is no
    /// longer the session's claim: the call was recovered elsewhere after its
    /// lease ran out (or already settled), and the screen is what stands.
    async fn update_claimed(
        &self,
        key: &str,
        claim: Option<Timestamp>,
        mut change: impl FnMut(&mut Session),
    ) -> Result<Result<Session, Screen>, HopError> {
        for _ in 0..8 {
            let Some(record) = self.store.get(key).await? else {
                return Ok(Err(screen(SORRY, true)));
            };
            let mut session: Session = serde_json::from_slice(&record.data)?;
            if session.claim != claim {
                return Ok(Err(session.last_screen));
            }
            change(&mut session);
            match self.save(key, Some(record.version), &session).await {
                Ok(_) => return Ok(Ok(session)),
                Err(HopError::Store(StoreError::Conflict)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(HopError::Store(StoreError::Conflict))
    }

    /// Renders the flow's view into the session.
    fn finish(&self, session: &mut Session, flow: &ConnectFlow) {
        session.last_screen = menu::render(&flow.view(), &session.cursor, None, &self.config.menu);
        if let (View::Done { .. }, Some(inst)) = (flow.view(), &session.institution) {
            session.last_screen = self.fit(
                &[
                    &format!("Your {} account is linked.", inst.name),
                    &format!("Ref {}", session.reference),
                ],
                true,
            );
        }
        session.flow = flow.snapshot();
    }

    fn deliver_if_done(&self, session: &Session, flow: &ConnectFlow) {
        let (
            View::Done {
                account_id: Some(account_id),
                ..
            },
            Some(sender),
        ) = (flow.view(), &self.webhook)
        else {
            return;
        };
        if session.delivered {
            return;
        }
        sender.deliver(webhook::Linked {
            phone_number: session.phone.clone(),
            institution: session.institution.clone(),
            account_id: account_id.to_owned(),
            reference: session.reference.clone(),
        });
    }

    fn collect_events(&self, flow: &mut ConnectFlow, session: &mut Session) {
        while let Some(event) = flow.poll_event() {
            tracing::debug!(event = event.kind.name(), reference = %session.reference, "flow event");
            note_event(session, &event);
        }
    }

    async fn save(
        &self,
        key: &str,
        version: Option<Version>,
        session: &Session,
    ) -> Result<Version, HopError> {
        let mut session = session.clone();
        // Mark as delivered in the very write that makes the flow Done, so
        // exactly one hop (the one whose write wins) sends the webhook.
        if matches!(session.flow.state(), crate::flow::State::Done(_)) {
            session.delivered = true;
        }
        let bytes = serde_json::to_vec(&session)?;
        Ok(self
            .store
            .compare_and_set(key, version, bytes, self.config.session_ttl)
            .await?)
    }

    /// A claim older than the lease belongs to a process that died mid-call.
    fn claim_expired(&self, session: &Session, now: Timestamp) -> bool {
        session.claim.is_some_and(|at| {
            now.until(at.plus_ms(self.config.claim_lease.as_millis() as u64)) == 0
        })
    }

    fn flow_config(&self, reference: &str) -> FlowConfig {
        self.config.flow.clone().with_reference(reference)
    }

    fn fit(&self, lines: &[&str], end: bool) -> Screen {
        let text = lines.join("\n");
        Screen {
            text: gsm::sanitize(&text).into_owned(),
            end,
        }
    }

    /// Restores a stored flow with the catalogue it was using, fetching the
    /// list first if this process has not got it (a hop may land on any
    /// instance), and answering the list read a restore without it asks for.
    async fn restore(&self, snapshot: &Snapshot, now: Timestamp) -> Result<ConnectFlow, HopError> {
        // The catalogue the flow was using: this process's (fetched first if
        // it has none yet: a hop may land on any instance).
        let catalogue = match snapshot.catalogue_fingerprint() {
            Some(_) => self.catalogue().await.ok(),
            None => None,
        };
        let mut flow = ConnectFlow::restore(snapshot.clone(), catalogue)?;
        // Only a list read can be pending after a restore (the catalogue
        // changed under the flow); answer it before the person's input.
        if let Some((id, _)) = self.answer_reads(&mut flow, now).await? {
            let result = Err(CallError::Malformed("unexpected call after restore".into()));
            flow.handle(now, Input::Api { id, result })
                .map_err(DriverError::from)?;
        }
        Ok(flow)
    }

    /// Answers the flow's institution-list reads (from the cache, else from
    /// the partner) until it asks for something else, which is returned.
    async fn answer_reads(
        &self,
        flow: &mut ConnectFlow,
        now: Timestamp,
    ) -> Result<Option<(crate::flow::RequestId, Call)>, HopError> {
        while let Some(Effect::Call { id, call }) = flow.poll_effect() {
            if !matches!(call, Call::ListInstitutions) {
                return Ok(Some((id, call)));
            }
            let result = self.catalogue().await.map(Reply::Institutions);
            flow.handle(now, Input::Api { id, result })
                .map_err(DriverError::from)?;
        }
        Ok(None)
    }

    /// The institution list: this process's cached copy while fresh, else
    /// fetched from the partner within the hop's reply budget (a gateway
    /// drops a hop after about 15 s, so a read must not take the driver's
    /// full call timeout). A refreshed list equal to the cached one keeps the
    /// cached `Arc`, so screens rendered from it and snapshots referring to
    /// it stay valid.
    async fn catalogue(&self) -> Result<Arc<Catalogue>, CallError> {
        if let Some(c) = self.cached_catalogue() {
            return Ok(c);
        }
        let budget = self
            .config
            .reply_budget
            .saturating_sub(Duration::from_secs(1))
            .max(Duration::from_millis(500));
        let timeout = budget.min(self.driver.call_timeout());
        match self
            .driver
            .call_within(&Call::ListInstitutions, timeout)
            .await?
        {
            Reply::Institutions(fresh) => Ok(self.store_catalogue(fresh)),
            _ => Err(CallError::Malformed("expected an institution list".into())),
        }
    }

    fn cached_catalogue(&self) -> Option<Arc<Catalogue>> {
        let guard = self.catalogue.lock().ok()?;
        let (at, c) = guard.as_ref()?;
        (at.elapsed() < self.config.catalogue_ttl).then(|| Arc::clone(c))
    }

    fn store_catalogue(&self, fresh: Arc<Catalogue>) -> Arc<Catalogue> {
        let Ok(mut guard) = self.catalogue.lock() else {
            return fresh;
        };
        let kept = match guard.as_ref() {
            Some((_, old)) if old.fingerprint() == fresh.fingerprint() => Arc::clone(old),
            _ => fresh,
        };
        *guard = Some((Instant::now(), Arc::clone(&kept)));
        kept
    }
}
