//! Every Flinks Capital user through the real driver and the Flinks dialect,
//! against the sandbox's Flinks front over loopback: the three questions,
//! the scripted usernames, wrong passwords and answers, a background link,
//! cached mode, DeleteCard, French, tokens and a legacy instance.
#![cfg(feature = "testing")]

use connectflow::dialect::flinks::FLINKS_CAPITAL;
use connectflow::dialect::{Flinks, FlinksConfig};
use connectflow::driver::{now, Driver, DriverConfig};
use connectflow::flow::*;
use connectflow::form::Values;
use connectflow::testing::{flinks_config, flinks_driver, Sandbox, FLINKS_CUSTOMER_ID};

/// What the person saw and how the flow ended.
struct Run {
    flow: ConnectFlow,
    /// `login` for the credentials form, else the question asked.
    screens: Vec<String>,
    notices: Vec<String>,
    events: Vec<String>,
}

impl Run {
    fn login_id(&self) -> String {
        match self.flow.view() {
            View::Done {
                account_id: Some(id),
                ..
            } => id.to_owned(),
            other => panic!("expected linked, got {other:?} after {:?}", self.screens),
        }
    }

    fn failure(&self) -> String {
        match self.flow.view() {
            View::Failed { failure, .. } => failure.to_string(),
            other => panic!("expected a failure, got {other:?} after {:?}", self.screens),
        }
    }
}

/// Runs a flow: logs in as `username` with each of `passwords` in turn
/// (stopping at the login form once they run out), answers each question
/// from `answers` (by its prompt) or stops there.
async fn run(
    driver: &Driver,
    config: FlowConfig,
    username: &str,
    passwords: &[&str],
    answers: &[(&str, &str)],
) -> Run {
    let mut run = Run {
        flow: ConnectFlow::new(config, now()),
        screens: Vec::new(),
        notices: Vec::new(),
        events: Vec::new(),
    };
    let mut passwords = passwords.iter();
    for _ in 0..20 {
        let events = &mut run.events;
        driver
            .run(&mut run.flow, &mut |e| {
                events.push(e.kind.name().to_owned())
            })
            .await
            .unwrap();
        let action = match run.flow.view() {
            View::Form(f) => {
                if let Some(notice) = f.notice {
                    run.notices.push(format!("{notice:?}"));
                }
                if f.purpose == FormPurpose::Credentials {
                    run.screens.push("login".into());
                    let Some(password) = passwords.next() else {
                        return run;
                    };
                    UserAction::Submit(
                        Values::new()
                            .with("username", username)
                            .with("password", *password),
                    )
                } else {
                    let field = &f.form.fields[0];
                    run.screens.push(field.name.clone());
                    let Some((_, answer)) = answers.iter().find(|(q, _)| *q == field.name) else {
                        return run;
                    };
                    UserAction::Submit(Values::new().with(field.name.clone(), *answer))
                }
            }
            _ => return run,
        };
        run.flow.handle(now(), Input::User(action)).unwrap();
    }
    panic!("flow did not end: {:?}", run.flow.state());
}

const CITY: &str = "What city were you born in?";
const COUNTRY: &str = "What is the best country on earth?";
const SHAPE: &str = "What shape do people like most?";
const ANSWERS: [(&str, &str); 3] = [(CITY, "Montreal"), (COUNTRY, "Canada"), (SHAPE, "Triangle")];

fn capital() -> FlowConfig {
    FlowConfig::default().with_institution(FLINKS_CAPITAL, None)
}

fn driver(sandbox: &Sandbox) -> Driver {
    flinks_driver(&sandbox.url(), flinks_config(), DriverConfig::default())
}

#[tokio::test]
async fn greatday_answers_three_questions_in_order_and_gets_the_same_login_id_again() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let driver = driver(&sandbox);
    let first = run(&driver, capital(), "Greatday", &["Everyday"], &ANSWERS).await;
    assert_eq!(first.screens, ["login", CITY, COUNTRY, SHAPE]);
    let login_id = first.login_id();
    assert!(uuid::Uuid::parse_str(&login_id).is_ok(), "{login_id}");
    assert_eq!(
        first.events,
        [
            "OPENED",
            "INSTITUTION_SELECTED",
            "SUBMIT_CREDENTIALS",
            "SUBMIT_MFA",
            "SUBMIT_MFA",
            "SUBMIT_MFA",
            "ACCOUNT_LINKED",
            "SUCCESS"
        ]
    );
    let again = run(&driver, capital(), "Greatday", &["Everyday"], &ANSWERS).await;
    assert_eq!(again.login_id(), login_id, "the same login, the same card");
}

