//! The whole flow: the crate's sans-IO connect flow, driven through the Mono
//! dialect, links against the sandbox.

use crate::app::{start, App};
use connectflow::sandbox::{captcha_answer, OTP, PASSWORD, SECURITY_ANSWER};

/// The crate's sans-IO flow, its Mono dialect and the sandbox, end to end: the
/// flow asks for calls, the dialect encodes them, the sandbox answers, the
/// dialect decodes, and the flow ends linked with the sandbox's account id.
async fn run_flow(app: &App, institution: &str, username: &str, pick: usize) -> String {
    use connectflow::flow::{ConnectFlow, Effect, FlowConfig, Input, Timestamp, UserAction, View};
    let now = || {
        Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis() as u64,
        )
    };
    let mut flow = ConnectFlow::new(FlowConfig::default(), now());
    for _ in 0..50 {
        while let Some(Effect::Call { id, call }) = flow.poll_effect() {
            let result = app.call(&call).await.reply;
            flow.handle(now(), Input::Api { id, result })
                .expect("the flow accepts the reply");
        }
        let action = match flow.view() {
            View::ChooseInstitution { .. } => UserAction::ChooseInstitution {
                id: institution.into(),
                auth_method: None,
            },
            View::Form(view) => UserAction::Submit(
                view.form
                    .fields
                    .iter()
                    .map(|f| {
                        let v = match f.name.as_str() {
                            "username" => username.to_owned(),
                            "password" => PASSWORD.to_owned(),
                            "otp" => OTP.to_owned(),
                            "answer" => SECURITY_ANSWER.to_owned(),
                            "captcha" => captcha_answer(view.form).expect("captcha answer"),
                            other => panic!("unexpected field {other}"),
                        };
                        (f.name.clone(), v)
                    })
                    .collect(),
            ),
            View::ChooseAccount { .. } => UserAction::ChooseAccount(pick),
            View::Done {
                account_id: Some(id),
                ..
            } => return id.to_owned(),
            other => panic!("unexpected view {other:?}"),
        };
        flow.handle(now(), Input::User(action))
            .expect("the flow accepts the action");
    }
    panic!("the flow did not finish")
}

#[tokio::test]
async fn the_connect_flow_links_against_the_sandbox() {
    let (sandbox, app) = start().await;
    let chain = run_flow(&app, "sandbox-bank", "user_chain", 1).await;
    assert_eq!(
        chain,
        app.link("sandbox-bank", "user_chain", Some("2000000005"))
            .await
    );
    let captcha = run_flow(&app, "sandbox-captcha-bank", "user_good", 0).await;
    assert_eq!(
        captcha,
        app.link("sandbox-captcha-bank", "user_good", None).await
    );
    sandbox.shutdown().await;
}
