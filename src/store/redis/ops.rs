//! The store's operations, on the record format of `record.rs`: plain
//! commands in one pipeline where they suffice, a script where a write must
//! compare first, and the hash format's reads when a key still holds one.

use redis::{Cmd, FromRedisValue, Pipeline, RedisError, Value};

use super::record::{self, decode, encode, expected_bytes, expected_decimal, next};
use super::{backend, redis_time, retry_once, retry_once_noting, ttl_ms, RedisStore};
use crate::flow::Timestamp;
use crate::store::{
    create_by_reading, is_own_write, AlsoSet, BoxFuture, Created, Entry, EntryOr, SessionStore,
    StoreError, Version,
};

/// A record's version and bytes, as read.
type Raw = Option<(Version, Vec<u8>)>;

/// A plain read met a key of the hash format (`GET` on a hash).
fn wrong_type(e: &RedisError) -> bool {
    e.code() == Some("WRONGTYPE")
}

fn entry(raw: Raw, read_at: Timestamp) -> Option<Entry> {
    raw.map(|(version, data)| Entry {
        version,
        data,
        read_at,
    })
}

/// A stored string as a record (`None`: the key is absent).
fn decoded(raw: Option<Vec<u8>>) -> Result<Raw, StoreError> {
    raw.map(decode).transpose()
}

/// The command `name`, with room for `args` more arguments of `bytes`
/// bytes in all (a number: up to 20 digits). `redis::cmd` starts empty and
/// grows argument by argument: a bank choice's pipeline grew its buffers
/// 16 times, about 2,000 of the round trip's 26,000 instructions
/// (callgrind, redis 0.27).
fn command(name: &str, args: usize, bytes: usize) -> Cmd {
    let mut cmd = Cmd::with_capacity(args + 1, name.len() + bytes);
    cmd.arg(name);
    cmd
}

/// `GET key`.
fn get(key: &str) -> Cmd {
    let mut cmd = command("GET", 1, key.len());
    cmd.arg(key);
    cmd
}

/// `TIME`: the server's clock, asked beside a read.
fn time() -> Cmd {
    command("TIME", 0, 0)
}

/// Adds `SET key record NX PX ttl` (a new record) to `pipe`; its reply is
/// `OK` when written, nil when the key exists.
fn set_new(pipe: &mut Pipeline, key: &str, record: &[u8], ttl: u64) {
    let mut cmd = command("SET", 5, key.len() + record.len() + "NXPX".len() + 20);
    cmd.arg(key).arg(record).arg("NX").arg("PX").arg(ttl);
    pipe.add_command(cmd);
}

/// A write's outcome: the version it left, or the conflict that refused it.
fn outcome(expected: Option<Version>, applied: bool) -> Result<Version, StoreError> {
    if applied {
        Ok(next(expected))
    } else {
        Err(StoreError::Conflict)
    }
}

impl RedisStore {
    // The handle onto the store's shared connection (`mux.rs`); each
    // caller uses a clone of it.
    async fn pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, RedisError> {
        retry_once(|| {
            let mut conn = self.conn.clone();
            async move { pipe.query_async(&mut conn).await }
        })
        .await
    }

    /// [`pipe`](Self::pipe) for a write: also whether it was sent twice.
    async fn pipe_noting<T: FromRedisValue>(
        &self,
        pipe: &Pipeline,
    ) -> (Result<T, RedisError>, bool) {
        retry_once_noting(|| {
            let mut conn = self.conn.clone();
            async move { pipe.query_async(&mut conn).await }
        })
        .await
    }

    /// Whether `full` holds `record` byte for byte: a write refused on its
    /// second sending was its own first, applied before the connection
    /// broke. Sealed records carry a random nonce, so no other writer's
    /// bytes are these. Read as no when the read fails too.
    async fn holds(&self, full: &str, record: &[u8]) -> bool {
        matches!(
            self.cmd::<Option<Vec<u8>>>(&get(full)).await,
            Ok(Some(held)) if held == record
        )
    }

    async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, RedisError> {
        retry_once(|| {
            let mut conn = self.conn.clone();
            async move { cmd.query_async(&mut conn).await }
        })
        .await
    }

