//! What a session costs at rest: the sealed record of a USSD session parked
//! on an OTP form — what Redis holds, and what crosses the network on every
//! hop — fits in 512 bytes (DESIGN.md's budget), with a `+234` phone and the
//! sandbox's OTP prompt.

use super::phone::AtPhone;
use super::rig::{rig_setup, Setup};
use connectflow::channel::ussd::{HttpDirectory, UssdConfig};
use connectflow::form::Secret;
use connectflow::store::{MemoryStore, Sealed, Sealer, SessionStore};
use connectflow::testing::{Answer, SandboxConfig, StubPartner};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn a_session_parked_on_an_otp_form_seals_to_at_most_512_bytes() {
    let (size, opened) = parked_on_the_otp_form(UssdConfig::default()).await;
    assert!(size <= 512, "{size} bytes sealed; opened: {opened}");
}

/// The same with a long new customer from the host's directory, whose name
/// and email the record keeps twice (the flow's, for Mono; the session's,
/// for the auth records): the second copy is a back-reference.
#[tokio::test]
async fn a_directorys_new_customer_still_seals_to_at_most_512_bytes() {
    let directory = StubPartner::start().await.unwrap();
    directory.answer(
        "/who",
        Answer::json(
            200,
            &serde_json::json!({
                "name": "Oluwaseun Adebayo-Okonkwo",
                "email": "oluwaseun.adebayo-okonkwo@example.com.ng"
            }),
        ),
    );
    let lookup = HttpDirectory::new(
        &format!("{}/who", directory.url()),
        Secret::new("whsec_size"),
        Duration::from_secs(5),
    )
    .unwrap();
    let config = UssdConfig {
        customers: Some(Arc::new(lookup)),
        ..UssdConfig::default()
    };
    let (size, opened) = parked_on_the_otp_form(config).await;
    assert!(opened.contains("Oluwaseun Adebayo-Okonkwo"), "{opened}");
    assert!(size <= 512, "{size} bytes sealed; opened: {opened}");
}

/// A `+234` phone parked on `user_otp`'s OTP form: its record's sealed size
/// (below the sealing layer: the bytes as the store holds them), and its
/// JSON.
async fn parked_on_the_otp_form(ussd: UssdConfig) -> (usize, String) {
    let store = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let rig = rig_setup(
        SandboxConfig::default(),
        Setup {
            store: Some(store.clone()),
            ussd,
            ..Setup::default()
        },
    )
    .await;
    let mut phone = AtPhone::new(&rig.url, "+2348031234567");
    let (end, screen) = phone.script(&["1", "1", "user_otp", "pass_good"]).await;
    assert!(!end && screen.contains("OTP"), "{screen}");
    let key = format!("ussd:at:{}", phone.session_id());
    let sealed = store.inner().get(&key).await.unwrap().expect("stored");
    let opened = store.get(&key).await.unwrap().unwrap().data;
    let json = connectflow::service::record_json(&opened).unwrap();
    (
        sealed.data.len(),
        String::from_utf8_lossy(&json).into_owned(),
    )
}

/// A hop's future (what every gateway request allocates and moves before
/// any work) stays small: the turn, the partner call and the rare paths are
/// boxed where they start. It was 20,616 bytes before, a measurable share of
/// a first hop's time in memory copies (issue 13's profile); 1,568 since
/// fe63fac, where the gateway's status read and the lost write's read of a
/// whole record, carried inline, had grown it back to 3,064 under the
/// earlier 4 KiB bound (axum boxes, and so copies, every handler's future).
#[test]
fn a_hops_future_stays_small() {
    use connectflow::channel::ussd::gateway::africastalking::AfricasTalking;
    use connectflow::channel::ussd::gateway::GatewayRequest;
    use connectflow::channel::ussd::UssdService;
    use connectflow::driver::DriverConfig;
    use connectflow::service::SessionService;
    use connectflow::testing::mono_driver;
    let store = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let driver = mono_driver("http://127.0.0.1:9", DriverConfig::default());
    let service = SessionService::new(vec![driver], store, Default::default());
    let ussd = UssdService::new(Arc::new(service), UssdConfig::default());
    let request = GatewayRequest::default();
    let hop = ussd.hop(&AfricasTalking, &request);
    let size = std::mem::size_of_val(&hop);
    assert!(size <= 2048, "a hop's future is {size} bytes");
}
