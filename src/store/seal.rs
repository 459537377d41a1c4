//! Sealed snapshots: what rests in a store is encrypted and authenticated.
//!
//! A snapshot held between two USSD screens can carry a PIN or an OTP the
//! person typed; a shared store (Redis) is read by operators, backups and
//! anything else on that network. [`Sealed`] encrypts every record with
//! XChaCha20-Poly1305 under a process-wide key and binds it to its store key
//! (as associated data), so a record is unreadable at rest, and a record that
//! was altered, copied to another session's key, or sealed under another key
//! is refused as [`StoreError::Tampered`] rather than returned.
//!
//! Sealed record layout: `1` (format version, one byte) | 24-byte nonce |
//! ciphertext with its 16-byte tag. The nonce is a 16-byte random prefix drawn
//! once per [`Sealer`] followed by a 64-bit counter: XChaCha's 192-bit nonce
//! is large enough that independently drawn prefixes never meet, which is
//! what lets any number of instances share one key without coordinating.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::XChaCha20Poly1305;

use super::{BoxFuture, Entry, SessionStore, StoreError, Version};

/// The environment variable [`Sealer::from_env`] reads.
pub const SEAL_KEY_ENV: &str = "CONNECTFLOW_SEAL_KEY";

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Why a key could not be loaded or a sealed record could not be opened.
///
/// Messages describe what is wrong with a key's *shape* and never contain
/// the key or any part of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The key text is not 64 hex characters nor standard base64 of 32 bytes.
    #[error("{SEAL_KEY_ENV}: {0}")]
    BadKey(&'static str),
    /// The sealed bytes failed authentication: too short, unknown format
    /// version, altered, bound to another store key, or sealed under another
    /// seal key. Which one is deliberately not said.
    #[error("sealed record failed authentication")]
    Tampered,
}

/// An XChaCha20-Poly1305 key that seals and opens records.
///
/// Cloning is cheap; each copy of the key is wiped from memory when dropped,
/// and `Debug` never prints it.
#[derive(Clone)]
pub struct Sealer {
    // Only the cipher is kept, not the raw key bytes: the cipher zeroises its
    // key on drop, a `[u8; 32]` field would not.
    cipher: XChaCha20Poly1305,
    nonces: std::sync::Arc<NonceSource>,
}

/// Nonces without a syscall per record: 16 random bytes drawn once per
/// sealer from the OS, then a 64-bit counter. XChaCha's 192-bit nonce makes
/// this the standard safe construction: two sealers (processes) with the same
/// key collide only if their random prefixes do (2^-128), and one sealer
/// never repeats a counter. A loaded USSD server seals twice per hop; a
/// `getrandom` call each time was a measurable share of its CPU.
struct NonceSource {
    prefix: [u8; 16],
    counter: std::sync::atomic::AtomicU64,
}

impl NonceSource {
    fn new() -> NonceSource {
        let random = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&random[..16]);
        NonceSource {
            prefix,
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn next(&self) -> chacha20poly1305::XNonce {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut nonce = [0u8; 24];
        nonce[..16].copy_from_slice(&self.prefix);
        nonce[16..].copy_from_slice(&n.to_le_bytes());
        nonce.into()
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer { key: <redacted> }")
    }
}

impl Sealer {
    /// A sealer with this 32-byte key.
    pub fn new(key: [u8; 32]) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(&key.into()),
            nonces: std::sync::Arc::new(NonceSource::new()),
        }
    }

    /// A sealer with a fresh random key from the OS.
    ///
    /// Records sealed with it cannot be opened by any other process (or after
    /// a restart), so it only suits a single-instance store that dies with the
    /// process anyway, such as [`MemoryStore`](super::MemoryStore).
    pub fn random() -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(&XChaCha20Poly1305::generate_key(&mut OsRng)),
            nonces: std::sync::Arc::new(NonceSource::new()),
        }
    }

    /// The sealer whose key is in `CONNECTFLOW_SEAL_KEY`: `Ok(None)` if the
    /// variable is unset, [`SealError::BadKey`] if it is set but is not 64 hex
    /// characters or standard base64 of 32 bytes (surrounding whitespace is
    /// ignored). Every instance sharing a store needs the same key.
    pub fn from_env() -> Result<Option<Sealer>, SealError> {
        match std::env::var(SEAL_KEY_ENV) {
            Ok(text) => text.parse().map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(SealError::BadKey("is not valid UTF-8")),
        }
    }

    /// Encrypts `plaintext` bound to `aad` (for [`Sealed`]: the store key).
    ///
    /// Returns an empty vector, which [`open`](Self::open) refuses, for input
    /// beyond the cipher's limit (about 256 GiB): it fails closed rather than
    /// panic or store anything in the clear.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        self.try_seal(aad, plaintext).unwrap_or_default()
    }

    fn try_seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = self.nonces.next();
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| SealError::Tampered)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Decrypts what [`seal`](Self::seal) produced with the same `aad`, or
    /// [`SealError::Tampered`] for anything else.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != FORMAT_V1 {
            return Err(SealError::Tampered);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| SealError::Tampered)
    }
}

impl FromStr for Sealer {
    type Err = SealError;

