//! The session-store contract, run against every store: memory, Redis (a real
//! `redis-server`, see `testing::RedisServer`), and each of those sealed. Then what only
//! sealing promises (nothing readable at rest, tampering refused) and what
//! only Redis can do (lose its server and come back).
#![cfg(all(feature = "redis", feature = "testing"))]

mod contract;
mod redis_conn;
mod redis_format;
mod redis_lost_reply;
mod redis_only;
mod redis_tls;
mod sealing;
#[path = "../support/tls_redis.rs"]
mod tls_redis;

use std::sync::Arc;
use std::time::Duration;

use connectflow::store::{
    AlsoSet, Created, MemoryStore, RedisStore, SealError, Sealed, Sealer, SessionStore, StoreError,
};
use connectflow::testing::RedisServer;
use tokio::sync::Barrier;

const TTL: Duration = Duration::from_secs(60);

type Store = Arc<dyn SessionStore>;

/// A sealed record's plaintext: a PIN a person typed, held between screens.
const PIN: &[u8] = b"{\"field\":\"pin\",\"value\":\"PIN-4321\"}";

async fn cas(
    store: &Store,
    key: &str,
    expected: Option<u64>,
    data: &[u8],
) -> Result<u64, StoreError> {
    store
        .compare_and_set(key, expected, data.to_vec(), TTL)
        .await
}

async fn data_at(store: &Store, key: &str) -> Option<(u64, Vec<u8>)> {
    store.get(key).await.unwrap().map(|r| (r.version, r.data))
}
