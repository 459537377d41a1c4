//! Every sandbox test user through the HTTP API, with each store.

use super::person::{link, Outcome};
use super::rig::{serve, Client, Setup, Store};
use connectflow::testing::{test_users, RedisServer, Sandbox, SandboxConfig};
use std::time::Duration;

/// A sandbox whose slow user answers in 1 s (past the rig's 0.5 s budget,
/// so its login goes on in the background and the page shows `working`).
pub(crate) async fn sandbox() -> Sandbox {
    let config = SandboxConfig {
        slow_delay: Duration::from_secs(1),
        ..SandboxConfig::default()
    };
    Sandbox::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

/// Links every test user and checks each ends as the README's table says.
pub(crate) async fn every_user(client: &Client) {
    for user in test_users() {
        let outcome = link(client, user).await;
        match (user.username, &outcome) {
            ("user_locked", Outcome::Failed(reason)) => {
                assert!(reason.contains("locked"), "{reason}")
            }
            ("user_down", Outcome::Failed(reason)) => {
                assert!(reason.contains("not responding"), "{reason}")
            }
            (_, Outcome::Linked(account))
                if !matches!(user.username, "user_locked" | "user_down") =>
            {
                assert_eq!(account["institution"]["id"], "sandbox-bank");
                assert_eq!(
                    account["account_id"].as_str().unwrap().len(),
                    24,
                    "{account}"
                );
            }
            _ => panic!("{}: {outcome:?}", user.username),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sandbox_user_links_through_the_api_with_the_memory_store() {
    let sandbox = sandbox().await;
    let rig = serve(&sandbox.url(), Setup::default()).await;
    every_user(&rig.client).await;
    // The requests were counted by outcome.
    let metrics = rig.metrics.render();
    assert!(
        metrics.contains(r#"connectflow_turns_total{channel="link",outcome="applied"}"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sandbox_user_links_through_the_api_with_redis() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let sandbox = sandbox().await;
    let setup = Setup {
        store: Store::Redis(redis.url().to_owned()),
        ..Setup::default()
    };
    let rig = serve(&sandbox.url(), setup).await;
    every_user(&rig.client).await;
}
