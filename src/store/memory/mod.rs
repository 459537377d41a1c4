//! The in-process store: for tests, benchmarks and single-instance demos.
//!
//! State here dies with the process and is not shared between instances, so a
//! production USSD deployment wants [`RedisStore`](super::RedisStore) (or
//! another shared store); the semantics are the same, which is what lets the
//! one contract suite run against both.

use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{BoxFuture, Clock, Created, Entry, SessionStore, StoreError, SystemClock, Version};

/// Writes between two sweeps of expired entries, at the least. The real
/// threshold is what the last sweep kept (see `Inner::write`), so the
/// sweep's cost stays constant per write, amortised.
const PURGE_MIN_WRITES: usize = 64;

mod slot;

use slot::Slot;

/// The map: each record in one allocation of its own ([`Slot`]), the table
/// holding only its key's hash and a pointer (24 bytes an entry). A store
/// that only grows (every USSD session is new) rehashes often; with the
/// hash kept and entries this small, growing the table moves 24 bytes an
/// entry and reads no key. A `HashMap<String, Slot>` (80 bytes an entry,
/// every key re-hashed through its pointer) spent a twentieth of a
/// bank-choice hop's CPU growing (issue 13's profile).
#[derive(Debug, Default)]
struct Map {
    table: hashbrown::HashTable<(u64, Slot)>,
    /// Seeded at random per process, like `HashMap`'s, since keys come from
    /// gateways; foldhash rather than std's SipHash, which was 2–3 % of a
    /// bank choice's instructions (callgrind) for its three lookups.
    hasher: hashbrown::DefaultHashBuilder,
}

impl Map {
    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    fn get(&self, key: &str) -> Option<&Slot> {
        let hash = self.hash(key);
        self.table
            .find(hash, |(h, s)| *h == hash && s.key() == key.as_bytes())
            .map(|(_, s)| s)
    }

    fn remove(&mut self, key: &str) {
        let hash = self.hash(key);
        if let Ok(entry) = self
            .table
            .find_entry(hash, |(h, s)| *h == hash && s.key() == key.as_bytes())
        {
            entry.remove();
        }
    }

    /// Replaces the record at `key` with `data` at `version`, live until
    /// `expires`, or adds it.
    fn set(&mut self, key: &str, version: Version, data: &[u8], expires: u64) {
        let hash = self.hash(key);
        let slot = Slot::new(key, version, data, expires);
        match self
            .table
            .find_mut(hash, |(h, s)| *h == hash && s.key() == key.as_bytes())
        {
            Some((_, old)) => *old = slot,
            None => {
                self.table.insert_unique(hash, (hash, slot), |(h, _)| *h);
            }
        }
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn live(&self, now: u64) -> usize {
        self.table.iter().filter(|(_, s)| s.is_live(now)).count()
    }

    fn retain_live(&mut self, now: u64) {
        self.table.retain(|(_, s)| s.is_live(now));
    }
}

#[derive(Debug, Default)]
struct Inner {
    map: Map,
    writes_since_purge: usize,
    /// How many records the last sweep left (all live then).
    kept_by_last_purge: usize,
}

/// A [`SessionStore`] in a `HashMap` behind a mutex.
///
/// TTLs are enforced on every read and write (an expired record is absent),
/// and expired records are swept from time to time on writes, so abandoned
/// sessions do not accumulate without bound.
pub struct MemoryStore {
    // A std mutex, not tokio's: every critical section is short and
    // synchronous, and the lock is never held across an `.await`.
    inner: Mutex<Inner>,
    /// TTLs run on the monotonic clock, in nanoseconds since this (a `u64`
    /// in each record, where an `Instant` would take 16 bytes).
    epoch: Instant,
    /// The store's clock, reported with every read (leases are measured on
    /// it); TTLs run on the monotonic clock whatever this says.
    clock: std::sync::Arc<dyn Clock>,
}

// Written by hand: the derived form printed the map's hasher seeds and the
// epoch's raw clock reading, noise in a log line (and digits that a test
// looking for a key's bytes could trip on). The count is what a reader wants.
impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = f.debug_struct("MemoryStore");
        // `try_lock`: printing must never wait on (or deadlock against) a
        // critical section, e.g. a log line written while the map is held.
        match self.inner.try_lock() {
            Ok(inner) => shown.field("records", &inner.map.len()),
            Err(_) => shown.field("records", &"(busy)"),
        };
        shown.finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore {
            inner: Mutex::default(),
            epoch: Instant::now(),
            clock: std::sync::Arc::new(SystemClock),
        }
    }

    /// The same store reporting `clock`'s time with every read (tests).
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn Clock>) -> MemoryStore {
        self.clock = clock;
        self
    }

    /// The number of live (unexpired) records.
    pub fn len(&self) -> usize {
        let now = self.now();
        self.lock().map.live(now)
    }

    /// Whether the store holds no live record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The monotonic clock TTLs run on, in nanoseconds since `epoch`.
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written entry
        // (each critical section replaces whole values), so a poisoned map is
        // still consistent and refusing service forever would be worse.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get_now(&self, key: &str) -> Option<Entry> {
        let now = self.now();
        let mut inner = self.lock();
        match inner.map.get(key) {
            Some(e) if e.is_live(now) => Some(Entry {
                version: e.version(),
                data: e.data().to_vec(),
                read_at: self.clock.now(),
            }),
            Some(_) => {
                inner.map.remove(key);
                None
            }
            None => None,
        }
    }

    fn cas_now(
        &self,
        key: &str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
    ) -> Result<Version, StoreError> {
        let now = self.now();
        let expires_at = expiry(now, ttl);
        let mut inner = self.lock();
        let current = inner.live(key, now).map(Slot::version);
        if current != expected {
            return Err(StoreError::Conflict);
        }
        let version = current.map_or(1, |v| v.saturating_add(1));
        inner.write(key, version, &data, expires_at, now);
        Ok(version)
    }

    /// [`SessionStore::create_pair`] under one lock.
    fn create_now(
        &self,
        key: &str,
        data: Vec<u8>,
        also_key: &str,
        also_data: Vec<u8>,
        (ttl, also_ttl): (Duration, Duration),
    ) -> Created {
        let now = self.now();
        let expires_at = expiry(now, ttl);
        let mut inner = self.lock();
        let taken = |slot: &Slot| Entry {
            version: slot.version(),
            data: slot.data().to_vec(),
            read_at: self.clock.now(),
        };
        // Version 1 of these very bytes is this write (the contract's rule
        // for a retried write; kept here too so every store answers alike).
        let own = |slot: &Slot, data: &[u8]| super::is_own_write(slot.version(), slot.data(), data);
        match inner.live(key, now) {
            Some(slot) if !own(slot, &data) => return Created::Taken(taken(slot)),
            Some(_) => {}
            None => inner.write(key, 1, &data, expires_at, now),
        }
        match inner.live(also_key, now) {
            Some(slot) if !own(slot, &also_data) => Created::AlsoTaken(taken(slot)),
            Some(_) => Created::Both,
            None => {
                inner.write(also_key, 1, &also_data, expiry(now, also_ttl), now);
                Created::Both
            }
        }
    }
}

