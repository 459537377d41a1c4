//! Two `connectflow serve` processes sharing one real `redis-server`, in
//! front of one `connectflow sandbox` process, with the host's and the
//! front-end's requests alternating between them. Both processes get the
//! same seal key and API key, as a deployment would. Their logs (debug) are
//! scanned for typed secrets and the partner key afterwards.

use super::person::{link, Outcome};
use super::rig::{Client, API_KEY, SEAL_KEY};
use connectflow::testing::{test_users, RedisServer, OTP, PASSWORD, SECRET_KEY, SECURITY_ANSWER};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

/// A child process, killed on drop, with its first stdout line's URL.
struct Process {
    child: Child,
    url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connectflow"))
        .args(args)
        .envs(envs.iter().copied())
        .env("RUST_LOG", "connectflow=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    // Keep reading stdout so the process never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Process { child, url }
}

impl Process {
    /// Stops the process and returns what it wrote to stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut logs = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut logs);
        }
        logs
    }
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
    let a = spawn(&serve_args, &envs);
    let b = spawn(&serve_args, &envs);
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
