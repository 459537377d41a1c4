//! Refusals: every FlinksCode of the reference read as the flow's kind of
//! rejection, and its message in the session's language.

use crate::rig::*;
use connectflow::dialect::flinks::wire;
use connectflow::dialect::flinks::{FlinksCode, Language};
use connectflow::dialect::{Dialect, Flinks, FlinksConfig, HttpResponse};
use connectflow::flow::{CallError, RejectionKind, Reply, Step};

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
        ("UNKNOWN_CHALLENGE_KEY", RestartLogin),
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

/// A refused login with credentials spends its single-use authorize token
/// (flinks.md §1), so the flow must open a new session before the next
/// try, and so does one refused at its status poll; a legacy instance has
/// no token to spend, and a refused MFA answer keeps the conversation's
/// token.
#[test]
fn a_refused_login_spends_its_token_and_nothing_else_does() {
    let refused = |flinks: &Flinks, call: &connectflow::flow::Call, code: FlinksCode| {
        let (status, body) = wire::failed(&code, Some("req-1"), Some("FlinksCapital"));
        match flinks.decode(call, &HttpResponse::new(status, body.to_string()), NOW) {
            Ok(Reply::Step(Step::Rejected(r))) => r,
            other => panic!("{code:?}: {other:?}"),
        }
    };
    for code in [FlinksCode::InvalidPassword, FlinksCode::RetryLater] {
        assert!(
            refused(&flinks(), &login(), code.clone()).session_spent,
            "{code:?}"
        );
        assert!(
            !refused(&legacy(), &login(), code.clone()).session_spent,
            "{code:?}"
        );
    }
    let answer = connectflow::flow::Call::Commit {
        session: session("tok_1", Some("req-1")),
        values: connectflow::form::Values::new().with("What city were you born in?", "Toronto"),
        account: None,
    };
    let wrong = refused(&flinks(), &answer, FlinksCode::InvalidSecurityResponse);
    assert!(!wrong.session_spent);
    // A login that went to the background (a 202) and is refused at its
    // status poll went out on the token all the same.
    let poll = connectflow::flow::Call::Poll {
        session: session("tok_1", Some("req-1")),
    };
    assert!(refused(&flinks(), &poll, FlinksCode::InvalidPassword).session_spent);
    assert!(!refused(&legacy(), &poll, FlinksCode::InvalidPassword).session_spent);
}
