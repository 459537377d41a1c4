//! The Redis store's own connection (`src/store/redis/mux.rs`): many
//! callers at once share one connection and each gets its own replies, a
//! caller that gives up half way never hands its reply to the next, and a
//! server that answers garbage is an error, not a panic or a hang.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How many clients the server has, asked on a connection of the test's.
async fn clients(conn: &mut ::redis::aio::MultiplexedConnection) -> usize {
    let list: String = ::redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(conn)
        .await
        .unwrap();
    list.lines().count()
}

/// 500 operations at once all complete, each with its own key's record,
/// over one connection (beside the test's own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_callers_share_one_connection() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let store: Store = Arc::new(RedisStore::connect(server.url()).await.unwrap());
    let writes = (0..500).map(|i| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let key = format!("k{i}");
            cas(&store, &key, None, key.as_bytes()).await.unwrap();
            assert_eq!(data_at(&store, &key).await, Some((1, key.into_bytes())));
        })
    });
    for write in writes.collect::<Vec<_>>() {
        write.await.unwrap();
    }
    let client = ::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let open = clients(&mut conn).await;
    assert_eq!(open, 2, "clients");
}

/// A read given up before its reply came (a hop past its deadline) takes
/// its connection with it: the reads after it, on whatever connection,
/// each get their own key's record, never the abandoned one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_given_up_half_way_never_answers_the_next() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let store: Store = Arc::new(RedisStore::connect(server.url()).await.unwrap());
    cas(&store, "abandoned", None, b"A").await.unwrap();
    cas(&store, "wanted", None, b"W").await.unwrap();
    let mut given_up = 0;
    for _ in 0..300 {
        // Polled once, then dropped: its command has gone out (the first
        // poll writes it) and its reply has not been read.
        let mut abandoned = store.get("abandoned");
        let first = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(abandoned.as_mut().poll(cx).is_pending())
        })
        .await;
        drop(abandoned);
        if first {
            given_up += 1;
        }
        assert_eq!(data_at(&store, "wanted").await, Some((1, b"W".to_vec())));
    }
    assert!(
        given_up > 0,
        "no read was given up: the test tested nothing"
    );
}

/// Something on Redis' port that is not Redis (here a web server's error
/// page) fails `connect` with a Backend error at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_redis_is_a_backend_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
                // Kept open: the store must not wait for more.
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    let started = std::time::Instant::now();
    let err = RedisStore::connect(&format!("redis://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert!(err.to_string().contains("malformed"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// A store dropped closes its connection: a process that makes and drops
/// stores (a test suite, a reload) does not leave Redis clients behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_store_closes_its_connection() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let client = ::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let store = RedisStore::connect(server.url()).await.unwrap();
    store.get("k").await.unwrap();
    assert_eq!(clients(&mut conn).await, 2);
    drop(store);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while clients(&mut conn).await > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dropped store's connection is still open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
