//! A handset with a tight screen budget (90 characters): the bank list
//! pages sooner, prompts give way before option lines, and the link
//! completes.

use super::phone::AtPhone;
use super::rig::rig_with;
use connectflow::channel::ussd::gsm::Budget;
use connectflow::channel::ussd::UssdConfig;
use connectflow::testing::{catalogues, SandboxConfig};

/// A handset that shows only 90 characters: lists page sooner, long prompts
/// are shortened, no option line is cut, and the link still completes.
#[tokio::test]
async fn a_tight_budget_pages_sooner_and_still_links() {
    let mut config = UssdConfig::default();
    config.menu.budget = Budget::new(90);
    let rig = rig_with(SandboxConfig::default(), config).await;
    let mut phone = AtPhone::new(&rig.url, "+254711000901");
    phone.budget = Budget::new(90);
    let (_, first) = phone.dial().await;
    assert!(
        first.contains("98. More") && !first.contains("9. "),
        "{first}"
    );
    // Every bank is reachable through the pages, numbered as on the first page.
    let mut seen = first
        .lines()
        .filter(|l| l.starts_with(char::is_numeric) && !l.starts_with("98"))
        .count();
    let mut last = first;
    while last.contains("98. More") {
        last = phone.send("98").await.1;
        seen += last
            .lines()
            .filter(|l| {
                l.starts_with(char::is_numeric) && !l.starts_with("98") && !l.starts_with("0.")
            })
            .count();
    }
    assert_eq!(
        seen,
        connectflow::channel::ussd::menu::usable(catalogues::sandbox().institutions()).len()
    );
    // The heading gives way before any option line does.
    let (end, text) = phone.send("1").await;
    assert!(
        !end && text.contains("1. Internet banking") && text.contains("4. USSD PIN"),
        "{text}"
    );
    for answer in ["1", "user_chain", "pass_good", "123456", "Montreal"] {
        let (end, text) = phone.send(answer).await;
        assert!(!end, "{text}");
    }
    let (end, text) = phone.send("2").await;
    assert!(end && text.contains("linked"), "{text}");
}
