//! The USSD channel: a connect flow behind a USSD short code.
//!
//! Only what is USSD lives here; a person's turn itself (load, restore,
//! drive, claim, save, deliver) is the [session service](crate::service)'s.
//!
//! | file | decides |
//! |---|---|
//! | `gateway/` | each gateway's wire format ⇄ one normalised hop |
//! | `input.rs` | what the person typed on a hop (suffix diff of cumulative text) |
//! | `begin.rs` | a hop with no stored session: the resume offer, the first screen, a new session and its phone index (from a first answer, without a read first) |
//! | `bank_list.rs` | the bank list a session starts on: rendered once per catalogue, read into a new flow from the list its screen showed, and shown again when the list changed under it |
//! | `shown_first.rs` | what a first screen showed (bank order, a list standing in), remembered for its answer |
//! | `customers.rs` | which partner customer a phone's sessions are opened for (the host's directory, asked at a session's start) |
//! | `customer_cache.rs` | the directory's answers remembered a while, twin lookups shared |
//! | `hop.rs` | what a hop's input means: menu, continue after `Processing`, resume offer |
//! | `advance.rs` | a hop of a stored session: that meaning carried out, the flow driven, the session saved |
//! | `menu/` | a view ⇄ a screen within the length budget, paged by encoded length |
//! | `gsm.rs` | GSM-7 / UCS-2 measurement |
//! | `session.rs` | what a USSD session keeps, and how an outcome becomes a screen |
//! | `resume.rs` | a re-dial offered the unfinished flow of that phone |
//! | `server.rs` | the axum routes |
//! | `mtn_link.rs` | MTN Nigeria's TCP connection (which we open), kept logged in and alive |
//!
//! Partner calls never block a hop past the gateway's reply budget: the
//! service claims the call and makes it in the background, and the handset
//! gets `Processing... 1. Continue`. The flow outlives the telecom session:
//! a re-dial from the same number while the session lives offers
//! `1. Continue` / `2. Start again`.

mod advance;
mod auth;
mod bank_list;
mod begin;
mod customer_cache;
mod customers;
#[cfg(test)]
mod future_sizes;
pub mod gateway;
pub mod gsm;
#[cfg(feature = "link")]
mod handoff;
mod hop;
pub mod input;
mod limits;
mod marks;
pub mod menu;
mod mtn_link;
mod reauth;
mod resume;
mod screens;
mod server;
mod session;
mod shown_first;

pub use auth::{GatewayAuth, GATEWAY_TOKEN_ENV};
pub use customer_cache::CachedDirectory;
pub use customers::{
    CustomerDirectory, DirectoryError, DirectorySetupError, HttpDirectory, Lookup,
};
#[cfg(feature = "link")]
pub use handoff::{Handoff, WebHandoff};
pub use limits::RateLimits;
pub use mtn_link::{MtnNigeriaLink, MTN_NG_PASSWORD_ENV};
pub use reauth::{host_router, ReauthRequest, DEFAULT_REAUTH_WAIT, MAX_REAUTH_WAIT};
pub(crate) use server::busy;
pub use server::router;

use crate::service::{ServiceError, SessionService};
use gateway::{Gateway, GatewayRequest, GatewayResponse, Payload, RawHop, Screen, SessionEnded};
use input::Extracted;
use menu::MenuConfig;
use session::{screen, Presenter, Stored, UssdState};
use std::sync::Arc;
use std::time::Duration;

