//! Exhaustive path enumeration: breadth-first search over (flow state × input
//! alphabet), the reachable state graph as Mermaid, and checks of an
//! institution catalogue.
//!
//! QA engineers use it to certify a catalogue before it goes live: every
//! login form must be fillable, every state reachable, every non-terminal
//! state must have a way out.
//!
//! ```
//! use connectflow::flow::{explore, Catalogue, FlowConfig, StateKind};
//! use std::sync::Arc;
//!
//! let catalogue = Arc::new(explore::demo_catalogue());
//! let report = explore::explore(&FlowConfig::default(), catalogue);
//! assert!(report.problems.is_empty(), "{:?}", report.problems);
//! assert!(report.unreachable().is_empty());
//! // The shortest way to a linked account:
//! let path = &report.shortest[&StateKind::Done];
//! assert_eq!(path.last().map(|l| l.label()), Some("exchanged".to_string()));
//! println!("{}", report.to_mermaid());
//! ```
//!
//! A catalogue of your own, from a saved Mono institution list (the
//! README's snippet, as written there):
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use connectflow::flow::{explore, Catalogue, FlowConfig};
//! # let dir = std::env::temp_dir().join(format!("connectflow-readme-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # std::env::set_current_dir(&dir)?;
//! # std::fs::write("institutions.json", r#"{"data": [{"_id": "demo", "name": "Demo",
//! #   "auth_methods": [{"type": "internet_banking", "ui": {"title": "Log in", "form": [
//! #     {"type": "input", "name": "username"}, {"type": "password", "name": "password"}]}}]}]}"#)?;
//!
//! // `Catalogue::from_flinks_json` reads a Flinks host's list the same way.
//! let file = Catalogue::from_mono_json_checked(&std::fs::read("institutions.json")?)?;
//! assert!(file.problems.is_empty(), "{:#?}", file.problems);
//! let report = explore::explore(&FlowConfig::default(), file.catalogue);
//! assert!(report.problems.is_empty(), "{:#?}", report.problems);
//! println!("{}", report.to_mermaid());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```

mod cases;
mod catalogue;
mod letters;
mod node;
mod rules;

pub use cases::{
    run_cases, run_cases_with, run_cases_with_double, CaseFailure, CaseReport, Double, Rule,
    MAX_STEPS,
};
pub use catalogue::{check_catalogue, check_form, demo_catalogue, sample_values, LONGEST_TYPED};
pub use letters::{Letter, ReplyLetter, Vocabulary};
pub use node::Observed;
pub use rules::{calls_after_action, view_fits};

use super::config::FlowConfig;
use super::machine::{ConnectFlow, Counters};
use super::state::StateKind;
use super::types::{Catalogue, Timestamp};
use node::Node;
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

/// What the explorer found.
#[derive(Debug, Clone, Default)]
pub struct Exploration {
    /// The shortest input sequence from a new flow to each reached state.
    pub shortest: BTreeMap<StateKind, Vec<Letter>>,
    /// Every transition seen, as (from, input, to).
    pub edges: BTreeSet<(StateKind, String, StateKind)>,
    /// Distinct abstract nodes (state kind × counters) expanded.
    pub nodes: usize,
    /// Everything wrong with the flow or the catalogue.
    pub problems: Vec<String>,
    /// The partner replies explored.
    pub vocabulary: Option<Vocabulary>,
}

impl Exploration {
    /// States the partner's vocabulary could reach that no input sequence
    /// reached.
    pub fn unreachable(&self) -> Vec<StateKind> {
        StateKind::ALL
            .into_iter()
            .filter(|k| self.vocabulary.as_ref().is_none_or(|v| v.can_reach(*k)))
            .filter(|k| !self.shortest.contains_key(k))
            .collect()
    }

    /// The reachable graph as a Mermaid `stateDiagram-v2`.
    pub fn to_mermaid(&self) -> String {
        let mut labels: BTreeMap<(StateKind, StateKind), BTreeSet<&str>> = BTreeMap::new();
        for (from, label, to) in &self.edges {
            labels.entry((*from, *to)).or_default().insert(label);
        }
        let mut out = String::from("stateDiagram-v2\n    [*] --> LoadingInstitutions\n");
        for ((from, to), labels) in labels {
            let labels: Vec<&str> = labels.into_iter().collect();
            out.push_str(&format!(
                "    {} --> {}: {}\n",
                from.name(),
                to.name(),
                labels.join(", ")
            ));
        }
        for kind in StateKind::ALL.into_iter().filter(|k| k.is_terminal()) {
            if self.shortest.contains_key(&kind) {
                out.push_str(&format!("    {} --> [*]\n", kind.name()));
            }
        }
        out
    }
}

