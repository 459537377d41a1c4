//! Resume on re-dial: the flow outlives the telecom session. A new session
//! from a phone whose last flow is unfinished (past the bank list, not ended,
//! no call in flight on a live instance) is offered `1. Continue` /
//! `2. Start again`, and the flow is *moved* to the new session: two
//! sessions must never drive one flow.

use super::gateway::Screen;
use super::hop::Hop;
use super::input::TextMarks;
use super::menu::Cursor;
use super::session::UssdState;
use super::UssdService;
use crate::flow::StateKind;
use crate::service::ServiceError;
use crate::store::{Entry, StoreError};
use std::time::Duration;

/// The lines of the offer.
pub(super) const OFFER: [&str; 3] = [
    "You have an unfinished bank link.",
    "1. Continue",
    "2. Start again",
];

/// Where a phone's latest session key is kept. The number is blinded by the
/// store (a keyed hash when records are sealed): key names are visible to
/// anyone who can list a shared store.
pub(super) fn phone_key(
    store: &dyn crate::store::SessionStore,
    gateway: &str,
    phone: &str,
) -> String {
    index_key(gateway, &store.blind(phone))
}

/// Where the phone's index may have been written under the store's other
/// seal keys (before a key rotation, or by an instance whose ring puts
/// another key first while one rolls out); empty without a ring.
pub(super) fn other_phone_keys(
    store: &dyn crate::store::SessionStore,
    gateway: &str,
    phone: &str,
) -> Vec<String> {
    store
        .blind_others(phone)
        .iter()
        .map(|blinded| index_key(gateway, blinded))
        .collect()
}

/// Every name the phone's index may be under: each gateway's, under the
/// current seal key and the others of the ring.
pub(super) fn every_phone_key(store: &dyn crate::store::SessionStore, phone: &str) -> Vec<String> {
    super::gateway::NAMES
        .iter()
        .flat_map(|gateway| {
            let mut names = vec![phone_key(store, gateway, phone)];
            names.extend(other_phone_keys(store, gateway, phone));
            names
        })
        .collect()
}

fn index_key(gateway: &str, blinded: &str) -> String {
    // Concatenated, not `format!`: this runs on every hop.
    let mut key = String::with_capacity(12 + gateway.len() + blinded.len());
    key.push_str("ussd-phone:");
    key.push_str(gateway);
    key.push(':');
    key.push_str(blinded);
    key
}

/// A re-dial while the phone's flow waits for its bank.
pub(super) const STILL_WORKING: &str =
    "We are still waiting for your bank. Please dial again in a minute.";