/// How the USSD channel behaves (the flow's limits, TTLs and delivery are
/// the [service](crate::service::ServiceConfig)'s).
#[derive(Debug, Clone)]
pub struct UssdConfig {
    /// Screens: budget, navigation keys, invalid-input limit.
    pub menu: MenuConfig,
    /// A hop answers within this, counted from the hop's arrival (a
    /// bank-list refresh on the way counts too), with `Processing...` if a
    /// call is slower. Africa's Talking ends a session whose hop takes
    /// 15 s, so the default leaves room for the store and the network.
    pub reply_budget: Duration,
    /// The partner new sessions use; the service's default when `None`.
    pub partner: Option<&'static str>,
    /// How many sessions a phone and a source may start.
    pub limits: RateLimits,
    /// Handing a flow to the web page by SMS; off when `None`.
    #[cfg(feature = "link")]
    pub handoff: Option<Handoff>,
    /// The codes this deployment answers (`*384*123#`; see
    /// [`input::parse_service_code`]), for any first dial whose gateway sent
    /// no service code (Arkesel, Nalo, Airtel and Sendexa never do; Korba,
    /// Infobip, DMark or HollaTags without `code`, `shortCode`,
    /// `ussdServiceCode` or `session_from`): its segments after one of them are
    /// pre-dialled input, as for the gateways that send their code, and an
    /// Airtel first dial that lost its `*` (`384*123`) is known by them.
    /// Also when one is longer than the code the gateway sent (a channel on
    /// a shared code, `*123*100#`, whose gateway names `*123#`): the longer
    /// wins. They are the deployment's, for every gateway it serves: one
    /// given for a gateway that is a longer prefix of another gateway's dial
    /// wins there too. Empty: such a first dial carries no pre-dialled
    /// input. A code not of that shape never matches.
    pub service_codes: Vec<String>,
    /// Who each phone's sessions are opened for at the partner, asked once
    /// per new session. `None`: the dialect's configured customer for
    /// every phone (`serve --ussd-customer-id`).
    pub customers: Option<Arc<dyn CustomerDirectory>>,
    /// How long after the partner's list changed a first answer may still
    /// be to a screen numbered from the list before (and is checked
    /// against both): longer than a gateway keeps a session open. Zero:
    /// never checked.
    pub list_change_window: Duration,
}

impl Default for UssdConfig {
    fn default() -> Self {
        UssdConfig {
            menu: MenuConfig::default(),
            reply_budget: Duration::from_secs(10),
            partner: None,
            limits: RateLimits::default(),
            #[cfg(feature = "link")]
            handoff: None,
            service_codes: Vec::new(),
            customers: None,
            list_change_window: Duration::from_secs(5 * 60),
        }
    }
}

const SORRY: &str = "Sorry, something went wrong. Please dial again.";
/// The answer to a request kind this channel does not serve.
const UNSUPPORTED: &str = "This service links bank accounts by USSD only. Please dial the code.";

/// The USSD hop server. Share one per process behind an `Arc`.
pub struct UssdService {
    service: Arc<SessionService>,
    config: UssdConfig,
    presenter: Arc<Presenter>,
    limiter: limits::Limiter,
    /// First screens whose bank order or list their answer must be read
    /// against.
    shown_first: shown_first::ShownFirst,
}

impl std::fmt::Debug for UssdService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UssdService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl UssdService {
    /// The USSD channel on top of `service`.
    pub fn new(service: Arc<SessionService>, config: UssdConfig) -> Arc<UssdService> {
        #[cfg(feature = "link")]
        let mut config = config;
        #[cfg(feature = "link")]
        if let Some(handoff) = &config.handoff {
            config.menu.web_link = Some(handoff.key.clone());
        }
        Arc::new(UssdService {
            presenter: Arc::new(Presenter {
                menu: config.menu.clone(),
                screens: screens::Screens::default(),
            }),
            limiter: limits::Limiter::new(config.limits),
            shown_first: shown_first::ShownFirst::default(),
            service,
            config,
        })
    }

    /// The session service underneath.
    pub fn service(&self) -> &Arc<SessionService> {
        &self.service
    }

