//! [`StubPartner`]: one scriptable partner server on loopback.
//!
//! The [sandbox](crate::sandbox) is a bank with rules; this is the opposite:
//! a server with no rules at all that answers each path exactly as the test
//! scripted it — a Mono reply, any status and body, bytes that are not JSON,
//! a connection dropped without an answer, an answer that never comes or
//! comes late — and records every request it receives, so a test can count
//! logins or read what a client sent.
//!
//! Out of the box it answers Mono v2's five connect-flow paths like a bank
//! that links every login at once: the catalogue it was started with, a
//! session [`SESSION_ID`](StubPartner::SESSION_ID), code
//! [`CODE`](StubPartner::CODE) for every login and commit, account
//! [`ACCOUNT_ID`](StubPartner::ACCOUNT_ID) for the exchange. Every reply is
//! built with [`crate::dialect::mono::wire`], so it is what the dialect reads.

use super::answer::{Answer, Kind};
use crate::dialect::mono::wire;
use crate::flow::{Catalogue, SessionInfo, Step};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use axum::Router;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// Request bodies larger than this are recorded empty (no test sends one).
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// One request the stub received, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The query string, without the `?`; empty when there was none.
    pub query: String,
    /// Every header, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header called `name` (any case), if it was sent as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, or `None` when it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// How one path is answered: scripted one-off answers first, in order,
/// then the standing answer for every request after them.
#[derive(Debug)]
struct Script {
    once: VecDeque<Answer>,
    standing: Answer,
}

#[derive(Debug)]
struct Shared {
    scripts: Mutex<HashMap<String, Script>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// Turns true when the stub stops: hung and delayed answers give up
    /// then, or a graceful shutdown would wait for them forever.
    closing: watch::Sender<bool>,
}

impl Shared {
    fn next_answer(&self, path: &str) -> Option<Answer> {
        let mut scripts = self.scripts.lock().unwrap_or_else(PoisonError::into_inner);
        let script = scripts.get_mut(path)?;
        Some(
            script
                .once
                .pop_front()
                .unwrap_or_else(|| script.standing.clone()),
        )
    }

    fn script(&self, path: &str, change: impl FnOnce(&mut Script)) {
        let mut scripts = self.scripts.lock().unwrap_or_else(PoisonError::into_inner);
        let script = scripts.entry(path.to_owned()).or_insert_with(|| Script {
            once: VecDeque::new(),
            standing: unscripted(),
        });
        change(script);
    }
}

/// What a path nobody scripted answers: Mono's `404` envelope.
fn unscripted() -> Answer {
    Answer::envelope(404, &wire::Envelope::failed("Route not found"))
}

/// A scriptable Mono partner on `127.0.0.1`, a free port. Stops when
/// dropped (or on [`shutdown`](StubPartner::shutdown), which also waits).
///
/// Each path has a standing answer and, in front of it, a queue of one-off
/// answers: [`answer`](StubPartner::answer) replaces the standing one,
/// [`answer_once`](StubPartner::answer_once) queues a one-off. Any path can
/// be scripted, not only Mono's, so the same stub serves as a webhook
/// receiver; a path with no standing answer gets Mono's `404` envelope.
/// Every request is recorded whatever it is answered, so
/// [`count`](StubPartner::count) is what the partner saw, including calls
/// whose connection was dropped.
///
/// ```
/// use connectflow::testing::{Answer, StubPartner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let partner = StubPartner::start().await?;
/// // The first list request fails, the ones after it succeed; every login
/// // is answered with an HTML page.
/// partner.answer_once(StubPartner::INSTITUTIONS, Answer::status(503, "down"));
/// partner.answer(StubPartner::LOGIN, Answer::garbage());
///
/// let client = reqwest::Client::new();
/// let list = format!("{}/v3/institutions", partner.url());
/// assert_eq!(client.get(&list).send().await.unwrap().status(), 503);
/// assert_eq!(client.get(&list).send().await.unwrap().status(), 200);
/// assert_eq!(partner.count(StubPartner::INSTITUTIONS), 2);
/// assert_eq!(partner.count(StubPartner::LOGIN), 0);
/// partner.shutdown().await;
/// # Ok(()) }
/// ```
pub struct StubPartner {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for StubPartner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StubPartner")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl StubPartner {
    /// `GET`: the institution list (the dialect adds `?scope=`).
    pub const INSTITUTIONS: &'static str = "/v3/institutions";
    /// `POST`: create a session.
    pub const SESSION: &'static str = "/v2/connect/session";
    /// `POST`: log in.
    pub const LOGIN: &'static str = "/v2/connect/login";
    /// `POST`: answer MFA or pick an account.
    pub const COMMIT: &'static str = "/v2/connect/commit";
    /// `POST`: exchange a code for an account id.
    pub const EXCHANGE: &'static str = "/v2/accounts/auth";

    /// The session id the default session answer carries.
    pub const SESSION_ID: &'static str = "sess_1";
    /// The code every login and commit links with by default.
    pub const CODE: &'static str = "code_1";
    /// The account id the default exchange answer carries.
    pub const ACCOUNT_ID: &'static str = "acc_1";

