//! The request and body timeouts, armed only when something waits.
//!
//! Invariant: a request that completes on its first poll (most of them: a
//! USSD hop, a link API read) costs no timer at all. The timer is created
//! the first time the request (or its body) is found pending, and from then
//! on the deadline is fixed: the request or the whole body must be done
//! within its budget of that moment.
//!
//! Why not tower-http's `TimeoutLayer` and `RequestBodyTimeoutLayer`: they
//! poll their timer before the work, so every request registered a timer
//! in tokio's wheel and removed it again (and the body layer did so once
//! per frame), which was a measurable share of a cheap request's time
//! (issue 13). The body layer also restarted its timer after every frame,
//! so a body trickled a byte at a time never timed out at all.

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use http_body::Frame;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// A timer armed on first need.
#[derive(Debug)]
struct Lazy {
    budget: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Lazy {
    fn new(budget: Duration) -> Lazy {
        Lazy {
            budget,
            sleep: None,
        }
    }

    /// Called when the guarded work is pending: arms the timer (once) and
    /// says whether its deadline has passed.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let budget = self.budget;
        self.sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(budget)))
            .as_mut()
            .poll(cx)
            .is_ready()
    }
}

/// A [`tower::Layer`]: a response must start within `request`, a request
/// body must arrive within `body` (an error from the body, which the
/// handler reading it reports).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeadlineLayer {
    pub(crate) request: Duration,
    pub(crate) body: Duration,
}

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            limits: *self,
        }
    }
}

/// The service [`DeadlineLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct Deadline<S> {
    inner: S,
    limits: DeadlineLayer,
}

impl<S, B> tower::Service<Request<B>> for Deadline<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>>,
    B: http_body::Body<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let budget = self.limits.body;
        let request = request.map(|body| {
            Body::new(BodyDeadline {
                inner: body,
                timer: Lazy::new(budget),
            })
        });
        ResponseFuture {
            inner: self.inner.call(request),
            timer: Lazy::new(self.limits.request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response, or `503` once the request's budget is spent.
    pub(crate) struct ResponseFuture<F> {
        #[pin]
        inner: F,
        timer: Lazy,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The work first: a request answered on its first poll never arms
        // the timer.
        if let Poll::Ready(r) = this.inner.poll(cx) {
            return Poll::Ready(r);
        }
        if this.timer.expired(cx) {
            let mut response = Response::new(Body::from("request timed out, try again"));
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return Poll::Ready(Ok(response));
        }
        Poll::Pending
    }
}

pin_project_lite::pin_project! {
    /// A body that must arrive, whole, within its budget from the first time
    /// it is waited for. It wraps the body as hyper gives it (boxed once, by
    /// `Body::new` around this, rather than once more inside it: each box
    /// is an allocation and a layer every frame is polled through).
    struct BodyDeadline<B> {
        #[pin]
        inner: B,
        timer: Lazy,
    }
}

/// What reading a body past its deadline returns.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub(crate) struct BodyTimedOut;

impl<B> http_body::Body for BodyDeadline<B>
where
    B: http_body::Body<Data = axum::body::Bytes>,
    B::Error: Into<axum::BoxError>,
{
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending if this.timer.expired(cx) => {
                Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
