//! Claims on the session service, against a stub partner: a lease is judged
//! on the store's clock, not an instance's; an outcome the partner produced
//! is saved even when the store fails for a while (findings 9 and 11 of the
//! security review).
#![cfg(feature = "testing")]

use connectflow::driver::DriverConfig;
use connectflow::flow::{ConnectFlow, Input, Step, UserAction, View};
use connectflow::form::Values;
use connectflow::service::{Channel, ClaimStatus, ServiceConfig, Session, SessionService, Turn};
use connectflow::store::{BoxFuture, Entry, MemoryStore, SessionStore, StoreError, Version};
use connectflow::testing::{catalogues, mono_driver, Answer, FakeClock, StubPartner};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[path = "support/flaky_delivery.rs"]
mod flaky_delivery;

/// A channel that keeps nothing but a note of what it was told.
#[derive(Debug)]
struct Notes;

impl Channel<Vec<String>> for Notes {
    fn name(&self) -> &'static str {
        "test"
    }
    fn settled(&self, flow: &ConnectFlow, session: &mut Session<Vec<String>>) {
        session.channel.push(format!("settled {:?}", flow.state()));
    }
    fn working(&self, session: &mut Session<Vec<String>>) {
        session.channel.push("working".into());
    }
}

/// A store whose next `fail` writes fail, as a Redis that is briefly gone.
#[derive(Debug)]
struct Flaky {
    inner: MemoryStore,
    fail: AtomicUsize,
}

impl SessionStore for Flaky {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, StoreError>> {
        self.inner.get(key)
    }
    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        let failing = self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Box::pin(async { Err(StoreError::Backend("connection refused".into())) });
        }
        self.inner.compare_and_set(key, expected, data, ttl)
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }
}

const KEY: &str = "test:one";

/// Drives a new session to its login form; returns the service's view of it.
async fn at_login_form(service: &Arc<SessionService>) -> (Option<Version>, Session<Vec<String>>) {
    let partner_name = service.default_partner().unwrap();
    let (session, flow) = service.start(partner_name, None, None, Vec::new()).unwrap();
    let budget = Duration::from_secs(5);
    service
        .drive(KEY, None, session, flow, Arc::new(Notes), budget)
        .await
        .unwrap();
    let mut loaded = service.load::<Vec<String>>(KEY).await.unwrap().unwrap();
    let mut flow = service.restore(&loaded.session).await.unwrap();
    let now = service.now();
    flow.handle(
        now,
        Input::User(UserAction::ChooseInstitution {
            id: catalogues::DEMO_BANK.into(),
            auth_method: None,
        }),
    )
    .unwrap();
    service
        .drive(
            KEY,
            loaded.version,
            loaded.session,
            flow,
            Arc::new(Notes),
            budget,
        )
        .await
        .unwrap();
    loaded = service.load::<Vec<String>>(KEY).await.unwrap().unwrap();
    (loaded.version, loaded.session)
}

/// A new session taken to its login form, the login submitted and driven
/// with a turn budget of `budget`.
async fn submit_login(service: &Arc<SessionService>, budget: Duration) -> Turn<Vec<String>> {
    let (version, session) = at_login_form(service).await;
    let mut flow = service.restore(&session).await.unwrap();
    flow.handle(service.now(), login()).unwrap();
    service
        .drive(KEY, version, session, flow, Arc::new(Notes), budget)
        .await
        .unwrap()
}

fn login() -> Input {
    Input::User(UserAction::Submit(
        Values::new().with("username", "ada").with("password", "pw"),
    ))
}

/// Finding 11: the claim lease was measured on each instance's own clock,
/// so an instance whose clock ran five minutes ahead took a live call for a
/// dead one. Now claims are stamped and judged on the store's clock.
#[tokio::test(flavor = "multi_thread")]
async fn a_lease_is_judged_on_the_stores_clock_not_an_instances() {
    let partner = StubPartner::start().await.unwrap();
    partner.answer(StubPartner::LOGIN, Answer::hang());
    let store_clock = FakeClock::default();
    let store: Arc<dyn SessionStore> =
        Arc::new(MemoryStore::new().with_clock(Arc::new(store_clock.clone())));
    let lease = Duration::from_secs(60);
    let service = |clock: &FakeClock| {
        let config = ServiceConfig {
            claim_lease: lease,
            ..ServiceConfig::default()
        };
        let driver = mono_driver(&partner.url(), DriverConfig::default());
        Arc::new(
            SessionService::new(vec![driver], Arc::clone(&store), config)
                .with_clock(Arc::new(clock.clone())),
        )
    };
    let a = service(&store_clock);
    let turn = submit_login(&a, Duration::from_millis(200)).await;
    assert!(matches!(turn, Turn::Working(_)), "{turn:?}");

    // Instance B's clock is five minutes ahead of everyone else's.
    let skewed = FakeClock::new(store_clock.now().plus_ms(5 * 60 * 1000));
    let b = service(&skewed);
    let mut loaded = b.load::<Vec<String>>(KEY).await.unwrap().unwrap();
    let mut flow = b.restore(&loaded.session).await.unwrap();
    assert_eq!(b.recover(&mut loaded.session, &mut flow), ClaimStatus::Live);

    // Only when the store's clock passes the lease is the call given up.
    store_clock.advance(lease + Duration::from_secs(1));
    let mut loaded = b.load::<Vec<String>>(KEY).await.unwrap().unwrap();
    let mut flow = b.restore(&loaded.session).await.unwrap();
    assert_eq!(
        b.recover(&mut loaded.session, &mut flow),
        ClaimStatus::Recovered
    );
    assert!(
        matches!(flow.view(), View::Form(_)),
        "back on the login form"
    );
    assert_eq!(
        partner.count(StubPartner::LOGIN),
        1,
        "the login was never re-sent"
    );
}

