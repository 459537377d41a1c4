//! `98` (more) on the bank list's last page: the same page again with an
//! error line, never another page (issue: banks 16–18 vanished).

use super::phone::AtPhone;
use super::rig::rig;

/// The bank lines (`N. Name`) of a screen.
fn banks(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter(|l| {
            l.split_once(". ")
                .is_some_and(|(n, _)| n.parse::<u32>().is_ok_and(|n| n < 90))
        })
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn more_on_the_last_page_shows_the_same_page_with_an_error() {
    let rig = rig().await;
    let mut phone = AtPhone::new(&rig.url, "+254711000077");
    let (_, mut screen) = phone.dial().await;
    // Page forward until "98" is no longer offered.
    let mut pages = 1;
    while screen.contains("98") && pages < 20 {
        screen = phone.send("98").await.1;
        pages += 1;
    }
    assert!(pages > 1, "the sandbox's list should need pages: {screen}");
    let last = banks(&screen);
    assert!(!last.is_empty(), "{screen}");
    let (end, again) = phone.send("98").await;
    assert!(!end);
    assert!(again.starts_with("Invalid choice."), "{again}");
    assert_eq!(banks(&again), last, "the same page, with the error line");
}
