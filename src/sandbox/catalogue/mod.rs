//! The sandbox's institutions and their login forms.

mod banks;

use crate::flow::{AuthMethod, AuthMethodKind, Institution, Rejection, RejectionKind};
use crate::form::{Extra, Field, FieldKind, Form};
use banks::{Offers, BANKS};
use serde_json::{json, Value};

/// `_id` of the institution with all four auth methods.
pub const SANDBOX_BANK: &str = "sandbox-bank";
/// `_id` of the institution whose internet-banking form has a captcha.
pub const SANDBOX_CAPTCHA_BANK: &str = "sandbox-captcha-bank";

/// `_id` of the institution that answers every right login with an
/// outcome Mono does not document (`responseCode` 104).
pub(crate) const SANDBOX_NEXT_BANK: &str = "sandbox-next-bank";

/// What a login field means to the sandbox, whatever the bank calls it
/// (`accountNo`, `accountno`, `accountNumber` are the same thing here, as
/// they are at the banks; mono.md §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Username,
    Password,
    Phone,
    AccountNumber,
    MobilePin,
    UssdPin,
    IdType,
    IdValue,
    Captcha,
}

/// The role of the login field `name` under `method`; `None` for a name no
/// sandbox form uses.
pub(crate) fn role(method: &AuthMethodKind, name: &str) -> Option<Role> {
    Some(match name {
        "username" => Role::Username,
        "password" => Role::Password,
        "phone" => Role::Phone,
        "accountNumber" | "accountNo" | "accountno" => Role::AccountNumber,
        "pin" if *method == AuthMethodKind::Ussd => Role::UssdPin,
        "pin" => Role::MobilePin,
        "identifier" => Role::IdType,
        "value" => Role::IdValue,
        "captcha" => Role::Captcha,
        _ => return None,
    })
}

fn internet_banking(bank: &str) -> Form {
    Form::new(
        format!("Login to {bank}"),
        vec![
            Field::input("username", "Username"),
            Field::password("password", "Password"),
        ],
    )
}

/// `account_field` is the bank's own name for the account-number field.
fn mobile_banking_by_account(bank: &str, account_field: &str) -> Form {
    Form::new(
        format!("Login to {bank} mobile app"),
        vec![
            Field::input(account_field, "Account number").max_length(10),
            Field::password("pin", "6-digit mobile PIN").max_length(6),
        ],
    )
}

fn method(kind: AuthMethodKind, form: Form) -> AuthMethod {
    let mut m = AuthMethod::new(kind.clone(), Some(form));
    m.name = Some(kind.label().to_owned());
    m
}

/// The sandbox-bank forms, one per auth method.
fn sandbox_methods() -> Vec<AuthMethod> {
    vec![
        method(
            AuthMethodKind::InternetBanking,
            internet_banking("Sandbox Bank"),
        ),
        method(
            AuthMethodKind::MobileBanking,
            Form::new(
                "Login to Sandbox Bank mobile app",
                vec![
                    Field::input("phone", "Phone number").max_length(11),
                    Field::password("pin", "6-digit mobile PIN").max_length(6),
                ],
            ),
        ),
        method(
            AuthMethodKind::Manual,
            Form::new(
                "Link with your account number",
                vec![
                    Field::input("accountNo", "Account number").max_length(10),
                    Field::choice(
                        "identifier",
                        "Verify with",
                        [
                            ("bvn", "BVN"),
                            ("dob", "Date of birth (YYYY-MM-DD)"),
                            ("phone", "Phone number"),
                            ("email", "Email address"),
                        ],
                    ),
                    Field::input("value", "BVN, date of birth, phone or email"),
                ],
            ),
        ),
        method(
            AuthMethodKind::Ussd,
            Form::new(
                "Link with your USSD PIN",
                vec![
                    Field::input("accountNo", "Account number").max_length(10),
                    Field::password("pin", "4-digit USSD PIN").max_length(4),
                ],
            ),
        ),
    ]
}

/// The captcha bank's catalogue form; the bank replaces the captcha field
/// with a fresh image in each session.
fn captcha_catalogue_form() -> Form {
    let mut form = internet_banking("Sandbox Captcha Bank");
    form.fields.push(Field {
        kind: FieldKind::Captcha,
        length: Some(super::captcha::LENGTH as u32),
        ..Field::input("captcha", "Type the characters in the image")
    });
    form
}

