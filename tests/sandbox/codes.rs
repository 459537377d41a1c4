//! Codes and accounts: codes are single-use and expire, account ids are
//! stable, and an account's details and unlinking.

use crate::app::{exchanged_id, start, start_with, App, OTHER_KEY};
use connectflow::flow::CallError;
use connectflow::sandbox::SandboxConfig;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn codes_are_single_use_and_ids_are_stable() {
    let (sandbox, app) = start().await;
    let (_, code) = app.link_code("sandbox-bank", "user_good", None).await;
    // Another key cannot use it (and does not burn it).
    let other = App::new(&sandbox, OTHER_KEY);
    other
        .exchange(&code)
        .await
        .assert_failed(400, "Invalid or expired code");
    let first = app.exchange(&code).await;
    let id = exchanged_id(&first);
    assert_eq!(id.len(), 24);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let again = app.exchange(&code).await;
    again.assert_failed(400, "Invalid or expired code");
    assert!(matches!(
        again.reply,
        Err(CallError::Http { status: 400, .. })
    ));
    app.post("/v2/accounts/auth", None, json!({}))
        .await
        .assert_failed(400, "code");

    // A returning user gets the same id; other users and accounts do not.
    assert_eq!(app.link("sandbox-bank", "user_good", None).await, id);
    let multi_a = app.link("sandbox-bank", "user_multi", None).await;
    let multi_b = app
        .link("sandbox-bank", "user_multi", Some("2000000002"))
        .await;
    assert_ne!(multi_a, id);
    assert_ne!(multi_a, multi_b);
    assert_eq!(
        app.link("sandbox-bank", "user_multi", Some("2000000002"))
            .await,
        multi_b
    );
    assert_ne!(app.link("gtbank", "user_good", None).await, id);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn codes_expire() {
    let (sandbox, app) = start_with(SandboxConfig {
        code_ttl: Duration::from_millis(100),
        ..SandboxConfig::default()
    })
    .await;
    let (_, code) = app.link_code("sandbox-bank", "user_good", None).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.exchange(&code)
        .await
        .assert_failed(400, "Invalid or expired code");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn account_details_and_unlink() {
    let (sandbox, app) = start().await;
    let id = app.link("sandbox-bank", "user_good", None).await;
    let details = app.get(&format!("/v2/accounts/{id}"), None).await;
    assert_eq!(details.status, 200, "{}", details.body);
    let data = &details.body["data"];
    assert_eq!(data["id"], json!(id));
    assert_eq!(data["institution"]["id"], "sandbox-bank");
    assert_eq!(data["institution"]["name"], "Sandbox Bank");
    assert_eq!(data["account_number"], "1000000001");
    assert_eq!(data["name"], "ADA OBI");
    assert_eq!(data["type"], "SAVINGS_ACCOUNT");
    assert_eq!(data["currency"], "NGN");
    assert!(data["balance"].as_i64().is_some_and(|b| b > 0));
    assert_eq!(data["auth_method"], "internet_banking");
    assert_eq!(data["status"], "active");

    // Another app does not see it.
    App::new(&sandbox, OTHER_KEY)
        .get(&format!("/v2/accounts/{id}"), None)
        .await
        .assert_failed(404, "not found");

    let unlinked = app
        .post(&format!("/v2/accounts/{id}/unlink"), None, json!({}))
        .await;
    assert_eq!(unlinked.status, 200, "{}", unlinked.body);
    assert_eq!(unlinked.body["status"], "successful");
    app.get(&format!("/v2/accounts/{id}"), None)
        .await
        .assert_failed(404, "not found");
    app.post(&format!("/v2/accounts/{id}/unlink"), None, json!({}))
        .await
        .assert_failed(404, "not found");
    app.get("/v2/accounts/ffffffffffffffffffffffff", None)
        .await
        .assert_failed(404, "not found");

    // Linking again brings the same id back.
    assert_eq!(app.link("sandbox-bank", "user_good", None).await, id);
    assert_eq!(
        app.get(&format!("/v2/accounts/{id}"), None).await.status,
        200
    );
    sandbox.shutdown().await;
}
