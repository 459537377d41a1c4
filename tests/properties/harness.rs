//! The host: a [`Harness`] that plays the partner and the person around a
//! live flow, applies one [`StepSpec`] at a time and hands back a [`Record`]
//! of what happened, for the rules to judge.

use crate::ops::{Op, StepSpec};
use crate::partner::*;
use connectflow::flow::explore::sample_values;
use connectflow::flow::*;
use connectflow::form::{Field, FieldKind, Form, Values};
use std::collections::HashSet;
use std::sync::Arc;

const T0: Timestamp = Timestamp(1_700_000_000_000);
const FIVE_MIN: u64 = 5 * 60 * 1000;

/// What one step did.
#[derive(Debug)]
pub(crate) enum Did {
    User {
        action: ActionKind,
        result: Result<(), FlowError>,
    },
    Reply {
        id: RequestId,
        /// The flow was waiting for exactly this id.
        awaited: bool,
        duplicate: bool,
        reply: Result<Reply, CallError>,
        result: Result<(), FlowError>,
    },
    Timer {
        /// A deadline was due when `handle_timeout` was called.
        fired: bool,
    },
    Restore,
    Nothing,
}

impl Did {
    pub(crate) fn error(&self) -> Option<&FlowError> {
        match self {
            Did::User { result: Err(e), .. } | Did::Reply { result: Err(e), .. } => Some(e),
            _ => None,
        }
    }

    pub(crate) fn accepted_reply(&self) -> Option<&Result<Reply, CallError>> {
        match self {
            Did::Reply {
                awaited: true,
                result: Ok(()),
                reply,
                ..
            } => Some(reply),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) kind_before: StateKind,
    pub(crate) waiting_before: Option<RequestId>,
    pub(crate) did: Did,
    /// Snapshot JSON before and right after the input, taken when the input
    /// must change nothing (the flow had ended, or a reply nobody awaits).
    pub(crate) unchanged: Option<(String, String)>,
    /// Snapshot JSON after the input, before its effects were polled (only
    /// when the harness is asked to keep it).
    pub(crate) pre_drain: Option<String>,
    pub(crate) effects: Vec<Effect>,
    pub(crate) events: Vec<Event>,
}

pub(crate) struct Harness {
    pub(crate) flow: ConnectFlow,
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) now: Timestamp,
    /// Every effect polled so far, in order.
    pub(crate) issued: Vec<(RequestId, Call)>,
    pub(crate) last_applied: Option<(RequestId, Result<Reply, CallError>)>,
    pub(crate) sessions: u32,
    pub(crate) marker_n: u32,
    /// Every secret marker the person typed.
    pub(crate) typed: Vec<String>,
    /// Effects polled so far.
    pub(crate) calls: u64,
    pub(crate) keep_pre_drain: bool,
    /// The partner only gives outcomes that keep the flow going round
    /// (transient errors, retryable rejections, more MFA), and the person
    /// never exits: only the config's limits can end the flow.
    pub(crate) hostile: bool,
    /// Session calls (create or re-authorise) the person started: made for
    /// their accepted choice of a bank or switch of method, or for the
    /// host's preselection as the list arrived. Not a restart or renewal.
    pub(crate) person_sessions: HashSet<RequestId>,
}

pub(crate) fn effect_parts(effect: &Effect) -> (RequestId, &Call) {
    let Effect::Call { id, call } = effect else {
        panic!("unknown effect {effect:?}")
    };
    (*id, call)
}

pub(crate) fn json(flow: &ConnectFlow) -> String {
    String::from_utf8(flow.snapshot().to_json()).expect("snapshot JSON is UTF-8")
}

impl Harness {
    pub(crate) fn new(config: FlowConfig) -> Harness {
        let mut h = Harness {
            flow: ConnectFlow::new(config, T0),
            catalogue: catalogue(),
            now: T0,
            issued: Vec::new(),
            last_applied: None,
            sessions: 0,
            marker_n: 100,
            typed: Vec::new(),
            calls: 0,
            keep_pre_drain: false,
            hostile: false,
            person_sessions: HashSet::new(),
        };
        h.drain();
        h
    }

