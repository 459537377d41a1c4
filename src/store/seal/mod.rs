//! Sealed records: what rests in a store is encrypted and authenticated.
//!
//! A record held between two USSD screens can carry a PIN the person typed;
//! a shared store (Redis) is read by operators, backups and anything else on
//! that network. [`Sealed`] encrypts every record with XChaCha20-Poly1305
//! and binds it, as associated data, to its **store key** (which names the
//! record's kind: `ussd:…`, `ussd-phone:…`, `ussd-ended:…`, `link:…`) and its **version**.
//! A record altered, copied to another key, or written back over a newer
//! version (a replay of an old state, which could re-send a commit) does
//! not open.
//!
//! Keys rotate without downtime: a [`Sealer`] holds a key ring, newest
//! first. It seals with the newest and opens with whichever key a record
//! names by its key id; `CONNECTFLOW_SEAL_KEYS` lists the ring.
//!
//! Sealed record layout (format 2): `2` | key id (4 bytes) | 24-byte nonce |
//! ciphertext with its 16-byte tag. The nonce is a 16-byte random prefix
//! drawn once per [`Sealer`] followed by a 64-bit counter: XChaCha's 192-bit
//! nonce makes independently drawn prefixes never meet, so any number of
//! instances share a key without coordinating.

mod key;
mod sealed;
mod xchacha;

pub use sealed::Sealed;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use xchacha::{XKey, NONCE_LEN, PREFIX_LEN, TAG_LEN};

/// The environment variable holding one key.
pub const SEAL_KEY_ENV: &str = "CONNECTFLOW_SEAL_KEY";
/// The environment variable holding a key ring, newest first, separated by
/// commas or whitespace. Wins over [`SEAL_KEY_ENV`].
pub const SEAL_KEYS_ENV: &str = "CONNECTFLOW_SEAL_KEYS";

const FORMAT: u8 = 2;
const KEY_ID_LEN: usize = 4;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// Why a key could not be loaded or a sealed record could not be opened.
///
/// Messages describe what is wrong with a key's *shape* and never contain
/// the key or any part of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The key text is not 64 hex characters nor standard base64 of 32 bytes.
    #[error("{SEAL_KEY_ENV} / {SEAL_KEYS_ENV}: {0}")]
    BadKey(&'static str),
    /// The record was sealed with a key this sealer does not have (another
    /// deployment's, or one rotated out of the ring).
    #[error("sealed with a key this instance does not have (key id {0})")]
    UnknownKey(String),
    /// The sealed bytes failed authentication: too short, another format,
    /// altered, bound to another store key or version. Which one is
    /// deliberately not said.
    #[error("sealed record failed authentication")]
    Tampered,
}

/// A key ring of XChaCha20-Poly1305 keys that seals and opens records.
///
/// Cloning is cheap; each copy of a key is wiped from memory when dropped,
/// and `Debug` never prints one.
#[derive(Clone)]
pub struct Sealer {
    // Each key is wiped from memory on drop (xchacha.rs says what of its
    // derived subkey is not).
    keys: Arc<Vec<([u8; KEY_ID_LEN], XKey)>>,
    nonces: Arc<NonceSource>,
    /// Keys for blinding key names, derived one-way from each seal key,
    /// newest first: names are blinded with the first; the others find
    /// names blinded before a rotation.
    blind_keys: Arc<Vec<zeroize::Zeroizing<[u8; 32]>>>,
}

/// Nonces without a syscall per record: 16 random bytes drawn once per
/// sealer, then a 64-bit counter. A loaded USSD server seals on most hops; a
/// `getrandom` call each time was a measurable share of its CPU.
struct NonceSource {
    prefix: [u8; PREFIX_LEN],
    counter: AtomicU64,
}

impl NonceSource {
    fn new() -> Result<NonceSource, SealError> {
        Ok(NonceSource {
            prefix: random()?,
            counter: AtomicU64::new(0),
        })
    }

    fn next(&self) -> [u8; NONCE_LEN] {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..PREFIX_LEN].copy_from_slice(&self.prefix);
        nonce[PREFIX_LEN..].copy_from_slice(&n.to_le_bytes());
        nonce
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.keys.iter().map(|(id, _)| hex::encode(id)).collect();
        f.debug_struct("Sealer")
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

/// `N` bytes from the operating system's generator.
fn random<const N: usize>() -> Result<[u8; N], SealError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SealError::BadKey("the system's random generator failed"))?;
    Ok(bytes)
}

/// `part` as SipHash-2-4 (128 bits) keyed with `key`'s first half, hex,
/// prefixed `h`.
fn blind_with(key: &[u8; 32], part: &str) -> String {
    use siphasher::sip128::{Hasher128, SipHasher24};
    let mut k0 = [0u8; 16];
    k0.copy_from_slice(&key[..16]);
    let mut hasher = SipHasher24::new_with_key(&k0);
    std::hash::Hasher::write(&mut hasher, part.as_bytes());
    // `format!("h{:032x}")`, written out: this runs on every USSD hop,
    // and a `char` pushed at a time cost half of it (callgrind).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = hasher.finish128().as_u128();
    let mut out = [b'h'; 33];
    for (i, digit) in out[1..].iter_mut().enumerate() {
        *digit = HEX[((hash >> ((31 - i) * 4)) & 0xf) as usize];
    }
    // ASCII by construction: `from_utf8` cannot fail here.
    std::str::from_utf8(&out)
        .map(str::to_owned)
        .unwrap_or_default()
}

