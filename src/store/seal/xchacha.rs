//! XChaCha20-Poly1305, byte for byte, on ring's ChaCha20-Poly1305.
//!
//! XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) is ChaCha20-Poly1305 under
//! a subkey: `HChaCha20(key, nonce[..16])`, with the 12-byte nonce
//! `0000 ‖ nonce[16..]`. The subkey is computed here with RustCrypto's
//! `chacha20::hchacha`; the AEAD itself is ring's (BoringSSL's assembly).
//! RustCrypto's `XChaCha20Poly1305` cost 1.8 µs to seal 40 bytes and 2.1 µs
//! for 300 on the development machine, ring 0.19 and 0.34 µs: a bank-choice
//! hop seals twice, and sealing was an eighth of its CPU (issue 13).
//!
//! Every nonce this process seals with shares the [`NonceSource`]'s prefix,
//! so the sealing subkey is derived once per key; opening derives one per
//! record (records come from every instance, each with its own prefix): one
//! ChaCha block, tens of nanoseconds. The equivalence with RustCrypto's
//! implementation, which sealed every record before this one, is a property
//! test (`tests.rs`): records from either open with the other.
//!
//! [`NonceSource`]: super::NonceSource

use chacha20::cipher::consts::U10;
use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, CHACHA20_POLY1305};
use zeroize::{Zeroize, Zeroizing};

/// Length of an XChaCha nonce.
pub(super) const NONCE_LEN: usize = 24;
/// Length of a Poly1305 tag.
pub(super) const TAG_LEN: usize = 16;
/// Length of the nonce part that selects the subkey.
pub(super) const PREFIX_LEN: usize = 16;

/// Decryption failed: wrong key, altered bytes or other associated data.
#[derive(Debug)]
pub(super) struct Unopened;

/// One XChaCha20-Poly1305 key, and its subkey for this process's nonces.
pub(super) struct XKey {
    /// Kept for the subkeys of records sealed elsewhere; wiped on drop.
    key: Zeroizing<[u8; 32]>,
    /// The subkey for nonces beginning with `prefix` (every nonce this
    /// process seals with). ring does not wipe its keys on drop; a subkey
    /// opens only what this process sealed, and lives as long as it does.
    sealing: LessSafeKey,
    prefix: [u8; PREFIX_LEN],
}

impl XKey {
    /// `key`, sealing with nonces that begin with `prefix`.
    pub(super) fn new(key: &[u8; 32], prefix: [u8; PREFIX_LEN]) -> Result<XKey, Unopened> {
        Ok(XKey {
            key: Zeroizing::new(*key),
            sealing: subkey(key, &prefix)?,
            prefix,
        })
    }

    /// The ChaCha20-Poly1305 key and inner nonce for `nonce`: the sealing
    /// subkey for this process's own prefix, a fresh one for another's.
    fn with_key<T>(
        &self,
        nonce: &[u8; NONCE_LEN],
        f: impl FnOnce(&LessSafeKey, Nonce) -> Result<T, Unopened>,
    ) -> Result<T, Unopened> {
        let (prefix, counter) = nonce.split_first_chunk::<PREFIX_LEN>().ok_or(Unopened)?;
        let mut inner = [0u8; 12];
        inner[4..].copy_from_slice(counter);
        let inner = Nonce::assume_unique_for_key(inner);
        if *prefix == self.prefix {
            f(&self.sealing, inner)
        } else {
            f(&subkey(&self.key, prefix)?, inner)
        }
    }

    /// Encrypts `in_out` in place under `nonce` and returns the tag.
    pub(super) fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], Unopened> {
        self.with_key(nonce, |key, inner| {
            let tag: Tag = key
                .seal_in_place_separate_tag(inner, Aad::from(aad), in_out)
                .map_err(|_| Unopened)?;
            let mut out = [0u8; TAG_LEN];
            out.copy_from_slice(tag.as_ref());
            Ok(out)
        })
    }

    /// Decrypts `ciphertext ‖ tag` sealed under `nonce` and `aad`.
    pub(super) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext_and_tag: &[u8],
    ) -> Result<Vec<u8>, Unopened> {
        self.with_key(nonce, |key, inner| {
            let mut buffer = ciphertext_and_tag.to_vec();
            let plain_len = key
                .open_in_place(inner, Aad::from(aad), &mut buffer)
                .map_err(|_| Unopened)?
                .len();
            buffer.truncate(plain_len);
            Ok(buffer)
        })
    }
}

/// ChaCha20-Poly1305 under `HChaCha20(key, prefix)`.
fn subkey(key: &[u8; 32], prefix: &[u8; PREFIX_LEN]) -> Result<LessSafeKey, Unopened> {
    let mut derived = chacha20::hchacha::<U10>(key.into(), prefix.into());
    // ring takes any 32-byte key for ChaCha20-Poly1305.
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, derived.as_slice());
    derived.as_mut_slice().zeroize();
    Ok(LessSafeKey::new(unbound.map_err(|_| Unopened)?))
}