#[tokio::test]
async fn the_scripted_usernames() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let driver = driver(&sandbox);

    let nomfa = run(&driver, capital(), "greatday_nomfa", &["Everyday"], &[]).await;
    assert_eq!(nomfa.screens, ["login"]);
    nomfa.login_id();

    let disabled = run(
        &driver,
        capital(),
        "test_disabled_account",
        &["Everyday"],
        &[],
    )
    .await;
    assert!(
        disabled.failure().contains("disabled"),
        "{}",
        disabled.failure()
    );

    // RETRY_LATER: back at the login with "try later", the flow alive.
    let down = run(
        &driver,
        capital(),
        "test_service_unavailable",
        &["Everyday"],
        &[],
    )
    .await;
    assert_eq!(down.screens, ["login", "login"]);
    assert!(
        down.notices[0].contains("try again later"),
        "{:?}",
        down.notices
    );
    assert!(!down.flow.is_finished());

    // 202 OPERATION_DISPATCHED: polled until ready.
    let dispatched = run(&driver, capital(), "test_dispatched", &["Everyday"], &[]).await;
    assert_eq!(dispatched.screens, ["login"]);
    dispatched.login_id();
}

#[tokio::test]
async fn a_wrong_password_is_retried_and_a_wrong_answer_restarts_the_login() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let driver = driver(&sandbox);

    // INVALID_LOGIN, then the right password: on a new authorize token
    // (the refused login spent the first; the sandbox denies it again).
    let retried = run(
        &driver,
        capital(),
        "Greatday",
        &["Nope", "Everyday"],
        &ANSWERS,
    )
    .await;
    assert_eq!(retried.screens, ["login", "login", CITY, COUNTRY, SHAPE]);
    assert!(
        retried.notices[0].contains("Rejected"),
        "{:?}",
        retried.notices
    );
    retried.login_id();

    // INVALID_SECURITY_RESPONSE: not retryable in the same session, so a
    // new one, and the login form again with the reason.
    let wrong = [(CITY, "Toronto")];
    let restarted = run(&driver, capital(), "Greatday", &["Everyday"], &wrong).await;
    assert_eq!(restarted.screens, ["login", CITY, "login"]);
    assert!(
        restarted.notices[0].contains("LoginAgain"),
        "{:?}",
        restarted.notices
    );
}

#[tokio::test]
async fn cached_mode_relinks_a_card_until_delete_card() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let driver = driver(&sandbox);
    let login_id = run(&driver, capital(), "greatday_nomfa", &["Everyday"], &[])
        .await
        .login_id();

    let returning = FlowConfig::default().with_reauthorise(&login_id, FLINKS_CAPITAL, None);
    let cached = run(&driver, returning.clone(), "greatday_nomfa", &[], &[]).await;
    assert!(
        cached.screens.is_empty(),
        "nothing asked: {:?}",
        cached.screens
    );
    assert_eq!(cached.login_id(), login_id);

    let flinks = Flinks::new(flinks_config());
    // Right after its link the card is still processing (flinks.md §7):
    // `CARD_IN_USE`, and the card stays; a moment later it goes.
    let response = driver
        .request(&flinks.delete_card(&login_id))
        .await
        .unwrap();
    let busy = flinks.decode_delete_card(&response).unwrap_err();
    assert!(busy.to_string().contains("CARD_IN_USE"), "{busy}");
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let response = driver
        .request(&flinks.delete_card(&login_id))
        .await
        .unwrap();
    flinks.decode_delete_card(&response).unwrap();
    // Deleting it again: no such card.
    let response = driver
        .request(&flinks.delete_card(&login_id))
        .await
        .unwrap();
    let again = flinks.decode_delete_card(&response).unwrap_err();
    assert!(again.to_string().contains("INVALID_LOGIN"), "{again}");

    let gone = run(&driver, returning, "greatday_nomfa", &[], &[]).await;
    assert!(gone.screens.is_empty());
    assert!(
        gone.failure().contains("no longer valid"),
        "{}",
        gone.failure()
    );

    // Linked again after the delete: a new card, a new LoginId.
    let relinked = run(&driver, capital(), "greatday_nomfa", &["Everyday"], &[]).await;
    assert_ne!(relinked.login_id(), login_id);
}

