//! The session-store contract, run against every store: memory, Redis (a real
//! `redis-server`, see `testing::RedisServer`), and each of those sealed. Then what only
//! sealing promises (nothing readable at rest, tampering refused) and what
//! only Redis can do (lose its server and come back).
#![cfg(all(feature = "redis", feature = "testing"))]

use std::sync::Arc;
use std::time::Duration;

use connectflow::store::{
    MemoryStore, RedisStore, SealError, Sealed, Sealer, SessionStore, StoreError,
};
use connectflow::testing::RedisServer;
use tokio::sync::Barrier;

const TTL: Duration = Duration::from_secs(60);

type Store = Arc<dyn SessionStore>;

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

// ---------------------------------------------------------------- contract

async fn absent_get_is_none(store: Store) {
    assert_eq!(data_at(&store, "nobody").await, None);
}

async fn versions_start_at_1_and_count_writes(store: Store) {
    // Every byte value, to catch a backend that is not binary-safe.
    let all_bytes: Vec<u8> = (0..=255).collect();
    assert_eq!(cas(&store, "k", None, &all_bytes).await.unwrap(), 1);
    assert_eq!(data_at(&store, "k").await, Some((1, all_bytes)));
    assert_eq!(cas(&store, "k", Some(1), b"two").await.unwrap(), 2);
    assert_eq!(cas(&store, "k", Some(2), b"").await.unwrap(), 3);
    assert_eq!(data_at(&store, "k").await, Some((3, Vec::new())));
}

async fn stale_version_conflicts_and_changes_nothing(store: Store) {
    cas(&store, "k", None, b"one").await.unwrap();
    cas(&store, "k", Some(1), b"two").await.unwrap();
    for stale in [Some(1), Some(3), Some(0)] {
        let err = cas(&store, "k", stale, b"stale").await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict), "{stale:?}: {err:?}");
    }
    assert_eq!(data_at(&store, "k").await, Some((2, b"two".to_vec())));
}

async fn expected_none_when_present_conflicts(store: Store) {
    cas(&store, "k", None, b"first").await.unwrap();
    let err = cas(&store, "k", None, b"second").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(data_at(&store, "k").await, Some((1, b"first".to_vec())));
}

async fn expected_version_when_absent_conflicts(store: Store) {
    let err = cas(&store, "k", Some(1), b"x").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(data_at(&store, "k").await, None);
}

async fn keys_are_independent(store: Store) {
    cas(&store, "a", None, b"A").await.unwrap();
    cas(&store, "b", None, b"B").await.unwrap();
    cas(&store, "a", Some(1), b"A2").await.unwrap();
    assert_eq!(data_at(&store, "a").await, Some((2, b"A2".to_vec())));
    assert_eq!(data_at(&store, "b").await, Some((1, b"B".to_vec())));
}

async fn expired_record_is_absent(store: Store) {
    let short = Duration::from_millis(150);
    store
        .compare_and_set("k", None, b"soon gone".to_vec(), short)
        .await
        .unwrap();
    assert_eq!(data_at(&store, "k").await.map(|r| r.0), Some(1));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(data_at(&store, "k").await, None);
    // Expired is absent for writes too: the old version no longer matches,
    // and a write expecting nothing starts again at 1.
    let err = cas(&store, "k", Some(1), b"late").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(cas(&store, "k", None, b"again").await.unwrap(), 1);
    assert_eq!(data_at(&store, "k").await, Some((1, b"again".to_vec())));
}

async fn every_write_resets_the_ttl(store: Store) {
    // Margins of 400 ms either way, so a loaded CI machine does not flake.
    let ttl = Duration::from_millis(1000);
    let pause = Duration::from_millis(600);
    store
        .compare_and_set("k", None, b"1".to_vec(), ttl)
        .await
        .unwrap();
    tokio::time::sleep(pause).await;
    store
        .compare_and_set("k", Some(1), b"2".to_vec(), ttl)
        .await
        .unwrap();
    tokio::time::sleep(pause).await;
    assert_eq!(data_at(&store, "k").await, Some((2, b"2".to_vec())));
}

async fn delete_removes(store: Store) {
    store.delete("never-written").await.unwrap();
    cas(&store, "k", None, b"x").await.unwrap();
    cas(&store, "k", Some(1), b"y").await.unwrap();
    store.delete("k").await.unwrap();
    assert_eq!(data_at(&store, "k").await, None);
    store.delete("k").await.unwrap();
    assert_eq!(cas(&store, "k", None, b"z").await.unwrap(), 1);
}

