//! `GET /link/v1/session/events`: the flow's events as Server-Sent Events,
//! Mono's public names with `reference` and `timestamp` (the objects
//! `connectflow link --json` prints).
//!
//! Events live in the session record, so the stream reads the store, not
//! this process's memory: it shows what any instance's turn recorded. It
//! polls (every [`LinkConfig::poll_interval`](super::LinkConfig)), resumes
//! after `Last-Event-ID`, and ends once the flow has ended and every event
//! is sent, when the token stops working, when the server begins to shut
//! down (`EventSource` reconnects, to another instance), or after
//! [`LinkConfig::stream_lifetime`](super::LinkConfig).
//!
//! A stream also moves the flow as a `GET /link/v1/session` would, when
//! that read would: a deadline passed (a Flinks `202` poll, a bank-list
//! retry) or a call claimed by an instance that died. A front-end that only
//! listens therefore still sees the flow go on; which deadline is next is
//! read once per record version, not on every poll.

use super::error::ApiError;
use super::routes::link_token;
use super::token::LinkToken;
use super::LinkService;
use crate::dialect::flinks::ConnectEvents;
use crate::server::bearer;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Event streams one session may hold open at once: a page and a
/// reconnecting tab or two. Each stream holds a connection for up to its
/// lifetime, kept alive by its heartbeat, so without a cap one token (a URL
/// anyone holding it can open) could take every connection the server
/// accepts. Past the cap the oldest stream is ended, not the new one
/// refused: `EventSource` gives up for good on a refusal, and after a few
/// network blips a phone's half-open streams (alive here until a heartbeat
/// fails to go out) would otherwise hold every place its reconnects need.
pub(crate) const STREAMS_PER_SESSION: usize = 4;

/// The streams open, by session id: each one's number and the flag that
/// tells it to end.
pub(crate) type OpenStreams = HashMap<String, VecDeque<(u64, Arc<AtomicBool>)>>;

/// One open stream of a session, counted in [`LinkService::streams`]
/// until it is dropped (the stream ended, or its client went away).
struct StreamSlot {
    link: Arc<LinkService>,
    id: String,
    number: u64,
    /// Set when a newer stream of the session took this one's place.
    displaced: Arc<AtomicBool>,
}

impl StreamSlot {
    /// A place for a new stream of session `id`, the oldest of its streams
    /// told to end when it has them all.
    fn take(link: &Arc<LinkService>, id: &str) -> StreamSlot {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let displaced = Arc::new(AtomicBool::new(false));
        let mut open = link
            .streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let list = open.entry(id.to_owned()).or_default();
        while list.len() >= STREAMS_PER_SESSION {
            if let Some((_, oldest)) = list.pop_front() {
                oldest.store(true, Ordering::SeqCst);
            }
        }
        list.push_back((number, Arc::clone(&displaced)));
        StreamSlot {
            link: Arc::clone(link),
            id: id.to_owned(),
            number,
            displaced,
        }
    }

    /// Whether a newer stream of the session took this one's place.
    fn displaced(&self) -> bool {
        self.displaced.load(Ordering::SeqCst)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self
            .link
            .streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(list) = open.get_mut(&self.id) {
            list.retain(|(number, _)| *number != self.number);
            if list.is_empty() {
                open.remove(&self.id);
            }
        }
    }
}

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
        ("events" = Option<String>, Query, description = "`mono` (default): Mono's event names; `flinks`: Flinks Connect's steps (`COMPONENT_LOAD_MFA`, ..., `REDIRECT`, its `url` with the institution and `tag`, and the LoginId only where the server was started with `--flinks-redirect-login-id`)"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `event:` is Mono's event name (or Flinks Connect's step), `data:` the event as JSON, `id:` its position in the flow's events (none on Flinks' screen events, except that a finished flow's Flinks stream ends on the flow's last event id, alone if nothing is left to send)", content_type = "text/event-stream", body = String),
        (status = 204, description = "The flow has finished and has no event after `Last-Event-ID`: nothing more will come (EventSource stops reconnecting)"),
        (status = 400, description = "A query that cannot be read (`events` neither `mono` nor `flinks`)", body = super::ErrorBody),
        (status = 401, description = "No valid link token", body = super::ErrorBody),
        (status = 503, description = "The session store is not available; try again", body = super::ErrorBody),
    ))]
