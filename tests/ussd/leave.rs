//! Back goes back one step; leaving a verification asks first (issue 15,
//! point 7). Before, `00` anywhere and `0` on a verification's first field
//! dropped the bank's progress without a word.

use super::phone::AtPhone;
use super::rig::{rig, serve, Setup};
use connectflow::store::{MemoryStore, Sealed, Sealer, SessionStore};
use std::sync::Arc;

/// A phone on user_otp's OTP field at `url`; the OTP screen is its last.
async fn at_the_otp(url: &str, number: &str) -> AtPhone {
    let mut phone = AtPhone::new(url, number);
    let (end, otp) = phone.script(&["1", "1", "user_otp", "pass_good"]).await;
    assert!(!end && otp.contains("OTP"), "{otp}\n{:#?}", phone.screens);
    phone
}

fn asks(screen: &str) -> bool {
    screen.contains("Leave this verification")
        && screen.contains("answers will be lost")
        && screen.contains("1. Yes, leave")
        && screen.contains("2. No, continue")
}

#[tokio::test]
async fn home_at_the_otp_asks_and_no_returns_to_the_otp_which_then_links() {
    let rig = rig().await;
    let mut phone = at_the_otp(&rig.url, "+254711000961").await;
    let otp = phone.screens.last().unwrap().clone();
    let (end, asked) = phone.send("00").await;
    assert!(!end && asks(&asked), "{asked}");
    let (end, again) = phone.send("2").await;
    assert!(!end);
    assert_eq!(again, otp, "the OTP field again, nothing lost");
    let (end, done) = phone.send("123456").await;
    assert!(end && done.contains("linked"), "{done}");
}

#[tokio::test]
async fn home_at_the_otp_then_yes_leaves_for_the_bank_list() {
    let rig = rig().await;
    let mut phone = at_the_otp(&rig.url, "+254711000962").await;
    let (_, asked) = phone.send("00").await;
    assert!(asks(&asked), "{asked}");
    let (end, banks) = phone.send("1").await;
    assert!(!end && banks.contains("Choose your bank"), "{banks}");
}

/// The question is part of the sealed session record: asked on one
/// instance, answered on another.
#[tokio::test]
async fn back_on_the_otps_first_field_asks_and_the_answer_may_reach_another_instance() {
    let rig = rig().await;
    let store: Arc<dyn SessionStore> = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let shared = || Setup {
        store: Some(store.clone()),
        ..Setup::default()
    };
    let one = serve(&rig.sandbox.url(), shared()).await;
    let other = serve(&rig.sandbox.url(), shared()).await;
    let mut phone = at_the_otp(&one, "+254711000963").await;
    let otp = phone.screens.last().unwrap().clone();
    let (end, asked) = phone.send("0").await;
    assert!(!end && asks(&asked), "{asked}");
    phone.switch_instance(&other);
    // Anything but "1" stays.
    let (end, again) = phone.send("9").await;
    assert!(!end);
    assert_eq!(again, otp);
    let (end, done) = phone.send("123456").await;
    assert!(end && done.contains("linked"), "{done}");
}

/// On a login, back at the password goes back one field without asking;
/// home with the username given asks (the login's own words), and "No"
/// keeps it.
#[tokio::test]
async fn back_at_the_password_goes_to_the_username_without_asking() {
    let rig = rig().await;
    let mut phone = AtPhone::new(&rig.url, "+254711000964");
    let (_, username) = phone.script(&["1", "1"]).await;
    let (_, password) = phone.send("user_bad").await;
    let (end, asked) = phone.send("00").await;
    assert!(!end && asked.contains("Leave this login"), "{asked}");
    let (_, again) = phone.send("2").await;
    assert_eq!(again, password);
    let (end, back) = phone.send("0").await;
    assert!(!end);
    assert_eq!(back, username, "one field back, no question");
    phone.send("user_good").await;
    let (end, done) = phone.send("pass_good").await;
    assert!(end && done.contains("linked"), "{done}");
}

/// Home on a login's first field with nothing typed has nothing to lose:
/// straight to the bank list.
#[tokio::test]
async fn home_on_an_untouched_login_leaves_without_asking() {
    let rig = rig().await;
    let mut phone = AtPhone::new(&rig.url, "+254711000965");
    phone.script(&["1", "1"]).await;
    let (end, banks) = phone.send("00").await;
    assert!(!end && banks.contains("Choose your bank"), "{banks}");
}
