//! A link whose delivery failed is delivered on the page's next poll.

use super::flaky_delivery::FlakyDelivery;
use super::rig::{serve, Setup};
use connectflow::service::ServiceConfig;
use connectflow::testing::Sandbox;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Finding (review, 2026-12-04): a link saved undelivered (the records
/// database down while the login settled) was never delivered: a view of a
/// finished flow ran no turn. Now the page's next poll of a linked but
/// undelivered session runs one, which delivers it. (The background retry
/// would too; the poll here comes while its pause has grown to 0.8 s.)
#[tokio::test(flavor = "multi_thread")]
async fn the_next_poll_delivers_a_link_whose_delivery_failed() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let delivery = Arc::new(FlakyDelivery::failing(usize::MAX));
    let setup = Setup {
        delivery: Some(delivery.clone()),
        ..Setup::default()
    };
    let rig = serve(&sandbox.url(), setup).await;
    let client = &rig.client;
    let token = client.new_token().await;
    let body = super::returning::link_with(client, &token, "sandbox-bank").await;
    assert_eq!(body["view"]["type"], "done", "{body}");
    assert!(delivery.delivered().is_empty());
    // The background retry has tried four times (after 0.1, 0.2 and 0.4 s):
    // its next try is 0.8 s away.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while delivery.calls.load(Ordering::SeqCst) < 4 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The database is back; the page polls.
    delivery.failures.store(0, Ordering::SeqCst);
    let (status, body) = client.session(&token).await;
    assert_eq!((status, body["view"]["type"].as_str()), (200, Some("done")));
    assert_eq!(delivery.delivered().len(), 1, "delivered by the poll");
    // Once delivered, polls deliver nothing more.
    client.session(&token).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client.session(&token).await;
    assert_eq!(delivery.delivered().len(), 1);
}

/// Finding (review, 2026-12-04): a link token promised 30 minutes (up to a
/// day), but every save after the first kept its session only the session
/// TTL (10 minutes): a person who paused on a form came back to "This link
/// has expired", and the host lost its exchange. Every save now keeps the
/// session until its token expires. (Here the session TTL is 1 s.)
#[tokio::test(flavor = "multi_thread")]
async fn a_session_lives_as_long_as_its_link_token_says() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let setup = Setup {
        service: ServiceConfig {
            session_ttl: Duration::from_secs(1),
            ..ServiceConfig::default()
        },
        ..Setup::default()
    };
    let rig = serve(&sandbox.url(), setup).await;
    let client = &rig.client;
    let token = client.new_token().await;
    let (status, body) = client.session(&token).await;
    assert_eq!(status, 200, "{body}");
    let choose = serde_json::json!({"type": "choose_institution",
        "institution": "sandbox-bank", "auth_method": "internet_banking"});
    let (status, body) = client
        .act(&token, body["seq"].as_u64().unwrap(), choose)
        .await;
    assert_eq!((status, body["view"]["type"].as_str()), (200, Some("form")));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = client.session(&token).await;
    assert_eq!(
        (status, body["view"]["type"].as_str()),
        (200, Some("form")),
        "{body}"
    );
}
