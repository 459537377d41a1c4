//! The handle: the sandbox's address and URL, shutdown, and a host serving
//! its router itself.

use connectflow::sandbox::{Sandbox, SandboxConfig, SECRET_KEY};
use std::net::{Ipv4Addr, SocketAddr};

#[tokio::test]
async fn handle_url_router_and_shutdown() {
    let sandbox = Sandbox::start(
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SandboxConfig::default(),
    )
    .await
    .expect("starts");
    let port = sandbox.addr().port();
    assert_ne!(port, 0);
    assert_eq!(sandbox.url(), format!("http://127.0.0.1:{port}"));
    let url = sandbox.url();
    sandbox.shutdown().await;
    let after = reqwest::Client::new()
        .get(format!("{url}/v3/institutions"))
        .header("mono-sec-key", SECRET_KEY)
        .send()
        .await;
    assert!(after.is_err(), "the server is gone after shutdown");

    // A host can serve the router itself.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        axum::serve(listener, Sandbox::router(SandboxConfig::default())).await
    });
    let answer = reqwest::Client::new()
        .get(format!("http://{addr}/v3/institutions?auth_method=manual"))
        .header("mono-sec-key", SECRET_KEY)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    server.abort();
}
