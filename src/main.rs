//! The `connectflow` command. See `connectflow --help` and the README.

mod cli;

#[global_allocator]
static ALLOCATOR: cli::allocator::Mimalloc = cli::allocator::Mimalloc;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Headless bank-account connect flow: link a bank account through a
/// partner API (Mono) from a terminal, serve the sandbox partner, or draw
/// the flow's state graph.
#[derive(Parser)]
#[command(name = "connectflow", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Link a bank account at this terminal (embedded sandbox unless --base-url).
    #[command(after_help = cli::link::AFTER_HELP)]
    Link(Box<cli::link::LinkArgs>),
    /// Serve the sandbox partner API until interrupted.
    Sandbox(cli::sandbox::SandboxArgs),
    /// Print the flow's reachable state graph as Mermaid; check a catalogue.
    Graph(cli::graph::GraphArgs),
    /// Check a catalogue and the flow: defects, paths, dead ends, coverage (exit 0 clean, 1 problems, 2 usage).
    Check(cli::check::CheckArgs),
    /// Serve a transcript recorded with `link --record` as the partner, checking every request.
    Replay(cli::replay::ReplayArgs),
    /// Serve every channel on one port: USSD gateways, /healthz, /metrics, /v2/ records.
    Serve(Box<cli::serve::ServeArgs>),
    /// The same as `serve` (its former name, kept working).
    Ussd(Box<cli::serve::ServeArgs>),
    /// A terminal phone speaking Africa's Talking's USSD wire format, or playing MTN Nigeria's gateway.
    UssdSim(cli::ussd_sim::UssdSimArgs),
    /// The auth records: list, get, export, unlink, redeliver dead webhooks.
    Records(Box<cli::records::RecordsArgs>),
    /// Partner admin: log in, create, list, update, delete apps, switch one to live.
    Apps(Box<cli::apps::AppsArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("connectflow: could not start the runtime: {e}");
            return ExitCode::from(5);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Link(args) => cli::link::run(*args).await,
            Command::Sandbox(args) => cli::sandbox::run(args).await,
            Command::Graph(args) => cli::graph::run(args),
            Command::Check(args) => cli::check::run(args),
            Command::Replay(args) => cli::replay::run(args).await,
            Command::Serve(args) | Command::Ussd(args) => cli::serve::run(*args).await,
            Command::UssdSim(args) => cli::ussd_sim::run(args).await,
            Command::Records(args) => cli::records::run(*args).await,
            Command::Apps(args) => cli::apps::run(*args).await,
        }
    });
    match result {
        Ok(code) => code,
        // Usage errors exit 2 (as clap's do); anything else that ends the
        // program before a result (records that cannot open, a sandbox that
        // cannot start) exits 5: 0-4 are `link`'s results.
        Err(e) if e.is::<cli::UsageError>() => {
            eprintln!("connectflow: {e}");
            ExitCode::from(cli::link::exit::USAGE)
        }
        Err(e) => {
            eprintln!("connectflow: {e}");
            ExitCode::from(5)
        }
    }
}