/// Finding 9: after any store error (or 8 conflicts), settle gave up: a link
/// the partner had made was lost and the person sent back to log in. Now
/// settle keeps trying for the claim's lease.
#[tokio::test(flavor = "multi_thread")]
async fn an_outcome_is_saved_through_a_store_that_fails_for_a_while() {
    let partner = StubPartner::start().await.unwrap();
    partner.answer(
        StubPartner::LOGIN,
        Answer::step(&Step::code("code_9")).after(Duration::from_millis(300)),
    );
    let store = Arc::new(Flaky {
        inner: MemoryStore::new(),
        fail: AtomicUsize::new(0),
    });
    let driver = mono_driver(&partner.url(), DriverConfig::default());
    let service = Arc::new(SessionService::new(
        vec![driver],
        store.clone(),
        ServiceConfig::default(),
    ));
    let (version, session) = at_login_form(&service).await;
    let mut flow = service.restore(&session).await.unwrap();
    flow.handle(service.now(), login()).unwrap();
    // The store goes away right after the claim is written, while the login
    // is with the bank; it comes back after four failed writes.
    let arm = {
        let store = store.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            store.fail.store(4, Ordering::SeqCst);
        }
    };
    let drive = service.drive(
        KEY,
        version,
        session,
        flow,
        Arc::new(Notes),
        Duration::from_secs(5),
    );
    let (turn, ()) = tokio::join!(drive, arm);
    let session = turn.expect("the outcome was saved").into_session();
    assert!(session.is_finished(), "{session:?}");
    assert!(session.delivered().is_some());
    assert_eq!(
        store.fail.load(Ordering::SeqCst),
        0,
        "the failures were met"
    );
    assert_eq!(partner.count(StubPartner::EXCHANGE), 1);
}

/// The defaults keep their promise: a claim's lease outlasts the longest
/// chain of calls one turn can make (the slowest login or commit, what
/// follows it without the person, and a list read), so a live call is
/// never recovered as dead.
#[test]
fn the_default_lease_outlasts_the_default_call_chain() {
    let driver = connectflow::driver::DriverConfig::default();
    let service = connectflow::service::ServiceConfig::default();
    let longest = driver.call_timeout.max(driver.max_step_timeout);
    let worst = longest * 2 + service.read_timeout;
    assert!(
        service.claim_lease >= worst,
        "lease {:?} < worst chain {:?}",
        service.claim_lease,
        worst
    );
}

/// A link whose delivery still fails when the process is asked to stop:
/// the background retry makes one last try at once and ends, so shutdown
/// is not held for the retry's pause (up to 30 s, for the session's life).
#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_waiting_to_be_retried_does_not_hold_shutdown() {
    let partner = StubPartner::start().await.unwrap();
    let delivery = Arc::new(flaky_delivery::FlakyDelivery::failing(usize::MAX));
    let config = ServiceConfig {
        claim_lease: Duration::from_millis(400),
        ..ServiceConfig::default()
    };
    let driver = mono_driver(&partner.url(), DriverConfig::default());
    let service = Arc::new(
        SessionService::new(vec![driver], Arc::new(MemoryStore::new()), config)
            .with_delivery(delivery.clone()),
    );
    let turn = submit_login(&service, Duration::from_secs(5)).await;
    assert!(matches!(turn, Turn::Settled(_)), "{turn:?}");
    let tried = delivery.calls.load(Ordering::SeqCst);
    assert!(tried >= 1 && delivery.delivered().is_empty());
    assert!(
        service.drain(Duration::from_secs(5)).await,
        "shutdown was held"
    );
    assert!(
        delivery.calls.load(Ordering::SeqCst) > tried,
        "one last try"
    );
}