pub(super) async fn events(
    State(link): State<Arc<LinkService>>,
    query: Result<Query<EventsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    // axum's own rejection is plain text; every link API answer is JSON.
    let Ok(Query(query)) = query else {
        return ApiError::BadRequest(
            "the query cannot be read: `token` once, `events` `mono` or `flinks`".into(),
        )
        .into_response();
    };
    let token = match (bearer(&headers), query.token.as_deref()) {
        (Some(_), _) => link_token(&headers),
        (None, Some(t)) => LinkToken::parse(t).ok_or(ApiError::Unauthorized),
        (None, None) => Err(ApiError::Unauthorized),
    };
    let token = match token {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let from = resume_from(&headers);
    // Refuse a bad token with a status, not an empty stream.
    match link.authorize_shared(&token).await {
        Err(e) => return e.into_response(),
        // A finished flow with nothing after what the client has: 204,
        // which tells `EventSource` to stop. A stream that just ends makes
        // it reconnect every few seconds, the token in its URL, until the
        // record expires.
        Ok((_, session))
            if session.is_finished() && session.channel.events_from(from).next().is_none() =>
        {
            return StatusCode::NO_CONTENT.into_response();
        }
        Ok(_) => {}
    }
    let slot = StreamSlot::take(&link, &token.id);
    let deadline = crate::service::deadline_in(link.config().stream_lifetime);
    let flinks = match query.events {
        Names::Mono => None,
        Names::Flinks => Some(ConnectEvents::default()),
    };
    let closing = link.closing.clone();
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
        next_deadline: None,
        slot,
        closing,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        let event = s.next_event().await?;
        Some((Ok::<_, Infallible>(event), s))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The first event id to send: the one after the client's `Last-Event-ID`,
/// or 0 without one (or with one that is not a number).
///
/// The header is the client's text: `u64::MAX` must not overflow (a panic
/// in debug builds, a replay of every event from 0 in release), so it
/// saturates, which sends no stored event (none has that id).
fn resume_from(headers: &HeaderMap) -> u64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(0, |id| id.saturating_add(1))
}

struct Poll {
    link: Arc<LinkService>,
    token: LinkToken,
    next: u64,
    /// Events to send, each with the `id:` it goes out with. The id is put
    /// on when the event is sent, not when it is queued: the last one of a
    /// finished Flinks stream is given the flow's last event id once the
    /// stream knows it is done (axum's `Event::id` may be set only once).
    queue: VecDeque<(SseEvent, Option<u64>)>,
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
    /// The flow's next deadline, as of the record version it was read at.
    next_deadline: Option<(crate::store::Version, Option<crate::flow::Timestamp>)>,
    /// This stream's place among its session's, given back when the
    /// stream is dropped; a newer stream may take it first.
    slot: StreamSlot,
    /// Cancelled when the server begins to shut down
    /// ([`LinkService::end_streams`]): the stream ends, so that the shutdown
    /// does not wait out its drain time for it.
    closing: CancellationToken,
}

impl Poll {
    /// The next event to send, waiting for one; `None` ends the stream.
    async fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            if let Some((event, id)) = self.queue.pop_front() {
                return Some(match id {
                    Some(id) => event.id(id.to_string()),
                    None => event,
                });
            }
            if self.slot.displaced() && !self.done {
                // A newer stream of the session took this one's place. Its
                // client is told to wait an hour before it reconnects
                // (`EventSource` honours `retry`), so that more listeners
                // than places do not displace one another in turn.
                self.done = true;
                self.queue.clear();
                return Some(
                    SseEvent::default()
                        .retry(Duration::from_secs(3600))
                        .comment("displaced by a newer stream of this session"),
                );
            }
            if self.done
                || self.closing.is_cancelled()
                || tokio::time::Instant::now() >= self.deadline
            {
                return None;
            }
            // A token that stops working (expired, record gone) ends it.
            let (version, mut session) = self.link.authorize_shared(&self.token).await.ok()?;
            if self.wants_turn(version, &session).await {
                // What a `GET` does on this record: a turn, the view cached
                // as usual. A failure leaves the record as it was; the
                // stream goes on reading it. Within the streams' share of
                // turns (none free: the next poll tries again).
                if let Ok(_turn) = self.link.stream_turns.try_acquire() {
                    let _ = self.link.show(&self.token).await;
                    (_, session) = self.link.authorize_shared(&self.token).await.ok()?;
                }
            }
            let state = &session.channel;
            match &mut self.flinks {
                None => {
                    for (id, event) in state.events_from(self.next) {
                        let data = event.to_json().to_string();
                        self.queue.push_back((
                            SseEvent::default().event(event.kind.name()).data(data),
                            Some(id),
                        ));
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
                            self.queue
                                .push_back((flinks_event(screen.value.clone()), None));
                            sent += 1;
                        }
                        let Some(value) = flinks.event(event) else {
                            continue;
                        };
                        if id >= self.next {
                            self.queue.push_back((flinks_event(value), Some(id)));
                        }
                    }
                    for screen in screens {
                        self.queue
                            .push_back((flinks_event(screen.value.clone()), None));
                        sent += 1;
                    }
                    self.primed = true;
                    self.screens_sent = Some(sent);
                }
            }
            self.next = self.next.max(state.next_event_id());
            self.done = session.is_finished() && session.claim().is_none();
            if self.done && self.flinks.is_some() {
                self.cover_to(state.next_event_id());
            }
            if self.queue.is_empty() && !self.done {
                // Woken early by a shutdown, which the loop's next turn
                // sees.
                tokio::select! {
                    () = tokio::time::sleep(self.link.config().poll_interval) => {}
                    () = self.closing.cancelled() => {}
                }
            }
        }
    }
}