impl Sealer {
    /// A sealer with one key.
    pub fn new(key: [u8; 32]) -> Sealer {
        Sealer::ring(vec![key]).unwrap_or_else(|_| Sealer::random())
    }

    /// A sealer with a key ring, newest first: seals with the first, opens
    /// with any. Empty rings are refused.
    pub fn ring(keys: Vec<[u8; 32]>) -> Result<Sealer, SealError> {
        if keys.is_empty() {
            return Err(SealError::BadKey("the key ring is empty"));
        }
        let blind_keys = keys
            .iter()
            .map(|k| zeroize::Zeroizing::new(key::blind_key(k)))
            .collect();
        let nonces = NonceSource::new()?;
        let keys = keys
            .iter()
            .map(|k| {
                XKey::new(k, nonces.prefix)
                    .map(|x| (key::key_id(k), x))
                    .map_err(|_| SealError::BadKey("refused by the cipher"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Sealer {
            keys: Arc::new(keys),
            nonces: Arc::new(nonces),
            blind_keys: Arc::new(blind_keys),
        })
    }

    /// A sealer with a fresh random key from the OS.
    ///
    /// Records sealed with it cannot be opened by any other process (or
    /// after a restart), so it only suits a store that dies with the process
    /// anyway, such as [`MemoryStore`](super::MemoryStore).
    pub fn random() -> Sealer {
        match random::<32>().and_then(|key| Sealer::ring(vec![key])) {
            Ok(sealer) => sealer,
            // The operating system could not give 48 random bytes (Linux's
            // getrandom blocks until seeded, so this is a broken machine):
            // nothing can be sealed safely, and no input leads here.
            Err(e) => {
                eprintln!("connectflow: cannot make a seal key: {e}");
                std::process::abort()
            }
        }
    }

    /// The sealer described by the environment: `CONNECTFLOW_SEAL_KEYS` (a
    /// ring, newest first) or `CONNECTFLOW_SEAL_KEY` (one key); `Ok(None)`
    /// if neither is set. Every instance sharing a store needs the same ring.
    pub fn from_env() -> Result<Option<Sealer>, SealError> {
        for name in [SEAL_KEYS_ENV, SEAL_KEY_ENV] {
            match std::env::var(name) {
                Ok(text) => return text.parse().map(Some),
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(SealError::BadKey("is not valid UTF-8"))
                }
            }
        }
        Ok(None)
    }

    /// `part` as a keyed hash (SipHash-2-4, 128 bits, keyed from the newest
    /// seal key, hex): the same on every instance sharing the ring,
    /// unreadable without it. SipHash is a PRF: without the key, a phone
    /// number cannot be tried against it.
    pub fn blind(&self, part: &str) -> String {
        self.blind_keys
            .first()
            .map(|key| blind_with(key, part))
            .unwrap_or_default()
    }

    /// Whether the ring has keys besides the first: names may have been
    /// blinded under them ([`blind_others`](Self::blind_others)).
    pub fn has_others(&self) -> bool {
        self.blind_keys.len() > 1
    }

    /// `part` blinded with every other key of the ring (see
    /// [`blind`](Self::blind)), in ring order; empty for a ring of one. A
    /// name blinded before a rotation (or by an instance whose ring puts
    /// another key first, while a rotation rolls out) is found under one
    /// of these.
    pub fn blind_others(&self, part: &str) -> Vec<String> {
        self.blind_keys
            .iter()
            .skip(1)
            .map(|key| blind_with(key, part))
            .collect()
    }

    /// The id of the key records are sealed with (hex).
    pub fn key_id(&self) -> String {
        self.keys
            .first()
            .map(|(id, _)| hex::encode(id))
            .unwrap_or_default()
    }

    /// Encrypts `plaintext` bound to `aad` with the newest key. An empty
    /// vector (which [`open`](Self::open) refuses) for input beyond the
    /// cipher's limit: it fails closed rather than panic or store the clear.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        self.try_seal(aad, plaintext).unwrap_or_default()
    }

    fn try_seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let (id, key) = self.keys.first().ok_or(SealError::Tampered)?;
        let nonce = self.nonces.next();
        // Header, plaintext and tag in one buffer, encrypted in place.
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        out.push(FORMAT);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = key
            .seal_in_place(&nonce, aad, &mut out[HEADER_LEN..])
            .map_err(|_| SealError::Tampered)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Decrypts what [`seal`](Self::seal) (of any key in the ring) produced
    /// with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < HEADER_LEN + TAG_LEN || sealed[0] != FORMAT {
            return Err(SealError::Tampered);
        }
        let (id, rest) = sealed[1..].split_at(KEY_ID_LEN);
        let Some((_, key)) = self.keys.iter().find(|(k, _)| k == id) else {
            return Err(SealError::UnknownKey(hex::encode(id)));
        };
        let (nonce, ciphertext) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(SealError::Tampered)?;
        key.open(nonce, aad, ciphertext)
            .map_err(|_| SealError::Tampered)
    }
}

impl FromStr for Sealer {
    type Err = SealError;

    /// Parses one key, or a ring of keys separated by commas or whitespace
    /// (newest first), each 64 hex characters or standard base64 of 32
    /// bytes.
    fn from_str(text: &str) -> Result<Sealer, SealError> {
        let keys = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|k| !k.is_empty())
            .map(key::parse_key)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(SealError::BadKey("is empty"));
        }
        Sealer::ring(keys)
    }
}

#[cfg(test)]
mod tests;
