//! One front-end request: find the session its link token names, apply the
//! seq rule, hand the action to the flow, and let the session service drive
//! and save it.
//!
//! ```text
//!  seq == current ──► apply: seq+1 and the action's digest are saved in the
//!                     same compare-and-set write that claims any bank call
//!  seq == last and same digest ──► a repeat: the current view, nothing applied
//!  anything else ──► 409 stale_seq with the current view
//!  field errors ──► 422 with per-field messages; nothing saved, nothing sent
//! ```

use super::cache::Cached;
use super::error::ApiError;
use super::state::{LinkChannel, LinkState};
use super::token::LinkToken;
use super::view::{self, DoneContext, InstitutionList, SessionResponse};
use super::{ActionRequest, LinkService};
use crate::flow::{ConnectFlow, FlowError, Input, Timestamp};
use crate::service::{ClaimStatus, Loaded, ServiceError, Session};
use crate::store::StoreError;
use axum::body::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a request that succeeded ended, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    /// Answered from the record (a view, or a repeated action).
    Shown,
    /// An action was applied.
    Applied,
    /// A repeated action was answered without applying it again.
    Repeat,
}

impl Served {
    pub(crate) fn outcome(self) -> &'static str {
        match self {
            Served::Shown => "ok",
            Served::Applied => "applied",
            Served::Repeat => "repeat",
        }
    }
}

/// A service failure as the front-end sees it: a record that will not open
/// is as good as absent; anything else is worth a retry.
pub(crate) fn failed(e: ServiceError) -> ApiError {
    match e {
        ServiceError::Store(StoreError::Tampered { .. } | StoreError::UnknownKey { .. })
        | ServiceError::Record(_) => ApiError::Unauthorized,
        e => {
            tracing::warn!(error = %e, "link request failed");
            ApiError::Unavailable
        }
    }
}

impl LinkService {
    /// The record `token` names, as stored.
    async fn entry(&self, token: &LinkToken) -> Result<crate::store::Entry, ApiError> {
        let key = super::token::session_key(&token.id);
        match self.service.store().get(&key).await {
            Ok(Some(entry)) => Ok(entry),
            Ok(None) => Err(ApiError::Unauthorized),
            Err(e) => Err(failed(e.into())),
        }
    }

    /// The session in `entry`, if `token` is its own and not expired.
    fn open_entry(
        &self,
        token: &LinkToken,
        entry: crate::store::Entry,
    ) -> Result<Session<LinkState>, ApiError> {
        let mut session =
            Session::<LinkState>::from_bytes(&entry.data).map_err(|e| failed(e.into()))?;
        // The store's time at the read, projected forward by this clock:
        // still right when the record is used again from the cache.
        session.read_at = Some((entry.read_at, std::time::Instant::now()));
        self.check(token, &session.channel)?;
        Ok(session)
    }

    /// Whether `token` is the record's own and not expired.
    fn check(&self, token: &LinkToken, state: &LinkState) -> Result<(), ApiError> {
        if !token.matches(&state.token_hash) || self.service.now() >= state.expires_at {
            return Err(ApiError::Unauthorized);
        }
        Ok(())
    }

    /// The version of the record at `key` (no record: the token names no
    /// session).
    async fn current_version(&self, key: &str) -> Result<crate::store::Version, ApiError> {
        self.service
            .store()
            .version(key)
            .await
            .map_err(|e| failed(e.into()))?
            .ok_or(ApiError::Unauthorized)
    }

    /// The session `token` names, if the token is its own and not expired.
    pub(crate) async fn authorize(&self, token: &LinkToken) -> Result<Loaded<LinkState>, ApiError> {
        let (version, session) = self.authorize_shared(token).await?;
        Ok(Loaded {
            version: Some(version),
            session: Arc::unwrap_or_clone(session),
        })
    }

