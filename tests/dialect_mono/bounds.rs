//! Bounds on what a Mono reply makes the flow keep (`dialect::bounds`): a
//! session record is capped at 256 KB and meant to stay near 16 KB, and one
//! that cannot be saved after a login loses the bank's answer. Lists past
//! their cap are refused as malformed (cut, they would change what the
//! person answers or links); display text is cut; what is sent back exactly
//! is refused when absurdly long.

use super::*;
use connectflow::flow::Catalogue;

/// What the record would hold of `value`: its JSON length.
fn stored_len(value: &impl serde::Serialize) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |b| b.len())
}

fn reply(kind: CallKind, body: &Value) -> Result<Reply, CallError> {
    v2().decode(kind, &HttpResponse::new(200, body.to_string()))
}

fn needs_input(form: Value) -> Value {
    json!({ "status": "successful", "message": "Input required", "responseCode": 102,
            "data": { "userInput": form } })
}

fn malformed_saying(result: Result<Reply, CallError>, words: &str) {
    match result {
        Err(CallError::Malformed(m)) => assert!(m.contains(words), "{m:?} says {words:?}"),
        other => panic!("expected a malformed reply ({words}), got {other:?}"),
    }
}

/// Finding: a `102` form's field list was kept whatever its length: 10,000
/// fields went into the session, which then could not be saved. The reply is
/// refused as malformed (the person sees the call failed, and the session
/// is still saveable), not cut: a form missing a field the bank asks for
/// could never be answered right, and the bank would say why only after a
/// wasted try.
#[test]
fn a_102_with_10_000_fields_is_refused_as_malformed() {
    let fields: Vec<Value> = (0..10_000)
        .map(|i| json!({ "type": "elements.input", "name": format!("f{i}"), "hint": "OTP" }))
        .collect();
    let body = needs_input(json!({ "title": "Verify", "form": fields }));
    malformed_saying(reply(CallKind::Login, &body), "more than 32 form fields");

    // At the cap, the form is kept whole.
    let fields: Vec<Value> = (0..32)
        .map(|i| json!({ "type": "elements.input", "name": format!("f{i}"), "hint": "OTP" }))
        .collect();
    let body = needs_input(json!({ "title": "Verify", "form": fields }));
    let Ok(Reply::Step(Step::NeedsInput { form, .. })) = reply(CallKind::Commit, &body) else {
        panic!("32 fields is a form");
    };
    assert_eq!(form.fields.len(), 32);
}

/// Finding: a choice field's options were kept whatever their number. 10,000
/// options is a malformed reply, not a list cut to its first hundred: the
/// option the person needs may be the one dropped.
#[test]
fn a_102_choice_with_10_000_options_is_refused_as_malformed() {
    let options: Vec<Value> = (0..10_000)
        .map(|i| json!({ "value": format!("{i}"), "label": format!("Branch {i}") }))
        .collect();
    let body = needs_input(json!({ "title": "Where?", "form": [
        { "type": "elements.choice", "name": "branch", "hint": "Branch", "options": options }
    ] }));
    malformed_saying(reply(CallKind::Login, &body), "more than 100 options");
}

/// Finding: a `102` form's title, hints, option labels, unknown type names
/// and unmodelled keys (a `label`, a `placeholder`) were kept verbatim. With
/// 100 KB of each, the reply decodes to a form the person can still answer:
/// display text cut to 300 characters (between characters), type names to
/// 64, unknown keys past a 1 KB budget left out, and the field names it
/// answers with untouched; the form the session keeps is a few KB, well
/// under the 16 KB a record is meant to stay near.
#[test]
fn a_102_with_100_kb_labels_decodes_to_a_bounded_form() {
    let huge = "é".repeat(50_000); // 100 KB
    let body = needs_input(json!({
        "title": huge,
        "banner": huge,
        "form": [
            { "type": "elements.input", "name": "otp", "hint": huge, "contentType": "string",
              "label": huge, "placeholder": huge, "maxLength": 6, "style": { "w": 2 } },
            { "type": format!("elements.{huge}"), "name": "token", "hint": "Token",
              "contentType": huge },
            { "type": "elements.choice", "name": "channel", "hint": "Send the code by",
              "options": [{ "value": "sms", "label": huge }, { "value": "email", "label": "Email" }] },
        ],
    }));
    let Ok(Reply::Step(Step::NeedsInput { form, .. })) = reply(CallKind::Login, &body) else {
        panic!("a bounded form, not a refusal: only display text is too long");
    };
    let cut = "é".repeat(300);
    assert_eq!(form.title, cut);
    assert!(!form.extra.contains_key("banner"));
    let [otp, token, channel] = form.fields.as_slice() else {
        panic!("every field kept");
    };
    assert_eq!(
        (otp.name.as_str(), otp.hint.as_str()),
        ("otp", cut.as_str())
    );
    assert_eq!(otp.max_length, Some(6));
    assert!(!otp.extra.contains_key("label") && !otp.extra.contains_key("placeholder"));
    assert_eq!(
        otp.extra["style"],
        json!({ "w": 2 }),
        "small unknown keys stay"
    );
    let FieldKind::Unknown(kind) = &token.kind else {
        panic!("an unknown type stays unknown");
    };
    assert_eq!(kind.chars().count(), 64);
    assert!(matches!(&token.content_type, ContentType::Unknown(c) if c.chars().count() == 64));
    assert_eq!(channel.options[0].value, "sms");
    assert_eq!(channel.options[0].label, cut);
    // The person can still answer it.
    let values = Values::new()
        .with("otp", "123456")
        .with("token", "t")
        .with("channel", "sms");
    assert!(form.validate(&values).is_ok());
    assert!(stored_len(&form) < 8 * 1024, "{}", stored_len(&form));
}

