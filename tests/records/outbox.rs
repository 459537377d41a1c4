//! The webhook outbox against a real receiver on loopback: down then up,
//! refusing then accepting, never accepting (dead letter) — each delivery
//! received once per success with its idempotency id, and every signature
//! checked by an HMAC written here, not the crate's.

use crate::kit::{backends, jan, linked};
use connectflow::metrics::Metrics;
use connectflow::records::{
    AuthStore, Env, NewLink, Outbox, OutboxConfig, OutboxStore, SqlStore, ATTEMPT_HEADER,
    IDEMPOTENCY_HEADER,
};
use connectflow::testing::{catalogues, Answer, RecordedRequest, StubPartner};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "whsec_outbox_test";

/// Retries every 50–200 ms, so a test sees many tries in a second.
fn fast(url: &str, max_attempts: u32) -> OutboxConfig {
    let mut config = OutboxConfig::new(url, SECRET).unwrap();
    config.max_attempts = max_attempts;
    config.first_backoff = Duration::from_millis(50);
    config.max_backoff = Duration::from_millis(200);
    config.poll = Duration::from_millis(25);
    config.timeout = Duration::from_secs(2);
    config.lease = Duration::from_secs(4);
    config
}

/// Links `n` accounts of one customer, each queueing a delivery.
async fn queue(store: &SqlStore, n: u64) {
    for i in 0..n {
        let linked = linked(&format!("hook-{i}"), &format!("acc-{i}"), "ada", "gtbank");
        let link = NewLink {
            linked: &linked,
            env: Env::Sandbox,
            at: jan(1, 9) + i,
            outbox: true,
        };
        store.link(link).await.unwrap();
    }
}

/// Checks `t=<secs>,v1=<hex>` against the body the way a receiver would:
/// HMAC-SHA256 over `"<t>.<body>"`, a timestamp within five minutes.
fn signature_ok(request: &RecordedRequest) -> bool {
    let Some(header) = request.header("x-connectflow-signature") else {
        return false;
    };
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<u64>().ok(),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&request.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1 && now.abs_diff(t) <= 300
}

async fn until(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn keys(requests: &[RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .map(|r| r.header(IDEMPOTENCY_HEADER).unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn a_receiver_down_then_up_gets_each_delivery_once() {
    for backend in backends().await {
        let name = backend.name;
        // A port with nobody on it yet: the receiver is down.
        let addr: SocketAddr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        queue(&backend.store, 3).await;
        let metrics = Metrics::new();
        let outbox = Outbox::new(
            backend.store.clone(),
            fast(&format!("http://{addr}/hook"), 50),
            Some(&metrics),
        );
        let stop = CancellationToken::new();
        let sender = outbox.spawn(stop.clone());
        until("failed tries", Duration::from_secs(10), || {
            metrics
                .render()
                .contains(r#"connectflow_outbox_tries_total{outcome="failed"}"#)
        })
        .await;
        // The gauges are refreshed after each pass.
        until("the pending gauge", Duration::from_secs(10), || {
            metrics.render().contains("connectflow_outbox_pending 3")
        })
        .await;

        // The receiver comes up on that port.
        let receiver = StubPartner::start_on(addr, catalogues::demo())
            .await
            .unwrap();
        receiver.answer("/hook", Answer::status(200, "ok"));
        until("three deliveries", Duration::from_secs(10), || {
            receiver.count("/hook") >= 3
        })
        .await;
        until("the outbox to drain", Duration::from_secs(10), || {
            metrics.render().contains("connectflow_outbox_pending 0")
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got = receiver.requests_to("/hook");
        let mut ids = keys(&got);
        ids.sort();
        ids.dedup();
        assert_eq!(
            (got.len(), ids.len()),
            (3, 3),
            "{name}: each delivery once: {ids:?}"
        );
        for request in &got {
            assert!(
                signature_ok(request),
                "{name}: bad signature {:?}",
                request.header("x-connectflow-signature")
            );
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(
                body["id"].as_str(),
                request.header(IDEMPOTENCY_HEADER),
                "{name}"
            );
            assert_eq!(body["event"], "account.linked");
            assert_eq!(body["auth"]["customer"]["_id"], "ada");
            assert_eq!(body["account_id"], body["auth"]["partner_account_id"]);
            assert_eq!(request.header("content-type"), Some("application/json"));
        }
        stop.cancel();
        sender.await.unwrap();
    }
}

#[tokio::test]
async fn a_refusing_receiver_gets_the_same_id_until_it_accepts_then_nothing_more() {
    for backend in backends().await {
        let name = backend.name;
        let receiver = StubPartner::start().await.unwrap();
        receiver.answer_once("/hook", Answer::status(503, "busy"));
        receiver.answer_once("/hook", Answer::status(500, "oops"));
        receiver.answer("/hook", Answer::status(204, ""));
        queue(&backend.store, 1).await;
        let outbox = Outbox::new(
            backend.store.clone(),
            fast(&format!("{}/hook", receiver.url()), 50),
            None,
        );
        let stop = CancellationToken::new();
        let sender = outbox.spawn(stop.clone());
        until("the third try", Duration::from_secs(10), || {
            receiver.count("/hook") >= 3
        })
        .await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let got = receiver.requests_to("/hook");
        assert_eq!(got.len(), 3, "{name}: no try after the 2xx");
        let ids = keys(&got);
        assert!(
            ids.iter().all(|k| k == &ids[0] && !k.is_empty()),
            "{name}: {ids:?}"
        );
        let attempts: Vec<_> = got
            .iter()
            .map(|r| r.header(ATTEMPT_HEADER).unwrap_or(""))
            .collect();
        assert_eq!(attempts, ["1", "2", "3"], "{name}");
        assert!(
            got.iter().all(signature_ok),
            "{name}: every try is signed afresh"
        );
        assert_eq!(backend.store.counts().await.unwrap().pending, 0, "{name}");
        stop.cancel();
        sender.await.unwrap();
    }
}

#[tokio::test]
async fn a_delivery_that_never_succeeds_is_dead_lettered_visibly_and_can_be_revived() {
    for backend in backends().await {
        let name = backend.name;
        let receiver = StubPartner::start().await.unwrap();
        receiver.answer("/hook", Answer::status(500, "broken"));
        queue(&backend.store, 1).await;
        let metrics = Metrics::new();
        let store: Arc<SqlStore> = backend.store.clone();
        let outbox = Outbox::new(
            store.clone(),
            fast(&format!("{}/hook", receiver.url()), 3),
            Some(&metrics),
        );
        let stop = CancellationToken::new();
        let sender = outbox.spawn(stop.clone());
        until(
            "the dead letter in /metrics",
            Duration::from_secs(10),
            || metrics.render().contains("connectflow_outbox_dead 1"),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.count("/hook"), 3, "{name}: three tries, then none");
        assert!(
            metrics
                .render()
                .contains(r#"connectflow_outbox_tries_total{outcome="dead"} 1"#),
            "{}",
            metrics.render()
        );
        // An operator sends it again once the receiver is fixed.
        receiver.answer("/hook", Answer::status(200, "ok"));
        assert_eq!(
            store
                .revive(connectflow::records::time::now_ms())
                .await
                .unwrap(),
            1
        );
        until("the revived delivery", Duration::from_secs(10), || {
            receiver.count("/hook") == 4
        })
        .await;
        until("the gauge to clear", Duration::from_secs(10), || {
            metrics.render().contains("connectflow_outbox_dead 0")
        })
        .await;
        stop.cancel();
        sender.await.unwrap();
        let _ = AuthStore::owner(store.as_ref());
    }
}
