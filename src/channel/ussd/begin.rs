//! The first hop of a telecom session, which has no stored state: the
//! resume offer, the stateless first screen, or a new session from the
//! person's first (or pre-dialled) answer.

use super::menu::{self, Cursor, Outcome};
use super::session::{screen, UssdState};
use super::shown_first::Shown;
use super::{gateway::Payload, gateway::RawHop, gateway::Screen, UssdService};
use crate::flow::{Catalogue, ConnectFlow};
use crate::flow::{Input, UserAction};
use crate::service::IndexWrite;
use crate::service::{Customer, ServiceError};
use crate::store::Entry;
use std::sync::Arc;

/// A hop of a session with no stored state, as [`UssdService::serve`] read
/// it: the phone's index came in the same store round trip as the (absent)
/// session (or, after a seal key rotation, from a read under an older key's
/// name).
/// A hop [`UssdService::unread_answer`] may serve: a first answer's text
/// (one bank number) and the key of its phone's index.
pub(super) struct Unread<'r> {
    text: &'r str,
    phone_key: &'r str,
}

pub(super) struct FirstHop<'a> {
    pub(super) gateway: &'a str,
    pub(super) key: &'a str,
    pub(super) raw: &'a RawHop,
    pub(super) text: Option<String>,
    pub(super) sequence: Option<u64>,
    pub(super) prefill: Vec<String>,
    pub(super) peer: Option<std::net::IpAddr>,
    /// `None` when the gateway sent no phone number.
    pub(super) phone_key: Option<String>,
    /// What the phone's index held.
    pub(super) previous: Option<Entry>,
    /// Where `previous` was found when not at `phone_key`: under another
    /// key of the seal ring (`resume::other_phone_keys`).
    pub(super) previous_at: Option<String>,
    /// Nothing was read: the session and the phone's index are created
    /// where free (`service/create.rs`); any other outcome of this hop is a
    /// conflict, and the hop is served again with a read.
    pub(super) unread: bool,
    /// When the hop must be answered by (its reply budget from its start).
    pub(super) reply_by: tokio::time::Instant,
}

impl UssdService {
    /// A hop of a session with no stored state: offer to resume an unfinished
    /// flow of this phone, or answer the first screen without storing
    /// anything, or (when input came with it) create the session.
    ///
    /// The first screen is the same for everyone and there is nothing to
    /// resume on it, so it is rendered from the cached catalogue with no
    /// store write: a person who dials and hangs up costs the store one read
    /// (one more per older seal key while a rotation's old key is kept).
    /// Their first answer arrives with no history and is taken as pre-dialled
    /// input, which may only pick a bank (never reach a PIN or OTP field).
    pub(super) async fn begin(self: &Arc<Self>, hop: FirstHop<'_>) -> Result<Screen, ServiceError> {
        let FirstHop {
            raw,
            prefill,
            previous,
            reply_by,
            ..
        } = &hop;
        // A returning customer (the phone is the customer id) sees the
        // banks they linked before first: on the first screen and in how
        // their first answer is read.
        //
        // An answer is read against the order and list its screen showed
        // where this process remembered them (shown_first.rs: a screen the
        // records or the cache might not give again); else both are asked.
        let shown = (!prefill.is_empty())
            .then(|| self.shown_first.get(hop.key, &raw.phone))
            .flatten();
        let (shown, shown_list) = match shown {
            Some(s) => (Some(s.first), s.list),
            None => (None, None),
        };
        let (linked_first, said) = if raw.phone.is_empty() {
            (Vec::new(), true)
        } else if let Some(shown) = shown {
            (shown, true)
        } else {
            self.linked_first(&raw.phone, *reply_by).await
        };
        if prefill.is_empty() {
            if let Some(prev) = previous {
                #[cfg(feature = "link")]
                if let Some(outcome) = Box::pin(self.handed_off(prev)).await? {
                    return Ok(outcome);
                }
                if let Some(offer) = self.offer(&hop, prev).await? {
                    return Ok(offer);
                }
            }
            let (shown, stood_in) = self
                .first_screen(None, &linked_first, None, *reply_by)
                .await?;
            if !said || !linked_first.is_empty() || stood_in.is_some() {
                self.shown_first.remember(
                    hop.key,
                    &raw.phone,
                    Shown {
                        first: linked_first,
                        list: stood_in,
                    },
                    tokio::time::Instant::now(),
                );
            } else {
                self.shown_first.forget(hop.key);
            }
            return Ok(shown);
        }
        // Pre-dialled digits start a new flow and take the phone's index;
        // a re-authorisation the host is waiting for must not be lost that
        // way: it is offered first (one more read, only for a phone with
        // something behind its index).
        if let Some(prev) = previous {
            if self.waits_for_reauth(prev, &hop.raw.phone).await {
                if let Some(offer) = self.offer(&hop, prev).await? {
                    return Ok(offer);
                }
            }
        }
        // Boxed: starting a session is the larger future (a flow, a turn),
        // and the first screen, the commonest hop, should not carry it.
        Box::pin(self.start(hop, linked_first, shown_list)).await
    }