#[tokio::test]
async fn the_accounts_summary_of_a_card() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let driver = driver(&sandbox);
    let flinks = Flinks::new(flinks_config());
    let login_id = run(&driver, capital(), "greatday_nomfa", &["Everyday"], &[])
        .await
        .login_id();
    // A cached /Authorize gives a RequestId to read the card's data with.
    let token = reqwest::Client::new()
        .post(format!(
            "{}/v3/{FLINKS_CUSTOMER_ID}/BankingServices/Authorize",
            sandbox.url()
        ))
        .json(&serde_json::json!({ "LoginId": login_id, "MostRecentCached": true }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let request_id = token["RequestId"].as_str().unwrap();
    let response = driver
        .request(&flinks.accounts_summary(request_id))
        .await
        .unwrap();
    let accounts = flinks.decode_accounts_summary(&response).unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].currency.as_deref(), Some("CAD"));
    assert!(accounts[0].balance.unwrap_or(0) > 0);
}

#[tokio::test]
async fn french_prompts_and_a_legacy_instance_without_tokens() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let legacy = FlinksConfig {
        language: connectflow::dialect::flinks::Language::Fr,
        ..FlinksConfig::new(FLINKS_CUSTOMER_ID, None)
    };
    let driver = flinks_driver(&sandbox.url(), legacy, DriverConfig::default());
    let answers = [
        ("Dans quelle ville êtes-vous né?", "Montreal"),
        ("Quel est le meilleur pays au monde?", "Canada"),
        ("Quelle forme les gens préfèrent-ils?", "Triangle"),
    ];
    let fr = run(&driver, capital(), "Greatday", &["Everyday"], &answers).await;
    assert_eq!(fr.screens[1], "Dans quelle ville êtes-vous né?");
    assert_eq!(fr.screens.len(), 4);
    // French is another card (the LoginId derives from the language too).
    let en = run(
        &flinks_driver(&sandbox.url(), flinks_config(), DriverConfig::default()),
        capital(),
        "Greatday",
        &["Everyday"],
        &ANSWERS,
    )
    .await;
    assert_ne!(fr.login_id(), en.login_id());
}

#[tokio::test]
async fn another_customer_id_or_a_wrong_secret_is_access_denied() {
    let sandbox = Sandbox::start_local().await.unwrap();
    for config in [
        FlinksConfig::new("00000000-0000-0000-0000-000000000000", None),
        FlinksConfig::new(FLINKS_CUSTOMER_ID, Some("not_the_secret".into())),
    ] {
        let driver = flinks_driver(&sandbox.url(), config, DriverConfig::default());
        let denied = run(&driver, capital(), "Greatday", &["Everyday"], &[]).await;
        assert!(denied.screens.len() <= 1, "{:?}", denied.screens);
        assert!(
            denied.failure().to_lowercase().contains("refused"),
            "{}",
            denied.failure()
        );
    }
}

#[tokio::test]
async fn answers_as_a_string_or_an_array_and_a_spent_or_unknown_token() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let base = format!("{}/v3/{FLINKS_CUSTOMER_ID}/BankingServices", sandbox.url());
    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut req = http.post(format!("{base}/{path}")).json(&body);
        if let Some(t) = token {
            req = req.header("flinks-auth-key", t);
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (_, token) = post(
        "GenerateAuthorizeToken",
        Some(connectflow::testing::FLINKS_SECRET),
        serde_json::json!({}),
    )
    .await;
    let token = token["Token"].as_str().unwrap().to_owned();
    let login = serde_json::json!({
        "Institution": "FlinksCapital", "Username": "Greatday", "Password": "Everyday",
        "MostRecentCached": false, "Save": true, "Language": "en"
    });
    let (status, asked) = post("Authorize", Some(&token), login.clone()).await;
    assert_eq!(status, 203);
    let rid = asked["RequestId"].as_str().unwrap().to_owned();
    let answer = |prompt: &str, value: serde_json::Value| serde_json::json!({ "RequestId": rid, "SecurityResponses": { prompt: value } });
    // A string, then an array: both accepted.
    // An answer without the token that opened the conversation is refused,
    // not taken for a legacy instance's call (flinks.md §1: answers reuse it).
    let (status, denied) = post("Authorize", None, answer(CITY, "Montreal".into())).await;
    assert_eq!(
        (status, denied["FlinksCode"].as_str()),
        (401, Some("ACCESS_DENIED"))
    );
    let (status, _) = post("Authorize", Some(&token), answer(CITY, "Montreal".into())).await;
    assert_eq!(status, 203);
    // Keyed by the wrong prompt.
    let (status, wrong_key) = post("Authorize", Some(&token), answer(CITY, "Canada".into())).await;
    assert_eq!(
        (status, wrong_key["FlinksCode"].as_str()),
        (401, Some("UNKNOWN_CHALLENGE_KEY"))
    );
    let (status, _) = post(
        "Authorize",
        Some(&token),
        answer(COUNTRY, serde_json::json!(["Canada"])),
    )
    .await;
    assert_eq!(status, 203);
    let (status, linked) = post(
        "Authorize",
        Some(&token),
        answer(SHAPE, serde_json::json!(["Triangle"])),
    )
    .await;
    assert_eq!(status, 200);
    assert!(linked["Login"]["Id"].as_str().is_some());
    // The token is spent by its link; a made-up one was never live.
    for spent in [token.as_str(), "made-up"] {
        let (status, denied) = post("Authorize", Some(spent), login.clone()).await;
        assert_eq!(
            (status, denied["FlinksCode"].as_str()),
            (401, Some("ACCESS_DENIED"))
        );
    }
    // Single-use: a login the bank refused spends its token too, so the
    // person's next try needs a new one (flinks.md §1).
    let (_, fresh) = post(
        "GenerateAuthorizeToken",
        Some(connectflow::testing::FLINKS_SECRET),
        serde_json::json!({}),
    )
    .await;
    let fresh = fresh["Token"].as_str().unwrap().to_owned();
    let mut wrong = login.clone();
    wrong["Password"] = "Nope".into();
    let (status, refused) = post("Authorize", Some(&fresh), wrong).await;
    assert_eq!(
        (status, refused["FlinksCode"].as_str()),
        (401, Some("INVALID_LOGIN"))
    );
    let (status, denied) = post("Authorize", Some(&fresh), login.clone()).await;
    assert_eq!(
        (status, denied["FlinksCode"].as_str()),
        (401, Some("ACCESS_DENIED"))
    );
    // No token at all: a legacy instance's call, accepted.
    let (status, _) = post("Authorize", None, login).await;
    assert_eq!(status, 203);
    // An unknown RequestId.
    let (status, gone) = post(
        "Authorize",
        None,
        serde_json::json!({ "RequestId": "nope", "SecurityResponses": { CITY: ["Montreal"] } }),
    )
    .await;
    assert_eq!(
        (status, gone["FlinksCode"].as_str()),
        (400, Some("SESSION_NONEXISTENT"))
    );
}

