//! The link API's credentials: link tokens (front-end), public tokens
//! (returned on success, redeemed by the host) and the host's API key.
//!
//! A link token is `lt_<id>_<secret>`: the id names the session record
//! (`link:<id>`), the secret proves the bearer may drive it. The record
//! keeps only SHA-256 of the secret, compared in constant time, so a
//! record read from a shared store (or its key names listed) grants
//! nothing. The secret is 256 random bits from the OS (two v4 UUIDs' worth
//! of 122 bits each, 244 bits: well past the 128 a guess would need).
//!
//! The public token is derived from the link token's secret
//! (`pt_<id>_<HMAC-SHA256(secret, "public_token")>`), so neither token is
//! ever stored: a request that holds the link token can show the public
//! token, and the record holds only the public token's hash for the host's
//! exchange call.

use crate::form::Secret;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

// The prefixes `server::ApiKey` refuses, so a key never parses as a token.
const LINK_PREFIX: &str = crate::server::api_key::TOKEN_PREFIXES[0];
const PUBLIC_PREFIX: &str = crate::server::api_key::TOKEN_PREFIXES[1];

/// The store key of the session a token id names.
pub(crate) fn session_key(id: &str) -> String {
    // Concatenated, not `format!`: every request of the API makes it.
    let mut key = String::with_capacity(5 + id.len());
    key.push_str("link:");
    key.push_str(id);
    key
}

/// A link token, parsed (not yet verified against its record).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct LinkToken {
    /// Names the session record.
    pub(crate) id: String,
    secret: Secret,
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkToken")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl LinkToken {
    /// A fresh token.
    pub(crate) fn generate() -> LinkToken {
        LinkToken {
            id: random_hex(1),
            secret: Secret::new(random_hex(2)),
        }
    }

    /// Parses `lt_<id>_<secret>`; `None` for anything else (an API key, a
    /// public token, garbage).
    pub(crate) fn parse(text: &str) -> Option<LinkToken> {
        let (id, secret) = split(text, LINK_PREFIX)?;
        Some(LinkToken {
            id: id.to_owned(),
            secret: Secret::new(secret),
        })
    }

    /// The token as handed to the host.
    pub(crate) fn expose(&self) -> String {
        format!("{LINK_PREFIX}{}_{}", self.id, self.secret.expose())
    }

    /// What the record keeps: SHA-256 of the secret, hex.
    pub(crate) fn hash(&self) -> String {
        sha256_hex(self.secret.expose().as_bytes())
    }

    /// A key only the token's holder has: the record keeps the secret's
    /// hash, never the secret, so what is keyed with it cannot be
    /// recomputed from a stored record.
    pub(crate) fn mac_key(&self) -> &[u8] {
        self.secret.expose().as_bytes()
    }

    /// True when `stored` (from [`hash`](Self::hash)) is this token's, in
    /// constant time.
    pub(crate) fn matches(&self, stored: &str) -> bool {
        bool::from(self.hash().as_bytes().ct_eq(stored.as_bytes()))
    }

    /// The public token this link token's session shows on success.
    pub(crate) fn public_token(&self) -> PublicToken {
        let key = self.secret.expose().as_bytes();
        // HMAC takes keys of any length, so the fallback is never taken; it
        // would still be a one-way function of the secret.
        let tag = match Hmac::<Sha256>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(b"public_token");
                digest_hex(&mac.finalize().into_bytes())
            }
            Err(_) => sha256_hex(&[b"public_token:".as_slice(), key].concat()),
        };
        PublicToken {
            id: self.id.clone(),
            secret: Secret::new(tag),
        }
    }
}

/// A public token, parsed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PublicToken {
    /// Names the session record.
    pub(crate) id: String,
    secret: Secret,
}

impl std::fmt::Debug for PublicToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicToken")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl PublicToken {
    /// Parses `pt_<id>_<secret>`.
    pub(crate) fn parse(text: &str) -> Option<PublicToken> {
        let (id, secret) = split(text, PUBLIC_PREFIX)?;
        Some(PublicToken {
            id: id.to_owned(),
            secret: Secret::new(secret),
        })
    }

    /// The token as shown to the front-end.
    pub(crate) fn expose(&self) -> String {
        format!("{PUBLIC_PREFIX}{}_{}", self.id, self.secret.expose())
    }

    /// What the record keeps.
    pub(crate) fn hash(&self) -> String {
        sha256_hex(self.secret.expose().as_bytes())
    }

    /// True when `stored` is this token's hash, in constant time.
    pub(crate) fn matches(&self, stored: &str) -> bool {
        bool::from(self.hash().as_bytes().ct_eq(stored.as_bytes()))
    }
}

/// `<prefix><id>_<secret>` with both parts non-empty hex.
fn split<'a>(text: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = text.trim().strip_prefix(prefix)?;
    let (id, secret) = rest.split_once('_')?;
    let hexy =
        |s: &str| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hexy(id) && hexy(secret)).then_some((id, secret))
}

/// `n` v4 UUIDs as hex: 122 random bits from the OS each.
pub(crate) fn random_hex(n: usize) -> String {
    (0..n)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    digest_hex(&Sha256::digest(bytes))
}

/// A 32-byte digest as lower-case hex. Every link request hashes its token:
/// `hex::encode` builds its string a `char` at a time, 1,300 instructions a
/// request more than encoding into a buffer (served callgrind).
pub(crate) fn digest_hex(digest: &[u8]) -> String {
    let mut out = [0u8; 64];
    match hex::encode_to_slice(digest, &mut out) {
        // ASCII by construction.
        Ok(()) => std::str::from_utf8(&out)
            .map(str::to_owned)
            .unwrap_or_default(),
        // Not 32 bytes: not reached with SHA-256 or its HMAC.
        Err(_) => hex::encode(digest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ApiKey;

    #[test]
    fn a_token_round_trips_and_only_its_own_hash_matches() {
        let token = LinkToken::generate();
        let text = token.expose();
        assert!(text.starts_with("lt_") && text.len() > 90, "{text}");
        let parsed = LinkToken::parse(&text).unwrap();
        assert_eq!(parsed, token);
        assert!(parsed.matches(&token.hash()));
        assert!(!LinkToken::generate().matches(&token.hash()));
        assert!(!format!("{token:?}").contains(&text[36..]));
        // The public token is stable for a link token and parses as one.
        let public = token.public_token();
        assert_eq!(public, parsed.public_token());
        let again = PublicToken::parse(&public.expose()).unwrap();
        assert!(again.matches(&public.hash()));
        assert!(LinkToken::parse(&public.expose()).is_none());
        assert!(PublicToken::parse(&text).is_none());
    }

    /// What records keep is SHA-256 in lower-case hex: a stored hash
    /// written in another form would never match again.
    #[test]
    fn a_stored_hash_is_lower_case_hex_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn garbage_and_keys_are_not_tokens_and_tokens_are_not_keys() {
        for bad in [
            "",
            "lt_",
            "lt__",
            "lt_zz_11",
            "lt_11",
            "Bearer lt_1_2",
            "ck_abc",
        ] {
            assert!(LinkToken::parse(bad).is_none(), "{bad}");
        }
        let key = ApiKey::generate();
        assert!(LinkToken::parse(key.expose()).is_none());
        assert!(ApiKey::new(LinkToken::generate().expose()).is_none());
        assert!(ApiKey::new("  ").is_none());
        assert!(key.matches(key.expose()));
        assert!(!key.matches("ck_"));
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
    }
}