    fn partner(&self) -> &'static str {
        self.config
            .partner
            .or_else(|| self.service.default_partner())
            .unwrap_or("mono")
    }

    /// Serves one hop: never panics, never answers 5xx; a problem becomes a
    /// polite `END` screen (and a log line without the person's input).
    pub async fn hop(
        self: &Arc<Self>,
        gateway: &dyn Gateway,
        request: &GatewayRequest,
    ) -> GatewayResponse {
        // The codec that echoes what this request's reply must (Arkesel's
        // and Nalo's user id and phone: a second, pure read of a few
        // hundred bytes, for the gateways that need it). Here, not in the
        // routes, so a host serving hops itself gets it too.
        let replying = gateway.replying_to(request);
        let gateway = replying.as_deref().unwrap_or(gateway);
        let raw = match gateway.decode(request) {
            Ok(raw) => raw,
            Err(e) => {
                tracing::warn!(gateway = gateway.name(), error = %e, "unreadable hop");
                return gateway.encode(&screen(SORRY, true), "", "");
            }
        };
        let key = ["ussd:", gateway.name(), ":", &raw.session_id].concat();
        if matches!(raw.payload, Payload::Status) {
            // Boxed, like the conflict's read below: a rare path whose
            // read of a whole record would otherwise be carried in every
            // hop's future, which the server boxes (copies) per request.
            let active = Box::pin(self.is_active(gateway.name(), &key, &raw.session_id)).await;
            return gateway.encode_status(active, &raw.session_id);
        }
        if gateway.asks_status() && matches!(raw.payload, Payload::Release | Payload::Timeout) {
            // Boxed too: only a gateway that asks after sessions ends one
            // with a write.
            Box::pin(self.mark_ended(gateway.name(), &key, &raw.session_id)).await;
        }
        // The reply budget counts from here: a bank-list refresh on the way
        // to a bank call must not add to the time the gateway waits.
        let budget = gateway
            .reply_within()
            .map_or(self.config.reply_budget, |within| {
                within.min(self.config.reply_budget)
            });
        let reply_by = crate::service::deadline_in(budget);
        let shown = match self
            .serve(gateway.name(), &key, &raw, request.peer, reply_by)
            .await
        {
            Ok(s) => s,
            // Another hop of this session won the write: it applied, this one
            // did not. Show what the winner left.
            Err(e) if e.is_conflict() => match Box::pin(self.service.load::<UssdState>(&key)).await
            {
                // Only this phone's: as everywhere a session is shown, a
                // gateway that reuses session ids must not show one caller
                // another's screen.
                Ok(Some(l))
                    if l.session.channel.phone.is_empty()
                        || l.session.channel.phone == raw.phone =>
                {
                    l.session.channel.last_screen
                }
                _ => screen(SORRY, true),
            },
            Err(e) => {
                tracing::warn!(session = %log_id(&raw.session_id), error = %e, "hop failed");
                screen(SORRY, true)
            }
        };
        gateway.encode(&shown, &raw.session_id, "")
    }

    /// The pre-dialled segments of `dialled` (a first dial, or a first
    /// screen's answer shaped like one), read against the gateway's own
    /// code `own` (when it sent one) and the codes this deployment answers:
    /// the longest that `dialled` dials wins, leaving the fewest segments (a
    /// channel on a shared code, `*123*100#`, whose gateway names only
    /// `*123#`). `None` when it dials none of them: which segments were the
    /// code's is then unknown.
    fn dial_prefill(&self, own: &str, dialled: &str) -> Option<Vec<String>> {
        let configured = input::configured_prefill(&self.config.service_codes, dialled);
        if own.is_empty() {
            return configured;
        }
        let own = input::configured_prefill(&[own.to_owned()], dialled);
        match (own, configured) {
            (Some(own), Some(longer)) if longer.len() < own.len() => Some(longer),
            (Some(own), _) => Some(own),
            (None, configured) => configured,
        }
    }

    /// Whether the session at `key` is still going, for a gateway that asks
    /// (and may close its side on a no): unless its last screen ended it,
    /// or the gateway did ([`mark_ended`](Self::mark_ended)).
    /// A session with no record here may be on its first screen, which is
    /// served without storing anything, and a record that cannot be read
    /// now (the store unreachable) says nothing: both are taken as going,
    /// so a person is never cut off by the answer.
    async fn is_active(&self, gateway: &str, key: &str, session_id: &str) -> bool {
        // Read, not only versioned: a sealing store authenticates what it
        // opens, so a mark planted in a shared store does not open and
        // cannot close someone's session.
        let ended = ended_key(gateway, session_id);
        if let Ok(Some(_)) = self.service.store().get(&ended).await {
            return false;
        }
        match self.service.load::<UssdState>(key).await {
            Ok(Some(loaded)) => !loaded.session.channel.last_screen.end,
            Ok(None) | Err(_) => true,
        }
    }

    /// Marks the session at `key` ended by its gateway, for
    /// [`is_active`](Self::is_active). Not on its record: a re-dial's
    /// resume reads that record, and must still find the flow unfinished.
    /// Only a session with a record is marked, so `end` calls naming no
    /// session write nothing; one never stored answered no more than its
    /// first screen, and is taken as going as before, as is one whose
    /// record a re-dial's resume has already taken over (an `end` that
    /// arrives after the re-dial). The mark lives for the phone index's
    /// TTL, twice the session's: longer than a record that no turn renews
    /// after the end, so a question after that record expired is still
    /// answered no; a record promised a longer life (`keep_until`) may
    /// outlive its mark, and is then read as before. Best effort: a store
    /// that fails here costs only that answer.
    async fn mark_ended(&self, gateway: &str, key: &str, session_id: &str) {
        let store = self.service.store();
        match store.version(key).await {
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(session = %log_id(session_id), error = %e, "session end not marked");
                return;
            }
        }
        let ended = ended_key(gateway, session_id);
        let ttl = self.service.config().index_ttl();
        match store.compare_and_set(&ended, None, Vec::new(), ttl).await {
            // Already marked (the gateway sent its `end` again).
            Ok(_) | Err(crate::store::StoreError::Conflict) => {}
            Err(e) => {
                tracing::warn!(session = %log_id(session_id), error = %e, "session end not marked");
            }
        }
    }

    /// An end-of-session notification. The flow is kept so a re-dial can resume it.
    /// A failed one is a warning with the gateway's reason ("Application
    /// timed out" is the only sign a gateway gives that we answered too
    /// slowly).
    pub fn session_ended(&self, gateway: &str, ended: &SessionEnded) {
        let reason = ended.error_message.as_deref().map(log_id);
        if ended.status.eq_ignore_ascii_case("failed") {
            tracing::warn!(gateway, session = %log_id(&ended.session_id), status = %log_id(&ended.status),
                error = ?reason, hops = ?ended.hops, ms = ?ended.duration_ms, "channel session failed");
        } else {
            tracing::info!(gateway, session = %log_id(&ended.session_id), status = %log_id(&ended.status),
                error = ?reason, hops = ?ended.hops, ms = ?ended.duration_ms, "channel session ended");
        }
    }

    async fn serve(
        self: &Arc<Self>,
        gateway: &str,
        key: &str,
        raw: &RawHop,
        peer: Option<std::net::IpAddr>,
        reply_by: tokio::time::Instant,
    ) -> Result<Screen, ServiceError> {
        if let Payload::Unsupported(kind) = &raw.payload {
            // Well-formed but not a USSD step (a cart, a favourite, a query
            // from Hubtel's app): end politely, touch no session.
            tracing::info!(gateway, session = %log_id(&raw.session_id), kind = %log_id(kind),
                "request kind not served over this channel");
            return Ok(screen(UNSUPPORTED, true));
        }
        if matches!(raw.payload, Payload::Release | Payload::Timeout) {
            // The telecom session is over; the flow stays for a re-dial.
            return Ok(screen("Goodbye.", true));
        }
        // The session, and for one not started yet, the phone's index (to
        // offer what it left unfinished): one store round trip (one more
        // per older seal key while a rotation's old key is kept, below).
        let phone_key = (!raw.phone.is_empty())
            .then(|| resume::phone_key(self.service.store().as_ref(), gateway, &raw.phone));
        let other_names = self.service.store().has_other_blinds();
        // A person's first answer is served without a read where it can be:
        // not while the index may be under an older seal key's name, where
        // creating one under the current name would not see it.
        if !other_names {
            if let Some(unread) = self.unread_candidate(raw, phone_key.as_deref()) {
                let answer = self.unread_answer(gateway, key, raw, unread, peer, reply_by);
                if let Some(shown) = Box::pin(answer).await {
                    return shown;
                }
            }
        }
        // The record on the heap: a kilobyte, held here across the first
        // hop's await it would make every hop's future that much larger
        // (moved on each request) though most first hops have none; and
        // boxed alone, it goes on to `advance` and the turn as it is.
        let read = match &phone_key {
            Some(phone_key) => self.service.load_or::<UssdState>(key, phone_key).await,
            None => self.service.load::<UssdState>(key).await.map(|l| (l, None)),
        }
        .map(|(loaded, previous)| (loaded.map(Stored::from), previous));
        let (loaded, previous) = match read {
            Ok(read) => read,
            // A record this build cannot read (an older format): start over.
            Err(ServiceError::Record(e)) => {
                tracing::warn!(error = %e, "unreadable session record; starting over");
                (None, None)
            }
            Err(e) => return Err(e),
        };
        // Nothing under this name: perhaps under a name another key of the
        // seal ring gave the phone (a rotation in progress, or just done).
        // Boxed: only with a ring of more than one key.
        let (previous, previous_at) = match (&loaded, previous, &phone_key) {
            (None, None, Some(_)) if other_names => {
                match Box::pin(self.index_under_other_keys(gateway, &raw.phone)).await {
                    Some((entry, at)) => (Some(entry), Some(at)),
                    None => (None, None),
                }
            }
            (_, previous, _) => (previous, None),
        };
        let state = loaded.as_ref().map(|l| &l.session.channel);
        let extracted = match (&raw.payload, state) {
            (Payload::Cumulative(text), Some(s)) => s.texts.extract(text),
            (Payload::Cumulative(text), None) => input::extract(None, text),
            (Payload::Initiation { dialled }, _) => Extracted::Begin {
                prefill: self
                    .dial_prefill(&raw.service_code, dialled)
                    .unwrap_or_default(),
            },
            // The same hop again, or a late re-delivery of an earlier one
            // (a gateway's sequence only grows): the current screen, never
            // its input taken as the answer to this screen (a username
            // sent to the bank as a PIN).
            (
                Payload::Latest {
                    sequence: Some(seq),
                    ..
                },
                Some(s),
            ) if s.last_sequence.is_some_and(|last| *seq <= last) => Extracted::Duplicate,
            (Payload::Latest { text, .. }, Some(_)) => Extracted::Input(text.clone()),
            // No state for this session: its first screen was stateless (or the
            // state expired). The text may only pick a bank, like pre-dialled input;
            // a text with a code's marks in it that dials the gateway's code or
            // one of the deployment's (`dial_prefill`: the longest) is a first
            // dial the gateway sent as an answer (DMark's without its
            // `response`, Airtel's `384*123` whose `*` was lost), read as one. A
            // plain number never is: it answers the bank list (`98`, More)
            // whatever codes are served.
            (Payload::Latest { text, .. }, None) => Extracted::Begin {
                prefill: text
                    .contains(['*', '#'])
                    .then(|| self.dial_prefill(&raw.service_code, text))
                    .flatten()
                    .unwrap_or_else(|| vec![text.clone()]),
            },
            _ => Extracted::Begin {
                prefill: Vec::new(),
            },
        };
        let (text, sequence) = match &raw.payload {
            Payload::Cumulative(t) => (Some(t.clone()), None),
            Payload::Latest { sequence, .. } => (None, *sequence),
            _ => (None, None),
        };
        if let Some(l) = &loaded {
            let owner = &l.session.channel.phone;
            if !owner.is_empty() && owner != &raw.phone {
                // Another phone presenting this session's id: never show it
                // this session, never let it act on the flow.
                tracing::warn!(session = %log_id(&raw.session_id), "hop from another phone number refused");
                return Ok(screen(SORRY, true));
            }
            // The flow went to the web and the telecom session ended: only
            // its retries come here, and get the screen that ended it.
            if l.session.channel.handed_off {
                return Ok(l.session.channel.last_screen.clone());
            }
        }
        let Some(mut loaded) = loaded else {
            let prefill = match extracted {
                Extracted::Begin { prefill } => prefill,
                _ => Vec::new(),
            };
            let first = begin::FirstHop {
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
                unread: false,
                reply_by,
            };
            return self.begin(first).await;
        };
        let input = match extracted {
            // Same text again (a gateway retry): same screen, nothing runs twice.
            Extracted::Duplicate | Extracted::Begin { .. } => {
                return Ok(loaded.session.channel.last_screen)
            }
            Extracted::Input(i) => i,
            Extracted::Lost { input } => {
                tracing::warn!(session = %log_id(&raw.session_id), "hop text does not extend the previous one; using its last segment");
                input
            }
        };
        let state = &mut loaded.session.channel;
        if let Some(text) = &text {
            // The screen answered asked for a secret: its answer counts by
            // length only in what the record keeps (marks.rs).
            let secret = state.last_screen.masked;
            state.texts.push(text, secret);
        }
        if sequence.is_some() {
            state.last_sequence = sequence;
        }
        // Boxed, like the rarer paths in `begin`: the first hop of every
        // session never advances, and should not carry this future's size.
        let (version, session) = (loaded.version, loaded.session);
        Box::pin(self.advance(key, version, session, &input, reply_by)).await
    }
}

/// Where a session its gateway ended is marked ([`UssdService::mark_ended`]):
/// a namespace of its own, since a session id may hold anything (`abc:ended`
/// is some gateway's id too, so no suffix on the session's own key would do).
fn ended_key(gateway: &str, session_id: &str) -> String {
    ["ussd-ended:", gateway, ":", session_id].concat()
}

/// A gateway-supplied id as it may appear in a log line: control characters
/// escaped (a newline must not forge a log entry) and at most 64 characters.
pub(crate) fn log_id(id: &str) -> String {
    id.chars().take(64).flat_map(char::escape_debug).collect()
}

#[cfg(test)]
mod tests {
    /// A gateway-supplied id cannot forge a log line: control characters are
    /// escaped and the length is capped.
    #[test]
    fn ids_are_escaped_and_capped_for_logs() {
        let forged = "ATUid_1\nINFO account linked reference=FAKE";
        let logged = super::log_id(forged);
        assert!(!logged.contains('\n'), "{logged}");
        assert!(logged.contains("\\n"));
        assert!(super::log_id(&"x".repeat(500)).len() <= 64);
    }
}
