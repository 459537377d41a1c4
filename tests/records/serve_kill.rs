//! The real `connectflow serve`: a link over USSD is recorded with its
//! webhook delivery; the process is SIGKILLed while that delivery is in
//! flight; a new process on the same records delivers it, with the same
//! idempotency id. The same phone then sees its bank first and links again
//! as a returning customer.
#![cfg(feature = "cli")]

use crate::kit::{backends, KEY};
use crate::process::{connectflow, Process};
use connectflow::records::IDEMPOTENCY_HEADER;
use connectflow::testing::{Answer, StubPartner};
use std::time::{Duration, Instant};

const TOKEN: &str = "kill-test-gateway-token";
const PHONE: &str = "+254711000555";

/// A `connectflow serve` process on the given records; killed on drop.
fn serve(records: &str, hook: &str) -> Process {
    Process::start(
        connectflow(&["serve", "--addr", "127.0.0.1:0", "--records", records])
            .args(["--webhook-url", hook, "--webhook-timeout", "1"])
            .env_remove("MONO_SEC_KEY")
            .env("CONNECTFLOW_WEBHOOK_SECRET", "whsec_kill")
            .env("CONNECTFLOW_API_KEY", KEY)
            .env("CONNECTFLOW_GATEWAY_TOKEN", TOKEN),
    )
}

/// One Africa's Talking hop with this file's gateway token.
async fn hop(url: &str, session: &str, phone: &str, text: &str) -> (bool, String) {
    crate::at_hop::at_hop(url, TOKEN, session, phone, text).await
}

/// Dials and answers `answers` (cumulative text); the screens.
async fn dial(url: &str, session: &str, answers: &[&str]) -> Vec<(bool, String)> {
    let mut screens = vec![hop(url, session, PHONE, "").await];
    for i in 1..=answers.len() {
        screens.push(hop(url, session, PHONE, &answers[..i].join("*")).await);
    }
    screens
}

async fn until(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_in_flight_when_serve_is_killed_is_sent_after_restart() {
    for backend in backends().await {
        let name = backend.name;
        let receiver = StubPartner::start().await.unwrap();
        // The first try never gets an answer: it is in flight when the
        // process dies. Every later try is accepted.
        receiver.answer_once("/hook", Answer::hang());
        receiver.answer("/hook", Answer::status(200, "ok"));
        let hook = format!("{}/hook", receiver.url());

        let first = serve(&backend.location, &hook);
        // Bank 2 on the USSD list is Access Bank (the captcha bank is not
        // offered on a handset).
        let screens = dial(
            &first.url,
            "ATUid_k1",
            &["2", "1", "user_good", "pass_good"],
        )
        .await;
        let (end, last) = screens.last().unwrap();
        assert!(
            *end && last.contains("Your Access Bank account is linked."),
            "{name}: {screens:?}"
        );
        until("the first try", Duration::from_secs(10), || {
            receiver.count("/hook") == 1
        })
        .await;
        drop(first); // SIGKILL, mid-send

        let second = serve(&backend.location, &hook);
        until(
            "the delivery after restart",
            Duration::from_secs(15),
            || receiver.count("/hook") == 2,
        )
        .await;
        let got = receiver.requests_to("/hook");
        assert_eq!(
            got[0].header(IDEMPOTENCY_HEADER),
            got[1].header(IDEMPOTENCY_HEADER),
            "{name}"
        );
        assert_eq!(got[0].body, got[1].body, "{name}: the same delivery");
        let body: serde_json::Value = serde_json::from_slice(&got[1].body).unwrap();
        assert_eq!(
            (body["returning"].as_bool(), body["phoneNumber"].as_str()),
            (Some(false), Some(PHONE))
        );

        // The auth is there through Okra's endpoint on the new process.
        let auths: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/v2/auth/getByCustomer", second.url))
            .bearer_auth(KEY)
            .json(&serde_json::json!({ "customer": PHONE, "page": "1", "limit": "10" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            auths["data"]["pagination"]["totalDocs"], 1,
            "{name}: {auths}"
        );
        assert_eq!(auths["data"]["auths"][0]["id"], body["auth"]["id"]);
        assert_eq!(auths["data"]["auths"][0]["env"], "production-sandbox");
        assert_eq!(auths["data"]["auths"][0]["channel"], "ussd");
        assert_eq!(auths["data"]["auths"][0]["auth_method"], "internet_banking");

        // The same phone again: its bank first, and a returning link.
        let screens = dial(
            &second.url,
            "ATUid_k2",
            &["1", "1", "user_good", "pass_good"],
        )
        .await;
        assert!(
            screens[0].1.contains("1. Access Bank"),
            "{name}: {:?}",
            screens[0]
        );
        let (end, last) = screens.last().unwrap();
        assert!(
            *end && last.contains("Welcome back. Your Access Bank account is linked again."),
            "{name}: {screens:?}"
        );
        until(
            "the returning link's delivery",
            Duration::from_secs(10),
            || receiver.count("/hook") == 3,
        )
        .await;
        let third: serde_json::Value =
            serde_json::from_slice(&receiver.requests_to("/hook")[2].body).unwrap();
        assert_eq!(third["returning"], true, "{name}");
        assert_eq!(
            third["auth"]["id"], body["auth"]["id"],
            "{name}: the same auth"
        );
        // Another phone still sees the catalogue's order.
        let (_, other) = hop(&second.url, "ATUid_k3", "+254711000556", "").await;
        assert!(other.contains("1. Sandbox Bank"), "{name}: {other}");
    }
}
