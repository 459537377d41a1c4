//! The cache against a directory of our own that counts its questions.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Answers by the phone's first digit after `delay`, counting the
/// questions: `+1…` a known customer, `+4…` a new one, `+2…` unknown,
/// anything else a failure.
#[derive(Debug, Default)]
struct Counting {
    asked: AtomicUsize,
    delay: Duration,
}

impl CustomerDirectory for Counting {
    fn lookup<'a>(
        &'a self,
        phone: &'a str,
        _partner: &'a str,
    ) -> BoxFuture<'a, Result<Lookup, DirectoryError>> {
        Box::pin(async move {
            self.asked.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            match phone.as_bytes().get(1) {
                Some(b'1') => Ok(Lookup::Found(PartnerCustomer::Known {
                    id: format!("cus_{phone}"),
                })),
                Some(b'4') => Ok(Lookup::Found(PartnerCustomer::New {
                    name: "Ada Obi".into(),
                    email: "ada@example.com".into(),
                })),
                Some(b'2') => Ok(Lookup::Unknown { message: None }),
                _ => Err(DirectoryError("down".into())),
            }
        })
    }
}

fn cached(delay: Duration, ttl: Duration) -> (Arc<Counting>, CachedDirectory) {
    let inner = Arc::new(Counting {
        asked: AtomicUsize::new(0),
        delay,
    });
    let cache = CachedDirectory::new(inner.clone(), ttl);
    (inner, cache)
}

fn asked(inner: &Counting) -> usize {
    inner.asked.load(Ordering::SeqCst)
}

fn remembered(cache: &CachedDirectory) -> usize {
    cache
        .slots
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .by_phone
        .len()
}

#[tokio::test]
async fn a_known_customer_is_reused_until_its_ttl_and_per_partner() {
    let (inner, cache) = cached(Duration::ZERO, Duration::from_millis(200));
    for _ in 0..3 {
        let found = cache.lookup("+1555", "mono").await.unwrap();
        assert!(
            matches!(found, Lookup::Found(PartnerCustomer::Known { ref id }) if id == "cus_+1555")
        );
    }
    assert_eq!(asked(&inner), 1);
    cache.lookup("+1555", "flinks").await.unwrap();
    assert_eq!(asked(&inner), 2);
    tokio::time::sleep(Duration::from_millis(250)).await;
    cache.lookup("+1555", "mono").await.unwrap();
    assert_eq!(asked(&inner), 3);
}

/// A new customer's name is not reused: once linked the host names the
/// partner's id, and a second new customer would be a duplicate.
#[tokio::test]
async fn a_new_customer_an_unknown_phone_and_a_failure_are_asked_again() {
    let (inner, cache) = cached(Duration::ZERO, Duration::from_secs(60));
    for _ in 0..2 {
        assert!(matches!(
            cache.lookup("+4555", "mono").await,
            Ok(Lookup::Found(PartnerCustomer::New { .. }))
        ));
        assert_eq!(
            cache.lookup("+2555", "mono").await,
            Ok(Lookup::Unknown { message: None })
        );
        assert!(cache.lookup("+3555", "mono").await.is_err());
    }
    assert_eq!(asked(&inner), 6);
    assert_eq!(remembered(&cache), 0);
}

#[tokio::test]
async fn lookups_at_the_same_moment_share_one_question_and_its_answer() {
    for phone in ["+1666", "+4666", "+2666", "+3666"] {
        let (inner, cache) = cached(Duration::from_millis(100), Duration::from_secs(60));
        let (a, b) = tokio::join!(cache.lookup(phone, "mono"), cache.lookup(phone, "mono"));
        assert_eq!(a, b, "{phone}");
        assert_eq!(asked(&inner), 1, "{phone}");
    }
}

#[tokio::test]
async fn a_lookup_given_up_on_leaves_the_next_caller_to_ask() {
    let (inner, cache) = cached(Duration::from_millis(200), Duration::from_secs(60));
    let cut = tokio::time::timeout(Duration::from_millis(20), cache.lookup("+1777", "mono")).await;
    assert!(cut.is_err());
    assert!(matches!(
        cache.lookup("+1777", "mono").await,
        Ok(Lookup::Found(_))
    ));
    assert_eq!(asked(&inner), 2);
}

/// A lookup still in flight when its TTL passes is not replaced by a
/// second question (a directory slower than the TTL).
#[tokio::test]
async fn a_lookup_slower_than_the_ttl_is_not_asked_twice() {
    let (inner, cache) = cached(Duration::from_millis(200), Duration::from_millis(50));
    let first = cache.lookup("+1888", "mono");
    let second = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cache.lookup("+1888", "mono").await
    };
    let (a, b) = tokio::join!(first, second);
    assert_eq!(a, b);
    assert_eq!(asked(&inner), 1);
}

#[tokio::test]
async fn expired_phones_are_swept_by_later_lookups() {
    let (_, cache) = cached(Duration::ZERO, Duration::from_millis(50));
    for n in 0..5 {
        cache.lookup(&format!("+1{n}"), "mono").await.unwrap();
    }
    assert_eq!(remembered(&cache), 5);
    tokio::time::sleep(Duration::from_millis(60)).await;
    cache.lookup("+19", "mono").await.unwrap();
    assert_eq!(remembered(&cache), 1);
}

/// Full of phones none of which has expired: a new phone is asked about
/// and not remembered; no one remembered is dropped for it.
#[tokio::test]
async fn when_full_a_new_phone_is_not_remembered_and_nothing_is_dropped() {
    let (inner, mut cache) = cached(Duration::ZERO, Duration::from_secs(60));
    cache.capacity = 3;
    for n in 0..3 {
        cache.lookup(&format!("+1{n}"), "mono").await.unwrap();
    }
    for _ in 0..2 {
        cache.lookup("+17", "mono").await.unwrap();
    }
    assert_eq!(asked(&inner), 5);
    assert_eq!(remembered(&cache), 3);
    cache.lookup("+10", "mono").await.unwrap();
    assert_eq!(asked(&inner), 5);
}

#[test]
fn a_ttl_past_an_hour_is_cut_to_an_hour() {
    let (_, cache) = cached(Duration::ZERO, Duration::from_secs(86_400));
    assert_eq!(cache.ttl, MAX_TTL);
}
