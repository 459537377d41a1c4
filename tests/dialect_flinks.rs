//! The Flinks dialect: every response shape and FlinksCode of
//! `reference/flinks.md`, every encoding, and no panic on any bytes.

use connectflow::dialect::flinks::wire::{self, AuthorizeRequest, SecurityChallenge};
use connectflow::dialect::flinks::{FlinksCode, Language, TOOLBOX_CUSTOMER_ID};
use connectflow::dialect::{Dialect, Encoded, Flinks, FlinksConfig, HttpRequest, HttpResponse};
use connectflow::flow::{
    AuthMethodKind, Call, CallError, Continuation, Linked, PartnerSession, RejectionKind, Reply,
    Step, Timestamp,
};
use connectflow::form::{ContentType, FieldKind, Values};
use proptest::prelude::*;
use serde_json::{json, Value};

const NOW: Timestamp = Timestamp(1_700_000_000_000);
const SECRET: &str = "flinks_secret_DO_NOT_LOG";

fn flinks() -> Flinks {
    Flinks::new(FlinksConfig::new(TOOLBOX_CUSTOMER_ID, Some(SECRET.into())))
}

fn legacy() -> Flinks {
    Flinks::new(FlinksConfig::new(TOOLBOX_CUSTOMER_ID, None))
}

fn http(encoded: Encoded) -> HttpRequest {
    match encoded {
        Encoded::Http(r) => r,
        other => panic!("expected HTTP, got {other:?}"),
    }
}

fn body(req: &HttpRequest) -> Value {
    serde_json::from_slice(req.body.as_deref().unwrap_or(b"null")).unwrap()
}

fn session(token: &str, request_id: Option<&str>) -> PartnerSession {
    PartnerSession {
        id: token.into(),
        continuation: request_id.map(Continuation::new),
    }
}

fn login() -> Call {
    Call::Login {
        session: session("tok_1", None),
        institution: "FlinksCapital".into(),
        auth_method: AuthMethodKind::InternetBanking,
        values: Values::new()
            .with("username", "Greatday")
            .with("password", "Everyday"),
    }
}

fn step(status: u16, body: Value) -> Result<Step, CallError> {
    match flinks().decode(&login(), &HttpResponse::new(status, body.to_string()), NOW)? {
        Reply::Step(s) => Ok(s),
        other => panic!("expected a step, got {other:?}"),
    }
}

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
    let mut config = FlinksConfig::new(TOOLBOX_CUSTOMER_ID, Some(SECRET.into()));
    config.api_key = Some("api_KEY".into());
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

