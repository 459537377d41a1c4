//! One named test per quirk of Mono in `reference/mono.md` §11.

use super::*;

#[test]
fn quirk_01_response_code_inside_data() {
    let s = step(CallKind::Login, "login_code_in_data.json");
    let Step::NeedsInput { form, .. } = s else {
        panic!("{s:?}")
    };
    assert_eq!(form.title, "Enter token");
    assert_eq!(form.fields[0].name, "token");
    assert_eq!(form.fields[0].max_length, Some(6));
}

#[test]
fn quirk_02_v1_payload_directly_in_data_v2_nested() {
    // 101: v2 nests under data.accounts, v1 makes data the array.
    let Step::ChooseAccount {
        accounts: v2_accounts,
        ..
    } = step(CallKind::Login, "login_101_v2.json")
    else {
        panic!()
    };
    assert_eq!(v2_accounts.len(), 2);
    let Step::ChooseAccount { accounts, .. } = step(CallKind::Login, "login_101_v1.json") else {
        panic!()
    };
    let numbers: Vec<_> = accounts.iter().map(|a| a.number.as_str()).collect();
    assert_eq!(numbers, ["2003445566", "3004556677"]);
    assert_eq!(accounts[0].name, "CHIDI OKAFOR");
    assert_eq!(accounts[1].currency.as_deref(), Some("USD"));

    // 102: v2 nests under data.userInput, v1 makes data the {title, form}.
    let Step::NeedsInput { form, .. } = step(CallKind::Login, "login_102_v2.json") else {
        panic!()
    };
    assert_eq!(
        form,
        Form::new("Enter OTP", vec![Field::input("otp", "OTP sent to 080…")])
    );
    let Step::NeedsInput { form, .. } = step(CallKind::Commit, "login_102_v1.json") else {
        panic!()
    };
    assert_eq!(
        form,
        Form::new(
            "Security question",
            vec![Field::password("answer", "Your mother's maiden name?")]
        )
    );
    // v1 shapes decode the same under a v1-configured dialect.
    assert_eq!(
        v1().decode(CallKind::Login, &ok(200, "login_102_v1.json")),
        Ok(Reply::Step(Step::needs_input(form)))
    );
}

#[test]
fn quirk_03_session_expiry_expires_at_or_expires_at_snake() {
    assert_eq!(
        session("session_v2.json").expires_at,
        Some(Timestamp(1_735_689_600_000))
    );
    // `expires_at` as an RFC 3339 UTC string with milliseconds.
    assert_eq!(
        session("session_v2_expires_at.json").expires_at,
        Some(Timestamp(1_735_689_600_250))
    );
    // v1: numeric string.
    assert_eq!(
        session("session_v1.json").expires_at,
        Some(Timestamp(1_735_689_600_000))
    );
    // Unreadable expiry is "unknown", not an error.
    let body = json!({"data": {"session": {"id": "s", "expiresAt": "tomorrow"}}}).to_string();
    let Ok(Reply::SessionCreated(s)) =
        v2().decode(CallKind::CreateSession, &HttpResponse::new(200, body))
    else {
        panic!()
    };
    assert_eq!(s.expires_at, None);
}

#[test]
fn rfc3339_parsing_is_exact() {
    assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_rfc3339_ms("2025-01-01T00:00:00Z"),
        Some(1_735_689_600_000)
    );
    assert_eq!(
        parse_rfc3339_ms("2024-02-29T12:34:56.7Z"),
        Some(1_709_210_096_700)
    );
    assert_eq!(
        parse_rfc3339_ms("2024-02-29T12:34:56.123456789Z"),
        Some(1_709_210_096_123)
    );
    assert_eq!(
        parse_rfc3339_ms("2024-05-01T10:00:00+00:00"),
        Some(1_714_557_600_000)
    );
    for bad in [
        "2023-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00+01:00",
        "2024-01-01T00:00:00.Z",
        "1969-12-31T23:59:59Z",
        "2024-01-01",
        "",
        "2024-0a-01T00:00:00Z",
    ] {
        assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
    }
}

#[test]
fn quirk_04_login_can_end_at_99_without_commit() {
    assert_eq!(
        step(CallKind::Login, "login_99.json"),
        Step::code("code_Xy7pQ2")
    );
    assert_eq!(
        step(CallKind::Commit, "commit_99.json"),
        Step::code("code_c0mm1t")
    );
}

