//! Unit tests of the form module: descriptor round trips, validation, and
//! which values are kept secret.

use super::*;

#[test]
fn a_long_label_is_not_repeated_in_the_message() {
    let e = FieldError::new(
        "otp".into(),
        "Enter the OTP sent to ********005",
        Problem::TooLong { max: 6 },
    );
    assert_eq!(e.message(), "OTP: at most 6 digits");
    let e = FieldError::new("username".into(), "Username", Problem::TooLong { max: 9 });
    assert_eq!(e.message(), "Username: at most 9 characters");
}

fn login() -> Form {
    serde_json::from_str(
        r#"{"title":"Login to First Bank","form":[
          {"type":"elements.input","name":"username","hint":"Username","contentType":"string"},
          {"type":"elements.input","name":"password","hint":"Password","contentType":"password"},
          {"type":"elements.captcha_input","name":"captcha","hint":"Enter code","contentType":"string",
           "length":5,"value":"data:image/png;base64,iVBORw0KGgo"}]}"#,
    )
    .unwrap()
}

#[test]
fn unknown_types_and_keys_round_trip() {
    let raw = serde_json::json!({
        "title": "T", "layout": "grid",
        "form": [{ "type": "elements.slider", "name": "x", "contentType": "biometric",
                   "hint": "X", "min": 1, "style": { "w": 2 } }]
    });
    let form: Form = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(
        form.fields[0].kind,
        FieldKind::Unknown("elements.slider".into())
    );
    assert_eq!(
        form.fields[0].content_type,
        ContentType::Unknown("biometric".into())
    );
    assert_eq!(form.extra["layout"], "grid");
    assert_eq!(serde_json::to_value(&form).unwrap(), raw);
}

/// A descriptor's `contentType` is read whatever its case: a field a
/// partner marks `Password` (or `PASSWORD`) is a secret however it is
/// named, so its value is masked and never kept as a prefill.
#[test]
fn a_password_content_type_is_read_whatever_its_case() {
    for sent in ["password", "Password", "PASSWORD"] {
        let field: Field = serde_json::from_value(serde_json::json!({
            "type": "elements.input", "name": "memorable_word", "hint": "Memorable word",
            "contentType": sent
        }))
        .unwrap();
        assert_eq!(field.content_type, ContentType::Password, "{sent}");
        assert!(field.is_secret(), "{sent}");
    }
    let field: Field = serde_json::from_value(serde_json::json!({
        "type": "elements.input", "name": "memorable_word", "contentType": "String"
    }))
    .unwrap();
    assert_eq!(field.content_type, ContentType::Text);
    assert!(!field.is_secret());
}

#[test]
fn every_field_is_required_and_all_errors_come_at_once() {
    let errs = login().validate(&Values::new()).unwrap_err();
    let msgs: Vec<_> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        msgs,
        [
            "Username is required",
            "Password is required",
            "Enter code is required"
        ]
    );
}

#[test]
fn captcha_length_is_exact() {
    let v = Values::new()
        .with("username", "ada")
        .with("password", "pw")
        .with("captcha", "abcd");
    let errs = login().validate(&v).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].problem, Problem::WrongLength { expected: 5 });
    assert!(login().validate(&v.with("captcha", "abcde")).is_ok());
}

#[test]
fn unexpected_and_whitespace_values_are_refused() {
    let v = Values::new()
        .with("username", "  ")
        .with("password", "pw")
        .with("captcha", "abcde")
        .with("pasword", "typo");
    let errs = login().validate(&v).unwrap_err();
    assert_eq!(errs[0].problem, Problem::Required);
    assert_eq!(errs[1].problem, Problem::Unexpected);
    assert_eq!(errs[1].field, "pasword");
}

#[test]
fn choice_accepts_only_its_options() {
    let form = Form::new(
        "Verify",
        vec![Field::choice(
            "identifier",
            "Identify with",
            [("bvn", "BVN"), ("dob", "Date of birth")],
        )],
    );
    assert!(form
        .validate(&Values::new().with("identifier", "bvn"))
        .is_ok());
    let errs = form
        .validate(&Values::new().with("identifier", "BVN"))
        .unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "Identify with: choose one of the options"
    );
}

proptest::proptest! {
    /// Invariant: a field's name makes it secret exactly when, lowercased,
    /// it contains one of the secret parts, whatever its case, non-ASCII
    /// letters among them (`é`, and `K` and `ſ`, which Unicode case folding
    /// would take for `k` and `s`): `is_secret` compares in place, without
    /// the lowercased copy.
    #[test]
    fn a_secret_name_is_one_that_lowercased_contains_a_part(
        name in "(?i)[a-z_]{0,4}(pass|pin|otp|token|cvv|secret|answer)?[a-zé_]{0,4}",
    ) {
        let lowered = name.to_ascii_lowercase();
        let want = SECRET_NAME_PARTS.iter().any(|part| lowered.contains(part));
        proptest::prop_assert_eq!(Field::input(name.clone(), "").is_secret(), want, "{}", name);
    }
}

#[test]
fn secrets_are_recognised_by_content_type_and_name() {
    let form = login();
    assert!(!form.fields[0].is_secret());
    assert!(form.fields[1].is_secret());
    assert!(Field::input("mPin", "M-PIN").is_secret());
    assert!(Field::input("otp", "OTP").is_secret());
    assert!(!Field::input("accountNo", "Account").is_secret());
    assert!(Field::input("answer", "What city were you born in?").is_secret());
    let v = Values::new()
        .with("username", "ada")
        .with("password", "hunter2");
    assert_eq!(
        format!("{v:?}"),
        r#"{"username": Secret(***), "password": Secret(***)}"#
    );
    assert_eq!(
        v.public_part(&form),
        vec![("username".to_string(), "ada".to_string())]
    );
}

#[test]
fn max_length_counts_characters_not_bytes() {
    let f = Field::input("name", "Name").max_length(3);
    assert!(f.check(&Secret::new("éèà")).is_ok());
    assert_eq!(
        f.check(&Secret::new("abcd")),
        Err(Problem::TooLong { max: 3 })
    );
}
