//! The bank with no HTTP: per-key lockouts and caps, expiry, single-use codes,
//! stable ids; `capital` runs a Flinks-Capital-like user set as data alone.

mod capital;

use super::*;
use crate::flow::{Linked, RejectionKind};
use crate::form::Values;
use crate::sandbox::users::{self, OTP, PASSWORD};
use crate::sandbox::{captcha_answer, catalogue, SANDBOX_BANK, SANDBOX_CAPTCHA_BANK};

const A: &str = "test_sk_app_a";
const B: &str = "test_sk_app_b";
const IB: AuthMethodKind = AuthMethodKind::InternetBanking;

/// Deterministic "randomness": distinct, well-mixed values.
struct Counter(u128);

impl Entropy for Counter {
    fn next_bits(&mut self) -> u128 {
        self.0 += 1;
        self.0
            .wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
    }
}

fn bank_with(config: SandboxConfig, world: World) -> Bank {
    Bank::new(config, world, Box::new(Counter(0)))
}

fn mono(config: SandboxConfig) -> Bank {
    let world = World {
        institutions: catalogue::institutions(),
        personas: users::personas(),
        outcomes: catalogue::outcomes(),
    };
    bank_with(config, world)
}

fn creds(user: &str, password: &str) -> Values {
    Values::new()
        .with("username", user)
        .with("password", password)
}

fn open(bank: &mut Bank, key: &str, now: u64) -> String {
    match bank.open_session(key, SANDBOX_BANK, &IB, now) {
        Ok(info) => info.id,
        Err(e) => panic!("no session: {e}"),
    }
}

fn step(answer: Result<Answer, BankError>) -> Step {
    match answer {
        Ok(a) => a.step,
        Err(e) => panic!("expected a step, got {e}"),
    }
}

fn code(step: Step) -> String {
    match step {
        Step::Done(Linked::Code(code)) => code,
        other => panic!("expected a code, got {other:?}"),
    }
}

