//! What the USSD channel keeps in a session record, and how a flow's
//! outcome becomes a screen ([`Presenter`], the service's
//! [`Channel`] for USSD).

use super::gateway::Screen;
use super::hop::{self, Hop};
use super::input::TextMarks;
use super::menu::{self, Cursor, MenuConfig};
use super::screens::{Screens, Which};
use crate::flow::{ConnectFlow, Event, View};
use crate::service::{Channel, Session};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;

/// The USSD channel's part of a session record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct UssdState {
    /// E.164, or empty when the gateway sent none.
    pub(crate) phone: String,
    /// The cumulative texts applied so far, as lengths and hashes (never
    /// the typed text): suffix diff and late-retry detection.
    #[serde(default, skip_serializing_if = "TextMarks::is_empty")]
    pub(crate) texts: TextMarks,
    /// The previous hop's sequence number (latest-input gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_sequence: Option<u64>,
    /// What the handset was last shown (a duplicate hop gets it again).
    pub(crate) last_screen: Screen,
    /// Where the person is within the view.
    #[serde(default)]
    pub(crate) cursor: Cursor,
    /// Invalid answers in a row.
    #[serde(default)]
    pub(crate) invalid: u8,
    /// Banks this phone linked before, most recent first: listed first
    /// (kept, so every hop numbers the list the same way).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) first: Vec<String>,
    /// Where the handset conversation is.
    #[serde(default)]
    pub(crate) hop: Hop,
    /// The flow is a re-authorisation asked for (by the host or Mono) that has not
    /// started: its snapshot holds only its configuration, and it is built
    /// afresh from it when the person continues (see `reauth.rs`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) unstarted: bool,
    /// The flow went to the web ([`handoff`](super::handoff)): this record
    /// only answers the telecom session's retries, with the screen that
    /// ended it, and is never driven.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) handed_off: bool,
}

impl UssdState {
    /// A session whose hops so far carried `texts` (cumulative gateways).
    pub(crate) fn new(phone: String, texts: &[&str], last_sequence: Option<u64>) -> Self {
        let mut marks = TextMarks::new();
        for text in texts {
            marks.push(text, false);
        }
        UssdState {
            phone,
            texts: marks,
            last_sequence,
            last_screen: screen(menu::PROCESSING, false),
            cursor: Cursor::Start,
            invalid: 0,
            first: Vec::new(),
            hop: Hop::Menu,
            unstarted: false,
            handed_off: false,
        }
    }

    /// A re-authorisation asked for (by the host or Mono), not yet begun, for `phone`:
    /// what that phone's next dial is offered. The phone is checked because
    /// a phone index is a hint, not proof of whose session it names.
    pub(crate) fn awaits_reauth_of(&self, phone: &str) -> bool {
        self.unstarted && self.phone == phone
    }
}

/// A stored session as a hop holds it: its record on the heap (a
/// kilobyte, held across the hop's awaits and handed on to the turn as it
/// is), its version beside it.
pub(super) struct Stored {
    pub(super) version: Option<crate::store::Version>,
    pub(super) session: Box<Session<UssdState>>,
}

impl From<crate::service::Loaded<UssdState>> for Stored {
    fn from(loaded: crate::service::Loaded<UssdState>) -> Stored {
        Stored {
            version: loaded.version,
            session: Box::new(loaded.session),
        }
    }
}

pub(crate) fn screen(text: &str, end: bool) -> Screen {
    Screen {
        text: text.to_owned(),
        end,
        masked: false,
    }
}

/// Renders flow outcomes into USSD screens.
#[derive(Debug)]
pub(crate) struct Presenter {
    pub(crate) menu: MenuConfig,
    /// The catalogue-only screens, rendered once per catalogue.
    pub(super) screens: Screens,
}

impl Presenter {
    /// The screen for the flow's view at the session's cursor, with an
    /// optional error line.
    pub(crate) fn screen(
        &self,
        flow: &ConnectFlow,
        session: &Session<UssdState>,
        error: Option<&str>,
    ) -> Screen {
        if let (View::Done { .. }, Some(inst)) = (flow.view(), &session.institution) {
            let returning = session.delivered().is_some_and(|d| d.returning);
            let linked = if returning {
                format!("Welcome back. Your {} account is linked again.", inst.name)
            } else {
                format!("Your {} account is linked.", inst.name)
            };
            return self.fit(&[&linked], &[&format!("Ref {}", session.reference)], true);
        }
        let view = flow.view();
        let render = || {
            menu::render(
                &view,
                &session.channel.cursor,
                error,
                &session.channel.first,
                &self.menu,
            )
        };
        // A bank's "log in with" menu (the screen after every bank choice)
        // depends on the catalogue alone when there is no line above it.
        if let (
            View::ChooseInstitution { notice: None, .. },
            Cursor::Method { institution },
            None,
            Some(catalogue),
        ) = (&view, &session.channel.cursor, error, flow.catalogue())
        {
            let which = Which::Methods(institution.clone());
            return self
                .screens
                .get_or_render(catalogue, which, || Ok::<_, Infallible>(render()))
                .unwrap_or_else(|never| match never {});
        }
        render()
    }