    /// A stub listing the [demo catalogue](super::catalogues::demo), on
    /// the current tokio runtime.
    pub async fn start() -> io::Result<StubPartner> {
        StubPartner::start_with(super::catalogues::demo()).await
    }

    /// A stub listing `catalogue`, on the current tokio runtime.
    pub async fn start_with(catalogue: Catalogue) -> io::Result<StubPartner> {
        StubPartner::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), catalogue).await
    }

    /// A stub listing `catalogue` on `addr` (a port that was down until
    /// now, say: a webhook receiver coming back), on the current tokio
    /// runtime.
    pub async fn start_on(addr: SocketAddr, catalogue: Catalogue) -> io::Result<StubPartner> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (closing, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            scripts: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            closing,
        });
        let session = SessionInfo {
            continuation: None,
            id: Self::SESSION_ID.into(),
            expires_at: None,
            form: None,
            institution: None,
        };
        let linked = Answer::step(&Step::code(Self::CODE));
        for (path, answer) in [
            (
                Self::INSTITUTIONS,
                Answer::institutions(catalogue.institutions()),
            ),
            (Self::SESSION, Answer::session(&session)),
            (Self::LOGIN, linked.clone()),
            (Self::COMMIT, linked),
            (Self::EXCHANGE, Answer::exchanged(Self::ACCOUNT_ID)),
        ] {
            shared.script(path, |s| s.standing = answer);
        }

        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared))
            .into_make_service_with_connect_info::<Connection>();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // `stopped` also resolves when the sender is dropped, which is
            // how dropping the handle stops the server.
            let _ = axum::serve(CuttableListener(listener), router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(StubPartner {
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

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on, requests to `path` get `answer` (after any one-off
    /// answers still queued for it).
    pub fn answer(&self, path: &str, answer: Answer) {
        self.shared.script(path, |s| s.standing = answer);
    }

    /// The next request to `path` gets `answer`, once; one-off answers are
    /// used in the order they were queued, before the standing answer.
    pub fn answer_once(&self, path: &str, answer: Answer) {
        self.shared.script(path, |s| s.once.push_back(answer));
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The requests received for `path`, in order of arrival.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        let mut requests = self.requests();
        requests.retain(|r| r.path == path);
        requests
    }

    /// How many requests `path` has received (answered or not).
    pub fn count(&self, path: &str) -> usize {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// Stops accepting connections, ends hung answers, and waits for the
    /// server to finish.
    pub async fn shutdown(mut self) {
        self.shared.closing.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for StubPartner {
    fn drop(&mut self) {
        // Hung answers end and the server shuts down in the background.
        self.shared.closing.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Every request: recorded, then answered as scripted.
async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let recorded = RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path: path.clone(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(name, value)| {
                let value = value.to_str().ok()?;
                Some((name.as_str().to_owned(), value.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    };
    shared
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(recorded);
    let answer = shared.next_answer(&path).unwrap_or_else(unscripted);

    let mut closing = shared.closing.subscribe();
    if !answer.delay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(answer.delay) => {}
            _ = closing.wait_for(|c| *c) => return connection.cut(),
        }
    }
    match answer.kind {
        Kind::Reply {
            status,
            content_type,
            body,
            location,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response =
                (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
            if let Some(value) = location.and_then(|l| l.parse().ok()) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Kind::Drop => connection.cut(),
        Kind::Hang => {
            let _ = closing.wait_for(|c| *c).await;
            connection.cut()
        }
    }
}

// ---- dropping a connection from inside a handler ---------------------------
//
// A handler cannot close its own connection: hyper owns the socket. So every
// accepted socket is wrapped in a `CuttableStream` whose `Cut` flag the
// handler reaches through `ConnectInfo`. Once cut, the stream fails every
// read and write: hyper's attempt to write the handler's response fails
// before a byte leaves, and hyper drops the socket — to the client, the
// connection closed with no answer.

#[derive(Debug, Default)]
struct Cut(AtomicBool);

/// The connection a request came on (what `ConnectInfo` hands a handler).
#[derive(Debug, Clone)]
struct Connection {
    cut: Arc<Cut>,
}

impl Connection {
    /// Marks the connection for closing; the returned response is never sent.
    fn cut(&self) -> Response {
        self.cut.0.store(true, Ordering::SeqCst);
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

impl Connected<IncomingStream<'_, CuttableListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, CuttableListener>) -> Connection {
        stream.remote_addr().clone()
    }
}

struct CuttableListener(TcpListener);

impl Listener for CuttableListener {
    type Io = CuttableStream;
    type Addr = Connection;

    async fn accept(&mut self) -> (CuttableStream, Connection) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let cut = Arc::new(Cut::default());
                    let connection = Connection {
                        cut: Arc::clone(&cut),
                    };
                    return (CuttableStream { stream, cut }, connection);
                }
                // Out of file descriptors or the like: wait rather than spin
                // (a test stub has no one to report the error to).
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Connection> {
        self.0.local_addr()?;
        Ok(Connection {
            cut: Arc::default(),
        })
    }
}

struct CuttableStream {
    stream: TcpStream,
    cut: Arc<Cut>,
}

impl CuttableStream {
    fn check(&self) -> io::Result<()> {
        if self.cut.0.load(Ordering::SeqCst) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "dropped by the stub partner's script",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