/// Finding: what a `102` form sends back (a field name, an option value) and
/// a field's value (a captcha image) were kept whatever their size. Cut,
/// a name or value would be wrong and an image broken, so a 100 KB one is a
/// malformed reply.
#[test]
fn a_102_with_a_huge_name_option_value_or_captcha_is_refused() {
    let huge = "x".repeat(100_000);
    let forms = [
        (
            json!([{ "type": "elements.input", "name": huge }]),
            "field name",
        ),
        (
            json!([{ "type": "elements.choice", "name": "c", "options": [{ "value": huge, "label": "A" }] }]),
            "option value",
        ),
        (
            json!([{ "type": "elements.captcha_input", "name": "captcha", "length": 5,
                     "value": format!("data:image/png;base64,{huge}") }]),
            "field value",
        ),
    ];
    for (fields, says) in forms {
        let body = needs_input(json!({ "title": "T", "form": fields }));
        malformed_saying(reply(CallKind::Login, &body), says);
        // A session's login form is held to the same bounds.
        let session = json!({ "data": { "session": { "id": "sess_1" },
                                        "ui": { "title": "T", "form": fields } } });
        malformed_saying(reply(CallKind::CreateSession, &session), says);
    }
}

/// Finding: a `101` account list was kept whatever its length: 10,000
/// accounts made the session unsaveable. It is refused as malformed, never
/// cut: the account a person wants to link may be the one dropped. 100
/// accounts, the cap, are all offered.
#[test]
fn a_101_with_10_000_accounts_is_refused_as_malformed() {
    let accounts = |n: usize| -> Value {
        let list: Vec<Value> = (0..n)
            .map(|i| json!({ "accountNumber": format!("{i:010}"), "name": "ADA OBI", "type": "SAVINGS_ACCOUNT", "currency": "NGN", "balance": 1000 }))
            .collect();
        json!({ "status": "successful", "responseCode": 101, "data": { "accounts": list } })
    };
    malformed_saying(
        reply(CallKind::Login, &accounts(10_000)),
        "more than 100 accounts",
    );
    let Ok(Reply::Step(Step::ChooseAccount { accounts, .. })) =
        reply(CallKind::Login, &accounts(100))
    else {
        panic!("100 accounts is a choice");
    };
    assert_eq!(accounts.len(), 100);
    assert!(
        stored_len(&accounts) < 16 * 1024,
        "{}",
        stored_len(&accounts)
    );
}

/// Finding: a `101` account's number (sent back on commit) and its unmodelled
/// keys were kept whatever their size. A 100 KB number is a malformed reply
/// (cut, it would be another account); a 100 KB unknown key is left out and
/// the account still offered.
#[test]
fn a_101_account_number_is_refused_when_huge_and_its_extras_are_bounded() {
    let huge = "9".repeat(100_000);
    let body = json!({ "responseCode": 101, "data": { "accounts": [
        { "accountNumber": huge, "name": "ADA OBI" }
    ] } });
    malformed_saying(reply(CallKind::Login, &body), "account number");
    let body = json!({ "responseCode": 101, "data": { "accounts": [
        { "accountNumber": "0123456789", "name": "ADA OBI", "bvn": "2222", "notes": huge }
    ] } });
    let Ok(Reply::Step(Step::ChooseAccount { accounts, .. })) = reply(CallKind::Login, &body)
    else {
        panic!("the account is still offered");
    };
    assert_eq!(accounts[0].number, "0123456789");
    assert_eq!(accounts[0].extra.get("bvn"), Some(&json!("2222")));
    assert!(!accounts[0].extra.contains_key("notes"));
}

/// Finding: identifiers Mono sends for us to send back (a session id, a link
/// code, the durable account id, the session's institution id) were kept
/// whatever their size; a 100 KB one is a malformed reply.
#[test]
fn huge_session_ids_codes_and_account_ids_are_refused() {
    let huge = "s".repeat(100_000);
    malformed_saying(
        reply(
            CallKind::CreateSession,
            &json!({ "data": { "session": { "id": huge } } }),
        ),
        "session id",
    );
    malformed_saying(
        reply(
            CallKind::CreateSession,
            &json!({ "data": { "session": { "id": "s1", "institution": { "id": huge } } } }),
        ),
        "institution id",
    );
    malformed_saying(
        reply(
            CallKind::Login,
            &json!({ "responseCode": 99, "data": { "code": huge } }),
        ),
        "link code",
    );
    malformed_saying(
        reply(CallKind::ExchangeCode, &json!({ "id": huge })),
        "account id",
    );
}

