//! What a session costs at rest: the sealed record of a USSD session parked
//! on an OTP form — what Redis holds, and what crosses the network on every
//! hop — fits in 512 bytes (DESIGN.md's budget), with a `+234` phone and the
//! sandbox's OTP prompt.

use super::phone::AtPhone;
use super::rig::{rig_setup, Setup};
use connectflow::store::{MemoryStore, Sealed, Sealer, SessionStore};
use connectflow::testing::SandboxConfig;
use std::sync::Arc;

#[tokio::test]
async fn a_session_parked_on_an_otp_form_seals_to_at_most_512_bytes() {
    let store = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let rig = rig_setup(
        SandboxConfig::default(),
        Setup {
            store: Some(store.clone()),
            ..Setup::default()
        },
    )
    .await;
    let mut phone = AtPhone::new(&rig.url, "+2348031234567");
    let (end, screen) = phone.script(&["1", "1", "user_otp", "pass_good"]).await;
    assert!(!end && screen.contains("OTP"), "{screen}");
    // Below the sealing layer: the bytes as the store holds them.
    let key = format!("ussd:at:{}", phone.session_id());
    let sealed = store.inner().get(&key).await.unwrap().expect("stored");
    assert!(
        sealed.data.len() <= 512,
        "{} bytes sealed; opened: {}",
        sealed.data.len(),
        String::from_utf8_lossy(
            &connectflow::service::record_json(&store.get(&key).await.unwrap().unwrap().data)
                .unwrap()
        )
    );
}