#[test]
fn quirk_05_commit_returns_101_or_102_again_any_number_of_times() {
    // The dialect is stateless: the same commit shapes decode identically on
    // every round, however many there are.
    for _round in 0..50 {
        let Step::ChooseAccount { accounts, .. } = step(CallKind::Commit, "commit_101_again.json")
        else {
            panic!()
        };
        assert_eq!(accounts[0].number, "0011223344");
        let Step::NeedsInput { form, .. } = step(CallKind::Commit, "commit_102_again.json") else {
            panic!()
        };
        assert_eq!(form.fields[0].name, "otp2");
    }
    assert_eq!(
        step(CallKind::Commit, "commit_400.json"),
        Step::Rejected(Rejection::retry("Invalid OTP Sent"))
    );
}

#[test]
fn quirk_06_account_pick_v1_string_index_v2_number_with_mfa() {
    let call = Call::Commit {
        session: "sess_1".into(),
        values: Values::new().with("otp", "123456"),
        account: Some(AccountChoice {
            index: 1,
            number: "0131883461".into(),
        }),
    };
    assert_post(
        &v2().encode(&call),
        "/v2/connect/commit",
        Some("sess_1"),
        json!({"accountNumber": "0131883461", "otp": "123456"}),
    );
    let req = v1().encode(&call);
    assert_post(
        &req,
        "/v1/connect/commit",
        Some("sess_1"),
        json!({"account": "1", "otp": "123456"}),
    );
    // The index is a JSON string, not a number.
    assert!(body_json(&req)["account"].is_string());
    // A pick with no MFA answers.
    let only_pick = Call::Commit {
        session: "s".into(),
        values: Values::new(),
        account: Some(AccountChoice {
            index: 0,
            number: "0131883461".into(),
        }),
    };
    assert_eq!(
        body_json(&v2().encode(&only_pick)),
        json!({"accountNumber": "0131883461"})
    );
    assert_eq!(body_json(&v1().encode(&only_pick)), json!({"account": "0"}));
}

#[test]
fn quirk_07_session_ui_kept_apart_from_catalogue_ui() {
    let banks = catalogue("institutions_firstbank.json");
    let fb = &banks[0];
    assert_eq!(fb.bank_code.as_deref(), Some("011"));
    // The institution-level and auth-method forms disagree; both are kept
    // as sent, and the method's wins in the catalogue lookup.
    let inst_ui = fb.ui.as_ref().unwrap();
    let method_ui = fb
        .method(&AuthMethodKind::InternetBanking)
        .unwrap()
        .ui
        .as_ref()
        .unwrap();
    assert_eq!(inst_ui.fields[0].name, "username");
    assert_eq!(method_ui.fields[0].name, "accountno");
    assert_ne!(inst_ui, method_ui);
    assert_eq!(
        fb.form_for(&AuthMethodKind::InternetBanking),
        Some(method_ui)
    );
    // The session carries its own form (a fresh captcha) which differs again.
    let s = session("session_firstbank.json");
    let form = s.form.unwrap();
    assert_eq!(form.fields[2].kind, FieldKind::Captcha);
    assert_eq!(form.fields[2].length, Some(6));
    assert_eq!(
        form.fields[2].value.as_deref(),
        Some("data:image/png;base64,U0VTU0lPTl9DQVBUQ0hB")
    );
    assert_ne!(&form, method_ui);
    // A present but unreadable session ui is an error, never a silent fallback
    // to the stale catalogue form.
    let body = json!({"data": {"session": {"id": "s"}, "ui": {"form": [{"hint": "no type"}]}}})
        .to_string();
    assert!(matches!(
        v2().decode(CallKind::CreateSession, &HttpResponse::new(200, body)),
        Err(CallError::Malformed(_))
    ));
}

#[test]
fn quirk_08_field_names_echoed_byte_for_byte() {
    let Step::NeedsInput { form, .. } = step(CallKind::Login, "login_field_names.json") else {
        panic!()
    };
    let names: Vec<_> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["accountNo", "accountno", "mPin"]);
    let values: Values = [
        ("accountNo", "0123456789"),
        ("accountno", "0123456789"),
        ("mPin", "12345"),
    ]
    .into_iter()
    .collect();
    let call = Call::Commit {
        session: "s".into(),
        values,
        account: None,
    };
    let body = body_json(&v2().encode(&call));
    assert_eq!(
        body,
        json!({"accountNo": "0123456789", "accountno": "0123456789", "mPin": "12345"})
    );
}

