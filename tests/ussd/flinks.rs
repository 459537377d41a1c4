//! The USSD channel in front of Flinks: Flinks Capital's login and its three
//! security questions, one screen each, within the budget.

use super::phone::AtPhone;
use super::rig::{rig_setup, Setup};
use connectflow::testing::SandboxConfig;

#[tokio::test]
async fn greatday_links_over_ussd_answering_each_question_on_its_own_screen() {
    let rig = rig_setup(
        SandboxConfig::default(),
        Setup {
            flinks: true,
            ..Setup::default()
        },
    )
    .await;
    let mut phone = AtPhone::new(&rig.url, "+15145550101");
    let (end, text) = phone
        .script(&[
            "1", "Greatday", "Everyday", "Montreal", "Canada", "Triangle",
        ])
        .await;
    assert!(
        end && text.contains("linked"),
        "{text}\n{:#?}",
        phone.screens
    );
    let screens = phone.screens.join("\n---\n");
    for asked in [
        "Flinks Capital",
        "What city were you born in?",
        "What is the best country on earth?",
        "What shape do people like most?",
    ] {
        assert!(screens.contains(asked), "{asked} not shown:\n{screens}");
    }

    // A wrong answer: Flinks ends that session, so the login comes back.
    let mut wrong = AtPhone::new(&rig.url, "+15145550102");
    let (end, text) = wrong
        .script(&["1", "Greatday", "Everyday", "Toronto"])
        .await;
    assert!(!end, "{text}");
    assert!(text.contains("Username"), "{text}\n{:#?}", wrong.screens);
}