    /// [`authorize`](Self::authorize), the session shared with the cache:
    /// an action the form refuses (a 422) only reads it, and is spared a
    /// copy.
    ///
    /// A record opened before is taken from [`SessionCache`] when the store
    /// still holds that version (a version read is the record's first 8
    /// bytes on Redis, not the record, its opening and its parse); the token
    /// and its expiry are checked either way.
    ///
    /// [`SessionCache`]: super::cache::SessionCache
    pub(crate) async fn authorize_shared(
        &self,
        token: &LinkToken,
    ) -> Result<(crate::store::Version, Arc<Session<LinkState>>), ApiError> {
        let key = super::token::session_key(&token.id);
        if let Some((version, cached)) = self.sessions.latest(&key) {
            if self.current_version(&key).await? == version {
                self.check(token, &cached.channel)?;
                return Ok((version, cached));
            }
        }
        let entry = self.entry(token).await?;
        let version = entry.version;
        let session = Arc::new(self.open_entry(token, entry)?);
        self.sessions
            .put_shared(&key, version, Arc::clone(&session));
        Ok((version, session))
    }

    /// `GET /link/v1/session`, as JSON.
    pub(crate) async fn show(
        self: &Arc<Self>,
        token: &LinkToken,
    ) -> Result<(Bytes, Served), ApiError> {
        let key = super::token::session_key(&token.id);
        let current = self.current_version(&key).await?;
        if let Some(hit) = self.views.get(&key, current) {
            let now = self.service.now();
            if !token.matches(&hit.token_hash) || now >= hit.expires_at {
                return Err(ApiError::Unauthorized);
            }
            if hit.stale_at.is_none_or(|at| now < at) {
                return Ok((hit.body.clone(), Served::Shown));
            }
        }
        let entry = self.entry(token).await?;
        let version = entry.version;
        let loaded = Loaded {
            version: Some(version),
            session: self.open_entry(token, entry)?,
        };
        // Boxed: the uncached view (which may run a turn) is the larger
        // future, and the cached one the commonest request.
        let (response, served, cacheable) = Box::pin(self.show_loaded(token, loaded)).await?;
        let body = Bytes::from(serde_json::to_vec(&response).map_err(|e| failed(e.into()))?);
        if let Some((state, stale_at)) = cacheable {
            self.views.put(
                &key,
                version,
                Cached {
                    token_hash: state.token_hash,
                    expires_at: state.expires_at,
                    stale_at,
                    body: body.clone(),
                },
            );
        }
        Ok((body, served))
    }

    /// The view of a loaded session, and whether the answer may be cached
    /// (the record's link state and the flow's next deadline) — only when
    /// nothing was written and no call is in flight.
    async fn show_loaded(
        self: &Arc<Self>,
        token: &LinkToken,
        loaded: Loaded<LinkState>,
    ) -> Result<
        (
            SessionResponse,
            Served,
            Option<(LinkState, Option<Timestamp>)>,
        ),
        ApiError,
    > {
        let Loaded {
            version,
            mut session,
        } = loaded;
        if !session.channel.opened {
            let (r, s) = self.open(token, version, session).await?;
            return Ok((r, s, None));
        }
        let mut flow = self.service.restore(&session).await.map_err(failed)?;
        let claim = self.service.recover(&mut session, &mut flow);
        let now = self.service.now();
        let due = flow.poll_timeout().is_some_and(|at| at <= now);
        let free = claim == ClaimStatus::Free;
        let undelivered = free && self.service.undelivered(&flow, &session);
        if claim == ClaimStatus::Recovered || (due && free) || undelivered {
            // A dead instance's call, a deadline passed while nobody asked,
            // or a link whose delivery failed (each poll tries it again):
            // the record changes, so it goes through a turn.
            flow.handle_timeout(now);
            let (r, s) = self
                .drive(token, version, session, flow, Served::Shown)
                .await?;
            return Ok((r, s, None));
        }
        let response = self.respond(token, &flow, &session);
        let cacheable =
            (claim == ClaimStatus::Free).then(|| (session.channel.clone(), flow.poll_timeout()));
        Ok((response, Served::Shown, cacheable))
    }

