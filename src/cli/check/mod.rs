//! `connectflow check`: certify a catalogue and the flow before a release —
//! catalogue defects, every reachable state and its shortest path,
//! unreachable and dead-end states, per-institution and per-method coverage;
//! as text, JSON, or a picture (Mermaid, DOT, SVG, an HTML report).

mod render;

use super::partner::PartnerKind;
use super::BoxError;
use connectflow::flow::explore::{self, Exploration, Letter, Vocabulary};
use connectflow::flow::{CallError, Catalogue, FlowConfig, StateKind};
pub(crate) use render::{picture as render_picture, problem_lines, Format};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit status when the arguments or the catalogue file are unusable.
const USAGE: u8 = 2;

/// Arguments of `connectflow check`.
#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// The catalogue to check; the built-in demo catalogue without it. With
    /// --partner mono, a Mono institutions response (`GET
    /// /v3/institutions`, or a v1 bare array); with --partner flinks, the
    /// institutions a Flinks host offers: `[{"Institution": "FlinksCapital",
    /// "InstitutionName": "Flinks Capital"}]` (or `["FlinksCapital"]`, bare or
    /// under "Institutions"). An entry or a form field that cannot be read is
    /// reported (institution id and name, field number and label) and the
    /// rest is still checked.
    #[arg(long, value_name = "FILE")]
    institutions: Option<PathBuf>,
    /// Whose catalogue shape and replies: Mono's or Flinks'.
    #[arg(long, value_enum, default_value_t = PartnerKind::Mono)]
    partner: PartnerKind,
    /// The report as one JSON object (for CI).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Print the flow's picture instead of the text report.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Also run N random runs of the flow over the catalogue (the partner
    /// answering with any reply of its vocabulary, stale replies, deadlines,
    /// restores from snapshots), checking the seven rules of DESIGN.md after
    /// every step: stale replies change nothing, login and commit never
    /// re-sent on their own, one code then only its exchange, every state
    /// its view and terminal ones final, bounded calls and an end within
    /// reach, no sent secret in a snapshot, a restored flow behaving the
    /// same. The first failure is shrunk and printed as the shortest
    /// failing sequence.
    #[arg(long, value_name = "N")]
    cases: Option<usize>,
    /// The seed of --cases (the same seed, the same runs).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the output to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Everything `check` found, as `--json` prints it.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) partner: &'static str,
    pub(crate) institutions: usize,
    /// Catalogue defects: forms that strand a person.
    pub(crate) defects: Vec<String>,
    /// Flow problems the explorer found (terminal states accepting input,
    /// calls past the limit).
    pub(crate) problems: Vec<String>,
    /// States the partner's vocabulary could reach that nothing reached.
    pub(crate) unreachable: Vec<String>,
    /// Non-terminal states with no way forward.
    pub(crate) dead_ends: Vec<String>,
    /// Every reached state and the shortest input sequence to it.
    pub(crate) states: BTreeMap<String, Vec<String>>,
    /// Whether each institution × method can reach a linked account.
    pub(crate) coverage: Vec<Coverage>,
    /// Per method: (linked, offered).
    pub(crate) methods: BTreeMap<String, (usize, usize)>,
    pub(crate) nodes: usize,
    /// The --cases run, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cases: Option<Cases>,
    /// Transitions (from, input, to), for the picture.
    #[serde(skip)]
    pub(crate) edges: Vec<(String, String, String)>,
}

/// What `--cases` found.
#[derive(Debug, Serialize)]
pub(crate) struct Cases {
    pub(crate) cases: usize,
    pub(crate) steps: usize,
    /// The broken rule and the shortest failing sequence, if one broke.
    pub(crate) failure: Option<CaseFailure>,
}

/// A broken invariant, shrunk.
#[derive(Debug, Serialize)]
pub(crate) struct CaseFailure {
    pub(crate) case: usize,
    pub(crate) rule: String,
    pub(crate) shortest: Vec<String>,
    pub(crate) original_len: usize,
}

/// One institution × method.
#[derive(Debug, Serialize)]
pub(crate) struct Coverage {
    pub(crate) institution: String,
    pub(crate) method: String,
    /// True when a person can link through it.
    pub(crate) linked: bool,
}

impl Report {
    /// Everything wrong, counted: one per problem line, so the exit code,
    /// the text's verdict and the HTML's agree by construction.
    pub(crate) fn problem_count(&self) -> usize {
        render::problem_lines(self).len()
    }
}

