//! A choice longer than a screen, over real HTTP: every option reachable
//! across pages, every screen within the default budget, the number typed
//! picks its option at the partner.

use super::phone::AtPhone;
use super::rig::{serve, Setup};
use connectflow::channel::ussd::gsm::{measure, Budget};
use connectflow::flow::AuthMethodKind;
use connectflow::testing::{catalogues, StubPartner};

#[tokio::test]
async fn a_twelve_option_choice_pages_and_option_twelve_reaches_the_bank() {
    let catalogue = catalogues::twelve_ways_to_verify();
    let options: Vec<String> = catalogue.institutions()[0]
        .form_for(&AuthMethodKind::Manual)
        .unwrap()
        .fields[1]
        .options
        .iter()
        .map(|o| o.label.clone())
        .collect();
    assert_eq!(options.len(), 12);
    let partner = StubPartner::start_with(catalogue).await.unwrap();
    let url = serve(&partner.url(), Setup::default()).await;
    let mut phone = AtPhone::new(&url, "+254711000901");
    let (end, mut text) = phone.script(&["1", "1000000001"]).await;
    let budget = Budget::default();
    let mut seen = vec![0; 12];
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(!end && pages <= 12, "{:#?}", phone.screens);
        // The phone checks the budget too; this says which screen.
        assert!(budget.fits(&text), "{:?}\n{text}", measure(&text));
        assert!(text.contains("Verify with:"), "{text}");
        for line in text.lines() {
            if let Some((n, label)) = line.split_once(". ") {
                if let Ok(n) = n.parse::<usize>() {
                    if (1..=12).contains(&n) {
                        assert_eq!(label, options[n - 1], "{text}");
                        seen[n - 1] += 1;
                    }
                }
            }
        }
        if !text.lines().any(|l| l == "98. More") {
            break;
        }
        text = phone.send("98").await.1;
    }
    assert!(pages > 1, "twelve options on one screen: {text}");
    assert_eq!(seen, vec![1; 12], "{:#?}", phone.screens);
    // "0" goes back a page, and the pages come back the same.
    let (_, back) = phone.send("0").await;
    let n = phone.screens.len();
    assert_eq!(back, phone.screens[n - 3], "{:#?}", phone.screens);
    let (end, text) = phone.send("12").await;
    assert!(!end && text.contains("Your answer"), "{text}");
    let (end, text) = phone.send("Ibadan").await;
    assert!(end && text.contains("linked"), "{text}");
    let logins = partner.requests_to(StubPartner::LOGIN);
    assert_eq!(logins.len(), 1);
    let login = logins[0].json().unwrap();
    assert_eq!(login["identifier"], "way12", "{login}");
}
