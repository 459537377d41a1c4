//! MTN Nigeria's USSD link: the TCP connection we open to MTN's gateway,
//! kept logged in and alive, its hops served by the [`UssdService`] as any
//! gateway's are. The protocol itself (login, enquiries, refusals) is the
//! pure [`Protocol`]; this file is its socket, its clock and its tasks.
//!
//! MTN Nigeria calls no URL: a service provider connects to MTN's USSD
//! gateway, logs in with the account MTN provisions, and the sessions of
//! its code arrive over that connection. So `serve` dials out:
//!
//! ```text
//! connectflow serve --mtn-ng 10.1.2.3:7000 --mtn-ng-user USER --mtn-ng-application-id ID
//!   (password from CONNECTFLOW_MTN_NG_PASSWORD)
//! ```
//!
//! A connection that drops, goes silent or is refused is made again, after
//! a pause that doubles from 1 s to 30 s (to 5 minutes while the login is
//! refused; up to a quarter more at random; back to 1 s once one logs in).
//! Sessions survive it: they are in the store, keyed by MTN's session id,
//! and go on from their next hop (a screen in flight on the dropped
//! connection is lost with it).

use super::gateway::mtn_nigeria::packet::HEADER_LEN;
use super::gateway::mtn_nigeria::protocol::{feed, End, Hop, Login, Protocol};
use super::gateway::mtn_nigeria::MtnNigeria;
use super::gateway::{GatewayRequest, Screen};
use super::UssdService;
use crate::form::Secret;
use crate::metrics::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// Where `connectflow serve --mtn-ng` reads the account's password (an
/// environment variable: a flag would show in `ps`).
pub const MTN_NG_PASSWORD_ENV: &str = "CONNECTFLOW_MTN_NG_PASSWORD";

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one packet's write may take: a server that stops reading is a
/// dead connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause before the first reconnection, and the longest.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(30);
/// The longest pause after refused logins: an account whose password is
/// wrong is not worth a login every 30 s (nor is a lock-out by MTN).
const MAX_REFUSED_PAUSE: Duration = Duration::from_secs(300);
/// The shortest enquiry interval and answer wait (the builders clamp).
const MIN_ENQUIRY: Duration = Duration::from_millis(100);
const MAX_ENQUIRY: Duration = Duration::from_secs(3600);
/// On shutdown, how long hops in flight have to be answered.
const DRAIN: Duration = Duration::from_secs(5);

/// The link to MTN Nigeria's USSD gateway (see the module doc).
pub struct MtnNigeriaLink {
    addr: String,
    username: String,
    password: Secret,
    application_id: String,
    enquire_every: Duration,
    enquire_timeout: Duration,
    max_in_flight: usize,
    metrics: Option<LinkMetrics>,
}

/// What an operator watches: whether the link is up, how its connections
/// end, and hops turned away. A link down is a USSD code that answers no one.
#[derive(Clone)]
struct LinkMetrics {
    up: Gauge,
    ended: Family<OutcomeLabels, Counter>,
    busy: Counter,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    /// `refused`, `silent`, `out_of_step`, `closed`, `failed` or
    /// `unreachable` (no connection made).
    outcome: &'static str,
}

/// Why one connection ended.
enum Outcome {
    /// The protocol ended it.
    Ended(End),
    /// The server closed it.
    Closed,
    /// Reading or writing failed.
    Io(std::io::Error),
    /// We are shutting down.
    Shutdown,
}

impl std::fmt::Debug for MtnNigeriaLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtnNigeriaLink")
            .field("addr", &self.addr)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("application_id", &self.application_id)
            .finish_non_exhaustive()
    }
}

impl MtnNigeriaLink {
    /// A link to the gateway at `addr` (`host:port`), logging in as
    /// `username` of `application_id`. It enquires every 30 s, expecting an
    /// answer within 30 s, and serves at most 512 hops at once.
    pub fn new(
        addr: impl Into<String>,
        username: impl Into<String>,
        password: Secret,
        application_id: impl Into<String>,
    ) -> MtnNigeriaLink {
        MtnNigeriaLink {
            addr: addr.into(),
            username: username.into(),
            password,
            application_id: application_id.into(),
            enquire_every: Duration::from_secs(30),
            enquire_timeout: Duration::from_secs(30),
            max_in_flight: 512,
            metrics: None,
        }
    }

