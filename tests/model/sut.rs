//! The system under test: the real `ConnectFlow`, driven by the same
//! transitions as the model, with the partner's replies made up to fit.

use crate::reference::{institution, FlowModel, Model};
use crate::transitions::Transition;
use connectflow::flow::explore::sample_values;
use connectflow::flow::*;
use connectflow::form::{Field, Form, Values};
use connectflow::testing::catalogues;
use proptest_state_machine::StateMachineTest;
use std::sync::Arc;

const T0: Timestamp = Timestamp(1_700_000_000_000);
const FIVE_MIN: u64 = 5 * 60 * 1000;

/// The flow, and what the host around it has seen.
pub(crate) struct Real {
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
    Step::Rejected(Rejection::new(kind, "no"))
}

pub(crate) struct FlowTest;

impl StateMachineTest for FlowTest {
    type SystemUnderTest = Real;
    type Reference = FlowModel;

    fn init_test(model: &Model) -> Real {
        let mut real = Real {
            flow: ConnectFlow::new(model.config.clone(), T0),
            catalogue: Arc::new(catalogues::demo_with_ussd_bank()),
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
                    continuation: None,
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
