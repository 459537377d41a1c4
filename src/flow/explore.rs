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

use super::api::{Call, CallError, Effect, Input, Reply, Step, UserAction};
use super::config::FlowConfig;
use super::machine::{ConnectFlow, Counters};
use super::state::{Notice, StateKind};
use super::types::{
    Account, AuthMethod, AuthMethodKind, Catalogue, Institution, SessionInfo, Timestamp,
};
use super::view::View;
use super::Rejection;
use crate::form::{Field, FieldKind, Form, Values};
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

/// One abstract input: a person's action, a partner reply to the call in
/// flight, or the next timer firing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Letter {
    /// Choose this institution and method.
    Choose {
        /// Institution id.
        id: String,
        /// Auth method.
        method: AuthMethodKind,
    },
    /// Submit values that satisfy the form on screen ([`sample_values`]).
    SubmitValid,
    /// Submit an empty form (always invalid).
    SubmitInvalid,
    /// Pick the first account.
    ChooseAccount,
    /// Switch to another auth method.
    Switch(AuthMethodKind),
    /// Back to the list.
    Back,
    /// Retry the exchange.
    Retry,
    /// Leave.
    Exit,
    /// Let the next deadline pass.
    Timeout,
    /// The partner answers the call in flight.
    Reply(ReplyLetter),
}

/// The partner replies the explorer tries for a call in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReplyLetter {
    /// The catalogue (to a list call).
    Institutions,
    /// A session (to a create-session call).
    Session,
    /// `99` + code (to a login or commit).
    Code,
    /// `102` + an OTP form (to a login or commit).
    Mfa,
    /// `101` + two accounts (to a login or commit).
    Accounts,
    /// `400`, may try again (to a login or commit).
    RejectRetry,
    /// `400`, final (to a login or commit).
    RejectFinal,
    /// The partner forgot the session (to a login or commit).
    SessionExpired,
    /// An account id (to an exchange).
    Exchanged,
    /// No answer in time (to anything).
    Timeout,
    /// HTTP 401 (to anything).
    Unauthorized,
    /// Unreadable body (to anything).
    Malformed,
    /// HTTP 400 with a message (to anything).
    BadRequest,
}

impl ReplyLetter {
    /// Every reply letter.
    pub const ALL: [ReplyLetter; 13] = [
        ReplyLetter::Institutions,
        ReplyLetter::Session,
        ReplyLetter::Code,
        ReplyLetter::Mfa,
        ReplyLetter::Accounts,
        ReplyLetter::RejectRetry,
        ReplyLetter::RejectFinal,
        ReplyLetter::SessionExpired,
        ReplyLetter::Exchanged,
        ReplyLetter::Timeout,
        ReplyLetter::Unauthorized,
        ReplyLetter::Malformed,
        ReplyLetter::BadRequest,
    ];

    fn name(self) -> &'static str {
        match self {
            ReplyLetter::Institutions => "institutions",
            ReplyLetter::Session => "session",
            ReplyLetter::Code => "code",
            ReplyLetter::Mfa => "mfa",
            ReplyLetter::Accounts => "accounts",
            ReplyLetter::RejectRetry => "rejected",
            ReplyLetter::RejectFinal => "locked",
            ReplyLetter::SessionExpired => "session expired",
            ReplyLetter::Exchanged => "exchanged",
            ReplyLetter::Timeout => "timeout",
            ReplyLetter::Unauthorized => "401",
            ReplyLetter::Malformed => "malformed",
            ReplyLetter::BadRequest => "400",
        }
    }
}

impl Letter {
    /// A short label for graphs and test names.
    pub fn label(&self) -> String {
        match self {
            Letter::Choose { id, method } => format!("choose {id} {method}"),
            Letter::SubmitValid => "submit".into(),
            Letter::SubmitInvalid => "submit invalid".into(),
            Letter::ChooseAccount => "pick account".into(),
            Letter::Switch(m) => format!("switch {m}"),
            Letter::Back => "back".into(),
            Letter::Retry => "retry".into(),
            Letter::Exit => "exit".into(),
            Letter::Timeout => "deadline".into(),
            Letter::Reply(r) => r.name().into(),
        }
    }

