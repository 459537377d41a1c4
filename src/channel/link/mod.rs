//! The link API: a custom in-app screen (native or web) links a bank
//! account through JSON, while the partner's key and code stay on the server.
//!
//! Only what is the link API lives here; a person's turn itself (load,
//! restore, drive, claim, save with compare-and-set, deliver) is the
//! [session service](crate::service)'s.
//!
//! | file | decides |
//! |---|---|
//! | `token.rs` | link tokens, public tokens and the API key: made, parsed, checked in constant time, only hashes stored |
//! | `state.rs` | what a session record keeps for this channel (seq, last action, events) |
//! | `view.rs` | a flow's view as JSON |
//! | `action.rs` | an action as JSON, and its digest |
//! | `turn.rs` | one request: the seq rule, an action applied exactly once |
//! | `cache.rs` | a view answered again from memory while its record is unchanged |
//! | `tokens.rs` | the host's calls: create a link token, exchange a public token |
//! | `sse.rs` | the event stream |
//! | `routes.rs` | the axum routes, authentication, body limits, metrics |
//! | `openapi.rs` | the OpenAPI 3.1 document, generated from the types |
//! | `page.rs` | the reference web page (`/link`) |
//! | `handoff.rs` | a flow moved here from USSD (the web side of the hand-off) |
//!
//! ```text
//!  host backend ── POST /link/v1/tokens (API key) ──► link_token ──► front-end
//!  front-end ── GET /link/v1/session, POST /link/v1/session/actions (link token) ──► views
//!  front-end ◄── done: public_token ── host backend ── POST /link/v1/exchange ──► account id
//! ```
//!
//! **Exactly once per step.** Every view carries `seq`; an action must carry
//! the current one. Applying it moves `seq` on and records the action's
//! digest in the same compare-and-set write that claims any partner call,
//! so the same `{seq, action}` again (a double tap, a retry after a lost
//! answer) finds itself recorded and is answered with the current view,
//! never applied twice; of two copies racing, the write lets one through.

mod action;
mod cache;
mod error;
#[cfg(feature = "ussd")]
mod handoff;
mod json;
mod openapi;
mod page;
mod routes;
mod sse;
mod state;
mod token;
mod tokens;
mod turn;
mod view;

pub use crate::server::ApiKey;
pub use action::{Action, ActionRequest};
pub use error::{ErrorBody, ErrorDetail};
pub use openapi::openapi;
pub use routes::router;
pub use tokens::{CustomerJson, ExchangeRequest, ExchangeResponse, TokenRequest, TokenResponse};
pub use view::{
    AccountJson, AuthMethodJson, FieldJson, FormJson, InstitutionJson, InstitutionList,
    InstitutionRefJson, OptionJson, SessionResponse, ViewJson,
};

use crate::flow::Catalogue;
use crate::metrics::Metrics;
use crate::service::SessionService;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the link API behaves (the flow's limits and the session TTL are the
/// [service](crate::service::ServiceConfig)'s).
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// The partner new flows use; the service's default when `None`.
    pub partner: Option<&'static str>,
    /// A link token's lifetime when the host does not say.
    pub token_ttl: Duration,
    /// The longest lifetime a host may ask for.
    pub max_token_ttl: Duration,
    /// A request waits this long for the bank before answering `working`
    /// (the call goes on and settles by itself).
    pub reply_budget: Duration,
    /// The base URL people reach this server at, for `link_url`
    /// (`{public_url}/link?token=...`).
    pub public_url: String,
    /// Origins allowed to call the front-end routes from a browser
    /// (`*` for any); none by default (same origin only).
    pub cors_origins: Vec<String>,
    /// How often the event stream looks for new events.
    pub poll_interval: Duration,
    /// The longest an event stream stays open.
    pub stream_lifetime: Duration,
    /// Whether a Flinks flow's `REDIRECT` event (the event stream's
    /// `?events=flinks`) carries the LoginId in its URL, as the Flinks
    /// Connect iframe's does. Off by default: the LoginId is the durable
    /// account id, which the front-end never holds (the host's backend
    /// gets it by exchanging the public token); on for a front-end written
    /// for the iframe that reads it there, the host accepting that anyone
    /// holding the link token can read it too.
    pub flinks_redirect_login_id: bool,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            partner: None,
            token_ttl: Duration::from_secs(30 * 60),
            max_token_ttl: Duration::from_secs(24 * 60 * 60),
            reply_budget: Duration::from_secs(10),
            public_url: "http://127.0.0.1:8080".into(),
            cors_origins: Vec::new(),
            poll_interval: Duration::from_millis(250),
            stream_lifetime: Duration::from_secs(30 * 60),
            flinks_redirect_login_id: false,
        }
    }
}

