//! `connectflow graph`: the reachable state graph, and catalogue checks.

use super::BoxError;
use connectflow::flow::{explore, Catalogue, FlowConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `connectflow graph`.
#[derive(clap::Args)]
pub(crate) struct GraphArgs {
    /// A Mono institutions response (`GET /v3/institutions`, or a v1 bare
    /// array) to explore instead of the built-in demo catalogue.
    #[arg(long)]
    institutions: Option<PathBuf>,
}

pub(crate) fn run(args: GraphArgs) -> Result<ExitCode, BoxError> {
    let catalogue = match &args.institutions {
        None => Arc::new(explore::demo_catalogue()),
        Some(path) => {
            let body = std::fs::read(path)?;
            Catalogue::from_mono_json(&body).map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    let report = explore::explore(&FlowConfig::default(), catalogue);
    print!("{}", report.to_mermaid());
    for problem in &report.problems {
        eprintln!("problem: {problem}");
    }
    for state in report.unreachable() {
        eprintln!("problem: {state:?} is unreachable");
    }
    eprintln!(
        "{} abstract states explored, {} transitions",
        report.nodes,
        report.edges.len()
    );
    Ok(
        if report.problems.is_empty() && report.unreachable().is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