    /// The label used on graph edges: without institution ids, so the graph
    /// stays readable for a catalogue of 60 banks.
    fn edge_label(&self) -> String {
        match self {
            Letter::Choose { .. } => "choose".into(),
            Letter::Switch(_) => "switch method".into(),
            other => other.label(),
        }
    }
}

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
}

impl Exploration {
    /// States no input sequence reached.
    pub fn unreachable(&self) -> Vec<StateKind> {
        StateKind::ALL
            .into_iter()
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

/// Breadth-first search over every input sequence, with a node per (state
/// kind, counters). Reports the shortest path to each state, every edge, and
/// problems: catalogue defects ([`check_catalogue`]), non-terminal nodes with
/// no input that moves them, terminal nodes that accept input, and calls
/// beyond [`FlowConfig::max_calls`].
pub fn explore(config: &FlowConfig, catalogue: Arc<Catalogue>) -> Exploration {
    let mut report = Exploration {
        problems: check_catalogue(&catalogue),
        ..Exploration::default()
    };
    let start = Node::new(config.clone(), Arc::clone(&catalogue));
    let mut seen: HashSet<(StateKind, Counters, bool)> = HashSet::new();
    let mut queue = VecDeque::new();
    seen.insert(start.key());
    report
        .shortest
        .insert(start.flow.state().kind(), Vec::new());
    queue.push_back((start, Vec::new()));
    while let Some((node, path)) = queue.pop_front() {
        report.nodes += 1;
        if report.nodes > MAX_NODES {
            report
                .problems
                .push(format!("stopped after {MAX_NODES} nodes"));
            break;
        }
        let from = node.flow.state().kind();
        let mut moved = false;
        for letter in node.alphabet(&catalogue) {
            let Some(next) = node.step(&letter) else {
                continue;
            };
            moved = true;
            let to = next.flow.state().kind();
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
    let mut node = Node::new(config.clone(), Arc::clone(&catalogue));
    for (i, letter) in path.iter().enumerate() {
        node = node
            .step(letter)
            .ok_or_else(|| format!("step {i} ({}) was refused", letter.label()))?;
    }
    Ok(node.flow)
}

/// Values that satisfy `form`: the first option of a choice, exactly
/// `length` characters for a captcha, digits up to `maxLength` otherwise.
pub fn sample_values(form: &Form) -> Values {
    form.fields
        .iter()
        .map(|f| {
            let value = match (&f.kind, f.length, f.max_length) {
                (FieldKind::Choice, _, _) => f
                    .options
                    .first()
                    .map(|o| o.value.clone())
                    .unwrap_or_default(),
                (_, Some(n), _) => "7".repeat(n as usize),
                (_, None, Some(max)) => "1".repeat((max as usize).min(6)),
                _ => "sample".to_owned(),
            };
            (f.name.clone(), value)
        })
        .collect()
}

/// Problems with a catalogue that would strand a person: institutions with
/// no usable login form for a method, forms that no value can satisfy,
/// duplicate field names, duplicate institution ids.
pub fn check_catalogue(catalogue: &Catalogue) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    for inst in catalogue.institutions() {
        if !ids.insert(inst.id.as_str()) {
            problems.push(format!("{}: duplicate institution id", inst.id));
        }
        for method in inst.method_kinds() {
            let Some(form) = inst.form_for(&method) else {
                problems.push(format!(
                    "{} {method}: no login form in the catalogue",
                    inst.id
                ));
                continue;
            };
            problems.extend(
                check_form(form)
                    .into_iter()
                    .map(|p| format!("{} {method}: {p}", inst.id)),
            );
        }
    }
    problems
}

/// Problems with one form: no fields, duplicate names, a choice without
/// options, a limit of zero, or sample values it refuses.
pub fn check_form(form: &Form) -> Vec<String> {
    let mut problems = Vec::new();
    if form.fields.is_empty() {
        problems.push("form has no fields".to_owned());
    }
    let mut names = HashSet::new();
    for f in &form.fields {
        if f.name.is_empty() {
            problems.push("a field has no name".to_owned());
        } else if !names.insert(f.name.as_str()) {
            problems.push(format!("field {:?} appears twice", f.name));
        }
        if f.kind == FieldKind::Choice && f.options.is_empty() {
            problems.push(format!("choice {:?} has no options", f.name));
        }
        if f.max_length == Some(0) || f.length == Some(0) {
            problems.push(format!("field {:?} accepts nothing (length 0)", f.name));
        }
        if let (Some(len), Some(max)) = (f.length, f.max_length) {
            if len > max {
                problems.push(format!(
                    "field {:?}: length {len} exceeds maxLength {max}",
                    f.name
                ));
            }
        }
    }
    if problems.is_empty() {
        if let Err(errors) = form.validate(&sample_values(form)) {
            problems.extend(errors.iter().map(|e| format!("sample value refused: {e}")));
        }
    }
    problems
}

/// A small catalogue covering every auth method and field type, for docs,
/// tests and the `connectflow graph` command.
pub fn demo_catalogue() -> Catalogue {
    let login = Form::new(
        "Log in to Demo Bank",
        vec![
            Field::input("username", "Username"),
            Field::password("password", "Password"),
        ],
    );
    let mobile = Form::new(
        "Mobile banking",
        vec![
            Field::input("phone", "Phone number").max_length(11),
            Field::password("pin", "6-digit PIN").max_length(6),
        ],
    );
    let manual = Form::new(
        "Verify your account",
        vec![
            Field::input("accountNo", "Account number").max_length(10),
            Field::choice(
                "identifier",
                "Verify with",
                [
                    ("bvn", "BVN"),
                    ("dob", "Date of birth"),
                    ("phone", "Phone"),
                    ("email", "Email"),
                ],
            ),
            Field::input("identifierValue", "Your BVN, date of birth, phone or email"),
        ],
    );
    let methods = vec![
        AuthMethod::new(AuthMethodKind::InternetBanking, Some(login)),
        AuthMethod::new(AuthMethodKind::MobileBanking, Some(mobile)),
        AuthMethod::new(AuthMethodKind::Manual, Some(manual)),
    ];
    Catalogue::new(vec![Institution::new("demo-bank", "Demo Bank", methods)])
}

/// A flow plus what the explorer needs to drive it.
#[derive(Clone)]
struct Node {
    flow: ConnectFlow,
    now: Timestamp,
    /// The call in flight, drained from the flow.
    pending: Option<Call>,
    calls: u64,
    sessions: u64,
    /// What the scripted partner answers a list call with.
    catalogue: Arc<Catalogue>,
}

impl Node {
    fn new(config: FlowConfig, catalogue: Arc<Catalogue>) -> Node {
        let mut node = Node {
            flow: ConnectFlow::new(config, T0),
            now: T0,
            pending: None,
            calls: 0,
            sessions: 0,
            catalogue,
        };
        node.drain();
        node
    }

    fn key(&self) -> (StateKind, Counters, bool) {
        let notice = matches!(
            self.flow.view(),
            View::ChooseInstitution {
                notice: Some(_),
                ..
            }
        ) || matches!(&self.flow.view(), View::Form(f) if matches!(f.notice, Some(Notice::SessionRenewed)));
        (self.flow.state().kind(), self.flow.counters.clone(), notice)
    }

    fn drain(&mut self) {
        while let Some(Effect::Call { call, .. }) = self.flow.poll_effect() {
            self.calls += 1;
            self.pending = Some(call);
        }
        while self.flow.poll_event().is_some() {}
    }

    fn alphabet(&self, catalogue: &Catalogue) -> Vec<Letter> {
        let mut letters = Vec::new();
        match self.flow.view() {
            View::ChooseInstitution { .. } => {
                for inst in catalogue.institutions() {
                    for method in inst.method_kinds() {
                        letters.push(Letter::Choose {
                            id: inst.id.clone(),
                            method,
                        });
                    }
                }
            }
            View::Form(form) => {
                letters.push(Letter::SubmitValid);
                letters.push(Letter::SubmitInvalid);
                letters.extend(form.other_methods().cloned().map(Letter::Switch));
            }
            View::ChooseAccount { .. } => letters.push(Letter::ChooseAccount),
            View::Linked { .. } => letters.push(Letter::Retry),
            _ => {}
        }
        letters.extend([Letter::Back, Letter::Exit, Letter::Timeout]);
        if self.flow.state().waiting_for().is_some() {
            letters.extend(ReplyLetter::ALL.into_iter().map(Letter::Reply));
        }
        letters
    }

    /// Applies `letter`; `None` when the flow refuses it or it does not apply.
    fn step(&self, letter: &Letter) -> Option<Node> {
        let mut next = self.clone();
        let input = match letter {
            Letter::Choose { id, method } => UserAction::ChooseInstitution {
                id: id.clone(),
                auth_method: Some(method.clone()),
            },
            Letter::SubmitValid => match self.flow.view() {
                View::Form(f) => UserAction::Submit(sample_values(f.form)),
                _ => UserAction::Submit(Values::new()),
            },
            Letter::SubmitInvalid => UserAction::Submit(Values::new()),
            Letter::ChooseAccount => UserAction::ChooseAccount(0),
            Letter::Switch(m) => UserAction::SwitchAuthMethod(m.clone()),
            Letter::Back => UserAction::Back,
            Letter::Retry => UserAction::Retry,
            Letter::Exit => UserAction::Exit,
            Letter::Timeout => {
                let deadline = self.flow.poll_timeout()?;
                next.now = deadline.max(next.now);
                next.flow.handle_timeout(next.now);
                next.drain();
                return Some(next);
            }
            Letter::Reply(r) => {
                let id = self.flow.state().waiting_for()?;
                let result = next.reply(*r)?;
                next.flow.handle(next.now, Input::Api { id, result }).ok()?;
                next.drain();
                return Some(next);
            }
        };
        // Invalid values are recorded for the view but change no state; an
        // edge that changes nothing would only add noise to the graph.
        match next.flow.handle(next.now, Input::User(input)) {
            Ok(()) => {
                next.drain();
                Some(next)
            }
            Err(super::FlowError::InvalidValues(_))
                if self.flow.state().kind() != StateKind::Failed =>
            {
                Some(next)
            }
            Err(_) => None,
        }
    }

    /// A scripted partner: the reply `letter` stands for, when it fits the call.
    fn reply(&mut self, letter: ReplyLetter) -> Option<Result<Reply, CallError>> {
        let call = self.pending.as_ref()?;
        let step_call = matches!(call, Call::Login { .. } | Call::Commit { .. });
        Some(match letter {
            ReplyLetter::Institutions if matches!(call, Call::ListInstitutions) => {
                Ok(Reply::Institutions(Arc::clone(&self.catalogue)))
            }
            ReplyLetter::Session if matches!(call, Call::CreateSession { .. }) => {
                self.sessions += 1;
                Ok(Reply::SessionCreated(SessionInfo {
                    id: format!("session-{}", self.sessions),
                    expires_at: Some(self.now.plus_ms(5 * 60 * 1000)),
                    form: None,
                    institution: None,
                }))
            }
            ReplyLetter::Code if step_call => Ok(Reply::Step(Step::Done {
                code: "code_1".into(),
            })),
            ReplyLetter::Mfa if step_call => Ok(Reply::Step(Step::NeedsInput {
                form: Form::new("Enter OTP", vec![Field::input("otp", "OTP").max_length(6)]),
            })),
            ReplyLetter::Accounts if step_call => Ok(Reply::Step(Step::ChooseAccount {
                accounts: vec![
                    Account::new("0131883461", "ADA OBI"),
                    Account::new("0131883462", "ADA OBI"),
                ],
            })),
            ReplyLetter::RejectRetry if step_call => Ok(Reply::Step(Step::Rejected(
                Rejection::retry("Invalid credentials"),
            ))),
            ReplyLetter::RejectFinal if step_call => Ok(Reply::Step(Step::Rejected(
                Rejection::terminal("Account locked"),
            ))),
            ReplyLetter::SessionExpired if step_call => {
                Ok(Reply::Step(Step::Rejected(Rejection {
                    message: "Session expired".into(),
                    kind: super::RejectionKind::SessionExpired,
                    code: None,
                })))
            }
            ReplyLetter::Exchanged if matches!(call, Call::ExchangeCode { .. }) => {
                Ok(Reply::Exchanged {
                    account_id: "acc_1".into(),
                })
            }
            ReplyLetter::Timeout => Err(CallError::Timeout),
            ReplyLetter::Unauthorized => Err(CallError::Unauthorized("invalid key".into())),
            ReplyLetter::Malformed => Err(CallError::Malformed("not JSON".into())),
            ReplyLetter::BadRequest => Err(CallError::Http {
                status: 400,
                message: "Bad request".into(),
            }),
            _ => return None,
        })
    }
}
