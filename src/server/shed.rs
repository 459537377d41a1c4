//! Load shedding: past the in-flight limit a request is answered at once,
//! in the words its client understands.
//!
//! Invariant: a shed request never reaches the app and never waits for a
//! slot; a request that gets a slot holds it until its response is ready.
//! The slots are one semaphore shared by every route: the layer wraps the
//! whole router, outside its routing.
//!
//! Why not tower's `load_shed` with a `HandleErrorLayer`: the error handler
//! sees only the request's head, and a USSD gateway must be answered in its
//! own format with the session id from the body (Hubtel Programmable
//! Services echoes it). A gateway sent the JSON `503` that every API client
//! reads shows the person a network error, where an `END` screen says to
//! dial again (found in review: under overload every hop failed that way).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A [`tower::Layer`]: at most `slots`' permits of requests worked on at once.
#[derive(Debug, Clone)]
pub(crate) struct ShedLayer {
    slots: Arc<Semaphore>,
}

impl ShedLayer {
    pub(crate) fn new(max_in_flight: usize) -> ShedLayer {
        ShedLayer {
            slots: Arc::new(Semaphore::new(max_in_flight.max(1))),
        }
    }
}

impl<S> tower::Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            slots: Arc::clone(&self.slots),
        }
    }
}

/// The service [`ShedLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct Shed<S> {
    inner: S,
    slots: Arc<Semaphore>,
}

impl<S, B> tower::Service<Request<B>> for Shed<S>
where
    S: tower::Service<Request<B>, Response = Response, Error = Infallible>,
    B: http_body::Body<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ShedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> ShedFuture<S::Future> {
        match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(permit) => ShedFuture::Working {
                inner: self.inner.call(request),
                permit: Some(permit),
            },
            // Boxed: this path is the rare one, and the common one stays
            // free of an allocation.
            Err(_) => ShedFuture::Busy {
                reply: Box::pin(busy(request.map(Body::new))),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of a request given a slot, or of one shed.
    #[project = ShedProject]
    pub(crate) enum ShedFuture<F> {
        /// Given a slot: the app's response, the slot freed with it.
        Working { #[pin] inner: F, permit: Option<OwnedSemaphorePermit> },
        /// Shed: the busy reply.
        Busy { reply: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F> Future for ShedFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ShedProject::Working { inner, permit } => {
                let done = std::task::ready!(inner.poll(cx));
                permit.take();
                Poll::Ready(done)
            }
            ShedProject::Busy { reply } => reply.as_mut().poll(cx).map(Ok),
        }
    }
}

/// What a shed request is told: a USSD gateway its own `END` screen, every
/// other client the API's JSON error (`{"error": {"code": "busy", ...}}`,
/// like every other error it is sent, so a client reading the body as JSON
/// does not fail on it).
async fn busy(request: Request<Body>) -> Response {
    #[cfg(feature = "ussd")]
    let request = match crate::channel::ussd::busy(request).await {
        Ok(screen) => return screen,
        Err(request) => request,
    };
    drop(request);
    let body = serde_json::json!({"error": {
        "code": "busy", "message": "the server is busy; try again"}});
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}
