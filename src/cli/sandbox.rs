//! `connectflow sandbox`: serve the sandbox partner API.

use super::BoxError;
use connectflow::sandbox::{Sandbox, SandboxConfig};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

/// Arguments of `connectflow sandbox`.
#[derive(clap::Args)]
pub(crate) struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// How long a partner admin access token works, in milliseconds
    /// (scripts shorten it to see `apps` refuse an expired token).
    #[arg(long, default_value_t = 3_600_000)]
    partner_token_ttl_ms: u64,
    /// How many unfinished sessions one API key may hold (a real partner
    /// caps them; load tests raise it so they measure connectflow, not the
    /// cap).
    #[arg(long, default_value_t = SandboxConfig::default().max_sessions_per_key)]
    max_sessions_per_key: usize,
}

pub(crate) async fn run(args: SandboxArgs) -> Result<ExitCode, BoxError> {
    let config = SandboxConfig {
        partner_token_ttl: std::time::Duration::from_millis(args.partner_token_ttl_ms),
        max_sessions_per_key: args.max_sessions_per_key,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(args.addr, config).await?;
    // The first line is a contract: scripts wait for it to learn the port.
    // Write errors are ignored: a script that reads that line and closes the
    // pipe must not stop the server.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {}", sandbox.url());
    let _ = writeln!(out, "secret key: {}", connectflow::sandbox::SECRET_KEY);
    let _ = writeln!(
        out,
        "flinks: customer id {} secret {} api key {} (--partner flinks --flinks-customer-id ... --secret-key ... --flinks-api-key ...)",
        connectflow::sandbox::FLINKS_CUSTOMER_ID,
        connectflow::sandbox::FLINKS_SECRET,
        connectflow::sandbox::FLINKS_API_KEY
    );
    let _ = writeln!(
        out,
        "partner admin: email {} password {} (connectflow apps login --base-url ...)",
        connectflow::sandbox::PARTNER_EMAIL,
        connectflow::sandbox::PARTNER_PASSWORD
    );
    let _ = out.flush();
    drop(out);
    tokio::signal::ctrl_c().await?;
    sandbox.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
