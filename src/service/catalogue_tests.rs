//! The cache's tests: one fetch at a time, the list standing in, a
//! change and the list it replaced, a list another instance has.

use super::*;
use crate::dialect::mono::{Customer, Mono, MonoConfig};
use crate::driver::DriverConfig;
use crate::flow::{AuthMethod, AuthMethodKind};
use crate::store::SystemClock;

const MINUTE: Duration = Duration::from_secs(60);

/// A driver for a partner that is never reached (the fetches here are
/// dropped unpolled).
fn driver() -> Driver {
    let mono = Mono::new(MonoConfig::new(
        "test_sk",
        Customer::new_customer("Ada Obi", "ada@example.com"),
    ));
    Driver::new("http://127.0.0.1:9", mono, DriverConfig::default()).unwrap()
}

fn stale(lookup: Lookup) -> (watch::Receiver<()>, Option<Running>) {
    match lookup {
        Lookup::Stale { ended, start } => (ended, start),
        Lookup::Fresh(_) => panic!("a fresh list where none was fetched"),
    }
}

/// The fetch `running` ends with `result` at `now`, as a spawned
/// fetch's does.
fn ends(running: Running, now: Timestamp, result: Result<Arc<Catalogue>, CallError>) {
    running.fetched(now, result);
}

/// One fetch at a time: the first turn to find the list stale gets
/// the fetch to start, the others wait; a fetch dropped before its end
/// (never spawned, or its task dropped unpolled) opens the gate again
/// and wakes them, and with nothing kept they are told it timed out.
#[tokio::test]
async fn one_fetch_at_a_time_and_one_dropped_unpolled_lets_the_next_start() {
    let cache = Arc::new(CatalogueCache::new(MINUTE, MINUTE));
    let (first, start) = stale(cache.lookup(Timestamp(0)));
    let running = start.expect("the first turn starts the fetch");
    let (second, again) = stale(cache.lookup(Timestamp(0)));
    assert!(again.is_none(), "a second fetch while one runs");
    drop(running.fetch(driver(), Arc::new(SystemClock), MINUTE));
    // Bounded: a gate left shut would leave these turns waiting for good.
    for ended in [first, second] {
        let woken = tokio::time::timeout(
            Duration::from_secs(5),
            cache.wait(ended, Timestamp(0), None),
        );
        assert_eq!(woken.await, Ok(Err(CallError::Timeout)), "not woken");
    }
    let (_, start) = stale(cache.lookup(Timestamp(0)));
    assert!(
        start.is_some(),
        "the gate stayed shut after the fetch was dropped"
    );
}

/// A turn past its deadline, or told of a failed refresh, gets the last
/// list, said to be stale; with none, the timeout or the failure. A
/// failure is remembered, the last list standing in for it, and a
/// refresh equal to the last list keeps its `Arc`.
#[tokio::test]
async fn the_last_list_stands_in_past_a_deadline_and_for_a_failure() {
    let cache = Arc::new(CatalogueCache::new(MINUTE, MINUTE));
    let past = tokio::time::Instant::now();
    let (ended, start) = stale(cache.lookup(Timestamp(0)));
    assert_eq!(
        cache.wait(ended, Timestamp(0), Some(past)).await,
        Err(CallError::Timeout)
    );
    drop(start);

    let list = Arc::new(Catalogue::new(Vec::new()));
    let (ended, start) = stale(cache.lookup(Timestamp(0)));
    ends(start.unwrap(), Timestamp(0), Ok(Arc::clone(&list)));
    let (got, was_stale) = cache.wait(ended, Timestamp(0), None).await.unwrap();
    assert!(Arc::ptr_eq(&got, &list) && !was_stale);

    // A minute on, stale: a refresh starts, and a turn that cannot
    // wait is given the last list, stale.
    let later = Timestamp(60_000);
    let (ended, start) = stale(cache.lookup(later));
    let (got, was_stale) = cache.wait(ended, Timestamp(0), Some(past)).await.unwrap();
    assert!(Arc::ptr_eq(&got, &list) && was_stale);
    // The refresh fails: the turns waiting, and those of the next
    // minute, get the last list, stale, and the partner is not asked.
    let (ended, _) = stale(cache.lookup(later));
    ends(start.unwrap(), later, Err(CallError::Timeout));
    let (got, was_stale) = cache.wait(ended, Timestamp(0), None).await.unwrap();
    assert!(Arc::ptr_eq(&got, &list) && was_stale);
    match cache.lookup(later) {
        Lookup::Fresh(Ok((got, true))) => assert!(Arc::ptr_eq(&got, &list)),
        _ => panic!("a remembered failure without the last list standing in"),
    }
    // A refresh equal to the last list keeps its Arc.
    let after = Timestamp(120_000);
    let (ended, start) = stale(cache.lookup(after));
    ends(
        start.unwrap(),
        after,
        Ok(Arc::new(Catalogue::new(Vec::new()))),
    );
    let (got, was_stale) = cache.wait(ended, Timestamp(0), None).await.unwrap();
    assert!(
        Arc::ptr_eq(&got, &list),
        "an equal list replaced the cached Arc"
    );
    assert!(!was_stale);
}

/// A fetch dropped unfinished wakes its turns with the list before it,
/// said to stand in (it is older than their lookup).
#[tokio::test]
async fn a_fetch_dropped_unfinished_leaves_the_older_list_standing_in() {
    let cache = Arc::new(CatalogueCache::new(MINUTE, MINUTE));
    let list = Arc::new(Catalogue::new(Vec::new()));
    let (_, start) = stale(cache.lookup(Timestamp(0)));
    ends(start.unwrap(), Timestamp(0), Ok(Arc::clone(&list)));
    let later = Timestamp(60_000);
    let (ended, start) = stale(cache.lookup(later));
    drop(start);
    let (got, stood_in) = cache.wait(ended, later, None).await.unwrap();
    assert!(Arc::ptr_eq(&got, &list) && stood_in);
}