    /// The record at `full` in either format: the path after a pipeline
    /// met a record of the hash format (rare: only across an upgrade).
    async fn read_any(&self, full: &str) -> Result<Raw, StoreError> {
        match self.cmd(redis::cmd("GET").arg(full)).await {
            Ok(raw) => decoded(raw),
            Err(e) if wrong_type(&e) => {
                let fields: (Option<Version>, Option<Vec<u8>>) = self
                    .cmd(redis::cmd("HMGET").arg(full).arg("v").arg("d"))
                    .await
                    .map_err(backend)?;
                match fields {
                    (Some(version), Some(data)) => Ok(Some((version, data))),
                    (None, None) => Ok(None),
                    // Only something other than this store writes half a record.
                    _ => Err(record::malformed()),
                }
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// The server's clock: leases are measured on the store's clock, which
    /// every instance shares.
    async fn time(&self) -> Result<Timestamp, StoreError> {
        let (secs, micros): (u64, u64) = self.cmd(&redis::cmd("TIME")).await.map_err(backend)?;
        Ok(redis_time(secs, micros))
    }

    /// Writes through the compare-and-set script (`also`: its index too).
    async fn cas_script(
        &self,
        full: &str,
        expected: Option<Version>,
        record: &[u8],
        ttl: u64,
        also: Option<(&str, Option<Version>, &[u8], u64)>,
    ) -> Result<bool, StoreError> {
        let (n, resent) = retry_once_noting(|| {
            let mut conn = self.conn.clone();
            let script = if also.is_some() {
                &self.cas_with
            } else {
                &self.cas
            };
            let mut invocation = script.key(full);
            invocation
                .arg(expected_bytes(expected))
                .arg(expected_decimal(expected))
                .arg(record)
                .arg(ttl);
            if let Some((key, expected, record, ttl)) = also {
                invocation
                    .key(key)
                    .arg(expected_bytes(expected))
                    .arg(expected_decimal(expected))
                    .arg(record)
                    .arg(ttl);
            }
            async move { invocation.invoke_async(&mut conn).await }
        })
        .await;
        let n: i64 = n.map_err(backend)?;
        // Refused on a second sending: perhaps by the first's own write (a
        // claim written, then taken for "another turn won", would leave a
        // claim no call stands behind until its lease ran out).
        Ok(n == 1 || (resent && self.holds(full, record).await))
    }

    /// Deletes `key` if it holds `expected`, through [`record::CAS_DELETE`]:
    /// refused on a second sending, the nonce found at the deletion mark
    /// says the first sending deleted it.
    async fn cas_delete(&self, key: &str, expected: Version) -> Result<bool, StoreError> {
        let (full, mark) = (self.full_key(key), self.deletion_mark(key));
        let mut nonce = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
            .map_err(|_| StoreError::Backend("redis: no randomness for a deletion".into()))?;
        let (n, resent) = retry_once_noting(|| {
            let mut conn = self.conn.clone();
            let mut invocation = self.cas_delete.key(&full);
            invocation
                .key(&mark)
                .arg(expected_bytes(Some(expected)))
                .arg(expected_decimal(Some(expected)))
                .arg(&nonce[..])
                .arg(DELETION_MARK_MS);
            async move { invocation.invoke_async(&mut conn).await }
        })
        .await;
        let n: i64 = n.map_err(backend)?;
        Ok(n == 1 || (resent && self.holds(&mark, &nonce).await))
    }
}

/// How long a deletion's mark is kept: it is read only right after the
/// deletion's second sending, which follows the first within the
/// connection's timeouts (seconds).
const DELETION_MARK_MS: u64 = 60_000;

impl SessionStore for RedisStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, StoreError>> {
        Box::pin(async move {
            let full = self.full_key(key);
            let mut pipe = Pipeline::with_capacity(2);
            pipe.add_command(get(&full)).add_command(time());
            match self.pipe(&pipe).await {
                Ok((raw, (secs, micros))) => Ok(entry(decoded(raw)?, redis_time(secs, micros))),
                Err(e) if wrong_type(&e) => {
                    let raw = self.read_any(&full).await?;
                    Ok(entry(raw, self.time().await?))
                }
                Err(e) => Err(backend(e)),
            }
        })
    }

    fn version<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Version>, StoreError>> {
        // The version's 8 bytes alone, not the record (the link API asks
        // this on every poll of a view it has cached). An expired record
        // is gone with its key, so absent.
        Box::pin(async move {
            let full = self.full_key(key);
            match self
                .cmd::<Vec<u8>>(
                    command("GETRANGE", 3, full.len() + 2)
                        .arg(&full)
                        .arg(0)
                        .arg(7),
                )
                .await
            {
                Ok(front) => record::version_of(&front),
                Err(e) if wrong_type(&e) => self
                    .cmd(redis::cmd("HGET").arg(&full).arg("v"))
                    .await
                    .map_err(backend),
                Err(e) => Err(backend(e)),
            }
        })
    }

    fn get_or<'a>(
        &'a self,
        key: &'a str,
        fallback: &'a str,
    ) -> BoxFuture<'a, Result<EntryOr, StoreError>> {
        Box::pin(async move {
            let (full, other) = (self.full_key(key), self.full_key(fallback));
            // Both read at once: the fallback is a phone's index, a few
            // dozen bytes, cheaper to read unasked than to ask for later.
            let mut pipe = Pipeline::with_capacity(3);
            pipe.add_command(get(&full))
                .add_command(get(&other))
                .add_command(time());
            let (first, second, read_at) = match self.pipe(&pipe).await {
                Ok((first, second, (secs, micros))) => {
                    let first = decoded(first)?;
                    // The second only counts when the first is absent.
                    let second = if first.is_none() {
                        decoded(second)?
                    } else {
                        None
                    };
                    (first, second, redis_time(secs, micros))
                }
                Err(e) if wrong_type(&e) => {
                    let first = self.read_any(&full).await?;
                    let second = match first {
                        Some(_) => None,
                        None => self.read_any(&other).await?,
                    };
                    (first, second, self.time().await?)
                }
                Err(e) => return Err(backend(e)),
            };
            Ok((entry(first, read_at), entry(second, read_at)))
        })
    }

