//! What each call sends: the catalogue (answered locally), the authorize
//! token, the login, the answers to challenges (and a server reading them
//! back); and that there is no code to exchange.

use crate::rig::*;
use connectflow::dialect::flinks::wire::{self, AuthorizeRequest};
use connectflow::dialect::flinks::{Language, TOOLBOX_CUSTOMER_ID};
use connectflow::dialect::{Dialect, Encoded, Flinks, FlinksConfig, HttpResponse};
use connectflow::flow::{AuthMethodKind, Call, CallError, Reply};
use connectflow::form::{ContentType, Values};
use serde_json::json;

#[test]
fn institutions_come_from_configuration_with_a_login_form() {
    let Encoded::Local(Ok(Reply::Institutions(c))) = flinks().encode(&Call::ListInstitutions, NOW)
    else {
        panic!("the catalogue is local")
    };
    let inst = c.get("FlinksCapital").expect("Flinks Capital is offered");
    assert_eq!(inst.method_kinds(), [AuthMethodKind::InternetBanking]);
    let form = inst.form_for(&AuthMethodKind::InternetBanking).unwrap();
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["username", "password"]);
    assert_eq!(form.fields[1].content_type, ContentType::Password);
    // French prompts.
    let fr = Flinks::new(FlinksConfig::new("c", None).language(Language::Fr));
    assert_eq!(fr.login_form().fields[1].hint, "Mot de passe");
}

#[test]
fn a_session_is_an_authorize_token_or_nothing_on_a_legacy_instance() {
    let req = http(flinks().encode(
        &Call::CreateSession {
            institution: "FlinksCapital".into(),
            auth_method: AuthMethodKind::InternetBanking,
            customer: None,
        },
        NOW,
    ));
    assert_eq!(
        req.path,
        format!("/v3/{TOOLBOX_CUSTOMER_ID}/BankingServices/GenerateAuthorizeToken")
    );
    assert_eq!(req.header("flinks-auth-key").unwrap().expose(), SECRET);
    assert!(!format!("{req:?}").contains(SECRET), "{req:?}");
    let call = Call::CreateSession {
        institution: "FlinksCapital".into(),
        auth_method: AuthMethodKind::InternetBanking,
        customer: None,
    };
    let reply = flinks()
        .decode(
            &call,
            &HttpResponse::new(200, wire::authorize_token("tok_abc").to_string()),
            NOW,
        )
        .unwrap();
    let Reply::SessionCreated(info) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(info.id, "tok_abc");
    assert_eq!(info.expires_at, Some(NOW.plus_ms(30 * 60 * 1000)));
    for key in ["token", "AuthorizeToken"] {
        let r = flinks().decode(
            &call,
            &HttpResponse::new(200, json!({ key: "t2" }).to_string()),
            NOW,
        );
        assert!(
            matches!(r, Ok(Reply::SessionCreated(ref s)) if s.id == "t2"),
            "{key}: {r:?}"
        );
    }
    assert!(matches!(
        flinks().decode(&call, &HttpResponse::new(401, "{}"), NOW),
        Err(CallError::Unauthorized(_))
    ));
    assert!(matches!(
        flinks().decode(&call, &HttpResponse::new(200, "{}"), NOW),
        Err(CallError::Malformed(_))
    ));
    assert!(matches!(
        legacy().encode(&call, NOW),
        Encoded::Local(Ok(Reply::SessionCreated(ref s))) if s.id.is_empty()
    ));
}

#[test]
fn login_is_an_authorize_with_the_token_and_every_option() {
    let req = http(flinks().encode(&login(), NOW));
    assert_eq!(
        req.path,
        format!("/v3/{TOOLBOX_CUSTOMER_ID}/BankingServices/Authorize")
    );
    assert_eq!(req.header("flinks-auth-key").unwrap().expose(), "tok_1");
    assert_eq!(
        body(&req),
        json!({ "Institution": "FlinksCapital", "Username": "Greatday", "Password": "Everyday",
                "MostRecentCached": false, "Save": true, "Language": "en" })
    );
    // A legacy instance sends no key at all.
    let mut call = login();
    if let Call::Login { session, .. } = &mut call {
        session.id.clear();
    }
    assert!(http(legacy().encode(&call, NOW))
        .header("flinks-auth-key")
        .is_none());
}

#[test]
fn answers_go_back_keyed_by_the_exact_prompt_with_the_request_id() {
    let call = Call::Commit {
        session: session("tok_1", Some("req-42")),
        values: Values::new().with("What city were you born in?", "Montreal"),
        account: None,
    };
    let req = http(flinks().encode(&call, NOW));
    assert_eq!(req.header("flinks-auth-key").unwrap().expose(), "tok_1");
    assert_eq!(
        body(&req),
        json!({ "RequestId": "req-42",
                "SecurityResponses": { "What city were you born in?": ["Montreal"] } })
    );
    // Without the RequestId there is nothing to answer: refused locally.
    let lost = Call::Commit {
        session: session("tok_1", None),
        values: Values::new(),
        account: None,
    };
    assert!(matches!(
        flinks().encode(&lost, NOW),
        Encoded::Local(Err(_))
    ));
}

#[test]
fn a_server_reads_answers_as_a_string_or_an_array_and_never_prints_secrets() {
    let one: AuthorizeRequest = serde_json::from_value(json!({
        "RequestId": "r", "SecurityResponses": { "Q?": "A" } }))
    .unwrap();
    let many: AuthorizeRequest = serde_json::from_value(json!({
        "RequestId": "r", "SecurityResponses": { "Q?": ["A"] } }))
    .unwrap();
    assert_eq!(one.security_responses, many.security_responses);
    let login: AuthorizeRequest = serde_json::from_value(json!({
        "Institution": "FlinksCapital", "Username": "Greatday", "Password": "Everyday" }))
    .unwrap();
    assert!(!format!("{login:?}").contains("Everyday"));
}

#[test]
fn there_is_no_code_to_exchange() {
    assert!(matches!(
        flinks().encode(&Call::ExchangeCode { code: "c".into() }, NOW),
        Encoded::Local(Err(_))
    ));
}