    pub(crate) fn drain(&mut self) -> (Vec<Effect>, Vec<Event>) {
        let mut effects = Vec::new();
        while let Some(effect) = self.flow.poll_effect() {
            let (id, call) = effect_parts(&effect);
            self.issued.push((id, call.clone()));
            self.calls += 1;
            effects.push(effect);
        }
        let mut events = Vec::new();
        while let Some(event) = self.flow.poll_event() {
            events.push(event);
        }
        (effects, events)
    }

    /// Snapshot -> JSON -> `from_json` -> restore with the catalogue; checks
    /// the JSON round trip is exact and the restored flow is the same value.
    pub(crate) fn restore(&mut self) {
        let snapshot = self.flow.snapshot();
        let bytes = snapshot.to_json();
        let back = Snapshot::from_json(&bytes).expect("from_json(to_json(s))");
        assert_eq!(back, snapshot, "from_json(to_json(s)) != s");
        let restored =
            ConnectFlow::restore(back, Some(Arc::clone(&self.catalogue))).expect("restore");
        assert_eq!(
            format!("{restored:?}"),
            format!("{:?}", self.flow),
            "restore gave a different flow"
        );
        self.flow = restored;
    }

    /// The call in flight, from the effects polled so far.
    pub(crate) fn pending(&self) -> Option<(RequestId, Call)> {
        let id = self.flow.waiting_for()?;
        let call = self
            .issued
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| panic!("the flow waits for {id}, which it never emitted"));
        Some((id, call))
    }

    pub(crate) fn max_issued(&self) -> u64 {
        self.issued.iter().map(|(id, _)| id.0).max().unwrap_or(0)
    }

    // ---- the scripted partner

    pub(crate) fn session_reply(&mut self, variant: usize) -> Result<Reply, CallError> {
        self.sessions += 1;
        let (expires_at, form) = match variant {
            2 => (None, Some(session_form())),
            3 => (Some(self.now.plus_ms(30_000)), None),
            4 => (Some(self.now.plus_ms(FIVE_MIN)), Some(saved_login_form())),
            _ => (Some(self.now.plus_ms(FIVE_MIN)), None),
        };
        Ok(Reply::SessionCreated(SessionInfo {
            continuation: None,
            id: format!("sess-{}", self.sessions),
            expires_at,
            form,
            institution: None,
        }))
    }

    /// A step outcome. 0–10 are Mono's vocabulary; 11–14 the rest of the
    /// flow's (Flinks'): a durable id at once, "pending" (with a
    /// continuation), a restarted login, "try later".
    pub(crate) fn step_reply(&self, variant: usize) -> Result<Reply, CallError> {
        let step = match variant {
            0 | 1 => Step::code(format!("code_{}", self.max_issued())),
            2..=4 => Step::needs_input(mfa_form(variant - 2)),
            5 => Step::choose_account(accounts(1)),
            6 => Step::choose_account(accounts(3)),
            7 => Step::choose_account(accounts(0)),
            8 => return rejected(RejectionKind::Retry),
            9 => return rejected(RejectionKind::Final),
            11 => Step::account(format!("login_{}", self.max_issued())),
            12 => Step::Pending {
                poll_after_ms: 10_000,
                give_up_after_ms: 60_000,
                continuation: Some(Continuation::new(format!("req-{}", self.max_issued()))),
            },
            13 => return rejected(RejectionKind::RestartLogin),
            14 => return rejected(RejectionKind::TryLater),
            _ => return rejected(RejectionKind::SessionExpired),
        };
        Ok(Reply::Step(step))
    }

    /// A reply that fits `call`: a success or a transport error. Selectors
    /// below 176 pick only outcomes that move the flow forward, so runs get
    /// deep; the others pick from every outcome.
    pub(crate) fn fitting(&mut self, call: &Call, sel: u8) -> Result<Reply, CallError> {
        if self.hostile {
            return self.looping(call, sel);
        }
        let forward = sel < 176;
        let sel = usize::from(sel);
        match call {
            Call::ListInstitutions if forward => {
                Ok(Reply::Institutions(Arc::clone(&self.catalogue)))
            }
            Call::CreateSession { .. } if forward => self.session_reply(sel % 5),
            // A re-authorisation is opened like a session, or settled by the
            // partner in the same call (a code, a form, a refusal).
            Call::Reauthorise { .. } if forward => match sel % 6 {
                5 => self.step_reply([0, 2, 5, 11][sel / 6 % 4]),
                k => self.session_reply(k),
            },
            Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. } if forward => {
                self.step_reply([0, 1, 2, 3, 4, 5, 6, 8, 11, 12][sel % 10])
            }
            Call::ExchangeCode { .. } if forward => Ok(Reply::Exchanged {
                account_id: format!("acc_{}", self.max_issued()),
            }),
            Call::ListInstitutions => match sel % 10 {
                0..=2 => Ok(Reply::Institutions(Arc::clone(&self.catalogue))),
                k => Err(call_error(k - 3)),
            },
            Call::CreateSession { .. } => match sel % 12 {
                k @ 0..=4 => self.session_reply(k),
                k => Err(call_error(k - 5)),
            },
            Call::Reauthorise { .. } => match sel % 27 {
                k @ 0..=4 => self.session_reply(k),
                k @ 5..=19 => self.step_reply(k - 5),
                k => Err(call_error(k - 20)),
            },
            Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. } => match sel % 22 {
                k @ 0..=14 => self.step_reply(k),
                k => Err(call_error(k - 15)),
            },
            Call::ExchangeCode { .. } => match sel % 10 {
                0..=2 => Ok(Reply::Exchanged {
                    account_id: format!("acc_{}", self.max_issued()),
                }),
                k => Err(call_error(k - 3)),
            },
            other => panic!("unknown call {other:?}"),
        }
    }

    /// A hostile partner's reply to `call`: never a code or a final "no".
    pub(crate) fn looping(&mut self, call: &Call, sel: u8) -> Result<Reply, CallError> {
        let sel = usize::from(sel);
        let transient = [0, 1, 2, 6].map(call_error);
        match call {
            Call::ListInstitutions if sel % 4 == 0 => {
                Ok(Reply::Institutions(Arc::clone(&self.catalogue)))
            }
            Call::CreateSession { .. } | Call::Reauthorise { .. } if sel % 2 == 0 => {
                self.session_reply(if sel % 4 == 0 { 4 } else { 3 })
            }
            Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. } if sel % 3 != 0 => {
                self.step_reply([2, 3, 4, 5, 6, 8, 10, 12, 13, 14][sel % 10])
            }
            _ => Err(transient[sel % 4].clone()),
        }
    }

    /// A successful reply meant for another kind of call than `call`.
    pub(crate) fn wrong_shape(&mut self, call: &Call, sel: u8) -> Result<Reply, CallError> {
        let k = sel % 3;
        let institutions = Ok(Reply::Institutions(Arc::clone(&self.catalogue)));
        let exchanged = Ok(Reply::Exchanged {
            account_id: "acc_wrong".into(),
        });
        match (call, k) {
            (Call::ListInstitutions, 0) => self.session_reply(0),
            (Call::ListInstitutions, 1) => self.step_reply(0),
            (Call::CreateSession { .. } | Call::Reauthorise { .. }, 0)
            | (Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. }, 0) => institutions,
            (Call::CreateSession { .. }, 1) => self.step_reply(2),
            (Call::Reauthorise { .. }, 1) => Ok(Reply::Exchanged {
                account_id: "acc_wrong".into(),
            }),
            (Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. }, 1) => {
                self.session_reply(0)
            }
            (Call::ExchangeCode { .. }, 0) => institutions,
            (Call::ExchangeCode { .. }, 1) => self.session_reply(0),
            (Call::ExchangeCode { .. }, _) => self.step_reply(0),
            _ => exchanged,
        }
    }

    // ---- the person

    pub(crate) fn marker(&mut self, field: &Field) -> String {
        self.marker_n += 1;
        let n = self.marker_n;
        let name = field.name.to_ascii_lowercase();
        let tag = if name.contains("pin") {
            "PIN"
        } else if name.contains("otp") {
            "OTP"
        } else if name.contains("answer") {
            "ANS"
        } else {
            "PW"
        };
        let long = format!("SECRET-{tag}-{n}");
        let marker = match field.max_length {
            Some(max) if (max as usize) < long.len() => format!("\u{a4}{n}"),
            _ => long,
        };
        self.typed.push(marker.clone());
        marker
    }

    /// Values `form` accepts, with a marker in every secret field.
    pub(crate) fn fill(&mut self, form: &Form) -> Values {
        let sample = sample_values(form);
        let mut values = Values::new();
        for field in &form.fields {
            let value = if is_secretish(field) {
                self.marker(field)
            } else {
                sample
                    .get(&field.name)
                    .map(|s| s.expose().to_owned())
                    .unwrap_or_default()
            };
            values.insert(field.name.clone(), value);
        }
        values
    }

    pub(crate) fn form_on_screen(&self) -> Option<Form> {
        match self.flow.view() {
            View::Form(f) => Some(f.form.clone()),
            _ => None,
        }
    }

    pub(crate) fn valid_values(&mut self) -> Values {
        match self.form_on_screen() {
            Some(form) => self.fill(&form),
            // Nothing to submit: the flow must refuse, and still not leak.
            None => {
                let field = Field::password("password", "Password");
                Values::new().with("password", self.marker(&field))
            }
        }
    }

    pub(crate) fn invalid_values(&mut self, k: u8) -> Values {
        // A form that asks nothing (a saved login) takes nothing: a field it
        // does not have (typed into as a secret) is what makes it wrong.
        if self.form_on_screen().is_some_and(|f| f.fields.is_empty()) {
            let field = Field::password("password", "Password");
            return Values::new().with("password", self.marker(&field));
        }
        let form = self
            .form_on_screen()
            .unwrap_or_else(|| Form::new("Log in", vec![Field::password("password", "P")]));
        let valid = self.fill(&form);
        let first = form.fields[0].clone();
        match k % 5 {
            0 => Values::new(),
            1 => valid
                .iter()
                .skip(1)
                .map(|(n, v)| (n.clone(), v.expose().to_owned()))
                .collect(),
            2 => {
                let typo = Field::password("pasword", "Password");
                let marker = self.marker(&typo);
                valid.with("pasword", marker)
            }
            3 => match form.fields.iter().find(|f| f.max_length.is_some()) {
                Some(f) => {
                    let marker = format!("SECRET-LONG-{}", self.marker_n).repeat(4);
                    self.typed.push(marker.clone());
                    valid.with(f.name.clone(), marker)
                }
                None => valid.with(first.name, "   "),
            },
            _ => match form.fields.iter().find(|f| f.kind == FieldKind::Choice) {
                Some(f) => valid.with(f.name.clone(), "not-an-option"),
                None => valid.with(first.name, ""),
            },
        }
    }

    pub(crate) fn user_action(&mut self, op: &Op) -> UserAction {
        match op {
            Op::Choose { inst, method } => UserAction::ChooseInstitution {
                id: institution_id(*inst).into(),
                auth_method: method.map(method_kind),
            },
            Op::SubmitValid => UserAction::Submit(self.valid_values()),
            Op::SubmitInvalid(k) => UserAction::Submit(self.invalid_values(*k)),
            Op::ChooseAccount(i) => UserAction::ChooseAccount(usize::from(*i % 5)),
            Op::Switch(k) => UserAction::SwitchAuthMethod(method_kind(*k)),
            Op::Back => UserAction::Back,
            Op::Retry => UserAction::Retry,
            _ => UserAction::Exit,
        }
    }

    // ---- one step

    pub(crate) fn send(
        &mut self,
        id: RequestId,
        reply: Result<Reply, CallError>,
        duplicate: bool,
        before: &mut Option<String>,
    ) -> Did {
        let awaited = self.flow.waiting_for() == Some(id);
        if !awaited && before.is_none() {
            *before = Some(json(&self.flow));
        }
        let result = self.flow.handle(
            self.now,
            Input::Api {
                id,
                result: reply.clone(),
            },
        );
        if awaited && result.is_ok() {
            self.last_applied = Some((id, reply.clone()));
        }
        Did::Reply {
            id,
            awaited,
            duplicate,
            reply,
            result,
        }
    }

    pub(crate) fn fire(&mut self) -> Did {
        let fired = self.flow.poll_timeout().is_some_and(|t| t <= self.now);
        self.flow.handle_timeout(self.now);
        Did::Timer { fired }
    }

    pub(crate) fn step(&mut self, spec: &StepSpec) -> Record {
        let kind_before = self.flow.state();
        let waiting_before = self.flow.waiting_for();
        // The snapshot before the input, when the input must be a no-op: the
        // flow has ended, or (decided in `send`) a reply nobody awaits.
        let mut before = kind_before.is_terminal().then(|| json(&self.flow));
        let op = match &spec.op {
            Op::Act(c) => progress_op(self, *c).unwrap_or(Op::Act(0)),
            op => op.clone(),
        };
        let did = match &op {
            Op::Act(_) => Did::Nothing,
            op @ (Op::Choose { .. }
            | Op::SubmitValid
            | Op::SubmitInvalid(_)
            | Op::ChooseAccount(_)
            | Op::Switch(_)
            | Op::Back
            | Op::Retry
            | Op::Exit) => {
                let action = self.user_action(op);
                let kind = action.kind();
                let result = self.flow.handle(self.now, Input::User(action));
                Did::User {
                    action: kind,
                    result,
                }
            }
            Op::Answer(sel) => match self.pending() {
                Some((id, call)) => {
                    let reply = self.fitting(&call, *sel);
                    self.send(id, reply, false, &mut before)
                }
                None => Did::Nothing,
            },
            Op::WrongShape(sel) => match self.pending() {
                Some((id, call)) => {
                    let reply = self.wrong_shape(&call, *sel);
                    self.send(id, reply, false, &mut before)
                }
                None => Did::Nothing,
            },
            Op::Stale { pick, fitting } => {
                let old: Vec<(RequestId, Call)> = self
                    .issued
                    .iter()
                    .filter(|(id, _)| Some(*id) != waiting_before)
                    .cloned()
                    .collect();
                if old.is_empty() {
                    Did::Nothing
                } else {
                    let (id, old_call) = old[usize::from(*pick) % old.len()].clone();
                    let call = match self.pending() {
                        Some((_, current)) if *fitting => current,
                        _ => old_call,
                    };
                    let reply = self.fitting(&call, pick.wrapping_mul(7));
                    self.send(id, reply, false, &mut before)
                }
            }
            Op::Duplicate => match self.last_applied.clone() {
                Some((id, reply)) => self.send(id, reply, true, &mut before),
                None => Did::Nothing,
            },
            Op::NeverIssued(k) => {
                let id = match k % 3 {
                    0 => RequestId(0),
                    1 => RequestId(self.max_issued().max(self.flow_next_id()) + 1 + u64::from(*k)),
                    _ => RequestId(u64::MAX),
                };
                let reply = match self.pending() {
                    Some((_, call)) => self.fitting(&call, *k),
                    None => Ok(Reply::Institutions(Arc::clone(&self.catalogue))),
                };
                self.send(id, reply, false, &mut before)
            }
            Op::Timeout => {
                if let Some(deadline) = self.flow.poll_timeout() {
                    self.now = self.now.max(deadline);
                }
                self.fire()
            }
            Op::Advance { ms, fire } => {
                self.now = self.now.plus_ms(*ms);
                if *fire {
                    self.fire()
                } else {
                    Did::Nothing
                }
            }
            Op::Restore => {
                self.restore();
                Did::Restore
            }
        };
        let unchanged = before.map(|before| (before, json(&self.flow)));
        if spec.restore_mid {
            self.restore();
        }
        let pre_drain = self.keep_pre_drain.then(|| json(&self.flow));
        let (effects, events) = self.drain();
        let by_person = match &did {
            Did::User {
                action: ActionKind::ChooseInstitution | ActionKind::SwitchAuthMethod,
                result: Ok(()),
            } => true,
            did => matches!(did.accepted_reply(), Some(Ok(Reply::Institutions(_)))),
        };
        for effect in &effects {
            let (id, call) = effect_parts(effect);
            if by_person && matches!(call.kind(), CallKind::CreateSession | CallKind::Reauthorise) {
                self.person_sessions.insert(id);
            }
        }
        Record {
            kind_before,
            waiting_before,
            did,
            unchanged,
            pre_drain,
            effects,
            events,
        }
    }

    /// Whether `did` lets the flow send a login on its own: it is the reply
    /// to a session the person started ([`Self::person_sessions`]) whose
    /// login form asks nothing (a saved login), so this is that session's
    /// first and only automatic login.
    pub(crate) fn opens_a_saved_login(&self, did: &Did) -> bool {
        match did {
            Did::Reply {
                id,
                awaited: true,
                result: Ok(()),
                reply: Ok(Reply::SessionCreated(info)),
                ..
            } => {
                self.person_sessions.contains(id)
                    && info.form.as_ref().is_some_and(|f| f.fields.is_empty())
            }
            _ => false,
        }
    }

    /// An id the flow has not handed out yet: past every id in the snapshot.
    pub(crate) fn flow_next_id(&self) -> u64 {
        let v: serde_json::Value =
            serde_json::from_slice(&self.flow.snapshot().to_json()).expect("snapshot JSON");
        v["next_id"].as_u64().unwrap_or(0)
    }
}