impl Poll {
    /// Ends a finished flow's Flinks stream on the flow's last event id
    /// (`next_event_id - 1`), so a client that got everything holds an id
    /// the events route answers `204` to.
    ///
    /// Flinks' names leave the flow's last events unnamed (`ACCOUNT_LINKED`,
    /// `SUCCESS` have no Flinks step) and its screens, the final `REDIRECT`
    /// among them, carry no id of their own; without this the client's
    /// `Last-Event-ID` stays below the flow's last event, and every
    /// reconnect replays the `REDIRECT` until the token expires. The id goes
    /// on the last event queued, which comes after everything the stream
    /// has to send (events and screens alike); with nothing queued it goes
    /// out alone (an `id:` without `data:` sets `EventSource`'s last id and
    /// fires no event).
    fn cover_to(&mut self, next_event_id: u64) {
        let Some(last) = next_event_id.checked_sub(1) else {
            return;
        };
        match self.queue.back_mut() {
            Some((_, id)) => *id = Some(last),
            None => self.queue.push_back((SseEvent::default(), Some(last))),
        }
    }

    /// Whether a read of the session would move it: a call claimed by an
    /// instance that died, or a deadline that has passed with no call in
    /// flight. A failed delivery is left to the service's background
    /// retries and the page's `GET` (a stream polls several times a
    /// second).
    async fn wants_turn(
        &mut self,
        version: crate::store::Version,
        session: &crate::service::Session<super::state::LinkState>,
    ) -> bool {
        if !session.channel.opened || session.is_finished() {
            return false;
        }
        let service = self.link.service();
        if session.claim().is_some() {
            return !service.claim_is_live(session);
        }
        let deadline = match self.next_deadline {
            Some((at, deadline)) if at == version => deadline,
            _ => {
                let Ok(flow) = service.restore(session).await else {
                    return false;
                };
                let deadline = flow.poll_timeout();
                self.next_deadline = Some((version, deadline));
                deadline
            }
        };
        deadline.is_some_and(|at| at <= service.now())
    }
}

