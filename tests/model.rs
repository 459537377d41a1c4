//! Reference-model test (proptest-state-machine): a much simpler,
//! independent statement of the connect flow's transition table, over
//! abstract state only (state kind, the call in flight, and the counters the
//! config bounds), written from DESIGN.md's lifecycle and the documented
//! behaviour of `ConnectFlow`. The same transitions are applied to the real
//! flow; after each one its state kind, the call it emitted (0 or 1 effects,
//! and which call), whether it waits for a reply and whether it has a
//! deadline must all be what the model says, and inputs the model refuses
//! must be refused.
//!
//! Case counts come from `ProptestConfig::default()`, so `PROPTEST_CASES`
//! is honoured.

use connectflow::flow::explore::{demo_catalogue, sample_values};
use connectflow::flow::*;
use connectflow::form::{Field, Form, Values};
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::sync::Arc;

const T0: Timestamp = Timestamp(1_700_000_000_000);
const FIVE_MIN: u64 = 5 * 60 * 1000;

// ---- the model's view of the catalogue ------------------------------------------

/// Institutions, as the model knows them: id and (method, has a catalogue
/// login form). Index 0 is the demo bank; index 1 a USSD bank whose manual
/// method has no form.
fn institution(i: usize) -> (&'static str, Vec<(AuthMethodKind, bool)>) {
    match i {
        0 => (
            "demo-bank",
            vec![
                (AuthMethodKind::InternetBanking, true),
                (AuthMethodKind::MobileBanking, true),
                (AuthMethodKind::Manual, true),
            ],
        ),
        _ => (
            "ussd-bank",
            vec![
                (AuthMethodKind::Ussd, true),
                (AuthMethodKind::Manual, false),
            ],
        ),
    }
}

const METHODS: [AuthMethodKind; 4] = [
    AuthMethodKind::InternetBanking,
    AuthMethodKind::MobileBanking,
    AuthMethodKind::Manual,
    AuthMethodKind::Ussd,
];

fn offered(inst: usize, method: &AuthMethodKind) -> Option<bool> {
    institution(inst)
        .1
        .into_iter()
        .find(|(m, _)| m == method)
        .map(|(_, form)| form)
}

/// The real catalogue the flow gets: the demo catalogue plus the USSD bank.
fn catalogue() -> Arc<Catalogue> {
    let mut institutions = demo_catalogue().institutions().to_vec();
    let ussd = Form::new(
        "Dial in",
        vec![
            Field::input("accountNo", "Account number").max_length(10),
            Field::password("ussdPin", "USSD PIN").max_length(4),
        ],
    );
    institutions.push(Institution::new(
        "ussd-bank",
        "USSD Bank",
        vec![
            AuthMethod::new(AuthMethodKind::Ussd, Some(ussd)),
            AuthMethod::new(AuthMethodKind::Manual, None),
        ],
    ));
    Arc::new(Catalogue::new(institutions))
}

// ---- transitions -------------------------------------------------------------------

/// A transport or HTTP failure of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Timeout,
    Connect,
    Http500,
    Http400,
    Unauthorized,
    Malformed,
    RateLimited,
}

const FAULTS: [Fault; 7] = [
    Fault::Timeout,
    Fault::Connect,
    Fault::Http500,
    Fault::Http400,
    Fault::Unauthorized,
    Fault::Malformed,
    Fault::RateLimited,
];

impl Fault {
    /// Worth trying again later: timeouts, dropped connections, 5xx, 429.
    fn transient(self) -> bool {
        matches!(
            self,
            Fault::Timeout | Fault::Connect | Fault::Http500 | Fault::RateLimited
        )
    }