/// A refresh that brings banks numbered otherwise (here: a bank that
/// gained a way to log in) keeps the list it replaced, told to a lookup
/// since before the change and not to one since after it; a refresh
/// with the same list, a failed one, or one that only renamed a bank
/// changes nothing.
#[test]
fn a_changed_list_keeps_the_one_it_replaced_and_when() {
    let one = |id: &str| Arc::new(Catalogue::new(vec![Institution::new(id, id, Vec::new())]));
    let cache = Arc::new(CatalogueCache::new(MINUTE, MINUTE));
    let fetch = |at: u64, result: Result<Arc<Catalogue>, CallError>| {
        let (_, start) = stale(cache.lookup(Timestamp(at)));
        ends(start.unwrap(), Timestamp(at), result);
    };
    fetch(0, Ok(one("a")));
    assert!(
        cache.replaced_after(|| Timestamp(0)).is_none(),
        "a first list replaces none"
    );
    fetch(60_000, Ok(one("a")));
    fetch(120_000, Err(CallError::Timeout));
    let renamed = Institution::new("a", "A Bank", Vec::new());
    fetch(180_000, Ok(Arc::new(Catalogue::new(vec![renamed]))));
    assert!(
        cache.replaced_after(|| Timestamp(0)).is_none(),
        "an equal list, a failure, or the same banks renamed"
    );
    // The same bank, now with a way to log in: numbered otherwise.
    let method = AuthMethod::new(AuthMethodKind::Ussd, None);
    let with_method = Institution::new("a", "A Bank", vec![method]);
    fetch(240_000, Ok(Arc::new(Catalogue::new(vec![with_method]))));
    let replaced = cache.replaced_after(|| Timestamp(239_999)).unwrap();
    assert_eq!(replaced.institutions()[0].name, "A Bank");
    assert!(cache.replaced_after(|| Timestamp(240_000)).is_none());
}

/// A session stored on a list this cache has never had (another
/// instance's newer one) finds the fresh list stale, once in the gap;
/// the list it replaced, or the one it has, is known and fresh.
#[test]
fn a_list_another_instance_has_is_refreshed_early_once_in_the_gap() {
    let one = |id: &str| Arc::new(Catalogue::new(vec![Institution::new(id, id, Vec::new())]));
    let cache = Arc::new(CatalogueCache::new(MINUTE, MINUTE));
    let fetch = |at: u64, list: Arc<Catalogue>| {
        let (_, start) = stale(cache.lookup(Timestamp(at)));
        ends(start.unwrap(), Timestamp(at), Ok(list));
    };
    let (a, b, c) = (one("a"), one("b"), one("c"));
    fetch(0, Arc::clone(&a));
    fetch(60_000, Arc::clone(&b));
    let fresh = |lookup: Lookup| matches!(lookup, Lookup::Fresh(Ok(_)));
    let at = Timestamp(61_000);
    assert!(fresh(cache.lookup_expecting(at, Some(b.fingerprint()))));
    assert!(
        fresh(cache.lookup_expecting(at, Some(a.fingerprint()))),
        "the one it replaced"
    );
    let (_, start) = stale(cache.lookup_expecting(at, Some(c.fingerprint())));
    // While that fetch runs, another such session waits for it.
    let (_, again) = stale(cache.lookup_expecting(at, Some(c.fingerprint())));
    assert!(again.is_none(), "a second fetch while one runs");
    drop(start);
    let soon = Timestamp(61_000 + EARLY_REFRESH_GAP_MS - 1);
    assert!(
        fresh(cache.lookup_expecting(soon, Some(c.fingerprint()))),
        "once in the gap"
    );
    let later = Timestamp(61_000 + EARLY_REFRESH_GAP_MS);
    assert!(!fresh(cache.lookup_expecting(later, Some(c.fingerprint()))));
}

/// A session stored on the list before a refresh that only renamed a
/// bank is on an older list, not a newer one: no early refresh.
#[test]
fn a_list_before_a_rename_is_known() {
    let cache = Arc::new(CatalogueCache::new(MINUTE, MINUTE));
    let named = |name: &str| {
        let bank = Institution::new("a", name, Vec::new());
        Arc::new(Catalogue::new(vec![bank]))
    };
    let (old, new) = (named("a"), named("A Bank"));
    for (at, list) in [(0, &old), (60_000, &new)] {
        let (_, start) = stale(cache.lookup(Timestamp(at)));
        ends(start.unwrap(), Timestamp(at), Ok(Arc::clone(list)));
    }
    let lookup = cache.lookup_expecting(Timestamp(61_000), Some(old.fingerprint()));
    assert!(matches!(lookup, Lookup::Fresh(Ok(_))));
}

/// With no list ever had, a failure is the failure, remembered.
#[tokio::test]
async fn with_no_list_a_failure_is_told_and_remembered() {
    let cache = Arc::new(CatalogueCache::new(MINUTE, MINUTE));
    let (ended, start) = stale(cache.lookup(Timestamp(0)));
    let down = CallError::Connect("refused".into());
    ends(start.unwrap(), Timestamp(0), Err(down.clone()));
    assert_eq!(
        cache.wait(ended, Timestamp(0), None).await,
        Err(down.clone())
    );
    assert!(matches!(cache.lookup(Timestamp(1)), Lookup::Fresh(Err(e)) if e == down));
}
