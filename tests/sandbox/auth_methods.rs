//! Captcha and the other auth methods: the captcha bank, manual, USSD and
//! mobile banking, and the sandbox credentials offered for a session.

use crate::app::{creds, exchanged_id, start, user};
use connectflow::flow::{AuthMethodKind, Step};
use connectflow::form::{FieldKind, Form, Values};
use connectflow::sandbox::{captcha_answer, test_users, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn captcha_wrong_then_right() {
    let (sandbox, app) = start().await;
    let s = app
        .session("sandbox-captcha-bank", AuthMethodKind::InternetBanking)
        .await;
    let form: Form = s.form.clone().expect("session form");
    let field = form.field("captcha").expect("captcha field");
    assert_eq!(field.kind, FieldKind::Captcha);
    assert_eq!(field.length, Some(5));
    assert!(field
        .value
        .as_deref()
        .is_some_and(|v| v.starts_with("data:image/png;base64,iVBORw0KGgo")));
    let answer = captcha_answer(&form).expect("sandbox captcha convention");
    assert_eq!(answer.len(), 5);
    // Per session: another session gets another captcha.
    let other = app
        .session("sandbox-captcha-bank", AuthMethodKind::InternetBanking)
        .await;
    assert_ne!(
        other
            .form
            .as_ref()
            .and_then(|f| f.field("captcha"))
            .and_then(|f| f.value.clone()),
        field.value
    );

    let wrong = if answer == "AAAAA" { "BBBBB" } else { "AAAAA" };
    let refused = app
        .login(&s.id, creds("user_good", PASSWORD).with("captcha", wrong))
        .await;
    refused.assert_failed(400, "captcha");
    let missing = app.login(&s.id, creds("user_good", PASSWORD)).await;
    missing.assert_failed(400, "Invalid input");
    let ok = app
        .login(
            &s.id,
            creds("user_good", PASSWORD).with("captcha", answer.as_str()),
        )
        .await;
    assert_eq!(ok.code(), Some(99), "{}", ok.body);
    assert!(matches!(ok.step(), Step::Done { .. }));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn manual_ussd_and_mobile_behave_like_internet_banking() {
    let (sandbox, app) = start().await;
    let good = user("user_good");
    let ib_id = app.link("sandbox-bank", "user_good", None).await;

    // Manual: account number + any one identifier.
    for (kind, value) in [
        ("bvn", good.bvn),
        ("dob", good.date_of_birth),
        ("phone", good.phone),
        ("email", good.email),
    ] {
        let s = app.session("sandbox-bank", AuthMethodKind::Manual).await;
        let values = Values::new()
            .with("accountNo", good.account_number)
            .with("identifier", kind)
            .with("value", value);
        let first = app.login(&s.id, values).await;
        let (codes, code) = app.finish(&s.id, first, None).await;
        assert_eq!(codes, [99], "{kind}");
        // Same institution, user and account: the same id as internet banking.
        assert_eq!(exchanged_id(&app.exchange(&code).await), ib_id);
    }
    let s = app.session("sandbox-bank", AuthMethodKind::Manual).await;
    app.login(
        &s.id,
        Values::new()
            .with("accountNo", good.account_number)
            .with("identifier", "bvn")
            .with("value", "22299999999"),
    )
    .await
    .assert_failed(400, "Invalid credentials");

    // USSD: user_otp reaches the OTP form.
    let otp_user = user("user_otp");
    let s = app.session("sandbox-bank", AuthMethodKind::Ussd).await;
    let first = app
        .login(
            &s.id,
            Values::new()
                .with("accountNo", otp_user.account_number)
                .with("pin", otp_user.ussd_pin),
        )
        .await;
    let Step::NeedsInput { form, .. } = first.step() else {
        panic!("{}", first.body)
    };
    assert!(form.field("otp").is_some());
    assert_eq!(app.finish(&s.id, first, None).await.0, [102, 99]);
    let s = app.session("sandbox-bank", AuthMethodKind::Ussd).await;
    app.login(
        &s.id,
        Values::new()
            .with("accountNo", otp_user.account_number)
            .with("pin", "0000"),
    )
    .await
    .assert_failed(400, "Invalid credentials");

    // Mobile banking: phone + 6-digit PIN; user_multi gets the account list.
    let multi = user("user_multi");
    let s = app
        .session("sandbox-bank", AuthMethodKind::MobileBanking)
        .await;
    let first = app
        .login(
            &s.id,
            Values::new()
                .with("phone", multi.phone)
                .with("pin", multi.mobile_pin),
        )
        .await;
    assert_eq!(app.finish(&s.id, first, None).await.0, [101, 99]);

    // A real bank's mobile banking names its field its own way.
    let s = app
        .session("access-bank", AuthMethodKind::MobileBanking)
        .await;
    let first = app
        .login(
            &s.id,
            Values::new()
                .with("accountNo", user("user_chain").account_number)
                .with("pin", user("user_chain").mobile_pin),
        )
        .await;
    assert_eq!(app.finish(&s.id, first, None).await.0, [102, 102, 101, 99]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn sandbox_credentials_for_the_session() {
    let (sandbox, app) = start().await;
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let creds_answer = app.get("/v2/connect/sandbox", Some(&s.id)).await;
    assert_eq!(creds_answer.status, 200, "{}", creds_answer.body);
    let list = creds_answer.body["data"]["credentials"]
        .as_array()
        .expect("credentials");
    assert_eq!(list.len(), test_users().len());
    let good = &list[0];
    assert_eq!(good["hasMultipleAccounts"], false);
    assert_eq!(
        good["values"],
        json!({ "username": "user_good", "password": PASSWORD })
    );
    assert_eq!(list[1]["hasMultipleAccounts"], true);
    assert!(creds_answer.body["data"]["inputs"].is_array());

    let s = app.session("sandbox-bank", AuthMethodKind::Ussd).await;
    let ussd = app.get("/v2/connect/sandbox", Some(&s.id)).await;
    assert_eq!(
        ussd.body["data"]["credentials"][0]["values"],
        json!({ "accountNo": "1000000001", "pin": "1111" })
    );

    // The captcha bank's credentials include this session's captcha, and work.
    let s = app
        .session("sandbox-captcha-bank", AuthMethodKind::InternetBanking)
        .await;
    let answer = captcha_answer(s.form.as_ref().expect("form")).expect("answer");
    let captcha = app.get("/v2/connect/sandbox", Some(&s.id)).await;
    let values = &captcha.body["data"]["credentials"][0]["values"];
    assert_eq!(values["captcha"], json!(answer));
    let login: Values = values
        .as_object()
        .expect("values")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(app.login(&s.id, login).await.code(), Some(99));

    app.get("/v2/connect/sandbox", None)
        .await
        .assert_failed(400, "x-session-id");
    sandbox.shutdown().await;
}
