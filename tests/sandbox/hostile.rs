//! Hostile input: malformed and oversized bodies, unknown routes and
//! methods, each answered in Mono's envelope.

use crate::app::{creds, start};
use connectflow::dialect::Method;
use connectflow::flow::AuthMethodKind;
use connectflow::sandbox::PASSWORD;
use serde_json::json;

#[tokio::test]
async fn malformed_and_oversized_bodies_get_envelopes() {
    let (sandbox, app) = start().await;
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    for path in [
        "/v2/connect/session",
        "/v2/connect/login",
        "/v2/connect/commit",
        "/v2/accounts/auth",
    ] {
        app.raw(
            Method::Post,
            path,
            Some(&s.id),
            Some(b"{\"username\": ".to_vec()),
        )
        .await
        .assert_failed(400, "JSON");
        app.raw(Method::Post, path, Some(&s.id), Some(Vec::new()))
            .await
            .assert_failed(400, "JSON");
    }
    app.post("/v2/connect/login", Some(&s.id), json!(["user_good"]))
        .await
        .assert_failed(400, "Invalid input");
    app.post(
        "/v2/connect/login",
        Some(&s.id),
        json!({ "username": {"nested": true}, "password": PASSWORD }),
    )
    .await
    .assert_failed(400, "Invalid input");
    app.post(
        "/v2/connect/login",
        Some(&s.id),
        json!({ "username": "user_good", "password": PASSWORD, "extra": "x" }),
    )
    .await
    .assert_failed(400, "unexpected field");

    let big = format!(
        "{{\"username\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(100 * 1024)
    );
    let oversized = app
        .raw(
            Method::Post,
            "/v2/connect/login",
            Some(&s.id),
            Some(big.into_bytes()),
        )
        .await;
    oversized.assert_failed(413, "larger");

    app.get("/v2/no/such/route", None)
        .await
        .assert_failed(404, "Route");
    app.raw(Method::Delete, "/v2/connect/login", None, None)
        .await
        .assert_failed(405, "Method");

    // Still serving, and the session is still usable.
    assert_eq!(app.get("/v3/institutions", None).await.status, 200);
    let (codes, _) = app
        .finish(
            &s.id,
            app.login(&s.id, creds("user_good", PASSWORD)).await,
            None,
        )
        .await;
    assert_eq!(codes, [99]);
    sandbox.shutdown().await;
}
