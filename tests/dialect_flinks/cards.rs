//! Saved cards (a LoginId): a returning card re-authorised with a token or
//! a cached authorize, a card deleted, and its accounts summary read.

use crate::rig::*;
use connectflow::dialect::flinks::wire;
use connectflow::dialect::flinks::{FlinksCode, TOOLBOX_CUSTOMER_ID};
use connectflow::dialect::{Dialect, Flinks, FlinksConfig, HttpResponse};
use connectflow::flow::{AuthMethodKind, Call, PartnerSession, Reply, Step};
use connectflow::form::Values;
use serde_json::json;

fn returning(login_id: &str) -> Call {
    reauthorising(login_id, false)
}

fn reauthorising(login_id: &str, live: bool) -> Call {
    Call::Reauthorise {
        account: login_id.into(),
        institution: "FlinksCapital".into(),
        auth_method: AuthMethodKind::InternetBanking,
        live,
    }
}

/// The login a re-authorisation's token session leads to.
fn card_login(call: &Call, token: &str) -> Call {
    let reply = flinks()
        .decode(
            call,
            &HttpResponse::new(200, wire::authorize_token(token).to_string()),
            NOW,
        )
        .unwrap();
    let Reply::SessionCreated(info) = reply else {
        panic!("{reply:?}")
    };
    Call::Login {
        session: PartnerSession {
            id: info.id,
            continuation: info.continuation,
        },
        institution: "FlinksCapital".into(),
        auth_method: AuthMethodKind::InternetBanking,
        values: Values::new(),
    }
}

/// A card's cached `/Authorize` answered `QUESTION_NOT_FOUND` (flinks.md
/// §3, §5) is a refusal that needs the person; the re-authorisation made
/// live after it (with tokens or without) goes out with
/// `MostRecentCached: false`, so Flinks asks the bank's question live.
#[test]
fn question_not_found_on_a_cached_card_goes_on_live() {
    let cached = card_login(&reauthorising("card-7", false), "tok_1");
    let (status, refusal) = wire::failed(&FlinksCode::QuestionNotFound, Some("req-1"), None);
    let reply = flinks()
        .decode(
            &cached,
            &HttpResponse::new(status, refusal.to_string()),
            NOW,
        )
        .unwrap();
    let Reply::Step(Step::Rejected(r)) = &reply else {
        panic!("{reply:?}")
    };
    assert!(r.needs_person, "{r:?}");
    assert_eq!(r.code.as_deref(), Some("QUESTION_NOT_FOUND"));
    // Only a card's saved login needs the person for it: the same code to
    // a typed login is an ordinary restart.
    let typed = flinks()
        .decode(
            &Call::Login {
                session: PartnerSession {
                    id: "tok_2".into(),
                    continuation: None,
                },
                institution: "FlinksCapital".into(),
                auth_method: AuthMethodKind::InternetBanking,
                values: Values::new().with("username", "u").with("password", "p"),
            },
            &HttpResponse::new(status, refusal.to_string()),
            NOW,
        )
        .unwrap();
    assert!(
        matches!(&typed, Reply::Step(Step::Rejected(r)) if !r.needs_person),
        "{typed:?}"
    );

    let live = card_login(&reauthorising("card-7", true), "tok_3");
    let req = http(flinks().encode(&live, NOW));
    assert_eq!(req.header("flinks-auth-key").unwrap().expose(), "tok_3");
    assert_eq!(
        body(&req),
        json!({"LoginId": "card-7", "MostRecentCached": false, "Save": true, "Language": "en"})
    );
    // Without tokens the opening call is the `/Authorize` itself.
    let legacy = Flinks::new(FlinksConfig::new(TOOLBOX_CUSTOMER_ID, None));
    let req = http(legacy.encode(&reauthorising("card-7", true), NOW));
    assert_eq!(body(&req)["MostRecentCached"], json!(false));
    let req = http(legacy.encode(&reauthorising("card-7", false), NOW));
    assert_eq!(body(&req)["MostRecentCached"], json!(true));
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
