//! Plain HTTP values a dialect reads and writes: no client, no server.

use crate::form::Secret;
use std::fmt;

/// The HTTP methods the partners' connect APIs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: reads (institution list).
    Get,
    /// `POST`: everything that changes partner state.
    Post,
    /// `DELETE`: unlinking, re-auth clean-up.
    Delete,
    /// `PATCH`: changing part of a resource (a partner's app).
    Patch,
}

impl Method {
    /// The method as it appears on the request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request header value. API keys are [`Secret`]s so that logging a request
/// cannot leak them; the driver calls [`HeaderValue::expose`] only when it
/// writes the header to the socket.
#[derive(Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// An ordinary value (content type, session id).
    Plain(String),
    /// A credential (Mono's `mono-sec-key`); redacted in `Debug`.
    Secret(Secret),
}

impl HeaderValue {
    /// The value to put on the wire.
    pub fn expose(&self) -> &str {
        match self {
            HeaderValue::Plain(s) => s,
            HeaderValue::Secret(s) => s.expose(),
        }
    }
}

impl fmt::Debug for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderValue::Plain(s) => fmt::Debug::fmt(s, f),
            HeaderValue::Secret(_) => f.write_str("\"***\""),
        }
    }
}

/// An HTTP request to make, without the host: the driver owns the base URL so
/// that the same encoding targets live, sandbox or a local test server.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// Path plus query string, starting with `/`.
    pub path: String,
    /// Headers in the order they should be sent; names are lower case.
    pub headers: Vec<(&'static str, HeaderValue)>,
    /// The body, when there is one (JSON for every Mono POST).
    pub body: Option<Vec<u8>>,
}

impl HttpRequest {
    /// The value of the header `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Never prints secret header values nor the body: login and commit bodies
/// carry passwords, PINs and OTPs, and requests end up in logs.
impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a [(&'static str, HeaderValue)]);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(n, v)| (n, v)))
                    .finish()
            }
        }
        struct Body(Option<usize>);
        impl fmt::Debug for Body {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0 {
                    Some(n) => write!(f, "{n} bytes"),
                    None => f.write_str("none"),
                }
            }
        }
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &Headers(&self.headers))
            .field("body", &Body(self.body.as_ref().map(Vec::len)))
            .finish()
    }
}

/// An HTTP response as the driver received it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers as received (names in any case).
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a status and body and no headers (tests, sandbox).
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `s` percent-encoded: every byte but RFC 3986's unreserved characters,
/// so that a value put in a request line (an identifier a partner issued,
/// as a path segment; a configured scope, as a query value) cannot add a
/// segment, a query or a fragment to it. What no encoding makes a path
/// segment of (empty, `.`, `..`: URL parsers remove dot segments, `%2E`
/// spelled or not) is the caller's to refuse.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
