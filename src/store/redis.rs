//! The Redis store: sessions that survive a restart and are shared by every
//! instance behind a USSD gateway's load balancer.
//!
//! A record is a hash at `<prefix><key>` with two fields, `v` (the version,
//! decimal) and `d` (the bytes), and a `PEXPIRE` for its TTL. The
//! compare-and-set is one Lua script, which Redis runs atomically, so two
//! instances racing on one session cannot both win.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, IntoConnectionInfo, RedisError, Script, TlsCertificates};

use super::{AlsoSet, BoxFuture, Entry, EntryOr, SessionStore, StoreError, Version};

/// The key prefix unless [`RedisStore::with_prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "connectflow:";

const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// KEYS[1]: the record. ARGV: expected version ("" = must be absent), data,
/// TTL in milliseconds. Returns the new version, or -1 on a conflict.
const CAS_SCRIPT: &str = r"
local cur = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if cur then return -1 end
elseif cur ~= ARGV[1] then
  return -1
end
local nv = 1
if cur then nv = tonumber(cur) + 1 end
redis.call('HSET', KEYS[1], 'v', string.format('%d', nv), 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return nv
";

/// [`CAS_SCRIPT`] at KEYS[1], then, only when it was written, the same at
/// KEYS[2] with ARGV[4..6] if that record is still at its expected version
/// (a best-effort index beside a record: one round trip for both).
const CAS_WITH_SCRIPT: &str = r"
local function cas(key, expected, data, ttl)
  local cur = redis.call('HGET', key, 'v')
  if expected == '' then
    if cur then return -1 end
  elseif cur ~= expected then
    return -1
  end
  local nv = 1
  if cur then nv = tonumber(cur) + 1 end
  redis.call('HSET', key, 'v', string.format('%d', nv), 'd', data)
  redis.call('PEXPIRE', key, ttl)
  return nv
end
local nv = cas(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
-- Protected: an error at the index (a key of another type) must not turn
-- the session's applied write into a reported failure.
if nv > 0 then pcall(cas, KEYS[2], ARGV[4], ARGV[5], ARGV[6]) end
return nv
";

/// [`GET_SCRIPT`] at KEYS[1]; when it holds nothing, also at KEYS[2] (a
/// session, or for one not started yet, its phone's index: one round trip).
const GET_OR_SCRIPT: &str = r"
local r = redis.call('HMGET', KEYS[1], 'v', 'd')
local t = redis.call('TIME')
local f = {false, false}
if not r[1] then f = redis.call('HMGET', KEYS[2], 'v', 'd') end
return {r[1], r[2], t[1], t[2], f[1], f[2]}
";

/// KEYS[1]: the record. Returns its version and data (nil when absent) and
/// the server's `TIME`, in one round trip: leases are measured on the
/// store's clock, which every instance shares.
const GET_SCRIPT: &str = r"
local r = redis.call('HMGET', KEYS[1], 'v', 'd')
local t = redis.call('TIME')
return {r[1], r[2], t[1], t[2]}
";

/// A [`SessionStore`] in Redis (`redis://` URLs), through a connection that
/// reconnects by itself after the server restarts or the network drops.
///
/// While Redis is unreachable, operations fail fast with
/// [`StoreError::Backend`] rather than hang (a USSD gateway drops a hop long
/// before a slow store would answer), and each one tries to reconnect, so the
/// store recovers on its own when Redis is back. Keep records [`Sealed`](super::Sealed):
/// this store writes them as given.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    cas: Script,
    cas_with: Script,
    get: Script,
    get_or: Script,
}

impl fmt::Debug for RedisStore {
    // Hand-written so the connection, whose client keeps the URL's password,
    // is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Runs `op`, and once more if it failed because the connection was
/// broken: after a Redis restart the connection manager only learns the old
/// connection is dead by using it, and a person's hop must not be the one
/// that pays for it.
async fn retry_once<T, F, Fut>(mut op: F) -> Result<T, RedisError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RedisError>>,
{
    match op().await {
        Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() => {
            op().await
        }
        other => other,
    }
}

/// A record as the scripts return it (version and data, both or neither).
fn entry(
    version: Option<Version>,
    data: Option<Vec<u8>>,
    read_at: crate::flow::Timestamp,
) -> Result<Option<Entry>, StoreError> {
    match (version, data) {
        (Some(version), Some(data)) => Ok(Some(Entry {
            version,
            data,
            read_at,
        })),
        (None, None) => Ok(None),
        // Only something other than this store writes half a record.
        _ => Err(StoreError::Backend(
            "redis: malformed record (not written by this store)".into(),
        )),
    }
}

/// Redis' TIME (seconds, microseconds) as a timestamp.
fn redis_time(secs: u64, micros: u64) -> crate::flow::Timestamp {
    crate::flow::Timestamp(secs.saturating_mul(1000).saturating_add(micros / 1000))
}

/// A TTL as the milliseconds PEXPIRE takes.
fn ttl_ms(ttl: Duration) -> u64 {
    // Redis refuses an expiry past the year 292 million; a century is
    // "forever" for a session.
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .min(MAX_TTL_MS)
}

fn backend(e: RedisError) -> StoreError {
    // A RedisError describes the failure (refused, timed out, WRONGTYPE...),
    // never the URL or its password; the values are sealed bytes anyway.
    StoreError::Backend(format!("redis: {e}"))
}

impl RedisStore {
    /// Connects to the Redis server at `url`:
    /// `redis://[user:password@]host[:port][/db]`, or `rediss://…` for Redis
    /// over TLS (rustls), the server's certificate checked against the
    /// Mozilla roots built in (webpki-roots: the same in every container,
    /// whatever its system store holds).
    ///
    /// Fails at once with [`StoreError::Backend`] if the server cannot be
    /// reached now: a process should not start serving sessions it cannot keep.
    pub async fn connect(url: &str) -> Result<RedisStore, StoreError> {
        RedisStore::connect_with_ca(url, None).await
    }

    /// [`connect`](Self::connect), trusting only the CA certificates in
    /// `ca_pem` (PEM) for a `rediss://` server instead of the built-in
    /// roots: a Redis behind a private CA. A CA with a plain `redis://` URL
    /// is refused, since it would silently protect nothing.
    pub async fn connect_with_ca(
        url: &str,
        ca_pem: Option<&[u8]>,
    ) -> Result<RedisStore, StoreError> {
        let tls = url.starts_with("rediss://");
        if ca_pem.is_some() && !tls {
            return Err(StoreError::Backend(
                "redis: a CA certificate is only used with a rediss:// (TLS) URL".into(),
            ));
        }
        // The redis crate skips what is not a certificate, and an empty
        // trust store would then refuse every server with a puzzling
        // "unknown issuer": say what is wrong instead.
        if let Some(pem) = ca_pem {
            let marker: &[u8] = b"-----BEGIN CERTIFICATE-----";
            if !pem.windows(marker.len()).any(|w| w == marker) {
                return Err(StoreError::Backend(
                    "redis: no PEM certificate in the CA file".into(),
                ));
            }
        }
        // Not `backend(e)`: a URL that fails to parse could be echoed in part.
        let info = url
            .into_connection_info()
            .map_err(|_| StoreError::Backend("redis: invalid connection URL".into()))?;
        let client = match ca_pem {
            None => Client::open(info),
            Some(pem) => Client::build_with_tls(
                info,
                TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.to_vec()),
                },
            ),
        }
        .map_err(|e| {
            StoreError::Backend(match ca_pem {
                // The PEM is public material; the error names no URL.
                Some(_) => format!("redis: unusable CA certificate: {e}"),
                None => "redis: invalid connection URL".into(),
            })
        })?;
        // Fail fast, retry on the next call. A USSD hop cannot wait seconds
        // for a store, and the manager's own backoff starts at one second
        // whatever its settings; so no retries inside one call. Each call
        // while Redis is down makes one fresh connection attempt (refused at
        // once, or bounded by the connection timeout) and fails with
        // `Backend`; the first call after Redis is back succeeds.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_secs(2))
            .set_number_of_retries(0);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(backend)?;
        Ok(RedisStore {
            conn,
            prefix: DEFAULT_PREFIX.to_owned(),
            cas: Script::new(CAS_SCRIPT),
            cas_with: Script::new(CAS_WITH_SCRIPT),
            get: Script::new(GET_SCRIPT),
            get_or: Script::new(GET_OR_SCRIPT),
        })
    }

    /// The same store with keys under `prefix` instead of `connectflow:`
    /// (several deployments or tests sharing one Redis).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> RedisStore {
        self.prefix = prefix.into();
        self
    }

    /// The prefix put before every key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

