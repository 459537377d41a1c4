//! Random runs over a catalogue: where [`explore`](super::explore) visits
//! each abstract state once, this walks many concrete runs — the explorer's
//! scripted partner answering with any reply of the vocabulary — checks the
//! flow's invariants after every step, and shrinks the first failing run to
//! a shortest sequence that still fails.
//!
//! Deterministic: the same seed gives the same runs (a small xorshift, no
//! clock), so a failure printed by CI reproduces on a laptop.

use super::letters::{Letter, Vocabulary};
use super::node::Node;
use crate::flow::config::FlowConfig;
use crate::flow::machine::ConnectFlow;
use crate::flow::types::Catalogue;
use std::sync::Arc;

/// Steps per run: long enough for two MFA rounds, a renewal and a retry.
pub const MAX_STEPS: usize = 40;

/// An extra rule a caller checks after every step: `Err(why)` breaks it.
pub type Rule<'a> = &'a dyn Fn(&ConnectFlow, &Letter) -> Result<(), String>;

/// The first broken invariant, shrunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    /// Which case (0-based) found it.
    pub case: usize,
    /// What broke.
    pub rule: String,
    /// The shortest failing input sequence found.
    pub shrunk: Vec<Letter>,
    /// How long the run was before shrinking.
    pub original_len: usize,
}

/// What a run of cases did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReport {
    /// Cases run (fewer than asked when one failed).
    pub cases: usize,
    /// Steps taken over all cases.
    pub steps: usize,
    /// The first failure, shrunk.
    pub failure: Option<CaseFailure>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// [`run_cases_with`] the flow's own invariants only.
pub fn run_cases(
    config: &FlowConfig,
    catalogue: Arc<Catalogue>,
    vocabulary: &Vocabulary,
    cases: usize,
    seed: u64,
) -> CaseReport {
    run_cases_with(config, catalogue, vocabulary, cases, seed, &|_, _| Ok(()))
}

/// Runs `cases` random runs of at most [`MAX_STEPS`] steps. After every
/// step it checks the flow's invariants — a terminal state accepts no
/// input, no run makes more than [`FlowConfig::max_calls`] calls, a state
/// that is not terminal always has a way forward — and `rule`. Stops at the
/// first failure and shrinks it.
pub fn run_cases_with(
    config: &FlowConfig,
    catalogue: Arc<Catalogue>,
    vocabulary: &Vocabulary,
    cases: usize,
    seed: u64,
    rule: Rule<'_>,
) -> CaseReport {
    let mut rng = Rng(seed | 1);
    let mut steps = 0;
    for case in 0..cases {
        let mut node = Node::new(config.clone(), Arc::clone(&catalogue));
        let mut path = Vec::new();
        for _ in 0..MAX_STEPS {
            if node.flow.state().is_terminal() && rng.next() % 2 == 0 {
                break;
            }
            let letters = node.alphabet(&catalogue, vocabulary);
            let start = (rng.next() % letters.len().max(1) as u64) as usize;
            let mut moved = None;
            // Two passes: the first passes over letters that end a run at
            // once most of the time, so runs get deep into the flow.
            'passes: for pass in 0..2 {
                for i in 0..letters.len() {
                    let letter = &letters[(start + i) % letters.len()];
                    if pass == 0 && ends_run(letter) && rng.next() % 8 != 0 {
                        continue;
                    }
                    if let Some(next) = node.step(letter) {
                        moved = Some((letter.clone(), next));
                        break 'passes;
                    }
                }
            }
            steps += 1;
            let broken = match &moved {
                None if !node.flow.state().is_terminal() => {
                    Some(format!("{:?} has no way forward", node.flow.state()))
                }
                None => None,
                Some((letter, next)) => {
                    path.push(letter.clone());
                    check(config, &node, letter, next, rule)
                }
            };
            if let Some(why) = broken {
                let original_len = path.len();
                let shrunk = shrink(config, &catalogue, vocabulary, path, rule);
                let rule = failure_of(config, &catalogue, vocabulary, &shrunk, rule).unwrap_or(why);
                return CaseReport {
                    cases: case + 1,
                    steps,
                    failure: Some(CaseFailure {
                        case,
                        rule,
                        shrunk,
                        original_len,
                    }),
                };
            }
            match moved {
                Some((_, next)) => node = next,
                None => break,
            }
        }
    }
    CaseReport {
        cases,
        steps,
        failure: None,
    }
}

/// Letters that usually end a run: leaving, and the partner's final errors.
fn ends_run(letter: &Letter) -> bool {
    use super::letters::ReplyLetter as R;
    matches!(
        letter,
        Letter::Exit
            | Letter::Back
            | Letter::Reply(R::Unauthorized | R::Malformed | R::BadRequest | R::RejectFinal)
    )
}

fn check(
    config: &FlowConfig,
    before: &Node,
    letter: &Letter,
    after: &Node,
    rule: Rule<'_>,
) -> Option<String> {
    let from = before.flow.state();
    if from.is_terminal() {
        return Some(format!("terminal {from:?} accepted {}", letter.label()));
    }
    if after.calls > config.max_calls() {
        return Some(format!("more than {} calls", config.max_calls()));
    }
    rule(&after.flow, letter).err()
}

/// Replays `path`; the first rule it breaks, or `None` when it runs clean
/// (or a step is refused, so it is not a run at all).
fn failure_of(
    config: &FlowConfig,
    catalogue: &Arc<Catalogue>,
    vocabulary: &Vocabulary,
    path: &[Letter],
    rule: Rule<'_>,
) -> Option<String> {
    let mut node = Node::new(config.clone(), Arc::clone(catalogue));
    for letter in path {
        let next = node.step(letter)?;
        if let Some(why) = check(config, &node, letter, &next, rule) {
            return Some(why);
        }
        node = next;
    }
    if !node.flow.state().is_terminal()
        && node
            .alphabet(catalogue, vocabulary)
            .iter()
            .all(|l| node.step(l).is_none())
    {
        return Some(format!("{:?} has no way forward", node.flow.state()));
    }
    None
}

/// Greedy shrinking: drop chunks, then single letters, while the run still
/// fails, until nothing more can go.
fn shrink(
    config: &FlowConfig,
    catalogue: &Arc<Catalogue>,
    vocabulary: &Vocabulary,
    mut path: Vec<Letter>,
    rule: Rule<'_>,
) -> Vec<Letter> {
    // Only the prefix up to the first failure matters.
    for end in 1..=path.len() {
        if failure_of(config, catalogue, vocabulary, &path[..end], rule).is_some() {
            path.truncate(end);
            break;
        }
    }
    let mut chunk = (path.len() / 2).max(1);
    loop {
        let mut changed = false;
        let mut i = 0;
        while i < path.len() {
            let end = (i + chunk).min(path.len());
            let mut shorter = path[..i].to_vec();
            shorter.extend_from_slice(&path[end..]);
            if !shorter.is_empty()
                && failure_of(config, catalogue, vocabulary, &shorter, rule).is_some()
            {
                path = shorter;
                changed = true;
            } else {
                i += 1;
            }
        }
        if !changed {
            if chunk == 1 {
                return path;
            }
            chunk = (chunk / 2).max(1);
        }
    }
}
