//! Handing a live flow from USSD to the web page: a person who reaches
//! something a phone menu cannot show (a picture code), or who asks for it
//! (the web-link key, `99` by default), gets a one-time link by SMS that
//! continues *the same flow* at the same step; a re-dial then shows how it
//! ended.
//!
//! The flow is *moved*, as on resume: the USSD record is taken (a
//! compare-and-set delete) before the web session is written, so exactly
//! one channel drives the flow at a time, and the phone's index points at
//! the web session from then on. The USSD side knows the web side only
//! through [`WebHandoff`] (the link API implements it).

use super::gateway::Screen;
use super::session::{screen, UssdState};
use super::UssdService;
use crate::flow::{ConnectFlow, StateKind, View};
use crate::notify::{Notifier, Sms};
use crate::service::{ServiceError, Session};
use crate::store::{BoxFuture, Entry, StoreError, Version};
use std::sync::Arc;
use std::time::Duration;

/// Where a flow goes when it leaves USSD for the web.
pub trait WebHandoff: Send + Sync + std::fmt::Debug + 'static {
    /// Stores `session` (its flow, reference, customer; no channel state)
    /// as a web session; returns its store key and the URL that continues it.
    fn adopt(&self, session: Session<()>) -> BoxFuture<'_, Result<(String, String), ServiceError>>;

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

    /// Moves the flow to the web and texts the person its link.
    pub(super) async fn hand_off(
        &self,
        key: &str,
        version: Option<Version>,
        session: Session<UssdState>,
        flow: &ConnectFlow,
    ) -> Result<Screen, ServiceError> {
        let Some(handoff) = &self.config.handoff else {
            return Ok(screen("Sorry, that is not available.", true));
        };
        let phone = session.channel.phone.clone();
        let reference = session.reference.clone();
        let mut neutral = session.map_channel(|_| ());
        neutral.flow = flow.snapshot();
        // Take the USSD record first: from here on only the web drives it.
        self.service
            .store()
            .compare_and_set(key, version, Vec::new(), Duration::ZERO)
            .await?;
        let (web_key, url) = handoff.web.adopt(neutral).await?;
        // Session keys are `ussd:<gateway>:<id>`; the phone index is per gateway.
        let gateway = key.split(':').nth(1).unwrap_or("at");
        let phone_key = super::resume::phone_key(self.service.store().as_ref(), gateway, &phone);
        self.point_phone_at(&phone_key, &web_key).await;
        let sms = Sms {
            to: phone.clone(),
            text: format!("Continue linking your bank account (ref {reference}): {url}"),
        };
        if let Err(e) = handoff.notifier.send(&sms).await {
            tracing::warn!(reference = %reference, error = %e, "the web link could not be sent");
            return Ok(screen(
                &format!("Sorry, we could not send the link. Ref {reference}"),
                true,
            ));
        }
        let shown = format!(
            "We sent a link to {} by SMS. Open it to continue.\nRef {reference}",
            crate::notify::mask(&phone)
        );
        Ok(self.presenter.fit(&[&shown], true))
    }

    /// Best effort: a lost race here only loses the outcome on re-dial.
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
                self.service.config().session_ttl,
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
        Ok(Some(
            self.presenter
                .fit(&[&line, &format!("Ref {reference}")], true),
        ))
    }
}
