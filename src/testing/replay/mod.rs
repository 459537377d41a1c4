//! [`ReplayPartner`]: a recorded transcript served as a partner on loopback.
//!
//! It answers the recorded requests in order, with no network and no
//! waiting. Time comes from the recording: drive the flow with the
//! partner's [`clock`](ReplayPartner::clock)
//! ([`Driver::with_timeline`](crate::driver::Driver::with_timeline)) and it
//! sees each reply at the time it came when recorded, and a deadline (a
//! status poll, a session expiry) is reached at once rather than slept
//! through — so an expiry path replays instantly and the same; a person's
//! action handed over at [`Driver::input_time`](crate::driver::Driver::input_time)
//! comes at the time it came when recorded. Each incoming request is checked against the recording modulo
//! placeholders; the first one that differs is not answered with the
//! recorded reply but with `409` and a readable diff, kept as the
//! [`Divergence`], and every request after it gets the same.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use connectflow::testing::{ReplayPartner, mono_driver};
//! use connectflow::driver::{Transcript, DriverConfig};
//! use connectflow::flow::{ConnectFlow, FlowConfig};
//!
//! let transcript = Transcript::load("tests/recordings/gtbank.jsonl".as_ref())?;
//! let partner = ReplayPartner::start(transcript).await?;
//! let driver = mono_driver(&partner.url(), DriverConfig::default())
//!     .with_timeline(partner.clock());
//! let mut flow = ConnectFlow::new(FlowConfig::default(), driver.now());
//! driver.run(&mut flow, &mut |_| {}).await?;
//! assert!(partner.divergence().is_none());
//! # Ok(()) }
//! ```

mod matcher;

use crate::driver::{Entry, Exchange, Timeline, Transcript};
use crate::flow::Timestamp;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use matcher::{fill, fill_str, match_json, match_str, Bindings};
use serde_json::Value;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// The first request that differed from the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Which recorded exchange (1-based `seq`) it should have matched.
    pub seq: u64,
    /// A readable account of the difference.
    pub diff: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exchange {}: {}", self.seq, self.diff)
    }
}

/// The time of a replay, taken from the recording (see
/// [`ReplayPartner::clock`]).
pub struct ReplayClock {
    shared: Arc<Shared>,
    /// The furthest deadline waited for, or person's action replayed.
    floor: AtomicU64,
    /// How many of the recording's inputs were handed over.
    inputs_taken: AtomicUsize,
}

impl fmt::Debug for ReplayClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayClock")
            .field("now", &Timeline::now(self))
            .finish()
    }
}

impl Timeline for ReplayClock {
    fn now(&self) -> Timestamp {
        let answered = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next;
        let x = &self.shared.exchanges;
        let recorded = match answered.checked_sub(1) {
            None => x.first().map_or(0, |e| e.at),
            Some(last) => x.get(last).map_or(0, |e| e.at.saturating_add(e.ms)),
        };
        Timestamp(recorded.max(self.floor.load(Ordering::SeqCst)))
    }

    fn until(&self, at: Timestamp) -> Duration {
        self.floor.fetch_max(at.0, Ordering::SeqCst);
        Duration::ZERO
    }

    /// The recording's next input ([`Entry::Input`]), in order: the
    /// clock moves to when the recording's person acted (a session they
    /// let expire on a form expires here too, before their action). A
    /// transcript without inputs (written before they were, version 1)
    /// leaves the clock where it is.
    fn input_at(&self) -> Timestamp {
        let taken = self.inputs_taken.fetch_add(1, Ordering::SeqCst);
        if let Some(&at) = self.shared.inputs.get(taken) {
            self.floor.fetch_max(at, Ordering::SeqCst);
        }
        self.now()
    }
}

/// How far a replay got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayStatus {
    /// Still waiting for recorded requests.
    Running,
    /// Every recorded exchange was answered.
    Finished,
    /// A request differed from the recording.
    Diverged,
}

struct Shared {
    exchanges: Vec<Exchange>,
    /// When the recording's person acted, in order.
    inputs: Vec<u64>,
    state: Mutex<Progress>,
    status: watch::Sender<ReplayStatus>,
}

#[derive(Default)]
struct Progress {
    next: usize,
    bindings: Bindings,
    divergence: Option<Divergence>,
}

/// A transcript served as a partner. Dropping it stops the server.
pub struct ReplayPartner {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for ReplayPartner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayPartner")
            .field("addr", &self.addr)
            .field("exchanges", &self.shared.exchanges.len())
            .finish_non_exhaustive()
    }
}

