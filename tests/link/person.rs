//! A person at a custom front-end: reads each view from the JSON alone and
//! answers it as a sandbox test user would, until the flow ends; then the
//! host exchanges the public token.

use super::rig::Client;
use connectflow::testing::{TestUser, OTP, SECURITY_ANSWER};
use serde_json::{json, Value};
use std::time::Duration;

/// How a person's link ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Linked, and the host exchanged the public token for this.
    Linked(Value),
    /// Failed with this reason.
    Failed(String),
}

/// The values `user` types into `form`.
pub(crate) fn values(user: &TestUser, form: &Value) -> Value {
    let mut values = serde_json::Map::new();
    for field in form["fields"].as_array().unwrap() {
        let name = field["name"].as_str().unwrap();
        let value = match name {
            "username" => user.username,
            "password" => user.password,
            "otp" => OTP,
            "answer" => SECURITY_ANSWER,
            other => panic!("a field the test user cannot fill: {other} in {form}"),
        };
        values.insert(name.to_owned(), json!(value));
    }
    Value::Object(values)
}

/// Links `user` at Sandbox Bank through internet banking, from a fresh
/// link token to the host's exchange.
pub(crate) async fn link(client: &Client, user: &TestUser) -> Outcome {
    let token = client.new_token().await;
    let (mut status, mut body) = client.session(&token).await;
    for _ in 0..60 {
        assert_eq!(status, 200, "{} at {body}", user.username);
        let seq = body["seq"].as_u64().unwrap();
        let view = body["view"].clone();
        let action = match view["type"].as_str().unwrap() {
            "choose_institution" => json!({
                "type": "choose_institution",
                "institution": "sandbox-bank",
                "auth_method": "internet_banking"
            }),
            "form" => json!({"type": "submit", "values": values(user, &view)}),
            "choose_account" => {
                let last = view["accounts"].as_array().unwrap().len() - 1;
                json!({"type": "choose_account", "index": last})
            }
            "working" => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                (status, body) = client.session(&token).await;
                continue;
            }
            "done" => {
                let public = view["public_token"].as_str().unwrap();
                let (status, account) = client.exchange(public).await;
                assert_eq!(status, 200, "{account}");
                assert_eq!(account["reference"], view["reference"]);
                // The host may ask again (a retry): the same answer.
                assert_eq!(client.exchange(public).await, (200, account.clone()));
                return Outcome::Linked(account);
            }
            "failed" => return Outcome::Failed(view["reason"].as_str().unwrap().to_owned()),
            other => panic!("unexpected view {other}: {view}"),
        };
        (status, body) = client.act(&token, seq, action).await;
    }
    panic!("{} never finished: {body}", user.username)
}
