//! What the link channel keeps in a session record ([`LinkState`], the `S`
//! of [`Session<S>`]) and how the service's turn reaches it
//! ([`LinkChannel`], the link API's [`Channel`]).
//!
//! The view itself is not kept: it is rendered from the flow on every
//! request, so an outcome that settles in the background is shown as soon
//! as it is saved, whichever instance saved it.

use crate::dialect::flinks::ConnectEvents;
use crate::flow::{Event, EventKind, PartnerCustomer, Preselect, Timestamp};
use crate::service::{Channel, Session};
use serde::{Deserialize, Serialize};

/// Events kept for the event stream; a flow has a few dozen at most, so
/// this only bounds a pathological one.
const MAX_EVENTS: usize = 128;

/// The link channel's part of a session record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LinkState {
    /// SHA-256 of the link token's secret (never the token).
    pub(crate) token_hash: String,
    /// SHA-256 of the public token's secret.
    pub(crate) public_hash: String,
    /// The link token stops working at this time.
    pub(crate) expires_at: Timestamp,
    /// The sequence number the next action must carry.
    pub(crate) seq: u64,
    /// The last applied action, to answer it again when it is repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last: Option<LastAction>,
    /// Salted into this session's action digests (keyed with the link
    /// token's secret, which the record does not hold: `action.rs`).
    pub(crate) salt: String,
    /// The flow's events so far (the last [`MAX_EVENTS`]), for the stream.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) events: Vec<Event>,
    /// The stream id of `events[0]`.
    #[serde(default)]
    pub(crate) first_event: u64,
    /// Where the reference page sends the person on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) redirect_url: Option<String>,
    /// False until the first front-end request starts the flow (a token
    /// that is never opened costs the partner nothing).
    #[serde(default)]
    pub(crate) opened: bool,
    /// The institution (and method) the host chose for the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) preselect: Option<Preselect>,
    /// Banks this customer linked before, most recent first (read from the
    /// records when the token was made): listed first and marked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) first: Vec<String>,
    /// The linked account this flow re-authorises, when the host asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reauthorise: Option<String>,
    /// The token's customer, as the partner's session names them (Mono's
    /// `customer`): a known one's id, or a new one's name and email. Moved
    /// into the flow's config when the flow starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) partner_customer: Option<PartnerCustomer>,
    /// A Flinks flow's screens as Flinks Connect names them, each as it was
    /// settled (the last [`MAX_EVENTS`]): the event stream's `?events=flinks`
    /// interleaves them with the events, so a screen passed through faster
    /// than the stream polls is still announced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) screens: Vec<Screen>,
    /// How many screens were trimmed from the front of `screens` (the
    /// absolute number of `screens[0]`), as `first_event` is for events.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) first_screen: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A screen shown, in Flinks Connect's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Screen {
    /// How many events came before it (its place among them).
    pub(crate) at: u64,
    /// `{step: COMPONENT_LOAD_..., ...}` or the final `REDIRECT`.
    pub(crate) value: serde_json::Value,
}

/// The last applied action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LastAction {
    /// The `seq` it carried.
    pub(crate) seq: u64,
    /// Its digest ([`super::action::Action::digest`]).
    pub(crate) digest: String,
}

impl LinkState {
    /// Whether `digest` at `seq` is the last applied action again.
    pub(crate) fn is_repeat(&self, seq: u64, digest: &str) -> bool {
        self.last.as_ref().is_some_and(|last| {
            last.seq == seq
                && bool::from(subtle::ConstantTimeEq::ct_eq(
                    last.digest.as_bytes(),
                    digest.as_bytes(),
                ))
        })
    }

    /// Records that the action `digest` at the current `seq` is applied.
    pub(crate) fn applied(&mut self, digest: String) {
        self.last = Some(LastAction {
            seq: self.seq,
            digest,
        });
        self.seq += 1;
    }

    /// The stream id the next event will get.
    pub(crate) fn next_event_id(&self) -> u64 {
        self.first_event + self.events.len() as u64
    }

    /// The events with stream ids from `from` on, with their ids.
    pub(crate) fn events_from(&self, from: u64) -> impl Iterator<Item = (u64, &Event)> {
        let skip = from.saturating_sub(self.first_event);
        self.events
            .iter()
            .enumerate()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .map(|(i, e)| (self.first_event + i as u64, e))
    }
}

/// The link channel as the session service sees it.
#[derive(Debug, Default)]
pub(crate) struct LinkChannel {
    /// [`LinkConfig::flinks_redirect_login_id`](super::LinkConfig::flinks_redirect_login_id).
    pub(crate) redirect_login_id: bool,
}

impl Channel<LinkState> for LinkChannel {
    fn name(&self) -> &'static str {
        "link"
    }

    fn events(&self, session: &mut Session<LinkState>, events: &[Event]) {
        let state = &mut session.channel;
        state.events.extend(events.iter().map(for_front_end));
        let over = state.events.len().saturating_sub(MAX_EVENTS);
        if over > 0 {
            state.events.drain(..over);
            state.first_event += over as u64;
        }
    }

    fn settled(&self, flow: &crate::flow::ConnectFlow, session: &mut Session<LinkState>) {
        // Only a Flinks flow is named in Flinks' words; a Mono one costs
        // nothing here.
        if session.partner != "flinks" {
            return;
        }
        let state = &mut session.channel;
        let mut names = match &state.redirect_url {
            Some(url) => ConnectEvents::new(url.clone()),
            None => ConnectEvents::default(),
        };
        if !self.redirect_login_id {
            // What the front-end never holds (view.rs), unless the host
            // said otherwise.
            names = names.without_login_id();
        }
        // The events first: the REDIRECT names the institution chosen.
        for (_, event) in state.events_from(0) {
            names.event(event);
        }
        let Some(value) = names.view(&flow.view(), Some(&session.reference)) else {
            return;
        };
        if state.screens.last().map(|s| &s.value) == Some(&value) {
            return;
        }
        let at = state.next_event_id();
        state.screens.push(Screen { at, value });
        let over = state.screens.len().saturating_sub(MAX_EVENTS);
        state.screens.drain(..over);
        state.first_screen += over as u64;
    }

    fn working(&self, _session: &mut Session<LinkState>) {}
}

/// An event as a front-end may see it: Mono's `SUCCESS` carries the
/// partner's code, which stays on the server (it is exchanged here).
fn for_front_end(event: &Event) -> Event {
    match &event.kind {
        EventKind::Success { code: Some(_) } => Event {
            kind: EventKind::Success { code: None },
            ..event.clone()
        },
        _ => event.clone(),
    }
}