fn entry(
    id: &str,
    name: &str,
    slug: &str,
    code: &str,
    color: &str,
    methods: Vec<AuthMethod>,
) -> Institution {
    let mut i = Institution::new(id, name, methods);
    i.kind = Some("PERSONAL_BANKING".into());
    i.identifier = Some(format!("mono.connections.{slug}"));
    i.bank_code = Some(code.into());
    i.country = Some("ng".into());
    i.primary_color = Some(color.into());
    // No `timeout`: Mono's v3 list has none (mono.md §2; v1's had one), so
    // a login waits the driver's cap, as against the real API.
    // The wire builder writes the v3 `nip_code`; the brief and v1 clients also
    // read `bank_code`, so both are sent (the dialect takes `bank_code` first).
    let mut extra = Extra::new();
    extra.insert("bank_code".into(), Value::String(code.into()));
    extra.insert(
        "scope".into(),
        json!([{ "name": "Financial Data", "type": "financial_data" }]),
    );
    i.extra = extra;
    i
}

/// Every institution the sandbox serves, in list order: `sandbox-bank`,
/// `sandbox-captcha-bank`, 17 Nigerian banks, then `sandbox-next-bank`.
pub fn institutions() -> Vec<Institution> {
    let mut list = vec![
        entry(
            SANDBOX_BANK,
            "Sandbox Bank",
            "sandbox_bank",
            "000",
            "#1a7f64",
            sandbox_methods(),
        ),
        entry(
            SANDBOX_CAPTCHA_BANK,
            "Sandbox Captcha Bank",
            "sandbox_captcha_bank",
            "001",
            "#6b4fbb",
            vec![method(
                AuthMethodKind::InternetBanking,
                captcha_catalogue_form(),
            )],
        ),
    ];
    for b in &BANKS {
        let methods = match b.offers {
            Offers::Internet => vec![method(
                AuthMethodKind::InternetBanking,
                internet_banking(b.name),
            )],
            Offers::Mobile(field) => vec![method(
                AuthMethodKind::MobileBanking,
                mobile_banking_by_account(b.name, field),
            )],
            Offers::Both(field) => vec![
                method(AuthMethodKind::InternetBanking, internet_banking(b.name)),
                method(
                    AuthMethodKind::MobileBanking,
                    mobile_banking_by_account(b.name, field),
                ),
            ],
        };
        list.push(entry(b.id, b.name, b.slug, b.code, b.color, methods));
    }
    // Last, so the lists people page through start as they always did.
    list.push(entry(
        SANDBOX_NEXT_BANK,
        "Sandbox Next Bank",
        "sandbox_next_bank",
        "002",
        "#b5532a",
        vec![method(
            AuthMethodKind::InternetBanking,
            internet_banking("Sandbox Next Bank"),
        )],
    ));
    list
}

/// What [`SANDBOX_NEXT_BANK`] answers every right login with: responseCode
/// 104, which Mono does not document, and its message.
pub(crate) fn outcomes() -> Vec<(String, Rejection)> {
    vec![(
        SANDBOX_NEXT_BANK.to_owned(),
        Rejection::new(
            RejectionKind::Unrecognised,
            "Approve this login in the Sandbox Next app, then try again",
        )
        .with_code("104"),
    )]
}

/// True when `inst` lists the scope `scope` (`financial_data`, ...).
pub(crate) fn has_scope(inst: &Institution, scope: &str) -> bool {
    inst.extra
        .get("scope")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|x| x.get("type").and_then(Value::as_str) == Some(scope))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_role_and_ids_are_unique() {
        let list = institutions();
        assert!(list.len() >= 17);
        for (i, inst) in list.iter().enumerate() {
            assert!(list[..i].iter().all(|o| o.id != inst.id), "{}", inst.id);
            for m in &inst.auth_methods {
                for f in &m.ui.as_ref().expect("a form").fields {
                    assert!(role(&m.kind, &f.name).is_some(), "{}", f.name);
                }
            }
        }
    }
}
