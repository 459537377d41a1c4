//! Institution health from what the service sees: a bank failing most
//! recent logins is marked degraded on the next person's list — in the
//! link API's JSON and on the USSD menu, served by the same service — and
//! recovers as logins there succeed again.

use super::rig::{serve, Client, Setup, GATEWAY_TOKEN};
use connectflow::testing::Sandbox;
use serde_json::{json, Value};
use std::time::Duration;

/// One person logging in at Sandbox Bank as `username` (the sandbox's
/// `user_down` gets HTTP 503, `user_good` links).
async fn log_in(client: &Client, username: &str) {
    let token = client.new_token().await;
    let (_, body) = client.session(&token).await;
    let (_, body) = client
        .act(
            &token,
            body["seq"].as_u64().unwrap(),
            json!({"type": "choose_institution", "institution": "sandbox-bank",
                   "auth_method": "internet_banking"}),
        )
        .await;
    assert_eq!(body["view"]["type"], "form", "{body}");
    let (_, mut body) = client
        .act(
            &token,
            body["seq"].as_u64().unwrap(),
            json!({"type": "submit", "values": {"username": username, "password": "pass_good"}}),
        )
        .await;
    // Wait out a slow answer, so the attempt is counted before the next.
    while body["view"]["type"] == "working" {
        tokio::time::sleep(Duration::from_millis(20)).await;
        body = client.session(&token).await.1;
    }
}

/// Sandbox Bank's entry on a new person's list.
async fn sandbox_bank(client: &Client) -> Value {
    let token = client.new_token().await;
    let (_, body) = client.session(&token).await;
    body["view"]["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "sandbox-bank")
        .cloned()
        .expect("Sandbox Bank is offered")
}

/// The first USSD screen a phone sees.
async fn first_ussd_screen(url: &str) -> String {
    reqwest::Client::new()
        .post(format!("{url}/ussd?token={GATEWAY_TOKEN}"))
        .form(&[
            ("sessionId", "ATUid_health"),
            ("phoneNumber", "+254711000001"),
            ("serviceCode", "*384*1#"),
            ("text", ""),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bank_failing_most_recent_logins_is_marked_degraded_and_recovers() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let rig = serve(&sandbox.url(), Setup::default()).await;
    let client = &rig.client;
    assert_eq!(sandbox_bank(client).await.get("status"), None);

    // 8 of the last 10 logins fail with a 5xx.
    for _ in 0..8 {
        log_in(client, "user_down").await;
    }
    for _ in 0..2 {
        log_in(client, "user_good").await;
    }
    assert_eq!(sandbox_bank(client).await["status"], "degraded");
    let ussd = first_ussd_screen(&rig.url).await;
    assert!(ussd.contains("Sandbox Bank (slow)"), "{ussd}");

    // Successes push the failures out of the window.
    for _ in 0..4 {
        log_in(client, "user_good").await;
    }
    assert_eq!(sandbox_bank(client).await.get("status"), None);
    let ussd = first_ussd_screen(&rig.url).await;
    assert!(!ussd.contains("(slow)"), "{ussd}");
}
