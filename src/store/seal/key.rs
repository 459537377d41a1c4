//! Parsing seal keys (hex or base64) and naming them by a key id.

use super::SealError;
use sha2::{Digest, Sha256};

/// The 4-byte id of a key, written in front of every record it seals, so a
/// key ring knows which key opens a record (and an instance missing that key
/// can say so instead of calling the record tampered).
pub(super) fn key_id(key: &[u8; 32]) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(b"connectflow seal key id\0")
        .chain_update(key)
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The key blinded store-key names are hashed under: one-way from the seal
/// key, so knowing it reveals nothing about the seal key.
pub(super) fn blind_key(key: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"connectflow blind index\0")
        .chain_update(key)
        .finalize()
        .into()
}

pub(super) fn parse_key(text: &str) -> Result<[u8; 32], SealError> {
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
