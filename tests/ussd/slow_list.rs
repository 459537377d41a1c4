//! A partner whose institution list takes longer than a gateway waits, or
//! changes between two hops of a person choosing from it; and a person
//! past the list, who waits for none of that.

use super::phone::AtPhone;
use super::rig::{serve, Setup};
use connectflow::channel::ussd::UssdConfig;
use connectflow::flow::Catalogue;
use connectflow::service::ServiceConfig;
use connectflow::testing::{catalogues, Answer, StubPartner};
use std::time::Duration;

/// The channel in front of `partner`, with a hop budget of `budget` and
/// the list kept fresh for `ttl`; its base URL.
async fn serve_with(partner: &StubPartner, budget: Option<Duration>, ttl: Duration) -> String {
    let mut ussd = UssdConfig::default();
    if let Some(budget) = budget {
        ussd.reply_budget = budget;
    }
    serve_configured(partner, ussd, ttl).await
}

/// The channel in front of `partner` with `ussd`, the list kept fresh for
/// `ttl`; its base URL.
async fn serve_configured(partner: &StubPartner, ussd: UssdConfig, ttl: Duration) -> String {
    let setup = Setup {
        ussd,
        service: ServiceConfig {
            catalogue_ttl: ttl,
            ..ServiceConfig::default()
        },
        ..Setup::default()
    };
    serve(&partner.url(), setup).await
}

/// A list slower than the hop's budget costs the dial that found it
/// missing a polite "try again", not the gateway's patience; the fetch goes
/// on without it, and the person's next dial gets the list it fetched, the
/// partner asked once. Finding (review, 2026-12-06): the dial waited for
/// the list up to the partner's read timeout (9 s), past a gateway that
/// waits 4 s (Sendexa); bounding the wait by the budget cancelled the
/// fetch with the dial, so a partner slower than the budget never had its
/// list kept and was asked again by every dial.
#[tokio::test]
async fn a_list_slower_than_the_budget_is_kept_for_the_next_dial() {
    let partner = StubPartner::start().await.unwrap();
    let demo = catalogues::demo();
    let list = Answer::institutions(demo.institutions());
    partner.answer_once(
        StubPartner::INSTITUTIONS,
        list.after(Duration::from_millis(1_500)),
    );
    let ttl = ServiceConfig::default().catalogue_ttl;
    let url = serve_with(&partner, Some(Duration::from_millis(300)), ttl).await;
    let mut phone = AtPhone::new(&url, "+254711000961");

    let (end, text) = phone.dial().await;
    assert!(end && text.contains("not available"), "{text}");

    // The fetch ends 1.5 s after it began; a dial before then is told to
    // try again too (each a budget's wait). Bounded: it must end in the
    // list well before the test's patience.
    let mut shown = None;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (end, text) = phone.dial().await;
        if !end {
            shown = Some(text);
            break;
        }
        assert!(text.contains("not available"), "{text}");
    }
    let shown = shown.expect("the fetched list was never shown");
    assert!(shown.contains(&demo.institutions()[0].name), "{shown}");
    assert_eq!(
        partner.count(StubPartner::INSTITUTIONS),
        1,
        "the dials asked the partner again instead of waiting for its fetch"
    );
}

/// A dial shown the last list while its refresh runs (the partner slower
/// than the hop's budget) has its answer read against that list, not the
/// one the refresh brings meanwhile: `1` is the bank the screen showed at
/// 1, though the partner's new list puts another there. Finding (review,
/// 2026-12-06): the answer built its flow from the refreshed list, and the
/// number picked another bank.
#[tokio::test]
async fn an_answer_is_read_against_the_list_its_screen_showed_not_its_refresh() {
    let (partner, turned, shown_first, refreshed_first) =
        a_partner_that_drops_its_first_bank().await;
    let budget = Some(Duration::from_millis(300));
    let url = serve_with(&partner, budget, Duration::from_secs(1)).await;
    let mut phone = AtPhone::new(&url, "+254711000962");
    let (end, text) = phone.dial().await;
    assert!(!end && text.contains(shown_first.as_str()), "{text}");

    // The list goes stale; its refresh brings the shorter list, late (and
    // fresh for a second: the answer below is read while it is).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // Standing, not once: a refresh after this one (a slow run) brings the
    // same list, so the answer below can only be read against the old one
    // if it was remembered.
    refreshes_late_with(&partner, &turned);
    let (end, text) = phone.dial().await;
    assert!(
        !end && text.contains(&format!("1. {shown_first}")),
        "{text}"
    );
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert!(partner.count(StubPartner::INSTITUTIONS) >= 2);
    picks(phone.send("1").await, &shown_first, &refreshed_first);
}