    fn error(self) -> CallError {
        match self {
            Fault::Timeout => CallError::Timeout,
            Fault::Connect => CallError::Connect("connection reset".into()),
            Fault::Http500 => CallError::Http {
                status: 500,
                message: "Internal error".into(),
            },
            Fault::Http400 => CallError::Http {
                status: 400,
                message: "Bad request".into(),
            },
            Fault::Unauthorized => CallError::Unauthorized("invalid key".into()),
            Fault::Malformed => CallError::Malformed("not JSON".into()),
            Fault::RateLimited => CallError::RateLimited {
                retry_after_ms: Some(1_000),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Transition {
    // The partner answers the call in flight.
    Institutions,
    Session {
        expires: bool,
        form: bool,
    },
    Code,
    Mfa,
    Accounts(usize),
    NoAccounts,
    RejectRetry,
    RejectFinal,
    RejectExpired,
    Exchanged,
    Fail(Fault),
    /// A successful reply meant for another kind of call.
    WrongShape,
    /// A reply with an id the flow is not waiting for.
    Stale,
    // Time.
    /// Jump to the (only) deadline and fire it.
    Deadline,
    /// `handle_timeout` with nothing due.
    Tick,
    // The person.
    Choose {
        inst: usize,
        method: Option<AuthMethodKind>,
    },
    ChooseUnknown,
    SubmitValid,
    SubmitInvalid,
    ChooseAccount(usize),
    Switch(AuthMethodKind),
    Back,
    Retry,
    Exit,
}

// ---- the model ------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Input,
    Account,
}

#[derive(Debug, Clone)]
struct Model {
    config: FlowConfig,
    kind: StateKind,
    /// The call in flight.
    pending: Option<CallKind>,
    /// The call the last transition made, if any.
    emitted: Option<CallKind>,
    /// The last transition must be refused (and change nothing).
    refused: bool,
    /// Calls made so far (for stale ids).
    calls: u32,
    catalogue: bool,
    preselect_tried: bool,
    /// Chosen institution and method.
    target: Option<(usize, AuthMethodKind)>,
    session_expires: bool,
    renewal: bool,
    accounts: usize,
    origin: Origin,
    // The counters the config bounds; per flow, never reset.
    list_failures: u8,
    login_rejections: u8,
    mfa_rejections: u8,
    rounds: u8,
    sessions: u8,
    renewals: u8,
    transport: u8,
}

impl Model {
    fn new(config: FlowConfig) -> Model {
        Model {
            config,
            kind: StateKind::LoadingInstitutions,
            pending: Some(CallKind::ListInstitutions),
            emitted: Some(CallKind::ListInstitutions),
            refused: false,
            calls: 1,
            catalogue: false,
            preselect_tried: false,
            target: None,
            session_expires: false,
            renewal: false,
            accounts: 0,
            origin: Origin::Input,
            list_failures: 0,
            login_rejections: 0,
            mfa_rejections: 0,
            rounds: 0,
            sessions: 0,
            renewals: 0,
            transport: 0,
        }
    }

    fn person_state(&self) -> bool {
        matches!(
            self.kind,
            StateKind::AwaitingCredentials | StateKind::AwaitingInput | StateKind::AwaitingAccount
        )
    }

    /// Whether the flow has a timer: a scheduled list retry, a session that
    /// expires while the person is asked something, or a code.
    fn deadline(&self) -> bool {
        match self.kind {
            StateKind::LoadingInstitutions => self.pending.is_none(),
            StateKind::Linked => true,
            _ => self.person_state() && self.session_expires,
        }
    }

    fn go(&mut self, kind: StateKind) {
        self.kind = kind;
        self.pending = None;
    }

    fn call(&mut self, kind: StateKind, call: CallKind) {
        self.kind = kind;
        self.pending = Some(call);
        self.emitted = Some(call);
        self.calls += 1;
    }

    fn fail(&mut self) {
        self.go(StateKind::Failed);
    }

    fn start_session(&mut self, target: (usize, AuthMethodKind), renewal: bool) {
        if self.sessions >= self.config.max_sessions {
            return self.fail();
        }
        self.sessions += 1;
        self.target = Some(target);
        self.renewal = renewal;
        self.call(StateKind::CreatingSession, CallKind::CreateSession);
    }

    fn session_expired(&mut self) {
        if self.renewals >= self.config.max_renewals {
            return self.fail();
        }
        self.renewals += 1;
        let target = self.target.clone().expect("a session has a target");
        self.start_session(target, true);
    }

    /// A failed login/commit/session/exchange call; true when it was one too many.
    fn transport_failed(&mut self) -> bool {
        self.transport = self.transport.saturating_add(1);
        if self.transport >= self.config.max_transport_failures {
            self.fail();
            true
        } else {
            false
        }
    }

    fn back_to_list(&mut self) {
        // Sessions only exist once the catalogue is loaded, and the model
        // never restores without it, so Back never refetches the list.
        assert!(self.catalogue);
        self.go(StateKind::ChoosingInstitution);
    }

    fn round(&mut self, kind: StateKind) {
        self.rounds = self.rounds.saturating_add(1);
        if self.rounds > self.config.max_rounds {
            self.fail()
        } else {
            self.go(kind)
        }
    }

    /// Where a login or commit sends the person back to.
    fn back_to_screen(&mut self) {
        match (self.pending, self.origin) {
            (Some(CallKind::Login), _) => self.go(StateKind::AwaitingCredentials),
            (_, Origin::Input) => self.go(StateKind::AwaitingInput),
            (_, Origin::Account) => self.go(StateKind::AwaitingAccount),
        }
    }

    fn catalogue_loaded(&mut self) {
        self.catalogue = true;
        match self.config.institution.clone() {
            Some(p) if !self.preselect_tried => {
                self.preselect_tried = true;
                let inst = (0..2).find(|i| institution(*i).0 == p.id);
                let method = match (inst, p.auth_method) {
                    (Some(i), None) => Some(institution(i).1[0].0.clone()),
                    (Some(i), Some(m)) => offered(i, &m).map(|_| m),
                    (None, _) => None,
                };
                match (inst, method) {
                    (Some(i), Some(m)) => self.start_session((i, m), false),
                    _ => self.go(StateKind::ChoosingInstitution),
                }
            }
            _ => self.go(StateKind::ChoosingInstitution),
        }
    }

    /// Every transition the model accepts as an input now (refused ones
    /// included: the real flow must refuse them), with a weight.
    fn candidates(&self) -> Vec<(u32, Transition)> {
        use Transition as T;
        let mut v: Vec<(u32, Transition)> = Vec::new();
        let stale = self.calls > u32::from(self.pending.is_some());
        if stale {
            v.push((1, T::Stale));
        }
        v.push((1, T::Tick));
        if self.kind.is_terminal() {
            v.extend([T::Exit, T::Back, T::Retry, T::SubmitValid].map(|t| (1, t)));
            return v;
        }
        v.push((1, T::Exit));
        match self.pending {
            Some(CallKind::ListInstitutions) => v.push((40, T::Institutions)),
            Some(CallKind::CreateSession) => {
                for expires in [true, false] {
                    for form in [true, false] {
                        v.push((8, T::Session { expires, form }));
                    }
                }
            }
            Some(CallKind::Login | CallKind::Commit) => {
                v.extend([
                    (10, T::Code),
                    (8, T::Mfa),
                    (5, T::Accounts(1)),
                    (5, T::Accounts(3)),
                    (1, T::NoAccounts),
                    (2, T::RejectRetry),
                    (1, T::RejectFinal),
                    (1, T::RejectExpired),
                ]);
            }
            Some(CallKind::ExchangeCode) => v.push((12, T::Exchanged)),
            _ => {}
        }
        if self.pending.is_some() {
            v.extend(FAULTS.map(|f| (1, T::Fail(f))));
            v.push((1, T::WrongShape));
        }
        if self.deadline() {
            v.push((3, T::Deadline));
        }
        match self.kind {
            StateKind::ChoosingInstitution => {
                for inst in 0..2 {
                    v.push((8, T::Choose { inst, method: None }));
                    v.extend(METHODS.map(|m| {
                        (
                            1,
                            T::Choose {
                                inst,
                                method: Some(m),
                            },
                        )
                    }));
                }
                v.push((1, T::ChooseUnknown));
            }
            StateKind::AwaitingCredentials | StateKind::AwaitingInput => {
                v.extend([(30, T::SubmitValid), (1, T::SubmitInvalid)]);
            }
            StateKind::AwaitingAccount => v.extend((0..4).map(|i| (8, T::ChooseAccount(i)))),
            StateKind::Linked => v.push((10, T::Retry)),
            _ => {}
        }
        if self.person_state() {
            v.extend(METHODS.map(|m| (1, T::Switch(m))));
        }
        v.push((1, T::Back));
        // Refused where they do not apply: a submit, a pick or a retry on
        // the wrong screen.
        v.extend([(1, T::SubmitValid), (1, T::ChooseAccount(0)), (1, T::Retry)]);
        v
    }

    fn step(mut self, t: &Transition) -> Model {
        use Transition as T;
        self.emitted = None;
        self.refused = false;
        let kind = self.kind;
        let pending = self.pending;
        let refuse = |mut m: Model| {
            m.refused = true;
            m
        };
        if kind.is_terminal() {
            return match t {
                T::Tick | T::Deadline => self,
                _ => refuse(self),
            };
        }
        match t {
            T::Stale => return refuse(self),
            T::Tick => {}
            T::Exit => self.go(StateKind::Exited),
            T::Deadline => match kind {
                StateKind::LoadingInstitutions => {
                    self.call(kind, CallKind::ListInstitutions);
                }
                StateKind::Linked => self.fail(),
                _ => self.session_expired(),
            },
            // -- replies
            T::WrongShape => self.fail(),
            T::Fail(Fault::Unauthorized) => self.fail(),
            T::Fail(f) => match pending {
                Some(CallKind::ListInstitutions) => {
                    let attempt = self.list_failures.saturating_add(1);
                    if f.transient() && attempt <= self.config.max_read_retries {
                        self.list_failures = attempt;
                        self.go(StateKind::LoadingInstitutions);
                    } else {
                        self.fail();
                    }
                }
                Some(CallKind::CreateSession) => {
                    if !self.transport_failed() {
                        self.back_to_list();
                    }
                }
                Some(CallKind::Login | CallKind::Commit) => {
                    if !self.transport_failed() {
                        self.back_to_screen();
                    }
                }
                Some(CallKind::ExchangeCode) => {
                    if !f.transient() {
                        self.fail();
                    } else if !self.transport_failed() {
                        self.go(StateKind::Linked);
                    }
                }
                _ => unreachable!("no call in flight"),
            },
            T::Institutions => self.catalogue_loaded(),
            T::Session { expires, form } => {
                let (inst, method) = self.target.clone().expect("target");
                if *form || offered(inst, &method) == Some(true) {
                    self.session_expires = *expires;
                    self.go(StateKind::AwaitingCredentials);
                } else {
                    self.fail();
                }
            }
            T::Code => {
                if self.config.exchange_code {
                    self.call(StateKind::Exchanging, CallKind::ExchangeCode);
                } else {
                    self.go(StateKind::Done);
                }
            }
            T::Mfa => self.round(StateKind::AwaitingInput),
            T::Accounts(n) => {
                self.accounts = *n;
                self.round(StateKind::AwaitingAccount);
            }
            T::NoAccounts | T::RejectFinal => self.fail(),
            T::RejectRetry => {
                let (count, max) = if pending == Some(CallKind::Login) {
                    self.login_rejections += 1;
                    (self.login_rejections, self.config.max_login_attempts)
                } else {
                    self.mfa_rejections += 1;
                    (self.mfa_rejections, self.config.max_mfa_attempts)
                };
                if count >= max {
                    self.fail();
                } else {
                    self.back_to_screen();
                }
            }
            T::RejectExpired => self.session_expired(),
            T::Exchanged => self.go(StateKind::Done),
            // -- the person
            T::Choose { inst, method } if kind == StateKind::ChoosingInstitution => {
                let method = match method {
                    None => Some(institution(*inst).1[0].0.clone()),
                    Some(m) => offered(*inst, m).map(|_| m.clone()),
                };
                match method {
                    Some(m) => self.start_session((*inst, m), false),
                    None => return refuse(self),
                }
            }
            T::SubmitValid if kind == StateKind::AwaitingCredentials => {
                self.call(StateKind::LoggingIn, CallKind::Login);
            }
            T::SubmitValid if kind == StateKind::AwaitingInput => {
                self.origin = Origin::Input;
                self.call(StateKind::Committing, CallKind::Commit);
            }
            T::ChooseAccount(i) if kind == StateKind::AwaitingAccount && *i < self.accounts => {
                self.origin = Origin::Account;
                self.call(StateKind::Committing, CallKind::Commit);
            }
            T::Switch(m) if self.person_state() => {
                let (inst, current) = self.target.clone().expect("target");
                if *m == current || offered(inst, m).is_none() {
                    return refuse(self);
                }
                self.start_session((inst, m.clone()), false);
            }
            T::Back
                if matches!(
                    kind,
                    StateKind::CreatingSession
                        | StateKind::AwaitingCredentials
                        | StateKind::LoggingIn
                        | StateKind::AwaitingInput
                        | StateKind::AwaitingAccount
                        | StateKind::Committing
                ) =>
            {
                self.back_to_list()
            }
            T::Retry if kind == StateKind::Linked => {
                self.call(StateKind::Exchanging, CallKind::ExchangeCode);
            }
            // Anything else is the wrong input for this screen.
            T::Choose { .. }
            | T::ChooseUnknown
            | T::SubmitValid
            | T::SubmitInvalid
            | T::ChooseAccount(_)
            | T::Switch(_)
            | T::Back
            | T::Retry => return refuse(self),
        }
        self
    }
}

struct FlowModel;

impl ReferenceStateMachine for FlowModel {
    type State = Model;
    type Transition = Transition;

    /// A random config: limits 1..=4, exchange on or off, maybe a
    /// preselected institution (known, known with a method, or unknown).
    fn init_state() -> BoxedStrategy<Model> {
        (
            (
                1u8..=4,
                1u8..=4,
                1u8..=4,
                1u8..=4,
                1u8..=4,
                1u8..=4,
                1u8..=4,
            ),
            prop::bool::weighted(0.8),
            0u8..6,
        )
            .prop_map(|(limits, exchange, preselect)| {
                let (login, mfa, rounds, sessions, renewals, transport, reads) = limits;
                let config = FlowConfig {
                    max_login_attempts: login,
                    max_mfa_attempts: mfa,
                    max_rounds: rounds,
                    max_sessions: sessions,
                    max_renewals: renewals,
                    max_transport_failures: transport,
                    max_read_retries: reads,
                    exchange_code: exchange,
                    ..FlowConfig::default()
                };
                let config = match preselect {
                    0 => config.with_institution("demo-bank", None),
                    1 => config.with_institution("ussd-bank", Some(AuthMethodKind::Manual)),
                    2 => config.with_institution("ussd-bank", Some(AuthMethodKind::MobileBanking)),
                    3 => config.with_institution("gone-bank", None),
                    _ => config,
                };
                Model::new(config)
            })
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Transition> {
        let weighted: Vec<Transition> = state
            .candidates()
            .into_iter()
            .flat_map(|(w, t)| std::iter::repeat_n(t, w as usize))
            .collect();
        prop::sample::select(weighted).boxed()
    }

    fn preconditions(state: &Model, t: &Transition) -> bool {
        state.candidates().iter().any(|(_, c)| c == t)
    }

    fn apply(state: Model, t: &Transition) -> Model {
        state.step(t)
    }
}

// ---- the real flow --------------------------------------------------------------------

struct Real {
    flow: ConnectFlow,
    catalogue: Arc<Catalogue>,
    now: Timestamp,
    issued: Vec<RequestId>,
    /// The effects the last transition produced.
    effects: Vec<Effect>,
    sessions: u32,
}

impl Real {
    fn drain(&mut self) {
        self.effects.clear();
        while let Some(effect) = self.flow.poll_effect() {
            let Effect::Call { id, .. } = &effect else {
                panic!("unknown effect {effect:?}")
            };
            self.issued.push(*id);
            self.effects.push(effect);
        }
        while self.flow.poll_event().is_some() {}
    }

    fn reply(&mut self, result: Result<Reply, CallError>) -> Result<(), FlowError> {
        let id = self.flow.waiting_for().expect("a call in flight");
        self.flow.handle(self.now, Input::Api { id, result })
    }

    fn step(&mut self, step: Step) -> Result<(), FlowError> {
        self.reply(Ok(Reply::Step(step)))
    }

    fn user(&mut self, action: UserAction) -> Result<(), FlowError> {
        self.flow.handle(self.now, Input::User(action))
    }

    fn form_values(&self) -> Values {
        match self.flow.view() {
            View::Form(f) => sample_values(f.form),
            _ => Values::new().with("username", "ada"),
        }
    }
}

fn accounts(n: usize) -> Vec<Account> {
    (0..n)
        .map(|i| Account::new(format!("01318834{i:02}"), "ADA OBI"))
        .collect()
}

fn rejection(kind: RejectionKind) -> Step {
    Step::Rejected(Rejection {
        message: "no".into(),
        kind,
        code: None,
    })
}

struct FlowTest;

impl StateMachineTest for FlowTest {
    type SystemUnderTest = Real;
    type Reference = FlowModel;

    fn init_test(model: &Model) -> Real {
        let mut real = Real {
            flow: ConnectFlow::new(model.config.clone(), T0),
            catalogue: catalogue(),
            now: T0,
            issued: Vec::new(),
            effects: Vec::new(),
            sessions: 0,
        };
        real.drain();
        real
    }

    fn apply(mut real: Real, model: &Model, t: Transition) -> Real {
        use Transition as T;
        let pending_call = real.flow.waiting_for();
        let result = match &t {
            T::Institutions => real.reply(Ok(Reply::Institutions(Arc::clone(&real.catalogue)))),
            T::Session { expires, form } => {
                real.sessions += 1;
                let info = SessionInfo {
                    id: format!("sess-{}", real.sessions),
                    expires_at: expires.then(|| real.now.plus_ms(FIVE_MIN)),
                    form: form.then(|| {
                        Form::new(
                            "Log in",
                            vec![
                                Field::input("username", "Username"),
                                Field::password("password", "Password"),
                            ],
                        )
                    }),
                    institution: None,
                };
                real.reply(Ok(Reply::SessionCreated(info)))
            }
            T::Code => real.step(Step::code("code_1")),
            T::Mfa => real.step(Step::needs_input(Form::new(
                "Enter OTP",
                vec![Field::input("otp", "OTP").max_length(6)],
            ))),
            T::Accounts(n) => real.step(Step::choose_account(accounts(*n))),
            T::NoAccounts => real.step(Step::choose_account(Vec::new())),
            T::RejectRetry => real.step(rejection(RejectionKind::Retry)),
            T::RejectFinal => real.step(rejection(RejectionKind::Final)),
            T::RejectExpired => real.step(rejection(RejectionKind::SessionExpired)),
            T::Exchanged => real.reply(Ok(Reply::Exchanged {
                account_id: "acc_1".into(),
            })),
            T::Fail(f) => real.reply(Err(f.error())),
            T::WrongShape => {
                let wrong = match model_pending_before(&real) {
                    Some(CallKind::ListInstitutions) | Some(CallKind::ExchangeCode) => {
                        Reply::Step(Step::code("code_x"))
                    }
                    _ => Reply::Institutions(Arc::clone(&real.catalogue)),
                };
                real.reply(Ok(wrong))
            }
            T::Stale => {
                let id = *real
                    .issued
                    .iter()
                    .find(|id| Some(**id) != pending_call)
                    .expect("an old id");
                real.flow.handle(
                    real.now,
                    Input::Api {
                        id,
                        result: Err(CallError::Timeout),
                    },
                )
            }
            T::Deadline => {
                let at = real.flow.poll_timeout().expect("a deadline");
                real.now = real.now.max(at);
                real.flow.handle_timeout(real.now);
                Ok(())
            }
            T::Tick => {
                real.flow.handle_timeout(real.now);
                Ok(())
            }
            T::Choose { inst, method } => real.user(UserAction::ChooseInstitution {
                id: institution(*inst).0.into(),
                auth_method: method.clone(),
            }),
            T::ChooseUnknown => real.user(UserAction::ChooseInstitution {
                id: "no-such-bank".into(),
                auth_method: None,
            }),
            T::SubmitValid => {
                let values = real.form_values();
                real.user(UserAction::Submit(values))
            }
            T::SubmitInvalid => real.user(UserAction::Submit(Values::new())),
            T::ChooseAccount(i) => real.user(UserAction::ChooseAccount(*i)),
            T::Switch(m) => real.user(UserAction::SwitchAuthMethod(m.clone())),
            T::Back => real.user(UserAction::Back),
            T::Retry => real.user(UserAction::Retry),
            T::Exit => real.user(UserAction::Exit),
        };
        assert_eq!(
            result.is_err(),
            model.refused,
            "{t:?}: flow said {result:?}, model refused = {}",
            model.refused
        );
        real.drain();
        real
    }

    fn check_invariants(real: &Real, model: &Model) {
        assert_eq!(
            real.flow.state(),
            model.kind,
            "state kind; model {model:#?}"
        );
        let emitted: Vec<CallKind> = real
            .effects
            .iter()
            .map(|e| match e {
                Effect::Call { call, .. } => call.kind(),
                other => panic!("unknown effect {other:?}"),
            })
            .collect();
        assert_eq!(
            emitted,
            model.emitted.into_iter().collect::<Vec<_>>(),
            "effects; model {model:#?}"
        );
        assert_eq!(
            real.flow.waiting_for().is_some(),
            model.pending.is_some(),
            "waiting for a reply"
        );
        if let (Some(Effect::Call { id, .. }), Some(waiting)) =
            (real.effects.first(), real.flow.waiting_for())
        {
            assert_eq!(*id, waiting, "the effect is the call waited for");
        }
        assert_eq!(
            real.flow.poll_timeout().is_some(),
            model.deadline(),
            "deadline in {:?}",
            model.kind
        );
        assert_eq!(real.flow.view().is_terminal(), model.kind.is_terminal());
    }
}

/// The kind of call in flight, from the real flow's state (for choosing a
/// reply of the wrong shape).
fn model_pending_before(real: &Real) -> Option<CallKind> {
    match real.flow.state() {
        StateKind::LoadingInstitutions => Some(CallKind::ListInstitutions),
        StateKind::CreatingSession => Some(CallKind::CreateSession),
        StateKind::LoggingIn => Some(CallKind::Login),
        StateKind::Committing => Some(CallKind::Commit),
        StateKind::Exchanging => Some(CallKind::ExchangeCode),
        _ => None,
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig::default())]

    /// The real flow follows the reference model: after every transition
    /// (replies of every outcome, stale replies, deadlines, every person
    /// action, refused ones included) its state kind, the call it made, the
    /// call it waits for and its deadline are the model's, and it refuses
    /// exactly what the model refuses.
    #[test]
    fn flow_follows_the_reference_model(sequential 1..40 => FlowTest);
}