    /// Also in `/metrics`: `connectflow_mtn_ng_up` (1 while logged in),
    /// `connectflow_mtn_ng_connections_ended_total{outcome}` (`refused`,
    /// `silent`, `out_of_step`, `closed`, `failed`, `unreachable`) and
    /// `connectflow_mtn_ng_busy_total` (hops past the in-flight limit).
    pub fn with_metrics(mut self, metrics: &Metrics) -> MtnNigeriaLink {
        let m = LinkMetrics {
            up: Gauge::default(),
            ended: Family::default(),
            busy: Counter::default(),
        };
        metrics.register(
            "mtn_ng_up",
            "MTN Nigeria link logged in (1) or not (0)",
            m.up.clone(),
        );
        metrics.register(
            "mtn_ng_connections_ended",
            "MTN Nigeria link connections ended, by why",
            m.ended.clone(),
        );
        metrics.register(
            "mtn_ng_busy",
            "MTN Nigeria hops answered busy (past the in-flight limit)",
            m.busy.clone(),
        );
        self.metrics = Some(m);
        self
    }

    /// Counts a connection that ended with `outcome`; the link is down.
    fn ended(&self, outcome: &'static str) {
        if let Some(m) = &self.metrics {
            m.up.set(0);
            m.ended.get_or_create(&OutcomeLabels { outcome }).inc();
        }
    }

    /// Enquires whether the link is alive every `every`, and gives it up
    /// after `timeout` without an answer (at most `every`); both between
    /// 100 ms and an hour.
    pub fn enquire_every(mut self, every: Duration, timeout: Duration) -> MtnNigeriaLink {
        self.enquire_every = every.clamp(MIN_ENQUIRY, MAX_ENQUIRY);
        self.enquire_timeout = timeout.clamp(MIN_ENQUIRY, self.enquire_every);
        self
    }