fn rejection(step: Step) -> Rejection {
    match step {
        Step::Rejected(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Links `user` (one account, no challenge) under `key`; the account id.
fn link(bank: &mut Bank, key: &str, user: &str, now: u64) -> String {
    let sid = open(bank, key, now);
    let code = code(step(bank.login(key, &sid, &creds(user, PASSWORD), now)));
    bank.exchange(key, &code, now)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_lockout_under_one_key_does_not_lock_the_user_for_another() {
    let mut bank = mono(SandboxConfig::default());
    for _ in 0..3 {
        let sid = open(&mut bank, A, 0);
        let refused = rejection(step(bank.login(A, &sid, &creds("user_otp", "nope"), 0)));
        assert_eq!(refused.kind, RejectionKind::Retry);
        assert_eq!(refused.code.as_deref(), Some(reason::WRONG_CREDENTIALS));
    }
    let sid = open(&mut bank, A, 0);
    let locked = rejection(step(bank.login(A, &sid, &creds("user_otp", PASSWORD), 0)));
    assert_eq!(
        (locked.kind, locked.message.as_str()),
        (RejectionKind::Final, LOCKED_MESSAGE)
    );

    let sid = open(&mut bank, B, 0);
    let otp = step(bank.login(B, &sid, &creds("user_otp", PASSWORD), 0));
    assert!(matches!(otp, Step::NeedsInput { .. }), "{otp:?}");
}

#[test]
fn the_session_cap_is_per_key_and_frees_up_on_finish_and_expiry() {
    let config = SandboxConfig {
        max_sessions_per_key: 2,
        session_ttl: Duration::from_millis(1000),
        ..SandboxConfig::default()
    };
    let mut bank = mono(config);
    let first = open(&mut bank, A, 0);
    open(&mut bank, A, 0);
    assert_eq!(
        bank.open_session(A, SANDBOX_BANK, &IB, 0),
        Err(BankError::TooManySessions {
            limit: 2,
            retry_after_ms: 1001
        })
    );
    // Another key has its own allowance.
    open(&mut bank, B, 0);

    // Finishing a session (its code issued) frees its slot.
    code(step(bank.login(
        A,
        &first,
        &creds("user_good", PASSWORD),
        10,
    )));
    open(&mut bank, A, 10);
    assert!(matches!(
        bank.open_session(A, SANDBOX_BANK, &IB, 20),
        Err(BankError::TooManySessions {
            retry_after_ms: 981,
            ..
        })
    ));
    // So does expiry: the second session (from 0) is over at 1001, the one
    // from 10 is not.
    open(&mut bank, A, 1001);
    assert!(bank.open_session(A, SANDBOX_BANK, &IB, 1002).is_err());
}

#[test]
fn sessions_expire_and_belong_to_their_key() {
    let config = SandboxConfig {
        session_ttl: Duration::from_millis(1000),
        ..SandboxConfig::default()
    };
    let mut bank = mono(config);
    let late = open(&mut bank, A, 0);
    let just_in_time = open(&mut bank, A, 0);
    let good = creds("user_good", PASSWORD);
    assert_eq!(
        bank.login(A, &late, &good, 1001),
        Err(BankError::SessionExpired)
    );
    assert_eq!(
        bank.commit(A, &late, &Values::new().with("otp", OTP), None, 1001),
        Err(BankError::SessionExpired)
    );
    assert_eq!(
        bank.login(B, &just_in_time, &good, 0),
        Err(BankError::SessionNotFound)
    );
    assert_eq!(
        bank.login(A, "no-such-session", &good, 0),
        Err(BankError::SessionNotFound)
    );
    code(step(bank.login(A, &just_in_time, &good, 1000)));
    assert_eq!(
        bank.login(A, &just_in_time, &good, 1000),
        Err(BankError::AlreadyCompleted)
    );
}

#[test]
fn codes_are_single_use_per_key_and_expire() {
    let config = SandboxConfig {
        code_ttl: Duration::from_millis(100),
        ..SandboxConfig::default()
    };
    let mut bank = mono(config);
    let sid = open(&mut bank, A, 0);
    let issued = code(step(bank.login(A, &sid, &creds("user_good", PASSWORD), 0)));
    // Another key can neither use nor burn it.
    assert_eq!(bank.exchange(B, &issued, 0), Err(BankError::CodeInvalid));
    assert!(bank.exchange(A, &issued, 100).is_ok());
    assert_eq!(bank.exchange(A, &issued, 100), Err(BankError::CodeInvalid));

    let sid = open(&mut bank, A, 0);
    let stale = code(step(bank.login(A, &sid, &creds("user_good", PASSWORD), 0)));
    assert_eq!(bank.exchange(A, &stale, 101), Err(BankError::CodeInvalid));
}

#[test]
fn account_ids_are_stable_per_login_and_account() {
    let mut bank = mono(SandboxConfig::default());
    let id = link(&mut bank, A, "user_good", 0);
    assert_eq!(link(&mut bank, A, "user_good", 5), id);
    // The id does not depend on the key; what each key may see does.
    assert_eq!(link(&mut bank, B, "user_good", 5), id);

    let sid = open(&mut bank, A, 0);
    bank.login(A, &sid, &creds("user_multi", PASSWORD), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    let picked = code(step(bank.commit(
        A,
        &sid,
        &Values::new(),
        Some("2000000002"),
        0,
    )));
    let other = bank
        .exchange(A, &picked, 0)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(other, id);
    let view = bank.account(A, &other).map(|v| v.account.number);
    assert_eq!(view.as_deref(), Some("2000000002"));

    assert!(bank.unlink(A, &id));
    assert!(bank.account(A, &id).is_none());
    assert!(bank.account(B, &id).is_some(), "B's link is its own");
    assert!(!bank.unlink(A, &id));
}

#[test]
fn a_slow_user_is_answered_with_a_delay_not_a_sleep() {
    let config = SandboxConfig {
        slow_delay: Duration::from_secs(7),
        ..SandboxConfig::default()
    };
    let mut bank = mono(config);
    let sid = open(&mut bank, A, 0);
    let answer = bank
        .login(A, &sid, &creds("user_slow", PASSWORD), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.delay, Some(Duration::from_secs(7)));
    code(answer.step);
}

#[test]
fn captchas_come_from_the_injected_entropy() {
    let session = |bank: &mut Bank| match bank.open_session(A, SANDBOX_CAPTCHA_BANK, &IB, 0) {
        Ok(info) => info,
        Err(e) => panic!("{e}"),
    };
    let (mut one, mut two) = (
        mono(SandboxConfig::default()),
        mono(SandboxConfig::default()),
    );
    let (first, again) = (session(&mut one), session(&mut two));
    assert_eq!(first, again, "same entropy, same session and captcha");
    let next = session(&mut one);
    assert_ne!(next.form, first.form, "a fresh captcha per session");

    let form = first.form.unwrap_or_else(|| panic!("a form"));
    let answer = captcha_answer(&form).unwrap_or_else(|| panic!("a captcha"));
    let listed = one
        .credentials(A, &first.id, 0)
        .map(|sets| sets[0].values.clone());
    assert!(listed.is_ok_and(|v| v.contains(&("captcha".to_owned(), answer.clone()))));
    let wrong = creds("user_good", PASSWORD).with("captcha", "22222");
    let refused = rejection(step(one.login(A, &first.id, &wrong, 0)));
    assert_eq!(refused.code.as_deref(), Some(reason::WRONG_CAPTCHA));
    let right = creds("user_good", PASSWORD).with("captcha", answer.to_lowercase());
    code(step(one.login(A, &first.id, &right, 0)));
}