impl ReplayPartner {
    /// Serves `transcript` on a free loopback port.
    pub async fn start(transcript: Transcript) -> io::Result<ReplayPartner> {
        ReplayPartner::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), transcript).await
    }

    /// Serves `transcript` on `addr`.
    pub async fn start_on(addr: SocketAddr, transcript: Transcript) -> io::Result<ReplayPartner> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let exchanges: Vec<Exchange> = transcript.exchanges().cloned().collect();
        let inputs = transcript
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Input { at } => Some(*at),
                _ => None,
            })
            .collect();
        let (status, _) = watch::channel(if exchanges.is_empty() {
            ReplayStatus::Finished
        } else {
            ReplayStatus::Running
        });
        let shared = Arc::new(Shared {
            exchanges,
            inputs,
            state: Mutex::new(Progress::default()),
            status,
        });
        let router = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(ReplayPartner {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:49152`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The recording's clock, for the driver and the host of the replayed
    /// flow ([`Driver::with_timeline`](crate::driver::Driver::with_timeline);
    /// the host hands the flow each of the person's actions at
    /// [`Driver::input_time`](crate::driver::Driver::input_time), and fires
    /// the flow's deadlines at it first). Before the first exchange it
    /// stands at that exchange's time; once exchange *k* is answered, at the
    /// time its reply came when recorded (`at + ms`); a deadline the flow
    /// waits for moves it there at once, and so does each of the person's
    /// actions, to when the recording's person made theirs (in order; a
    /// session they let expire on a form expires in the replay too).
    pub fn clock(&self) -> Arc<ReplayClock> {
        Arc::new(ReplayClock {
            shared: Arc::clone(&self.shared),
            floor: AtomicU64::new(0),
            inputs_taken: AtomicUsize::new(0),
        })
    }

    /// The number of recorded exchanges.
    pub fn len(&self) -> usize {
        self.shared.exchanges.len()
    }

    /// True when the transcript has no exchanges.
    pub fn is_empty(&self) -> bool {
        self.shared.exchanges.is_empty()
    }

    /// How many recorded exchanges were answered so far.
    pub fn answered(&self) -> usize {
        self.lock().next
    }

    /// The first request that differed from the recording, if any.
    pub fn divergence(&self) -> Option<Divergence> {
        self.lock().divergence.clone()
    }

    /// Waits until every exchange was answered or a request diverged.
    pub async fn finished(&self) -> ReplayStatus {
        let mut rx = self.shared.status.subscribe();
        let status = rx
            .wait_for(|s| *s != ReplayStatus::Running)
            .await
            .map(|s| *s);
        status.unwrap_or(ReplayStatus::Running)
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for ReplayPartner {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let mut progress = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(d) = &progress.divergence {
        return diverged(d);
    }
    let Some(expected) = shared.exchanges.get(progress.next) else {
        return (
            StatusCode::GONE,
            format!("replay: the transcript ended; {method} {path} was not recorded"),
        )
            .into_response();
    };
    let mut bindings = progress.bindings.clone();
    if let Err(diff) = compare(expected, &method, &path, &headers, &body, &mut bindings) {
        let d = Divergence {
            seq: expected.seq,
            diff: format!(
                "expected {} {} ({}), got {method} {}:\n  {diff}",
                expected.method,
                expected.path,
                expected.call,
                fill_str(&path, &Bindings::new())
            ),
        };
        let response = diverged(&d);
        progress.divergence = Some(d);
        shared.status.send_replace(ReplayStatus::Diverged);
        return response;
    }
    progress.bindings = bindings;
    progress.next += 1;
    if progress.next == shared.exchanges.len() {
        shared.status.send_replace(ReplayStatus::Finished);
    }
    recorded_reply(expected, &progress.bindings)
}

fn compare(
    expected: &Exchange,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    b: &mut Bindings,
) -> Result<(), String> {
    if expected.method != method.as_str() {
        return Err(format!(
            "method: expected {}, got {method}",
            expected.method
        ));
    }
    if !match_str(&expected.path, path, b) {
        return Err(format!("path: expected {}, got {path}", expected.path));
    }
    for (name, value) in &expected.request_headers {
        let got = headers.get(name).and_then(|v| v.to_str().ok());
        match got {
            Some(got) if match_str(value, got, b) => {}
            Some(_) => return Err(format!("header {name}: expected {value}, got another")),
            None => return Err(format!("header {name}: missing")),
        }
    }
    let actual = (!body.is_empty()).then(|| {
        serde_json::from_slice::<Value>(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
    });
    match (&expected.request_body, &actual) {
        (None, None) => Ok(()),
        (Some(_), None) => Err("body: missing".into()),
        (None, Some(_)) => Err("body: not in the recording".into()),
        (Some(r), Some(a)) => match_json("body", r, a, b),
    }
}

fn recorded_reply(x: &Exchange, b: &Bindings) -> Response {
    let Some(status) = x.status else {
        // No reply was recorded (a timeout, a dropped connection): the
        // nearest an HTTP server can say it.
        return (
            StatusCode::GATEWAY_TIMEOUT,
            x.error.clone().unwrap_or_default(),
        )
            .into_response();
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match &x.response_body {
        None => Vec::new(),
        Some(Value::String(s)) => fill_str(s, b).into_bytes(),
        Some(v) => serde_json::to_vec(&fill(v, b)).unwrap_or_default(),
    };
    let mut response = (status, body).into_response();
    for (name, value) in &x.response_headers {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::try_from(name.as_str()),
            axum::http::HeaderValue::try_from(fill_str(value, b)),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}

fn diverged(d: &Divergence) -> Response {
    (
        StatusCode::CONFLICT,
        format!("replay diverged from the recording at {d}\n"),
    )
        .into_response()
}
