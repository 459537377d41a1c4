//! Bounds on what Flinks sends (findings): too many challenges, options or
//! accounts, or an id too long, are refused as malformed, never cut; a long
//! prompt is shown cut and answered whole.

use crate::rig::*;
use connectflow::dialect::flinks::wire::{self, SecurityChallenge};
use connectflow::dialect::HttpResponse;
use connectflow::flow::{CallError, Step};
use serde_json::Value;

/// A `203` whose `SecurityChallenges` holds `n` questions of `options`
/// options each.
fn challenges(n: usize, options: usize) -> Value {
    let list: Vec<SecurityChallenge> = (0..n)
        .map(|i| SecurityChallenge {
            kind: "MultipleChoice".to_owned().into(),
            prompt: format!("Question {i}?"),
            iterables: (0..options).map(|o| format!("Answer {o}")).collect(),
        })
        .collect();
    wire::challenges("req-1", "FlinksCapital", &list)
}

/// Finding: the number of security challenges in a `203`, and of options on
/// each, was unbounded, and every one became a field (or option) of the
/// form kept in the session: 10,000 of either made the session too big to
/// save after the login, losing the bank's answer. Such a reply is refused
/// as malformed, never cut: Flinks expects an answer to every question it
/// asked, and the right option may be the one dropped. At the caps (16
/// questions of 100 options) the form is kept whole, still small enough
/// to save.
#[test]
fn a_203_with_10_000_challenges_or_options_is_refused_as_malformed() {
    for (body, says) in [
        (challenges(10_000, 0), "more than 16 security challenges"),
        (challenges(1, 10_000), "more than 100 options"),
    ] {
        match step(203, body) {
            Err(CallError::Malformed(m)) => assert!(m.contains(says), "{m}"),
            other => panic!("expected a malformed reply ({says}), got {other:?}"),
        }
    }
    let Ok(Step::NeedsInput { form, .. }) = step(203, challenges(16, 100)) else {
        panic!("16 questions of 100 options is a form");
    };
    assert_eq!(form.fields.len(), 16);
    assert!(form.fields.iter().all(|f| f.options.len() == 100));
    // What the session keeps of it: under half the 256 KB record cap.
    let stored = serde_json::to_vec(&form).map_or(usize::MAX, |b| b.len());
    assert!(stored < 128 * 1024, "{stored}");
}

/// Finding: a security question is both the field's name (answers are keyed
/// by it, so it stays whole up to 1 KB) and its hint (what the person
/// reads). The hint and option labels are cut to 300 characters like any
/// partner text; the name and option values, sent back, are untouched.
#[test]
fn a_long_security_question_is_shown_cut_and_answered_whole() {
    let prompt = format!("{}?", "q".repeat(900));
    let option = "o".repeat(900);
    let list = [SecurityChallenge {
        kind: "MultipleChoice".to_owned().into(),
        prompt: prompt.clone(),
        iterables: vec![option.clone()],
    }];
    let Ok(Step::NeedsInput { form, .. }) =
        step(203, wire::challenges("req-1", "FlinksCapital", &list))
    else {
        panic!("a form");
    };
    let field = &form.fields[0];
    assert_eq!(field.name, prompt);
    assert_eq!(field.hint.chars().count(), 300);
    assert_eq!(field.options[0].value, option);
    assert_eq!(field.options[0].label.chars().count(), 300);
}

/// Finding: `GetAccountsSummary`'s account list was read whatever its
/// length, and each account's `Id` and `AccountNumber` (which name it) were
/// kept whatever their size. 10,000 accounts, or a 100 KB id or number, is
/// a malformed reply: never cut, since the account a host looks for may be
/// the one dropped, and a cut id names another account. 100 accounts, the
/// cap, are all read.
#[test]
fn an_accounts_summary_with_10_000_accounts_or_a_huge_id_is_refused() {
    let f = flinks();
    let summary = |n: usize, id: &str, number: &str| {
        let accounts: Vec<wire::SummaryAccount<'_>> = (0..n)
            .map(|_| wire::SummaryAccount {
                id,
                title: "Chequing",
                number,
                category: "Operations",
                currency: "CAD",
                balance_cents: 100,
            })
            .collect();
        let body = wire::accounts_summary("req-1", "card-7", "FlinksCapital", &accounts);
        f.decode_accounts_summary(&HttpResponse::new(200, body.to_string()))
    };
    let huge = "1".repeat(100_000);
    for (result, says) in [
        (
            summary(10_000, "acc-1", "1111000"),
            "more than 100 accounts",
        ),
        (summary(1, &huge, "1111000"), "Id longer than"),
        (summary(1, "acc-1", &huge), "AccountNumber longer than"),
    ] {
        match result {
            Err(CallError::Malformed(m)) => assert!(m.contains(says), "{m}"),
            other => panic!("expected a malformed reply ({says}), got {other:?}"),
        }
    }
    assert_eq!(summary(100, "acc-1", "1111000").map(|a| a.len()), Ok(100));
}
