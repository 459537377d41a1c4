//! Handing a live flow from USSD to the web page: a person who reaches
//! something a phone menu cannot show (a picture code), or who asks for it
//! (the web-link key, `99` by default), gets a one-time link by SMS that
//! continues *the same flow* at the same step; a re-dial then shows how it
//! ended.
//!
//! The flow is *moved*, as on resume, in an order where every failure
//! leaves it with USSD: the web copy is written, the link is texted, and
//! only then is the USSD record taken (a compare-and-set to a record marked
//! handed off, which only answers the telecom session's retries) and the
//! phone's index pointed at the web session. A link that cannot be sent, or
//! a USSD record that changed meanwhile, abandons the web copy (a link that
//! arrived anyway shows it expired), so exactly one channel drives the flow
//! at a time and the person is never told to finish on a link they do not
//! have. The USSD side knows the web side only through [`WebHandoff`] (the
//! link API implements it).

use super::gateway::Screen;
use super::session::{screen, UssdState};
use super::UssdService;
use crate::flow::{ConnectFlow, StateKind, View};
use crate::notify::{Notifier, Sms};
use crate::service::{ServiceError, Session};
use crate::store::{BoxFuture, Entry, StoreError, Version};
use std::sync::Arc;

/// Where a flow goes when it leaves USSD for the web.
pub trait WebHandoff: Send + Sync + std::fmt::Debug + 'static {
    /// Stores `session` (its flow, reference, customer; no channel state)
    /// as a web session; returns its store key and the URL that continues it.
    fn adopt(&self, session: Session<()>) -> BoxFuture<'_, Result<(String, String), ServiceError>>;

    /// Removes the web session at `key` (a key [`adopt`](Self::adopt)
    /// returned) whose hand-off did not complete: the flow stays with USSD,
    /// and a link to this copy must not drive it too.
    fn abandon<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), ServiceError>>;

    /// The flow at `key` (a key [`adopt`](Self::adopt) returned), as it is
    /// now, or `None` when it is gone (expired) or not a web session.
    fn outcome<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Session<()>>, ServiceError>>;
}

/// Hand-off to the web, for [`UssdConfig::handoff`](super::UssdConfig::handoff).
#[derive(Debug, Clone)]
pub struct Handoff {
    /// The web side.
    pub web: Arc<dyn WebHandoff>,
    /// How the link reaches the phone.
    pub notifier: Arc<dyn Notifier>,
    /// The input that asks for a web link on any screen past the bank list
    /// (default `99`); offered on screens USSD cannot show.
    pub key: String,
}

impl Handoff {
    /// A hand-off to `web` with links sent by `notifier`, on key `99`.
    pub fn new(web: Arc<dyn WebHandoff>, notifier: Arc<dyn Notifier>) -> Handoff {
        Handoff {
            web,
            notifier,
            key: "99".into(),
        }
    }
}

impl UssdService {
    /// True when `input` asks for the web link on this view.
    pub(super) fn wants_handoff(&self, flow: &ConnectFlow, input: &str) -> bool {
        let Some(handoff) = &self.config.handoff else {
            return false;
        };
        input.trim() == handoff.key
            && !flow.is_finished()
            && !matches!(
                flow.state(),
                StateKind::LoadingInstitutions | StateKind::ChoosingInstitution
            )
    }

    /// Moves the flow to the web and texts the person its link; when either
    /// cannot be done, the flow stays here and the screen says why.
    pub(super) async fn hand_off(
        &self,
        key: &str,
        version: Option<Version>,
        session: Box<Session<UssdState>>,
        flow: &ConnectFlow,
    ) -> Result<Screen, ServiceError> {
        let Some(handoff) = &self.config.handoff else {
            return Ok(screen("Sorry, that is not available.", true));
        };
        match self
            .move_to_web(handoff, key, version, &session, flow)
            .await?
        {
            Ok(sent) => Ok(sent),
            Err(why) => self.stay(key, version, session, flow, why).await,
        }
    }