    /// The banks `phone` linked before, as the records say within
    /// [`LINKED_FIRST_WITHIN`] (and the hop's budget), on each hop served
    /// with no stored session (a dial, a first answer): the order of a list
    /// is not worth a hop the gateway gives up on. Records that hang, or
    /// refuse connections until their pool's acquire timeout (10 s), would
    /// otherwise hold every dial, since until the known phones are loaded
    /// every phone is asked about. Not said in time: none, logged.
    ///
    /// Nearly always answered on the first poll (a phone the known-phones
    /// filter has never seen), which is taken with no clock read and no
    /// timer: those would cost every dial for nothing. With whether the
    /// records said (`false`: not in time).
    async fn linked_first(
        &self,
        phone: &str,
        reply_by: tokio::time::Instant,
    ) -> (Vec<String>, bool) {
        let mut asked = std::pin::pin!(self.service.linked_before(self.partner(), phone));
        let now = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(asked.as_mut(), cx))
        })
        .await;
        if let std::task::Poll::Ready(first) = now {
            return (first, true);
        }
        let by = reply_by.min(tokio::time::Instant::now() + LINKED_FIRST_WITHIN);
        match tokio::time::timeout_at(by, asked).await {
            Ok(first) => (first, true),
            Err(_) => {
                tracing::warn!("the records did not say in time which banks a phone linked before");
                (Vec::new(), false)
            }
        }
    }

    /// The text of a hop [`unread_answer`](Self::unread_answer) may serve,
    /// and its phone's index key: a person's first answer (cumulative text
    /// of one bank number) with a phone. Never with a customer directory:
    /// its lookup is made once, on a hop served with a read (which knows
    /// nothing waits for this phone), and a hop that counted against the
    /// rate limit here would count again there. Asked before the answer's
    /// future is made, so a hop that is not one (every first dial) does not
    /// box it for nothing.
    pub(super) fn unread_candidate<'r>(
        &self,
        raw: &'r RawHop,
        phone_key: Option<&'r str>,
    ) -> Option<Unread<'r>> {
        let (Some(phone_key), Payload::Cumulative(text)) = (phone_key, &raw.payload) else {
            return None;
        };
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        (self.config.customers.is_none() && digits).then_some(Unread { text, phone_key })
    }

    /// A person's first answer ([`unread_candidate`](Self::unread_candidate)),
    /// served without a read: the session is almost never there yet, so it
    /// is started at once and created with the phone's index where both are
    /// free. `None` when anything was there, or the store said anything but
    /// yes (a record that does not open, a lost connection): the hop is
    /// then served with a read, which knows what to make of it.
    pub(super) async fn unread_answer(
        self: &Arc<Self>,
        gateway: &str,
        key: &str,
        raw: &RawHop,
        unread: Unread<'_>,
        peer: Option<std::net::IpAddr>,
        reply_by: tokio::time::Instant,
    ) -> Option<Result<Screen, ServiceError>> {
        let Unread { text, phone_key } = unread;
        let first = FirstHop {
            gateway,
            key,
            raw,
            text: Some(text.to_owned()),
            sequence: None,
            prefill: vec![text.to_owned()],
            peer,
            phone_key: Some(phone_key.to_owned()),
            previous: None,
            previous_at: None,
            unread: true,
            reply_by,
        };
        match self.begin(first).await {
            Err(ServiceError::Store(_)) => None,
            other => Some(other),
        }
    }

    /// The offer to resume what the phone's index points at, if it still
    /// can be. Boxed: a rare path, not to be carried by every first hop.
    async fn offer(
        self: &Arc<Self>,
        hop: &FirstHop<'_>,
        prev: &Entry,
    ) -> Result<Option<Screen>, ServiceError> {
        let phone_key = hop.phone_key.as_deref().unwrap_or("");
        // Where the index was found: its name, or an older seal key's.
        let index_at = hop.previous_at.as_deref().unwrap_or(phone_key);
        let offered = Box::pin(self.offer_resume(
            hop.key,
            &hop.raw.phone,
            phone_key,
            (index_at, prev),
            hop.text.clone(),
            hop.sequence,
        ))
        .await?;
        // Nothing offered here: perhaps because a copy of this hop, sent
        // twice at once by the gateway, moved the flow to this very
        // session first (wherever this one then met it: the index already
        // naming this session, the old record gone or caught mid-removal,
        // this session's key taken). What that copy stored is the answer.
        match offered {
            Some(offer) => Ok(Some(offer)),
            None => self.answered_by_twin(hop.key, &hop.raw.phone).await,
        }
    }

    /// A new session from the first (or pre-dialled) answer, read against
    /// `shown_list` when its screen was remembered with one, else the
    /// cache's.
    pub(super) async fn start(
        self: &Arc<Self>,
        hop: FirstHop<'_>,
        linked_first: Vec<String>,
        shown_list: Option<Arc<Catalogue>>,
    ) -> Result<Screen, ServiceError> {
        let FirstHop {
            gateway,
            key,
            raw,
            text,
            sequence,
            prefill,
            peer,
            phone_key,
            previous,
            previous_at,
            unread,
            reply_by,
        } = hop;
        // What a hop served without a read cannot decide (a refusal, an
        // invalid answer, on which a waiting re-authorisation is offered
        // instead) is decided by the same hop with one.
        let unsure = || Err(ServiceError::Store(crate::store::StoreError::Conflict));
        let customer = (!raw.phone.is_empty()).then(|| Customer {
            id: raw.phone.clone(),
            phone: Some(raw.phone.clone()),
            ..Customer::default()
        });
        // The stateless first screen answered the empty text; this hop's
        // text is the first answer.
        let texts: Vec<&str> = match &text {
            Some(t) => vec!["", t.as_str()],
            None => Vec::new(),
        };
        let mut state = UssdState::new(raw.phone.clone(), &texts, sequence);
        state.first = linked_first;
        // Both on the heap (1.8 KB): held here across this future's awaits
        // and handed boxed to the turn, they are not copied at each level.
        // The record's flow is the flow's snapshot only once something
        // saves it: every save below takes the snapshot first (the turn's,
        // `list_changed`'s), and an answer refused saves nothing.
        let (mut session, mut flow) =
            self.service
                .start_unsaved(self.partner(), None, customer, state)?;
        let remembered = shown_list.is_some();
        let stood_in = self.read_list(&mut flow, shown_list, reply_by).await?;
        // With no screen remembered and this instance's list changed in the
        // last minutes (the read above may have brought the change), the
        // person may have been shown the list before it: kept to compare.
        // Not for a dial the gateway says is one (pre-dialled digits in an
        // initiation, which answer no screen); digits that come as an
        // answer cannot be told from one and are checked.
        let dial = matches!(raw.payload, Payload::Initiation { .. });
        let before = if remembered || dial {
            None
        } else {
            let window = self.config.list_change_window;
            self.service.list_replaced_within(self.partner(), window)
        };
        // Pre-dialled digits (`*384*123*2#`, or the first answer after the
        // stateless first screen) may only pick a bank from the first menu.
        // Anything else gets the first screen again with an error line, and
        // nothing is stored.
        let pick = |answer: &str| {
            if !answer.is_empty() && answer.chars().all(|c| c.is_ascii_digit()) {
                menu::on_input(
                    &flow.view(),
                    &Cursor::Start,
                    answer,
                    &session.channel.first,
                    &self.config.menu,
                )
            } else {
                Outcome::Invalid("Invalid choice.")
            }
        };
        let usable = |outcome: &Outcome| {
            matches!(
                outcome,
                Outcome::Move(_) | Outcome::Act(UserAction::ChooseInstitution { .. })
            )
        };
        let mut answer = prefill.first().map(String::as_str).unwrap_or("");
        let mut outcome = pick(answer);
        // Nothing is stored for an invalid answer, so on a cumulative
        // gateway the next hop arrives with no session and a text of every
        // answer so far (`77*1`): its first segment is the invalid one, and
        // read alone it kept the person on the bank list for good. The last
        // segment is the answer to the list they see now.
        if let (false, [_, .., last]) = (usable(&outcome), prefill.as_slice()) {
            answer = last;
            outcome = pick(last);
        }
        // A screen shown again in the minutes after a change is remembered
        // with its list (the new one): the next answer is to it.
        let keep = stood_in || before.is_some();
        // An answer that picks otherwise on the list before the change
        // than on this one cannot be read either way: taken for nothing,
        // the session stored on the new list with why (below). One that
        // picks the same goes on.
        let changed = usable(&outcome)
            && before.is_some_and(|before| {
                self.picks_otherwise(before, answer, &session.channel.first, &outcome)
            });
        let invalid = !usable(&outcome) || changed;
        if unread && invalid {
            return unsure();
        }
        // Kept to apply again to a flow made for the directory's customer.
        let chosen = match (&outcome, &self.config.customers) {
            (Outcome::Act(action), Some(_)) if !changed => Some(action.clone()),
            _ => None,
        };
        // An answer that picks no bank gets the list again, with why.
        let refused = match outcome {
            _ if changed => None,
            Outcome::Move(cursor) => {
                session.channel.cursor = cursor;
                None
            }
            Outcome::Act(action @ UserAction::ChooseInstitution { .. }) => {
                match flow.handle(self.service.now(), Input::User(action)) {
                    Ok(()) => None,
                    Err(_) if unread => return unsure(),
                    Err(_) => Some("Invalid choice."),
                }
            }
            Outcome::Invalid(message) => Some(message),
            Outcome::Act(_) => Some("Invalid choice."),
        };
        if let Some(message) = refused {
            let again = (key, keep);
            return self
                .first_screen_again(message, again, &session, &flow, reply_by)
                .await;
        }
        // About to start a session (and soon a partner session on the
        // host's key): within this phone's and this source's limits only.
        // Counted here, once the answer is known to start one: an invalid
        // answer starts nothing.
        if !self.limiter.allow(&raw.phone, peer) {
            if unread {
                return unsure();
            }
            tracing::warn!(gateway, "session start refused: over the rate limit");
            return Ok(screen(TOO_MANY, true));
        }
        // Who the partner's session is for, when the host keeps a
        // directory: asked only now, so neither an invalid answer nor a
        // limited phone costs the host a lookup; and only on a hop served
        // with a read (`unread_answer` serves none with a directory), which
        // knows nothing waits for this phone (a re-authorisation, a twin of
        // this hop that got there first), so each hop asks once. The flow
        // is made again for the customer (its first one had the service's
        // config), on the same bank list, and the answer applied again.
        if let Some(directory) = &self.config.customers {
            let records = session.customer.as_mut();
            let found = match self
                .customer_of(directory.as_ref(), &raw.phone, records, reply_by)
                .await
            {
                Ok(found) => found,
                Err(refusal) => return Ok(refusal),
            };
            let config = flow.config().clone().with_customer(found);
            let catalogue = flow.catalogue().cloned();
            *flow = ConnectFlow::new(config, self.service.now());
            // The list the answer was read against (not a refresh, which
            // may have dropped the bank while the host answered).
            self.read_list(&mut flow, catalogue, reply_by).await?;
            if let Some(action) = chosen {
                if flow
                    .handle(self.service.now(), Input::User(action))
                    .is_err()
                {
                    return self
                        .first_screen_again(
                            "Invalid choice.",
                            (key, keep),
                            &session,
                            &flow,
                            reply_by,
                        )
                        .await;
                }
            }
        }
        if let Some(phone_key) = phone_key {
            // The phone's index, written with the session in one round trip.
            // Best effort: a lost race here only loses the resume offer.
            session.index = Some(IndexWrite {
                key: phone_key,
                // An index found under another seal key's name is not at
                // this one: the new index is created here.
                expected: previous
                    .filter(|_| previous_at.is_none())
                    .map(|p| p.version),
                data: key.as_bytes().to_vec(),
                unread,
            });
        }
        if changed {
            // Boxed: rare, and its future would otherwise be carried by
            // every bank choice's.
            return Box::pin(self.list_changed(key, None, session, &flow)).await;
        }
        self.drive(key, None, session, flow, reply_by).await
    }
}

/// The ending screen of a phone over its session starts.
pub(super) const TOO_MANY: &str = "Too many attempts. Please try again in a few minutes.";

/// How long a dial waits for the records to say which banks its phone
/// linked before: a records database answers in milliseconds, and one
/// that takes longer is not one a gateway's budget (4 s on Sendexa) should
/// be spent on.
const LINKED_FIRST_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);
