//! `connectflow replay`: a recorded transcript served as the partner.

use super::BoxError;
use connectflow::driver::Transcript;
use connectflow::testing::{ReplayPartner, ReplayStatus};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `connectflow replay`.
#[derive(clap::Args)]
pub(crate) struct ReplayArgs {
    /// A transcript written by `connectflow link --record`.
    file: PathBuf,
    /// Where to listen (loopback by default; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
}

/// Serves until every recorded exchange was answered (exit 0), a request
/// differed from the recording (exit 1, the diff on stderr), or Ctrl-C.
pub(crate) async fn run(args: ReplayArgs) -> Result<ExitCode, BoxError> {
    let transcript = match Transcript::load(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("connectflow: {}: {e}", args.file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let partner_name = transcript.partner.clone();
    let partner = ReplayPartner::start_on(args.addr, transcript).await?;
    {
        // The URL first, alone on its line: scripts read it.
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", partner.url())?;
        out.flush()?;
    }
    eprintln!(
        "replaying {} {partner_name} exchanges from {} (point --base-url at the URL above)",
        partner.len(),
        args.file.display()
    );
    let status = tokio::select! {
        status = partner.finished() => status,
        _ = tokio::signal::ctrl_c() => ReplayStatus::Running,
    };
    let code = match status {
        ReplayStatus::Finished => {
            eprintln!("replay: all {} exchanges matched", partner.len());
            ExitCode::SUCCESS
        }
        ReplayStatus::Diverged => {
            if let Some(d) = partner.divergence() {
                eprintln!("replay diverged at {d}");
            }
            ExitCode::FAILURE
        }
        ReplayStatus::Running => {
            eprintln!(
                "replay: interrupted after {} of {} exchanges",
                partner.answered(),
                partner.len()
            );
            ExitCode::FAILURE
        }
    };
    // Let the last answer reach the client before the server stops.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    partner.shutdown().await;
    Ok(code)
}
