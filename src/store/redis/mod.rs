//! The Redis store: sessions that survive a restart and are shared by every
//! instance behind a USSD gateway's load balancer.
//!
//! A record is a string at `<prefix><key>`, its version in front of its
//! bytes, with a TTL (`record.rs`: the format, why plain commands where
//! they suffice, and records of the earlier hash format). A write over an
//! existing version is one Lua script, which Redis runs atomically, and a
//! new record `SET … NX`, so two instances racing on one session cannot
//! both win. `ops.rs`: the store's operations.

use std::fmt;
use std::time::Duration;

use redis::{RedisError, Script};

use self::connect::Target;
use self::mux::Mux;
use super::StoreError;

mod connect;
mod mux;
mod ops;
mod record;
mod resp;

/// The key prefix unless [`RedisStore::with_prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "connectflow:";

const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// A [`SessionStore`](super::SessionStore) in Redis (`redis://` URLs),
/// through one connection that its callers share and that reconnects by
/// itself after the server restarts or the network drops.
///
/// While Redis is unreachable, operations fail fast with
/// [`StoreError::Backend`] rather than hang (a USSD gateway drops a hop long
/// before a slow store would answer), and each one tries to reconnect, so the
/// store recovers on its own when Redis is back. Keep records [`Sealed`](super::Sealed):
/// this store writes them as given.
#[derive(Clone)]
pub struct RedisStore {
    conn: Mux,
    prefix: String,
    cas: Script,
    cas_with: Script,
    cas_delete: Script,
    /// The server takes `SET … NX GET` (Redis 7.0 and later, Valkey): a new
    /// session and its index are created, or found, in one round trip.
    nx_get: bool,
}

impl fmt::Debug for RedisStore {
    // Hand-written so the connection, which keeps the URL's password to
    // authenticate the next one it opens, is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Runs `op`, and once more if it failed because the connection was
/// broken: after a Redis restart the store only learns its connection is
/// dead by using it (`mux.rs`), and a person's hop must not be the one
/// that pays for it.
async fn retry_once<T, F, Fut>(op: F) -> Result<T, RedisError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RedisError>>,
{
    retry_once_noting(op).await.0
}

/// [`retry_once`], also saying whether `op` was sent a second time: then a
/// write's first sending may have been applied before the connection broke
/// (or its reply was lost), and a refusal of the second may be its own.
async fn retry_once_noting<T, F, Fut>(mut op: F) -> (Result<T, RedisError>, bool)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RedisError>>,
{
    match op().await {
        Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() => {
            (op().await, true)
        }
        other => (other, false),
    }
}

/// Redis' TIME (seconds, microseconds) as a timestamp.
fn redis_time(secs: u64, micros: u64) -> crate::flow::Timestamp {
    crate::flow::Timestamp(secs.saturating_mul(1000).saturating_add(micros / 1000))
}

/// A TTL as the milliseconds `SET … PX` takes (0: the record is removed).
fn ttl_ms(ttl: Duration) -> u64 {
    // Redis refuses an expiry past the year 292 million; a century is
    // "forever" for a session.
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .min(MAX_TTL_MS)
}

/// Whether the server `INFO server` describes takes `SET … NX GET`: Redis
/// 7.0 and later (Valkey reports the Redis version it is compatible with).
fn takes_nx_get(info: &str) -> bool {
    info.lines()
        .find_map(|line| line.trim().strip_prefix("redis_version:"))
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok())
        .is_some_and(|major| major >= 7)
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
        let tls = url
            .get(..9)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("rediss://"));
        if ca_pem.is_some() && !tls {
            return Err(StoreError::Backend(
                "redis: a CA certificate is only used with a rediss:// (TLS) URL".into(),
            ));
        }
        let target = Target::new(url, tls, ca_pem)?;
        // Fail fast, retry on the next call: a USSD hop cannot wait seconds
        // for a store. Each call while Redis is down makes one fresh
        // connection attempt (refused at once, or bounded by the connection
        // timeout) and fails with `Backend`; the first call after Redis is
        // back succeeds.
        let mut conn = Mux::new(target, Duration::from_secs(1), Duration::from_secs(2));
        // `SET … NX GET` needs Redis 7; `INFO` says which this is. A user
        // whose ACL refuses `INFO` (it is in `@dangerous`) still connects,
        // and sessions start with a read first, as on an older server.
        let info: Result<String, _> = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut conn)
            .await;
        let nx_get = match info {
            Ok(info) => takes_nx_get(&info),
            // Not a command refused but no store: unreachable, timed out,
            // the URL's password or database refused (no server code), or
            // a password the server wants and the URL does not give.
            Err(e)
                if e.code()
                    .is_none_or(|code| ["NOAUTH", "WRONGPASS"].contains(&code)) =>
            {
                return Err(backend(e));
            }
            Err(e) => {
                tracing::warn!(error = %e, "redis: INFO refused; a session starts with a read first");
                false
            }
        };
        Ok(RedisStore {
            nx_get,
            conn,
            prefix: DEFAULT_PREFIX.to_owned(),
            cas: Script::new(record::CAS),
            cas_with: Script::new(record::CAS_WITH),
            cas_delete: Script::new(record::CAS_DELETE),
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
        // Not `format!`: its machinery costs more than the copy (every
        // operation makes one or two of these).
        [self.prefix.as_str(), key].concat()
    }

    /// Where a conditional deletion of `key` leaves its nonce
    /// ([`record::CAS_DELETE`]): under the key's SHA-256, so a mark neither
    /// looks like its record to a scan (`KEYS *ussd-phone:*`) nor can be
    /// one (records' keys start with a namespace: `ussd:`, `link:`, ...).
    fn deletion_mark(&self, key: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}deleted:{hex}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    /// `SET … NX GET` is only sent to a server that takes it; an older
    /// one, or an `INFO` this does not understand, gets two round trips.
    #[test]
    fn nx_get_is_used_from_redis_7() {
        let info = |v: &str| format!("# Server\r\nredis_version:{v}\r\nredis_mode:standalone\r\n");
        assert!(super::takes_nx_get(&info("7.0.15")));
        assert!(super::takes_nx_get(&info("8.2.1")));
        assert!(!super::takes_nx_get(&info("6.2.14")));
        assert!(!super::takes_nx_get(&info("")));
        assert!(!super::takes_nx_get("# Server\r\n"));
    }
}