/// The link API. Share one per process behind an `Arc`.
pub struct LinkService {
    service: Arc<SessionService>,
    config: LinkConfig,
    api_key: ApiKey,
    metrics: Option<Arc<Metrics>>,
    /// The institution list as JSON and the catalogue it was rendered from
    /// (held, so the pointer comparison can never meet a reused address):
    /// the same for everyone, rendered once per catalogue.
    institutions: Mutex<Option<(Arc<Catalogue>, InstitutionList)>>,
    /// Rendered views by record version.
    views: cache::ViewCache,
    /// Opened records by version, for actions.
    sessions: cache::SessionCache,
    /// Turns the event streams may run at once (`sse.rs`): a stream's
    /// in-flight slot is gone once its headers are sent, so its turns are
    /// bounded here instead; a stream that finds none free tries on its
    /// next poll.
    pub(crate) stream_turns: tokio::sync::Semaphore,
    /// Event streams open, by session id (`sse.rs`): each holds a
    /// connection for up to its lifetime, so one token must not be able to
    /// hold them all.
    pub(crate) streams: Mutex<sse::OpenStreams>,
    /// Cancelled by [`end_streams`](Self::end_streams): every event stream
    /// ends on it.
    pub(crate) closing: tokio_util::sync::CancellationToken,
}

/// How many turns the event streams may run at once.
const STREAM_TURNS: usize = 64;

impl std::fmt::Debug for LinkService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LinkService {
    /// The link API on top of `service`, for the host holding `api_key`.
    pub fn new(service: Arc<SessionService>, config: LinkConfig, api_key: ApiKey) -> Arc<Self> {
        Arc::new(LinkService {
            service,
            config,
            api_key,
            metrics: None,
            institutions: Mutex::new(None),
            views: cache::ViewCache::default(),
            sessions: cache::SessionCache::default(),
            stream_turns: tokio::sync::Semaphore::new(STREAM_TURNS),
            streams: Mutex::default(),
            closing: tokio_util::sync::CancellationToken::new(),
        })
    }

    /// The same, counting requests in `metrics` (`connectflow_turns` with
    /// channel `link`).
    pub fn with_metrics(
        service: Arc<SessionService>,
        config: LinkConfig,
        api_key: ApiKey,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(LinkService {
            service,
            config,
            api_key,
            metrics: Some(metrics),
            institutions: Mutex::new(None),
            views: cache::ViewCache::default(),
            sessions: cache::SessionCache::default(),
            stream_turns: tokio::sync::Semaphore::new(STREAM_TURNS),
            streams: Mutex::default(),
            closing: tokio_util::sync::CancellationToken::new(),
        })
    }

    /// Ends every event stream open now, and any opened later at once: call
    /// it when the server begins to shut down. A graceful shutdown waits
    /// for every response to finish, and a stream of an unfinished flow
    /// runs for up to [`LinkConfig::stream_lifetime`], so it would hold the
    /// process for the whole drain; ended, its `EventSource` reconnects, to
    /// another instance. `connectflow serve` calls it on SIGTERM.
    pub fn end_streams(&self) {
        self.closing.cancel();
    }

    /// The session service underneath.
    pub fn service(&self) -> &Arc<SessionService> {
        &self.service
    }

    /// The config.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    fn partner(&self) -> &'static str {
        self.config
            .partner
            .or_else(|| self.service.default_partner())
            .unwrap_or("mono")
    }
}
