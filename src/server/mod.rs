//! Serving HTTP the one way every server in this crate does (the USSD and
//! link channels, `connectflow serve`, the sandbox): with limits.
//!
//! `axum::serve` alone waits forever for a client that sends its headers or
//! body one byte at a time, and accepts connections without bound. Here
//! every connection has:
//!
//! - a **header timeout** (hyper's, checked at the idle timeout's ticks
//!   rather than with a timer per request: `head_timer.rs`): a request's
//!   head, once begun, and a new connection's first byte must each arrive
//!   within it (cut off within one and a half of it);
//! - an **idle timeout**: a connection with no bytes read or written for
//!   this long is closed (a kept-alive socket nobody uses, a body that
//!   trickles);
//! - a **body timeout** and a **request timeout**: a whole request body
//!   must arrive within the one (else reading it fails, which its handler
//!   reports), a response must start within the other (else `503`). Both
//!   are armed only when the request is found waiting, so a request answered
//!   at once costs no timer;
//! - a **connection limit** (new connections wait for a slot) and an
//!   **in-flight request limit** (requests beyond it are refused at once, so
//!   load sheds instead of queueing without bound: a JSON `503`, or a USSD
//!   gateway's own `END` screen at its hop paths).
//!
//! [`shutdown_signal`] resolves on SIGINT or SIGTERM; [`serve`] then stops
//! accepting and lets connections finish their requests (up to
//! [`Limits::drain`]; connections still open then are closed). A streaming
//! response finishes only when its stream does: the link API's event
//! streams end on [`LinkService::end_streams`], which whoever shuts the
//! server down calls (`connectflow serve` does, on the signal).
//!
//! [`LinkService::end_streams`]: crate::channel::link::LinkService::end_streams

pub(crate) mod api_key;
pub(crate) mod deadline;
mod head_timer;
mod idle;
mod shed;
#[cfg(any(feature = "link", feature = "records"))]
mod unknown;

#[cfg(feature = "link")]
pub(crate) use api_key::bearer;
pub use api_key::ApiKey;
#[cfg(any(feature = "link", feature = "records"))]
pub(crate) use unknown::unknown_under;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The limits of a server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The request head (line and headers) must arrive within this (a
    /// head still incomplete is cut off within one and a half of it; a
    /// kept-alive connection waiting for its next head is closed then too).
    pub header_timeout: Duration,
    /// A request body must arrive within this.
    pub body_timeout: Duration,
    /// A response must start within this (long-poll and stream routes set
    /// their own, shorter, budgets).
    pub request_timeout: Duration,
    /// A connection with no traffic either way for this long (up to this
    /// and one tick more: the timer ticks at most half a header timeout
    /// apart rather than moving on every read and write) is closed. Never shorter than the request timeout (a
    /// request quietly being worked on must not lose its connection first):
    /// raised to it if set lower.
    pub idle_timeout: Duration,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// Requests in flight at once; more are answered at once: a JSON `503`,
    /// or at a USSD hop path a "busy, dial again" `END` screen in its
    /// gateway's format.
    pub max_in_flight: usize,
    /// On shutdown, how long open connections get to finish.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_in_flight: 1024,
            drain: Duration::from_secs(30),
        }
    }
}

/// Resolves when the process is asked to stop: SIGINT (Ctrl-C) or SIGTERM
/// (what a process manager or container runtime sends).
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves,
/// then stops accepting and waits (up to `limits.drain`) for open
/// connections to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = with_limits(app, &limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let tracker = tokio_util::task::TaskTracker::new();
    // Cancelled when shutdown begins: connections finish what they are
    // doing.
    let closing = CancellationToken::new();
    // Cancelled when the drain time is up: connections still open are
    // dropped, their handlers with them.
    let closed = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: back off a little
                // rather than spin, and keep serving.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let idle = limits
            .idle_timeout
            .max(limits.request_timeout + Duration::from_secs(1));
        // Ticking at most half a header timeout apart: the ticks are what
        // cut off a head not read in time (`head_timer.rs`), and a
        // connection that never sends its first byte (`idle.rs`).
        let io = TokioIo::new(idle::IdleTimeout::new(stream, idle, limits.header_timeout));
        let service = hyper::service::service_fn({
            let app = app.clone();
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                // Handlers that limit by source (the USSD gateway's
                // allow-list and rate limits) read it from here.
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(request)
            }
        });
        let header_timeout = limits.header_timeout;
        let (closing, closed) = (closing.clone(), closed.clone());
        tracker.spawn(async move {
            let _permit = permit;
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(head_timer::HeadTimer)
                .header_read_timeout(header_timeout);
            let connection = builder.serve_connection_with_upgrades(io, service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = closing.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        () = closed.cancelled() => {}
                    }
                }
            }
        });
    }
    drop(listener);
    closing.cancel();
    tracker.close();
    if tokio::time::timeout(limits.drain, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("shutdown: connections still open after the drain time; closing them");
        // Each task drops its connection at once on this.
        closed.cancel();
        tracker.wait().await;
    }
    Ok(())
}

/// `app` within the in-flight limit and the request and body timeouts.
///
/// Around the router, not through `Router::layer`: that wraps every route
/// in the layers on its own, and a request then passes through one more
/// boxed, cloned service and one more boxed future (an allocation each) on
/// its way to the handler. Here a request meets the limits once, before
/// routing, as hyper gives it: its body is boxed once, with its deadline.
fn with_limits(app: Router, limits: &Limits) -> shed::Shed<deadline::Deadline<Router>> {
    tower::ServiceBuilder::new()
        // Beyond the in-flight limit: refuse at once (load shed) rather
        // than queue without bound; `shed.rs` says in what words.
        .layer(shed::ShedLayer::new(limits.max_in_flight))
        .layer(deadline::DeadlineLayer {
            request: limits.request_timeout,
            body: limits.body_timeout,
        })
        .service(app)
}
