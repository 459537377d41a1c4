//! A login's answer read as a step: a `200` links with the login id, a
//! `203` is a form of its security challenges, a `202` is pending (and the
//! poll that follows it).

use crate::rig::*;
use connectflow::dialect::flinks::wire::{self, SecurityChallenge};
use connectflow::dialect::flinks::{FlinksCode, TOOLBOX_CUSTOMER_ID};
use connectflow::dialect::{Dialect, Flinks, FlinksConfig};
use connectflow::flow::{Call, CallError, Continuation, Linked, Step};
use connectflow::form::FieldKind;
use serde_json::json;

#[test]
fn a_200_links_with_the_login_id() {
    let body = wire::authorized("a1b2-login", "req-1", "FlinksCapital", "Greatday");
    assert_eq!(
        step(200, body),
        Ok(Step::Done(Linked::Account("a1b2-login".into())))
    );
    assert!(matches!(
        step(200, json!({ "HttpStatusCode": 200 })),
        Err(CallError::Malformed(_))
    ));
}

#[test]
fn a_203_is_a_form_of_its_challenges_carrying_the_request_id() {
    let list = [
        SecurityChallenge::question("What city were you born in?"),
        SecurityChallenge {
            kind: "MultipleChoice".to_owned().into(),
            prompt: "Pick a colour".into(),
            iterables: vec!["Red".into(), "Blue".into()],
        },
        SecurityChallenge {
            kind: "ImageSelection".to_owned().into(),
            prompt: "Pick the image".into(),
            iterables: vec![],
        },
    ];
    let Ok(Step::NeedsInput { form, continuation }) =
        step(203, wire::challenges("req-7", "FlinksCapital", &list))
    else {
        panic!("expected a form")
    };
    assert_eq!(continuation, Some(Continuation::new("req-7")));
    assert_eq!(form.fields[0].name, "What city were you born in?");
    assert!(form.fields[0].is_secret());
    assert_eq!(form.fields[1].kind, FieldKind::Choice);
    assert_eq!(form.fields[1].options.len(), 2);
    // An unknown type is kept for a front-end that knows it.
    assert_eq!(form.fields[2].extra["flinksType"], "ImageSelection");
    assert!(matches!(
        step(
            203,
            json!({ "HttpStatusCode": 203, "SecurityChallenges": [] , "RequestId": "r" })
        ),
        Err(CallError::Malformed(_))
    ));
    assert!(matches!(
        step(
            203,
            json!({ "HttpStatusCode": 203,
            "SecurityChallenges": [{ "Type": "QuestionAndAnswer", "Prompt": "Q?" }] })
        ),
        Err(CallError::Malformed(_))
    ));
}

#[test]
fn a_202_is_pending_polled_every_10_s_for_30_min() {
    for code in [
        FlinksCode::OperationPending,
        FlinksCode::OperationDispatched,
    ] {
        let (status, body) = wire::failed(&code, Some("req-9"), Some("FlinksCapital"));
        assert_eq!(status, 202);
        assert_eq!(
            step(status, body),
            Ok(Step::Pending {
                poll_after_ms: 10_000,
                give_up_after_ms: 30 * 60 * 1000,
                continuation: Some(Continuation::new("req-9")),
            })
        );
    }
    // The poll itself: the RequestId in the path, the API key and token sent.
    let config = FlinksConfig::new(TOOLBOX_CUSTOMER_ID, Some(SECRET.into())).api_key("api_KEY");
    let req = http(Flinks::new(config).encode(
        &Call::Poll {
            session: session("tok_1", Some("req 9/x")),
        },
        NOW,
    ));
    assert_eq!(
        req.path,
        format!("/v3/{TOOLBOX_CUSTOMER_ID}/BankingServices/GetAccountsDetailAsync/req%209%2Fx")
    );
    assert_eq!(req.header("x-api-key").unwrap().expose(), "api_KEY");
}
