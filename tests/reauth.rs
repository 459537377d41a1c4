//! Re-authorisation through the real driver against the sandbox over
//! loopback: Mono's `reauth/session` answering at once or asking for the
//! login (and MFA) again, and refusing an account the key does not own.
#![cfg(feature = "testing")]

use connectflow::dialect::mono::Customer;
use connectflow::dialect::{Mono, MonoConfig};
use connectflow::driver::{now, Driver, DriverConfig};
use connectflow::flow::*;
use connectflow::form::Values;
use connectflow::testing::{mono_driver, Sandbox, SANDBOX_BANK};

/// What the person saw, what was emitted, and how the flow ended.
struct Run {
    flow: ConnectFlow,
    screens: Vec<String>,
    events: Vec<String>,
}

/// Runs a flow with `config`, logging in as `username` with `password`
/// whenever asked and answering OTPs with 123456.
async fn run(driver: &Driver, config: FlowConfig, username: &str, password: &str) -> Run {
    let mut run = Run {
        flow: ConnectFlow::new(config, now()),
        screens: Vec::new(),
        events: Vec::new(),
    };
    for _ in 0..10 {
        let events = &mut run.events;
        driver
            .run(&mut run.flow, &mut |e| {
                events.push(e.kind.name().to_owned())
            })
            .await
            .unwrap();
        let action = match run.flow.view() {
            View::Form(f) if f.purpose == FormPurpose::Credentials => {
                run.screens.push("login".into());
                if run.screens.iter().filter(|s| *s == "login").count() > 1 {
                    return run;
                }
                UserAction::Submit(
                    Values::new()
                        .with("username", username)
                        .with("password", password),
                )
            }
            View::Form(f) => {
                let names: Vec<&str> = f.form.fields.iter().map(|x| x.name.as_str()).collect();
                run.screens.push(format!("mfa {}", names.join(",")));
                UserAction::Submit(Values::new().with("otp", "123456"))
            }
            _ => return run,
        };
        run.flow.handle(now(), Input::User(action)).unwrap();
    }
    panic!("flow did not end: {:?}", run.flow.state());
}

fn linked(run: &Run) -> String {
    match run.flow.view() {
        View::Done {
            account_id: Some(id),
            ..
        } => id.to_owned(),
        other => panic!("expected linked, got {other:?} after {:?}", run.screens),
    }
}

fn link_config() -> FlowConfig {
    FlowConfig::default().with_institution(SANDBOX_BANK, Some(AuthMethodKind::InternetBanking))
}

fn reauth_config(account: &str) -> FlowConfig {
    FlowConfig::default().with_reauthorise(
        account,
        SANDBOX_BANK,
        Some(AuthMethodKind::InternetBanking),
    )
}

#[tokio::test]
async fn an_account_whose_bank_needs_nothing_is_reauthorised_at_once() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let driver = mono_driver(&sandbox.url(), DriverConfig::default());
    let first = run(&driver, link_config(), "user_good", "pass_good").await;
    let id = linked(&first);

    let again = run(&driver, reauth_config(&id), "user_good", "pass_good").await;
    assert_eq!(linked(&again), id, "the same account comes back");
    assert!(
        again.screens.is_empty(),
        "nothing asked: {:?}",
        again.screens
    );
    assert_eq!(
        again.events,
        [
            "OPENED",
            "INSTITUTION_SELECTED",
            "ACCOUNT_LINKED",
            "SUCCESS"
        ]
    );
}

#[tokio::test]
async fn a_reauthorisation_that_needs_the_login_and_an_otp() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let driver = mono_driver(&sandbox.url(), DriverConfig::default());
    let first = run(&driver, link_config(), "user_reauth", "pass_good").await;
    assert_eq!(first.screens, ["login"], "linking asks nothing more");
    let id = linked(&first);

    let again = run(&driver, reauth_config(&id), "user_reauth", "pass_good").await;
    assert_eq!(again.screens, ["login", "mfa otp"]);
    assert_eq!(linked(&again), id);
}

#[tokio::test]
async fn another_users_login_does_not_reauthorise_an_account() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let driver = mono_driver(&sandbox.url(), DriverConfig::default());
    let id = linked(&run(&driver, link_config(), "user_reauth", "pass_good").await);

    // user_good's right password, on user_reauth's account: refused, and
    // the login form comes back for another try.
    let other = run(&driver, reauth_config(&id), "user_good", "pass_good").await;
    assert_eq!(other.screens, ["login", "login"]);
    assert!(
        other.events.contains(&"ERROR".to_owned()),
        "{:?}",
        other.events
    );
    assert!(!other.flow.is_finished());
}

#[tokio::test]
async fn an_account_the_key_does_not_own_is_refused() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let driver = mono_driver(&sandbox.url(), DriverConfig::default());
    let id = linked(&run(&driver, link_config(), "user_reauth", "pass_good").await);

    // The same sandbox, another app's key: the account is not theirs.
    let stranger = Driver::new(
        &sandbox.url(),
        Mono::new(MonoConfig::new(
            "test_sk_someone_else",
            Customer::new_customer("Bola Ade", "bola@example.com"),
        )),
        DriverConfig::default(),
    )
    .unwrap();
    for account in [id.as_str(), "no_such_account"] {
        let refused = run(
            &stranger,
            reauth_config(account),
            "user_reauth",
            "pass_good",
        )
        .await;
        assert!(refused.screens.is_empty());
        match refused.flow.view() {
            View::Failed { failure, .. } => {
                assert!(
                    failure.to_string().contains("Account not found"),
                    "{failure}"
                )
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
