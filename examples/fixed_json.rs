//! Run with: `cargo run --release --example fixed_json -- 127.0.0.1:18092 session.json invalid.json`
//!
//! The baseline of the link API throughput benchmark
//! (`benches/link_load.sh`): a bare axum handler that answers
//! `GET /link/v1/session` with the same JSON the real endpoint returned
//! (from `session.json`), and `POST /link/v1/session/actions` with the same
//! `422` field-error JSON (from `invalid.json`), reading the body as the
//! real one does. Whatever the real endpoints cost beyond this is
//! connectflow's.

// The same allocator as the `connectflow` command, so the comparison is
// between handlers, not allocators.
#[global_allocator]
static ALLOCATOR: allocator::Mimalloc = allocator::Mimalloc;
#[path = "../src/cli/allocator.rs"]
mod allocator;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

const JSON: [(&str, &str); 1] = [("content-type", "application/json")];

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18092".into());
    let session: &'static str = std::fs::read_to_string(args.next().unwrap_or_default())?.leak();
    let invalid: &'static str = std::fs::read_to_string(args.next().unwrap_or_default())?.leak();
    let app =
        Router::new()
            .route(
                "/link/v1/session",
                get(move || async move { (JSON, session) }),
            )
            .route(
                "/link/v1/session/actions",
                post(move |_body: Bytes| async move {
                    (StatusCode::UNPROCESSABLE_ENTITY, JSON, invalid)
                }),
            );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