pub(crate) fn is_person_state(kind: StateKind) -> bool {
    matches!(
        kind,
        StateKind::AwaitingCredentials | StateKind::AwaitingInput | StateKind::AwaitingAccount
    )
}

/// Every state's view is the one its kind calls for: the library's table,
/// the one `connectflow check --cases` judges by too.
pub(crate) use connectflow::flow::explore::view_fits;

/// The progress driver of rule 5: answer the call in flight with a random
/// fitting outcome (rarely a wrong shape); otherwise do something the person
/// can do on the screen shown (rarely exit), or let the scheduled deadline
/// pass. `None` when the flow has ended or nothing applies.
pub(crate) fn progress_op(h: &mut Harness, c: u8) -> Option<Op> {
    if h.flow.is_finished() {
        return None;
    }
    if h.pending().is_some() {
        return Some(if c % 40 == 0 && !h.hostile {
            Op::WrongShape(c / 40)
        } else {
            Op::Answer(c.wrapping_mul(37))
        });
    }
    if c % 32 == 0 && !h.hostile {
        return Some(Op::Exit);
    }
    let deadline = h.flow.poll_timeout().is_some();
    let person_state = is_person_state(h.flow.state());
    // Timers, Back and Switch as alternatives to the screen's main action.
    match c % 8 {
        0 if deadline => return Some(Op::Timeout),
        1 if person_state => return Some(Op::Back),
        2 if person_state => {
            if let View::Form(f) = h.flow.view() {
                if let Some(m) = f.other_methods().nth(usize::from(c / 8) % 2) {
                    return Some(Op::Switch(method_index(m)));
                }
            }
        }
        _ => {}
    }
    Some(match h.flow.view() {
        View::ChooseInstitution { institutions, .. } => {
            // demo-bank: internet, mobile, manual; ussd-bank: ussd, manual.
            // ussd-bank's manual method has no form in the catalogue: a
            // session that brings none fails, so pick it rarely. Only what
            // the screen offers (a re-authorisation offers its own bank).
            let offered = institutions.iter().any(|i| i.id == institution_id(5));
            if c % 3 == 0 && offered {
                Op::Choose {
                    inst: 5,
                    method: Some(if c % 24 == 3 { 2 } else { 3 }),
                }
            } else {
                Op::Choose {
                    inst: 0,
                    method: Some(c % 3),
                }
            }
        }
        View::Form(_) => Op::SubmitValid,
        View::ChooseAccount { accounts, .. } => Op::ChooseAccount(c % accounts.len() as u8),
        View::Linked { .. } => Op::Retry,
        _ if deadline => Op::Timeout,
        _ => return None,
    })
}
