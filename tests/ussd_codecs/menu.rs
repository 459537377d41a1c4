//! Choice fields page like the bank list: every option reachable, numbers
//! the same on every page, every screen within the budget.

use super::*;
use connectflow::channel::ussd::menu::{on_input, render, Cursor, MenuConfig, Outcome};
use connectflow::flow::{AuthMethodKind, FormPurpose, FormView, InstitutionRef, UserAction, View};
use connectflow::form::{Field, Form, Values};

/// Twelve long-ish ways to verify, as a partner might list them.
fn twelve() -> Vec<(String, String)> {
    [
        "Bank Verification Number (BVN)",
        "Date of birth (YYYY-MM-DD)",
        "Phone number on the account",
        "Email address on the account",
        "National Identification Number",
        "International passport number",
        "Driver's licence number",
        "Voter's card number",
        "Last four digits of your card",
        "Amount of your last deposit",
        "Branch where you opened it",
        "Mother's maiden name",
    ]
    .iter()
    .enumerate()
    .map(|(i, l)| (format!("way{}", i + 1), (*l).to_owned()))
    .collect()
}

fn choice_form(options: &[(String, String)]) -> Form {
    Form::new(
        "Verify it is you",
        vec![Field::choice(
            "identifier",
            "Verify with",
            options.iter().cloned(),
        )],
    )
}

fn institution() -> InstitutionRef {
    InstitutionRef {
        id: "verify-bank".into(),
        name: "Verify Bank".into(),
    }
}

fn view<'a>(form: &'a Form, inst: &'a InstitutionRef) -> View<'a> {
    View::Form(FormView {
        purpose: FormPurpose::Mfa,
        institution: inst,
        auth_method: &AuthMethodKind::Manual,
        methods: &[],
        form,
        prefill: &[],
        errors: &[],
        notice: None,
    })
}

fn start() -> Cursor {
    Cursor::Field {
        index: 0,
        page: 0,
        values: Values::new(),
    }
}

/// Every screen of the choice from its first page, following "More" until
/// no page offers it, with the cursor of each.
fn walk(view: &View<'_>, config: &MenuConfig, options: usize) -> Vec<(Cursor, String)> {
    let more = format!("{}. More", config.keys.more);
    let mut cursor = start();
    let mut screens = Vec::new();
    loop {
        let screen = render(view, &cursor, None, &[], config);
        assert!(!screen.end, "{}", screen.text);
        let has_more = screen.text.lines().any(|l| l == more);
        screens.push((cursor.clone(), screen.text));
        if !has_more {
            return screens;
        }
        assert!(screens.len() <= options, "more pages than options");
        cursor = match on_input(view, &cursor, &config.keys.more, &[], config) {
            Outcome::Move(next) => next,
            other => panic!("\"More\" was offered but not accepted: {other:?}"),
        };
    }
}

/// The numbered option lines of a screen, as (number, label); navigation
/// lines excluded.
fn option_lines(text: &str, config: &MenuConfig) -> Vec<(usize, String)> {
    let nav = [
        format!("{}. More", config.keys.more),
        format!("{}. Back", config.keys.back),
    ];
    text.lines()
        .filter(|l| !nav.iter().any(|n| n == l))
        .filter_map(|l| {
            let (n, label) = l.split_once(". ")?;
            Some((n.parse().ok()?, label.to_owned()))
        })
        .collect()
}

/// Every option is shown exactly once across the pages, under its own
/// number, and every screen (with or without an error line) fits.
fn assert_pages(options: &[(String, String)], config: &MenuConfig) -> Vec<(Cursor, String)> {
    let form = choice_form(options);
    let inst = institution();
    let view = view(&form, &inst);
    let screens = walk(&view, config, options.len());
    let mut seen = vec![0usize; options.len()];
    for (cursor, text) in &screens {
        assert!(
            config.budget.fits(text),
            "over budget ({:?}):\n{text}",
            measure(text)
        );
        let lines = option_lines(text, config);
        assert!(!lines.is_empty(), "a page without options:\n{text}");
        for (n, label) in lines {
            assert!((1..=options.len()).contains(&n), "{n} on\n{text}");
            assert_eq!(label, options[n - 1].1, "option {n} under another label");
            seen[n - 1] += 1;
        }
        // An error line does not move options between pages.
        let with_error = render(&view, cursor, Some("Invalid choice."), &[], config);
        assert!(config.budget.fits(&with_error.text), "{}", with_error.text);
        assert_eq!(
            option_lines(&with_error.text, config),
            option_lines(text, config)
        );
    }
    assert!(
        seen.iter().all(|&s| s == 1),
        "each option once, seen {seen:?}"
    );
    screens
}

