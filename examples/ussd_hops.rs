//! Run with: `bash benches/ussd_callgrind.sh` (counts instructions per hop
//! under valgrind), or
//! `cargo run --release --example ussd_hops -- first 1000`.
//!
//! N first hops (`first`) or N bank-choice hops (`bank`), each of a new session, through
//! the USSD channel and the session service in-process (no HTTP), with the
//! same parts `connectflow serve` uses: a sealed memory store and the auth
//! records in SQLite (the first hop asks them for the phone's earlier
//! banks). Under callgrind, the difference between the instruction counts
//! of two runs (N and 2N hops), divided by N, is what one hop costs beyond
//! the web server, on every thread (the SQLite worker's included) — a
//! number that does not move with whatever else the machine is doing.
//!
//! Two more measurements: `memory N` parks N sessions (after their bank
//! choice) and reports what they added to the process's resident set, per
//! session; `size` parks one on `user_otp`'s OTP form and prints its record
//! (and, on the way, its size after the bank choice).

// The same allocator as the `connectflow` command: memory per session and
// instructions per hop are the command's.
#[global_allocator]
static ALLOCATOR: allocator::Mimalloc = allocator::Mimalloc;
#[path = "../src/cli/allocator.rs"]
mod allocator;

use connectflow::channel::ussd::gateway::africastalking::AfricasTalking;
use connectflow::channel::ussd::gateway::GatewayRequest;
use connectflow::channel::ussd::{UssdConfig, UssdService};
use connectflow::driver::DriverConfig;
use connectflow::records::{Env, Location, RecordsDelivery, SqlStore};
use connectflow::service::{ServiceConfig, SessionService};
use connectflow::store::{MemoryStore, Sealed, Sealer, SessionStore};
use connectflow::testing::{mono_driver, Sandbox, TempDir};
use std::sync::Arc;

fn hop(session: u64, text: &str) -> GatewayRequest {
    GatewayRequest {
        content_type: Some("application/x-www-form-urlencoded".into()),
        body: format!(
            "sessionId=ATUid_{session}&serviceCode=%2A384%2A123%23&phoneNumber=%2B2547{session:08}&text={text}"
        )
        .into_bytes(),
        ..GatewayRequest::default()
    }
}

/// This process's resident set, from /proc (Linux).
fn resident_bytes() -> Result<u64, Box<dyn std::error::Error>> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm.split_whitespace().nth(1).ok_or("statm")?.parse()?;
    Ok(pages * 4096)
}

async fn first_hops(ussd: &Arc<UssdService>, from: u64, n: u64) -> usize {
    let mut bytes = 0;
    for i in from..from + n {
        bytes += ussd.hop(&AfricasTalking, &hop(i, "")).await.body.len();
    }
    bytes
}

async fn bank_choice_hops(ussd: &Arc<UssdService>, from: u64, n: u64) -> usize {
    let mut bytes = 0;
    for i in from..from + n {
        bytes += ussd.hop(&AfricasTalking, &hop(i, "1")).await.body.len();
    }
    bytes
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let phase = std::env::args().nth(1).unwrap_or_else(|| "first".into());
    let n: u64 = std::env::args().nth(2).map_or(Ok(1000), |a| a.parse())?;
    let sandbox = Sandbox::start_local().await?;
    let dir = TempDir::new("ussd-hops");
    let records = SqlStore::open(&Location::parse(&dir.sqlite("records.db"))?, None).await?;
    let driver = mono_driver(&sandbox.url(), DriverConfig::default());
    let store = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let service =
        SessionService::new(vec![driver], store.clone(), ServiceConfig::default()).with_delivery(
            Arc::new(RecordsDelivery::new(Arc::new(records), Env::Sandbox)),
        );
    let ussd = UssdService::new(Arc::new(service), UssdConfig::default());
    // Warm up: the catalogue cache, the first screen, the records' pool.
    first_hops(&ussd, 1_000_000, 10).await;
    bank_choice_hops(&ussd, 2_000_000, 10).await;
    let bytes = match phase.as_str() {
        "first" => first_hops(&ussd, 0, n).await,
        "bank" => bank_choice_hops(&ussd, 0, n).await,
        "memory" => {
            // n sessions parked after their bank choice (a sealed record
            // and a phone index each), and what they added to the RSS.
            let before = resident_bytes()?;
            bank_choice_hops(&ussd, 0, n).await;
            let after = resident_bytes()?;
            let per = after.saturating_sub(before) as f64 / n as f64;
            println!(
                "{n} parked sessions: RSS +{} KiB, {per:.0} bytes per session",
                (after - before) / 1024
            );
            return Ok(());
        }
        "size" => {
            // One session parked on user_otp's OTP form: its record's size
            // as stored (sealed), and opened.
            let key = "ussd:at:ATUid_9000000";
            let mut text = String::new();
            for answer in ["", "1", "1", "user_otp", "pass_good"] {
                if !answer.is_empty() {
                    if !text.is_empty() {
                        text.push('*');
                    }
                    text.push_str(answer);
                }
                ussd.hop(&AfricasTalking, &hop(9_000_000, &text)).await;
                if text == "1" {
                    let sealed = store.inner().get(key).await?.ok_or("not stored")?;
                    println!("after its bank choice: {} bytes sealed", sealed.data.len());
                }
            }
            let sealed = store.inner().get(key).await?.ok_or("not stored")?;
            let open = store.get(key).await?.ok_or("not stored")?;
            let json = connectflow::service::record_json(&open.data)?;
            println!("{}", String::from_utf8_lossy(&json));
            println!(
                "parked on an OTP form: {} bytes sealed, {} opened, {} of JSON",
                sealed.data.len(),
                open.data.len(),
                json.len()
            );
            return Ok(());
        }
        other => return Err(format!("unknown phase {other}: first or bank").into()),
    };
    println!("{n} {phase} hops, {bytes} bytes of screens");
    Ok(())
}
