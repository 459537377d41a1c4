//! The turn: restore, recover a dead claim, drive, claim, settle (the link
//! it makes is delivered by `linked.rs`).

use super::claim::Claim;
use super::delivery::Delivered;
use super::record::{ChannelState, Session};
use super::{Partner, ServiceError, SessionService};
use crate::flow::{
    Call, CallError, ConnectFlow, Effect, Event, EventKind, Input, Reply, RequestId, StateKind,
};
use crate::store::Version;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A session as loaded, with the version its save must match.
#[derive(Debug, Clone)]
pub struct Loaded<S> {
    /// The stored version (`None`: not stored yet).
    pub version: Option<Version>,
    /// The record.
    pub session: Session<S>,
}

/// How a turn ended. The record is boxed, as the turn held it: returned by
/// value, it was copied out of the box and again at each level of the
/// futures above that passed it on (a USSD hop keeps only its screen).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Turn<S> {
    /// The flow needs the person (or ended); the record is saved.
    Settled(Box<Session<S>>),
    /// A partner call outlasted the turn's budget; it goes on in the
    /// background and settles into the record by itself.
    Working(Box<Session<S>>),
}

impl<S> Turn<S> {
    /// The record, either way.
    pub fn session(&self) -> &Session<S> {
        match self {
            Turn::Settled(s) | Turn::Working(s) => s,
        }
    }

    /// The record, either way.
    pub fn into_session(self) -> Session<S> {
        *self.into_boxed_session()
    }

    /// The record, either way, still boxed: for a caller that keeps only
    /// part of it.
    pub fn into_boxed_session(self) -> Box<Session<S>> {
        match self {
            Turn::Settled(s) | Turn::Working(s) => s,
        }
    }
}

/// A call the flow asked for, to be claimed and made.
struct PendingCall {
    partner: Arc<Partner>,
    id: RequestId,
    call: Call,
}

/// What a claim found on a loaded session means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimStatus {
    /// No call in flight.
    Free,
    /// A call is in flight on a live instance: show "working", touch nothing.
    Live,
    /// The instance that made the call died (its lease ran out): the flow
    /// was told the call timed out and the claim is gone.
    Recovered,
}

/// What the service needs from a channel: how to keep the flow's outcome in
/// the channel's own state. Called inside the service's writes, so whatever
/// it changes is saved with the flow.
pub trait Channel<S>: Send + Sync + 'static {
    /// The channel's name (`ussd`, `link`), as delivered with a link.
    fn name(&self) -> &'static str;

    /// The flow's events of this turn, in order.
    fn events(&self, session: &mut Session<S>, events: &[Event]) {
        let _ = (session, events);
    }

    /// The flow needs the person or has ended: render its view into the
    /// channel's state (USSD: the screen). Also called when a call that
    /// outlasted its turn settles in the background.
    fn settled(&self, flow: &ConnectFlow, session: &mut Session<S>);

    /// A partner call outlasted the turn's budget: the channel answers
    /// "working" (USSD: `Processing... 1. Continue`).
    fn working(&self, session: &mut Session<S>);

    /// A session this channel started without reading first (`own`) found
    /// its index naming `other`: whether the new one gives way to it (USSD:
    /// a re-authorisation the host is waiting for, for the same phone), and
    /// the hop is served again with a read. By default, never.
    fn yields_to(&self, own: &Session<S>, other: &Session<S>) -> bool {
        let _ = (own, other);
        false
    }
}

impl SessionService {
    /// The stored flow, with the catalogue it was using (fetched first if
    /// this process has not got it: a turn may land on any instance), and
    /// any list read a restore asks for already answered.
    pub async fn restore<S>(&self, session: &Session<S>) -> Result<ConnectFlow, ServiceError> {
        self.restore_by(session, None).await
    }

