//! A person's first answer is served without reading the store first: the
//! session and the phone's index are created where free, in one round trip
//! on Redis (`service/create.rs`). What was there instead is still
//! honoured: a gateway's retry, a returning phone's index, on the memory
//! store and on a real `redis-server`.

use super::phone::AtPhone;
use super::rig::{rig, rig_setup, Setup};
use connectflow::testing::SandboxConfig;
use std::sync::Arc;
use std::time::Duration;

/// A phone that linked before dials again, starts a new flow and drops
/// mid-way: the next dial offers that newest flow (the index moved to it
/// from the finished one), and the bank choice sent twice by the gateway
/// shows the same screen and starts one flow.
async fn a_returning_phone_is_offered_its_newest_flow(url: &str, number: &str) {
    let mut phone = AtPhone::new(url, number);
    let (end, text) = phone
        .script(&["1", "1", "user_otp", "pass_good", "123456"])
        .await;
    assert!(end && text.contains("linked"), "{text}");

    // A new dial: nothing unfinished to offer, the bank list.
    let (_, text) = phone.dial().await;
    assert!(
        text.contains("Choose your bank") && !text.contains("unfinished"),
        "{text}"
    );
    let (_, chosen) = phone.send("1").await;
    assert!(!chosen.contains("Choose your bank"), "{chosen}");
    // The gateway retries the same hop: the same screen, nothing new.
    let again = phone.post("1").await;
    assert_eq!(again, (false, chosen.clone()));
    let (_, text) = phone.send("1").await;
    assert!(text.to_lowercase().contains("username"), "{text}");

    // Dropped; the next dial offers this flow, not the linked one.
    let (end, text) = phone.dial().await;
    assert!(!end && text.contains("1. Continue"), "{text}");
    let (_, text) = phone.send("1").await;
    assert!(text.to_lowercase().contains("username"), "{text}");
}

#[tokio::test]
async fn memory_a_returning_phone_is_offered_its_newest_flow() {
    let rig = rig().await;
    a_returning_phone_is_offered_its_newest_flow(&rig.url, "+254711000901").await;
}

/// A rig on a sealed store in a real `redis-server` (kept alive with it);
/// `None` where there is none.
#[cfg(feature = "redis")]
async fn redis_rig() -> Option<(connectflow::testing::RedisServer, super::rig::Rig)> {
    use connectflow::store::{RedisStore, Sealed, Sealer};
    let redis = connectflow::testing::RedisServer::start_or_skip()?;
    let store = RedisStore::connect(redis.url()).await.unwrap();
    let setup = Setup {
        store: Some(Arc::new(Sealed::new(store, Sealer::random()))),
        ..Setup::default()
    };
    let rig = rig_setup(SandboxConfig::default(), setup).await;
    Some((redis, rig))
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_returning_phone_is_offered_its_newest_flow() {
    let Some((_redis, rig)) = redis_rig().await else {
        return;
    };
    a_returning_phone_is_offered_its_newest_flow(&rig.url, "+254711000902").await;
}

/// A record at the session's key that does not open (tampered, or sealed
/// with a key this instance lacks) when the first answer arrives: the hop
/// is served again with a read, which clears it, and the person carries on
/// rather than being told something went wrong.
#[tokio::test]
async fn a_first_answer_over_a_record_that_does_not_open_carries_on() {
    use connectflow::store::{MemoryStore, Sealed, Sealer, SessionStore};
    let store = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let setup = Setup {
        store: Some(store.clone()),
        ..Setup::default()
    };
    let rig = rig_setup(SandboxConfig::default(), setup).await;
    let mut phone = AtPhone::new(&rig.url, "+254711000903");
    let (_, text) = phone.dial().await;
    assert!(text.contains("Choose your bank"), "{text}");
    let key = format!("ussd:at:{}", phone.session_id());
    store
        .inner()
        .compare_and_set(
            &key,
            None,
            b"not a sealed record".to_vec(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let (end, text) = phone.send("1").await;
    assert!(!end && !text.contains("went wrong"), "{text}");
    assert!(!text.contains("Choose your bank"), "{text}");
    // What is stored now opens: the hop's own session.
    assert!(store.get(&key).await.unwrap().is_some());
}

/// Another phone's first answer carrying a live session's id (a gateway
/// that mixed sessions up, or a forged request) takes nothing: it is
/// refused, the session's own phone carries on, and the other phone's next
/// dial is not offered that session (on Redis the other phone's index is
/// created in the same round trip as the refused write, and must not be
/// left naming it).
async fn another_phones_answer_takes_nothing(url: &str, owner: &str, other: &str) {
    let mut a = AtPhone::new(url, owner);
    let (_, text) = a.script(&["1", "1"]).await;
    assert!(text.to_lowercase().contains("username"), "{text}");

    let mut b = AtPhone::new(url, other);
    b.use_session(a.session_id());
    let (_, text) = b.post("1").await;
    assert!(!text.to_lowercase().contains("username"), "{text}");

    let (end, text) = b.dial().await;
    assert!(
        !end && text.contains("Choose your bank") && !text.contains("Continue"),
        "{text}"
    );
    let (end, text) = a.send("user_otp").await;
    assert!(!end && text.to_lowercase().contains("password"), "{text}");
}

#[tokio::test]
async fn memory_another_phones_answer_takes_nothing() {
    let rig = rig().await;
    another_phones_answer_takes_nothing(&rig.url, "+254711000904", "+254711000905").await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_another_phones_answer_takes_nothing() {
    let Some((_redis, rig)) = redis_rig().await else {
        return;
    };
    another_phones_answer_takes_nothing(&rig.url, "+254711000906", "+254711000907").await;
}