    /// Serves at most `n` hops at once, over all of its connections (a
    /// dropped connection's hops still count until they finish); one more
    /// is answered with a polite "busy" end, as an HTTP gateway's hop past
    /// the server's limit is.
    pub fn max_in_flight(mut self, n: usize) -> MtnNigeriaLink {
        self.max_in_flight = n.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// Keeps the link up, serving its hops with `ussd`, until `shutdown`
    /// (then hops in flight have 5 s to be answered).
    pub async fn run(self, ussd: Arc<UssdService>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.max_in_flight));
        let mut pause = FIRST_PAUSE;
        loop {
            let mut longest = MAX_PAUSE;
            let connected = tokio::select! {
                () = shutdown.cancelled() => return,
                c = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.addr)) => c,
            };
            match connected {
                Ok(Ok(stream)) => {
                    let (outcome, logged_in) =
                        self.connection(stream, &ussd, &slots, &shutdown).await;
                    if logged_in {
                        pause = FIRST_PAUSE;
                    }
                    match outcome {
                        Outcome::Shutdown => {
                            if let Some(m) = &self.metrics {
                                m.up.set(0);
                            }
                            return;
                        }
                        Outcome::Ended(End::Refused(why)) => {
                            self.ended("refused");
                            longest = MAX_REFUSED_PAUSE;
                            tracing::error!(gateway = "mtn-ng", addr = %self.addr, %why, "login refused")
                        }
                        Outcome::Ended(end) => {
                            self.ended(match end {
                                End::Silent(_) => "silent",
                                _ => "out_of_step",
                            });
                            tracing::warn!(gateway = "mtn-ng", addr = %self.addr, reason = %end, "connection dropped")
                        }
                        Outcome::Closed => {
                            self.ended("closed");
                            tracing::warn!(gateway = "mtn-ng", addr = %self.addr, "connection closed by the server")
                        }
                        Outcome::Io(e) => {
                            self.ended("failed");
                            tracing::warn!(gateway = "mtn-ng", addr = %self.addr, error = %e, "connection failed")
                        }
                    }
                }
                Ok(Err(e)) => {
                    self.ended("unreachable");
                    tracing::warn!(gateway = "mtn-ng", addr = %self.addr, error = %e, "cannot connect")
                }
                Err(_) => {
                    self.ended("unreachable");
                    tracing::warn!(gateway = "mtn-ng", addr = %self.addr, "connecting timed out")
                }
            }
            // Up to a quarter more, at random: instances that lost the link
            // together do not all dial again at the same moment.
            let jitter = pause.mul_f64((uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 4000.0);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause + jitter) => {}
            }
            pause = (pause * 2).min(longest);
        }
    }

    /// One connection, from its login until it ends; and whether it logged in.
    async fn connection(
        &self,
        stream: TcpStream,
        ussd: &Arc<UssdService>,
        slots: &Arc<Semaphore>,
        shutdown: &CancellationToken,
    ) -> (Outcome, bool) {
        let peer = stream.peer_addr().ok().map(|a| a.ip());
        // Screens are single small packets: sent at once, not batched.
        let _ = stream.set_nodelay(true);
        let (mut read, mut write) = stream.into_split();
        let login = Login {
            username: &self.username,
            password: self.password.expose(),
            application_id: &self.application_id,
        };
        let seed = uuid::Uuid::new_v4().as_u64_pair().0;
        let mut protocol = Protocol::new(
            Instant::now(),
            &login,
            self.enquire_every,
            self.enquire_timeout,
            seed,
        );
        // Replies of this connection's hops: one per hop holding a slot,
        // or a busy reply; so at most as many as there are slots, and one.
        let (replies, mut replied) = mpsc::unbounded_channel::<Vec<u8>>();
        let mut stream = Vec::with_capacity(4 * 1024);
        let mut logged_in = false;
        loop {
            // Time first: a server that keeps the socket readable must not
            // keep the login's or an enquiry's deadline from being judged.
            let now = Instant::now();
            if protocol.poll_timeout().is_some_and(|at| at <= now) {
                protocol.handle_timeout(now);
            }
            if let Some(end) = protocol.ended() {
                return (Outcome::Ended(end.clone()), logged_in);
            }
            if protocol.logged_in() && !logged_in {
                logged_in = true;
                if let Some(m) = &self.metrics {
                    m.up.set(1);
                }
                tracing::info!(gateway = "mtn-ng", addr = %self.addr, "logged in");
            }
            while let Some(bytes) = protocol.poll_transmit() {
                if let Err(e) = send(&mut write, &bytes).await {
                    return (Outcome::Io(e), logged_in);
                }
            }
            while let Some(hop) = protocol.poll_hop() {
                self.start(hop, ussd, peer, slots, &replies);
            }
            let wake = protocol.poll_timeout().map(tokio::time::Instant::from_std);
            stream.reserve(HEADER_LEN);
            tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    // Each hop in flight holds a sender of its own: once
                    // this one is gone, the channel closes with the last.
                    drop(replies);
                    drain(&mut replied, &mut write).await;
                    return (Outcome::Shutdown, logged_in);
                }
                Some(reply) = replied.recv() => {
                    if let Err(e) = send(&mut write, &reply).await {
                        return (Outcome::Io(e), logged_in);
                    }
                }
                n = read.read_buf(&mut stream) => match n {
                    Ok(0) => return (Outcome::Closed, logged_in),
                    Ok(_) => feed(&mut protocol, Instant::now(), &mut stream),
                    Err(e) => return (Outcome::Io(e), logged_in),
                },
                () = sleep_until(wake) => protocol.handle_timeout(Instant::now()),
            }
        }
    }

    /// Serves `hop` in a task of its own; its reply comes back on `replies`.
    fn start(
        &self,
        hop: Hop,
        ussd: &Arc<UssdService>,
        peer: Option<std::net::IpAddr>,
        slots: &Arc<Semaphore>,
        replies: &mpsc::UnboundedSender<Vec<u8>>,
    ) {
        let Ok(slot) = Arc::clone(slots).try_acquire_owned() else {
            tracing::warn!(gateway = "mtn-ng", "hop refused: too many in flight");
            if let Some(m) = &self.metrics {
                m.busy.inc();
            }
            let busy = Screen {
                text: super::server::BUSY.into(),
                end: true,
                masked: false,
            };
            if let Some(reply) = MtnNigeria::reply_to(&hop.packet, &busy) {
                let _ = replies.send(reply);
            }
            return;
        };
        let ussd = Arc::clone(ussd);
        let replies = replies.clone();
        tokio::spawn(async move {
            let request = GatewayRequest {
                body: hop.frame,
                peer,
                ..GatewayRequest::default()
            };
            let reply = ussd.hop(&MtnNigeria::default(), &request).await;
            // The connection may be gone: the session is in the store, and
            // MTN's next hop of it finds it there.
            let _ = replies.send(reply.body);
            drop(slot);
        });
    }
}

/// Writes the replies of hops still in flight until the last is written
/// (the channel closes), for at most [`DRAIN`].
async fn drain(replied: &mut mpsc::UnboundedReceiver<Vec<u8>>, write: &mut OwnedWriteHalf) {
    let by = tokio::time::Instant::now() + DRAIN;
    while let Ok(Some(reply)) = tokio::time::timeout_at(by, replied.recv()).await {
        if send(write, &reply).await.is_err() {
            return;
        }
    }
}

/// Writes one packet, within [`WRITE_TIMEOUT`].
async fn send(write: &mut OwnedWriteHalf, bytes: &[u8]) -> std::io::Result<()> {
    match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(bytes)).await {
        Ok(written) => written,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the server stopped reading",
        )),
    }
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
