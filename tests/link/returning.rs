//! A returning customer on the link page: the banks they linked before
//! come first, marked `linked_before`, most recent first; a new customer
//! sees the partner's own order.

use super::rig::{serve, Setup};
use connectflow::records::{Location, SqlStore};
use connectflow::testing::{Sandbox, TempDir};
use serde_json::{json, Value};
use std::time::Duration;

/// Links `user_good` at `bank` for `customer`, from the token to done.
async fn link_at(client: &super::rig::Client, customer: &str, bank: &str) {
    let token = client.token(json!({"customer": {"id": customer}})).await;
    link_with(client, &token, bank).await;
}

/// Drives the flow of `token` from its first view to done as `user_good`
/// at `bank`; the done view.
pub(crate) async fn link_with(client: &super::rig::Client, token: &str, bank: &str) -> Value {
    let (_, mut body) = client.session(token).await;
    for _ in 0..20 {
        let seq = body["seq"].as_u64().unwrap();
        let action = match body["view"]["type"].as_str().unwrap() {
            "choose_institution" => json!({"type": "choose_institution", "institution": bank,
                                            "auth_method": "internet_banking"}),
            "form" => json!({"type": "submit",
                             "values": {"username": "user_good", "password": "pass_good"}}),
            "working" => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                body = client.session(token).await.1;
                continue;
            }
            "done" => return body,
            other => panic!("unexpected {other}: {body}"),
        };
        body = client.act(token, seq, action).await.1;
    }
    panic!("did not link: {body}");
}

/// The ids on a new token's bank list, and which are marked.
async fn list_for(client: &super::rig::Client, customer: &str) -> Vec<(String, bool)> {
    let token = client.token(json!({"customer": {"id": customer}})).await;
    let (_, body) = client.session(&token).await;
    body["view"]["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i: &Value| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["linked_before"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_returning_customers_banks_come_first_on_the_link_page() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let dir = TempDir::new("link-returning");
    let records = SqlStore::open(&Location::parse(&dir.sqlite("r.db")).unwrap(), None)
        .await
        .unwrap();
    let rig = serve(
        &sandbox.url(),
        Setup {
            records: Some(std::sync::Arc::new(records)),
            ..Setup::default()
        },
    )
    .await;
    let client = &rig.client;
    let fresh = list_for(client, "cust-new").await;
    assert!(fresh.iter().all(|(_, marked)| !marked));

    link_at(client, "cust-ret", "gtbank").await;
    link_at(client, "cust-ret", "access-bank").await;
    let list = list_for(client, "cust-ret").await;
    assert_eq!(
        list[..2],
        [
            ("access-bank".to_owned(), true),
            ("gtbank".to_owned(), true)
        ],
        "most recent first: {list:?}"
    );
    assert!(list[2..].iter().all(|(_, marked)| !marked));
    assert_eq!(list.len(), fresh.len(), "nobody dropped");
    // Another customer still sees the partner's order.
    assert_eq!(list_for(client, "cust-other").await, fresh);
}
