//! The parked-link list's tests: parks and sweeps over a memory store,
//! with records that can be taken down or refuse one reference.

use super::*;
use crate::service::{Delivered, Delivery, DeliveryError, ServiceConfig};
use crate::store::{BoxFuture, MemoryStore, SessionStore};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Records down while `down`, refusing the reference `refused` always,
/// else keeping every reference delivered.
#[derive(Debug, Default)]
struct Records {
    down: AtomicBool,
    refused: Option<String>,
    calls: AtomicUsize,
    delivered: Mutex<Vec<String>>,
}

impl Delivery for Records {
    fn deliver<'a>(
        &'a self,
        linked: &'a LinkedAccount,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst)
                || self.refused.as_deref() == Some(linked.reference.as_str())
            {
                return Err(DeliveryError("down".into()));
            }
            if let Ok(mut d) = self.delivered.lock() {
                d.push(linked.reference.clone());
            }
            Ok(Delivered::default())
        })
    }
}

fn service(store: Arc<dyn SessionStore>, records: Arc<Records>) -> SessionService {
    SessionService::new(Vec::new(), store, ServiceConfig::default()).with_delivery(records)
}

/// Every entry parked now, on every shard and the legacy list.
async fn all(s: &SessionService) -> Vec<Value> {
    let mut every = Vec::new();
    for key in every_key() {
        every.extend(s.parked(&key).await.unwrap().1);
    }
    every
}

/// The same, passing over what cannot be read.
async fn all_readable(s: &SessionService) -> Vec<Value> {
    let mut every = Vec::new();
    for key in every_key() {
        if let Ok((_, links)) = s.parked(&key).await {
            every.extend(links);
        }
    }
    every
}

fn link(n: usize) -> LinkedAccount {
    LinkedAccount {
        reference: format!("ref-{n}"),
        partner: "mono".into(),
        institution: None,
        institution_icon: None,
        auth_method: None,
        account_id: format!("acc-{n}"),
        customer: None,
        phone_number: None,
        channel: "ussd".into(),
    }
}

/// Many links parked at once by two services on one store (two
/// instances on one Redis, the records down at peak) are all kept:
/// compare-and-set with jittered retries loses none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_parks_lose_nothing() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let records = Arc::new(Records::default());
    let a = Arc::new(service(Arc::clone(&store), Arc::clone(&records)));
    let b = Arc::new(service(Arc::clone(&store), Arc::clone(&records)));
    let mut tasks = Vec::new();
    for n in 0..40 {
        let s = Arc::clone(if n % 2 == 0 { &a } else { &b });
        tasks.push(tokio::spawn(async move { s.park(&link(n)).await }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(all(&a).await.len(), 40);
    // Parked again: kept once.
    b.park(&link(3)).await;
    a.park(&link(4)).await;
    assert_eq!(all(&a).await.len(), 40);
    assert_eq!(a.sweep_parked().await, 40);
    assert_eq!(a.sweep_parked().await, 0);
}

/// While the records are still down, a sweep stops after a few failed
/// deliveries in a row (it does not wait out the same failure once per
/// link) and keeps every link.
#[tokio::test]
async fn a_sweep_stops_while_the_records_are_down_and_keeps_the_list() {
    let records = Arc::new(Records::default());
    let s = service(Arc::new(MemoryStore::new()), Arc::clone(&records));
    for n in 0..10 {
        s.park(&link(n)).await;
    }
    records.down.store(true, Ordering::SeqCst);
    assert_eq!(s.sweep_parked().await, 0);
    assert_eq!(records.calls.load(Ordering::SeqCst), FAILURES_IN_A_ROW);
    records.down.store(false, Ordering::SeqCst);
    assert_eq!(s.sweep_parked().await, 10);
    let mut delivered = records.delivered.lock().unwrap().clone();
    delivered.sort();
    assert_eq!(delivered.len(), 10);
    assert_eq!(all(&s).await, Vec::<Value>::new());
}

/// One link the records always refuse does not stand before the rest
/// (review, 2026-12-04: a sweep that stopped at its first failure never
/// passed it): the others are delivered, and it stays listed.
#[tokio::test]
async fn one_link_always_refused_does_not_block_the_rest() {
    let records = Arc::new(Records {
        refused: Some("ref-0".into()),
        ..Records::default()
    });
    let s = service(Arc::new(MemoryStore::new()), Arc::clone(&records));
    for n in 0..6 {
        s.park(&link(n)).await;
    }
    assert_eq!(s.sweep_parked().await, 5);
    let left = all(&s).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["reference"], "ref-0");
}

/// One reference reused for another customer's link is a second entry,
/// as the records keep a second link for it.
#[tokio::test]
async fn a_reference_reused_for_another_customer_is_parked_too() {
    let s = service(Arc::new(MemoryStore::new()), Arc::new(Records::default()));
    let mut first = link(1);
    first.customer = Some(crate::service::Customer {
        id: "cust-a".into(),
        ..Default::default()
    });
    let mut second = first.clone();
    second.customer = Some(crate::service::Customer {
        id: "cust-b".into(),
        ..Default::default()
    });
    s.park(&first).await;
    s.park(&second).await;
    s.park(&first).await;
    assert_eq!(all(&s).await.len(), 2);
}

/// A list this build cannot read is never written over (that would
/// drop every link on it), and an entry it cannot parse is kept for a
/// build that can. The single list of a build before the shards is
/// swept like a shard.
#[tokio::test]
async fn an_unreadable_list_or_entry_is_kept_and_the_legacy_list_is_swept() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let records = Arc::new(Records::default());
    let s = service(Arc::clone(&store), Arc::clone(&records));
    let first = shard(first_shard(&link(1)));
    store
        .compare_and_set(&first, None, b"{not a list".to_vec(), KEEP)
        .await
        .unwrap();
    s.park(&link(1)).await;
    let raw = store.get(&first).await.unwrap().unwrap();
    assert_eq!(raw.data, b"{not a list", "written over");
    // Parked on the next shard instead, and delivered by a sweep that
    // passes over the unreadable one.
    assert_eq!(all_readable(&s).await.len(), 1);
    assert_eq!(s.sweep_parked().await, 1);
    assert_eq!(records.delivered.lock().unwrap().clone(), ["ref-1"]);
    let raw = store.get(&first).await.unwrap().unwrap();
    assert_eq!(raw.data, b"{not a list", "written over by the sweep");
    store.delete(&first).await.unwrap();
    records.delivered.lock().unwrap().clear();

    let odd = serde_json::json!({"reference": "from-a-newer-build", "shape": 2});
    let legacy = serde_json::json!([odd, serde_json::to_value(link(3)).unwrap()]);
    store
        .compare_and_set(LEGACY_KEY, None, serde_json::to_vec(&legacy).unwrap(), KEEP)
        .await
        .unwrap();
    s.park(&link(2)).await;
    assert_eq!(s.sweep_parked().await, 2);
    assert_eq!(all(&s).await, [odd]);
    let mut delivered = records.delivered.lock().unwrap().clone();
    delivered.sort();
    assert_eq!(delivered, ["ref-2", "ref-3"]);
}

