//! Run with: `bash benches/ussd_sessions.sh` (starts the servers, runs this
//! twice: at saturation, then at half of it).
//!
//! Whole USSD sessions under load, as a gateway sends them: each virtual
//! phone dials, picks the first bank and internet banking, logs in as
//! `user_otp`, answers the OTP and is linked — six hops, four partner calls
//! (session, login, OTP, exchange) at the sandbox, the auth record written.
//! Every hop's latency is kept; the run ends after `--duration` seconds or
//! `--sessions` sessions, whichever comes first (loopback only).
//!
//! Two modes: `--concurrency N` keeps N phones busy back to back (closed
//! loop: how many sessions a second the server can take), and `--rate R`
//! starts R sessions a second whatever the server does (open loop: the
//! latency a gateway sees at that load; a slow server cannot slow the
//! arrivals down and hide its own queueing).
//!
//! ```text
//! ussd_sessions URL [--token T] [--concurrency N | --rate R] [--duration S] [--sessions N]
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The hops of one session after the empty dial: Africa's Talking sends the
/// whole input so far, joined by `*`.
const ANSWERS: [&str; 5] = ["1", "1", "user_otp", "pass_good", "123456"];

struct Args {
    url: String,
    token: String,
    concurrency: Option<usize>,
    rate: Option<f64>,
    duration: Duration,
    sessions: u64,
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        url: args.next().ok_or("usage: ussd_sessions URL [options]")?,
        token: "bench".into(),
        concurrency: None,
        rate: None,
        duration: Duration::from_secs(10),
        sessions: 1_000_000,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = || format!("bad value for {flag}: {value}");
        match flag.as_str() {
            "--token" => parsed.token = value.clone(),
            "--concurrency" => parsed.concurrency = Some(value.parse().map_err(|_| bad())?),
            "--rate" => parsed.rate = Some(value.parse().map_err(|_| bad())?),
            "--duration" => {
                parsed.duration = Duration::from_secs_f64(value.parse().map_err(|_| bad())?)
            }
            "--sessions" => parsed.sessions = value.parse().map_err(|_| bad())?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(parsed)
}

#[derive(Default)]
struct Totals {
    /// Every hop's latency, in microseconds.
    hops: Mutex<Vec<u32>>,
    linked: AtomicU64,
    failed: AtomicU64,
}

/// One whole session; `Err` names the hop that did not go as scripted.
async fn session(
    client: &reqwest::Client,
    args: &Args,
    n: u64,
    totals: &Totals,
) -> Result<(), String> {
    let id = format!("load{}_{n}", std::process::id());
    // Unique per run as well: a phone reused from an earlier run would be
    // offered that run's unfinished flow.
    let phone = format!("+2547{:03}{:06}", std::process::id() % 1000, n % 1_000_000);
    let mut text = String::new();
    let mut latencies = Vec::with_capacity(ANSWERS.len() + 1);
    for hop in 0..=ANSWERS.len() {
        if hop > 0 {
            if hop > 1 {
                text.push('*');
            }
            text.push_str(ANSWERS[hop - 1]);
        }
        let started = Instant::now();
        let response = client
            .post(format!("{}/ussd", args.url))
            .bearer_auth(&args.token)
            .form(&[
                ("sessionId", id.as_str()),
                ("serviceCode", "*384*123#"),
                ("phoneNumber", phone.as_str()),
                ("networkCode", "63902"),
                ("text", text.as_str()),
            ])
            .send()
            .await
            .map_err(|e| format!("hop {hop}: {e}"))?;
        let body = response
            .text()
            .await
            .map_err(|e| format!("hop {hop}: {e}"))?;
        latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        let last = hop == ANSWERS.len();
        let ok = if last {
            body.starts_with("END") && body.contains("linked")
        } else {
            body.starts_with("CON")
        };
        if !ok {
            return Err(format!("hop {hop}: unexpected screen {body:?}"));
        }
    }
    if let Ok(mut hops) = totals.hops.lock() {
        hops.extend(latencies);
    }
    Ok(())
}

fn record(result: Result<(), String>, totals: &Totals) {
    match result {
        Ok(()) => totals.linked.fetch_add(1, Ordering::Relaxed),
        Err(e) => {
            if totals.failed.fetch_add(1, Ordering::Relaxed) < 3 {
                eprintln!("session failed: {e}");
            }
            0
        }
    };
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Arc::new(parse()?);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .map_err(|e| e.to_string())?;
    let totals = Arc::new(Totals::default());
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut tasks = Vec::new();
    if let Some(rate) = args.rate {
        // Open loop: one session every 1/rate s, each in its own task.
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        while Instant::now() < deadline && next.load(Ordering::Relaxed) < args.sessions {
            tick.tick().await;
            let n = next.fetch_add(1, Ordering::Relaxed);
            let (client, args, totals) = (client.clone(), Arc::clone(&args), Arc::clone(&totals));
            tasks.push(tokio::spawn(async move {
                record(session(&client, &args, n, &totals).await, &totals);
            }));
        }
    } else {
        // Closed loop: N phones, each starting its next session at once.
        for _ in 0..args.concurrency.unwrap_or(32) {
            let (client, args, totals, next) = (
                client.clone(),
                Arc::clone(&args),
                Arc::clone(&totals),
                Arc::clone(&next),
            );
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= args.sessions {
                        break;
                    }
                    record(session(&client, &args, n, &totals).await, &totals);
                }
            }));
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut hops = totals.hops.lock().map_err(|e| e.to_string())?.clone();
    hops.sort_unstable();
    let linked = totals.linked.load(Ordering::Relaxed);
    println!(
        "sessions linked {linked}, failed {}, in {elapsed:.1} s: {:.0} sessions/s, {:.0} hops/s; \
         hop latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        totals.failed.load(Ordering::Relaxed),
        linked as f64 / elapsed,
        hops.len() as f64 / elapsed,
        percentile(&hops, 0.50),
        percentile(&hops, 0.99),
        percentile(&hops, 1.0),
    );
    Ok(())
}