    /// The hand-off itself: the screen saying the link was sent, or why the
    /// flow stays (nothing of it moved).
    async fn move_to_web(
        &self,
        handoff: &Handoff,
        key: &str,
        version: Option<Version>,
        session: &Session<UssdState>,
        flow: &ConnectFlow,
    ) -> Result<Result<Screen, &'static str>, ServiceError> {
        let phone = &session.channel.phone;
        let reference = &session.reference;
        if phone.is_empty() {
            // The gateway sent no number: there is nowhere to text a link.
            return Ok(Err("Sorry, no web link without a phone number."));
        }
        let mut neutral = session.clone().map_channel(|_| ());
        neutral.flow = flow.snapshot();
        let (web_key, url) = match handoff.web.adopt(neutral).await {
            Ok(adopted) => adopted,
            Err(e) => {
                tracing::warn!(reference = %reference, error = %e, "the web session could not be made");
                return Ok(Err("Sorry, we could not make a web link."));
            }
        };
        let sms = Sms {
            to: phone.clone(),
            text: format!("Continue linking your bank account (ref {reference}): {url}"),
        };
        if let Err(e) = handoff.notifier.send(&sms).await {
            tracing::warn!(reference = %reference, error = %e, "the web link could not be sent");
            self.abandon(handoff, &web_key).await;
            return Ok(Err("Sorry, we could not send the link."));
        }
        let shown = format!(
            "We sent a link to {} by SMS. Open it to continue.",
            crate::notify::mask(phone)
        );
        let shown = self
            .presenter
            .fit(&[&shown], &[&format!("Ref {reference}")], true);
        // Take the USSD record: from here on only the web drives the flow.
        // A hop that changed it meanwhile (a gateway retry) keeps it here.
        // Not deleted: marked, so that a retry of this hop or a late one of
        // an earlier hop gets this screen again. With nothing stored, its
        // text was read as a new dial's pre-dialled answers, which started
        // a flow the person never asked for and took the phone's index
        // from the web session.
        let mut taken = session.clone();
        taken.channel.handed_off = true;
        taken.channel.last_screen = shown.clone();
        if let Err(e) = self.service.save(key, version, &taken).await {
            self.abandon(handoff, &web_key).await;
            return Err(e);
        }
        // Session keys are `ussd:<gateway>:<id>`; the phone index is per gateway.
        let gateway = key.split(':').nth(1).unwrap_or("at");
        let phone_key = super::resume::phone_key(self.service.store().as_ref(), gateway, phone);
        self.point_phone_at(&phone_key, &web_key).await;
        Ok(Ok(shown))
    }

    /// The flow stays on USSD: the same screen with `message` first, saved
    /// as the last screen (a gateway's retry of this hop gets it again).
    async fn stay(
        &self,
        key: &str,
        version: Option<Version>,
        mut session: Box<Session<UssdState>>,
        flow: &ConnectFlow,
        message: &str,
    ) -> Result<Screen, ServiceError> {
        let shown = self.presenter.screen(flow, &session, Some(message));
        session.channel.last_screen = shown.clone();
        session.flow = flow.snapshot();
        self.service.save(key, version, &session).await?;
        Ok(shown)
    }

    /// Best effort: a copy left behind is reachable by no one who was not
    /// texted its link, and expires with its token.
    async fn abandon(&self, handoff: &Handoff, web_key: &str) {
        if let Err(e) = handoff.web.abandon(web_key).await {
            tracing::warn!(error = %e, "an abandoned web copy could not be removed");
        }
    }

    /// Best effort: a lost race here only loses the outcome on re-dial (an
    /// index left naming the USSD record offers nothing there: the record
    /// is marked handed off).
    async fn point_phone_at(&self, phone_key: &str, web_key: &str) {
        let store = self.service.store();
        let current = crate::store::get_readable(store.as_ref(), phone_key)
            .await
            .ok()
            .flatten();
        let _ = store
            .compare_and_set(
                phone_key,
                current.map(|e| e.version),
                web_key.as_bytes().to_vec(),
                self.service.config().index_ttl(),
            )
            .await;
    }

    /// On a re-dial: the outcome of a flow this phone handed to the web, if
    /// its index points at one.
    pub(super) async fn handed_off(&self, index: &Entry) -> Result<Option<Screen>, ServiceError> {
        let Some(handoff) = &self.config.handoff else {
            return Ok(None);
        };
        let web_key = String::from_utf8_lossy(&index.data).into_owned();
        if web_key.starts_with("ussd:") {
            return Ok(None);
        }
        let session = match handoff.web.outcome(&web_key).await {
            Ok(Some(s)) => s,
            Ok(None) | Err(ServiceError::Store(StoreError::Tampered { .. })) => return Ok(None),
            Err(e) => return Err(e),
        };
        let reference = &session.reference;
        let line = match session.snapshot().state() {
            StateKind::Done => match &session.institution {
                Some(inst) => format!("Your {} account is linked.", inst.name),
                None => "Your account is linked.".to_owned(),
            },
            StateKind::Failed => {
                let flow = ConnectFlow::restore(session.snapshot().clone(), None).ok();
                match flow.as_ref().map(ConnectFlow::view) {
                    Some(View::Failed { failure, .. }) => failure.message(),
                    _ => "Linking did not complete.".to_owned(),
                }
            }
            StateKind::Exited => "You left the bank link.".to_owned(),
            _ => "Finish linking in the web link we sent you by SMS.".to_owned(),
        };
        Ok(Some(self.presenter.fit(
            &[&line],
            &[&format!("Ref {reference}")],
            true,
        )))
    }
}
