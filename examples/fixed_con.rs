//! Run with: `cargo run --release --example fixed_con -- 127.0.0.1:18082`
//!
//! The baseline of the USSD throughput benchmark (`benches/ussd_load.sh`):
//! a bare axum handler that answers every Africa's Talking hop with the same
//! `CON` screen, reading the body as the real endpoint does. Whatever the
//! real endpoint costs beyond this is connectflow's.
//!
//! With `--limits` the same handler is served by `connectflow::server::serve`
//! (every server's timeouts and connection and in-flight limits): the
//! difference between the two runs is what the hardening costs a request.
//!
//! Two floors for the hops that create a session, each the least such a hop
//! can cost whatever its code does: with `--keep BYTES` every request
//! leaves that many bytes behind, pushed on a list behind a mutex (as the
//! memory store keeps a session in its table behind one); with `--recycle
//! N` as well, the list holds N and each request's bytes replace the
//! oldest, as a store whose sessions expire as fast as they come (memory
//! the allocator reuses, not fresh pages the kernel must zero); and with
//! `--redis URL` every request writes to Redis what a bank choice writes,
//! through the Redis store itself: a 270-byte session and a 90-byte phone
//! index, created together (`SET … NX GET PX` of each and `TIME`, in one
//! round trip).

// The same allocator as the `connectflow` command, so the comparison is
// between handlers, not allocators.
#[global_allocator]
static ALLOCATOR: allocator::Mimalloc = allocator::Mimalloc;
#[path = "../src/cli/allocator.rs"]
mod allocator;

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;

const SCREEN: &str = "CON Choose your bank\n1. Sandbox Bank\n2. Access Bank\n3. GTBank\n4. First Bank\n5. Zenith Bank\n6. UBA\n7. Fidelity Bank\n8. FCMB\n9. Sterling Bank\n98. More";

/// Where `--keep` leaves its bytes: never read, only kept, as sessions are;
/// with `--recycle`, the next place to overwrite once the list is full.
static KEPT: std::sync::Mutex<(Vec<Box<[u8]>>, usize)> = std::sync::Mutex::new((Vec::new(), 0));

fn keep(bytes: usize, recycle: usize, body: &[u8]) {
    let mut kept = vec![0u8; bytes];
    let n = body.len().min(bytes);
    kept[..n].copy_from_slice(&body[..n]);
    let mut list = KEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (kept_list, next) = &mut *list;
    if recycle > 0 && kept_list.len() >= recycle {
        // The oldest goes as this one comes (freed here, under the lock,
        // as the memory store's sweep frees expired records under its own).
        kept_list[*next] = kept.into_boxed_slice();
        *next = (*next + 1) % recycle;
    } else {
        kept_list.push(kept.into_boxed_slice());
    }
}

/// The value of `name` in `args` (`--name VALUE`), taken out of them;
/// an error when the flag has no value.
fn option(args: &mut Vec<String>, name: &str) -> Result<Option<String>, String> {
    let Some(at) = args.iter().position(|a| a == name) else {
        return Ok(None);
    };
    args.remove(at);
    if at < args.len() {
        Ok(Some(args.remove(at)))
    } else {
        Err(format!("{name} needs a value"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let limits = args.iter().any(|a| a == "--limits");
    args.retain(|a| a != "--limits");
    let kept_bytes: usize = option(&mut args, "--keep")?.map_or(Ok(0), |b| b.parse())?;
    let recycle: usize = option(&mut args, "--recycle")?.map_or(Ok(0), |b| b.parse())?;
    let redis = match option(&mut args, "--redis")? {
        // The Redis store itself, connected as `serve` connects it: its own
        // connections, their response timeout (a timer armed for every
        // round trip, a cost any hop that fails fast on a hung Redis pays).
        Some(url) => Some(std::sync::Arc::new(
            connectflow::store::RedisStore::connect(&url)
                .await?
                .with_prefix("floor:"),
        )),
        None => None,
    };
    let addr = args
        .into_iter()
        .next()
        .unwrap_or_else(|| "127.0.0.1:18082".into());
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let app = Router::new().route(
        "/ussd",
        post(move |body: Bytes| async move {
            if kept_bytes > 0 {
                keep(kept_bytes, recycle, &body);
            }
            if let Some(store) = redis.clone() {
                use connectflow::store::SessionStore;
                let n = written.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // The sizes of a sealed bank-choice record and its index,
                // written as a bank choice writes them: the store's
                // `create_pair` (on Redis 7, `SET … NX GET PX` twice and
                // `TIME` in one round trip).
                let record = [&body[..], &[b' '; 270]].concat();
                let set = store
                    .create_pair(
                        &format!("session:{n}"),
                        record[..270].to_vec(),
                        &format!("index:{n}"),
                        record[..90].to_vec(),
                        std::time::Duration::from_secs(600),
                        std::time::Duration::from_secs(1200),
                    )
                    .await;
                if set.is_err() {
                    return (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        [("content-type", "text/plain; charset=utf-8")],
                        "END Redis refused the write",
                    );
                }
            }
            (
                axum::http::StatusCode::OK,
                [("content-type", "text/plain; charset=utf-8")],
                SCREEN,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    if limits {
        connectflow::server::serve(
            listener,
            app,
            connectflow::server::Limits::default(),
            connectflow::server::shutdown_signal(),
        )
        .await?;
    } else {
        axum::serve(listener, app).await?;
    }
    Ok(())
}