impl UssdService {
    /// The phone's index as written under another key of the seal ring,
    /// and the name it was found at: read only when the current name held
    /// nothing (and only with a ring of more than one key), so a rotation
    /// loses no "Continue" offer. A name that cannot be read is passed over.
    pub(super) async fn index_under_other_keys(
        &self,
        gateway: &str,
        phone: &str,
    ) -> Option<(Entry, String)> {
        let store = self.service.store();
        for key in other_phone_keys(store.as_ref(), gateway, phone) {
            match store.get(&key).await {
                Ok(Some(entry)) => return Some((entry, key)),
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "a phone index under an older seal key could not be read")
                }
            }
        }
        None
    }

    /// What a copy of this first hop, delivered twice at once by the
    /// gateway, answered: the screen stored under this very session `key`
    /// (the offer, once the copy moved the flow here). The same hop gets
    /// the same screen (ussd.md §2.3); the bank list here would read the
    /// person's `1` or `2` as a bank while the session waits on the offer.
    /// `None` when nothing is stored there, or nothing of this `phone`'s (a
    /// gateway that reuses session ids must not show one caller another's
    /// screen). A store that cannot be read is an error, answered "dial
    /// again", not the bank list (see [`offer_resume`](Self::offer_resume)).
    pub(super) async fn answered_by_twin(
        &self,
        key: &str,
        phone: &str,
    ) -> Result<Option<Screen>, ServiceError> {
        match self.service.load::<UssdState>(key).await {
            Ok(Some(twin)) if twin.session.channel.phone == phone => {
                Ok(Some(twin.session.channel.last_screen))
            }
            Err(ServiceError::Store(e @ StoreError::Backend(_))) => Err(e.into()),
            _ => Ok(None),
        }
    }

    /// Moves the phone's unfinished flow to session `key` and offers to
    /// resume it; `None` when there is nothing to resume. `phone_key` is the
    /// index's current name; `index` is where it was found and what it held.
    pub(super) async fn offer_resume(
        &self,
        key: &str,
        phone: &str,
        phone_key: &str,
        (index_at, index): (&str, &Entry),
        text: Option<String>,
        sequence: Option<u64>,
    ) -> Result<Option<Screen>, ServiceError> {
        let old_key = String::from_utf8_lossy(&index.data).into_owned();
        if old_key == key {
            return Ok(None);
        }
        // An unreadable old record (another format, another key) is nothing
        // to resume: the person just starts again. A store that could not be
        // read is another matter: answered with the bank list, the person's
        // next answer would start a new flow and take the phone's index, and
        // the unfinished one could never be offered again.
        let old = match self.service.load::<UssdState>(&old_key).await {
            Ok(Some(old)) => old,
            Err(ServiceError::Store(e @ StoreError::Backend(_))) => return Err(e.into()),
            Ok(None) | Err(_) => return Ok(None),
        };
        // Only this phone's own flow moves: an index is a hint kept beside
        // the sessions, and one naming another phone's session (however it
        // came to) must never hand that session over.
        if old.session.channel.phone != phone {
            return Ok(None);
        }
        // A flow handed to the web is driven there: its USSD record only
        // answers the old telecom session's retries (an index left naming
        // it, when pointing it at the web copy failed, offers nothing).
        if old.session.channel.handed_off {
            return Ok(None);
        }
        let mut session = old.session;
        // Worth resuming: past the bank list and not finished. A flow whose
        // call is still claimed by a live instance is left alone; a claim
        // whose lease ran out (its process died) is recovered when the person
        // continues, like on any other hop.
        let state = session.flow.state();
        // A re-authorisation asked for (by the host or Mono) waits from its very start.
        let reauth = session.flow.reauthorises().is_some();
        let worth = !state.is_terminal()
            && (reauth
                || !matches!(
                    state,
                    StateKind::LoadingInstitutions | StateKind::ChoosingInstitution
                ));
        if !worth {
            return Ok(None);
        }
        // A re-authorisation Mono has since said is done another way (or
        // the account unlinked), offered on an earlier dial and not begun:
        // not offered again, and taken away (at the version read: a dial
        // that moved it meanwhile keeps it). One the person began is theirs
        // to finish.
        // A store that cannot say now is taken for "not settled": the offer
        // is shown, as before the mark existed, rather than the dial failed.
        if let Some(account) = session.flow.reauthorises() {
            if session.channel.unstarted && self.reauth_settled(account).await.unwrap_or(false) {
                let _ = self
                    .service
                    .store()
                    .compare_and_set(&old_key, old.version, Vec::new(), Duration::ZERO)
                    .await;
                return Ok(None);
            }
        }
        // On the store's clock, as `recover` judges it (an instance whose
        // clock runs ahead would otherwise move a session whose call is live).
        if self.service.claim_is_live(&session) {
            // Its bank call is still running: nothing may move it, and a
            // new flow here would take the phone's index and strand it (the
            // person would log in to the bank a second time). They dial
            // again once the call has settled.
            return Ok(Some(self.presenter.fit(&[STILL_WORKING], &[], true)));
        }
        let state = &mut session.channel;
        state.hop = Hop::ResumeOffer;
        state.texts = TextMarks::new();
        if let Some(text) = &text {
            state.texts.push(text, false);
        }
        state.last_sequence = sequence;
        state.invalid = 0;
        state.cursor = Cursor::Start;
        let offer = if reauth {
            &super::reauth::REAUTH_OFFER
        } else {
            &OFFER
        };
        state.last_screen = self.presenter.offer(None, offer);
        let shown = state.last_screen.clone();
        // Moved, not copied: write the new session, then take the old record
        // with compare-and-set (an expired record is a conditional delete).
        // Of two dials racing for one flow exactly one takes it; the other
        // removes the copy it wrote and is offered nothing. If the new key
        // cannot be written (another record holds it), nothing is taken.
        match self.service.save(key, None, &session).await {
            Ok(_) => {}
            Err(e) if e.is_conflict() => return Ok(None),
            Err(e) => return Err(e),
        }
        let taken = self
            .service
            .store()
            .compare_and_set(&old_key, old.version, Vec::new(), Duration::ZERO)
            .await;
        match taken {
            Ok(_) => {}
            Err(StoreError::Conflict) => {
                let _ = self.service.store().delete(key).await;
                return Ok(None);
            }
            Err(e) => {
                let _ = self.service.store().delete(key).await;
                return Err(e.into());
            }
        }
        let store = self.service.store();
        let ttl = self.service.config().index_ttl();
        if index_at == phone_key {
            store
                .compare_and_set(phone_key, Some(index.version), key.as_bytes().to_vec(), ttl)
                .await?;
        } else {
            // Found under an older seal key's name: moved to the current
            // one, and the old name taken away (a name under a key being
            // retired is not kept alive). Best effort: a dial that wrote the
            // current name meanwhile keeps it.
            match store
                .compare_and_set(phone_key, None, key.as_bytes().to_vec(), ttl)
                .await
            {
                Ok(_) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
            let _ = store
                .compare_and_set(index_at, Some(index.version), Vec::new(), Duration::ZERO)
                .await;
        }
        Ok(Some(shown))
    }
}
