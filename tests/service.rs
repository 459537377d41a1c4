//! The session service's institution-list cache against a stub partner, on
//! a fake clock: a list is fetched once per `catalogue_ttl` however many
//! turns ask, a failure is remembered for `catalogue_failure_ttl` (so a
//! partner that is down is not asked by every turn), and a refreshed list
//! equal to the cached one keeps the cached `Arc` (screens and snapshots
//! that refer to it stay valid). Time is crossed exactly, without sleeping.
#![cfg(feature = "testing")]

use connectflow::driver::DriverConfig;
use connectflow::service::{ServiceConfig, SessionService};
use connectflow::store::MemoryStore;
use connectflow::testing::{catalogues, mono_driver, Answer, FakeClock, StubPartner};
use std::sync::Arc;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(300);
const FAILURE_TTL: Duration = Duration::from_secs(5);

/// A service for `partner` reading time from `clock`, and its partner's name.
fn service(partner: &StubPartner, clock: &FakeClock) -> (SessionService, &'static str) {
    let driver = mono_driver(&partner.url(), DriverConfig::default());
    let config = ServiceConfig {
        catalogue_ttl: TTL,
        catalogue_failure_ttl: FAILURE_TTL,
        ..ServiceConfig::default()
    };
    let service = SessionService::new(vec![driver], Arc::new(MemoryStore::new()), config)
        .with_clock(Arc::new(clock.clone()));
    let name = service.default_partner().unwrap();
    (service, name)
}

#[tokio::test]
async fn the_list_is_fetched_once_per_ttl_and_an_equal_refresh_keeps_the_cached_one() {
    let partner = StubPartner::start().await.unwrap();
    let clock = FakeClock::default();
    let (service, name) = service(&partner, &clock);

    let first = service.catalogue(name).await.unwrap();
    assert_eq!(first.institutions()[0].id, catalogues::DEMO_BANK);
    for _ in 0..5 {
        assert!(Arc::ptr_eq(&first, &service.catalogue(name).await.unwrap()));
    }
    clock.advance(TTL - Duration::from_millis(1));
    service.catalogue(name).await.unwrap();
    assert_eq!(
        partner.count(StubPartner::INSTITUTIONS),
        1,
        "fetched within the TTL"
    );

    clock.advance(Duration::from_millis(1));
    let refreshed = service.catalogue(name).await.unwrap();
    assert_eq!(
        partner.count(StubPartner::INSTITUTIONS),
        2,
        "not fetched after the TTL"
    );
    assert!(
        Arc::ptr_eq(&first, &refreshed),
        "an equal list must keep the cached Arc"
    );
}

#[tokio::test]
async fn a_failure_is_remembered_briefly_then_the_list_is_asked_for_again() {
    let partner = StubPartner::start().await.unwrap();
    partner.answer_once(StubPartner::INSTITUTIONS, Answer::status(503, "down"));
    let clock = FakeClock::default();
    let (service, name) = service(&partner, &clock);

    for _ in 0..3 {
        assert!(service.catalogue(name).await.is_err());
    }
    assert_eq!(
        partner.count(StubPartner::INSTITUTIONS),
        1,
        "a down partner asked by every turn"
    );

    clock.advance(FAILURE_TTL);
    let list = service.catalogue(name).await.unwrap();
    assert_eq!(list.institutions()[0].id, catalogues::DEMO_BANK);
    assert_eq!(partner.count(StubPartner::INSTITUTIONS), 2);
}

#[tokio::test]
async fn a_changed_list_replaces_the_cached_one_after_the_ttl() {
    let partner = StubPartner::start().await.unwrap();
    let clock = FakeClock::default();
    let (service, name) = service(&partner, &clock);
    let before = service.catalogue(name).await.unwrap();

    partner.answer(
        StubPartner::INSTITUTIONS,
        Answer::institutions(catalogues::gtbank().institutions()),
    );
    assert!(Arc::ptr_eq(
        &before,
        &service.catalogue(name).await.unwrap()
    ));
    clock.advance(TTL);
    let after = service.catalogue(name).await.unwrap();
    assert_eq!(after.institutions()[0].id, catalogues::GTBANK);
    assert_ne!(before.fingerprint(), after.fingerprint());
}

/// Finding 8: an expired list used to be fetched again by every concurrent
/// turn; now one refresh runs and the others wait for it.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_turns_share_one_refresh() {
    let partner = StubPartner::start().await.unwrap();
    let clock = FakeClock::default();
    let (service, name) = service(&partner, &clock);
    partner.answer(
        StubPartner::INSTITUTIONS,
        Answer::institutions(catalogues::demo().institutions()).after(Duration::from_millis(200)),
    );
    let service = Arc::new(service);
    let turns: Vec<_> = (0..20)
        .map(|_| {
            let service = Arc::clone(&service);
            tokio::spawn(async move { service.catalogue(name).await.is_ok() })
        })
        .collect();
    for turn in turns {
        assert!(turn.await.unwrap());
    }
    assert_eq!(partner.count(StubPartner::INSTITUTIONS), 1);
}
