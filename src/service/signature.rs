//! Webhook signatures: `x-connectflow-signature: t=<unix seconds>,v1=<hex>`,
//! where `v1` is HMAC-SHA256 over `"<t>.<body>"` under the shared secret.
//!
//! The timestamp is inside the signed string, so a captured delivery cannot
//! be replayed later: a receiver refuses a `t` outside its tolerance (five
//! minutes is usual). An empty secret is refused when a webhook is
//! configured, since anyone could sign with it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-connectflow-signature";

/// The header value for `body` sent at `unix_secs`.
pub fn sign(secret: &[u8], unix_secs: u64, body: &[u8]) -> String {
    format!(
        "t={unix_secs},v1={}",
        hex::encode(mac(secret, unix_secs, body))
    )
}

/// Checks a header value against `body`: the signature must match and `t`
/// must be within `tolerance_secs` of `now_secs` (either side). Constant
/// time in the comparison of the MAC.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now_secs: u64,
    tolerance_secs: u64,
) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<u64>().ok(),
            Some(("v1", value)) => v1.push(value.to_owned()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if t.abs_diff(now_secs) > tolerance_secs {
        return false;
    }
    let Ok(mut expected) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    expected.update(t.to_string().as_bytes());
    expected.update(b".");
    expected.update(body);
    v1.iter().any(|candidate| match unhex(candidate) {
        Some(bytes) => expected.clone().verify_slice(&bytes).is_ok(),
        None => false,
    })
}

fn mac(secret: &[u8], unix_secs: u64, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(secret) else {
        return Vec::new();
    };
    m.update(unix_secs.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let header = sign(b"whsec", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify(b"whsec", &header, b"{\"a\":1}", 1_700_000_100, 300));
        assert!(!verify(b"whsec", &header, b"{\"a\":2}", 1_700_000_100, 300));
        assert!(!verify(b"other", &header, b"{\"a\":1}", 1_700_000_100, 300));
        // Replayed an hour later: refused.
        assert!(!verify(b"whsec", &header, b"{\"a\":1}", 1_700_003_600, 300));
        // The timestamp is signed: moving it breaks the signature.
        let moved = header.replace("t=1700000000", "t=1700003600");
        assert!(!verify(b"whsec", &moved, b"{\"a\":1}", 1_700_003_600, 300));
        assert!(!verify(b"whsec", "garbage", b"", 0, 300));
    }

    #[test]
    fn the_mac_is_hmac_sha256_of_t_dot_body() {
        // Pinned against an independent implementation (Python's hmac
        // module): hmac.new(b"Jefe", b"1.x", hashlib.sha256).hexdigest().
        assert_eq!(
            sign(b"Jefe", 1, b"x"),
            "t=1,v1=2f7ccbd0f043456ad29514b2d24a8aa345ec6673a5db1b44e91c8ac99d1841e3"
        );
    }
}
