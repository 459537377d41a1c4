//! No response body, event or log line ever holds a typed password, OTP or
//! security answer, nor the partner's secret key. Every body the client got
//! and every event streamed is scanned, and so is every log line the crate
//! wrote at trace level while the flows ran.

use super::events::read_stream;
use super::person::values;
use super::rig::{serve, Setup};
use connectflow::testing::{test_users, Sandbox, OTP, PASSWORD, SECRET_KEY, SECURITY_ANSWER};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Every log line of this test binary, from the crate at trace level.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("connectflow=trace"))
            .with_ansi(false)
            .with_writer(move || Sink(Arc::clone(&writer)))
            .try_init();
        buffer
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn typed_secrets_and_the_partner_key_never_come_back() {
    let logs = logs();
    let sandbox = Sandbox::start_local().await.unwrap();
    let rig = serve(&sandbox.url(), Setup::default()).await;
    let c = &rig.client;
    let chain = test_users()
        .iter()
        .find(|u| u.username == "user_chain")
        .unwrap();
    let wrong = "Wr0ng-Passw0rd!";

    let token = c.new_token().await;
    let stream = tokio::spawn(read_stream(rig.url.clone(), token.clone(), None));
    c.session(&token).await;
    let mut body = c
        .act(
            &token,
            0,
            json!({"type": "choose_institution", "institution": "sandbox-bank"}),
        )
        .await
        .1;
    // A wrong password first (refused, retryable), then the flow through.
    let seq = body["seq"].as_u64().unwrap();
    let (status, refused) = c
        .act(
            &token,
            seq,
            json!({"type": "submit", "values": {"username": "user_chain", "password": wrong}}),
        )
        .await;
    assert_eq!(status, 200, "{refused}");
    assert!(
        refused["view"]["notice"]
            .as_str()
            .unwrap()
            .contains("tries left"),
        "{refused}"
    );
    // The username is filled in again; the password is not.
    let fields = refused["view"]["fields"].as_array().unwrap();
    assert_eq!(fields[0]["value"], "user_chain");
    assert!(fields[1].get("value").is_none());
    body = refused;
    while body["view"]["type"] == "form" {
        let seq = body["seq"].as_u64().unwrap();
        let answer = json!({"type": "submit", "values": values(chain, &body["view"])});
        // Each answer twice (a double tap) and once with a field left out.
        let (status, invalid) = c
            .act(&token, seq, json!({"type": "submit", "values": {}}))
            .await;
        assert_eq!(status, 422, "{invalid}");
        body = c.act(&token, seq, answer.clone()).await.1;
        assert_eq!(c.act(&token, seq, answer).await.1, body);
    }
    assert_eq!(body["view"]["type"], "choose_account", "{body}");
    let seq = body["seq"].as_u64().unwrap();
    body = c
        .act(&token, seq, json!({"type": "choose_account", "index": 0}))
        .await
        .1;
    assert_eq!(body["view"]["type"], "done", "{body}");
    let account = c
        .exchange(body["view"]["public_token"].as_str().unwrap())
        .await
        .1;
    let events = stream.await.unwrap();
    assert!(events.contains("SUCCESS"), "{events}");

    let bodies = c.all_bodies();
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("account linked"),
        "the log was captured: {logged}"
    );
    for (what, text) in [("bodies", &bodies), ("events", &events), ("logs", &logged)] {
        for secret in [wrong, PASSWORD, OTP, SECURITY_ANSWER, SECRET_KEY] {
            assert!(!text.contains(secret), "{secret:?} in the {what}");
        }
    }
    // Nor the partner's code, nor the account id: the front-end sees the
    // public token only, the host gets the account id for it.
    let done = body["view"].as_object().unwrap();
    assert!(
        !done.contains_key("code") && !done.contains_key("account_id"),
        "{done:?}"
    );
    assert!(!events.contains("\"code\""), "{events}");
    let account_id = account["account_id"].as_str().unwrap();
    let front_end = bodies.replace(&account.to_string(), "");
    assert!(
        !front_end.contains(account_id),
        "the account id reached the front-end"
    );
}
