//! The login loop, per user: each test user's steps, retries, the mixed
//! commit, and lockouts (across sessions, per key).

use crate::app::{creds, exchanged_id, start, start_with, user, App, OTHER_KEY};
use connectflow::flow::{AuthMethodKind, CallError, Linked, RejectionKind, Step};
use connectflow::form::{ContentType, Values};
use connectflow::sandbox::{SandboxConfig, OTP, PASSWORD, SECURITY_ANSWER};
use std::time::{Duration, Instant};

#[tokio::test]
async fn each_user_through_internet_banking() {
    let (sandbox, app) = start_with(SandboxConfig {
        slow_delay: Duration::from_millis(300),
        ..SandboxConfig::default()
    })
    .await;
    let expected: [(&str, &[u64]); 6] = [
        ("user_good", &[99]),
        ("user_multi", &[101, 99]),
        ("user_otp", &[102, 99]),
        ("user_question", &[102, 99]),
        ("user_chain", &[102, 102, 101, 99]),
        ("user_slow", &[99]),
    ];
    for (name, sequence) in expected {
        let started = Instant::now();
        let (codes, code) = app.link_code("sandbox-bank", name, None).await;
        assert_eq!(codes, sequence, "{name}");
        assert!(code.starts_with("code_"), "{code}");
        if name == "user_slow" {
            assert!(started.elapsed() >= Duration::from_millis(300));
        }
    }

    // The individual steps, as the dialect reads them.
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let multi = app.login(&s.id, creds("user_multi", PASSWORD)).await;
    let Step::ChooseAccount { accounts, .. } = multi.step() else {
        panic!("{}", multi.body)
    };
    let numbers: Vec<&str> = accounts.iter().map(|a| a.number.as_str()).collect();
    assert_eq!(numbers, ["1000000002", "2000000002", "3000000002"]);
    assert!(accounts
        .iter()
        .all(|a| a.balance.is_some() && a.name == "CHIDI OKAFOR"));

    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let otp = app.login(&s.id, creds("user_otp", PASSWORD)).await;
    let Step::NeedsInput { form, .. } = otp.step() else {
        panic!("{}", otp.body)
    };
    let field = form.field("otp").expect("otp field");
    assert_eq!(field.max_length, Some(6));

    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let question = app.login(&s.id, creds("user_question", PASSWORD)).await;
    let Step::NeedsInput { form, .. } = question.step() else {
        panic!("{}", question.body)
    };
    assert_eq!(
        form.field("answer").map(|f| &f.content_type),
        Some(&ContentType::Password)
    );

    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let locked = app.login(&s.id, creds("user_locked", PASSWORD)).await;
    locked.assert_failed(400, "locked");
    assert_eq!(locked.code(), Some(400));
    match locked.step() {
        Step::Rejected(r) => assert_eq!(r.kind, RejectionKind::Final),
        other => panic!("{other:?}"),
    }

    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let down = app.login(&s.id, creds("user_down", PASSWORD)).await;
    down.assert_failed(503, "unavailable");
    assert!(matches!(
        down.reply,
        Err(CallError::Http { status: 503, .. })
    ));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn wrong_otp_and_answer_can_be_retried() {
    let (sandbox, app) = start().await;
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    assert_eq!(
        app.login(&s.id, creds("user_chain", PASSWORD)).await.code(),
        Some(102)
    );
    // Keys must match the last 102 form.
    app.commit(&s.id, Values::new().with("answer", SECURITY_ANSWER), None)
        .await
        .assert_failed(400, "Invalid input");
    let wrong = app
        .commit(&s.id, Values::new().with("otp", "000000"), None)
        .await;
    wrong.assert_failed(400, "Invalid OTP");
    match wrong.step() {
        Step::Rejected(r) => assert_eq!(r.kind, RejectionKind::Retry),
        other => panic!("{other:?}"),
    }
    let right = app
        .commit(&s.id, Values::new().with("otp", OTP), None)
        .await;
    assert_eq!(right.code(), Some(102));
    app.commit(&s.id, Values::new().with("answer", "Lagos"), None)
        .await
        .assert_failed(400, "Incorrect answer");
    // Case does not matter for the answer.
    let answered = app
        .commit(&s.id, Values::new().with("answer", "montreal"), None)
        .await;
    assert_eq!(answered.code(), Some(101));
    app.commit(&s.id, Values::new(), Some("9999999999"))
        .await
        .assert_failed(400, "Invalid account number");
    app.commit(&s.id, Values::new().with("otp", OTP), Some("2000000005"))
        .await
        .assert_failed(400, "Invalid input");
    let done = app.commit(&s.id, Values::new(), Some("2000000005")).await;
    assert_eq!(done.code(), Some(99));
    // The session is spent.
    app.commit(&s.id, Values::new(), Some("2000000005"))
        .await
        .assert_failed(400, "already");
    app.login(&s.id, creds("user_chain", PASSWORD))
        .await
        .assert_failed(400, "already");

    // A commit before any login is refused too.
    let fresh = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.commit(&fresh.id, Values::new().with("otp", OTP), None)
        .await
        .assert_failed(400, "Login required");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn mixed_commit_picks_the_account_with_the_answer() {
    let (sandbox, app) = start().await;
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.login(&s.id, creds("user_chain", PASSWORD)).await;
    app.commit(&s.id, Values::new().with("otp", OTP), None)
        .await;
    // v2 allows `{accountNumber, answer}`: the account list is then skipped.
    let done = app
        .commit(
            &s.id,
            Values::new().with("answer", SECURITY_ANSWER),
            Some("3000000005"),
        )
        .await;
    assert_eq!(done.code(), Some(99), "{}", done.body);
    let Step::Done(Linked::Code(code)) = done.step() else {
        panic!()
    };
    let id = exchanged_id(&app.exchange(&code).await);
    let details = app.get(&format!("/v2/accounts/{id}"), None).await;
    assert_eq!(details.body["data"]["account_number"], "3000000005");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn third_wrong_password_locks_the_user_across_sessions() {
    let (sandbox, app) = start().await;
    for attempt in 1..=2 {
        let s = app
            .session("sandbox-bank", AuthMethodKind::InternetBanking)
            .await;
        let wrong = app.login(&s.id, creds("user_otp", "nope")).await;
        wrong.assert_failed(400, "Invalid credentials");
        match wrong.step() {
            Step::Rejected(r) => assert_eq!(r.kind, RejectionKind::Retry, "try {attempt}"),
            other => panic!("{other:?}"),
        }
    }
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let third = app.login(&s.id, creds("user_otp", "nope")).await;
    third.assert_failed(400, "Invalid credentials");
    // The same session, right password: the lock is already in place.
    app.login(&s.id, creds("user_otp", PASSWORD))
        .await
        .assert_failed(400, "locked");
    // Locked for good, even with the right password and through another method.
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.login(&s.id, creds("user_otp", PASSWORD))
        .await
        .assert_failed(400, "Your account has been locked");
    let u = user("user_otp");
    let s = app.session("sandbox-bank", AuthMethodKind::Ussd).await;
    app.login(
        &s.id,
        Values::new()
            .with("accountNo", u.account_number)
            .with("pin", u.ussd_pin),
    )
    .await
    .assert_failed(400, "locked");
    // Other users, and the same user at another institution, are unaffected.
    assert_eq!(
        app.link_code("sandbox-bank", "user_good", None).await.0,
        [99]
    );
    assert_eq!(app.link_code("gtbank", "user_otp", None).await.0, [102, 99]);

    // Two wrong tries, then a right one, reset the count.
    for _ in 0..2 {
        let s = app
            .session("sandbox-bank", AuthMethodKind::InternetBanking)
            .await;
        app.login(&s.id, creds("user_question", "nope"))
            .await
            .assert_failed(400, "Invalid credentials");
    }
    assert_eq!(
        app.link_code("sandbox-bank", "user_question", None).await.0,
        [102, 99]
    );
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.login(&s.id, creds("user_question", "nope"))
        .await
        .assert_failed(400, "Invalid credentials");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_lockout_belongs_to_the_key_that_caused_it() {
    let (sandbox, app) = start().await;
    for _ in 0..3 {
        let s = app
            .session("sandbox-bank", AuthMethodKind::InternetBanking)
            .await;
        app.login(&s.id, creds("user_otp", "nope"))
            .await
            .assert_failed(400, "Invalid credentials");
    }
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.login(&s.id, creds("user_otp", PASSWORD))
        .await
        .assert_failed(400, "Your account has been locked");

    // Another app's customer with the same login is not locked out by it.
    let other = App::new(&sandbox, OTHER_KEY);
    assert_eq!(
        other.link_code("sandbox-bank", "user_otp", None).await.0,
        [102, 99]
    );
    // ... nor does that app's success unlock the user for the first one.
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.login(&s.id, creds("user_otp", PASSWORD))
        .await
        .assert_failed(400, "locked");
    sandbox.shutdown().await;
}