    /// [`restore`](Self::restore) for a turn that must answer by `by`: a
    /// stale list is waited for until then at most
    /// ([`catalogue_expecting`](Self::catalogue_expecting)).
    pub(crate) async fn restore_by<S>(
        &self,
        session: &Session<S>,
        by: Option<tokio::time::Instant>,
    ) -> Result<ConnectFlow, ServiceError> {
        self.partner(&session.partner)?;
        // A flow past the bank list is served by the list it had (the last
        // one stands in for a refresh at once) and waits for none: a hop on
        // a login or OTP screen must not spend its budget on a list. Only
        // a flow choosing from it waits, within `by`.
        let choosing = matches!(
            session.flow.state(),
            StateKind::ChoosingInstitution | StateKind::LoadingInstitutions
        );
        let by = by.map(|by| {
            if choosing {
                by
            } else {
                tokio::time::Instant::now()
            }
        });
        // A flow choosing from the list by number (a turn with a deadline:
        // USSD) expects the one it was stored on: another instance may
        // have a newer one than this (catalogue.rs). The link page picks by
        // id, and its reads with no deadline are not made to wait for it.
        let catalogue = match session.flow.catalogue_fingerprint() {
            Some(fingerprint) => {
                let expected = (choosing && by.is_some()).then_some(fingerprint);
                let listed = self.catalogue_expecting(&session.partner, by, expected);
                listed.await.ok().map(|(list, _)| list)
            }
            None => None,
        };
        let mut flow = ConnectFlow::restore(session.flow.clone(), catalogue)?;
        // Snapshots are taken with effects drained, so only the list read a
        // restore itself adds can be pending here.
        if let Some((id, _)) = self
            .answer_reads_by(&session.partner, &mut flow, by)
            .await?
        {
            let result = Err(CallError::Malformed("unexpected call after restore".into()));
            flow.handle(self.clock.now(), Input::Api { id, result })?;
        }
        Ok(flow)
    }

    /// Looks at the session's claim: a live one is left alone; one past its
    /// lease is recovered by telling the flow its call timed out (never by
    /// sending it again).
    pub fn recover<S>(&self, session: &mut Session<S>, flow: &mut ConnectFlow) -> ClaimStatus {
        let Some(claim) = &session.claim else {
            return ClaimStatus::Free;
        };
        if self.claim_is_live(session) {
            return ClaimStatus::Live;
        }
        let now = self.claim_clock(session);
        tracing::warn!(reference = %session.reference, call = claim.call.name(),
            "a claimed call outlived its lease; recovering it as timed out");
        if let Some(id) = flow.waiting_for() {
            let _ = flow.handle(
                now,
                Input::Api {
                    id,
                    result: Err(CallError::Timeout),
                },
            );
        }
        session.claim = None;
        ClaimStatus::Recovered
    }

    /// Whether the session's claim (if any) is still within its lease: its
    /// call may yet answer, so nothing may move or replace the session.
    /// Judged on the store's clock, like every lease: an instance whose
    /// own clock runs ahead must not take a live call for a dead one.
    pub fn claim_is_live<S>(&self, session: &Session<S>) -> bool {
        session.claim.as_ref().is_some_and(|claim| {
            !claim.is_expired(self.claim_clock(session), self.config.claim_lease)
        })
    }

    /// Now on the store's clock, as far as `session` (read from the store)
    /// knows it; this instance's clock for a record not read from it.
    fn claim_clock<S>(&self, session: &Session<S>) -> crate::flow::Timestamp {
        session.store_now().unwrap_or_else(|| self.clock.now())
    }

