//! A hop of a session with stored state: the [hop state machine](super::hop)'s
//! decision carried out — a menu answer, the resume offer's choice, an
//! invalid answer shown again, the flow driven to its next screen — and
//! the session saved. The first hop of a telecom session, with nothing
//! stored, is [`begin`](super::begin)'s.

use super::hop::{self, Decision};
use super::menu::{self, Cursor, Outcome};
use super::resume;
use super::session::{screen, UssdState};
use super::{gateway::Screen, UssdService};
use crate::flow::{ConnectFlow, FlowError, Input, Timestamp};
use crate::service::{ClaimStatus, ServiceError, Session, Turn};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

impl UssdService {
    /// Applies one input to a stored session (`version` of the record
    /// `session`). The record and the flow are on the heap, as in
    /// [`start`](Self::start): held by value across this future's awaits,
    /// and those of `menu_input` under it, they made a login hop's future
    /// 12.6 KB, copied as the server boxes it.
    pub(super) async fn advance(
        self: &Arc<Self>,
        key: &str,
        version: Option<crate::store::Version>,
        mut session: Box<Session<UssdState>>,
        input: &str,
        reply_by: tokio::time::Instant,
    ) -> Result<Screen, ServiceError> {
        let mut flow = Box::new(if session.channel.unstarted {
            // A re-authorisation waiting for the person: nothing to restore
            // yet, its configuration is all there is (reauth.rs).
            ConnectFlow::new(session.flow.config().clone(), self.service.now())
        } else {
            self.service.restore_by(&session, Some(reply_by)).await?
        });
        let claim = self.service.recover(&mut session, &mut flow);
        if claim == ClaimStatus::Recovered {
            // The claim is gone from the record, so the flow told of the
            // timeout must go with it, whatever this hop decides: an
            // invalid answer saves the record without driving, and would
            // otherwise leave a flow waiting for a reply nobody will send.
            session.flow = flow.snapshot();
        }
        let (decision, next_hop) = hop::decide(session.channel.hop, claim, input);
        session.channel.hop = next_hop;
        let now = self.service.now();
        match decision {
            Decision::StillWorking => {
                session.channel.last_screen = screen(menu::PROCESSING, false);
                let out = session.channel.last_screen.clone();
                self.service.save(key, version, &session).await?;
                Ok(out)
            }
            Decision::ShowFlow => {
                session.channel.cursor = Cursor::Start;
                session.channel.unstarted = false;
                flow.handle_timeout(now);
                self.drive(key, version, session, flow, reply_by).await
            }
            Decision::StartAgain => {
                session.channel.cursor = Cursor::Start;
                session.channel.unstarted = false;
                session.institution = None;
                let mut config = self
                    .service
                    .config()
                    .flow
                    .clone()
                    .with_reference(session.reference.clone());
                // Still the same person: the customer the host's directory
                // named for this session stays its partner customer. A
                // re-authorisation offered to them was opened without one
                // (Mono's names the account): the directory is asked now.
                if self.config.customers.is_some() {
                    config.customer = flow.config().customer.clone();
                }
                if let (None, Some(directory)) = (&config.customer, &self.config.customers) {
                    let phone = session.channel.phone.clone();
                    // A new link, and a lookup the host pays for: within
                    // the phone's limit, as any session start.
                    if !self.limiter.allow(&phone, None) {
                        return Ok(screen(super::begin::TOO_MANY, true));
                    }
                    let records = session.customer.as_mut();
                    match self
                        .customer_of(directory.as_ref(), &phone, records, reply_by)
                        .await
                    {
                        Ok(found) => config.customer = Some(found),
                        Err(refusal) => return Ok(refusal),
                    }
                }
                let fresh = ConnectFlow::new(config, now);
                self.drive(key, version, session, fresh, reply_by).await
            }
            Decision::InvalidResume => {
                self.invalid(key, version, session, &flow, "Invalid choice.")
                    .await
            }
            Decision::Menu(text) => {
                self.menu_input(key, version, session, flow, text, now, reply_by)
                    .await
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // the hop's own state, passed on
    async fn menu_input(
        self: &Arc<Self>,
        key: &str,
        version: Option<crate::store::Version>,
        mut session: Box<Session<UssdState>>,
        mut flow: Box<ConnectFlow>,
        text: &str,
        now: Timestamp,
        reply_by: tokio::time::Instant,
    ) -> Result<Screen, ServiceError> {
        // A deadline may have passed while the person was typing: apply it
        // first, and if it changed the screen, show the new one.
        let before = flow.state();
        flow.handle_timeout(now);
        if flow.state() != before {
            session.channel.cursor = Cursor::Start;
            return self.drive(key, version, session, flow, reply_by).await;
        }
        // The partner's list changed since the bank list this answers (a
        // refresh between two hops, which the flow, still choosing, took on
        // restore): its number meant a bank of the list before. The new
        // list is shown from its start instead, nothing picked.
        let lists = (
            session.flow.catalogue_fingerprint(),
            flow.catalogue().map(|list| list.fingerprint()),
        );
        if let (crate::flow::View::ChooseInstitution { .. }, (Some(was), Some(is))) =
            (flow.view(), lists)
        {
            if was != is {
                // Boxed: rare, and its future would otherwise be carried
                // by every hop's.
                return Box::pin(self.list_changed(key, version, session, &flow)).await;
            }
        }
        #[cfg(feature = "link")]
        if self.wants_handoff(&flow, text) {
            // Boxed: a hand-off to the web is rare, and its future (its
            // own store and partner calls) the largest of this channel's.
            return Box::pin(self.hand_off(key, version, session, &flow)).await;
        }
        let outcome = menu::on_input(
            &flow.view(),
            &session.channel.cursor,
            text,
            &session.channel.first,
            &self.config.menu,
        );
        match outcome {
            Outcome::Invalid(message) => self.invalid(key, version, session, &flow, message).await,
            Outcome::Move(cursor) => {
                session.channel.cursor = cursor;
                session.channel.invalid = 0;
                self.drive(key, version, session, flow, reply_by).await
            }
            Outcome::Act(action) => {
                session.channel.invalid = 0;
                session.channel.cursor = Cursor::Start;
                match flow.handle(now, Input::User(action)) {
                    Ok(()) => self.drive(key, version, session, flow, reply_by).await,
                    Err(FlowError::InvalidValues(errors)) => {
                        let message = errors.first().map(|e| e.message()).unwrap_or_default();
                        let shown = self.presenter.screen(&flow, &session, Some(&message));
                        session.channel.last_screen = shown.clone();
                        session.flow = flow.snapshot();
                        self.service.save(key, version, &session).await?;
                        Ok(shown)
                    }
                    Err(_) => {
                        self.invalid(key, version, session, &flow, "Invalid choice.")
                            .await
                    }
                }
            }
        }
    }

    /// The same screen with an error line; the third invalid answer in a row
    /// ends the telecom session politely (the flow stays for a re-dial).
    async fn invalid(
        &self,
        key: &str,
        version: Option<crate::store::Version>,
        mut session: Box<Session<UssdState>>,
        flow: &ConnectFlow,
        message: &str,
    ) -> Result<Screen, ServiceError> {
        let state = &mut session.channel;
        state.invalid = state.invalid.saturating_add(1);
        let shown = if state.invalid >= self.config.menu.max_invalid {
            state.invalid = 0;
            self.presenter
                .fit(&["Too many invalid entries. Please dial again."], &[], true)
        } else if state.hop == hop::Hop::ResumeOffer {
            // The offer it was, in its own words: a re-authorisation's says
            // the bank wants them to log in again.
            let offer = if session.flow.reauthorises().is_some() {
                &super::reauth::REAUTH_OFFER
            } else {
                &resume::OFFER
            };
            self.presenter.offer(Some(message), offer)
        } else {
            self.presenter.screen(flow, &session, Some(message))
        };
        session.channel.last_screen = shown.clone();
        self.service.save(key, version, &session).await?;
        Ok(shown)
    }

    pub(super) fn drive<'a>(
        self: &'a Arc<Self>,
        key: &'a str,
        version: Option<crate::store::Version>,
        session: impl Into<Box<Session<UssdState>>>,
        flow: impl Into<Box<ConnectFlow>>,
        reply_by: tokio::time::Instant,
    ) -> LastScreen<impl Future<Output = Result<Turn<UssdState>, ServiceError>> + 'a> {
        // Not an `async fn`, so that the record and the flow are not kept
        // in this future too: they are moved into the turn's (boxed, or
        // boxed there: service/turn.rs), and this only names its screen.
        let turn = self.service.drive(
            key,
            version,
            session,
            flow,
            Arc::clone(&self.presenter),
            // What is left of the hop's budget (the turn then counts it
            // from its own start).
            reply_by.saturating_duration_since(tokio::time::Instant::now()),
        );
        LastScreen { turn }
    }
}

pin_project_lite::pin_project! {
    /// A turn's future, giving the screen it left: [`drive`](UssdService::drive)'s.
    /// Not an `async` block: one keeps what it captures beside what it
    /// awaits, so the turn's future was in it twice (2.5 KB, carried by
    /// every caller's future and copied at each level).
    pub(super) struct LastScreen<F> {
        #[pin]
        turn: F,
    }
}

impl<F: Future<Output = Result<Turn<UssdState>, ServiceError>>> Future for LastScreen<F> {
    type Output = Result<Screen, ServiceError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let turn = std::task::ready!(self.project().turn.poll(cx));
        // Only the screen is moved out of the boxed record.
        Poll::Ready(turn.map(|turn| turn.into_boxed_session().channel.last_screen))
    }
}