/// The longest SSE event name sent. Flinks' own codes and steps are far
/// shorter; a longer name is no name a dashboard listens for.
const MAX_EVENT_NAME: usize = 64;

/// A Flinks Connect event: named by its `step` (or, for a partner code, by
/// the code), with the whole object as data.
///
/// A partner's code is kept verbatim when Flinks sends one we do not know
/// (`FlinksCode::Unknown`), so it may hold anything, a newline included;
/// axum's `Event::event` panics on CR or LF, and since the event is stored,
/// every reconnect would panic again. So only a name made of
/// [`is_event_name`]'s alphabet names the event; any other is sent as a
/// plain `message` (what a browser fires for an unnamed event), the code
/// still whole in the data.
fn flinks_event(value: serde_json::Value) -> SseEvent {
    let name = value
        .get("step")
        .or_else(|| value.get("flinksCode"))
        .and_then(serde_json::Value::as_str)
        .filter(|name| is_event_name(name))
        .unwrap_or("message")
        .to_owned();
    SseEvent::default().event(name).data(value.to_string())
}

/// Whether `name` may be an SSE `event:` name: 1 to [`MAX_EVENT_NAME`]
/// ASCII letters, digits and `_`, the alphabet of Flinks' codes and steps
/// (and nothing axum or an `EventSource` could trip on).
fn is_event_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_EVENT_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    /// The bytes a client receives for `event`.
    async fn wire(event: SseEvent) -> String {
        let stream = futures_util::stream::iter([Ok::<_, Infallible>(event)]);
        let body = Sse::new(stream).into_response().into_body();
        match axum::body::to_bytes(body, 64 * 1024).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => panic!("the stream could not be read: {e}"),
        }
    }

    /// Finding: a partner code with a newline (an unknown FlinksCode kept
    /// verbatim) panicked the `?events=flinks` handler on every reconnect.
    /// It is now a well-formed `message` event carrying the code intact.
    #[tokio::test]
    async fn a_partner_code_with_a_newline_is_a_message_event_not_a_panic() {
        for code in ["A\nB", "A\rB", "", "bad name", "Ü", &"X".repeat(65)] {
            let text = wire(flinks_event(json!({ "flinksCode": code }))).await;
            let lines: Vec<&str> = text.trim_end().lines().collect();
            assert_eq!(lines.len(), 2, "one event, two fields: {text:?}");
            assert_eq!(lines[0], "event: message", "{text:?}");
            let data = lines[1].strip_prefix("data: ").unwrap_or_default();
            let data: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
            assert_eq!(data["flinksCode"], code, "the code is kept: {text:?}");
        }
        // A code of Flinks' own alphabet still names its event.
        let text = wire(flinks_event(json!({ "flinksCode": "INVALID_LOGIN" }))).await;
        assert!(text.starts_with("event: INVALID_LOGIN\n"), "{text:?}");
        let text = wire(flinks_event(json!({ "step": "APP_MOUNTED" }))).await;
        assert!(text.starts_with("event: APP_MOUNTED\n"), "{text:?}");
    }

    /// Finding: `Last-Event-ID: 18446744073709551615` overflowed `id + 1`.
    /// It now resumes after the last possible id (nothing to replay), and a
    /// header that is not a number starts from the beginning.
    #[test]
    fn a_last_event_id_of_u64_max_does_not_overflow() {
        let from = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert("last-event-id", HeaderValue::from_static(value));
            resume_from(&headers)
        };
        assert_eq!(from("18446744073709551615"), u64::MAX);
        assert_eq!(from("5"), 6);
        assert_eq!(from("18446744073709551616"), 0);
        assert_eq!(from("-1"), 0);
        assert_eq!(resume_from(&HeaderMap::new()), 0);
    }
}
