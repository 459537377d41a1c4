//! `GET /link/v1/session/events`: the flow's events as Server-Sent Events,
//! Mono's public names with `reference` and `timestamp` (the objects
//! `connectflow link --json` prints).
//!
//! Events live in the session record, so the stream reads the store, not
//! this process's memory: it shows what any instance's turn recorded. It
//! polls (every [`LinkConfig::poll_interval`](super::LinkConfig)), resumes
//! after `Last-Event-ID`, and ends once the flow has ended and every event
//! is sent, when the token stops working, or after
//! [`LinkConfig::stream_lifetime`](super::LinkConfig).

use super::error::ApiError;
use super::routes::link_token;
use super::token::LinkToken;
use super::LinkService;
use crate::dialect::flinks::ConnectEvents;
use crate::server::bearer;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// The query of the events route: a browser's `EventSource` cannot set
/// headers, so the link token may come as `?token=` here (and only here).
#[derive(Debug, serde::Deserialize)]
pub(super) struct EventsQuery {
    #[serde(default)]
    token: Option<String>,
    /// Whose event names: Mono's (the default) or Flinks Connect's.
    #[serde(default)]
    events: Names,
}

/// The vocabularies the stream speaks.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Names {
    /// Mono's public event names, the same objects `connectflow link --json`
    /// prints.
    #[default]
    Mono,
    /// Flinks Connect's steps ([`ConnectEvents`]), for dashboards built for
    /// the Flinks Connect iframe.
    Flinks,
}

/// The flow's events as they happen.
#[utoipa::path(get, path = "/link/v1/session/events", tag = "front-end",
    security(("link_token" = [])),
    params(
        ("token" = Option<String>, Query, description = "The link token, for clients that cannot set headers (EventSource)"),
        ("events" = Option<String>, Query, description = "`mono` (default): Mono's event names; `flinks`: Flinks Connect's steps (`COMPONENT_LOAD_MFA`, ..., `REDIRECT` with the LoginId in its `url`)"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `event:` is Mono's event name (or Flinks Connect's step), `data:` the event as JSON, `id:` its position in the flow's events (none on Flinks' screen events)", content_type = "text/event-stream", body = String),
        (status = 401, description = "No valid link token", body = super::ErrorBody),
    ))]
pub(super) async fn events(
    State(link): State<Arc<LinkService>>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Response {
    let token = match (bearer(&headers), query.token.as_deref()) {
        (Some(_), _) => link_token(&headers),
        (None, Some(t)) => LinkToken::parse(t).ok_or(ApiError::Unauthorized),
        (None, None) => Err(ApiError::Unauthorized),
    };
    let token = match token {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    // Refuse a bad token with a status, not an empty stream.
    if let Err(e) = link.authorize_shared(&token).await {
        return e.into_response();
    }
    let from = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(0, |id| id + 1);
    let deadline = tokio::time::Instant::now() + link.config().stream_lifetime;
    let flinks = match query.events {
        Names::Mono => None,
        Names::Flinks => Some(ConnectEvents::default()),
    };
    let state = Poll {
        link,
        token,
        next: from,
        queue: VecDeque::new(),
        done: false,
        deadline,
        flinks,
        primed: false,
        screens_sent: None,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        let event = s.next_event().await?;
        Some((Ok::<_, Infallible>(event), s))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

struct Poll {
    link: Arc<LinkService>,
    token: LinkToken,
    next: u64,
    queue: VecDeque<SseEvent>,
    done: bool,
    deadline: tokio::time::Instant,
    /// Flinks Connect's translator, when asked for its names.
    flinks: Option<ConnectEvents>,
    /// Whether the translator has read the events before `next` (a resumed
    /// stream must still know the institution chosen earlier).
    primed: bool,
    /// The absolute number of the next Flinks screen to send (`None`
    /// before the first read); screens trimmed from the record's front are
    /// counted by its `first_screen`.
    screens_sent: Option<u64>,
}

impl Poll {
    /// The next event to send, waiting for one; `None` ends the stream.
    async fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Some(e);
            }
            if self.done || tokio::time::Instant::now() >= self.deadline {
                return None;
            }
            // A token that stops working (expired, record gone) ends it.
            let (_, session) = self.link.authorize_shared(&self.token).await.ok()?;
            let state = &session.channel;
            match &mut self.flinks {
                None => {
                    for (id, event) in state.events_from(self.next) {
                        let data = event.to_json().to_string();
                        self.queue.push_back(
                            SseEvent::default()
                                .id(id.to_string())
                                .event(event.kind.name())
                                .data(data),
                        );
                    }
                }
                Some(flinks) => {
                    if !self.primed {
                        // Its REDIRECT goes where the host's would.
                        if let Some(url) = &state.redirect_url {
                            *flinks = ConnectEvents::new(url.clone());
                        }
                    }
                    let from = if self.primed { self.next } else { 0 };
                    // Screens not yet sent, by absolute number: on a fresh
                    // or resumed stream, those settled after the last event
                    // the client has (one may come again on a resume: at
                    // least once).
                    let first_kept = state.first_screen;
                    let next_screen = match self.screens_sent {
                        Some(n) => n,
                        None => {
                            first_kept
                                + state
                                    .screens
                                    .iter()
                                    .take_while(|s| s.at < self.next)
                                    .count() as u64
                        }
                    };
                    let skip = usize::try_from(next_screen.saturating_sub(first_kept))
                        .unwrap_or(usize::MAX);
                    let mut screens = state.screens.iter().skip(skip).peekable();
                    let mut sent = next_screen.max(first_kept);
                    for (id, event) in state.events_from(from) {
                        // The screens settled among the events, in place.
                        while let Some(screen) = screens.next_if(|s| s.at <= id) {
                            self.queue.push_back(flinks_event(screen.value.clone()));
                            sent += 1;
                        }
                        let Some(value) = flinks.event(event) else {
                            continue;
                        };
                        if id >= self.next {
                            self.queue.push_back(flinks_event(value).id(id.to_string()));
                        }
                    }
                    for screen in screens {
                        self.queue.push_back(flinks_event(screen.value.clone()));
                        sent += 1;
                    }
                    self.primed = true;
                    self.screens_sent = Some(sent);
                }
            }
            self.next = self.next.max(state.next_event_id());
            self.done = session.is_finished() && session.claim().is_none();
            if self.queue.is_empty() && !self.done {
                tokio::time::sleep(self.link.config().poll_interval).await;
            }
        }
    }
}

/// A Flinks Connect event: named by its `step` (or, for a partner code, by
/// the code), with the whole object as data.
fn flinks_event(value: serde_json::Value) -> SseEvent {
    let name = value
        .get("step")
        .or_else(|| value.get("flinksCode"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("message")
        .to_owned();
    SseEvent::default().event(name).data(value.to_string())
}
