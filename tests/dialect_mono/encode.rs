//! Encoding every call, v1 and v2, and keeping the key out of `Debug`.

use super::*;
use connectflow::flow::PartnerCustomer;

#[test]
fn encode_list_institutions() {
    let req = v2().encode(&Call::ListInstitutions);
    assert_eq!(req.method, Method::Get);
    assert_eq!(req.path, "/v3/institutions?scope=financial_data");
    assert_eq!(req.headers.len(), 1);
    assert!(
        matches!(req.header("mono-sec-key"), Some(HeaderValue::Secret(s)) if s.expose() == KEY)
    );
    assert_eq!(req.body, None);

    let odd = Mono::new(MonoConfig::new(KEY, Customer::existing("c")).scope("a b&c"));
    assert_eq!(
        odd.encode(&Call::ListInstitutions).path,
        "/v3/institutions?scope=a%20b%26c"
    );

    let req = v1().encode(&Call::ListInstitutions);
    assert_eq!(
        (req.method, req.path.as_str(), &req.body),
        (Method::Get, "/v1/institutions", &None)
    );
    assert!(matches!(
        req.header("mono-sec-key"),
        Some(HeaderValue::Secret(_))
    ));
}

#[test]
fn encode_create_session_v2_new_and_existing_customer() {
    assert_post(
        &v2().encode(&create_session()),
        "/v2/connect/session",
        None,
        json!({"institution": "5f2d08be60b92e2888287702", "auth_method": "internet_banking",
               "scope": "financial_data", "customer": {"name": "Ada Obi", "email": "ada@example.com"}}),
    );
    let existing = Mono::new(MonoConfig::new(KEY, Customer::existing("cus_77")).scope("payments"));
    let call = Call::CreateSession {
        institution: "i".into(),
        auth_method: AuthMethodKind::Unknown("smart_banking".into()),
        customer: None,
    };
    assert_post(
        &existing.encode(&call),
        "/v2/connect/session",
        None,
        json!({"institution": "i", "auth_method": "smart_banking", "scope": "payments", "customer": {"id": "cus_77"}}),
    );
    // The flow's own customer (the host's, per person) goes in place of
    // the configured one, known or new.
    for (customer, sent) in [
        (
            PartnerCustomer::Known { id: "cus_9".into() },
            json!({"id": "cus_9"}),
        ),
        (
            PartnerCustomer::New {
                name: "Kemi Ade".into(),
                email: "kemi@example.com".into(),
            },
            json!({"name": "Kemi Ade", "email": "kemi@example.com"}),
        ),
    ] {
        let call = Call::CreateSession {
            institution: "i".into(),
            auth_method: AuthMethodKind::InternetBanking,
            customer: Some(customer),
        };
        assert_eq!(body_json(&existing.encode(&call))["customer"], sent);
    }
    // A host that names each flow's customer configures none: a flow that
    // names no one is refused before anything is sent, never filed under a
    // shared customer; one that names theirs goes out with it.
    let per_flow = Mono::new(MonoConfig::per_flow_customer(KEY));
    let unnamed = Call::CreateSession {
        institution: "i".into(),
        auth_method: AuthMethodKind::InternetBanking,
        customer: None,
    };
    assert!(matches!(
        connectflow::dialect::Dialect::encode(&per_flow, &unnamed, Timestamp(0)),
        Encoded::Local(Err(CallError::Malformed(_)))
    ));
    let named = Call::CreateSession {
        institution: "i".into(),
        auth_method: AuthMethodKind::InternetBanking,
        customer: Some(PartnerCustomer::Known { id: "cus_9".into() }),
    };
    assert_eq!(
        body_json(&per_flow.encode(&named))["customer"],
        json!({"id": "cus_9"})
    );
}