/// Explores the flow over `catalogue` with `vocabulary` and gathers the report.
pub(crate) fn check(
    catalogue: Arc<Catalogue>,
    vocabulary: &Vocabulary,
    partner: &'static str,
) -> Report {
    let config = FlowConfig::default();
    let exploration = explore::explore_with(&config, Arc::clone(&catalogue), vocabulary);
    let defects = explore::check_catalogue(&catalogue);
    let (dead_ends, problems): (Vec<String>, Vec<String>) = exploration
        .problems
        .iter()
        .filter(|p| !defects.contains(p))
        .cloned()
        .partition(|p| p.ends_with("has no way forward"));
    let coverage = coverage(&config, &catalogue, &exploration);
    let mut methods: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for c in &coverage {
        let entry = methods.entry(c.method.clone()).or_default();
        entry.0 += usize::from(c.linked);
        entry.1 += 1;
    }
    Report {
        partner,
        institutions: catalogue.institutions().len(),
        defects,
        problems,
        unreachable: exploration
            .unreachable()
            .into_iter()
            .map(|s| s.name().to_owned())
            .collect(),
        dead_ends,
        states: exploration
            .shortest
            .iter()
            .map(|(k, path)| {
                (
                    k.name().to_owned(),
                    path.iter().map(Letter::label).collect(),
                )
            })
            .collect(),
        coverage,
        methods,
        nodes: exploration.nodes,
        cases: None,
        edges: exploration
            .edges
            .iter()
            .map(|(f, l, t)| (f.name().to_owned(), l.clone(), t.name().to_owned()))
            .collect(),
    }
}

/// Each institution × method: the shortest way to a linked account, with
/// that institution and method chosen instead, replayed.
fn coverage(config: &FlowConfig, catalogue: &Arc<Catalogue>, e: &Exploration) -> Vec<Coverage> {
    let done = e.shortest.get(&StateKind::Done);
    let mut out = Vec::new();
    for inst in catalogue.institutions() {
        for method in inst.method_kinds() {
            let linked = done.is_some_and(|path| {
                let path: Vec<Letter> = path
                    .iter()
                    .map(|l| match l {
                        Letter::Choose { .. } => Letter::Choose {
                            id: inst.id.clone(),
                            method: method.clone(),
                        },
                        other => other.clone(),
                    })
                    .collect();
                explore::replay(config, Arc::clone(catalogue), &path)
                    .is_ok_and(|flow| flow.state() == StateKind::Done)
            });
            out.push(Coverage {
                institution: inst.id.clone(),
                method: method.to_string(),
                linked,
            });
        }
    }
    out
}

/// `n` random runs with the flow's invariants checked.
pub(crate) fn run_cases(
    catalogue: Arc<Catalogue>,
    vocabulary: &Vocabulary,
    n: usize,
    seed: u64,
) -> Cases {
    let r = explore::run_cases(&FlowConfig::default(), catalogue, vocabulary, n, seed);
    Cases {
        cases: r.cases,
        steps: r.steps,
        failure: r.failure.map(|f| CaseFailure {
            case: f.case,
            rule: f.rule,
            shortest: f.shrunk.iter().map(Letter::label).collect(),
            original_len: f.original_len,
        }),
    }
}

/// A catalogue to check and what could not be read in its file.
pub(crate) struct Loaded {
    pub(crate) catalogue: Arc<Catalogue>,
    /// Entries, methods and fields left out, each named.
    pub(crate) problems: Vec<String>,
}

/// Reads `--institutions` as `partner` shapes it (the demo catalogue
/// without it). A file that cannot be read at all is an error naming it;
/// an entry or field that cannot be read is a problem of its own, and the
/// rest of the catalogue is still checked.
pub(crate) fn load_catalogue(
    path: Option<&PathBuf>,
    partner: PartnerKind,
) -> Result<Loaded, String> {
    let Some(path) = path else {
        return Ok(Loaded {
            catalogue: Arc::new(explore::demo_catalogue()),
            problems: Vec::new(),
        });
    };
    let body = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let read = match partner {
        PartnerKind::Mono => Catalogue::from_mono_json_checked(&body),
        PartnerKind::Flinks => Catalogue::from_flinks_json_checked(&body),
    };
    let file = read.map_err(|e| {
        let why = match e {
            CallError::Malformed(m) => m,
            other => other.to_string(),
        };
        format!("{}: {why}", path.display())
    })?;
    Ok(Loaded {
        catalogue: file.catalogue,
        problems: file.problems,
    })
}

pub(crate) fn run(args: CheckArgs) -> Result<ExitCode, BoxError> {
    let loaded = match load_catalogue(args.institutions.as_ref(), args.partner) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("connectflow: {e}");
            return Ok(ExitCode::from(USAGE));
        }
    };
    let (vocabulary, partner) = match args.partner {
        PartnerKind::Mono => (Vocabulary::mono(), "mono"),
        PartnerKind::Flinks => (Vocabulary::flinks(), "flinks"),
    };
    let catalogue = loaded.catalogue;
    let mut report = check(Arc::clone(&catalogue), &vocabulary, partner);
    report.defects.splice(0..0, loaded.problems);
    if let Some(n) = args.cases {
        report.cases = Some(run_cases(catalogue, &vocabulary, n, args.seed));
    }
    let out = if args.json {
        let mut s = serde_json::to_string_pretty(&report)?;
        s.push('\n');
        s
    } else {
        match args.format {
            None => render::text(&report),
            Some(format) => {
                for line in problem_lines(&report) {
                    eprintln!("problem: {line}");
                }
                render_picture(&report, format)
            }
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))?,
        None => print!("{out}"),
    }
    Ok(if report.problem_count() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
