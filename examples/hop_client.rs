//! Run with: `bash benches/served_callgrind.sh` (starts each server under
//! callgrind and drives it with this).
//!
//! Sends `N` requests of one kind, one after another over one kept-alive
//! connection. One at a time, so that a server run under callgrind counts
//! the instructions of `N` requests (and of one connection's accept and
//! close, and the runtime's idling between them) between the zeroing of
//! its counts and their dump; it stops at the first reply whose status is
//! not the kind's.
//!
//! - `first`, `bank`: Africa's Talking hops, each of a new session and a
//!   new phone: an empty text (the bank list) or the text `1` (the bank
//!   chosen, a session created); `200`. `--token` is the gateway's
//!   (`bench` by default). `N` is at most 10^8 (the phone numbers'
//!   counter).
//! - `session`, `submit`: the link API, for the session the link token
//!   `--token` names, parked on Sandbox Bank's login form at seq 1 (as
//!   `benches/link_load.sh` parks it): `GET /link/v1/session` (`200`), and
//!   a submit without the password (`422`, nothing sent or written). The
//!   same requests as `benches/link/*.lua`.
//!
//! ```text
//! hop_client URL N first|bank|session|submit [--token T]
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

/// A submit with the password left out (`benches/link/submit.lua`'s).
const SUBMIT: &str = r#"{"seq":1,"action":{"type":"submit","values":{"username":"user_good"}}}"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: hop_client URL N first|bank|session|submit [--token T]";
    let (url, n, kind) = match &args[..] {
        [url, n, kind, ..] => (url.trim_end_matches('/'), n, kind.as_str()),
        _ => return Err(usage.into()),
    };
    let n: u64 = n.parse().map_err(|_| usage.to_string())?;
    if n > 100_000_000 {
        return Err("N is at most 100000000 (the phone numbers' counter)".into());
    }
    if !["first", "bank", "session", "submit"].contains(&kind) {
        return Err(usage.into());
    }
    let token = match args.iter().position(|a| a == "--token") {
        Some(at) => args.get(at + 1).ok_or(usage)?.clone(),
        None => "bench".into(),
    };
    // A run's ids differ from any earlier run's against the same server
    // (a bank choice of a session that already exists is a retry).
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_nanos();
    // One connection, kept alive: what a gateway's requests cost, not a
    // connection's set-up.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .map_err(|e| e.to_string())?;
    for i in 0..n {
        let (request, expected) = match kind {
            "session" => (client.get(format!("{url}/link/v1/session")), 200),
            "submit" => (
                client
                    .post(format!("{url}/link/v1/session/actions"))
                    .header("content-type", "application/json")
                    .body(SUBMIT),
                422,
            ),
            _ => {
                let id = format!("{run}_{i}");
                // Digits only, 15 of them, as a gateway sends a number (as
                // wrk's scripts do), and new in each run: the process id
                // picks the prefix (the warm-up and the measured run are
                // two processes).
                let phone = format!("254{:04}{i:08}", std::process::id() % 10_000);
                let text = if kind == "bank" { "1" } else { "" };
                let body = format!(
                    "sessionId=ATUid_{id}&serviceCode=%2A384%2A123%23&phoneNumber=%2B{phone}&networkCode=63902&text={text}"
                );
                let request = client
                    .post(format!("{url}/ussd"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body);
                (request, 200)
            }
        };
        let reply = request
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| format!("request {i}: {e}"))?;
        let status = reply.status();
        let text = reply
            .text()
            .await
            .map_err(|e| format!("request {i}: {e}"))?;
        if status.as_u16() != expected {
            return Err(format!("request {i}: {status}: {text}"));
        }
    }
    Ok(())
}