    /// `POST /link/v1/session/actions`.
    pub(crate) async fn act(
        self: &Arc<Self>,
        token: &LinkToken,
        request: ActionRequest,
    ) -> Result<(SessionResponse, Served), ApiError> {
        // Shared with the cache until something must change it (the
        // commonest refusal, a 422, changes nothing). Every path that runs
        // a turn (open, drive, repeat) is boxed where it starts: inline they
        // made this future 14 KB, allocated and copied by every request,
        // the 422s and stale actions that never run one included.
        let (version, mut session) = self.authorize_shared(token).await?;
        let version = Some(version);
        if !session.channel.opened {
            // Nobody has seen a view of this flow yet: there is no step to act on.
            let session = Arc::unwrap_or_clone(session);
            let (current, _) = Box::pin(self.open(token, version, session)).await?;
            return Err(ApiError::stale(current));
        }
        let mut flow = self.service.restore(&session).await.map_err(failed)?;
        if request.seq != session.channel.seq {
            let digest = request.action.digest(token, &session.channel.salt);
            return if session.channel.is_repeat(request.seq, &digest) {
                let session = Arc::unwrap_or_clone(session);
                Ok((
                    Box::pin(self.repeat(token, session, flow)).await?,
                    Served::Repeat,
                ))
            } else {
                Err(ApiError::stale(self.respond(token, &flow, &session)))
            };
        }
        let claim = match session.claim() {
            None => ClaimStatus::Free,
            Some(_) => self.service.recover(Arc::make_mut(&mut session), &mut flow),
        };
        match claim {
            ClaimStatus::Live => return Err(ApiError::busy(self.respond(token, &flow, &session))),
            ClaimStatus::Recovered => {
                // The step the person acted on ended without them (its call
                // was lost with its instance): show where the flow is now.
                let session = Arc::unwrap_or_clone(session);
                let (current, _) =
                    Box::pin(self.drive(token, version, session, flow, Served::Shown)).await?;
                return Err(ApiError::stale(current));
            }
            ClaimStatus::Free => {}
        }
        let now = self.service.now();
        let before = flow.state();
        flow.handle_timeout(now);
        if flow.state() != before {
            // A deadline moved the flow while the person was typing.
            let session = Arc::unwrap_or_clone(session);
            let (current, _) =
                Box::pin(self.drive(token, version, session, flow, Served::Shown)).await?;
            return Err(ApiError::stale(current));
        }
        // The action's digest (an HMAC), made only where it is compared or
        // kept: a stale or busy answer needs none. The flow takes the
        // action, so it is made before, a refused submit's (a 422) included.
        let digest = request.action.digest(token, &session.channel.salt);
        match flow.handle(now, Input::User(request.action.into_user_action())) {
            Ok(()) => {
                let mut session = Arc::unwrap_or_clone(session);
                session.channel.applied(digest);
                Box::pin(self.drive(token, version, session, flow, Served::Applied)).await
            }
            Err(FlowError::InvalidValues(errors)) => {
                let mut fields = BTreeMap::new();
                for e in &errors {
                    fields.entry(e.field.clone()).or_insert_with(|| e.message());
                }
                Err(ApiError::InvalidValues(
                    fields,
                    Box::new(self.respond(token, &flow, &session)),
                ))
            }
            Err(e) => Err(ApiError::InvalidAction(
                e.to_string(),
                Box::new(self.respond(token, &flow, &session)),
            )),
        }
    }