impl SessionStore for RedisStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, StoreError>> {
        Box::pin(async move {
            // The manager is a handle onto one shared multiplexed connection;
            // cloning it is how concurrent callers use it.
            let full = self.full_key(key);
            let (version, data, secs, micros): (Option<Version>, Option<Vec<u8>>, u64, u64) =
                retry_once(|| {
                    let mut conn = self.conn.clone();
                    let invocation = self.get.key(&full);
                    async move { invocation.invoke_async(&mut conn).await }
                })
                .await
                .map_err(backend)?;
            entry(version, data, redis_time(secs, micros))
        })
    }

    fn version<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Version>, StoreError>> {
        // One `HGET` of the version field: no script, and not the record's
        // bytes (the link API asks this on every poll of a view it has
        // cached). An expired record is gone with its key, so absent.
        Box::pin(async move {
            let full = self.full_key(key);
            retry_once(|| {
                let mut conn = self.conn.clone();
                let mut cmd = redis::cmd("HGET");
                cmd.arg(&full).arg("v");
                async move { cmd.query_async::<Option<Version>>(&mut conn).await }
            })
            .await
            .map_err(backend)
        })
    }

    fn get_or<'a>(
        &'a self,
        key: &'a str,
        fallback: &'a str,
    ) -> BoxFuture<'a, Result<EntryOr, StoreError>> {
        Box::pin(async move {
            let (full, other) = (self.full_key(key), self.full_key(fallback));
            type Reply = (
                Option<Version>,
                Option<Vec<u8>>,
                u64,
                u64,
                Option<Version>,
                Option<Vec<u8>>,
            );
            let (v1, d1, secs, micros, v2, d2): Reply = retry_once(|| {
                let mut conn = self.conn.clone();
                let mut invocation = self.get_or.key(&full);
                invocation.key(&other);
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await
            .map_err(backend)?;
            let read_at = redis_time(secs, micros);
            Ok((entry(v1, d1, read_at)?, entry(v2, d2, read_at)?))
        })
    }

    fn compare_and_set_with<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
        also: AlsoSet<'a>,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move {
            let version = |v: Option<Version>| v.map(|v| v.to_string()).unwrap_or_default();
            let (full, other) = (self.full_key(key), self.full_key(also.key));
            // Retried once on a broken connection, as compare_and_set is.
            let new: i64 = retry_once(|| {
                let mut conn = self.conn.clone();
                let mut invocation = self.cas_with.key(&full);
                invocation
                    .key(&other)
                    .arg(version(expected))
                    .arg(&data)
                    .arg(ttl_ms(ttl))
                    .arg(version(also.expected))
                    .arg(&also.data)
                    .arg(ttl_ms(also.ttl));
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await
            .map_err(backend)?;
            Version::try_from(new).map_err(|_| StoreError::Conflict)
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move {
            let conn = self.conn.clone();
            let expected = expected.map(|v| v.to_string()).unwrap_or_default();
            let ttl_ms = ttl_ms(ttl);
            let full = self.full_key(key);
            // Retried once if the connection was found broken: had the first
            // try been applied, the retry is refused as a conflict, which the
            // caller reads as "another turn won" and shows what is stored.
            let new: i64 = retry_once(|| {
                let mut conn = conn.clone();
                let mut invocation = self.cas.key(&full);
                invocation.arg(&expected).arg(&data).arg(ttl_ms);
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await
            .map_err(backend)?;
            Version::try_from(new).map_err(|_| StoreError::Conflict)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            redis::cmd("DEL")
                .arg(self.full_key(key))
                .exec_async(&mut conn)
                .await
                .map_err(backend)
        })
    }
}
