//! Golden transcripts of the canonical flows: the exact sequence of states,
//! effects and events, compared against the written lists in `tests/golden/`.
//!
//! A change in behaviour shows up as a diff of those files. To accept an
//! intended change, run `UPDATE_GOLDEN=1 cargo test --test golden` and review
//! the diff before committing it.

#![cfg(feature = "testing")]

use connectflow::flow::*;
use connectflow::form::{Field, Form, Values};
use connectflow::testing::catalogues;
use std::sync::Arc;

const T0: Timestamp = Timestamp(1_700_000_000_000);
const FIVE_MIN: u64 = 5 * 60 * 1000;

/// Drives a flow with scripted partner replies and writes down everything.
struct Transcript {
    flow: ConnectFlow,
    now: Timestamp,
    pending: Option<RequestId>,
    lines: Vec<String>,
}

impl Transcript {
    fn new(config: FlowConfig) -> Self {
        let mut t = Transcript {
            flow: ConnectFlow::new(config, T0),
            now: T0,
            pending: None,
            lines: vec!["new".into()],
        };
        t.drain();
        t
    }

    fn drain(&mut self) {
        while let Some(event) = self.flow.poll_event() {
            let json = serde_json::to_string(&event.kind).unwrap();
            self.lines.push(format!("  event  {json}"));
        }
        while let Some(Effect::Call { id, call }) = self.flow.poll_effect() {
            self.lines
                .push(format!("  effect {id} {}", describe(&call)));
            self.pending = Some(id);
        }
        self.lines.push(format!("  state  {:?}", self.flow.state()));
    }

    fn user(&mut self, label: &str, action: UserAction) -> &mut Self {
        self.lines.push(format!("> {label}"));
        if let Err(e) = self.flow.handle(self.now, Input::User(action)) {
            self.lines.push(format!("  error  {e}"));
        }
        self.drain();
        self
    }

    fn reply(&mut self, label: &str, result: Result<Reply, CallError>) -> &mut Self {
        let id = self.pending.take().expect("a call in flight");
        self.lines.push(format!("< {label}"));
        self.flow
            .handle(self.now, Input::Api { id, result })
            .unwrap();
        self.drain();
        self
    }

    fn wait_for_deadline(&mut self) -> &mut Self {
        let at = self.flow.poll_timeout().expect("a deadline");
        self.lines
            .push(format!("~ deadline +{}ms", self.now.until(at)));
        self.now = at;
        self.flow.handle_timeout(at);
        self.drain();
        self
    }

    fn institutions(&mut self) -> &mut Self {
        self.reply(
            "institutions",
            Ok(Reply::Institutions(Arc::new(catalogues::gtbank()))),
        )
    }

    fn session(&mut self, id: &str) -> &mut Self {
        let info = SessionInfo {
            continuation: None,
            id: id.into(),
            expires_at: Some(self.now.plus_ms(FIVE_MIN)),
            form: None,
            institution: None,
        };
        self.reply(&format!("session {id}"), Ok(Reply::SessionCreated(info)))
    }

    fn step(&mut self, label: &str, step: Step) -> &mut Self {
        self.reply(label, Ok(Reply::Step(step)))
    }

    fn choose(&mut self, method: Option<&str>) -> &mut Self {
        self.user(
            &format!("choose gtbank {}", method.unwrap_or("(default)")),
            UserAction::ChooseInstitution {
                id: catalogues::GTBANK.into(),
                auth_method: method.map(AuthMethodKind::from),
            },
        )
    }

    fn login(&mut self, password: &str) -> &mut Self {
        self.user(
            "submit username, password",
            UserAction::Submit(
                Values::new()
                    .with("username", "ada")
                    .with("password", password),
            ),
        )
    }

    fn code_and_exchange(&mut self) -> &mut Self {
        self.step("99 code_abc", Step::code("code_abc")).reply(
            "exchanged",
            Ok(Reply::Exchanged {
                account_id: "acc_123".into(),
            }),
        )
    }

