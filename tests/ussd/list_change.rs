//! A partner's list that changes between a dial and its answer, with no
//! screen remembered for the answer to be read against (the dial came
//! before the change, or to another instance): a number that picks
//! another bank on the new list than on the old is taken for nothing and
//! the new list shown with why; one that picks the same bank goes on.

use super::phone::AtPhone;
use super::rig::{serve, Setup};
use connectflow::service::ServiceConfig;
use connectflow::testing::{catalogues, Answer, StubPartner};
use std::time::Duration;

/// The channel in front of `partner`, its list fresh for a second.
async fn serve_briefly_fresh(partner: &StubPartner) -> String {
    let setup = Setup {
        service: ServiceConfig {
            catalogue_ttl: Duration::from_secs(1),
            ..ServiceConfig::default()
        },
        ..Setup::default()
    };
    serve(&partner.url(), setup).await
}

/// The partner of the sandbox's banks now lists `now`, and the channel's
/// list has gone stale: the next dial (of `phone`) fetches it, and its
/// screen is returned.
async fn change_list(
    partner: &StubPartner,
    now: &[connectflow::flow::Institution],
    url: &str,
    phone: &str,
) -> String {
    partner.answer(StubPartner::INSTITUTIONS, Answer::institutions(now));
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (end, text) = AtPhone::new(url, phone).dial().await;
    assert!(!end, "{text}");
    text
}

/// The bank at `number` on the bank list `screen` shows.
fn shown_at(screen: &str, number: usize) -> String {
    let prefix = format!("{number}. ");
    let line = screen.lines().find(|l| l.starts_with(&prefix));
    line.unwrap_or_else(|| panic!("no bank {number} on {screen}"))[prefix.len()..].to_owned()
}

/// A person shown the list before the partner dropped the first bank on
/// it answers `1` after: on the new list `1` is another bank, so the
/// answer picks nothing, and the new list is shown with "The list
/// changed.". Their next answer (`2`, the text `1*2`) is read against that
/// list by its last segment: the second bank of the new list. A person who
/// dialled after the change is not asked again. Finding (review,
/// 2026-12-06): the answer was read against the new list, and `1` picked
/// the bank that had been second on the screen the person answered.
#[tokio::test]
async fn a_number_that_means_another_bank_after_a_change_is_taken_for_nothing() {
    let sandbox = catalogues::sandbox();
    let partner = StubPartner::start_with(sandbox.clone()).await.unwrap();
    let url = serve_briefly_fresh(&partner).await;
    let mut before = AtPhone::new(&url, "+254711000991");
    let (end, shown) = before.dial().await;
    assert!(!end, "{shown}");
    let (first, second, third) = (
        shown_at(&shown, 1),
        shown_at(&shown, 2),
        shown_at(&shown, 3),
    );
    let mut dropped = sandbox.institutions().to_vec();
    dropped.retain(|bank| bank.name != first);

    let after = change_list(&partner, &dropped, &url, "+254711000992").await;
    assert_eq!(shown_at(&after, 1), second, "{after}");

    let (end, text) = before.send("1").await;
    assert!(
        !end && text.contains("The list changed.") && shown_at(&text, 1) == second,
        "{text}"
    );
    let (end, text) = before.send("2").await;
    assert!(!end, "{text}");
    assert!(
        text.contains(&third) && !text.contains(&second) && !text.contains("Choose your bank"),
        "{text}"
    );

    // Dialled after the change (remembered): read against the new list.
    let mut later = AtPhone::new(&url, "+254711000993");
    later.dial().await;
    let (end, text) = later.send("1").await;
    assert!(!end && !text.contains("The list changed."), "{text}");
    assert!(text.contains(&second), "{text}");
}

/// A change that leaves the answer's bank at its number (the partner
/// dropped a bank further down) costs the person nothing: `1` picks the
/// first bank, as it did on the screen they answered.
#[tokio::test]
async fn a_number_that_means_the_same_bank_after_a_change_goes_on() {
    let sandbox = catalogues::sandbox();
    let partner = StubPartner::start_with(sandbox.clone()).await.unwrap();
    let url = serve_briefly_fresh(&partner).await;
    let mut before = AtPhone::new(&url, "+254711000994");
    let (_, shown) = before.dial().await;
    let (first, second) = (shown_at(&shown, 1), shown_at(&shown, 2));
    let mut dropped = sandbox.institutions().to_vec();
    dropped.retain(|bank| bank.name != second);
    let after = change_list(&partner, &dropped, &url, "+254711000995").await;
    assert_eq!(shown_at(&after, 1), first, "{after}");
    assert_ne!(shown_at(&after, 2), second, "{after}");

    let (end, text) = before.send("1").await;
    assert!(!end && !text.contains("The list changed."), "{text}");
    assert!(
        text.contains(&first) && !text.contains("Choose your bank"),
        "{text}"
    );
}

/// The same when the answer itself brings the change: the list gone stale
/// since the dial, the answer's own read fetches the new one, and is
/// checked against the list the dial showed. Finding (review,
/// 2026-12-06): the list before the change was looked up before the
/// answer's read, so a change that read brought went unseen.
#[tokio::test]
async fn an_answer_that_brings_the_change_is_checked_against_the_list_before() {
    let sandbox = catalogues::sandbox();
    let partner = StubPartner::start_with(sandbox.clone()).await.unwrap();
    let url = serve_briefly_fresh(&partner).await;
    let mut before = AtPhone::new(&url, "+254711000996");
    let (_, shown) = before.dial().await;
    let (first, second) = (shown_at(&shown, 1), shown_at(&shown, 2));
    let mut dropped = sandbox.institutions().to_vec();
    dropped.retain(|bank| bank.name != first);
    partner.answer(StubPartner::INSTITUTIONS, Answer::institutions(&dropped));
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    let (end, text) = before.send("1").await;
    assert!(
        !end && text.contains("The list changed.") && shown_at(&text, 1) == second,
        "{text}"
    );
}
