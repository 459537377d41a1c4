//! A number typed on the bank list picks the same bank whichever way the
//! list is read: `on_input` finds a new customer's pick without listing
//! every usable bank (the bank choice is the commonest session-creating
//! hop), and must agree with the general path, which lists them (and puts
//! a returning customer's banks first).

use super::*;
use connectflow::channel::ussd::menu::{on_input, Cursor, MenuConfig, NavKeys};
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

/// A way to log in, with any of the three kinds of form.
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

/// Numbers in and out of range (past `usize` too), every paging key below,
/// and what else a handset sends.
fn answer() -> impl Strategy<Value = String> {
    const FIXED: [&str; 16] = [
        "98",
        "0",
        "00",
        "1",
        "2",
        "3",
        "*",
        "#",
        "+1",
        "+0",
        "01",
        " 2 ",
        "-1",
        "",
        "18446744073709551615",
        "18446744073709551616",
    ];
    prop_oneof![
        (0usize..30).prop_map(|n| n.to_string()),
        proptest::sample::select(&FIXED[..]).prop_map(str::to_string),
        "[0-9a-z*#+ ]{0,4}",
    ]
}

/// The default paging keys, keys that are bank numbers, and keys that are
/// not numbers at all (one of them empty).
fn keys() -> impl Strategy<Value = NavKeys> {
    let keys = |more: &str, back: &str, home: &str| NavKeys {
        more: more.into(),
        back: back.into(),
        home: home.into(),
    };
    prop_oneof![
        Just(NavKeys::default()),
        Just(keys("1", "2", "3")),
        Just(keys("*", "#", "")),
    ]
}

/// The list's first page as the first hop shows it, or any page.
fn cursor() -> impl Strategy<Value = Cursor> {
    prop_oneof![
        Just(Cursor::Start),
        (0usize..3).prop_map(|page| Cursor::Page { page }),
    ]
}

proptest! {
    /// Invariant: for any catalogue (a bank reachable only behind a
    /// captcha is not listed, so not counted), any paging keys, any cursor
    /// on the list and any answer, a new customer's answer (no banks first)
    /// means what the general path makes of it: the same bank and method,
    /// the same page move, or the same refusal. The general path is taken
    /// by naming a first bank the catalogue does not have: every bank then
    /// sorts under the same key, and `sort_by_key` is stable, so the
    /// catalogue's order stays as it is.
    #[test]
    fn a_new_customers_pick_is_the_listed_pick(
        institutions in catalogue(),
        keys in keys(),
        cursor in cursor(),
        input in answer(),
    ) {
        let view = View::ChooseInstitution { institutions: &institutions, notice: None };
        let config = MenuConfig { keys, ..MenuConfig::default() };
        let fast = on_input(&view, &cursor, &input, &[], &config);
        let listed = on_input(&view, &cursor, &input, &["no-such-bank".to_string()], &config);
        prop_assert_eq!(fast, listed);
    }
}
