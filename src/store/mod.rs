//! Session stores: where a channel keeps a flow between a person's turns.
//!
//! Records are opaque bytes with a version. Every write is a compare-and-set
//! on that version, so two overlapping hops of one USSD session can never
//! both win: the loser sees [`StoreError::Conflict`] and applies nothing.
//! [`Sealed`] wraps any store so that what rests in it is encrypted and
//! authenticated, bound to its key: a PIN held between two screens is never
//! stored in the clear, and a record copied to another key or tampered with
//! is refused.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

mod clock;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod seal;

#[cfg(feature = "redis")]
pub use self::redis::{RedisStore, DEFAULT_PREFIX};
pub use clock::{Clock, SystemClock};
pub use memory::MemoryStore;
pub use seal::{SealError, Sealed, Sealer, SEAL_KEYS_ENV, SEAL_KEY_ENV};

/// A boxed future, so stores can be used as `Arc<dyn SessionStore>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Version of a record; starts at 1 on first write, +1 on every write.
pub type Version = u64;

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Current version.
    pub version: Version,
    /// The bytes.
    pub data: Vec<u8>,
    /// The store's own clock when the record was read (wall-clock ms since
    /// the epoch). Leases on a record are measured on it, so instances whose
    /// clocks disagree still agree on when a lease has run out.
    pub read_at: crate::flow::Timestamp,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record's version is not the one expected: another writer won.
    #[error("the record changed since it was read")]
    Conflict,
    /// A sealed record failed authentication (altered, copied from another
    /// key, written back over a newer version). It is never returned.
    #[error("the stored record failed authentication")]
    Tampered {
        /// The version it is stored at (to clear it with compare-and-set).
        version: Version,
    },
    /// A sealed record names a seal key this instance does not have.
    #[error("the stored record is sealed with a key this instance does not have")]
    UnknownKey {
        /// The version it is stored at.
        version: Version,
    },
    /// The backend failed (connection lost, ...).
    #[error("store backend: {0}")]
    Backend(String),
}

/// What [`SessionStore::get_or`] read: the record, or (only when it is
/// absent) the fallback.
pub type EntryOr = (Option<Entry>, Option<Entry>);

/// A second, best-effort write riding on a
/// [`compare_and_set_with`](SessionStore::compare_and_set_with).
#[derive(Debug, Clone)]
pub struct AlsoSet<'a> {
    /// Its key.
    pub key: &'a str,
    /// The version it must be at (`None`: absent).
    pub expected: Option<Version>,
    /// The bytes.
    pub data: Vec<u8>,
    /// Its TTL.
    pub ttl: Duration,
}

/// What [`SessionStore::create_pair`] found, and so what it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Created {
    /// Both keys were free: both records are written, each at version 1.
    Both,
    /// The first key held this record: nothing is written there, and a
    /// second record created beside it (a backend that writes both at once)
    /// is removed again, so that it never names a session not its own.
    /// A record that is byte for byte this write's own at version 1 (a try
    /// that was applied before a retry; sealed records carry a random nonce)
    /// is not "taken": it is this write.
    Taken(Entry),
    /// The first record is written at version 1; the second key held this
    /// record, which is left as it was.
    AlsoTaken(Entry),
}