#[test]
fn quirk_09_unknown_field_types_keys_and_auth_methods_kept() {
    let banks = catalogue("institutions_unknown.json");
    // Non-objects and entries without an id are skipped; the rest survive.
    assert_eq!(banks.len(), 1);
    let b = &banks[0];
    assert_eq!(b.extra["rating"], json!(4.5));
    assert_eq!(b.extra["tags"], json!({"new": true}));
    // Auth methods without a type (or not objects) are skipped.
    assert_eq!(b.auth_methods.len(), 2);
    let m = &b.auth_methods[0];
    assert_eq!(m.kind, AuthMethodKind::Unknown("biometric_banking".into()));
    assert_eq!(m.name.as_deref(), Some("Face ID"));
    assert_eq!(m.extra["priority"], json!(1));
    let ui = m.ui.as_ref().unwrap();
    assert_eq!(ui.extra["layout"], "wide");
    let field = &ui.fields[0];
    assert_eq!(field.kind, FieldKind::Unknown("elements.slider".into()));
    assert_eq!(field.content_type, ContentType::Unknown("biometric".into()));
    assert_eq!(field.name, "Confidence");
    assert_eq!(field.extra["style"], json!({"w": 2}));
    // The form re-serializes to what was sent.
    assert_eq!(
        form_json(ui),
        json!({"title": "Scan", "layout": "wide", "form": [
            {"type": "elements.slider", "name": "Confidence", "hint": "Slide", "contentType": "biometric",
             "min": 0, "style": {"w": 2}}]})
    );
    assert_eq!(b.auth_methods[1].kind, AuthMethodKind::InternetBanking);
}

#[test]
fn quirk_10_v1_bare_array_primary_color_camel_v3_envelope_snake() {
    let v1_list = catalogue("institutions_v1.json");
    assert_eq!(v1_list.len(), 2);
    let access = &v1_list[0];
    assert_eq!(access.id, "5f2d08c060b92e2888287706");
    assert_eq!(access.name, "Access Bank");
    assert_eq!(access.kind.as_deref(), Some("PERSONAL_BANKING"));
    assert_eq!(
        access.identifier.as_deref(),
        Some("mono.connections.access")
    );
    assert_eq!(access.bank_code.as_deref(), Some("044"));
    assert_eq!(access.country.as_deref(), Some("ng"));
    assert_eq!(
        access.icon.as_deref(),
        Some("https://connect.withmono.com/icons/access.png")
    );
    assert_eq!(access.primary_color.as_deref(), Some("#f48220"));
    assert_eq!(access.ui.as_ref().unwrap().title, "Login to Access Bank");
    assert_eq!(
        access.extra["forgotPasswordLink"],
        "https://ibank.accessbankplc.com/forgot"
    );
    assert_eq!(access.extra["products"].as_array().unwrap().len(), 7);
    assert!(!access.extra.contains_key("_id") && !access.extra.contains_key("primaryColor"));
    let kinds = access.method_kinds();
    assert_eq!(
        kinds,
        [
            AuthMethodKind::InternetBanking,
            AuthMethodKind::MobileBanking
        ]
    );
    let mobile = access.method(&AuthMethodKind::MobileBanking).unwrap();
    assert!(mobile.requires_reauth);
    assert_eq!(mobile.name.as_deref(), Some("Mobile Banking"));
    assert_eq!(mobile.extra["_id"], "60a3b1c2d4e5f60718293a4c");
    assert_eq!(mobile.ui.as_ref().unwrap().fields[1].max_length, Some(4));
    // Numeric bank code becomes a string.
    assert_eq!(v1_list[1].bank_code.as_deref(), Some("50211"));

    let v3 = catalogue("institutions_v3.json");
    let gt = &v3[0];
    assert_eq!(gt.id, "5f2d08be60b92e2888287702");
    assert_eq!(gt.primary_color.as_deref(), Some("#dd4f05"));
    assert_eq!(gt.bank_code.as_deref(), Some("000013"));
    assert_eq!(
        gt.extra["scope"],
        json!([{ "name": "Financial Data", "type": "financial_data" }])
    );
    assert_eq!(gt.method_kinds(), [AuthMethodKind::MobileBanking]);
    assert_eq!(gt.timeout_ms, None);
}