#[test]
fn encode_create_session_v1() {
    assert_post(
        &v1().encode(&create_session()),
        "/v1/connect/session",
        None,
        json!({"app": "app_5f9e", "institution": "5f2d08be60b92e2888287702", "auth_method": "internet_banking"}),
    );
    let no_app = Mono::new(MonoConfig::new(KEY, Customer::existing("c")).version(MonoVersion::V1));
    let call = Call::CreateSession {
        institution: "i".into(),
        auth_method: AuthMethodKind::MobileBanking,
        customer: None,
    };
    assert_eq!(
        body_json(&no_app.encode(&call)),
        json!({"institution": "i", "auth_method": "mobile_banking"})
    );
}

#[test]
fn encode_login_v1_and_v2() {
    let want = json!({"username": "user_good", "password": "hunter2-PASSWORD"});
    assert_post(
        &v2().encode(&login_call()),
        "/v2/connect/login",
        Some("sess_2a9c7e"),
        want.clone(),
    );
    assert_post(
        &v1().encode(&login_call()),
        "/v1/connect/login",
        Some("sess_2a9c7e"),
        want,
    );
    // Exact bytes: a flat object, nothing else.
    assert_eq!(
        v2().encode(&login_call()).body.unwrap(),
        br#"{"password":"hunter2-PASSWORD","username":"user_good"}"#.to_vec()
    );
}

#[test]
fn encode_commit_mfa_only() {
    let call = Call::Commit {
        session: "sess_9".into(),
        values: Values::new().with("otp", "123456"),
        account: None,
    };
    assert_post(
        &v2().encode(&call),
        "/v2/connect/commit",
        Some("sess_9"),
        json!({"otp": "123456"}),
    );
    assert_post(
        &v1().encode(&call),
        "/v1/connect/commit",
        Some("sess_9"),
        json!({"otp": "123456"}),
    );
}

#[test]
fn encode_exchange_v1_and_v2() {
    let call = Call::ExchangeCode {
        code: "code_xyz".into(),
    };
    assert_post(
        &v2().encode(&call),
        "/v2/accounts/auth",
        None,
        json!({"code": "code_xyz"}),
    );
    assert_post(
        &v1().encode(&call),
        "/account/auth",
        None,
        json!({"code": "code_xyz"}),
    );
}

#[test]
fn debug_of_a_request_never_shows_the_key_or_body() {
    let calls = [
        Call::ListInstitutions,
        create_session(),
        login_call(),
        Call::Commit {
            session: "s".into(),
            values: Values::new().with("otp", "918273"),
            account: None,
        },
        Call::ExchangeCode { code: "c".into() },
    ];
    for dialect in [v1(), v2()] {
        for call in &calls {
            let req = dialect.encode(call);
            let dbg = format!("{req:?}");
            assert!(!dbg.contains("SUPERSECRET"), "{dbg}");
            assert!(!dbg.contains("hunter2") && !dbg.contains("918273"), "{dbg}");
            assert!(dbg.contains("\"mono-sec-key\": \"***\""), "{dbg}");
            assert!(dbg.contains(&req.path));
        }
    }
    let dbg = format!("{:?}", v2().encode(&login_call()));
    assert!(dbg.contains("\"x-session-id\": \"sess_2a9c7e\""), "{dbg}");
    assert!(dbg.contains("body: 54 bytes"), "{dbg}");
    assert!(!format!("{:?}", v2()).contains("SUPERSECRET"));
}

#[test]
fn customer_serializes_as_monos_object() {
    assert_eq!(
        serde_json::to_value(Customer::existing("c1")).unwrap(),
        json!({"id": "c1"})
    );
    let new = Customer::new_customer("Ada", "a@x.co");
    assert_eq!(
        serde_json::to_value(&new).unwrap(),
        json!({"name": "Ada", "email": "a@x.co"})
    );
    assert_eq!(
        serde_json::from_value::<Customer>(json!({"name": "Ada", "email": "a@x.co"})).unwrap(),
        new
    );
    let req: wire::SessionRequest =
        serde_json::from_slice(&v2().encode(&create_session()).body.unwrap()).unwrap();
    assert_eq!(
        req.customer,
        Some(Customer::new_customer("Ada Obi", "ada@example.com"))
    );
    assert_eq!(req.auth_method, "internet_banking");
    assert_eq!(MonoConfig::new(KEY, new).version, MonoVersion::V2);
}