/// A key-value store with versions and TTLs.
pub trait SessionStore: Send + Sync + std::fmt::Debug + 'static {
    /// The record at `key`, if any and not expired.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, StoreError>>;

    /// Writes `data` at `key` if its current version is `expected` (`None`:
    /// the key must be absent or expired), and (re)sets its TTL. Returns the
    /// new version, or [`StoreError::Conflict`].
    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Version, StoreError>>;

    /// The version of the record at `key`, if any, without reading (or, for
    /// a sealed store, opening) the record: enough for a cache keyed by
    /// version to tell whether what it holds is current. Not authenticated
    /// by a sealing store, so a cache must only ever answer with what it
    /// rendered itself from a record that was. By default, a `get`.
    fn version<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Version>, StoreError>> {
        Box::pin(async move { Ok(self.get(key).await?.map(|e| e.version)) })
    }

    /// The record at `key`, and when there is none, the record at
    /// `fallback`: in one round trip where the backend allows (a USSD hop
    /// reads its session, and for a session not started yet, its phone's
    /// index). The second is `None` whenever the first is `Some`. By
    /// default, two reads.
    fn get_or<'a>(
        &'a self,
        key: &'a str,
        fallback: &'a str,
    ) -> BoxFuture<'a, Result<EntryOr, StoreError>> {
        Box::pin(async move {
            match self.get(key).await? {
                Some(entry) => Ok((Some(entry), None)),
                None => Ok((None, self.get(fallback).await?)),
            }
        })
    }

    /// [`compare_and_set`](Self::compare_and_set) at `key`, and when it
    /// succeeds, `also` if its own expected version still holds: in one
    /// round trip where the backend allows (a new session and its phone's
    /// index). `also` is best effort — a conflict or failure there is not
    /// this write's. When this write is refused, `also` is not written,
    /// with one exception: when both are new records (both expected
    /// absent), a store may send both at once (Redis: two `SET … NX` in one
    /// pipeline), so `also` can be created beside a record that already
    /// existed. Ride along only a write that stays true then (an index
    /// naming this key). By default, two writes.
    fn compare_and_set_with<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
        also: AlsoSet<'a>,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move {
            let version = self.compare_and_set(key, expected, data, ttl).await?;
            let _ = self
                .compare_and_set(also.key, also.expected, also.data, also.ttl)
                .await;
            Ok(version)
        })
    }

    /// Creates the record at `key` and, beside it, the one at `also_key`,
    /// each only where no live record is, without reading either first; and
    /// says what was there instead ([`Created`]). In one round trip where
    /// the backend allows (Redis 7: two `SET … NX GET`): a USSD session
    /// started by a person's first answer, and their phone's index, when
    /// nothing is expected at either, so the write is the read. Like
    /// [`compare_and_set_with`](Self::compare_and_set_with), the second is
    /// best effort. Each lives for its own TTL (`ttl`, `also_ttl`: a
    /// phone's index outlives the session it names, which every turn
    /// renews). By default, a [`get_or`](Self::get_or) and then the writes:
    /// two round trips.
    fn create_pair<'a>(
        &'a self,
        key: &'a str,
        data: Vec<u8>,
        also_key: &'a str,
        also_data: Vec<u8>,
        ttl: Duration,
        also_ttl: Duration,
    ) -> BoxFuture<'a, Result<Created, StoreError>> {
        Box::pin(create_by_reading(
            self, key, data, also_key, also_data, ttl, also_ttl,
        ))
    }

    /// Removes `key` (no error if absent).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The form of `part` (a phone number, an e-mail) to put in a store key.
    /// Key names are not sealed — anyone listing a shared store sees them —
    /// so a store that seals its records also blinds personal data in its
    /// key names with a keyed hash. As given, by default.
    fn blind(&self, part: &str) -> String {
        part.to_owned()
    }

    /// `part` as other keys of the store's ring blinded it (a store that
    /// seals: while a key rotation rolls out, and after it while the old
    /// key is kept), each a name a record may have been written under
    /// before; none by default.
    fn blind_others(&self, _part: &str) -> Vec<String> {
        Vec::new()
    }

    /// Whether [`blind_others`](Self::blind_others) can give anything: a
    /// check that costs nothing, for the paths that would otherwise read
    /// under those names on every hop.
    fn has_other_blinds(&self) -> bool {
        false
    }
}

/// Whether a record found at `version` holding `held` is the very record a
/// `create_pair` writing `data` made: [`Created::Taken`]'s rule for a write
/// applied by an earlier try (sealed records carry a random nonce, so
/// equal bytes at version 1 are never another writer's).
pub(crate) fn is_own_write(version: Version, held: &[u8], data: &[u8]) -> bool {
    version == 1 && held == data
}

/// [`SessionStore::create_pair`] in two round trips: read both, then write
/// what was free (the default, and a store's fallback where its own way
/// does not apply).
pub(crate) async fn create_by_reading<S: SessionStore + ?Sized>(
    store: &S,
    key: &str,
    data: Vec<u8>,
    also_key: &str,
    also_data: Vec<u8>,
    ttl: Duration,
    also_ttl: Duration,
) -> Result<Created, StoreError> {
    let (found, also_found) = store.get_or(key, also_key).await?;
    let own = |entry: &Entry, data: &[u8]| is_own_write(entry.version, &entry.data, data);
    if let Some(entry) = found {
        if !own(&entry, &data) {
            return Ok(Created::Taken(entry));
        }
        // This write's own record, applied by an earlier try of it (a
        // pipeline that met a hash-format key, a retried connection): it
        // stands, and the index is written if it is still free. (`get_or`
        // did not read the index, the session being there: read it now.)
        let also_found = match also_found {
            Some(also) => Some(also),
            None => store.get(also_key).await.ok().flatten(),
        };
        return Ok(match also_found {
            Some(also) if !own(&also, &also_data) => Created::AlsoTaken(also),
            Some(_) => Created::Both,
            None => {
                let _ = store
                    .compare_and_set(also_key, None, also_data, also_ttl)
                    .await;
                Created::Both
            }
        });
    }
    let written = match &also_found {
        None => {
            let also = AlsoSet {
                key: also_key,
                expected: None,
                data: also_data,
                ttl: also_ttl,
            };
            store.compare_and_set_with(key, None, data, ttl, also).await
        }
        Some(_) => store.compare_and_set(key, None, data, ttl).await,
    };
    match written {
        Ok(_) => Ok(also_found.map_or(Created::Both, Created::AlsoTaken)),
        // Written since the read: report what won.
        Err(StoreError::Conflict) => match store.get(key).await? {
            Some(entry) => Ok(Created::Taken(entry)),
            None => Err(StoreError::Conflict),
        },
        Err(e) => Err(e),
    }
}

/// Reads `key`, treating a record that does not open as absent: one bad
/// record (a rotated-out key, a tampered or replayed one) must not lock a
/// person out until it expires. A record that failed authentication is also
/// cleared (only if it is still the same version); one sealed with a key
/// this instance lacks is left for the instances that have it.
pub async fn get_readable(
    store: &dyn SessionStore,
    key: &str,
) -> Result<Option<Entry>, StoreError> {
    match store.get(key).await {
        Err(StoreError::Tampered { version }) => {
            let _ = store
                .compare_and_set(key, Some(version), Vec::new(), Duration::ZERO)
                .await;
            Ok(None)
        }
        Err(StoreError::UnknownKey { .. }) => Ok(None),
        other => other,
    }
}
