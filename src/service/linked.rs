//! The link a turn made: handed to delivery once, retried in the
//! background while its process lives, and parked for any instance after
//! (`parked/`).

use super::delivery::{Delivered, LinkedAccount};
use super::record::{ChannelState, Session};
use super::SessionService;
use crate::flow::{ConnectFlow, View};
use std::sync::Arc;
use std::time::Duration;

impl SessionService {
    /// The link to deliver, when the flow has linked an account that the
    /// session has not delivered yet.
    pub(super) fn linked<S>(
        &self,
        flow: &ConnectFlow,
        session: &Session<S>,
        channel: &str,
    ) -> Option<LinkedAccount> {
        let account_id = undelivered_account(flow, session)?;
        let institution_icon = session.institution.as_ref().and_then(|i| {
            let catalogue = flow.catalogue()?;
            let found = catalogue.institutions().iter().find(|c| c.id == i.id)?;
            found.icon.clone()
        });
        Some(LinkedAccount {
            reference: session.reference.clone(),
            partner: session.partner.clone(),
            institution: session.institution.clone(),
            institution_icon,
            auth_method: session.auth_method.clone(),
            account_id: account_id.to_owned(),
            phone_number: session.customer.as_ref().and_then(|c| c.phone.clone()),
            customer: session.customer.clone(),
            channel: channel.to_owned(),
        })
    }

    /// Hands a link to delivery, once; `Some` once delivery has it. A
    /// failure is logged and left `None`, for `redeliver` and the next turn
    /// (delivery is idempotent by reference, so a retry of an attempt that
    /// did land records nothing twice).
    pub(crate) async fn deliver(&self, linked: &LinkedAccount) -> Option<Delivered> {
        tracing::info!(reference = %linked.reference, account = %linked.account_id,
            institution = linked.institution.as_ref().map(|i| i.id.as_str()).unwrap_or(""),
            channel = %linked.channel, "account linked");
        let Some(delivery) = &self.delivery else {
            return Some(Delivered::default());
        };
        match delivery.deliver(linked).await {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::error!(reference = %linked.reference, error = %e,
                    "the link could not be delivered yet");
                None
            }
        }
    }

    /// Delivers a link the session saved undelivered, in the background:
    /// tried with a pause growing from 0.1 s to 30 s for as long as the
    /// session is kept, or once more when the process begins to stop, then
    /// written onto the record. Until then the link API's view also retries on
    /// every poll (a Done view with no delivery runs a turn); a USSD session
    /// has ended by then. Beyond this process's life, the link is parked in
    /// the store for any instance's sweep (`parked/`).
    pub(crate) async fn redeliver<S: ChannelState>(
        self: Arc<Self>,
        key: String,
        linked: LinkedAccount,
    ) {
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(100);
        let mut kept = self.config.session_ttl;
        let delivered = loop {
            let stopping = tokio::select! {
                () = tokio::time::sleep(delay) => false,
                () = self.stopping.cancelled() => true,
            };
            // Delivered meanwhile by a turn (the link page's poll): done.
            if let Ok(Some(loaded)) = self.load::<S>(&key).await {
                if loaded.session.delivered.is_some() {
                    return;
                }
                // A link session is kept until its token expires.
                kept = kept.max(self.ttl_of(&loaded.session));
            }
            if let Some(d) = self.deliver(&linked).await {
                break d;
            }
            if stopping || started.elapsed() >= kept {
                // Parked (again, if a first try failed: the list keeps it
                // once), for any instance's sweep; `park` logs what an
                // operator needs if even that fails.
                self.park(&linked).await;
                tracing::warn!(reference = %linked.reference, account = %linked.account_id,
                    partner = %linked.partner, "the link is not delivered yet; left to the parked-link sweep");
                return;
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        };
        let saved = self
            .update_claimed::<S>(&key, None, |session| {
                // Only on a session whose flow linked this account: a claim
                // recovered elsewhere may have moved the session on, and a
                // `delivered` written there would stop a later link of
                // another account from ever being delivered.
                if session.delivered.is_none() && shows_linked(&session.flow, &linked.account_id) {
                    session.delivered = Some(delivered.clone());
                }
            })
            .await;
        if let Err(e) = saved {
            // Delivered all the same; a later turn finds it delivered by
            // reference and records nothing twice.
            tracing::warn!(reference = %linked.reference, error = %e,
                "a late delivery could not be noted on the session");
        }
    }

    /// Whether `flow` has linked an account that `session` has not
    /// delivered yet (a channel then runs a turn, which delivers it).
    pub fn undelivered<S>(&self, flow: &ConnectFlow, session: &Session<S>) -> bool {
        undelivered_account(flow, session).is_some()
    }
}

/// Whether the stored flow `snapshot` has linked `account`.
fn shows_linked(snapshot: &crate::flow::Snapshot, account: &str) -> bool {
    ConnectFlow::restore(snapshot.clone(), None).is_ok_and(
        |flow| matches!(flow.view(), View::Done { account_id: Some(id), .. } if id == account),
    )
}

/// The account `flow` linked, when `session` has not delivered it yet.
fn undelivered_account<'a, S>(flow: &'a ConnectFlow, session: &Session<S>) -> Option<&'a str> {
    let View::Done {
        account_id: Some(account_id),
        ..
    } = flow.view()
    else {
        return None;
    };
    session.delivered.is_none().then_some(account_id)
}
