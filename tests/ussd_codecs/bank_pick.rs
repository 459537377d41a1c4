//! A number typed on the bank list picks the same bank whichever way the
//! list is read: `on_input` finds a new customer's pick without listing
//! every usable bank (the bank choice is the commonest session-creating
//! hop), and must agree with the general path, which lists them (and puts
//! a returning customer's banks first).

use super::*;
use connectflow::channel::ussd::menu::{on_input, Cursor, MenuConfig};
use connectflow::flow::{AuthMethod, AuthMethodKind, Institution, View};
use connectflow::form::{Field, FieldKind, Form};

/// A login form, with a captcha (not usable over USSD) or without.
fn login(captcha: bool) -> Form {
    let mut fields = vec![Field::password("pin", "PIN")];
    if captcha {
        fields.push(Field {
            kind: FieldKind::Captcha,
            ..Field::input("captcha", "Enter the code")
        });
    }
    Form::new("Log in", fields)
}

/// No form, a plain one, or one with a captcha.
fn form() -> impl Strategy<Value = Option<Form>> {
    prop_oneof![Just(None), any::<bool>().prop_map(|c| Some(login(c)))]
}

fn method() -> impl Strategy<Value = AuthMethod> {
    let kind = prop_oneof![
        Just(AuthMethodKind::InternetBanking),
        Just(AuthMethodKind::MobileBanking),
        Just(AuthMethodKind::Manual),
        Just(AuthMethodKind::Ussd),
    ];
    (kind, form()).prop_map(|(kind, ui)| AuthMethod::new(kind, ui))
}

/// Up to 25 banks, each with no methods (its own form decides) or up to
/// three, any of them behind a captcha.
fn catalogue() -> impl Strategy<Value = Vec<Institution>> {
    let bank = (proptest::collection::vec(method(), 0..4), form());
    proptest::collection::vec(bank, 0..25).prop_map(|banks| {
        banks
            .into_iter()
            .enumerate()
            .map(|(i, (methods, ui))| {
                let mut bank = Institution::new(format!("bank-{i}"), format!("Bank {i}"), methods);
                bank.ui = ui;
                bank
            })
            .collect()
    })
}

/// Numbers in and out of range, the paging keys, and what else a handset sends.
fn answer() -> impl Strategy<Value = String> {
    prop_oneof![
        (0usize..30).prop_map(|n| n.to_string()),
        Just("98".to_string()),
        Just("0".to_string()),
        Just("00".to_string()),
        Just("+1".to_string()),
        Just("01".to_string()),
        Just(" 2 ".to_string()),
        Just(String::new()),
        "[0-9a-z*#+ ]{0,4}",
    ]
}

proptest! {
    /// Invariant: for any catalogue (banks behind captchas left out), any
    /// page and any answer, a new customer's answer (no banks first) means
    /// what the general path makes of it: the same bank and method, the
    /// same page move, or the same refusal. The general path is taken by
    /// naming a first bank the catalogue does not have, which leaves the
    /// catalogue's order as it is.
    #[test]
    fn a_new_customers_pick_is_the_listed_pick(
        institutions in catalogue(),
        page in 0usize..3,
        input in answer(),
    ) {
        let view = View::ChooseInstitution { institutions: &institutions, notice: None };
        let cursor = Cursor::Page { page };
        let config = MenuConfig::default();
        let fast = on_input(&view, &cursor, &input, &[], &config);
        let listed = on_input(&view, &cursor, &input, &["no-such-bank".to_string()], &config);
        prop_assert_eq!(fast, listed);
    }
}
