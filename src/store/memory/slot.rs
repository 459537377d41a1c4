//! One stored record in one heap allocation: its version, expiry, key and
//! bytes, packed.
//!
//! Invariant: a [`Slot`]'s bytes are always `[version: u64][expires: u64]
//! [key length: u64][key][data]` (little-endian), written only by
//! [`Slot::new`]; every reader below slices within that layout, so no read
//! can fail or panic.
//!
//! Why packed: every USSD session the memory store keeps is two records
//! (the session and its phone's index), so what a record costs to keep is
//! what a session costs (issue 13's budget: ≤ 1 KiB). A `Box<Slot { key:
//! Box<str>, version, data: Vec<u8>, expires_at: Instant }>` was three
//! allocations a record, each rounded up to its size class; packed, a
//! parked session went from 619 to 556 bytes (RSS over 400,000 of them),
//! though the table's entries grew from 16 to 24 bytes (a slice pointer
//! where a thin one would need `unsafe`).

use super::super::Version;

const VERSION: usize = 0;
const EXPIRES: usize = 8;
const KEY_LEN: usize = 16;
const KEY: usize = 24;

/// A record: see the module's layout.
#[derive(Debug)]
pub(super) struct Slot(Box<[u8]>);

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_le_bytes)
}

impl Slot {
    /// `key`'s record: `data` at `version`, live until `expires` (the
    /// store's clock, nanoseconds).
    pub(super) fn new(key: &str, version: Version, data: &[u8], expires: u64) -> Slot {
        let mut bytes = Vec::with_capacity(KEY + key.len() + data.len());
        bytes.extend_from_slice(&version.to_le_bytes());
        bytes.extend_from_slice(&expires.to_le_bytes());
        bytes.extend_from_slice(&(key.len() as u64).to_le_bytes());
        bytes.extend_from_slice(key.as_bytes());
        bytes.extend_from_slice(data);
        Slot(bytes.into_boxed_slice())
    }

    fn key_end(&self) -> usize {
        // Written by `new`, so within the slot; clamped all the same.
        KEY.saturating_add(u64_at(&self.0, KEY_LEN) as usize)
            .min(self.0.len())
    }

    pub(super) fn key(&self) -> &[u8] {
        self.0.get(KEY..self.key_end()).unwrap_or_default()
    }

    pub(super) fn version(&self) -> Version {
        u64_at(&self.0, VERSION)
    }

    pub(super) fn data(&self) -> &[u8] {
        self.0.get(self.key_end()..).unwrap_or_default()
    }

    pub(super) fn is_live(&self, now: u64) -> bool {
        now < u64_at(&self.0, EXPIRES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the key and data (empty, long, not ASCII), a slot gives
        /// back exactly what it was made with.
        #[test]
        fn a_slot_gives_back_what_it_was_made_with(
            key in ".{0,80}",
            data in proptest::collection::vec(any::<u8>(), 0..600),
            version in any::<u64>(),
            expires in any::<u64>(),
        ) {
            let slot = Slot::new(&key, version, &data, expires);
            prop_assert_eq!(slot.key(), key.as_bytes());
            prop_assert_eq!(slot.data(), &data[..]);
            prop_assert_eq!(slot.version(), version);
            prop_assert!(!slot.is_live(expires));
            prop_assert_eq!(slot.is_live(expires.wrapping_sub(1)), expires > 0);
        }
    }
}