/// Two overlapping hops of one session, both holding the same version: one
/// write lands, the other sees `Conflict`, and the stored record is the
/// winner's. Round 0 races on an absent key (expected `None`).
async fn concurrent_writers_exactly_one_wins(store: Store) {
    const ROUNDS: u64 = 50;
    for round in 0..ROUNDS {
        let expected = (round > 0).then_some(round);
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = (0..2u8)
            .map(|writer| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let data = vec![writer, round as u8];
                    (writer, cas(&store, "race", expected, &data).await)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (writer, Ok(version)) => winners.push((writer, version)),
                (_, Err(StoreError::Conflict)) => {}
                (_, Err(e)) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let (writer, version) = winners[0];
        assert_eq!(version, round + 1, "round {round}");
        assert_eq!(
            data_at(&store, "race").await,
            Some((round + 1, vec![writer, round as u8])),
            "round {round}"
        );
    }
}

/// One `#[tokio::test]` per contract check per store, so a failure names both.
macro_rules! contract {
    ($($check:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                super::$check(std::sync::Arc::new(super::MemoryStore::new())).await;
            })*
        }
        mod sealed_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let store = super::Sealed::new(super::MemoryStore::new(), super::Sealer::random());
                super::$check(std::sync::Arc::new(store)).await;
            })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(server) = super::RedisServer::start_or_skip() else { return };
                let store = super::RedisStore::connect(server.url()).await.unwrap();
                super::$check(std::sync::Arc::new(store)).await;
            })*
        }
        mod sealed_redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(server) = super::RedisServer::start_or_skip() else { return };
                let store = super::RedisStore::connect(server.url()).await.unwrap();
                let store = super::Sealed::new(store, super::Sealer::random());
                super::$check(std::sync::Arc::new(store)).await;
            })*
        }
    };
}

contract!(
    absent_get_is_none,
    versions_start_at_1_and_count_writes,
    stale_version_conflicts_and_changes_nothing,
    expected_none_when_present_conflicts,
    expected_version_when_absent_conflicts,
    keys_are_independent,
    expired_record_is_absent,
    every_write_resets_the_ttl,
    delete_removes,
    concurrent_writers_exactly_one_wins,
);

// ---------------------------------------------------------------- sealing

const PIN: &[u8] = b"{\"field\":\"pin\",\"value\":\"PIN-4321\"}";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn is_tampered<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Tampered))
}

/// What sealing promises, over any inner store: nothing readable at rest,
/// and every way of handing the sealer bytes it did not seal for this key is
/// refused, never returned.
async fn sealed_at_rest<S: SessionStore>(inner: S) {
    let sealed = Sealed::new(inner, Sealer::random());
    let version = sealed
        .compare_and_set("s1", None, PIN.to_vec(), TTL)
        .await
        .unwrap();
    assert_eq!(sealed.get("s1").await.unwrap().unwrap().data, PIN);

    let raw = sealed.inner().get("s1").await.unwrap().unwrap();
    assert_eq!(raw.version, version);
    assert!(!contains(&raw.data, b"PIN-4321"), "plaintext at rest");
    assert!(!contains(&raw.data, b"4321"), "plaintext at rest");
    assert_eq!(
        raw.data.len(),
        1 + 24 + PIN.len() + 16,
        "v1 | nonce | ct | tag"
    );
    assert_eq!(raw.data[0], 1, "format version byte");

    // A flipped bit anywhere: version byte, nonce, ciphertext, tag.
    for at in [0, 1, 24, 25, raw.data.len() / 2, raw.data.len() - 1] {
        let mut bad = raw.data.clone();
        bad[at] ^= 0x01;
        let key = format!("flip{at}");
        sealed
            .inner()
            .compare_and_set(&key, None, bad, TTL)
            .await
            .unwrap();
        assert!(is_tampered(sealed.get(&key).await), "byte {at} flipped");
    }
    // Truncated, empty, and a bare header.
    for bad in [&raw.data[..raw.data.len() - 1], &[][..], &raw.data[..25]] {
        sealed.inner().delete("short").await.unwrap();
        sealed
            .inner()
            .compare_and_set("short", None, bad.to_vec(), TTL)
            .await
            .unwrap();
        assert!(
            is_tampered(sealed.get("short").await),
            "{} bytes",
            bad.len()
        );
    }
    // Copied verbatim to another session's key: bound to "s1", refused.
    sealed
        .inner()
        .compare_and_set("s2", None, raw.data.clone(), TTL)
        .await
        .unwrap();
    assert!(is_tampered(sealed.get("s2").await));
    // A plaintext record written around the sealer is refused too.
    sealed
        .inner()
        .compare_and_set("plain", None, PIN.to_vec(), TTL)
        .await
        .unwrap();
    assert!(is_tampered(sealed.get("plain").await));

    // Another deployment's key (or a rotated one) cannot read it.
    let other = Sealed::new(sealed.into_inner(), Sealer::random());
    assert!(is_tampered(other.get("s1").await));
    // ... and versions pass through unchanged, so a writer can still replace it.
    let v2 = other
        .compare_and_set("s1", Some(version), b"new".to_vec(), TTL)
        .await
        .unwrap();
    assert_eq!(v2, version + 1);
    assert_eq!(other.get("s1").await.unwrap().unwrap().data, b"new");
}