    /// Drives `flow` (the person's input already applied) until it needs the
    /// person, renders through `channel`, and saves at `version`. Reads are
    /// answered inline from the catalogue cache; any other call is claimed
    /// first and made in a background task, and the turn waits for it until
    /// `budget` has passed since the turn started (a list read inside the
    /// turn counts against it). A channel whose reply budget runs from the
    /// request's arrival passes what is left of it: the USSD channel does,
    /// so that a bank-list refresh in the restore before the turn counts
    /// too (a gateway ends the session at 15 s).
    pub fn drive<'a, S: ChannelState, C: Channel<S>>(
        self: &'a Arc<Self>,
        key: &'a str,
        version: Option<Version>,
        session: impl Into<Box<Session<S>>>,
        flow: impl Into<Box<ConnectFlow>>,
        channel: Arc<C>,
        budget: Duration,
    ) -> impl Future<Output = Result<Turn<S>, ServiceError>> + 'a {
        // Not an `async fn`: the record and the flow (1.8 KB) are boxed
        // before the turn's future exists. An async fn keeps its arguments
        // in its future for its whole life, and every caller's future holds
        // this one: by value, they made a bank choice's chain of futures
        // 36 KB, copied at each level (issue 13's profile).
        // Either by value or already boxed (`Box<T>` is `Into` itself): a
        // caller that held them boxed is not made to copy them out again.
        self.turn(key, version, session.into(), flow.into(), channel, budget)
    }

    /// [`drive`](Self::drive)'s turn, on the boxed record and flow.
    async fn turn<S: ChannelState, C: Channel<S>>(
        self: &Arc<Self>,
        key: &str,
        version: Option<Version>,
        mut session: Box<Session<S>>,
        mut flow: Box<ConnectFlow>,
        channel: Arc<C>,
        budget: Duration,
    ) -> Result<Turn<S>, ServiceError> {
        let deadline = super::deadline_in(budget);
        let partner = Arc::clone(self.partner(&session.partner)?);
        let pending = self
            .answer_reads_by(&session.partner, &mut flow, Some(deadline))
            .await?;
        self.take_events(&mut flow, &mut session, channel.as_ref());
        let Some((id, call)) = pending else {
            if let Some(linked) = self.linked(&flow, &session, channel.name()) {
                // Boxed, like the call below: most turns deliver nothing.
                session.delivered = Box::pin(self.deliver(&linked)).await;
                if session.delivered.is_none() {
                    // Parked in the background: the list may be contended
                    // just when deliveries fail, and the person waits.
                    let this = Arc::clone(self);
                    self.tasks.spawn(async move { this.park(&linked).await });
                }
            }
            channel.settled(&flow, &mut session);
            session.flow = flow.snapshot();
            self.save_turn(key, version, &session, channel.as_ref())
                .await?;
            return Ok(Turn::Settled(session));
        };
        let call = PendingCall { partner, id, call };
        Box::pin(self.claimed(key, version, session, flow, call, channel, deadline)).await
    }

    /// The rest of a turn whose flow asked for a call that changes
    /// something at the partner.
    #[allow(clippy::too_many_arguments)] // the turn's own state, passed on
    async fn claimed<S: ChannelState, C: Channel<S>>(
        self: &Arc<Self>,
        key: &str,
        version: Option<Version>,
        mut session: Box<Session<S>>,
        mut flow: Box<ConnectFlow>,
        pending: PendingCall,
        channel: Arc<C>,
        deadline: tokio::time::Instant,
    ) -> Result<Turn<S>, ServiceError> {
        let PendingCall { partner, id, call } = pending;
        // Claim it first, with the flow as it is now (the typed values
        // already gone with the call).
        let stamp = self.claim_clock(&session);
        let claim = Claim::new(stamp, call.kind());
        session.claim = Some(claim.clone());
        session.flow = flow.snapshot();
        self.save_turn(key, version, &session, channel.as_ref())
            .await?;

        let (tx, rx) = tokio::sync::oneshot::channel();
        let this = Arc::clone(self);
        let key_owned = key.to_owned();
        let settle_channel = Arc::clone(&channel);
        // The session as claimed: whom a link the call makes is delivered
        // for when the record cannot be read back (a store error, or gone).
        let claimed = session.as_ref().clone();
        self.tasks.spawn(async move {
            let result = partner.driver.call(&flow, &call).await;
            this.health
                .record(partner.driver.partner(), &call, &result, this.clock.now());
            let mut events = Vec::new();
            if let Err(e) = flow.handle(this.clock.now(), Input::Api { id, result }) {
                tracing::warn!(error = %e, "a claimed call's reply was refused");
            }
            this.finish_calls(&partner, &mut flow, &mut events).await;
            let (settled, delivered) = this
                .settle(
                    &key_owned,
                    &claim,
                    &flow,
                    events,
                    &claimed,
                    settle_channel.as_ref(),
                )
                .await;
            // Linked, and delivery failed (whatever the outcome's write
            // did): the link as the record, or the session as claimed,
            // knows it.
            let undelivered = match delivered {
                Some(_) => None,
                None => {
                    let known = settled.as_ref().unwrap_or(&claimed);
                    this.linked(&flow, known, settle_channel.name())
                }
            };
            let _ = tx.send(settled);
            // After the answer, so neither delays the person's screen: parked
            // for any instance, and retried here in the background.
            if let Some(linked) = undelivered {
                this.park(&linked).await;
                let redelivery = Arc::clone(&this).redeliver::<S>(key_owned.clone(), linked);
                this.tasks.spawn(redelivery);
            }
        });
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(settled)) => settled.map(|s| Turn::Settled(Box::new(s))),
            Ok(Err(_)) => Err(ServiceError::Lost),
            Err(_) => {
                let id = session.claim.as_ref().map(|c| c.id);
                let working = self.update_claimed(key, id, |s| channel.working(s));
                match Box::pin(working).await? {
                    Ok(session) => Ok(Turn::Working(Box::new(session))),
                    // Settled in the meantime: show the outcome.
                    Err(latest) => Ok(Turn::Settled(Box::new(latest))),
                }
            }
        }
    }

    /// After a claimed call: makes the flow's further calls (an exchange
    /// after a code) within the same claim, until it needs the person.
    async fn finish_calls(
        &self,
        partner: &Partner,
        flow: &mut ConnectFlow,
        events: &mut Vec<Event>,
    ) {
        while let Some(Effect::Call { id, call }) = flow.poll_effect() {
            while let Some(e) = flow.poll_event() {
                events.push(e);
            }
            let result = match call {
                Call::ListInstitutions => self
                    .catalogue(partner.driver.partner())
                    .await
                    .map(Reply::Institutions),
                call => {
                    let result = partner.driver.call(flow, &call).await;
                    self.health
                        .record(partner.driver.partner(), &call, &result, self.clock.now());
                    result
                }
            };
            if let Err(e) = flow.handle(self.clock.now(), Input::Api { id, result }) {
                tracing::warn!(error = %e, "a reply was refused");
                break;
            }
        }
        while let Some(e) = flow.poll_event() {
            events.push(e);
        }
    }

    /// Writes the outcome of a claimed call onto the latest record, as long
    /// as the claim is still the session's. Retried on conflicts and store
    /// errors for the whole lease: the partner already acted, so its outcome
    /// must not be dropped while it can still be saved. Also says whether a
    /// link the call made was delivered (whatever the write did).
    #[allow(clippy::type_complexity)] // the outcome, and the delivery beside it
    async fn settle<S: ChannelState, C: Channel<S>>(
        &self,
        key: &str,
        claim: &Claim,
        flow: &ConnectFlow,
        events: Vec<Event>,
        claimed: &Session<S>,
        channel: &C,
    ) -> (Result<Session<S>, ServiceError>, Option<Delivered>) {
        // A link the partner made is delivered before the write that says
        // so, from what the claim's own session knew: even if that write
        // finds the claim recovered elsewhere, the host learns of the link.
        // Tried once: the outcome must be written within the claim's lease
        // (retrying here let a delivery outage outlast it, and the link was
        // then recovered as a timeout). A failure is retried by `redeliver`.
        // The record as stored, or (unreadable now) the session as claimed.
        let mut delivered = None;
        let mut known = match self.load::<S>(key).await {
            Ok(Some(loaded)) => loaded.session,
            _ => claimed.clone(),
        };
        note_events(&mut known, &events);
        if let Some(linked) = self.linked(flow, &known, channel.name()) {
            delivered = self.deliver(&linked).await;
        }
        let outcome = self
            .update_claimed(key, Some(claim.id), |session| {
                note_events(session, &events);
                channel.events(session, &events);
                session.claim = None;
                if session.delivered.is_none() {
                    session.delivered = delivered.clone();
                }
                channel.settled(flow, session);
                session.flow = flow.snapshot();
            })
            .await;
        let settled = match outcome {
            Err(e) => Err(e),
            Ok(Ok(session)) => Ok(session),
            Ok(Err(latest)) => {
                // The claim was recovered elsewhere (its lease ran out) and the
                // session moved on; the person's screen stays as it is.
                tracing::error!(reference = %latest.reference,
                    "a call settled after its claim was recovered elsewhere");
                Ok(latest)
            }
        };
        (settled, delivered)
    }

    /// Read-modify-write of a claimed session: applies `change` to the
    /// latest record and saves it with compare-and-set, retrying conflicts
    /// and store errors until the claim's lease ends. `Ok(Err(latest))` when
    /// the record no longer carries claim `id` (settled, or recovered
    /// elsewhere).
    pub(super) async fn update_claimed<S: ChannelState>(
        &self,
        key: &str,
        id: Option<u64>,
        mut change: impl FnMut(&mut Session<S>),
    ) -> Result<Result<Session<S>, Session<S>>, ServiceError> {
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(5);
        loop {
            let attempt = async {
                let Some(loaded) = self.load::<S>(key).await? else {
                    return Err(ServiceError::Lost);
                };
                let mut session = loaded.session;
                if session.claim.as_ref().map(|c| c.id) != id {
                    return Ok(Err(session));
                }
                change(&mut session);
                self.save(key, loaded.version, &session).await?;
                Ok(Ok(session))
            };
            match attempt.await {
                Ok(done) => return Ok(done),
                Err(ServiceError::Lost) => return Err(ServiceError::Lost),
                Err(e) if started.elapsed() < self.config.claim_lease => {
                    if !e.is_conflict() {
                        tracing::warn!(error = %e, "saving a call's outcome failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(1));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Answers the flow's institution-list reads from `partner`'s cached
    /// list until it asks for something else, which is returned (not made).
    pub async fn answer_reads(
        &self,
        partner: &str,
        flow: &mut ConnectFlow,
    ) -> Result<Option<(RequestId, Call)>, ServiceError> {
        self.answer_reads_by(partner, flow, None).await
    }

    /// [`answer_reads`](Self::answer_reads) for a turn that must answer by
    /// `by`: a stale list is waited for until then at most
    /// ([`catalogue_within`](Self::catalogue_within)).
    pub(crate) async fn answer_reads_by(
        &self,
        partner: &str,
        flow: &mut ConnectFlow,
        by: Option<tokio::time::Instant>,
    ) -> Result<Option<(RequestId, Call)>, ServiceError> {
        while let Some(Effect::Call { id, call }) = flow.poll_effect() {
            if !matches!(call, Call::ListInstitutions) {
                return Ok(Some((id, call)));
            }
            let result = self
                .catalogue_within(partner, by)
                .await
                .map(Reply::Institutions);
            flow.handle(self.clock.now(), Input::Api { id, result })?;
        }
        Ok(None)
    }

    fn take_events<S, C: Channel<S>>(
        &self,
        flow: &mut ConnectFlow,
        session: &mut Session<S>,
        channel: &C,
    ) {
        let mut events = Vec::new();
        while let Some(e) = flow.poll_event() {
            events.push(e);
        }
        if !events.is_empty() {
            note_events(session, &events);
            channel.events(session, &events);
        }
    }
}

/// What the service keeps from events: the institution being linked and
/// how the person logs in there.
fn note_events<S>(session: &mut Session<S>, events: &[Event]) {
    for event in events {
        match &event.kind {
            EventKind::InstitutionSelected {
                institution,
                auth_method,
            } => {
                session.institution = Some(institution.clone());
                session.auth_method = Some(auth_method.clone());
            }
            EventKind::AuthMethodSwitched { auth_method, .. } => {
                session.auth_method = Some(auth_method.clone());
            }
            EventKind::AccountLinked { institution } => {
                session.institution = Some(institution.clone());
            }
            _ => {}
        }
    }
}