/// Every FlinksCode of flinks.md §5, with the status Flinks sends it with,
/// maps to the flow's reading of its "client action".
#[test]
fn every_flinks_code_means_what_the_reference_says() {
    use RejectionKind::*;
    let table = [
        ("INVALID_LOGIN", Retry),
        ("INVALID_USERNAME", Retry),
        ("INVALID_PASSWORD", Retry),
        ("INVALID_SECURITY_RESPONSE", RestartLogin),
        ("QUESTION_NOT_FOUND", RestartLogin),
        ("SESSION_NONEXISTENT", SessionExpired),
        ("RETRY_LATER", TryLater),
        ("TOO_MANY_REQUESTS", TryLater),
        ("AGGREGATION_ERROR", TryLater),
        ("CARD_IN_USE", TryLater),
        ("DISABLED_LOGIN", Final),
        ("UNAUTHORIZED", Final),
        ("NEW_ACCOUNT", Final),
        ("INVALID_REQUEST", Final),
        ("UNKNOWN_CHALLENGE_KEY", Final),
        ("SOMETHING_NEW", Unrecognised),
    ];
    for (name, kind) in table {
        let code = FlinksCode::parse(name);
        let (status, body) = wire::failed(&code, Some("req-1"), Some("FlinksCapital"));
        match step(status, body) {
            Ok(Step::Rejected(r)) => {
                assert_eq!(r.kind, kind, "{name}");
                assert_eq!(r.code.as_deref(), Some(name));
                assert!(!r.message.is_empty());
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // Our own credentials refused is not the person's problem.
    let (status, body) = wire::failed(&FlinksCode::AccessDenied, None, None);
    assert!(matches!(
        step(status, body),
        Err(CallError::Unauthorized(_))
    ));
}

#[test]
fn http_errors_without_a_flinks_code_and_garbage_are_call_errors() {
    assert!(matches!(
        step(500, json!("<html>")),
        Err(CallError::Http { status: 500, .. })
    ));
    assert!(matches!(
        step(401, json!({})),
        Err(CallError::Unauthorized(_))
    ));
    assert!(matches!(
        step(429, json!({})),
        Err(CallError::RateLimited { .. })
    ));
    let garbage = flinks().decode(&login(), &HttpResponse::new(200, "not json"), NOW);
    assert!(matches!(garbage, Err(CallError::Malformed(_))));
}

#[test]
fn french_messages_for_french_sessions() {
    let fr = Flinks::new(FlinksConfig::new("c", None).language(Language::Fr));
    let (status, body) = wire::failed(&FlinksCode::InvalidLogin, None, None);
    let reply = fr
        .decode(&login(), &HttpResponse::new(status, body.to_string()), NOW)
        .unwrap();
    let Reply::Step(Step::Rejected(r)) = reply else {
        panic!()
    };
    assert!(r.message.contains("mot de passe"), "{}", r.message);
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

proptest! {
    /// Decoding never panics, whatever the status and bytes, for every call.
    #[test]
    fn decoding_any_bytes_never_panics(status in 100u16..600, bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for call in [login(), Call::Poll { session: session("t", Some("r")) }] {
            let _ = flinks().decode(&call, &HttpResponse::new(status, bytes.clone()), NOW);
        }
    }
}

fn returning(login_id: &str) -> Call {
    Call::Reauthorise {
        account: login_id.into(),
        institution: "FlinksCapital".into(),
        auth_method: AuthMethodKind::InternetBanking,
    }
}

#[test]
fn a_returning_card_is_a_token_then_a_cached_authorize_by_login_id() {
    // With tokens: the token first; the LoginId rides on to a login with
    // no fields, which the flow sends at once.
    let req = http(flinks().encode(&returning("card-7"), NOW));
    assert!(
        req.path.ends_with("/GenerateAuthorizeToken"),
        "{}",
        req.path
    );
    let reply = flinks()
        .decode(
            &returning("card-7"),
            &HttpResponse::new(200, wire::authorize_token("tok_9").to_string()),
            NOW,
        )
        .unwrap();
    let Reply::SessionCreated(info) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(info.id, "tok_9");
    assert!(info.form.as_ref().is_some_and(|f| f.fields.is_empty()));
    let login = Call::Login {
        session: PartnerSession {
            id: info.id.clone(),
            continuation: info.continuation.clone(),
        },
        institution: "FlinksCapital".into(),
        auth_method: AuthMethodKind::InternetBanking,
        values: Values::new(),
    };
    let req = http(flinks().encode(&login, NOW));
    assert!(req.path.ends_with("/Authorize"));
    assert_eq!(req.header("flinks-auth-key").unwrap().expose(), "tok_9");
    assert_eq!(
        body(&req),
        json!({"LoginId": "card-7", "MostRecentCached": true, "Save": true, "Language": "en"})
    );

    // Without tokens: the cached /Authorize at once, read as a step; a live
    // refresh when configured.
    let live = Flinks::new(FlinksConfig {
        most_recent_cached: false,
        ..FlinksConfig::new(TOOLBOX_CUSTOMER_ID, None)
    });
    let req = http(live.encode(&returning("card-7"), NOW));
    assert_eq!(body(&req)["MostRecentCached"], json!(false));
    assert!(req.header("flinks-auth-key").is_none());
    let linked = live
        .decode(
            &returning("card-7"),
            &HttpResponse::new(
                200,
                wire::authorized("card-7", "r1", "FlinksCapital", "u").to_string(),
            ),
            NOW,
        )
        .unwrap();
    assert_eq!(linked, Reply::Step(Step::account("card-7")));
    let (status, gone) = wire::failed(&FlinksCode::InvalidLogin, None, None);
    let refused = live
        .decode(
            &returning("gone"),
            &HttpResponse::new(status, gone.to_string()),
            NOW,
        )
        .unwrap();
    assert!(
        matches!(&refused, Reply::Step(Step::Rejected(r)) if r.code.as_deref() == Some("INVALID_LOGIN")),
        "{refused:?}"
    );
}

#[test]
fn delete_card_and_the_accounts_summary() {
    let f = flinks();
    let req = f.delete_card("a b/c");
    assert_eq!(req.method, connectflow::dialect::Method::Delete);
    assert_eq!(
        req.path,
        format!("/v3/{TOOLBOX_CUSTOMER_ID}/BankingServices/DeleteCard/a%20b%2Fc")
    );
    assert_eq!(req.header("flinks-auth-key").unwrap().expose(), SECRET);
    assert_eq!(
        f.decode_delete_card(&HttpResponse::new(200, wire::card_deleted("x").to_string())),
        Ok(())
    );
    for code in [FlinksCode::CardInUse, FlinksCode::InvalidLogin] {
        let (status, body) = wire::failed(&code, None, None);
        let err = f
            .decode_delete_card(&HttpResponse::new(status, body.to_string()))
            .unwrap_err();
        assert!(err.to_string().contains(code.as_str()), "{err}");
    }

    let req = f.accounts_summary("req-1");
    assert!(req.path.ends_with("/GetAccountsSummary"));
    assert_eq!(body(&req), json!({"RequestId": "req-1"}));
    let summary = wire::accounts_summary(
        "req-1",
        "card-7",
        "FlinksCapital",
        &[wire::SummaryAccount {
            id: "acc-1",
            title: "Chequing",
            number: "1111000",
            category: "Operations",
            currency: "CAD",
            balance_cents: 123_456,
        }],
    );
    let accounts = f
        .decode_accounts_summary(&HttpResponse::new(200, summary.to_string()))
        .unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].number, "1111000");
    assert_eq!(accounts[0].balance, Some(123_456));
    assert_eq!(accounts[0].extra.get("id"), Some(&json!("acc-1")));
    // A pending one, and garbage: errors, never a panic.
    let (status, pending) = wire::failed(&FlinksCode::OperationPending, Some("req-1"), None);
    assert!(f
        .decode_accounts_summary(&HttpResponse::new(status, pending.to_string()))
        .is_err());
    assert!(f
        .decode_accounts_summary(&HttpResponse::new(200, "<html>"))
        .is_err());
}

/// A `203` whose `SecurityChallenges` holds `n` questions of `options`
/// options each.
fn challenges(n: usize, options: usize) -> Value {
    let list: Vec<SecurityChallenge> = (0..n)
        .map(|i| SecurityChallenge {
            kind: "MultipleChoice".to_owned().into(),
            prompt: format!("Question {i}?"),
            iterables: (0..options).map(|o| format!("Answer {o}")).collect(),
        })
        .collect();
    wire::challenges("req-1", "FlinksCapital", &list)
}

/// Finding: the number of security challenges in a `203`, and of options on
/// each, was unbounded, and every one became a field (or option) of the
/// form kept in the session: 10,000 of either made the session too big to
/// save after the login, losing the bank's answer. Such a reply is refused
/// as malformed, never cut: Flinks expects an answer to every question it
/// asked, and the right option may be the one dropped. At the caps (16
/// questions of 100 options) the form is kept whole, still small enough
/// to save.
#[test]
fn a_203_with_10_000_challenges_or_options_is_refused_as_malformed() {
    for (body, says) in [
        (challenges(10_000, 0), "more than 16 security challenges"),
        (challenges(1, 10_000), "more than 100 options"),
    ] {
        match step(203, body) {
            Err(CallError::Malformed(m)) => assert!(m.contains(says), "{m}"),
            other => panic!("expected a malformed reply ({says}), got {other:?}"),
        }
    }
    let Ok(Step::NeedsInput { form, .. }) = step(203, challenges(16, 100)) else {
        panic!("16 questions of 100 options is a form");
    };
    assert_eq!(form.fields.len(), 16);
    assert!(form.fields.iter().all(|f| f.options.len() == 100));
    // What the session keeps of it: under half the 256 KB record cap.
    let stored = serde_json::to_vec(&form).map_or(usize::MAX, |b| b.len());
    assert!(stored < 128 * 1024, "{stored}");
}

/// Finding: a security question is both the field's name (answers are keyed
/// by it, so it stays whole up to 1 KB) and its hint (what the person
/// reads). The hint and option labels are cut to 300 characters like any
/// partner text; the name and option values, sent back, are untouched.
#[test]
fn a_long_security_question_is_shown_cut_and_answered_whole() {
    let prompt = format!("{}?", "q".repeat(900));
    let option = "o".repeat(900);
    let list = [SecurityChallenge {
        kind: "MultipleChoice".to_owned().into(),
        prompt: prompt.clone(),
        iterables: vec![option.clone()],
    }];
    let Ok(Step::NeedsInput { form, .. }) =
        step(203, wire::challenges("req-1", "FlinksCapital", &list))
    else {
        panic!("a form");
    };
    let field = &form.fields[0];
    assert_eq!(field.name, prompt);
    assert_eq!(field.hint.chars().count(), 300);
    assert_eq!(field.options[0].value, option);
    assert_eq!(field.options[0].label.chars().count(), 300);
}

/// Finding: `GetAccountsSummary`'s account list was read whatever its
/// length, and each account's `Id` and `AccountNumber` (which name it) were
/// kept whatever their size. 10,000 accounts, or a 100 KB id or number, is
/// a malformed reply: never cut, since the account a host looks for may be
/// the one dropped, and a cut id names another account. 100 accounts, the
/// cap, are all read.
#[test]
fn an_accounts_summary_with_10_000_accounts_or_a_huge_id_is_refused() {
    let f = flinks();
    let summary = |n: usize, id: &str, number: &str| {
        let accounts: Vec<wire::SummaryAccount<'_>> = (0..n)
            .map(|_| wire::SummaryAccount {
                id,
                title: "Chequing",
                number,
                category: "Operations",
                currency: "CAD",
                balance_cents: 100,
            })
            .collect();
        let body = wire::accounts_summary("req-1", "card-7", "FlinksCapital", &accounts);
        f.decode_accounts_summary(&HttpResponse::new(200, body.to_string()))
    };
    let huge = "1".repeat(100_000);
    for (result, says) in [
        (
            summary(10_000, "acc-1", "1111000"),
            "more than 100 accounts",
        ),
        (summary(1, &huge, "1111000"), "Id longer than"),
        (summary(1, "acc-1", &huge), "AccountNumber longer than"),
    ] {
        match result {
            Err(CallError::Malformed(m)) => assert!(m.contains(says), "{m}"),
            other => panic!("expected a malformed reply ({says}), got {other:?}"),
        }
    }
    assert_eq!(summary(100, "acc-1", "1111000").map(|a| a.len()), Ok(100));
}