/// Flinks Connect's events for a run: every flow event, then the view,
/// after each turn, through [`ConnectEvents`].
async fn connect_events(driver: &Driver, passwords: &[&str]) -> Vec<serde_json::Value> {
    use connectflow::dialect::flinks::ConnectEvents;
    let config = capital().with_reference("order-42");
    let mut flow = ConnectFlow::new(config, now());
    let mut translator = ConnectEvents::new("https://app.example/done");
    let mut out = Vec::new();
    let mut passwords = passwords.iter();
    let mut answers = ANSWERS.iter();
    for _ in 0..20 {
        let mut events = Vec::new();
        driver
            .run(&mut flow, &mut |e| events.push(e.clone()))
            .await
            .unwrap();
        out.extend(events.iter().filter_map(|e| translator.event(e)));
        out.extend(translator.view(&flow.view(), flow.reference()));
        let action = match flow.view() {
            View::Form(f) if f.purpose == FormPurpose::Credentials => UserAction::Submit(
                Values::new()
                    .with("username", "Greatday")
                    .with("password", *passwords.next().unwrap()),
            ),
            View::Form(f) => UserAction::Submit(
                Values::new().with(f.form.fields[0].name.clone(), answers.next().unwrap().1),
            ),
            _ => return out,
        };
        flow.handle(now(), Input::User(action)).unwrap();
    }
    panic!("flow did not end");
}

#[tokio::test]
async fn flinks_connect_events_name_each_screen_and_end_in_a_redirect_with_the_login_id() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let events = connect_events(&driver(&sandbox), &["Nope", "Everyday"]).await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["step"].as_str().or(e["flinksCode"].as_str()).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "APP_MOUNTED",
            "INSTITUTION_SELECTED",
            "COMPONENT_LOAD_CREDENTIAL",
            "SUBMIT_CREDENTIAL",
            "INVALID_LOGIN",
            "COMPONENT_LOAD_CREDENTIAL_RETRY",
            "SUBMIT_CREDENTIAL",
            "COMPONENT_LOAD_MFA",
            "SUBMIT_MFA",
            "COMPONENT_LOAD_MFA",
            "SUBMIT_MFA",
            "COMPONENT_LOAD_MFA",
            "SUBMIT_MFA",
            "REDIRECT"
        ]
    );
    assert!(events.iter().all(|e| e["tag"] == "order-42"), "{events:?}");
    assert_eq!(
        events[7]["mfaTypes"],
        serde_json::json!(["QuestionAndAnswer"])
    );
    let redirect = events.last().unwrap();
    assert_eq!(redirect["institution"], "FlinksCapital");
    let url = redirect["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://app.example/done?loginId=")
            && url.ends_with("&institution=FlinksCapital&tag=order-42"),
        "{url}"
    );
}
