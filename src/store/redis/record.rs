//! How a record rests in Redis, and the scripts that change it.
//!
//! A record is a Redis **string**: its version as 8 bytes big-endian, then
//! its bytes, under a `PEXPIRE` for its TTL. One value per key is what lets
//! the hot paths use plain commands, which Redis runs for a fraction of a
//! script's cost (measured with `redis-benchmark -P 32` on redis 7.0: a
//! script writing two keys ~11–16 µs, the same two `SET … NX PX` ~6 µs; a
//! script reading two keys ~6 µs, `GET`+`GET`+`TIME` ~2 µs):
//!
//! - a read is `GET` (and `TIME`, for the store's clock) in one pipeline;
//! - a new record is `SET … NX PX`, and a new session beside its phone's
//!   new index two of them in one pipeline;
//! - only a write over an existing version needs the compare-and-set
//!   script ([`CAS`]), as Redis 7 has no conditional `SET`.
//!
//! Before this format a record was a hash (`v`: the version in decimal,
//! `d`: the bytes). Such a record still reads (a `GET` on it fails with
//! `WRONGTYPE`, and the read falls back to `HMGET`), and its next write
//! rewrites it as a string, so sessions in flight across an upgrade carry
//! on. An older instance cannot read the new format: upgrade every instance
//! sharing a Redis together (sessions live minutes, so a drain is short).

use super::super::{StoreError, Version};

/// Bytes in front of a record's own: its version.
const VERSION_LEN: usize = 8;

/// A record as stored: `version` big-endian, then `data`.
pub(super) fn encode(version: Version, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(VERSION_LEN + data.len());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// A stored record's version and bytes; only something other than this
/// store writes a string shorter than a version.
pub(super) fn decode(mut raw: Vec<u8>) -> Result<(Version, Vec<u8>), StoreError> {
    let version = version_of(&raw)?.ok_or_else(malformed)?;
    raw.drain(..VERSION_LEN);
    Ok((version, raw))
}

/// The version at the front of a stored record (`GETRANGE key 0 7`), `None`
/// for the empty string Redis answers for an absent key.
pub(super) fn version_of(raw: &[u8]) -> Result<Option<Version>, StoreError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let bytes: [u8; VERSION_LEN] = raw
        .get(..VERSION_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(malformed)?;
    Ok(Some(Version::from_be_bytes(bytes)))
}

/// A version as the scripts compare it: 8 bytes, or empty for "absent".
pub(super) fn expected_bytes(expected: Option<Version>) -> Vec<u8> {
    expected
        .map(|v| v.to_be_bytes().to_vec())
        .unwrap_or_default()
}

/// A version as a hash-format record holds it: decimal, or empty.
pub(super) fn expected_decimal(expected: Option<Version>) -> String {
    expected.map(|v| v.to_string()).unwrap_or_default()
}

/// The version a write expecting `expected` leaves.
pub(super) fn next(expected: Option<Version>) -> Version {
    expected.map_or(1, |v| v.saturating_add(1))
}

pub(super) fn malformed() -> StoreError {
    StoreError::Backend("redis: malformed record (not written by this store)".into())
}

/// What the scripts share: whether a key holds an expected version, in
/// either format, and writing a record (a TTL of 0 removes it).
macro_rules! lua_helpers {
    () => {
        r"
local function holds(key, expected, decimal)
  local cur = redis.pcall('GETRANGE', key, 0, 7)
  if type(cur) == 'string' then return cur == expected end
  -- Not a string: a record of the hash format, its version in decimal.
  return (redis.call('HGET', key, 'v') or '') == decimal
end
local function put(key, record, ttl)
  if ttl == '0' then redis.call('DEL', key)
  else redis.call('SET', key, record, 'PX', ttl) end
end
"
    };
}

/// `KEYS[1]`: the record. ARGV: the version expected (8 bytes, empty for
/// absent), the same in decimal, the record to write (its new version in
/// front), its TTL in ms. Returns 1 when written, 0 on a conflict.
pub(super) const CAS: &str = concat!(
    lua_helpers!(),
    r"
if not holds(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
put(KEYS[1], ARGV[3], ARGV[4])
return 1
"
);

/// [`CAS`] at `KEYS[1]` with `ARGV[1..4]`; when it was written, the same at
/// `KEYS[2]` with `ARGV[5..8]` if that record still holds its expected version
/// (a best-effort index beside a record).
pub(super) const CAS_WITH: &str = concat!(
    lua_helpers!(),
    r"
if not holds(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
put(KEYS[1], ARGV[3], ARGV[4])
-- Protected: an error at the index (a key of another type) must not turn
-- the session's applied write into a reported failure.
pcall(function()
  if holds(KEYS[2], ARGV[5], ARGV[6]) then put(KEYS[2], ARGV[7], ARGV[8]) end
end)
return 1
"
);

/// `KEYS[1]`: the record; `KEYS[2]`: its deletion mark. ARGV: the version
/// expected (8 bytes), the same in decimal, the deleter's nonce, the mark's
/// TTL in ms. Deletes the record if it holds that version, and leaves the
/// nonce at the mark. Returns 1 when deleted, 0 on a conflict.
///
/// Why a mark: a write refused on its second sending checks whether the key
/// holds its own bytes (the first sending applied), but a deletion leaves no
/// bytes. Without the mark a deletion whose reply was lost read as another
/// writer's win, and a re-dial moving a flow to its new session then
/// removed the new copy too: the flow was gone from both keys. The mark
/// sits beside the record, so no reader or other writer of records has to
/// know it exists.
pub(super) const CAS_DELETE: &str = concat!(
    lua_helpers!(),
    r"
if not holds(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1
"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_with_its_version() {
        for (version, data) in [(1, &b""[..]), (7, b"sealed bytes"), (u64::MAX, &[0u8; 300])] {
            let stored = encode(version, data);
            assert_eq!(stored.len(), 8 + data.len());
            assert_eq!(version_of(&stored).unwrap(), Some(version));
            assert_eq!(decode(stored).unwrap(), (version, data.to_vec()));
        }
    }

    #[test]
    fn a_string_shorter_than_a_version_is_refused_and_empty_is_absent() {
        assert_eq!(version_of(b"").unwrap(), None);
        for short in [&b"x"[..], b"1234567"] {
            assert!(matches!(version_of(short), Err(StoreError::Backend(_))));
            assert!(matches!(
                decode(short.to_vec()),
                Err(StoreError::Backend(_))
            ));
        }
    }

    #[test]
    fn versions_expected_in_both_formats() {
        assert_eq!(expected_bytes(None), Vec::<u8>::new());
        assert_eq!(expected_bytes(Some(2)), 2u64.to_be_bytes().to_vec());
        assert_eq!(expected_decimal(Some(12)), "12");
        assert_eq!((next(None), next(Some(4))), (1, 5));
    }
}
