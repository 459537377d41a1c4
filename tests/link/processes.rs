//! Two `connectflow serve` processes sharing one real `redis-server`, in
//! front of one `connectflow sandbox` process, with the host's and the
//! front-end's requests alternating between them. Both processes get the
//! same seal key and API key, as a deployment would. Their logs (debug) are
//! scanned for typed secrets and the partner key afterwards.

use super::person::{link, Outcome};
use super::rig::{Client, API_KEY, SEAL_KEY};
use crate::process::{connectflow, Process};
use connectflow::testing::{test_users, RedisServer, OTP, PASSWORD, SECRET_KEY, SECURITY_ANSWER};

/// `connectflow ARGS` with `envs`, debug logs on (scanned afterwards).
fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Process {
    Process::start(
        connectflow(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "connectflow=debug"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn two_serve_processes_share_redis_with_actions_alternating() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let sandbox = spawn(&["sandbox", "--addr", "127.0.0.1:0"], &[]);
    let envs = [
        ("MONO_SEC_KEY", SECRET_KEY),
        ("CONNECTFLOW_SEAL_KEY", SEAL_KEY),
        ("CONNECTFLOW_API_KEY", API_KEY),
    ];
    let serve_args = [
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--store",
        redis.url(),
        "--base-url",
        &sandbox.url,
    ];
    let mut a = spawn(&serve_args, &envs);
    let mut b = spawn(&serve_args, &envs);
    // Every request goes to the other instance than the one before.
    let client = Client::new(vec![a.url.clone(), b.url.clone()], API_KEY);
    for name in [
        "user_chain",
        "user_multi",
        "user_otp",
        "user_question",
        "user_good",
    ] {
        let user = test_users().iter().find(|u| u.username == name).unwrap();
        match link(&client, user).await {
            Outcome::Linked(account) => assert_eq!(account["institution"]["id"], "sandbox-bank"),
            other => panic!("{name}: {other:?}"),
        }
    }
    let locked = test_users()
        .iter()
        .find(|u| u.username == "user_locked")
        .unwrap();
    assert!(matches!(link(&client, locked).await, Outcome::Failed(_)));

    let logs = format!("{}\n{}", a.stop(), b.stop());
    assert!(
        logs.contains("account linked"),
        "debug logs were captured: {logs}"
    );
    for secret in [PASSWORD, OTP, SECURITY_ANSWER, SECRET_KEY] {
        assert!(!logs.contains(secret), "{secret:?} in a serve log");
        assert!(
            !client.all_bodies().contains(secret),
            "{secret:?} in a body"
        );
    }
}