/// The first shard is FNV-1a of reference and account: the same on every
/// build and instance, so a link parked by two of them meets itself.
/// Pinned: a change here is a format change (links parked by the old
/// build would be parked twice by the new).
#[test]
fn the_first_shard_is_stable() {
    assert_eq!(first_shard(&link(1)), 3);
}

/// Links that all pick the same first shard, parked at once by two
/// services on one store: compare-and-set with retries loses none, they
/// spill over into the next shards, and no shard grows past its bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_parks_on_one_shard_lose_nothing() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let records = Arc::new(Records::default());
    let a = Arc::new(service(Arc::clone(&store), Arc::clone(&records)));
    let b = Arc::new(service(Arc::clone(&store), Arc::clone(&records)));
    let same = first_shard(&link(0));
    let links: Vec<LinkedAccount> = (0..)
        .map(link)
        .filter(|l| first_shard(l) == same)
        .take(4 * MAX_PER_SHARD)
        .collect();
    let mut tasks = Vec::new();
    for (n, l) in links.iter().enumerate() {
        let s = Arc::clone(if n % 2 == 0 { &a } else { &b });
        let l = l.clone();
        tasks.push(tokio::spawn(async move { s.park(&l).await }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(all(&a).await.len(), links.len());
    for key in every_key() {
        assert!(
            a.parked(&key).await.unwrap().1.len() <= MAX_PER_SHARD,
            "{key}"
        );
    }
    assert_eq!(a.sweep_parked().await, links.len());
}

/// A link on two shards (parked again after an earlier shard freed up) is
/// delivered from each and taken off both.
#[tokio::test]
async fn a_link_on_two_shards_is_taken_off_both() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let records = Arc::new(Records::default());
    let s = service(Arc::clone(&store), Arc::clone(&records));
    let twice = serde_json::to_vec(&[serde_json::to_value(link(5)).unwrap()]).unwrap();
    for n in [7, 40] {
        store
            .compare_and_set(&shard(n), None, twice.clone(), KEEP)
            .await
            .unwrap();
    }
    assert_eq!(all(&s).await.len(), 2);
    s.sweep_parked().await;
    assert!(all(&s).await.is_empty());
    assert!(records
        .delivered
        .lock()
        .unwrap()
        .iter()
        .all(|r| r == "ref-5"));
}

/// Links spread over the shards and fill each before one is refused:
/// with every shard full, the next link is not parked (it is logged,
/// and its own process still retries it) and none parked is lost; a
/// sweep empties them all.
#[tokio::test]
async fn the_shards_fill_before_a_link_is_refused() {
    let records = Arc::new(Records::default());
    let s = service(Arc::new(MemoryStore::new()), Arc::clone(&records));
    let room = SHARDS as usize * MAX_PER_SHARD;
    for n in 0..=room {
        s.park(&link(n)).await;
    }
    let parked = all(&s).await;
    assert_eq!(parked.len(), room);
    for key in every_key() {
        assert!(
            s.parked(&key).await.unwrap().1.len() <= MAX_PER_SHARD,
            "{key}"
        );
    }
    assert_eq!(s.sweep_parked().await, room);
    assert!(all(&s).await.is_empty());
    // Every shard was full a moment ago: a park waits a sweep's interval
    // before reading them all again (its own process still retries it)...
    s.park(&link(room + 1)).await;
    assert!(all(&s).await.is_empty());
    // ... and after it, finds the room the sweep made.
    s.parked_here.lock().unwrap().full_until = None;
    s.park(&link(room + 1)).await;
    assert_eq!(all(&s).await.len(), 1);
}
