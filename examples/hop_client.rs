//! Run with: `bash benches/served_callgrind.sh` (starts each server under
//! callgrind and drives it with this).
//!
//! Sends `N` Africa's Talking hops of one kind, one after another over one
//! kept-alive connection, each of a new session and a new phone: `first`
//! (an empty text: the bank list) or `bank` (the text `1`: the bank chosen,
//! a session created). One at a time, so that a server run under callgrind
//! counts the instructions of `N` requests (and of one connection's accept
//! and close, and the runtime's idling between them) between the zeroing
//! of its counts and their dump; it stops at the first reply that is not a
//! 200. `N` is at most 10^8 (the phone numbers' counter).
//!
//! ```text
//! hop_client URL N first|bank [--token T]
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: hop_client URL N first|bank [--token T]";
    let (url, n, kind) = match &args[..] {
        [url, n, kind, ..] => (url, n, kind),
        _ => return Err(usage.into()),
    };
    let n: u64 = n.parse().map_err(|_| usage.to_string())?;
    if n > 100_000_000 {
        return Err("N is at most 100000000 (the phone numbers' counter)".into());
    }
    let text = match kind.as_str() {
        "first" => "",
        "bank" => "1",
        _ => return Err(usage.into()),
    };
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
    let endpoint = format!("{}/ussd", url.trim_end_matches('/'));
    for i in 0..n {
        let id = format!("{run}_{i}");
        // Digits only, 15 of them, as a gateway sends a number (as wrk's
        // scripts do), and new in each run: the process id picks the
        // prefix (the warm-up and the measured run are two processes).
        let phone = format!("254{:04}{i:08}", std::process::id() % 10_000);
        let body = format!(
            "sessionId=ATUid_{id}&serviceCode=%2A384%2A123%23&phoneNumber=%2B{phone}&networkCode=63902&text={text}"
        );
        let reply = client
            .post(&endpoint)
            .bearer_auth(&token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("hop {i}: {e}"))?;
        let status = reply.status();
        let screen = reply.text().await.map_err(|e| format!("hop {i}: {e}"))?;
        if status != reqwest::StatusCode::OK {
            return Err(format!("hop {i}: {status}: {screen}"));
        }
    }
    Ok(())
}