    fn check(&self, name: &str) {
        let actual = self.lines.join("\n") + "\n";
        // Rule 6, on every transcript: no typed secret ever reaches an event.
        assert!(
            !actual.contains("hunter2") && !actual.contains("123456"),
            "a secret leaked:\n{actual}"
        );
        let path = format!("{}/tests/golden/{name}.txt", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {path}"));
        assert_eq!(actual, expected, "transcript {name} differs from {path}");
    }
}

fn describe(call: &Call) -> String {
    let names = |v: &Values| {
        v.iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    match call {
        Call::ListInstitutions => "ListInstitutions".into(),
        Call::CreateSession {
            institution,
            auth_method,
            ..
        } => format!("CreateSession {institution} {auth_method}"),
        Call::Login {
            session, values, ..
        } => format!("Login {} [{}]", session.id, names(values)),
        Call::Commit {
            session,
            values,
            account,
        } => {
            let pick = account
                .as_ref()
                .map(|a| format!(" account#{}={}", a.index, a.number))
                .unwrap_or_default();
            format!("Commit {} [{}]{pick}", session.id, names(values))
        }
        Call::ExchangeCode { code } => format!("ExchangeCode {code}"),
        other => format!("{other:?}"),
    }
}

fn otp_form() -> Form {
    Form::new(
        "Enter OTP",
        vec![Field::input("otp", "OTP sent to 080...").max_length(6)],
    )
}

fn question_form() -> Form {
    Form::new(
        "Security question",
        vec![Field::password("answer", "What city were you born in?")],
    )
}

fn accounts() -> Vec<Account> {
    ["0131883461", "0131883462", "0131883463"]
        .iter()
        .map(|n| Account::new(*n, "ADA OBI"))
        .collect()
}

fn config() -> FlowConfig {
    FlowConfig::default().with_reference("ref-1")
}

#[test]
fn happy_path_single_account() {
    let mut t = Transcript::new(config());
    t.institutions()
        .choose(None)
        .session("s1")
        .login("hunter2")
        .code_and_exchange();
    t.check("happy_path");
}

#[test]
fn multi_account() {
    let mut t = Transcript::new(config());
    t.institutions().choose(None).session("s1").login("hunter2");
    t.step("101 three accounts", Step::choose_account(accounts()))
        .user("pick account 1", UserAction::ChooseAccount(1))
        .code_and_exchange();
    t.check("multi_account");
}

#[test]
fn otp_then_account_selection() {
    let mut t = Transcript::new(config());
    t.institutions().choose(None).session("s1").login("hunter2");
    t.step("102 otp", Step::needs_input(otp_form()))
        .user(
            "submit otp",
            UserAction::Submit(Values::new().with("otp", "123456")),
        )
        .step("101 three accounts", Step::choose_account(accounts()))
        .user("pick account 0", UserAction::ChooseAccount(0))
        .code_and_exchange();
    t.check("otp_then_account");
}

#[test]
fn two_mfa_rounds() {
    let mut t = Transcript::new(config());
    t.institutions().choose(None).session("s1").login("hunter2");
    t.step("102 otp", Step::needs_input(otp_form()))
        .user(
            "submit otp",
            UserAction::Submit(Values::new().with("otp", "123456")),
        )
        .step("102 question", Step::needs_input(question_form()))
        .user(
            "submit answer",
            UserAction::Submit(Values::new().with("answer", "Montreal")),
        )
        .code_and_exchange();
    t.check("two_mfa_rounds");
}

/// The login form again after a wrong password: the username offered
/// again, the password not kept, and the refusal with the tries left.
fn assert_login_again(t: &Transcript) {
    match t.flow.view() {
        View::Form(f) => {
            assert_eq!(f.prefill_for("username"), Some("ada"));
            assert_eq!(f.prefill_for("password"), None);
            assert_eq!(
                f.notice.unwrap().message(),
                "Invalid credentials (2 tries left)"
            );
        }
        other => panic!("expected the login form, got {other:?}"),
    }
}

#[test]
fn wrong_password_then_success() {
    let mut t = Transcript::new(config());
    t.institutions().choose(None).session("s1").login("wrong");
    t.step(
        "400 Invalid credentials",
        Step::Rejected(Rejection::retry("Invalid credentials")),
    );
    // The username is offered again; the password is not kept.
    assert_login_again(&t);
    t.login("hunter2").code_and_exchange();
    t.check("wrong_password_then_success");
}

/// A refused login that spent its session (Flinks' single-use authorize
/// token): the flow opens a new session, then shows the form again with
/// the same notice, and the next login goes on the new session.
#[test]
fn wrong_password_on_a_spent_session_opens_a_new_one() {
    let mut t = Transcript::new(config());
    t.institutions().choose(None).session("s1").login("wrong");
    t.step(
        "401 INVALID_LOGIN (token spent)",
        Step::Rejected(Rejection::retry("Invalid credentials").spending_session()),
    );
    assert!(
        matches!(t.flow.view(), View::Working { .. }),
        "{:?}",
        t.flow.view()
    );
    t.session("s2");
    assert_login_again(&t);
    t.login("hunter2").code_and_exchange();
    t.check("wrong_password_on_a_spent_session");
}

/// A refusal at the status poll that follows an MFA answer, even one that
/// spent the partner's session, goes back to that question: only a
/// refused login opens a new session (its login form would throw away the
/// MFA round the person is in).
#[test]
fn a_spent_refusal_after_an_mfa_answer_goes_back_to_the_question() {
    let mut t = Transcript::new(config());
    t.institutions().choose(None).session("s1").login("hunter2");
    t.step("102 otp", Step::needs_input(otp_form())).user(
        "submit otp",
        UserAction::Submit(Values::new().with("otp", "123456")),
    );
    t.step(
        "202 pending",
        Step::Pending {
            poll_after_ms: 10,
            give_up_after_ms: 60_000,
            continuation: Some(connectflow::flow::Continuation::new("req-1")),
        },
    )
    .wait_for_deadline();
    t.step(
        "401 on the poll (token spent)",
        Step::Rejected(Rejection::retry("Wrong code").spending_session()),
    );
    match t.flow.view() {
        View::Form(f) => {
            assert!(
                f.form.fields.iter().any(|field| field.name == "otp"),
                "{f:?}"
            );
            assert!(f.notice.is_some());
        }
        other => panic!("expected the OTP form again, got {other:?}"),
    }
}

#[test]
fn locked_account() {
    let mut t = Transcript::new(config());
    t.institutions().choose(None).session("s1").login("hunter2");
    t.step(
        "400 Account locked",
        Step::Rejected(Rejection::terminal("Your account has been locked")),
    );
    match t.flow.view() {
        View::Failed { failure, retryable } => {
            assert_eq!(failure.message(), "Your account has been locked");
            assert!(!retryable);
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    t.user("submit again", UserAction::Submit(Values::new()));
    t.check("locked_account");
}

#[test]
fn session_expired_then_renewed() {
    let mut t = Transcript::new(config());
    t.institutions()
        .choose(None)
        .session("s1")
        .wait_for_deadline()
        .session("s2");
    match t.flow.view() {
        View::Form(f) => assert_eq!(
            f.notice.unwrap().message(),
            "Your session expired. Please log in again."
        ),
        other => panic!("expected the login form, got {other:?}"),
    }
    t.login("hunter2").code_and_exchange();
    t.check("session_expired_then_renewed");
}

#[test]
fn switch_auth_method() {
    let mut t = Transcript::new(config());
    t.institutions()
        .choose(Some("internet_banking"))
        .session("s1");
    t.user(
        "switch to mobile_banking",
        UserAction::SwitchAuthMethod(AuthMethodKind::MobileBanking),
    )
    .session("s2")
    .user(
        "submit accountNo, pin (pin too long)",
        UserAction::Submit(
            Values::new()
                .with("accountNo", "0131883461")
                .with("pin", "12345"),
        ),
    )
    .user(
        "submit accountNo, pin",
        UserAction::Submit(
            Values::new()
                .with("accountNo", "0131883461")
                .with("pin", "1234"),
        ),
    )
    .code_and_exchange();
    t.check("switch_auth_method");
}

#[test]
fn back_and_exit_mid_mfa() {
    let mut t = Transcript::new(config());
    t.institutions().choose(None).session("s1").login("hunter2");
    t.step("102 otp", Step::needs_input(otp_form()))
        .user("back", UserAction::Back)
        .choose(None)
        .session("s2")
        .login("hunter2")
        .step("102 otp", Step::needs_input(otp_form()))
        .user("exit", UserAction::Exit)
        .user("back after exit", UserAction::Back);
    t.check("back_and_exit_mid_mfa");
}