fn submitted(outcome: Outcome) -> String {
    match outcome {
        Outcome::Act(UserAction::Submit(values)) => values
            .get("identifier")
            .map(|v| v.expose().to_owned())
            .unwrap_or_default(),
        other => panic!("not submitted: {other:?}"),
    }
}

#[test]
fn twelve_options_page_at_the_default_budget_and_twelve_picks_the_twelfth() {
    let options = twelve();
    let config = MenuConfig::default();
    let screens = assert_pages(&options, &config);
    assert!(screens.len() > 1, "twelve long options fit one screen?");
    let form = choice_form(&options);
    let inst = institution();
    let view = view(&form, &inst);
    // From the last page, and from the first (numbers are the same on every page).
    let (last, _) = screens.last().unwrap();
    assert_eq!(
        submitted(on_input(&view, last, "12", &[], &config)),
        "way12"
    );
    assert_eq!(
        submitted(on_input(&view, &start(), "12", &[], &config)),
        "way12"
    );
    assert_eq!(submitted(on_input(&view, last, "1", &[], &config)), "way1");
    // Back: the previous page, then (from the first page) the previous step.
    let Cursor::Field { page, .. } = last else {
        panic!("{last:?}")
    };
    match on_input(&view, last, "0", &[], &config) {
        Outcome::Move(Cursor::Field { page: p, .. }) => assert_eq!(p, page - 1),
        other => panic!("{other:?}"),
    }
    // From the first page of a verification's first field, leaving loses
    // the step: it asks, and only "1" leaves.
    let asked = on_input(&view, &start(), "0", &[], &config);
    assert!(
        matches!(asked, Outcome::Move(Cursor::Leaving { .. })),
        "{asked:?}"
    );
    let Outcome::Move(leaving) = asked else {
        unreachable!()
    };
    assert!(render(&view, &leaving, None, &[], &config)
        .text
        .starts_with("Leave this verification"));
    assert_eq!(
        on_input(&view, &leaving, "1", &[], &config),
        Outcome::Act(UserAction::Back)
    );
    assert_eq!(
        on_input(&view, &leaving, "2", &[], &config),
        Outcome::Move(start())
    );
    assert_eq!(
        on_input(&view, last, "13", &[], &config),
        Outcome::Invalid("Invalid choice.")
    );
    // "More" on the last page is not a page move nor an option.
    assert_eq!(
        on_input(&view, last, "98", &[], &config),
        Outcome::Invalid("Invalid choice.")
    );
}

#[test]
fn a_short_choice_stays_on_one_screen() {
    let options: Vec<(String, String)> = [("bvn", "BVN"), ("dob", "Date of birth")]
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect();
    let screens = assert_pages(&options, &MenuConfig::default());
    assert_eq!(screens.len(), 1);
    assert!(screens[0].1.contains("Verify with:"), "{}", screens[0].1);
}

fn label() -> impl Strategy<Value = String> {
    // GSM-7 words, so a label reads back unchanged from the screen.
    "[A-Za-z0-9][A-Za-z0-9 ()'-]{0,28}[A-Za-z0-9)]".prop_map(|s| s)
}

proptest! {
    /// For any list of up to 40 options of at most 30 characters and any
    /// budget from 64 septets up (enough for one option line with both
    /// navigation lines): walking the pages with "More" shows every option
    /// exactly once under its own number, every screen fits the budget with
    /// or without an error line, and typing an option's number on any page
    /// submits that option's value.
    #[test]
    fn choice_pages_show_each_option_once_and_fit(
        labels in proptest::collection::vec(label(), 1..40),
        budget in 64usize..=200,
        pick in any::<proptest::sample::Index>(),
    ) {
        let options: Vec<(String, String)> = labels
            .into_iter()
            .enumerate()
            .map(|(i, l)| (format!("v{i}"), l))
            .collect();
        let config = MenuConfig { budget: Budget::new(budget), ..MenuConfig::default() };
        let screens = assert_pages(&options, &config);
        let form = choice_form(&options);
        let inst = institution();
        let view = view(&form, &inst);
        let i = pick.index(options.len());
        for (cursor, _) in &screens {
            let value = submitted(on_input(&view, cursor, &(i + 1).to_string(), &[], &config));
            prop_assert_eq!(&value, &options[i].0);
        }
    }
}
