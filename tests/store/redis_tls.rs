//! `rediss://`: the Redis store over TLS (rustls), against a real
//! `redis-server` listening only on a TLS port with a throwaway CA.

use super::tls_redis::{throwaway_pki, TlsRedis};
use super::*;

/// Sessions round-trip over TLS with the CA trusted; the same server with
/// only the built-in roots is refused (the certificate is checked), and a
/// plain-text client on the TLS port gets no session either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_round_trip_over_rediss_with_the_ca_trusted() {
    let (ca, cert, key) = throwaway_pki();
    let Some(server) = TlsRedis::start(&ca, &cert, &key) else {
        return;
    };
    let store: Store = Arc::new(Sealed::new(
        RedisStore::connect_with_ca(&server.url(), Some(ca.as_bytes()))
            .await
            .unwrap(),
        Sealer::random(),
    ));
    let v1 = cas(&store, "ussd:hubtel:tls", None, PIN).await.unwrap();
    assert_eq!(
        data_at(&store, "ussd:hubtel:tls").await,
        Some((v1, PIN.to_vec()))
    );
    let v2 = cas(&store, "ussd:hubtel:tls", Some(v1), b"next")
        .await
        .unwrap();
    assert!(matches!(
        cas(&store, "ussd:hubtel:tls", Some(v1), b"stale").await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        data_at(&store, "ussd:hubtel:tls").await,
        Some((v2, b"next".to_vec()))
    );

    // The built-in roots do not know this CA: refused, as a Backend error.
    let err = RedisStore::connect(&server.url()).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    // Plain text to the TLS port is no store either.
    let plain = format!("redis://127.0.0.1:{}/", server.port);
    assert!(RedisStore::connect(&plain).await.is_err());
    // A CA with a plain URL would protect nothing: refused up front.
    let err = RedisStore::connect_with_ca(&plain, Some(ca.as_bytes()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rediss://"), "{err}");
    // A CA file with no certificate in it is named as the problem.
    let err = RedisStore::connect_with_ca(&server.url(), Some(b"not a certificate"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
}