#[tokio::test]
async fn sealed_memory_at_rest() {
    sealed_at_rest(MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_redis_at_rest() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    sealed_at_rest(RedisStore::connect(server.url()).await.unwrap()).await;
}

#[test]
fn sealer_round_trip_and_binding() {
    let sealer = Sealer::new([7; 32]);
    let a = sealer.seal(b"key-a", PIN);
    assert_eq!(sealer.open(b"key-a", &a).unwrap(), PIN);
    assert_eq!(sealer.open(b"key-b", &a), Err(SealError::Tampered));
    assert_eq!(
        Sealer::new([8; 32]).open(b"key-a", &a),
        Err(SealError::Tampered)
    );
    // A fresh nonce per seal: the same snapshot twice looks unrelated.
    assert_ne!(sealer.seal(b"key-a", PIN), a);
    // Empty plaintext is still authenticated.
    let empty = sealer.seal(b"k", b"");
    assert_eq!(empty.len(), 1 + 24 + 16);
    assert_eq!(sealer.open(b"k", &empty).unwrap(), b"");
    // A later format version is refused, not guessed at.
    let mut v2 = a.clone();
    v2[0] = 2;
    assert_eq!(sealer.open(b"key-a", &v2), Err(SealError::Tampered));
}

#[test]
fn sealer_debug_hides_the_key() {
    let shown = format!("{:?}", Sealer::new([0xAB; 32]));
    assert!(
        !shown.to_lowercase().contains("abab") && !shown.contains("171"),
        "{shown}"
    );
    let store = Sealed::new(MemoryStore::new(), Sealer::new([0xAB; 32]));
    let shown = format!("{store:?}");
    assert!(
        !shown.to_lowercase().contains("abab") && !shown.contains("171"),
        "{shown}"
    );
}

// 0x00, 0x01, ... 0x1f written both ways.
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn same_key(a: &Sealer, b: &Sealer) -> bool {
    b.open(b"k", &a.seal(b"k", b"probe")).is_ok()
}

#[test]
fn key_text_parsing() {
    let by_array = Sealer::new(std::array::from_fn(|i| i as u8));
    for text in [
        KEY_HEX.to_owned(),
        KEY_HEX.to_uppercase(),
        KEY_B64.to_owned(),
        KEY_B64.trim_end_matches('=').to_owned(),
        format!("  {KEY_HEX}\n"),
    ] {
        let parsed: Sealer = text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(same_key(&parsed, &by_array), "{text:?}");
    }
    let bad = [
        "",
        "   ",
        &KEY_HEX[..62],
        &format!("{KEY_HEX}00"),
        &format!("{}zz", &KEY_HEX[..62]),
        &KEY_B64.replace('A', "-"),
        &KEY_B64.replace('A', "*"),
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", // non-zero spare bits
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",
        "hunter2",
    ];
    for text in bad {
        match text.parse::<Sealer>() {
            Err(e @ SealError::BadKey(_)) => {
                let message = e.to_string();
                assert!(message.contains("CONNECTFLOW_SEAL_KEY"), "{message}");
                if text.trim().len() >= 4 {
                    assert!(!message.contains(text.trim()), "key echoed: {message}");
                }
            }
            other => panic!("{text:?} accepted or wrong error: {other:?}"),
        }
    }
}

/// The only test that touches `CONNECTFLOW_SEAL_KEY`, so setting it cannot
/// race another test reading it.
#[test]
fn from_env_reads_connectflow_seal_key() {
    const VAR: &str = "CONNECTFLOW_SEAL_KEY";
    let by_array = Sealer::new(std::array::from_fn(|i| i as u8));

    std::env::remove_var(VAR);
    assert!(Sealer::from_env().unwrap().is_none());

    std::env::set_var(VAR, KEY_HEX);
    assert!(same_key(&Sealer::from_env().unwrap().unwrap(), &by_array));

    std::env::set_var(VAR, KEY_B64);
    assert!(same_key(&Sealer::from_env().unwrap().unwrap(), &by_array));

    let secret_ish = "not-a-key-but-secret-ish-s3cr3t";
    std::env::set_var(VAR, secret_ish);
    let err = Sealer::from_env().unwrap_err();
    assert!(matches!(err, SealError::BadKey(_)), "{err:?}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(!format!("{err:?}").contains("s3cr3t"), "{err:?}");

    std::env::remove_var(VAR);
}

// ---------------------------------------------------------------- Redis only

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keys_are_namespaced() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let default = RedisStore::connect(server.url()).await.unwrap();
    assert_eq!(default.prefix(), "connectflow:");
    let other = default.clone().with_prefix("tenant-b:");
    default
        .compare_and_set("k", None, b"A".to_vec(), TTL)
        .await
        .unwrap();
    assert_eq!(other.get("k").await.unwrap(), None);
    other
        .compare_and_set("k", None, b"B".to_vec(), TTL)
        .await
        .unwrap();
    assert_eq!(default.get("k").await.unwrap().unwrap().data, b"A");

    // On the wire: one hash per record, under the prefix, with a TTL.
    let client = ::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.sort();
    assert_eq!(keys, ["connectflow:k", "tenant-b:k"]);
    let (v, d): (String, Vec<u8>) = ::redis::cmd("HMGET")
        .arg("connectflow:k")
        .arg("v")
        .arg("d")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!((v.as_str(), d.as_slice()), ("1", &b"A"[..]));
    let pttl: i64 = ::redis::cmd("PTTL")
        .arg("connectflow:k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > 50_000 && pttl <= 60_000, "{pttl}");

    // Something else's half-record is an error, not a guess.
    ::redis::cmd("HSET")
        .arg("connectflow:odd")
        .arg("v")
        .arg("3")
        .exec_async(&mut conn)
        .await
        .unwrap();
    assert!(matches!(
        default.get("odd").await,
        Err(StoreError::Backend(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_connect_errors_are_backend_and_hide_the_url() {
    // Port 1 on loopback: refused at once. The password must not leak.
    let started = std::time::Instant::now();
    let err = RedisStore::connect("redis://user:hunter2@127.0.0.1:1/")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let err = RedisStore::connect("rediss://:hunter2@127.0.0.1:1/")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");

    let err = RedisStore::connect("not a url, hunter2").await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// A crash of Redis is an error the channel can report (never a panic or a
/// hang), and the store recovers by itself once a server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_backend_error_then_reconnects() {
    let Some(mut server) = RedisServer::start_or_skip() else {
        return;
    };
    let store = Sealed::new(
        RedisStore::connect(server.url()).await.unwrap(),
        Sealer::random(),
    );
    store
        .compare_and_set("k", None, PIN.to_vec(), TTL)
        .await
        .unwrap();

    server.stop();
    // Refused connections fail in microseconds; 3 s leaves room for the 1 s
    // connection timeout on a slow machine, and proves there is no hang.
    let bounded = Duration::from_secs(3);
    for _ in 0..3 {
        let got = tokio::time::timeout(bounded, store.get("k"))
            .await
            .expect("get hung");
        assert!(matches!(got, Err(StoreError::Backend(_))), "{got:?}");
        let set = tokio::time::timeout(
            bounded,
            store.compare_and_set("k", Some(1), b"x".to_vec(), TTL),
        )
        .await
        .expect("compare_and_set hung");
        assert!(matches!(set, Err(StoreError::Backend(_))), "{set:?}");
        let del = tokio::time::timeout(bounded, store.delete("k"))
            .await
            .expect("delete hung");
        assert!(matches!(del, Err(StoreError::Backend(_))), "{del:?}");
    }

    // A new, empty server on the same port (no persistence: the record is
    // gone). The same store object must find it again by itself, at once in
    // practice (the next call reconnects); 3 s allows for a slow machine.
    tokio::task::block_in_place(|| server.restart());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        match tokio::time::timeout(bounded, store.get("k"))
            .await
            .expect("get hung")
        {
            Ok(got) => {
                assert_eq!(got, None);
                break;
            }
            Err(StoreError::Backend(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no reconnect after restart: {e:?}"),
        }
    }
    assert_eq!(
        store
            .compare_and_set("k", None, PIN.to_vec(), TTL)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.get("k").await.unwrap().unwrap().data, PIN);
}
