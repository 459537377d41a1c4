//! A write whose reply is lost: Redis applied it, the connection broke
//! before the answer came back, and the store sent it again on a new one.
//! The second sending is refused (the record moved on), and the store must
//! read that refusal as its own first write, not as another writer's win:
//! a claim taken for "another turn won" left a claim no call stood behind
//! until its lease ran out.

use super::*;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TCP proxy in front of `redis`: while `armed`, the first chunk a client
/// sends that names `marker` is passed on, and once Redis has had time to
/// apply it, that client's connection is cut before any reply.
async fn cutting_proxy(redis: String, marker: &'static [u8], armed: Arc<AtomicBool>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let server = tokio::net::TcpStream::connect(&redis).await.unwrap();
            let armed = Arc::clone(&armed);
            tokio::spawn(async move {
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                // Set once the write to lose has gone to Redis: its reply,
                // and any after it, is read and dropped.
                let muted = Arc::new(AtomicBool::new(false));
                let replies = tokio::spawn({
                    let muted = Arc::clone(&muted);
                    async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n @ 1..) = server_rx.read(&mut buf).await {
                            if muted.load(Ordering::SeqCst) {
                                continue;
                            }
                            if client_tx.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                });
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = client_rx.read(&mut buf).await {
                    let chunk = &buf[..n];
                    let cut = chunk.windows(marker.len()).any(|w| w == marker)
                        && armed.swap(false, Ordering::SeqCst);
                    if cut {
                        // Redis applies it; its answer reaches nobody, and
                        // only then is the client's connection cut, so the
                        // store's second sending comes after the first.
                        muted.store(true, Ordering::SeqCst);
                        let _ = server_tx.write_all(chunk).await;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        replies.abort();
                        return;
                    }
                    if server_tx.write_all(chunk).await.is_err() {
                        break;
                    }
                }
                replies.abort();
            });
        }
    });
    format!("redis://{addr}")
}

/// A sealed store on `server` through [`cutting_proxy`] (cutting writes
/// that name `cutme`), and the switch that arms the next cut.
async fn behind_a_cutting_proxy(server: &RedisServer) -> (Store, Arc<AtomicBool>) {
    let redis = server.url().trim_start_matches("redis://");
    let redis = redis.split('/').next().unwrap_or(redis).to_owned();
    let armed = Arc::new(AtomicBool::new(false));
    let url = cutting_proxy(redis, b"cutme", Arc::clone(&armed)).await;
    let store: Store = Arc::new(Sealed::new(
        RedisStore::connect(&url).await.unwrap(),
        Sealer::random(),
    ));
    (store, armed)
}

/// Both kinds of write: a conditional update (the compare-and-set script,
/// as a claim is taken) and a new record (`SET … NX`), each applied with
/// its reply lost, come back as applied at the version they wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_applied_before_its_reply_was_lost_is_its_own() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let (store, armed) = behind_a_cutting_proxy(&server).await;
    // The script loaded (its first use is the load), and a record to update.
    assert_eq!(cas(&store, "warm", None, b"w").await.unwrap(), 1);
    assert_eq!(cas(&store, "warm", Some(1), b"w2").await.unwrap(), 2);
    assert_eq!(cas(&store, "cutme:claim", None, b"v1").await.unwrap(), 1);

    armed.store(true, Ordering::SeqCst);
    let claimed = cas(&store, "cutme:claim", Some(1), b"claimed").await;
    assert!(!armed.load(Ordering::SeqCst), "the write was not cut");
    assert!(matches!(claimed, Ok(2)), "{claimed:?}");
    assert_eq!(
        data_at(&store, "cutme:claim").await,
        Some((2, b"claimed".to_vec()))
    );

    armed.store(true, Ordering::SeqCst);
    let created = cas(&store, "cutme:new", None, b"fresh").await;
    assert!(!armed.load(Ordering::SeqCst), "the write was not cut");
    assert!(matches!(created, Ok(1)), "{created:?}");

    // Another writer's win is still a conflict.
    let late = cas(&store, "cutme:claim", Some(1), b"late").await;
    assert!(matches!(late, Err(StoreError::Conflict)), "{late:?}");
}

/// A conditional deletion (a flow taken from its old session on a re-dial)
/// applied with its reply lost comes back as done, though it left no bytes
/// to recognise: read as a conflict, the re-dial removed the flow's new
/// copy too, and the flow was gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_applied_before_its_reply_was_lost_is_its_own() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let (store, armed) = behind_a_cutting_proxy(&server).await;
    let delete = |key: &'static str, version| {
        let store = Arc::clone(&store);
        async move {
            store
                .compare_and_set(key, Some(version), Vec::new(), Duration::ZERO)
                .await
        }
    };
    // The deletion's script loaded (its first use is the load).
    assert_eq!(cas(&store, "warm", None, b"w").await.unwrap(), 1);
    assert!(delete("warm", 1).await.is_ok());
    assert_eq!(cas(&store, "cutme:old", None, b"flow").await.unwrap(), 1);

    armed.store(true, Ordering::SeqCst);
    let taken = delete("cutme:old", 1).await;
    assert!(!armed.load(Ordering::SeqCst), "the deletion was not cut");
    assert!(taken.is_ok(), "{taken:?}");
    assert_eq!(data_at(&store, "cutme:old").await, None);

    // Deleting what another writer moved on is still a conflict, and
    // deleting what is already gone too.
    assert_eq!(cas(&store, "moved", None, b"a").await.unwrap(), 1);
    assert_eq!(cas(&store, "moved", Some(1), b"b").await.unwrap(), 2);
    let stale = delete("moved", 1).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    assert_eq!(data_at(&store, "moved").await, Some((2, b"b".to_vec())));
    let again = delete("cutme:old", 1).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}
