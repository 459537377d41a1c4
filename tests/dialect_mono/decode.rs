//! Decoding beyond the quirks: sessions, rejections, how HTTP statuses map
//! to call errors, and garbage.

use super::*;

#[test]
fn v2_session_decodes_fully() {
    let s = session("session_v2.json");
    assert_eq!(s.id, "sess_2a9c7e");
    assert_eq!(
        s.institution,
        Some(InstitutionRef {
            id: "5f2d08be60b92e2888287702".into(),
            name: "GTBank".into()
        })
    );
    assert_eq!(
        s.form,
        Some(Form::new(
            "Login to GTBank",
            vec![
                Field::input("username", "Username"),
                Field::password("password", "Password")
            ]
        ))
    );
    let snake = session("session_v2_expires_at.json");
    assert_eq!(snake.id, "sess_snake_1");
    assert_eq!(snake.form, None);
}

#[test]
fn v1_session_id_at_top_level_or_in_data() {
    let s = v1()
        .decode(CallKind::CreateSession, &ok(200, "session_v1.json"))
        .unwrap();
    let Reply::SessionCreated(s) = s else {
        panic!()
    };
    assert_eq!(s.id, "sess_v1_77b1");
    assert_eq!(s.form.unwrap().fields.len(), 2);
    assert_eq!(s.institution.unwrap().id, "5f2d08c060b92e2888287706");
    let body = json!({"status": "successful", "data": {"id": "sess_in_data"}}).to_string();
    let Ok(Reply::SessionCreated(s)) =
        v1().decode(CallKind::CreateSession, &HttpResponse::new(200, body))
    else {
        panic!()
    };
    assert_eq!(s.id, "sess_in_data");
    assert!(matches!(
        v1().decode(
            CallKind::CreateSession,
            &HttpResponse::new(200, r#"{"status":"successful","data":null}"#)
        ),
        Err(CallError::Malformed(_))
    ));
}

// ---- rejections -------------------------------------------------------------------

#[test]
fn rejection_classification_is_a_message_heuristic() {
    assert_eq!(
        step(CallKind::Login, "login_locked.json"),
        Step::Rejected(Rejection::terminal(
            "Your account has been locked. Please contact your bank."
        ))
    );
    let Step::Rejected(r) = step(CallKind::Commit, "login_session_expired.json") else {
        panic!()
    };
    assert_eq!(r.kind, RejectionKind::SessionExpired);
    assert_eq!(r.code, None);
    for (msg, kind) in [
        ("Invalid credentials", RejectionKind::Retry),
        ("Invalid OTP Sent", RejectionKind::Retry),
        ("Account DISABLED", RejectionKind::Final),
        ("Internet banking blocked", RejectionKind::Final),
        ("User suspended", RejectionKind::Final),
        ("Profile deactivated by bank", RejectionKind::Final),
        ("Invalid session", RejectionKind::SessionExpired),
        ("Session not found", RejectionKind::SessionExpired),
        ("session has expired", RejectionKind::SessionExpired),
        ("Session started", RejectionKind::Retry),
        ("", RejectionKind::Retry),
    ] {
        assert_eq!(classify_rejection(msg), kind, "{msg}");
    }
}

#[test]
fn status_failed_without_response_code_is_rejected() {
    let body = r#"{"status":"failed","message":"Wrong PIN","data":null}"#;
    assert_eq!(
        v2().decode(CallKind::Commit, &HttpResponse::new(200, body)),
        Ok(Reply::Step(Step::Rejected(Rejection::retry("Wrong PIN"))))
    );
    // "failed" wins over a success code: never a link code from a failure.
    let body = r#"{"status":"failed","message":"Invalid credentials","responseCode":99,"data":{"code":"c"}}"#;
    assert_eq!(
        v2().decode(CallKind::Login, &HttpResponse::new(200, body)),
        Ok(Reply::Step(Step::Rejected(Rejection::retry(
            "Invalid credentials"
        ))))
    );
}

// ---- HTTP status mapping ----------------------------------------------------------

#[test]
fn http_401_403_are_unauthorized() {
    for kind in ALL_KINDS {
        assert_eq!(
            v2().decode(kind, &ok(401, "error_401.json")),
            Err(CallError::Unauthorized("Invalid secret key".into()))
        );
        assert_eq!(
            v2().decode(kind, &HttpResponse::new(403, "")),
            Err(CallError::Unauthorized("Forbidden".into()))
        );
    }
}

#[test]
fn http_429_is_rate_limited_with_retry_after() {
    for kind in ALL_KINDS {
        let r = HttpResponse::new(429, "{}").with_header("Retry-After", " 7 ");
        assert_eq!(
            v2().decode(kind, &r),
            Err(CallError::RateLimited {
                retry_after_ms: Some(7000)
            })
        );
        let r = HttpResponse::new(429, "slow down")
            .with_header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(
            v2().decode(kind, &r),
            Err(CallError::RateLimited {
                retry_after_ms: None
            })
        );
        assert_eq!(
            v2().decode(kind, &HttpResponse::new(429, "")),
            Err(CallError::RateLimited {
                retry_after_ms: None
            })
        );
    }
}

#[test]
fn http_5xx_is_http_error() {
    for kind in ALL_KINDS {
        assert_eq!(
            v2().decode(kind, &ok(502, "error_html.html")),
            Err(CallError::Http {
                status: 502,
                message: "Bad Gateway".into()
            })
        );
        let body = r#"{"status":"failed","message":"Institution unavailable"}"#;
        let err = v2()
            .decode(kind, &HttpResponse::new(500, body))
            .unwrap_err();
        assert_eq!(
            err,
            CallError::Http {
                status: 500,
                message: "Institution unavailable".into()
            }
        );
        assert!(err.is_transient());
    }
}

#[test]
fn http_4xx_with_message_rejects_login_and_commit_only() {
    let body = r#"{"status":"failed","message":"Invalid credentials","data":null}"#;
    for status in [400, 402, 404, 409] {
        for kind in [CallKind::Login, CallKind::Commit] {
            assert_eq!(
                v2().decode(kind, &HttpResponse::new(status, body)),
                Ok(Reply::Step(Step::Rejected(Rejection::retry(
                    "Invalid credentials"
                ))))
            );
            // Without a message there is nothing to show: an HTTP error.
            assert!(matches!(
                v2().decode(kind, &HttpResponse::new(status, "<html>nope</html>")),
                Err(CallError::Http { status: s, .. }) if s == status
            ));
        }
        for kind in [
            CallKind::ListInstitutions,
            CallKind::CreateSession,
            CallKind::ExchangeCode,
        ] {
            assert_eq!(
                v2().decode(kind, &HttpResponse::new(status, body)),
                Err(CallError::Http {
                    status,
                    message: "Invalid credentials".into()
                })
            );
        }
    }
    // Statuses outside 2xx/4xx/5xx are HTTP errors too.
    assert!(matches!(
        v2().decode(CallKind::Login, &HttpResponse::new(302, "")),
        Err(CallError::Http { status: 302, .. })
    ));
}

// ---- garbage ---------------------------------------------------------------

#[test]
fn garbage_bodies_are_malformed_for_every_call() {
    let html = fixture("error_html.html");
    let truncated = fixture("truncated.json");
    let cases: [(&str, &[u8]); 7] = [
        ("empty", b""),
        ("binary", &[0xff, 0xfe, 0x00, 0x9c, 0x80]),
        ("html", &html),
        ("truncated", &truncated),
        ("number", b"42"),
        ("string", b"\"ok\""),
        ("null", b"null"),
    ];
    for kind in ALL_KINDS {
        for (what, bytes) in cases {
            match v2().decode(kind, &HttpResponse::new(200, bytes.to_vec())) {
                Err(CallError::Malformed(msg)) => {
                    assert!(msg.len() < 120, "{kind:?} {what}: message too long: {msg}");
                    assert!(!msg.contains("nginx") && !msg.contains("status"), "{msg}");
                }
                other => panic!("{kind:?} {what}: {other:?}"),
            }
        }
    }
}

#[test]
fn an_unknown_response_code_is_kept_with_mono_s_words() {
    let body = json!({"status": "successful", "message": "Approve in your app", "responseCode": 777, "data": {}});
    let r = v2().decode(CallKind::Login, &HttpResponse::new(200, body.to_string()));
    let Ok(Reply::Step(Step::Rejected(rejection))) = r else {
        panic!("{r:?}")
    };
    assert_eq!(rejection.kind, RejectionKind::Unrecognised);
    assert_eq!(rejection.code.as_deref(), Some("777"));
    assert_eq!(rejection.message, "Approve in your app");
    // Without a message: the code is said.
    let bare = json!({"status": "successful", "responseCode": 105});
    let r = v2().decode(CallKind::Commit, &HttpResponse::new(200, bare.to_string()));
    assert!(
        matches!(&r, Ok(Reply::Step(Step::Rejected(x))) if x.message.contains("105")),
        "{r:?}"
    );
}

#[test]
fn incomplete_steps_are_malformed() {
    for body in [
        json!({"status": "successful", "responseCode": 99, "data": {}}),
        json!({"status": "successful", "responseCode": 101, "data": {"accounts": []}}),
        json!({"status": "successful", "responseCode": 101, "data": {"accounts": [{"name": "no number"}]}}),
        json!({"status": "successful", "responseCode": 102, "data": {"userInput": {"title": "x", "form": [{"name": 1}]}}}),
        json!({"status": "successful", "responseCode": 102, "data": {}}),
        json!({"status": "successful", "responseCode": "soon", "data": {}}),
        json!({"status": "successful", "data": {"code": "c"}}),
        json!([1, 2]),
    ] {
        let r = v2().decode(CallKind::Login, &HttpResponse::new(200, body.to_string()));
        assert!(matches!(r, Err(CallError::Malformed(_))), "{body}: {r:?}");
    }
    // Not a list at all.
    for body in [
        json!({"data": {"x": 1}}),
        json!({"status": "successful"}),
        json!([1, "x", null]),
    ] {
        let r = v2().decode(
            CallKind::ListInstitutions,
            &HttpResponse::new(200, body.to_string()),
        );
        assert!(matches!(r, Err(CallError::Malformed(_))), "{body}: {r:?}");
    }
    // An empty list is a valid (empty) catalogue.
    let Ok(Reply::Institutions(c)) =
        v2().decode(CallKind::ListInstitutions, &HttpResponse::new(200, "[]"))
    else {
        panic!()
    };
    assert!(c.institutions().is_empty());
}
