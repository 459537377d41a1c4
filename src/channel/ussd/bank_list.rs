//! The bank list a session starts on: rendered for the first screen (and
//! again after an answer that picked no bank), and read into a new flow,
//! from the list the screen was shown from when that one must be kept.
//!
//! Invariant: an answer is read against the list its screen was rendered
//! from whenever this process knows it (a list that stood in for the
//! partner's latest, or replaced another in the last minutes, is handed
//! back for `shown_first` to remember); where it does not, and the list
//! changed in those minutes, an answer that would pick another bank on the
//! list before is taken for nothing, its session stored on the new list
//! with why ([`list_changed`](UssdService::list_changed)).

use super::menu::{self, Cursor};
use super::screens::Which;
use super::session::{screen, UssdState};
use super::shown_first::Shown;
use super::{gateway::Screen, UssdService};
use crate::flow::{Catalogue, ConnectFlow, Input, Timestamp};
use crate::service::{ServiceError, Session, SessionService};
use std::sync::Arc;

impl UssdService {
    /// A new flow's opening list read, answered with `list` (the one an
    /// answer was read against) or else from the cache by `reply_by`; with
    /// whether the cache's list stood in for the partner's latest (a
    /// screen shown again from it must be remembered with it).
    pub(super) async fn read_list(
        &self,
        flow: &mut ConnectFlow,
        list: Option<Arc<Catalogue>>,
        reply_by: tokio::time::Instant,
    ) -> Result<bool, ServiceError> {
        if let Some(list) = list {
            read_against(flow, list, self.service.now())?;
            return Ok(false);
        }
        let Some(crate::flow::Effect::Call { id, .. }) = flow.poll_effect() else {
            return Ok(false);
        };
        let listed = self
            .service
            .catalogue_at(self.partner(), Some(reply_by))
            .await;
        let stood_in = matches!(listed, Ok((_, true)));
        let result = listed.map(|(list, _)| crate::flow::Reply::Institutions(list));
        flow.handle(self.service.now(), Input::Api { id, result })?;
        Ok(stood_in)
    }

    /// The bank list every session starts on, rendered once per catalogue
    /// (and for a returning customer, with their banks first, each time),
    /// from `list` (the one an answer was read against) or else the
    /// cache's. With the cache's list it was rendered from when the
    /// screen's answer must be read against it: it stands in for the
    /// partner's latest (the refresh may bring another first), or it
    /// replaced another in the last minutes (an answer with nothing
    /// remembered may be to a screen numbered from that one).
    ///
    /// A stale list is waited for until `reply_by` at most, then the last
    /// one stands in; with none at all the person is told to try again,
    /// and the fetch goes on, its list kept for their next dial (a partner
    /// slower than the gateway's patience would otherwise outlast every
    /// dial).
    pub(super) async fn first_screen(
        &self,
        error: Option<&str>,
        first: &[String],
        list: Option<Arc<Catalogue>>,
        reply_by: tokio::time::Instant,
    ) -> Result<(Screen, Option<Arc<Catalogue>>), ServiceError> {
        let (catalogue, keep) = match list {
            Some(list) => (list, false),
            None => match self
                .service
                .catalogue_at(self.partner(), Some(reply_by))
                .await
            {
                Ok((list, stale)) => {
                    let partner = self.partner();
                    let within = self.config.list_change_window;
                    let changed = || self.service.list_replaced_within(partner, within);
                    (list, stale || changed().is_some())
                }
                Err(e) => {
                    tracing::warn!(error = %e, "institution list unavailable");
                    let sorry = screen(
                        "The bank list is not available right now. Please try again later.",
                        true,
                    );
                    return Ok((sorry, None));
                }
            },
        };
        let stood_in = keep.then(|| Arc::clone(&catalogue));
        let render = || -> Result<Screen, ServiceError> {
            let flow = first_flow(&self.service, Arc::clone(&catalogue))?;
            Ok(menu::render(
                &flow.view(),
                &Cursor::Start,
                error,
                first,
                &self.config.menu,
            ))
        };
        if error.is_some() || !first.is_empty() {
            return Ok((render()?, stood_in));
        }
        let shown = self
            .presenter
            .screens
            .get_or_render(&catalogue, Which::Banks, render)?;
        Ok((shown, stood_in))
    }