    /// `head` above `keep` as a screen within the budget: `head` (prose,
    /// some of it a partner's words) is shortened, then dropped, as needed;
    /// `keep` (options, a reference) is never cut. Over-long screens were
    /// cut off by the gateway, the options and reference first.
    pub(crate) fn fit(&self, head: &[&str], keep: &[&str], end: bool) -> Screen {
        menu::fit_lines(head, keep, &self.menu, end)
    }

    /// An offer (its prompt, then its options), with `lead` (an error line)
    /// above it.
    pub(crate) fn offer(&self, lead: Option<&str>, offer: &[&str; 3]) -> Screen {
        let [prompt, options @ ..] = offer;
        let head: Vec<&str> = lead.into_iter().chain([*prompt]).collect();
        self.fit(&head, options, false)
    }
}

/// The channel's name, as links made here are recorded under.
pub(super) const CHANNEL: &str = "ussd";

impl Channel<UssdState> for Presenter {
    fn name(&self) -> &'static str {
        CHANNEL
    }

    fn events(&self, session: &mut Session<UssdState>, events: &[Event]) {
        for event in events {
            tracing::debug!(event = event.kind.name(), reference = %session.reference, "flow event");
        }
    }

    fn settled(&self, flow: &ConnectFlow, session: &mut Session<UssdState>) {
        session.channel.hop = hop::settled(session.channel.hop);
        if session.channel.hop == Hop::Continue {
            // The person is looking at "Processing": the next screen is
            // rendered fresh when they continue, from the top. The last
            // screen stays "Processing", which is what the handset shows:
            // a gateway's retry of that hop (or the loser of two hops at
            // once) is shown it again, never the next screen, whose answer
            // the Continue state would then take as "continue" and drop.
            session.channel.cursor = Cursor::Start;
            return;
        }
        session.channel.last_screen = self.screen(flow, session, None);
    }

    fn working(&self, session: &mut Session<UssdState>) {
        session.channel.hop = Hop::Working;
        session.channel.last_screen = screen(menu::PROCESSING, false);
    }

    fn yields_to(&self, own: &Session<UssdState>, other: &Session<UssdState>) -> bool {
        // As `begin.rs` does when it read the index first.
        other.channel.awaits_reauth_of(&own.channel.phone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding (review, 2026-12-04): plain screens (a flow's outcome after a
    /// hand-off, with the partner's own words; the link; resume offers)
    /// were joined without the budget, so a gateway cut them off, the
    /// reference first. The words are shortened; options and the reference
    /// stay whole.
    #[test]
    fn plain_screens_fit_the_budget_and_keep_their_reference() {
        let presenter = Presenter {
            menu: MenuConfig::default(),
            screens: Screens::default(),
        };
        let words = "Your bank refused the login because ".repeat(8);
        let screen = presenter.fit(&[&words], &["Ref 3F2A9C0B1D7E"], true);
        assert!(presenter.menu.budget.fits(&screen.text), "{}", screen.text);
        assert!(
            screen.text.ends_with("\nRef 3F2A9C0B1D7E"),
            "{}",
            screen.text
        );
        assert!(
            screen.text.starts_with("Your bank refused"),
            "{}",
            screen.text
        );
        let offer = presenter.fit(
            &[&words, "You have an unfinished bank link."],
            &["1. Continue", "2. Start again"],
            false,
        );
        assert!(presenter.menu.budget.fits(&offer.text), "{}", offer.text);
        assert!(
            offer.text.ends_with("1. Continue\n2. Start again"),
            "{}",
            offer.text
        );
    }

    /// A record stored before the leave question existed still loads, and
    /// one holding the question reads back the same (the cursor travels in
    /// the sealed record between instances).
    #[test]
    fn records_without_the_leave_question_load_and_the_question_round_trips() {
        let old = r#"{"phone":"+254711000001","last_screen":{"text":"Enter OTP","end":false},
            "cursor":{"at":"field","index":0,"values":{}},"invalid":0}"#;
        let state: UssdState = serde_json::from_str(old).unwrap();
        assert!(matches!(state.cursor, Cursor::Field { index: 0, .. }));
        let mut values = crate::form::Values::new();
        values.insert("username".to_owned(), "user_otp".to_owned());
        let asking = UssdState {
            cursor: Cursor::Leaving {
                index: 1,
                page: 0,
                values,
            },
            ..state
        };
        let stored = serde_json::to_string(&asking).unwrap();
        let loaded: UssdState = serde_json::from_str(&stored).unwrap();
        assert_eq!(loaded, asking);
    }
}
