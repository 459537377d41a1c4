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

// The same allocator as the `connectflow` command, so the comparison is
// between handlers, not allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;

const SCREEN: &str = "CON Choose your bank\n1. Sandbox Bank\n2. Access Bank\n3. GTBank\n4. First Bank\n5. Zenith Bank\n6. UBA\n7. Fidelity Bank\n8. FCMB\n9. Sterling Bank\n98. More";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let limits = args.iter().any(|a| a == "--limits");
    args.retain(|a| a != "--limits");
    let addr = args
        .into_iter()
        .next()
        .unwrap_or_else(|| "127.0.0.1:18082".into());
    let app = Router::new().route(
        "/ussd",
        post(|_body: Bytes| async { ([("content-type", "text/plain; charset=utf-8")], SCREEN) }),
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
        .await
    } else {
        axum::serve(listener, app).await
    }
}
