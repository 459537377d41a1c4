//! Records written in the earlier Redis format (a hash: `v` the version in
//! decimal, `d` the bytes) still read, and their next write moves them to
//! the current one: sessions in flight across an upgrade carry on.

use super::*;

/// Writes `data` at `key` as the store before the string format did.
async fn write_hash_record(server: &RedisServer, key: &str, version: u64, data: &[u8]) {
    let client = ::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    ::redis::pipe()
        .cmd("HSET")
        .arg(format!("connectflow:{key}"))
        .arg("v")
        .arg(version.to_string())
        .arg("d")
        .arg(data)
        .cmd("PEXPIRE")
        .arg(format!("connectflow:{key}"))
        .arg(60_000)
        .exec_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_format_record_reads_and_moves_on_its_next_write() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let store: Store = Arc::new(RedisStore::connect(server.url()).await.unwrap());
    write_hash_record(&server, "old", 3, b"in flight").await;

    // Read in every way a hop reads.
    assert_eq!(
        data_at(&store, "old").await,
        Some((3, b"in flight".to_vec()))
    );
    assert_eq!(store.version("old").await.unwrap(), Some(3));
    let (first, second) = store.get_or("old", "index").await.unwrap();
    assert_eq!(
        first.map(|e| (e.version, e.data)),
        Some((3, b"in flight".to_vec()))
    );
    assert_eq!(second, None);

    // Its version is kept: a stale or "absent" write is a conflict...
    for stale in [None, Some(2), Some(4)] {
        let err = cas(&store, "old", stale, b"no").await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict), "{stale:?}: {err:?}");
    }
    // ...and the right one lands, in the current format.
    assert_eq!(cas(&store, "old", Some(3), b"moved").await.unwrap(), 4);
    assert_eq!(data_at(&store, "old").await, Some((4, b"moved".to_vec())));
    assert_eq!(cas(&store, "old", Some(4), b"again").await.unwrap(), 5);
    assert_eq!(store.version("old").await.unwrap(), Some(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_format_index_is_found_and_replaced_beside_a_new_session() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let store: Store = Arc::new(RedisStore::connect(server.url()).await.unwrap());
    write_hash_record(&server, "phone", 2, b"ussd:at:earlier").await;

    let (first, second) = store.get_or("ussd:at:new", "phone").await.unwrap();
    assert!(first.is_none());
    let index = second.expect("the old index is found");
    assert_eq!(
        (index.version, &index.data[..]),
        (2, &b"ussd:at:earlier"[..])
    );

    let also = AlsoSet {
        key: "phone",
        expected: Some(2),
        data: b"ussd:at:new".to_vec(),
        ttl: TTL,
    };
    let version = store
        .compare_and_set_with("ussd:at:new", None, b"session".to_vec(), TTL, also)
        .await
        .unwrap();
    assert_eq!(version, 1);
    assert_eq!(
        data_at(&store, "phone").await,
        Some((3, b"ussd:at:new".to_vec()))
    );
}

/// A session started without a read beside a phone index still in the hash
/// format: the pipeline's session `SET … NX GET` lands, the index's meets
/// `WRONGTYPE`, and the fallback's read finds the session this very write
/// made. That is this write (not a session someone else holds, which would
/// leave the person on "Processing…"); the old index is reported, to be
/// moved to the new session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_beside_a_hash_format_index_lands_and_reports_the_index() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    let store: Store = Arc::new(RedisStore::connect(server.url()).await.unwrap());
    write_hash_record(&server, "phone", 2, b"ussd:at:earlier").await;
    let created = store
        .create_pair(
            "ussd:at:new",
            b"session".to_vec(),
            "phone",
            b"ussd:at:new".to_vec(),
            TTL,
            TTL,
        )
        .await
        .unwrap();
    let Created::AlsoTaken(index) = created else {
        panic!("{created:?}")
    };
    assert_eq!(
        (index.version, &index.data[..]),
        (2, &b"ussd:at:earlier"[..])
    );
    assert_eq!(
        data_at(&store, "ussd:at:new").await,
        Some((1, b"session".to_vec()))
    );
}
