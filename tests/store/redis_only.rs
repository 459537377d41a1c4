//! What only Redis can do: share a server with other tenants under a
//! prefix, refuse bad URLs without leaking them, lose its server and come
//! back.

use super::*;

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

    // On the wire: one string per record under the prefix, its version (8
    // bytes big-endian) in front of its bytes, with a TTL.
    let client = ::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.sort();
    assert_eq!(keys, ["connectflow:k", "tenant-b:k"]);
    let raw: Vec<u8> = ::redis::cmd("GET")
        .arg("connectflow:k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(raw, [&1u64.to_be_bytes()[..], b"A"].concat());
    let pttl: i64 = ::redis::cmd("PTTL")
        .arg("connectflow:k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > 50_000 && pttl <= 60_000, "{pttl}");

    // Something else's value is an error, not a guess: a string too short
    // to hold a version, a hash with half a record.
    ::redis::cmd("SET")
        .arg("connectflow:short")
        .arg("abc")
        .exec_async(&mut conn)
        .await
        .unwrap();
    ::redis::cmd("HSET")
        .arg("connectflow:odd")
        .arg("v")
        .arg("3")
        .exec_async(&mut conn)
        .await
        .unwrap();
    for odd in ["short", "odd"] {
        let got = default.get(odd).await;
        assert!(matches!(got, Err(StoreError::Backend(_))), "{odd}: {got:?}");
    }
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

    // TLS is built in: rediss:// is tried (and refused here) like redis://.
    let err = RedisStore::connect("rediss://:hunter2@127.0.0.1:1/")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
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

/// On Redis 7 a new session and its phone's index are created in one
/// round trip, the read being the write: `SET … NX GET` twice and `TIME`,
/// no `GET`, no script.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_creates_a_pair_without_reading_first() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let store = RedisStore::connect(server.url()).await.unwrap();
    let client = ::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let calls = |stats: &str, command: &str| -> u64 {
        let prefix = format!("cmdstat_{command}:calls=");
        stats
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|rest| rest.split(',').next()?.parse().ok())
            .unwrap_or(0)
    };
    ::redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec_async(&mut conn)
        .await
        .unwrap();
    let created = store
        .create_pair("s", b"S".to_vec(), "i", b"I".to_vec(), TTL, TTL)
        .await
        .unwrap();
    assert_eq!(created, Created::Both);
    let stats: String = ::redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(calls(&stats, "set"), 2, "{stats}");
    for command in ["get", "evalsha", "eval", "hmget"] {
        assert_eq!(calls(&stats, command), 0, "{command}: {stats}");
    }
    assert_eq!(store.get("s").await.unwrap().unwrap().data, b"S");
    assert_eq!(store.get("i").await.unwrap().unwrap().data, b"I");
}
