//! What every partner front of the sandbox shares and the bank must not
//! have: the wall clock and the operating system's randomness.

use super::bank::Entropy;
use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock, read by the fronts and handed to the bank.
pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The operating system's randomness for the bank's ids and captchas,
/// through the v4 UUIDs the sandbox already depends on (no `rand` needed).
pub(super) struct OsEntropy;

impl Entropy for OsEntropy {
    fn next_bits(&mut self) -> u128 {
        uuid::Uuid::new_v4().as_u128()
    }
}
