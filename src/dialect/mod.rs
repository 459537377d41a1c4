//! Pure codecs between flow calls and partner HTTP.
//!
//! A [`Dialect`] turns a partner-neutral [`Call`] into an [`HttpRequest`] —
//! or answers it locally, when the partner has no endpoint for it — and an
//! [`HttpResponse`] back into a [`Reply`] or a [`CallError`]. It does no I/O
//! and reads no clock (the time is passed in), so the same codec serves the
//! async driver, the sandbox and the tests, and every wire quirk can be pinned
//! by a plain unit test.
//!
//! What a partner's codes mean is written once, in its folder:
//! [`mono`] (`99`/`101`/`102`/`400`), [`flinks`] (`200`/`203`/`202`/`401` and
//! the FlinksCodes).

use crate::flow::{Call, CallError, Reply, Timestamp};
use std::fmt;

mod bounds;
mod catalogue_file;
pub mod flinks;
mod http;
pub mod mono;
mod text;

pub use catalogue_file::CatalogueFile;
pub use flinks::{Flinks, FlinksConfig};
pub(crate) use http::percent_encode;
pub use http::{HeaderValue, HttpRequest, HttpResponse, Method};
pub use mono::{Mono, MonoConfig, MonoVersion};

/// What a dialect makes of a call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Encoded {
    /// Send this request and [`decode`](Dialect::decode) the response.
    Http(HttpRequest),
    /// No request: this is the reply (the partner has no endpoint for the
    /// call, and the dialect knows the answer).
    Local(Result<Reply, CallError>),
}

/// One partner's wire format.
///
/// Implementations are pure: the same input always gives the same output, so a
/// flow's behaviour can be replayed from recorded responses.
pub trait Dialect: Send + Sync + fmt::Debug {
    /// The partner's short name (`mono`, `flinks`): what records and stored
    /// sessions say a link went through.
    fn partner(&self) -> &'static str;

    /// The request for `call` at `now`, or its reply when no request is needed.
    fn encode(&self, call: &Call, now: Timestamp) -> Encoded;

    /// The reply to `call`, read from `response` received at `now`. Never
    /// panics, whatever the bytes: anything unreadable is
    /// [`CallError::Malformed`].
    fn decode(
        &self,
        call: &Call,
        response: &HttpResponse,
        now: Timestamp,
    ) -> Result<Reply, CallError>;
}
