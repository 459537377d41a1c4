//! Who may call the gateway routes: a shared secret token, and optionally
//! only from some networks.
//!
//! A gateway hop carries a phone number and a session id that anyone could
//! make up; without authentication, a made-up hop with a victim's number
//! was offered the victim's unfinished flow. Every hop must now present the
//! token the gateway's callback URL was configured with — as the `token`
//! query parameter (how Africa's Talking and Hubtel callback URLs carry it),
//! as `Authorization: Bearer`, or as the password of HTTP Basic — compared in constant time, from a source
//! address in the allow-list when one is set. Anything else is `401` and
//! touches no session.

use crate::form::Secret;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The environment variable holding the gateway token.
pub const GATEWAY_TOKEN_ENV: &str = "CONNECTFLOW_GATEWAY_TOKEN";

/// How gateway requests are authenticated.
#[derive(Clone)]
pub struct GatewayAuth {
    token: Secret,
    allow: Arc<Vec<IpNet>>,
}

impl std::fmt::Debug for GatewayAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayAuth")
            .field("token", &"***")
            .field("allow", &self.allow)
            .finish()
    }
}

impl GatewayAuth {
    /// Requests must carry `token` (empty tokens are refused: an empty
    /// token would let anyone in).
    pub fn token(token: impl Into<Secret>) -> Option<GatewayAuth> {
        let token = token.into();
        (!token.expose().trim().is_empty()).then(|| GatewayAuth {
            token,
            allow: Arc::new(Vec::new()),
        })
    }

    /// A fresh random token (128 bits, hex), for a server started without one.
    pub fn generate() -> GatewayAuth {
        GatewayAuth {
            token: Secret::new(uuid::Uuid::new_v4().simple().to_string()),
            allow: Arc::new(Vec::new()),
        }
    }

    /// Also require the source address to be in one of `networks`.
    pub fn allow(mut self, networks: Vec<IpNet>) -> GatewayAuth {
        self.allow = Arc::new(networks);
        self
    }

    /// The token, to print in a callback URL.
    pub fn expose_token(&self) -> &str {
        self.token.expose()
    }

    /// Whether a request with this query, `Authorization` header and peer is
    /// allowed.
    pub fn allows(
        &self,
        query: Option<&str>,
        authorization: Option<&str>,
        peer: Option<IpAddr>,
    ) -> bool {
        if !self.allow.is_empty() {
            // No known peer with an allow-list set: refused.
            let Some(ip) = peer else { return false };
            if !self.allow.iter().any(|net| net.contains(&ip)) {
                return false;
            }
        }
        // Borrowed, no copies: this runs on every hop.
        let from_query = query.and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v)
        });
        let from_header = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim);
        // HTTP Basic, the token as the password (any user name): for a
        // gateway whose callback settings offer only that. Infobip appends
        // the session and the call to the URL it is given, so a `?token=`
        // cannot follow it.
        let from_basic = authorization
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|pair| {
                let at = pair.iter().position(|&b| b == b':')?;
                Some(pair[at + 1..].to_vec())
            });
        let expected = self.token.expose().as_bytes();
        from_query
            .as_deref()
            .map(str::as_bytes)
            .into_iter()
            .chain(from_header.map(str::as_bytes))
            .chain(from_basic.as_deref())
            .any(|given| bool::from(given.ct_eq(expected)))
    }
}

/// The `401` a gateway route answers unless [`GatewayAuth::allows`] the
/// request; `None` when it may go on.
pub(crate) fn refused(auth: &GatewayAuth, request: &Request) -> Option<Response> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth.allows(request.uri().query(), authorization, peer) {
        None
    } else {
        tracing::warn!(peer = ?peer, "gateway request refused: no valid token or source");
        Some((StatusCode::UNAUTHORIZED, "unauthorized").into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_from_an_allowed_network_gets_in() {
        let auth = GatewayAuth::token("s3cret").unwrap();
        assert!(auth.allows(Some("token=s3cret"), None, None));
        assert!(auth.allows(Some("a=1&token=s3cret"), None, None));
        assert!(auth.allows(None, Some("Bearer s3cret"), None));
        assert!(!auth.allows(None, None, None));
        assert!(!auth.allows(Some("token=s3cre"), None, None));
        assert!(!auth.allows(Some("token="), Some("Bearer "), None));
        // HTTP Basic: the token as the password, whatever the user name
        // (`infobip:s3cret`, `:s3cret`); not as the user name, not garbled.
        assert!(auth.allows(None, Some("Basic aW5mb2JpcDpzM2NyZXQ="), None));
        assert!(auth.allows(None, Some("Basic OnMzY3JldA=="), None));
        assert!(!auth.allows(None, Some("Basic czNjcmV0Og=="), None));
        assert!(!auth.allows(None, Some("Basic czNjcmV0"), None));
        assert!(!auth.allows(None, Some("Basic !!!"), None));
        assert!(GatewayAuth::token("  ").is_none());
        let fenced = auth.allow(vec!["10.0.0.0/8".parse().unwrap()]);
        let inside: IpAddr = "10.1.2.3".parse().unwrap();
        let outside: IpAddr = "192.168.1.1".parse().unwrap();
        assert!(fenced.allows(Some("token=s3cret"), None, Some(inside)));
        assert!(!fenced.allows(Some("token=s3cret"), None, Some(outside)));
        assert!(!fenced.allows(Some("token=s3cret"), None, None));
        assert!(!format!("{fenced:?}").contains("s3cret"));
    }
}
