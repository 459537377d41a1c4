//! Re-authorisation through the link API: the host makes a link token with
//! the linked `account` (and its bank), the front-end shows the same views,
//! and the exchange gives back the same account id.

use super::person::{link, values, Outcome};
use super::rig::{serve, Client, Setup};
use connectflow::testing::{test_users, Sandbox};
use serde_json::{json, Value};
use std::time::Duration;

/// Drives `token` as `username` would, returning the forms shown (by their
/// fields) and how it ended.
async fn drive(client: &Client, token: &str, username: &str) -> (Vec<String>, Value) {
    let user = test_users()
        .iter()
        .find(|u| u.username == username)
        .unwrap();
    let (mut status, mut body) = client.session(token).await;
    let mut forms = Vec::new();
    for _ in 0..30 {
        assert_eq!(status, 200, "{body}");
        let seq = body["seq"].as_u64().unwrap();
        let view = body["view"].clone();
        let action = match view["type"].as_str().unwrap() {
            "form" => {
                let names: Vec<&str> = view["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|f| f["name"].as_str())
                    .collect();
                forms.push(names.join(","));
                json!({"type": "submit", "values": values(user, &view)})
            }
            "working" => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                (status, body) = client.session(token).await;
                continue;
            }
            _ => return (forms, view),
        };
        (status, body) = client.act(token, seq, action).await;
    }
    panic!("never finished: {body}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_token_with_an_account_reauthorises_it_with_login_and_otp() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let rig = serve(&sandbox.url(), Setup::default()).await;
    let client = &rig.client;
    let user = test_users()
        .iter()
        .find(|u| u.username == "user_reauth")
        .unwrap();
    let Outcome::Linked(first) = link(client, user).await else {
        panic!("user_reauth links at once")
    };
    let account = first["account_id"].as_str().unwrap();

    let token = client
        .token(json!({
            "customer": {"name": "Kemi Adebayo", "email": "kemi@example.com"},
            "institution": "sandbox-bank",
            "account": account,
        }))
        .await;
    let (forms, done) = drive(client, &token, "user_reauth").await;
    assert_eq!(forms, ["username,password", "otp"], "no bank list first");
    assert_eq!(done["type"], "done", "{done}");
    let (status, again) = client
        .exchange(done["public_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["account_id"], account,
        "the same account, re-authorised"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_without_its_bank_or_unknown_to_the_key_is_refused() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let rig = serve(&sandbox.url(), Setup::default()).await;
    let client = &rig.client;
    // No institution: a 400 that says what is missing.
    let (status, body) = client
        .post(
            "/link/v1/tokens",
            super::rig::API_KEY,
            json!({"customer": {"id": "c1"}, "account": "acc_1"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("account needs institution"),
        "{body}"
    );

    // An account this key never linked: the flow ends, saying so.
    let token = client
        .token(json!({
            "customer": {"id": "c1"},
            "institution": "sandbox-bank",
            "account": "no_such_account",
        }))
        .await;
    let (forms, failed) = drive(client, &token, "user_reauth").await;
    assert!(forms.is_empty(), "{forms:?}");
    assert_eq!(failed["type"], "failed", "{failed}");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("Account not found"),
        "{failed}"
    );
}