/// A person paging the bank list when the partner's list changes (a
/// refresh between two of their hops) is shown the new list from its
/// start, with a line saying why, and their number picks nothing: it meant
/// a bank of the list before. Finding (review, 2026-12-06): the number
/// picked the bank at that place of the new list, one along.
#[tokio::test]
async fn a_list_changed_under_a_paged_bank_list_is_shown_again_from_its_start() {
    let sandbox = catalogues::sandbox();
    let partner = StubPartner::start_with(sandbox.clone()).await.unwrap();
    let url = serve_with(&partner, None, Duration::from_secs(1)).await;
    let mut phone = AtPhone::new(&url, "+254711000963");
    let (end, first) = phone.dial().await;
    assert!(!end && first.contains("98. More"), "{first}");
    let (end, second) = phone.send("98").await;
    assert!(!end, "{second}");
    // The first bank on the second page, as shown.
    let line = second
        .lines()
        .find(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .expect("a numbered bank on page 2")
        .to_owned();
    let (number, name) = line.split_once(". ").unwrap();

    // The partner drops its first bank; the list goes stale.
    let shorter = sandbox.institutions()[1..].to_vec();
    partner.answer(StubPartner::INSTITUTIONS, Answer::institutions(&shorter));
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    let (end, text) = phone.send(number).await;
    assert!(!end, "{text}");
    assert!(
        text.contains("The list changed.") && text.contains("98. More"),
        "{name} was picked by its old number: {text}"
    );
}

/// The partner of the tests reading an answer against the list its screen
/// showed: `demo_with_ussd_bank`, and that list without its first bank (a
/// refresh that moves every bank up one, as a partner dropping a bank it no
/// longer serves), with the names at 1 before and after.
async fn a_partner_that_drops_its_first_bank() -> (StubPartner, Catalogue, String, String) {
    let demo = catalogues::demo_with_ussd_bank();
    let partner = StubPartner::start_with(demo.clone()).await.unwrap();
    let turned = Catalogue::new(demo.institutions()[1..].to_vec());
    let (before, after) = (
        demo.institutions()[0].name.clone(),
        turned.institutions()[0].name.clone(),
    );
    assert_ne!(before, after);
    (partner, turned, before, after)
}

/// From now on the partner's list is `list`, each fetch of it 0.8 s late
/// (standing, not once: a refresh after the first, in a slow run, brings
/// the same list).
fn refreshes_late_with(partner: &StubPartner, list: &Catalogue) {
    let late = Answer::institutions(list.institutions()).after(Duration::from_millis(800));
    partner.answer(StubPartner::INSTITUTIONS, late);
}

/// The hop `(end, text)` picked the bank named `bank`, not `not`.
fn picks((end, text): (bool, String), bank: &str, not: &str) {
    assert!(!end, "{text}");
    assert!(text.contains(bank) && !text.contains(not), "{text}");
}

/// An invalid first answer read while the last list stood in (its refresh
/// slower than the hop's budget) shows that list again, and the answer
/// after it is read against it too, though the refresh has since brought
/// another: `77` then `1` picks the bank the screen showed at 1. Finding
/// (review, 2026-12-06): only a dial's screen was remembered with its list,
/// so the answer after an invalid one was read against the refresh.
#[tokio::test]
async fn the_answer_after_an_invalid_one_is_read_against_the_list_it_was_shown() {
    let (partner, turned, shown_first, refreshed_first) =
        a_partner_that_drops_its_first_bank().await;
    let budget = Some(Duration::from_millis(300));
    let url = serve_with(&partner, budget, Duration::from_secs(1)).await;
    let mut phone = AtPhone::new(&url, "+254711000964");
    // Shown from a fresh list: nothing to remember yet.
    let (end, text) = phone.dial().await;
    assert!(
        !end && text.contains(&format!("1. {shown_first}")),
        "{text}"
    );

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    refreshes_late_with(&partner, &turned);
    // Read while the refresh runs: the last list stands in, and the
    // screen shown again is that list.
    let (end, text) = phone.send("77").await;
    assert!(
        !end && text.contains("Invalid") && text.contains(&format!("1. {shown_first}")),
        "{text}"
    );
    // The refresh has ended; its list is fresh for a second.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert!(partner.count(StubPartner::INSTITUTIONS) >= 2);
    picks(phone.send("1").await, &shown_first, &refreshed_first);
}

/// A gateway that reuses a session id: the id's first dial was shown the
/// last list standing in, the next dial with it a fresh list. The answer is
/// read against the fresh list the person saw last, not the one remembered
/// for the id's earlier dial. Finding (review, 2026-12-06): what a first
/// screen showed was remembered by session id and only ever replaced, so an
/// id's dial with nothing to remember left the earlier dial's list to read
/// its answer against.
#[tokio::test]
async fn a_reused_session_id_is_read_against_its_last_dial_not_its_first() {
    let (partner, turned, shown_first, refreshed_first) =
        a_partner_that_drops_its_first_bank().await;
    // Dials after a change of the list are not remembered for it here:
    // the last dial has nothing to remember, as with a list that never
    // changed.
    let ussd = UssdConfig {
        reply_budget: Duration::from_millis(300),
        list_change_window: Duration::ZERO,
        ..UssdConfig::default()
    };
    let url = serve_configured(&partner, ussd, Duration::from_secs(1)).await;
    let mut phone = AtPhone::new(&url, "+254711000965");
    phone.dial().await;

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    refreshes_late_with(&partner, &turned);
    // The id's dial shown the old list, standing in (remembered).
    let (_, text) = phone.dial().await;
    assert!(text.contains(&format!("1. {shown_first}")), "{text}");
    let reused = phone.session_id();

    // The refresh ends; the same id dials again and sees the new list.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    phone.use_session(reused);
    let (end, text) = phone.dial_with("").await;
    assert!(
        !end && text.contains(&format!("1. {refreshed_first}")),
        "{text}"
    );

    picks(phone.send("1").await, &refreshed_first, &shown_first);
}

/// A person on a login form (past the bank list) is not kept waiting for a
/// list refresh they do not need: with the list stale and the partner's
/// list hanging, their username is answered at once, not after the hop's
/// 20 s budget. The patience below (5 s) is a hang detector, not a speed
/// bound: the hop does no waiting at all. Finding (review, 2026-12-06): a
/// stored flow's restore waited for the refresh like a bank choice does,
/// spending a login or OTP hop's budget on a list it does not read.
#[tokio::test]
async fn a_login_hop_waits_for_no_list_refresh() {
    let sandbox = catalogues::sandbox();
    let partner = StubPartner::start_with(sandbox.clone()).await.unwrap();
    let budget = Some(Duration::from_secs(20));
    let url = serve_with(&partner, budget, Duration::from_secs(1)).await;
    let mut phone = AtPhone::new(&url, "+254711000966");
    let (end, text) = phone.script(&["1", "1"]).await;
    assert!(!end && text.to_lowercase().contains("username"), "{text}");

    // The list goes stale, and its refresh hangs past the hop's budget.
    partner.answer(
        StubPartner::INSTITUTIONS,
        Answer::institutions(sandbox.institutions()).after(Duration::from_secs(60)),
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    let hop = tokio::time::timeout(Duration::from_secs(5), phone.send("user_good")).await;
    let (end, text) = hop.expect("the login hop waited for the bank list's refresh");
    assert!(!end && text.to_lowercase().contains("password"), "{text}");
}
