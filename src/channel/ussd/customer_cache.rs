//! [`CachedDirectory`]: a host's customer directory, asked once per phone
//! a while rather than once per session.
//!
//! Invariant: a [`Lookup::Found`] answer is reused for the same phone and
//! partner until `ttl` after it was asked for, and nothing else is: a
//! phone the host does not know is asked about again on its next dial (it
//! may have registered since), and a failed lookup is not remembered at
//! all. Lookups of one phone at the same moment (a gateway that sends a
//! first answer twice at once) share one request to the host, whatever it
//! answers.
//!
//! USSD sessions drop and people dial again at once: without this, each
//! redial costs the host a lookup inside the hop's reply budget.

use super::customers::{CustomerDirectory, DirectoryError, Lookup};
use crate::store::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Phones remembered at once; past this the expired ones are dropped, and
/// if that is not enough, all of them (a flood of phones is not worth
/// memory).
const CAPACITY: usize = 100_000;

/// One phone's lookup: its answer once there is one, and when it was
/// asked for.
struct Slot {
    answer: Arc<OnceCell<Lookup>>,
    asked: Instant,
}

/// A [`CustomerDirectory`] in front of another, remembering who each
/// phone is for `ttl` (see the module doc).
pub struct CachedDirectory {
    inner: Arc<dyn CustomerDirectory>,
    ttl: Duration,
    slots: Mutex<HashMap<(String, String), Slot>>,
}

impl std::fmt::Debug for CachedDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedDirectory")
            .field("inner", &self.inner)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachedDirectory {
    /// `inner`, each phone's customer remembered for `ttl`.
    pub fn new(inner: Arc<dyn CustomerDirectory>, ttl: Duration) -> CachedDirectory {
        CachedDirectory {
            inner,
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The slot for `key`: a fresh one when there is none or its answer
    /// has expired.
    fn slot(&self, key: &(String, String), now: Instant) -> Arc<OnceCell<Lookup>> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(key) {
            if now.duration_since(slot.asked) < self.ttl {
                return Arc::clone(&slot.answer);
            }
        }
        if slots.len() >= CAPACITY {
            slots.retain(|_, slot| now.duration_since(slot.asked) < self.ttl);
            if slots.len() >= CAPACITY {
                slots.clear();
            }
        }
        let answer = Arc::new(OnceCell::new());
        slots.insert(
            key.clone(),
            Slot {
                answer: Arc::clone(&answer),
                asked: now,
            },
        );
        answer
    }

    /// Forgets `key`'s slot if it is still `answer`'s.
    fn forget(&self, key: &(String, String), answer: &Arc<OnceCell<Lookup>>) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if slots
            .get(key)
            .is_some_and(|s| Arc::ptr_eq(&s.answer, answer))
        {
            slots.remove(key);
        }
    }
}

impl CustomerDirectory for CachedDirectory {
    fn lookup<'a>(
        &'a self,
        phone: &'a str,
        partner: &'a str,
    ) -> BoxFuture<'a, Result<Lookup, DirectoryError>> {
        Box::pin(async move {
            let key = (phone.to_owned(), partner.to_owned());
            let answer = self.slot(&key, Instant::now());
            // One caller asks; the others at the same moment wait for its
            // answer. A failure (or a caller given up on mid-way) leaves
            // the slot empty, and the next caller asks again.
            let looked_up = answer
                .get_or_try_init(|| self.inner.lookup(phone, partner))
                .await
                .cloned();
            if !matches!(looked_up, Ok(Lookup::Found(_))) {
                self.forget(&key, &answer);
            }
            looked_up
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::PartnerCustomer;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers by phone after `delay`, counting the questions: `+1…` is
    /// found, `+2…` unknown, anything else fails.
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

    #[tokio::test]
    async fn a_found_customer_is_reused_until_its_ttl_and_per_partner() {
        let (inner, cache) = cached(Duration::ZERO, Duration::from_millis(200));
        for _ in 0..3 {
            let found = cache.lookup("+1555", "mono").await.unwrap();
            assert!(
                matches!(found, Lookup::Found(PartnerCustomer::Known { ref id }) if id == "cus_+1555")
            );
        }
        assert_eq!(inner.asked.load(Ordering::SeqCst), 1);
        cache.lookup("+1555", "flinks").await.unwrap();
        assert_eq!(inner.asked.load(Ordering::SeqCst), 2);
        tokio::time::sleep(Duration::from_millis(250)).await;
        cache.lookup("+1555", "mono").await.unwrap();
        assert_eq!(inner.asked.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_unknown_phone_and_a_failure_are_asked_again() {
        let (inner, cache) = cached(Duration::ZERO, Duration::from_secs(60));
        for _ in 0..2 {
            assert_eq!(
                cache.lookup("+2555", "mono").await,
                Ok(Lookup::Unknown { message: None })
            );
            assert!(cache.lookup("+3555", "mono").await.is_err());
        }
        assert_eq!(inner.asked.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn lookups_at_the_same_moment_share_one_question_whatever_it_answers() {
        for phone in ["+1666", "+2666", "+3666"] {
            let (inner, cache) = cached(Duration::from_millis(100), Duration::from_secs(60));
            let (a, b) = tokio::join!(cache.lookup(phone, "mono"), cache.lookup(phone, "mono"));
            assert_eq!(a.is_ok(), b.is_ok(), "{phone}");
            // A failure is not shared: the twin waiting on it asks itself.
            let expected = if phone == "+3666" { 2 } else { 1 };
            assert_eq!(inner.asked.load(Ordering::SeqCst), expected, "{phone}");
        }
    }

    #[tokio::test]
    async fn a_lookup_given_up_on_leaves_the_next_caller_to_ask() {
        let (inner, cache) = cached(Duration::from_millis(200), Duration::from_secs(60));
        let cut =
            tokio::time::timeout(Duration::from_millis(20), cache.lookup("+1777", "mono")).await;
        assert!(cut.is_err());
        assert!(matches!(
            cache.lookup("+1777", "mono").await,
            Ok(Lookup::Found(_))
        ));
        assert_eq!(inner.asked.load(Ordering::SeqCst), 2);
    }
}
