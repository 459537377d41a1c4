//! `connectflow graph`: the reachable state graph (Mermaid by default, or
//! DOT, SVG, an HTML report), and catalogue checks. `connectflow check` is
//! the full report.

use super::check::{self, Format};
use super::partner::PartnerKind;
use super::BoxError;
use connectflow::flow::explore::Vocabulary;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `connectflow graph`.
#[derive(clap::Args)]
pub(crate) struct GraphArgs {
    /// A Mono institutions response (`GET /v3/institutions`, or a v1 bare
    /// array) to explore instead of the built-in demo catalogue. An entry or
    /// a form field that cannot be read is reported (institution id and name,
    /// field number and label) and the rest is still explored.
    #[arg(long)]
    institutions: Option<PathBuf>,
    /// The picture's format.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
}

pub(crate) fn run(args: GraphArgs) -> Result<ExitCode, BoxError> {
    let loaded = check::load_catalogue(args.institutions.as_ref(), PartnerKind::Mono)?;
    let mut report = check::check(loaded.catalogue, &Vocabulary::mono(), "mono");
    report.defects.splice(0..0, loaded.problems);
    print!("{}", check::render_picture(&report, args.format));
    for problem in check::problem_lines(&report) {
        eprintln!("problem: {problem}");
    }
    eprintln!(
        "{} abstract states explored, {} transitions",
        report.nodes,
        report.edges.len()
    );
    Ok(if report.problem_count() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
