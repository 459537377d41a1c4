//! The reference model: the connect flow's transition table over abstract
//! state only — the state kind, the call in flight and the counters the
//! config bounds — written from DESIGN.md's lifecycle and the documented
//! behaviour of `ConnectFlow`, not from its code.

use crate::transitions::{self, Fault, Transition};
use connectflow::flow::*;
use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;

// ---- the model's view of the catalogue ------------------------------------------

/// Institutions, as the model knows them: id and (method, has a catalogue
/// login form). Index 0 is the demo bank; index 1 a USSD bank whose manual
/// method has no form.
pub(crate) fn institution(i: usize) -> (&'static str, Vec<(AuthMethodKind, bool)>) {
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

/// Whether `inst` offers `method`: `None` if not, else whether the
/// catalogue has its login form.
pub(crate) fn offered(inst: usize, method: &AuthMethodKind) -> Option<bool> {
    institution(inst)
        .1
        .into_iter()
        .find(|(m, _)| m == method)
        .map(|(_, form)| form)
}

/// What a commit answered: an MFA form or an account pick. A retryable
/// rejection sends the person back to that screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Input,
    Account,
}

/// The model's whole state: where the flow is, what it waits for, and what
/// the config's limits have used up.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub(crate) config: FlowConfig,
    pub(crate) kind: StateKind,
    /// The call in flight.
    pub(crate) pending: Option<CallKind>,
    /// The call the last transition made, if any.
    pub(crate) emitted: Option<CallKind>,
    /// The last transition must be refused (and change nothing).
    pub(crate) refused: bool,
    /// Calls made so far (for stale ids).
    pub(crate) calls: u32,
    pub(crate) catalogue: bool,
    pub(crate) preselect_tried: bool,
    /// Chosen institution and method.
    pub(crate) target: Option<(usize, AuthMethodKind)>,
    pub(crate) session_expires: bool,
    pub(crate) renewal: bool,
    pub(crate) accounts: usize,
    pub(crate) origin: Origin,
    // The counters the config bounds; per flow, never reset.
    pub(crate) list_failures: u8,
    pub(crate) login_rejections: u8,
    pub(crate) mfa_rejections: u8,
    pub(crate) rounds: u8,
    pub(crate) sessions: u8,
    pub(crate) renewals: u8,
    pub(crate) transport: u8,
}

impl Model {
    pub(crate) fn new(config: FlowConfig) -> Model {
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

    pub(crate) fn person_state(&self) -> bool {
        matches!(
            self.kind,
            StateKind::AwaitingCredentials | StateKind::AwaitingInput | StateKind::AwaitingAccount
        )
    }

    /// Whether the flow has a timer: a scheduled list retry, a session that
    /// expires while the person is asked something, or a code.
    pub(crate) fn deadline(&self) -> bool {
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
        // Checked before counting: a count saturating at 255 never passes a
        // limit of 255 (finding of 2026-12-04, rule 5).
        if self.rounds >= self.config.max_rounds {
            self.fail()
        } else {
            self.rounds += 1;
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

    pub(crate) fn step(mut self, t: &Transition) -> Model {
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
                    // Past 255 failures is past every limit (no saturating
                    // count that a limit of 255 never exceeds).
                    let attempt = self.list_failures.checked_add(1);
                    if let Some(attempt) =
                        attempt.filter(|a| f.transient() && *a <= self.config.max_read_retries)
                    {
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

/// The reference model as proptest-state-machine drives it.
pub(crate) struct FlowModel;

impl ReferenceStateMachine for FlowModel {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        transitions::config().prop_map(Model::new).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Transition> {
        transitions::weighted(state)
    }

    fn preconditions(state: &Model, t: &Transition) -> bool {
        transitions::candidates(state).iter().any(|(_, c)| c == t)
    }

    fn apply(state: Model, t: &Transition) -> Model {
        state.step(t)
    }
}
