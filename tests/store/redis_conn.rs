//! The Redis store's own connection (`src/store/redis/mux.rs`): many
//! callers at once share one connection and each gets its own replies, a
//! caller that gives up half way never hands its reply to the next, a
//! server that answers garbage is an error, not a panic or a hang, a long
//! reply in small pieces reads whole, and a Unix socket's URL connects.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A connection of the test's own to `server`, beside the store's.
async fn own_connection(server: &RedisServer) -> ::redis::aio::MultiplexedConnection {
    let client = ::redis::Client::open(server.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

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
    let mut conn = own_connection(&server).await;
    let open = clients(&mut conn).await;
    assert_eq!(open, 2, "clients");
}

/// A read given up before its reply came (a hop past its deadline) leaves
/// its place in line: its reply is read and dropped, and the reads after
/// it on the same connection each get their own key's record, never the
/// abandoned one's.
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
        // Polled once, then dropped: its command is queued (the first
        // poll queues it, the connection's task sends it) and its reply is
        // still to come.
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
    let mut conn = own_connection(&server).await;
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

/// A TCP proxy in front of `redis` that, while `silent`, passes nothing
/// either way and closes nothing: a network that drops packets.
async fn silencing_proxy(redis: String, silent: Arc<std::sync::atomic::AtomicBool>) -> String {
    proxy(redis, silent, usize::MAX).await
}

/// A TCP proxy in front of `redis`: while `silent` it passes nothing; it
/// passes Redis's bytes on in pieces of at most `piece` bytes, each sent
/// on its own (a slow or lossy network's segments).
async fn proxy(redis: String, silent: Arc<std::sync::atomic::AtomicBool>, piece: usize) -> String {
    use std::sync::atomic::Ordering;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&redis).await else {
                return;
            };
            client.set_nodelay(true).unwrap();
            let (mut client_rx, mut client_tx) = client.into_split();
            let (mut server_rx, mut server_tx) = server.into_split();
            let up = Arc::clone(&silent);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = client_rx.read(&mut buf).await {
                    if !up.load(Ordering::SeqCst) && server_tx.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
            let down = Arc::clone(&silent);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = server_rx.read(&mut buf).await {
                    if down.load(Ordering::SeqCst) {
                        continue;
                    }
                    for bytes in buf[..n].chunks(piece) {
                        if client_tx.write_all(bytes).await.is_err() {
                            return;
                        }
                        // Sent before the next piece is written.
                        tokio::task::yield_now().await;
                    }
                }
            });
        }
    });
    format!("redis://{addr}/")
}

/// `read`'s outcome, or a failure after 10 s: a reply waited for past its
/// end would otherwise hang the test.
async fn within<T>(read: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a long reply in pieces was never read")
}

/// A record near the largest the store keeps (256 KiB), its reply arriving
/// in pieces of 1,000 bytes, reads back whole; and so does the next
/// read on the same connection, of another key (the reply reader, told
/// how long a bulk string is, waits for all of it and takes no more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_reply_in_small_pieces_reads_whole() {
    use std::sync::atomic::AtomicBool;
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let quiet = Arc::new(AtomicBool::new(false));
    let url = proxy(format!("127.0.0.1:{}", server.port()), quiet, 1000).await;
    let store: Store = Arc::new(RedisStore::connect(&url).await.unwrap());
    let long: Vec<u8> = (0..250_000u32).map(|i| (i % 251) as u8).collect();
    cas(&store, "long", None, &long).await.unwrap();
    cas(&store, "short", None, b"S").await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            within(data_at(&store, "long")).await,
            Some((1, long.clone()))
        );
        assert_eq!(data_at(&store, "short").await, Some((1, b"S".to_vec())));
    }
    // Both at once, each order: a whole reply then part of the long one
    // in the same read (the part waited for from where it starts, not
    // from the start of the read), and the long one then the short.
    for _ in 0..3 {
        let (short, long_read) =
            within(async { tokio::join!(data_at(&store, "short"), data_at(&store, "long")) }).await;
        assert_eq!(short, Some((1, b"S".to_vec())));
        assert_eq!(long_read, Some((1, long.clone())));
        let (long_read, short) =
            within(async { tokio::join!(data_at(&store, "long"), data_at(&store, "short")) }).await;
        assert_eq!(short, Some((1, b"S".to_vec())));
        assert_eq!(long_read, Some((1, long.clone())));
    }
}