#[test]
fn quirk_11_data_null_never_assumed_an_object() {
    assert_eq!(
        step(CallKind::Login, "login_400.json"),
        Step::Rejected(Rejection::retry("Invalid credentials"))
    );
    // A success code with data: null is malformed, not a panic.
    for code in [99, 101, 102] {
        let body =
            json!({"status": "successful", "message": "x", "responseCode": code, "data": null})
                .to_string();
        for kind in [CallKind::Login, CallKind::Commit] {
            assert!(matches!(
                v2().decode(kind, &HttpResponse::new(200, body.clone())),
                Err(CallError::Malformed(_))
            ));
        }
    }
    // data: null (and data of every other JSON type) for every call kind.
    for data in [
        json!(null),
        json!(7),
        json!("s"),
        json!(true),
        json!([]),
        json!([1]),
    ] {
        let body =
            json!({"status": "successful", "message": "m", "responseCode": 99, "data": data})
                .to_string();
        for kind in ALL_KINDS {
            let r = v2().decode(kind, &HttpResponse::new(200, body.clone()));
            assert!(
                r.is_err() || kind == CallKind::ListInstitutions,
                "{kind:?} {data}: {r:?}"
            );
        }
    }
    // A failed envelope on a non-step call keeps the partner's message.
    assert_eq!(
        v2().decode(CallKind::ExchangeCode, &ok(200, "login_400.json")),
        Err(CallError::Http {
            status: 200,
            message: "Invalid credentials".into()
        })
    );
}

#[test]
fn quirk_12_exchange_id_or_data_id() {
    assert_eq!(
        decode(CallKind::ExchangeCode, "exchange_plain.json"),
        Ok(Reply::Exchanged {
            account_id: "65a1f0c2e4b0a1b2c3d4e5f6".into()
        })
    );
    assert_eq!(
        decode(CallKind::ExchangeCode, "exchange_envelope.json"),
        Ok(Reply::Exchanged {
            account_id: "65a1f0c2e4b0a1b2c3d4e5f7".into()
        })
    );
    assert!(matches!(
        v2().decode(
            CallKind::ExchangeCode,
            &HttpResponse::new(200, r#"{"data":{}}"#)
        ),
        Err(CallError::Malformed(_))
    ));
}

#[test]
fn quirk_13_reauth_session_done_at_once() {
    let done = Step::code("code_reauth_4k2");
    assert_eq!(
        v2().decode_step(&ok(200, "reauth_session_99.json")),
        Ok(done.clone())
    );
    assert_eq!(step(CallKind::Login, "reauth_session_99.json"), done);
}

#[test]
fn quirk_15_balance_in_kobo() {
    let Step::ChooseAccount { accounts, .. } = step(CallKind::Login, "login_101_v2.json") else {
        panic!()
    };
    let mut first = Account::new("0131883461", "ADA OBI");
    first.kind = Some("SAVINGS_ACCOUNT".into());
    first.currency = Some("NGN".into());
    first.status = Some("active".into());
    first.balance = Some(1_250_000); // ₦12,500.00, kept in kobo
    assert_eq!(accounts[0], first);
    // A numeric string balance is accepted; unknown keys kept.
    assert_eq!(accounts[1].balance, Some(99));
    assert_eq!(accounts[1].extra["bvn"], "2222");
    // A non-integer balance is not guessed at: it stays, untouched, in extra.
    let Step::ChooseAccount { accounts, .. } = step(CallKind::Login, "login_101_v1.json") else {
        panic!()
    };
    assert_eq!(accounts[0].balance, Some(500_075));
    assert_eq!(accounts[1].balance, None);
    assert_eq!(accounts[1].extra["balance"], json!(12.5));
}

#[test]
fn quirk_16_institution_timeout_ms() {
    let banks = catalogue("institutions_v1.json");
    assert_eq!(banks[0].timeout_ms, Some(35_000));
    // Numeric string timeouts are accepted.
    assert_eq!(banks[1].timeout_ms, Some(50_000));
    assert_eq!(
        catalogue("institutions_firstbank.json")[0].timeout_ms,
        Some(50_000)
    );
}