/// Upper bound on abstract nodes, so a pathological config cannot hang a CI run.
const MAX_NODES: usize = 200_000;

/// The start time of every explored flow; deadlines are reached from here.
pub const T0: Timestamp = Timestamp(1_700_000_000_000);

/// [`explore_with`] Mono's vocabulary.
pub fn explore(config: &FlowConfig, catalogue: Arc<Catalogue>) -> Exploration {
    explore_with(config, catalogue, &Vocabulary::mono())
}

/// Breadth-first search over every input sequence — a person's actions,
/// every reply in `vocabulary` to the call in flight, the next timer — with a
/// node per (state kind, counters). Reports the shortest path to each state,
/// every edge, and problems: catalogue defects ([`check_catalogue`]),
/// non-terminal nodes with no way forward but leaving or going back, terminal nodes that
/// accept input, and calls beyond [`FlowConfig::max_calls`].
pub fn explore_with(
    config: &FlowConfig,
    catalogue: Arc<Catalogue>,
    vocabulary: &Vocabulary,
) -> Exploration {
    let mut report = Exploration {
        problems: check_catalogue(&catalogue),
        vocabulary: Some(vocabulary.clone()),
        ..Exploration::default()
    };
    let start = Node::new(config.clone(), Arc::clone(&catalogue));
    let mut seen: HashSet<(StateKind, Counters, bool)> = HashSet::new();
    let mut queue = VecDeque::new();
    seen.insert(start.key());
    report.shortest.insert(start.flow.state(), Vec::new());
    queue.push_back((start, Vec::new()));
    while let Some((node, path)) = queue.pop_front() {
        report.nodes += 1;
        if report.nodes > MAX_NODES {
            report
                .problems
                .push(format!("stopped after {MAX_NODES} nodes"));
            break;
        }
        let from = node.flow.state();
        let mut moved = false;
        for letter in node.alphabet(&catalogue, vocabulary) {
            let Some(next) = node.step(&letter) else {
                continue;
            };
            // A way forward is one the flow takes on its own or with the
            // person going on: leaving (every state takes Exit) or going
            // back does not count, nor an invalid form shown again.
            // Counted with them, no state could ever be a dead end.
            moved |= !matches!(letter, Letter::Exit | Letter::Back | Letter::SubmitInvalid);
            let to = next.flow.state();
            if from.is_terminal() {
                report
                    .problems
                    .push(format!("terminal {from:?} accepted {}", letter.label()));
            }
            if next.calls > config.max_calls() {
                report
                    .problems
                    .push(format!("more than max_calls() calls on the way to {to:?}"));
            }
            report.edges.insert((from, letter.edge_label(), to));
            if seen.insert(next.key()) {
                let mut longer = path.clone();
                longer.push(letter);
                report.shortest.entry(to).or_insert_with(|| longer.clone());
                queue.push_back((next, longer));
            }
        }
        if !moved && !from.is_terminal() {
            report.problems.push(format!("{from:?} has no way forward"));
        }
    }
    report
}

/// Replays `path` from a new flow, checking at every step that the input was
/// accepted. Returns the flow at the end.
pub fn replay(
    config: &FlowConfig,
    catalogue: Arc<Catalogue>,
    path: &[Letter],
) -> Result<ConnectFlow, String> {
    // Any path of any vocabulary replays: the partner answers each letter.
    let mut node = Node::new(config.clone(), Arc::clone(&catalogue));
    for (i, letter) in path.iter().enumerate() {
        node = node
            .step(letter)
            .ok_or_else(|| format!("step {i} ({}) was refused", letter.label()))?;
    }
    Ok(node.flow)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding (review, 2026-12-05): every state takes Exit, and Exit
    /// counted as a way forward, so "has no way forward" could never be
    /// reported. A partner that never answers the session call leaves the
    /// flow waiting on it with nothing but Exit and Back: a dead end.
    #[test]
    fn a_state_only_exit_or_back_can_leave_is_a_dead_end() {
        let silent = Vocabulary {
            replies: vec![ReplyLetter::Institutions],
        };
        let report = explore_with(&FlowConfig::default(), Arc::new(demo_catalogue()), &silent);
        assert!(
            report
                .problems
                .iter()
                .any(|p| p == "CreatingSession has no way forward"),
            "{:#?}",
            report.problems
        );
        // Mono's own vocabulary has none.
        let mono = explore(&FlowConfig::default(), Arc::new(demo_catalogue()));
        assert!(mono.problems.is_empty(), "{:#?}", mono.problems);
    }
}