    /// [`first_screen`](Self::first_screen) again after an answer that
    /// picked no bank, from the list the answer was read against; that
    /// list remembered for session `key`'s next answer when that answer
    /// might be read against another (`keep`: the list stood in for the
    /// partner's latest, or replaced another in the last minutes).
    pub(super) async fn first_screen_again(
        &self,
        error: &str,
        (key, keep): (&str, bool),
        session: &Session<UssdState>,
        flow: &ConnectFlow,
        reply_by: tokio::time::Instant,
    ) -> Result<Screen, ServiceError> {
        let list = flow.catalogue().cloned();
        let first = &session.channel.first;
        if let (true, Some(list)) = (keep, &list) {
            let shown = Shown {
                first: first.clone(),
                list: Some(Arc::clone(list)),
            };
            let (phone, now) = (&session.channel.phone, tokio::time::Instant::now());
            self.shown_first.remember(key, phone, shown, now);
        }
        let (shown, _) = self
            .first_screen(Some(error), first, list, reply_by)
            .await?;
        Ok(shown)
    }

    /// A first answer taken for nothing because the list changed under the
    /// screen it answered ([`picks_otherwise`](Self::picks_otherwise)): the
    /// session is stored on the new list (`flow`'s), shown from its start
    /// with why. Stored, not remembered here: the next answer, on any
    /// instance and any gateway, is then read against that list by the
    /// session's own record of what it has answered (`1*2` is `2`).
    ///
    /// Also a stored session's hop on a bank list the partner's changed
    /// under (advance.rs), at its record's `version` (`None`: a new one).
    pub(super) async fn list_changed(
        &self,
        key: &str,
        version: Option<crate::store::Version>,
        mut session: Box<Session<UssdState>>,
        flow: &ConnectFlow,
    ) -> Result<Screen, ServiceError> {
        session.channel.cursor = Cursor::Start;
        let shown = self.presenter.screen(flow, &session, Some(LIST_CHANGED));
        session.channel.last_screen = shown.clone();
        session.flow = flow.snapshot();
        self.service.save(key, version, &session).await?;
        Ok(shown)
    }

    /// Whether `answer` (with `first` at the head of the screen) picks
    /// another bank on a screen numbered from `before` than `outcome`, what
    /// it picks on the current list: the person may have seen either. An
    /// answer that picks nothing there can only be to the current list. A
    /// list that cannot be read into a flow picks otherwise.
    pub(super) fn picks_otherwise(
        &self,
        before: Arc<Catalogue>,
        answer: &str,
        first: &[String],
        outcome: &menu::Outcome,
    ) -> bool {
        let Ok(flow) = first_flow(&self.service, before) else {
            return true;
        };
        let view = flow.view();
        let there = menu::on_input(&view, &Cursor::Start, answer, first, &self.config.menu);
        !matches!(there, menu::Outcome::Invalid(_)) && there != *outcome
    }
}

/// A flow on the institution list of `catalogue` (for rendering it).
pub(super) fn first_flow(
    service: &SessionService,
    catalogue: Arc<crate::flow::Catalogue>,
) -> Result<ConnectFlow, ServiceError> {
    let mut flow = ConnectFlow::new(service.config().flow.clone(), Timestamp(0));
    read_against(&mut flow, catalogue, Timestamp(0))?;
    Ok(flow)
}

/// Answers `flow`'s opening list read with `list`: the one its answer was
/// read against, not a refresh (which may have moved or dropped the bank
/// the person picked by number).
pub(super) fn read_against(
    flow: &mut ConnectFlow,
    list: Arc<Catalogue>,
    now: Timestamp,
) -> Result<(), ServiceError> {
    if let Some(crate::flow::Effect::Call { id, .. }) = flow.poll_effect() {
        let result = Ok(crate::flow::Reply::Institutions(list));
        flow.handle(now, Input::Api { id, result })?;
    }
    Ok(())
}

/// The line above a bank list shown again because the partner's list
/// changed under the one the person was answering.
const LIST_CHANGED: &str = "The list changed.";