/// When a record written `now` with `ttl` expires: never, in effect, for
/// a TTL past what the clock counts (five centuries).
fn expiry(now: u64, ttl: Duration) -> u64 {
    now.saturating_add(u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX))
}

impl Inner {
    fn live(&self, key: &str, now: u64) -> Option<&Slot> {
        self.map.get(key).filter(|e| e.is_live(now))
    }

    fn write(&mut self, key: &str, version: Version, data: &[u8], expires_at: u64, now: u64) {
        self.map.set(key, version, data, expires_at);
        self.writes_since_purge += 1;
        // Sweeping is O(len); doing it once every max(64, kept) writes, where
        // `kept` is what the previous sweep left, keeps it O(1) per write
        // amortised and the map under twice that plus 64. The threshold is
        // what the last sweep kept, not the map's length now: every new key
        // grows the length with the count, so a store taking only new keys
        // (a flood of sessions abandoned after their bank choice, each a new
        // record and a new phone index) never reached it and grew without
        // bound once a sweep had kept anything.
        if self.writes_since_purge >= PURGE_MIN_WRITES.max(self.kept_by_last_purge) {
            self.map.retain_live(now);
            self.writes_since_purge = 0;
            self.kept_by_last_purge = self.map.len();
        }
    }
}

impl SessionStore for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, StoreError>> {
        Box::pin(async move { Ok(self.get_now(key)) })
    }

    fn version<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Version>, StoreError>> {
        // No copy of the record: the version alone.
        Box::pin(async move {
            let now = self.now();
            let inner = self.lock();
            Ok(inner
                .map
                .get(key)
                .filter(|e| e.is_live(now))
                .map(Slot::version))
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move { self.cas_now(key, expected, data, ttl) })
    }

    fn create_pair<'a>(
        &'a self,
        key: &'a str,
        data: Vec<u8>,
        also_key: &'a str,
        also_data: Vec<u8>,
        ttl: Duration,
        also_ttl: Duration,
    ) -> BoxFuture<'a, Result<Created, StoreError>> {
        Box::pin(
            async move { Ok(self.create_now(key, data, also_key, also_data, (ttl, also_ttl))) },
        )
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.lock().map.remove(key);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TTL past what the clock counts (`Duration::MAX`, five centuries
    /// and more in nanoseconds) saturates: the record lives, it does not
    /// wrap round to dead.
    #[test]
    fn a_ttl_past_the_clock_keeps_the_record() {
        let store = MemoryStore::new();
        store.cas_now("k", None, vec![1], Duration::MAX).unwrap();
        assert_eq!(store.get_now("k").map(|e| e.data), Some(vec![1]));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn expired_entries_are_swept_on_writes() {
        let store = MemoryStore::new();
        for i in 0..1000 {
            store
                .cas_now(&format!("k{i}"), None, vec![1], Duration::ZERO)
                .unwrap();
        }
        // Zero TTL: every record is dead at once, and the sweeps keep the map
        // well below the 1000 records written.
        assert_eq!(store.len(), 0);
        assert!(store.lock().map.len() <= 2 * PURGE_MIN_WRITES);
    }

    /// Records that outlive a sweep do not stop the next ones: with 1,000
    /// live records kept, 20,000 new keys that expire at once (sessions
    /// abandoned after their bank choice) leave the map under twice what
    /// the last sweep kept plus 64, not 21,000 records long.
    #[test]
    fn sweeps_go_on_after_one_keeps_live_records() {
        let store = MemoryStore::new();
        for i in 0..1000 {
            store
                .cas_now(
                    &format!("live{i}"),
                    None,
                    vec![1],
                    Duration::from_secs(3600),
                )
                .unwrap();
        }
        for i in 0..20_000 {
            store
                .cas_now(&format!("dead{i}"), None, vec![1], Duration::ZERO)
                .unwrap();
        }
        assert_eq!(store.len(), 1000);
        let held = store.lock().map.len();
        assert!(held <= 2 * 1000 + PURGE_MIN_WRITES, "{held} records held");
    }
}