/// A peer gone silent (no reply, no reset) fails an operation within the
/// response timeout and its retry's (2 s each), never hangs; once the
/// network is back, the next operation succeeds on a new connection,
/// though the silent one was never closed by the peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_fails_in_time_and_the_store_recovers() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let silent = Arc::new(AtomicBool::new(false));
    let url = silencing_proxy(format!("127.0.0.1:{}", server.port()), Arc::clone(&silent)).await;
    let store: Store = Arc::new(RedisStore::connect(&url).await.unwrap());
    cas(&store, "k", None, b"before").await.unwrap();

    silent.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let got = tokio::time::timeout(Duration::from_secs(10), store.get("k"))
        .await
        .expect("a read on a silent connection hung");
    assert!(matches!(got, Err(StoreError::Backend(_))), "{got:?}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );

    silent.store(false, Ordering::SeqCst);
    assert_eq!(data_at(&store, "k").await, Some((1, b"before".to_vec())));
}

/// A URL's password, user and database are used on every connection: a
/// server that wants a password serves the URL that gives it (as the
/// password alone, or a user's of its ACL), in the URL's database; a
/// wrong password or a database the server does not have fails `connect`
/// at once, and no error names the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_users_and_databases_come_from_the_url() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let mut admin = own_connection(&server).await;
    for command in [
        &[
            "ACL",
            "SETUSER",
            "teller",
            "on",
            ">till-s3cret",
            "~*",
            "+@all",
        ][..],
        &["CONFIG", "SET", "requirepass", "hunter2"],
    ] {
        let mut cmd = ::redis::cmd(command[0]);
        for arg in &command[1..] {
            cmd.arg(*arg);
        }
        cmd.exec_async(&mut admin).await.unwrap();
    }
    let port = server.port();

    let store = RedisStore::connect(&format!("redis://:hunter2@127.0.0.1:{port}/"))
        .await
        .unwrap();
    store
        .compare_and_set("k", None, b"db0".to_vec(), TTL)
        .await
        .unwrap();
    let teller = RedisStore::connect(&format!("redis://teller:till-s3cret@127.0.0.1:{port}/3"))
        .await
        .unwrap();
    assert_eq!(teller.get("k").await.unwrap(), None, "database 3 is not 0");
    teller
        .compare_and_set("k", None, b"db3".to_vec(), TTL)
        .await
        .unwrap();
    assert_eq!(teller.get("k").await.unwrap().unwrap().data, b"db3");
    assert_eq!(store.get("k").await.unwrap().unwrap().data, b"db0");

    for (url, secret) in [
        (format!("redis://:wrong-one@127.0.0.1:{port}/"), "wrong-one"),
        (format!("redis://127.0.0.1:{port}/"), "hunter2"),
        (
            format!("redis://teller:nope-s3cret@127.0.0.1:{port}/"),
            "nope-s3cret",
        ),
        (format!("redis://:hunter2@127.0.0.1:{port}/99"), "hunter2"),
    ] {
        let err = RedisStore::connect(&url).await.unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)), "{url}: {err:?}");
        assert!(!err.to_string().contains(secret), "{err}");
    }
}

/// A `redis+unix://` URL connects over the Unix socket: records written
/// through it are the server's (read back over TCP), and a socket path
/// where no server listens fails `connect` at once.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_url_connects() {
    let Some(server) = RedisServer::start_with_unix_socket_or_skip() else {
        return;
    };
    let socket = server.unix_url().unwrap();
    let unix: Store = Arc::new(RedisStore::connect(&socket).await.unwrap());
    cas(&unix, "k", None, b"over the socket").await.unwrap();
    let tcp: Store = Arc::new(RedisStore::connect(server.url()).await.unwrap());
    assert_eq!(
        data_at(&tcp, "k").await,
        Some((1, b"over the socket".to_vec()))
    );
    let nowhere = format!("{socket}.absent");
    let refused = RedisStore::connect(&nowhere).await;
    assert!(
        matches!(refused, Err(StoreError::Backend(_))),
        "{refused:?}"
    );
}
