//! The host application's API key: the one credential of every
//! server-to-server route `connectflow serve` answers (the link API's
//! `/link/v1/tokens` and `/link/v1/exchange`, the records' `/v2/`).
//!
//! One type, read once from [`ApiKey::ENV`], so the two APIs cannot drift
//! apart on what a key is: never blank, never shaped like one of the link
//! API's tokens (so a token can never pass for the key, nor the key for a
//! token), compared in constant time, redacted in `Debug`.

use crate::form::Secret;
use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

/// Prefixes reserved for the link API's tokens (link and public tokens).
pub(crate) const TOKEN_PREFIXES: [&str; 2] = ["lt_", "pt_"];

/// The host application's API key, sent as `Authorization: Bearer <key>`.
#[derive(Clone)]
pub struct ApiKey(Secret);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl ApiKey {
    /// The environment variable `connectflow serve` reads it from.
    pub const ENV: &'static str = "CONNECTFLOW_API_KEY";

    /// `key` (trimmed) as the API key; `None` when it is blank or starts
    /// like a link API token.
    pub fn new(key: impl Into<Secret>) -> Option<ApiKey> {
        // Trimmed: a key read from a file or a mounted secret often ends in
        // a newline, which no request's header can carry (`bearer` trims
        // what it reads), so an untrimmed key would refuse every call.
        let text = key.into().expose().trim().to_owned();
        let usable = !text.is_empty() && !TOKEN_PREFIXES.iter().any(|p| text.starts_with(p));
        usable.then(|| ApiKey(Secret::new(text)))
    }

    /// A fresh key (`ck_` and 244 random bits from the OS), for a server
    /// started without one.
    pub fn generate() -> ApiKey {
        let random: String = (0..2)
            .map(|_| uuid::Uuid::new_v4().simple().to_string())
            .collect();
        ApiKey(Secret::new(format!("ck_{random}")))
    }

    /// The key, to print once at startup.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// True when `given` is the key, in constant time.
    pub fn matches(&self, given: &str) -> bool {
        bool::from(given.as_bytes().ct_eq(self.0.expose().as_bytes()))
    }

    /// True when `headers` carry the key as a bearer credential.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|given| self.matches(given))
    }
}

/// The bearer credential of a request (`Bearer` or `bearer`), trimmed.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_key_is_admitted_and_debug_hides_it() {
        let key = ApiKey::new("ck_right").expect("a usable key");
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer ck_right".parse().unwrap());
        assert!(key.admits(&headers));
        headers.insert(header::AUTHORIZATION, "Bearer ck_wrong".parse().unwrap());
        assert!(!key.admits(&headers));
        assert!(!format!("{key:?}").contains("right"));
        assert!(ApiKey::generate().expose().starts_with("ck_"));
    }

    /// A key read with a trailing newline (a mounted secret file) still
    /// admits the host that sends it: no header can carry the newline.
    #[test]
    fn a_key_read_with_surrounding_whitespace_is_trimmed() {
        let key = ApiKey::new(" ck_right\n").expect("a usable key");
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer ck_right".parse().unwrap());
        assert!(key.admits(&headers));
        assert_eq!(key.expose(), "ck_right");
    }
}