/// Finding: an institution's fields other than its name (`icon`, `type`,
/// `country`, the colour, identifiers, unknown keys) were kept verbatim in
/// the catalogue every flow shares and every link page is sent. A 1 MB icon
/// is left out (cut, it would be a broken image; the bank is listed
/// without one), words are cut to 64 characters, a 1 MB unknown key is left
/// out, and the bank is still offered with its login form: its catalogue
/// entry is a few KB.
#[test]
fn a_catalogue_with_a_1_mb_icon_is_bounded() {
    let mb = "i".repeat(1_000_000);
    let body = json!({ "data": [
        { "_id": "gtbank", "name": "GTBank", "icon": format!("https://cdn.example/{mb}.png"),
          "type": mb, "country": mb, "primary_color": mb, "identifier": mb, "nip_code": mb,
          "products": ["Auth"], "brochure": mb,
          "auth_methods": [{ "type": "internet_banking", "name": mb, "logo": mb,
            "ui": { "title": "Login", "form": [
              { "type": "elements.input", "name": "username", "hint": "Username" }] } }] },
        { "_id": "access", "name": "Access Bank", "icon": "https://cdn.example/access.png" },
    ] });
    let Ok(Reply::Institutions(catalogue)) = reply(CallKind::ListInstitutions, &body) else {
        panic!("the catalogue is still read");
    };
    let [gt, access] = catalogue.institutions() else {
        panic!("both banks listed");
    };
    assert_eq!(gt.icon, None);
    assert_eq!(
        access.icon.as_deref(),
        Some("https://cdn.example/access.png")
    );
    for word in [&gt.kind, &gt.country, &gt.primary_color] {
        assert_eq!(word.as_ref().map(|w| w.chars().count()), Some(64));
    }
    assert_eq!(
        (gt.identifier.as_deref(), gt.bank_code.as_deref()),
        (None, None)
    );
    let keys: Vec<&str> = gt.extra.keys().map(String::as_str).collect();
    assert_eq!(keys, ["products"], "only what fits the budget is kept");
    let method = &gt.auth_methods[0];
    assert_eq!(method.name.as_ref().map(|n| n.chars().count()), Some(300));
    assert!(method.extra.is_empty());
    assert!(gt.form_for(&AuthMethodKind::InternetBanking).is_some());
    assert!(stored_len(gt) < 4 * 1024, "{}", stored_len(gt));
}

/// Finding: catalogue lists had no bound either. An entry whose id (sent
/// back to open a session) is absurdly long, or with more ways to log in
/// than any bank has, is skipped like an entry without an id, and the rest
/// of the list is offered; a catalogue form past its bounds is left out,
/// as an unreadable one is, and `check` says why. A list of 10,000 banks
/// is refused: cut, it would hide banks without a word.
#[test]
fn catalogue_lists_are_bounded_entry_by_entry_and_as_a_whole() {
    let methods: Vec<Value> = (0..17)
        .map(|i| json!({ "type": format!("method_{i}") }))
        .collect();
    let fields: Vec<Value> = (0..40)
        .map(|i| json!({ "type": "elements.input", "name": format!("f{i}") }))
        .collect();
    let body = json!([
        { "_id": "x".repeat(2000), "name": "Long Id Bank" },
        { "_id": "many", "name": "Many Ways Bank", "auth_methods": methods },
        { "_id": "wide", "name": "Wide Form Bank", "ui": { "title": "Login", "form": fields } },
        { "_id": "gtbank", "name": "GTBank" },
    ]);
    let Ok(Reply::Institutions(catalogue)) = reply(CallKind::ListInstitutions, &body) else {
        panic!("the usable banks are still listed");
    };
    let ids: Vec<&str> = catalogue
        .institutions()
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(ids, ["wide", "gtbank"]);
    assert_eq!(catalogue.institutions()[0].ui, None);

    let file = Catalogue::from_mono_json_checked(body.to_string().as_bytes()).unwrap();
    let problems = file.problems.join("\n");
    assert!(
        problems.contains("`_id` longer than 1024 bytes"),
        "{problems}"
    );
    assert!(problems.contains("more than 16 auth methods"), "{problems}");
    assert!(problems.contains("more than 32 form fields"), "{problems}");

    let many: Vec<Value> = (0..10_000)
        .map(|i| json!({ "_id": format!("bank_{i}"), "name": "Bank" }))
        .collect();
    malformed_saying(
        reply(CallKind::ListInstitutions, &json!({ "data": many })),
        "more than 1000 institutions",
    );
}
