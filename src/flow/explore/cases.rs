//! Random runs over a catalogue: where [`explore`](super::explore) visits
//! each abstract state once, this walks many concrete runs — the explorer's
//! scripted partner answering with any reply of the vocabulary — checks the
//! flow's invariants after every step, and shrinks the first failing run to
//! a shortest sequence that still fails.
//!
//! Deterministic: the same seed gives the same runs (a small xorshift, no
//! clock), so a failure printed by CI reproduces on a laptop.

use super::letters::{Letter, ReplyLetter, Vocabulary};
use super::node::{Node, Observed};
use super::rules;
use crate::flow::config::FlowConfig;
use crate::flow::machine::ConnectFlow;
use crate::flow::types::Catalogue;
use std::sync::Arc;

/// Steps per run: long enough for two MFA rounds, a renewal and a retry.
pub const MAX_STEPS: usize = 40;

/// An extra rule a caller checks after every step: `Err(why)` breaks it.
pub type Rule<'a> = &'a dyn Fn(&ConnectFlow, &Letter) -> Result<(), String>;

/// A test double of the host: it sees what each step made the flow do
/// (after `letter`) and may change it before the rules judge it — the way
/// to check that a bug in a host (a login sent twice, a code passed on
/// twice) would be caught.
pub type Double<'a> = &'a dyn Fn(&Letter, &mut Observed);

/// How often (one step in N) a random run also checks rule 7 there:
/// snapshot, restore, and the next step compared with the original's.
const RESTORE_EVERY: u64 = 8;

/// What a run checks besides the flow's own rules.
#[derive(Clone, Copy)]
struct Extra<'a> {
    rule: Rule<'a>,
    double: Double<'a>,
}

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

/// Runs `cases` random runs of at most [`MAX_STEPS`] steps — the person
/// doing anything the screen allows, the partner answering with any reply
/// of `vocabulary`, deadlines passing, stale replies arriving — and checks
/// after every step the rules of DESIGN.md and `rule`:
///
/// - a terminal state accepts no input; a state that is not terminal
///   always has a way forward;
/// - rule 1: a stale reply is refused and changes nothing;
/// - rule 2: request ids are never reused, one input makes at most one
///   call, login and commit go out only on the person's submit or choice;
/// - rule 3: at most one code, and after it only its exchange;
/// - rule 4: every state shows its view; terminal states stay terminal
///   and wait for nothing;
/// - rule 5: no run makes more than [`FlowConfig::max_calls`] calls, and
///   from where each run stops a host that keeps answering ends the flow
///   within `3 × max_calls() + 2` inputs;
/// - rule 6: once a login or commit is sent, the snapshot does not carry
///   the secrets it sent;
/// - rule 7: at random steps, the flow restored from its snapshot takes the
///   next step exactly as the original.
///
/// Stops at the first failure and shrinks it.
pub fn run_cases_with(
    config: &FlowConfig,
    catalogue: Arc<Catalogue>,
    vocabulary: &Vocabulary,
    cases: usize,
    seed: u64,
    rule: Rule<'_>,
) -> CaseReport {
    let extra = Extra {
        rule,
        double: &|_, _| {},
    };
    run(config, catalogue, vocabulary, cases, seed, extra)
}

/// [`run_cases`] with a test double of the host between the flow and the
/// rules (see [`Double`]).
pub fn run_cases_with_double(
    config: &FlowConfig,
    catalogue: Arc<Catalogue>,
    vocabulary: &Vocabulary,
    cases: usize,
    seed: u64,
    double: Double<'_>,
) -> CaseReport {
    let extra = Extra {
        rule: &|_, _| Ok(()),
        double,
    };
    run(config, catalogue, vocabulary, cases, seed, extra)
}