    /// The answer to a repeated action: the view its first copy led to.
    /// While that copy's bank call is still in flight, the repeat waits for
    /// it (within the reply budget, as the first copy does), so a double
    /// tap is answered with the outcome, not with `working`.
    async fn repeat(
        &self,
        token: &LinkToken,
        mut session: Session<LinkState>,
        mut flow: ConnectFlow,
    ) -> Result<SessionResponse, ApiError> {
        let deadline = crate::service::deadline_in(self.config.reply_budget);
        while session.claim().is_some() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            session = self.authorize(token).await?.session;
        }
        if session.claim().is_none() {
            flow = self.service.restore(&session).await.map_err(failed)?;
        }
        Ok(self.respond(token, &flow, &session))
    }

    /// The first request of a session: the flow starts (with the host's
    /// institution, if it chose one) and runs until it needs the person.
    async fn open(
        self: &Arc<Self>,
        token: &LinkToken,
        version: Option<crate::store::Version>,
        mut session: Session<LinkState>,
    ) -> Result<(SessionResponse, Served), ApiError> {
        let mut config = self
            .service
            .config()
            .flow
            .clone()
            .with_reference(session.reference.clone());
        config.institution = session.channel.preselect.clone();
        config.reauthorise = session.channel.reauthorise.clone();
        // Moved into the flow, which keeps it: not kept twice in the record.
        config.customer = session.channel.partner_customer.take();
        let flow = ConnectFlow::new(config, self.service.now());
        session.channel.opened = true;
        self.drive(token, version, session, flow, Served::Shown)
            .await
    }

    /// Drives the flow through the session service and answers with where
    /// it ended. Losing the write to another request of the same session
    /// is not an error: that request applied, this one answers with what
    /// it left (the current view, for a repeat of its action; else stale).
    async fn drive(
        self: &Arc<Self>,
        token: &LinkToken,
        version: Option<crate::store::Version>,
        session: Session<LinkState>,
        flow: ConnectFlow,
        served: Served,
    ) -> Result<(SessionResponse, Served), ApiError> {
        let last = session.channel.last.clone();
        let key = super::token::session_key(&token.id);
        // Boxed: a turn's future is kilobytes, and the requests that never
        // run one (a view, a refused action) should not carry it.
        let turn = Box::pin(self.service.drive(
            &key,
            version,
            session,
            flow,
            Arc::new(LinkChannel {
                redirect_login_id: self.config.flinks_redirect_login_id,
            }),
            self.config.reply_budget,
        ))
        .await;
        match turn {
            Ok(turn) => {
                let session = turn.into_session();
                let flow = self.service.restore(&session).await.map_err(failed)?;
                Ok((self.respond(token, &flow, &session), served))
            }
            Err(e) if e.is_conflict() => {
                let session = self.authorize(token).await?.session;
                let flow = self.service.restore(&session).await.map_err(failed)?;
                match (served, last) {
                    (Served::Applied, Some(mine))
                        if session.channel.last.as_ref() == Some(&mine) =>
                    {
                        let current = self.repeat(token, session, flow).await?;
                        Ok((current, Served::Repeat))
                    }
                    (Served::Applied, _) => {
                        Err(ApiError::stale(self.respond(token, &flow, &session)))
                    }
                    (other, _) => Ok((self.respond(token, &flow, &session), other)),
                }
            }
            Err(e) => Err(failed(e)),
        }
    }

    /// The answer for a session as it stands.
    pub(crate) fn respond(
        &self,
        token: &LinkToken,
        flow: &ConnectFlow,
        session: &Session<LinkState>,
    ) -> SessionResponse {
        let done = DoneContext {
            token,
            reference: &session.reference,
            institution: session.institution.as_ref(),
            redirect_url: session.channel.redirect_url.as_deref(),
        };
        let working = session.claim().is_some();
        let view = if working {
            // A call is in flight (on this instance or another): whatever the
            // snapshot says, the person waits.
            let w = match flow.view() {
                crate::flow::View::Working(w) => w,
                _ => crate::flow::Working::LoggingIn,
            };
            view::render(
                &crate::flow::View::Working(w),
                |_| InstitutionList(Arc::default()),
                done,
            )
        } else {
            view::render(
                &flow.view(),
                |list| {
                    let shared = self.institution_list(flow, list);
                    view::linked_first(shared, &session.channel.first)
                },
                done,
            )
        };
        let mut view = view;
        if let (view::ViewJson::Working { retry_after_ms, .. }, false) = (&mut view, working) {
            *retry_after_ms = view::retry_after(self.service.now(), flow.poll_timeout());
        }
        SessionResponse {
            seq: session.channel.seq,
            view,
        }
    }

    /// The institution list as JSON, rendered once per catalogue: only
    /// when `list` is that catalogue's whole list (a re-authorisation's
    /// view lists its one bank, which must neither come from nor go into
    /// the cache every other flow reads).
    fn institution_list(
        &self,
        flow: &ConnectFlow,
        list: &[crate::flow::Institution],
    ) -> InstitutionList {
        let whole = |c: &crate::flow::Catalogue| std::ptr::eq(c.institutions(), list);
        let Some(catalogue) = flow.catalogue().filter(|c| whole(c)) else {
            return InstitutionList(Arc::new(view::institutions(list)));
        };
        if let Ok(guard) = self.institutions.lock() {
            if let Some((c, json)) = guard.as_ref() {
                if Arc::ptr_eq(c, catalogue) {
                    return json.clone();
                }
            }
        }
        let json = InstitutionList(Arc::new(view::institutions(list)));
        if let Ok(mut guard) = self.institutions.lock() {
            *guard = Some((Arc::clone(catalogue), json.clone()));
        }
        json
    }
}
