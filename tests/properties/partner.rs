//! The partner's side of a run: the catalogue, the forms, accounts, errors
//! and rejections the scripted host answers with, and the markers typed into
//! secret fields so a leak can be found.

use connectflow::flow::*;
use connectflow::form::{Field, FieldKind, Form};
use connectflow::testing::catalogues;
use std::sync::{Arc, OnceLock};

/// The kit's demo catalogue plus a USSD bank whose second method (manual)
/// has no login form anywhere in the catalogue, so a session without a form
/// fails. Built once: every run shares it, as a partner's cache would.
pub(crate) fn catalogue() -> Arc<Catalogue> {
    static CATALOGUE: OnceLock<Arc<Catalogue>> = OnceLock::new();
    Arc::clone(CATALOGUE.get_or_init(|| Arc::new(catalogues::demo_with_ussd_bank())))
}

/// `Op::Choose` institution selector: mostly real ids, sometimes unknown.
pub(crate) fn institution_id(k: u8) -> &'static str {
    match k % 8 {
        0..=4 => "demo-bank",
        5 | 6 => "ussd-bank",
        _ => "no-such-bank",
    }
}

/// Every method kind, offered or not (index 0..=4).
pub(crate) fn method_kind(k: u8) -> AuthMethodKind {
    match k % 5 {
        0 => AuthMethodKind::InternetBanking,
        1 => AuthMethodKind::MobileBanking,
        2 => AuthMethodKind::Manual,
        3 => AuthMethodKind::Ussd,
        _ => AuthMethodKind::Unknown("voice".into()),
    }
}

pub(crate) fn method_index(kind: &AuthMethodKind) -> u8 {
    (0..5).find(|k| method_kind(*k) == *kind).unwrap_or(4)
}

/// The MFA forms the partner asks: OTP, a security question, and a mixed
/// form (captcha, choice, an unknown field type and a memorable word).
pub(crate) fn mfa_form(k: usize) -> Form {
    match k % 3 {
        0 => Form::new(
            "Enter OTP",
            vec![Field::input("otp", "OTP sent to 080...").max_length(6)],
        ),
        1 => Form::new(
            "Security question",
            vec![Field::input("answer", "Your first school")],
        ),
        _ => Form::new(
            "Verify it's you",
            vec![
                Field {
                    kind: FieldKind::Captcha,
                    length: Some(5),
                    value: Some("data:image/png;base64,iVBORw0KGgo".into()),
                    ..Field::input("captcha", "Enter the code")
                },
                Field::choice(
                    "channel",
                    "Send code by",
                    [("sms", "SMS"), ("email", "Email")],
                ),
                Field {
                    kind: FieldKind::Unknown("elements.slider".into()),
                    ..Field::input("slider", "Slide")
                },
                Field::password("memorable", "Memorable word").max_length(20),
            ],
        ),
    }
}

/// A per-session login form, as some partners send with the session.
pub(crate) fn session_form() -> Form {
    Form::new(
        "Log in",
        vec![
            Field::input("username", "Username"),
            Field::password("password", "Password"),
            Field {
                kind: FieldKind::Captcha,
                length: Some(5),
                ..Field::input("captcha", "Enter the code")
            },
        ],
    )
}

/// A login form that asks nothing: the partner keeps the login (a returning
/// user, a cached card), so the flow sends it at once in a session the
/// person started.
pub(crate) fn saved_login_form() -> Form {
    Form::new("", Vec::new())
}

pub(crate) fn accounts(n: usize) -> Vec<Account> {
    (0..n)
        .map(|i| Account::new(format!("01318834{i:02}"), "ADA OBI"))
        .collect()
}

pub(crate) fn call_error(k: usize) -> CallError {
    match k % 7 {
        0 => CallError::Timeout,
        1 => CallError::Connect("connection reset".into()),
        2 => CallError::Http {
            status: 500,
            message: "Internal error".into(),
        },
        3 => CallError::Http {
            status: 400,
            message: "Bad request".into(),
        },
        4 => CallError::Unauthorized("invalid secret key".into()),
        5 => CallError::Malformed("expected value at line 1".into()),
        _ => CallError::RateLimited {
            retry_after_ms: Some(2_000),
        },
    }
}

pub(crate) fn rejected(kind: RejectionKind) -> Result<Reply, CallError> {
    let message = match kind {
        RejectionKind::Retry => "Invalid credentials",
        RejectionKind::SessionExpired => "Session expired",
        RejectionKind::RestartLogin => "Wrong answer",
        RejectionKind::TryLater => "Institution unreachable",
        _ => "Account locked",
    };
    Ok(Reply::Step(Step::Rejected(Rejection::new(kind, message))))
}

/// Is this a value the person would consider secret? The crate's own notion,
/// so a gap in it (a kind of secret it does not recognise) fails rule 6.
pub(crate) fn is_secretish(field: &Field) -> bool {
    field.is_secret()
}

/// Markers typed into secret fields start with one of these; nothing else in
/// the crate or the scripted partner produces either string.
pub(crate) const MARKER_PREFIXES: [&str; 2] = ["SECRET-", "\u{a4}"];

pub(crate) fn find_marker(s: &str) -> Option<String> {
    MARKER_PREFIXES.iter().find_map(|p| {
        s.find(p)
            .map(|at| s[at..].chars().take(24).collect::<String>())
    })
}
