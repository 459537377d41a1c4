//! Re-authorisation (mono.md §7): `reauth/session` answering at once or
//! with a session whose login goes to `reauth/login`; v1 cannot.

use super::*;
use connectflow::flow::PartnerSession;

fn reauthorise() -> Call {
    Call::Reauthorise {
        live: false,
        account: "acc_5f2d".into(),
        institution: "5f2d08be60b92e2888287702".into(),
        auth_method: AuthMethodKind::InternetBanking,
    }
}

fn decode_reauth(status: u16, name: &str) -> Result<Reply, CallError> {
    connectflow::dialect::Dialect::decode(&v2(), &reauthorise(), &ok(status, name), Timestamp(0))
}

#[test]
fn reauthorise_posts_the_account_to_reauth_session() {
    assert_post(
        &v2().encode(&reauthorise()),
        "/v2/connect/reauth/session",
        None,
        json!({"account": "acc_5f2d"}),
    );
    // v1 re-authorises through the widget only: answered locally, no call.
    assert!(matches!(
        connectflow::dialect::Dialect::encode(&v1(), &reauthorise(), Timestamp(0)),
        Encoded::Local(Err(CallError::Malformed(_)))
    ));
}

#[test]
fn a_code_at_once_is_a_step_and_a_session_logs_in_at_reauth_login() {
    // responseCode 99 inside data (quirk 13): linked again, no login.
    assert_eq!(
        decode_reauth(200, "reauth_session_99.json").unwrap(),
        Reply::Step(Step::code("code_reauth_4k2"))
    );
    // A session, read as create-session's, marked for reauth/login.
    let Reply::SessionCreated(info) = decode_reauth(200, "session_v2.json").unwrap() else {
        panic!("expected a session")
    };
    let expected = session("session_v2.json");
    assert_eq!(
        (info.id.as_str(), &info.form),
        (expected.id.as_str(), &expected.form)
    );
    let login = Call::Login {
        session: PartnerSession {
            id: info.id.clone(),
            continuation: info.continuation.clone(),
        },
        institution: "5f2d08be60b92e2888287702".into(),
        auth_method: AuthMethodKind::InternetBanking,
        values: Values::new().with("username", "u").with("password", "p"),
    };
    assert_post(
        &v2().encode(&login),
        "/v2/connect/reauth/login",
        Some(&info.id),
        json!({"username": "u", "password": "p"}),
    );
    // A plain session's login still goes to connect/login.
    let plain = session("session_v2.json");
    assert!(plain.continuation.is_none());
}

#[test]
fn an_account_not_found_is_an_error_with_mono_s_words() {
    let refused = connectflow::dialect::Dialect::decode(
        &v2(),
        &reauthorise(),
        &HttpResponse::new(
            404,
            r#"{"status":"failed","message":"Account not found","data":null}"#,
        ),
        Timestamp(0),
    );
    assert_eq!(
        refused,
        Err(CallError::Http {
            status: 404,
            message: "Account not found".into()
        })
    );
}

/// Mono's refusal in a 2xx envelope (`status: failed`, with or without a
/// `responseCode`) ends the re-authorisation with Mono's words, as its 4xx
/// refusal does; it is not a failed call that sends the person back to the
/// list to meet the same refusal again.
#[test]
fn a_refusal_in_a_2xx_envelope_ends_with_mono_s_words() {
    for body in [
        r#"{"status":"failed","responseCode":400,"message":"Account cannot be reauthorised","data":null}"#,
        r#"{"status":"failed","message":"Account cannot be reauthorised"}"#,
    ] {
        let reply = connectflow::dialect::Dialect::decode(
            &v2(),
            &reauthorise(),
            &HttpResponse::new(200, body),
            Timestamp(0),
        );
        match reply {
            Ok(Reply::Step(Step::Rejected(r))) => {
                assert_eq!(r.message, "Account cannot be reauthorised");
                assert_eq!(r.kind, connectflow::flow::RejectionKind::Final);
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}