    /// Parses a key written as 64 hex characters (either case) or standard
    /// base64 (`+/`, padding optional) of exactly 32 bytes.
    fn from_str(text: &str) -> Result<Sealer, SealError> {
        parse_key(text.trim()).map(Sealer::new)
    }
}

fn parse_key(text: &str) -> Result<[u8; 32], SealError> {
    let bytes = text.as_bytes();
    match bytes.len() {
        0 => Err(SealError::BadKey("is empty")),
        64 => decode_hex(bytes),
        43 | 44 => decode_base64(bytes),
        _ => Err(SealError::BadKey(
            "must be 64 hex characters or base64 of 32 bytes (wrong length)",
        )),
    }
}

// Hand-written decoders: a key is the only thing decoded, both formats are a
// dozen lines, and a crate for each would be a dependency for those lines.
fn decode_hex(text: &[u8]) -> Result<[u8; 32], SealError> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let mut key = [0u8; 32];
    for (out, pair) in key.iter_mut().zip(text.chunks_exact(2)) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => *out = hi << 4 | lo,
            _ => return Err(SealError::BadKey("64 characters but not all hex digits")),
        }
    }
    Ok(key)
}

fn decode_base64(text: &[u8]) -> Result<[u8; 32], SealError> {
    const BAD: SealError = SealError::BadKey("not valid standard base64 of 32 bytes");
    fn sextet(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    // 32 bytes = 43 sextets (258 bits, the last 2 zero) + one `=` of padding.
    let body = match text {
        [body @ .., b'='] if body.len() == 43 => body,
        body if body.len() == 43 => body,
        _ => return Err(BAD),
    };
    let mut key = [0u8; 32];
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut n = 0;
    for &c in body {
        acc = acc << 6 | sextet(c).ok_or(BAD)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            if n < key.len() {
                key[n] = (acc >> bits) as u8;
                n += 1;
            }
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero, so each key has exactly one spelling.
    if n != key.len() || acc != 0 {
        return Err(BAD);
    }
    Ok(key)
}

/// A [`SessionStore`] that seals every record it writes into `inner` and
/// opens every record it reads, with the store key as associated data.
///
/// A record that fails to open is reported as [`StoreError::Tampered`]; its
/// bytes are never returned. Versions, TTLs and conflicts are the inner
/// store's, unchanged.
#[derive(Debug)]
pub struct Sealed<S> {
    inner: S,
    sealer: Sealer,
}

impl<S: SessionStore> Sealed<S> {
    /// Wraps `inner` so that what rests in it is sealed with `sealer`.
    pub fn new(inner: S, sealer: Sealer) -> Sealed<S> {
        Sealed { inner, sealer }
    }

    /// The wrapped store, which holds sealed bytes (for inspection and tests).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner store.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: SessionStore> SessionStore for Sealed<S> {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, StoreError>> {
        Box::pin(async move {
            let Some(record) = self.inner.get(key).await? else {
                return Ok(None);
            };
            match self.sealer.open(key.as_bytes(), &record.data) {
                Ok(data) => Ok(Some(Entry {
                    version: record.version,
                    data,
                })),
                Err(_) => {
                    // The key is left out: it may be built from a phone number.
                    tracing::warn!("a sealed session record failed authentication");
                    Err(StoreError::Tampered)
                }
            }
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move {
            let sealed = self
                .sealer
                .try_seal(key.as_bytes(), &data)
                .map_err(|_| StoreError::Backend("record too large to seal".into()))?;
            self.inner.compare_and_set(key, expected, sealed, ttl).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }
}

#[cfg(test)]
mod tests {

    /// Nonces come from a counter after a random prefix: a thousand seals of
    /// the same record must all differ, carry distinct nonces, and all open.
    #[test]
    fn counter_nonces_never_repeat_and_every_record_opens() {
        let sealer = Sealer::random();
        let clone = sealer.clone();
        let mut nonces = std::collections::HashSet::new();
        for i in 0..1000 {
            let s = if i % 2 == 0 { &sealer } else { &clone };
            let sealed = s.seal(b"key", b"PIN-4321");
            assert!(
                nonces.insert(sealed[1..25].to_vec()),
                "nonce repeated at {i}"
            );
            assert_eq!(s.open(b"key", &sealed).unwrap(), b"PIN-4321");
        }
        // Another sealer with the same key draws another prefix.
        let key = [7u8; 32];
        let (a, b) = (Sealer::new(key), Sealer::new(key));
        assert_ne!(a.seal(b"k", b"x")[1..17], b.seal(b"k", b"x")[1..17]);
    }

    use super::*;

    #[test]
    fn base64_matches_hex() {
        // 0x00..0x1f, in both spellings.
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let want: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(parse_key(hex).unwrap(), want);
        assert_eq!(parse_key(&hex.to_uppercase()).unwrap(), want);
        assert_eq!(parse_key(b64).unwrap(), want);
        assert_eq!(parse_key(&b64[..43]).unwrap(), want);
        // Non-zero leftover bits: a second spelling of a key, refused.
        assert!(parse_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=").is_err());
        assert!(parse_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-=").is_err());
    }
}