fn run(
    config: &FlowConfig,
    catalogue: Arc<Catalogue>,
    vocabulary: &Vocabulary,
    cases: usize,
    seed: u64,
    extra: Extra<'_>,
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
            let letters = alphabet(&node, &catalogue, vocabulary);
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
            let restore = rng.next() % RESTORE_EVERY == 0;
            let broken = match &mut moved {
                None if !node.flow.state().is_terminal() => {
                    Some(format!("{:?} has no way forward", node.flow.state()))
                }
                None => None,
                Some((letter, next)) => {
                    path.push(letter.clone());
                    check(config, &node, letter, next, extra)
                        .or_else(|| restore.then(|| restores_alike(&node, letter)).flatten())
                }
            };
            let broken = broken.or_else(|| {
                let last = moved.as_ref().map_or(&node, |(_, next)| next);
                let stops = moved.is_none() || path.len() == MAX_STEPS;
                stops.then(|| ends(config, last, vocabulary)).flatten()
            });
            if let Some(why) = broken {
                let original_len = path.len();
                let shrunk = shrink(config, &catalogue, vocabulary, path, extra);
                let rule =
                    failure_of(config, &catalogue, vocabulary, &shrunk, extra).unwrap_or(why);
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

/// The letters of `node` plus a stale reply when one can come.
fn alphabet(node: &Node, catalogue: &Catalogue, vocabulary: &Vocabulary) -> Vec<Letter> {
    let mut letters = node.alphabet(catalogue, vocabulary);
    if node.stale_id().is_some() {
        letters.push(Letter::Stale);
    }
    letters
}

/// Judges one step (and lets the double see it first); on success the
/// rules' memory moves into `after`.
fn check(
    config: &FlowConfig,
    before: &Node,
    letter: &Letter,
    after: &mut Node,
    extra: Extra<'_>,
) -> Option<String> {
    let from = before.flow.state();
    if from.is_terminal() && *letter != Letter::Stale {
        return Some(format!("terminal {from:?} accepted {}", letter.label()));
    }
    if after.calls > config.max_calls() {
        return Some(format!("rule 5: more than {} calls", config.max_calls()));
    }
    let mut seen = std::mem::take(&mut after.last);
    (extra.double)(letter, &mut seen);
    if let Some(why) = rules::judge(before, letter, after, &seen) {
        return Some(why);
    }
    rules::remember(after, &seen);
    (extra.rule)(&after.flow, letter).err()
}

/// Rule 7: `letter` from `node` and from `node` restored from its snapshot
/// does the same.
fn restores_alike(node: &Node, letter: &Letter) -> Option<String> {
    let restored = match node.restored() {
        Ok(r) => r,
        Err(e) => return Some(format!("rule 7: the snapshot does not restore: {e}")),
    };
    let a = node.step(letter);
    let b = restored.step(letter);
    let same = match (&a, &b) {
        (None, None) => true,
        (Some(a), Some(b)) => rules::observe(a, &a.last) == rules::observe(b, &b.last),
        _ => false,
    };
    (!same).then(|| {
        format!(
            "rule 7: restored, the flow took {} differently",
            letter.label()
        )
    })
}

/// Rule 5: from `node`, a host that always answers the call in flight
/// (moving forward), lets deadlines pass and does what the screen asks
/// ends the flow within `3 × max_calls() + 2` inputs.
fn ends(config: &FlowConfig, node: &Node, vocabulary: &Vocabulary) -> Option<String> {
    let bound = 3 * config.max_calls() + 2;
    let mut node = node.clone();
    let forward = [
        ReplyLetter::Institutions,
        ReplyLetter::Session,
        ReplyLetter::Code,
        ReplyLetter::AccountId,
        ReplyLetter::Exchanged,
    ];
    for _ in 0..bound {
        if node.flow.state().is_terminal() {
            return None;
        }
        let mut letters: Vec<Letter> = forward.iter().copied().map(Letter::Reply).collect();
        letters.push(Letter::Timeout);
        let catalogue = Arc::clone(&node.catalogue);
        letters.extend(
            node.alphabet(&catalogue, vocabulary)
                .into_iter()
                .filter(|l| {
                    matches!(
                        l,
                        Letter::Choose { .. }
                            | Letter::SubmitValid
                            | Letter::ChooseAccount
                            | Letter::Retry
                    )
                }),
        );
        match letters.iter().find_map(|l| node.step(l)) {
            Some(next) => node = next,
            None => {
                return Some(format!(
                    "rule 5: {:?} has no way to an end",
                    node.flow.state()
                ))
            }
        }
    }
    (!node.flow.state().is_terminal()).then(|| {
        format!(
            "rule 5: still {:?} after {bound} inputs of a host that keeps answering",
            node.flow.state()
        )
    })
}

/// Replays `path`; the first rule it breaks, or `None` when it runs clean
/// (or a step is refused, so it is not a run at all).
fn failure_of(
    config: &FlowConfig,
    catalogue: &Arc<Catalogue>,
    vocabulary: &Vocabulary,
    path: &[Letter],
    extra: Extra<'_>,
) -> Option<String> {
    let mut node = Node::new(config.clone(), Arc::clone(catalogue));
    for letter in path {
        let mut next = node.step(letter)?;
        // Rule 7 at every step here: a shrunk run must fail wherever the
        // random one happened to restore.
        if let Some(why) =
            check(config, &node, letter, &mut next, extra).or_else(|| restores_alike(&node, letter))
        {
            return Some(why);
        }
        node = next;
    }
    if !node.flow.state().is_terminal()
        && alphabet(&node, catalogue, vocabulary)
            .iter()
            .all(|l| node.step(l).is_none())
    {
        return Some(format!("{:?} has no way forward", node.flow.state()));
    }
    ends(config, &node, vocabulary)
}

/// Greedy shrinking: drop chunks, then single letters, while the run still
/// fails, until nothing more can go.
fn shrink(
    config: &FlowConfig,
    catalogue: &Arc<Catalogue>,
    vocabulary: &Vocabulary,
    mut path: Vec<Letter>,
    extra: Extra<'_>,
) -> Vec<Letter> {
    // Only the prefix up to the first failure matters.
    for end in 1..=path.len() {
        if failure_of(config, catalogue, vocabulary, &path[..end], extra).is_some() {
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
                && failure_of(config, catalogue, vocabulary, &shorter, extra).is_some()
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