    fn compare_and_set_with<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: std::time::Duration,
        also: AlsoSet<'a>,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move {
            let (full, other) = (self.full_key(key), self.full_key(also.key));
            let (ttl, also_ttl) = (ttl_ms(ttl), ttl_ms(also.ttl));
            let record = encode(next(expected), &data);
            let also_record = encode(next(also.expected), &also.data);
            let applied =
                if expected.is_none() && also.expected.is_none() && ttl > 0 && also_ttl > 0 {
                    // A new session beside a new index (every first bank choice
                    // from a phone): two `SET … NX` in one pipeline, no script.
                    // The index is then created even when the session's write is
                    // refused, which the trait allows: that session exists.
                    let mut pipe = Pipeline::with_capacity(2);
                    set_new(&mut pipe, &full, &record, ttl);
                    set_new(&mut pipe, &other, &also_record, also_ttl);
                    let (reply, resent) = self.pipe_noting(&pipe).await;
                    let (session, _index): (Value, Value) = reply.map_err(backend)?;
                    session == Value::Okay || (resent && self.holds(&full, &record).await)
                } else {
                    let also = (other.as_str(), also.expected, &also_record[..], also_ttl);
                    self.cas_script(&full, expected, &record, ttl, Some(also))
                        .await?
                };
            outcome(expected, applied)
        })
    }

    fn create_pair<'a>(
        &'a self,
        key: &'a str,
        data: Vec<u8>,
        also_key: &'a str,
        also_data: Vec<u8>,
        ttl: std::time::Duration,
        also_ttl: std::time::Duration,
    ) -> BoxFuture<'a, Result<Created, StoreError>> {
        Box::pin(async move {
            let (ms, also_ms) = (ttl_ms(ttl), ttl_ms(also_ttl));
            if !self.nx_get || ms == 0 || also_ms == 0 {
                return create_by_reading(self, key, data, also_key, also_data, ttl, also_ttl)
                    .await;
            }
            let (full, other) = (self.full_key(key), self.full_key(also_key));
            // Each `SET … NX GET` writes only where the key is free and
            // answers what it held: the read is the write. Not atomic across
            // the two keys, which `create_pair` allows: the index may be
            // created beside a session that existed (it names that session).
            let mut pipe = Pipeline::with_capacity(3);
            for (key, data, ms) in [(&full, &data, ms), (&other, &also_data, also_ms)] {
                let record = encode(1, data);
                let mut cmd = command("SET", 6, key.len() + record.len() + "NXGETPX".len() + 20);
                cmd.arg(key)
                    .arg(record)
                    .arg("NX")
                    .arg("GET")
                    .arg("PX")
                    .arg(ms);
                pipe.add_command(cmd);
            }
            pipe.add_command(time());
            type Reply = (Option<Vec<u8>>, Option<Vec<u8>>, (u64, u64));
            match self.pipe::<Reply>(&pipe).await {
                Ok((held, also_held, (secs, micros))) => {
                    let read_at = redis_time(secs, micros);
                    let found = |(version, data)| Entry {
                        version,
                        data,
                        read_at,
                    };
                    // A record byte for byte this write's own is this write,
                    // applied by an earlier try (`pipe` retries a broken
                    // connection once; sealed records carry a random nonce).
                    let others =
                        |raw: &(Version, Vec<u8>), data: &[u8]| !is_own_write(raw.0, &raw.1, data);
                    let held = decoded(held)?.filter(|raw| others(raw, &data));
                    // Whether this very `SET` created the index (nil: the
                    // key was free). Only such an index is removed below:
                    // one equal to this write's that was already there (an
                    // unsealed store's earlier session with the same bytes)
                    // belongs to a session that lives.
                    let index_created = also_held.is_none();
                    // The session is written by now: an index that does not
                    // decode is no index (the hint is lost, not the hop).
                    let also_held = decoded(also_held)
                        .unwrap_or(None)
                        .filter(|raw| others(raw, &also_data));
                    Ok(match (held, also_held) {
                        (Some(raw), None) if index_created => {
                            // The index was created beside another session,
                            // naming it: removed again, so that it never
                            // leads a later dial to a session not its own.
                            let _ = self
                                .compare_and_set(
                                    also_key,
                                    Some(1),
                                    Vec::new(),
                                    std::time::Duration::ZERO,
                                )
                                .await;
                            Created::Taken(found(raw))
                        }
                        (Some(raw), _) => Created::Taken(found(raw)),
                        (None, Some(raw)) => Created::AlsoTaken(found(raw)),
                        (None, None) => Created::Both,
                    })
                }
                // A key of the hash format (only across an upgrade): read, then write.
                Err(e) if wrong_type(&e) => {
                    create_by_reading(self, key, data, also_key, also_data, ttl, also_ttl).await
                }
                Err(e) => Err(backend(e)),
            }
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: std::time::Duration,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move {
            let (full, ttl) = (self.full_key(key), ttl_ms(ttl));
            let record = encode(next(expected), &data);
            // Retried once if the connection was found broken: had the first
            // try been applied, the retry is refused, and the record then
            // holding this write's own bytes says it was.
            let applied = if expected.is_none() && ttl > 0 {
                let mut pipe = Pipeline::with_capacity(1);
                set_new(&mut pipe, &full, &record, ttl);
                let (reply, resent) = self.pipe_noting(&pipe).await;
                let (reply,): (Value,) = reply.map_err(backend)?;
                reply == Value::Okay || (resent && self.holds(&full, &record).await)
            } else if let (Some(version), 0) = (expected, ttl) {
                // A conditional deletion (a flow moved to its new session,
                // a settled offer taken away).
                self.cas_delete(key, version).await?
            } else {
                self.cas_script(&full, expected, &record, ttl, None).await?
            };
            outcome(expected, applied)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.cmd(redis::cmd("DEL").arg(self.full_key(key)))
                .await
                .map_err(backend)
        })
    }
}
