//! Returning customers: the same account for the same customer is one auth,
//! however often and however concurrently it is linked, on both backends;
//! their banks come back most recent first.

use crate::kit::{backends, jan, linked, record_at};
use connectflow::records::{AuthStore, Env, Filter, NewLink, PageRequest};
use std::sync::Arc;

#[tokio::test]
async fn linking_the_same_account_again_updates_one_auth_and_says_returning() {
    for backend in backends().await {
        let (name, store) = (backend.name, backend.store.as_ref());
        let link = |reference: &str, at| {
            let linked = linked(reference, "acc-1", "ada", "gtbank");
            async move {
                store
                    .link(NewLink {
                        linked: &linked,
                        env: Env::Sandbox,
                        at,
                        outbox: false,
                    })
                    .await
                    .unwrap()
            }
        };
        let first = link("flow-1", jan(1, 9)).await;
        assert!(!first.returning, "{name}");
        let again = link("flow-2", jan(2, 9)).await;
        assert!(
            again.returning,
            "{name}: a later flow linking it again is returning"
        );
        assert_eq!(again.auth.id, first.auth.id);
        assert_eq!(
            again.auth.created_at, first.auth.created_at,
            "{name}: created_at stays"
        );
        assert_eq!(
            again.auth.last_updated,
            jan(2, 9),
            "{name}: last_updated moves"
        );
        assert_eq!(again.auth.reference, "flow-2");
        // The same flow delivered twice (at least once): the first answer again.
        let repeat = link("flow-1", jan(3, 9)).await;
        assert!(
            !repeat.returning,
            "{name}: a repeated delivery is not a new link"
        );
        assert_eq!(repeat.auth.id, first.auth.id);
        // Another customer with the same account has an auth of their own.
        let other = record_at(
            store,
            &linked("flow-3", "acc-1", "bola", "gtbank"),
            jan(4, 9),
        )
        .await;
        assert_ne!(other.id, first.auth.id, "{name}");
        let all = store
            .find(&Filter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(all.total, 2, "{name}");
        // Both of ada's accounts at one bank share one record (one login).
        let second = record_at(
            store,
            &linked("flow-4", "acc-2", "ada", "gtbank"),
            jan(5, 9),
        )
        .await;
        assert_eq!(second.record, first.auth.record, "{name}");
        assert_ne!(second.record, other.record, "{name}");
    }
}

/// Sixteen flows linking one account for one customer at the same moment,
/// each in its own task and connection: one auth, exactly one of them new.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_links_of_one_account_make_one_auth() {
    for backend in backends().await {
        let name = backend.name;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = Arc::clone(&backend.store);
            tasks.push(tokio::spawn(async move {
                let linked = linked(&format!("race-{i}"), "acc-race", "ada", "gtbank");
                store
                    .link(NewLink {
                        linked: &linked,
                        env: Env::Sandbox,
                        at: jan(1, 9) + i,
                        outbox: true,
                    })
                    .await
                    .unwrap()
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        let new = results.iter().filter(|r| !r.returning).count();
        assert_eq!(new, 1, "{name}: exactly one link made the auth");
        assert!(
            results.iter().all(|r| r.auth.id == results[0].auth.id),
            "{name}"
        );
        let all = backend
            .store
            .find(&Filter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(all.total, 1, "{name}");
        // Every flow's link is delivered (sixteen flows, sixteen webhooks).
        let mut deliveries: Vec<_> = results.iter().filter_map(|r| r.delivery.clone()).collect();
        deliveries.sort();
        deliveries.dedup();
        assert_eq!(deliveries.len(), 16, "{name}");
    }
}

/// One flow's link delivered eight times at once (a turn and a background
/// settle racing): one link, one webhook, one answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_flow_delivered_concurrently_is_recorded_once() {
    for backend in backends().await {
        let name = backend.name;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = Arc::clone(&backend.store);
            tasks.push(tokio::spawn(async move {
                let linked = linked("same-flow", "acc-dup", "ada", "gtbank");
                store
                    .link(NewLink {
                        linked: &linked,
                        env: Env::Sandbox,
                        at: jan(1, 9),
                        outbox: true,
                    })
                    .await
                    .unwrap()
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        assert!(results.iter().all(|r| !r.returning), "{name}");
        assert!(
            results
                .iter()
                .all(|r| r.delivery == results[0].delivery && r.delivery.is_some()),
            "{name}"
        );
        let counts = connectflow::records::OutboxStore::counts(backend.store.as_ref())
            .await
            .unwrap();
        assert_eq!(counts.pending, 1, "{name}: one webhook for one flow");
    }
}

#[tokio::test]
async fn a_customers_banks_come_most_recent_first_and_unlinked_ones_drop_out() {
    for backend in backends().await {
        let (name, store) = (backend.name, backend.store.as_ref());
        record_at(store, &linked("a", "acc-a", "ada", "access"), jan(1, 9)).await;
        let gt = record_at(store, &linked("b", "acc-b", "ada", "gtbank"), jan(2, 9)).await;
        record_at(store, &linked("c", "acc-c", "bola", "zenith"), jan(3, 9)).await;
        let order = |banks: Vec<connectflow::records::LinkedBank>| {
            banks.into_iter().map(|b| b.id).collect::<Vec<_>>()
        };
        assert_eq!(
            order(store.customer_banks("mono", "ada").await.unwrap()),
            ["gtbank", "access"],
            "{name}"
        );
        // Access linked again: it is the most recent now.
        record_at(store, &linked("d", "acc-a", "ada", "access"), jan(4, 9)).await;
        assert_eq!(
            order(store.customer_banks("mono", "ada").await.unwrap()),
            ["access", "gtbank"],
            "{name}"
        );
        // Unlinked: no longer offered first.
        let unlinked = store
            .set_validated(&gt.id, false, jan(5, 9))
            .await
            .unwrap()
            .unwrap();
        assert!(!unlinked.validated);
        assert_eq!(
            order(store.customer_banks("mono", "ada").await.unwrap()),
            ["access"],
            "{name}"
        );
        assert!(
            store
                .customer_banks("flinks", "ada")
                .await
                .unwrap()
                .is_empty(),
            "{name}: per partner"
        );
    }
}

/// What the first USSD hop asks (`Delivery::linked_before`), through two
/// instances sharing one database (each opens its own connection pool): a
/// customer who never linked gets no banks; one who linked on this instance
/// gets them at once; one who linked on the other instance gets them once
/// this instance has looked again (at most a second later); and the
/// answer is the records', not a guess (an unlinked account's bank is not
/// listed though the customer is known).
#[tokio::test]
async fn each_instance_learns_who_linked_before_on_either() {
    use connectflow::records::RecordsDelivery;
    use connectflow::service::Delivery;
    for backend in backends().await {
        let name = backend.name;
        let a = RecordsDelivery::new(backend.store.clone(), Env::Sandbox);
        let b = RecordsDelivery::new(
            Arc::new(crate::kit::open(&backend.location).await),
            Env::Sandbox,
        );
        assert!(a.linked_before("mono", "ada").await.unwrap().is_empty());
        assert!(b.linked_before("mono", "ada").await.unwrap().is_empty());
        a.deliver(&linked("flow-1", "acc-1", "ada", "gtbank"))
            .await
            .unwrap();
        assert_eq!(
            a.linked_before("mono", "ada").await.unwrap(),
            ["gtbank"],
            "{name}: the instance that linked knows at once"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let banks = b.linked_before("mono", "ada").await.unwrap();
            if banks == ["gtbank"] {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: the other instance never learnt of ada's link"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            b.linked_before("mono", "bola").await.unwrap().is_empty(),
            "{name}: nobody else is listed"
        );
        let auth = a
            .store()
            .find(&Filter::default(), PageRequest::default())
            .await
            .unwrap();
        a.store()
            .set_validated(&auth.auths[0].id, false, jan(9, 9))
            .await
            .unwrap();
        assert!(
            b.linked_before("mono", "ada").await.unwrap().is_empty(),
            "{name}: an unlinked account's bank is not listed"
        );
    }
}

/// Records `flow`'s link at `at`, then its delivery's retry an hour later:
/// the link is of `flow`'s own account, and the retry finds that link.
async fn recorded_with_its_retry(
    store: &dyn AuthStore,
    flow: &connectflow::service::LinkedAccount,
    at: u64,
    name: &str,
) -> connectflow::records::Auth {
    let link = record_at(store, flow, at).await;
    assert_eq!(
        link.partner_account_id, flow.account_id,
        "{name}: its own account"
    );
    let again = record_at(store, flow, at + 3_600_000).await;
    assert_eq!(again.id, link.id, "{name}: a retry is the same link");
    link
}

/// Finding (review, 2026-12-04): links were made idempotent by the flow's
/// reference alone, and a host may choose the reference: two flows given
/// one reference that linked different accounts recorded only the first,
/// and the second delivery was answered with the first's auth (no auth, no
/// webhook for the account just linked). Now the second link is recorded
/// with an auth of its own, and its own retry still finds it.
#[tokio::test]
async fn two_flows_sharing_a_reference_record_two_links() {
    for backend in backends().await {
        let (name, store) = (backend.name, backend.store.as_ref());
        let first = record_at(store, &linked("smoke", "acc-1", "ada", "gtbank"), jan(1, 9)).await;
        let second_flow = linked("smoke", "acc-2", "ada", "access");
        let second = recorded_with_its_retry(store, &second_flow, jan(1, 10), name).await;
        assert_ne!(second.id, first.id, "{name}");
        assert_eq!(second.reference, "smoke", "{name}: the host's reference");
        let all = store
            .find(&Filter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(all.total, 2, "{name}");
    }
}

/// Finding (review, 2026-12-06, second pass): a link shared with another
/// flow's reference is kept under `reference#account#customer`, and a host
/// may choose a reference with a `#` in it. A flow whose reference was
/// literally `smoke#acc-2#ada` took that key first; then a second flow under
/// `smoke` linking `acc-2` for `ada` looked itself up there, was answered
/// with the first flow's link (another account) and never recorded. Now
/// the parts of a key are escaped, and each flow gets its own link.
#[tokio::test]
async fn a_reference_with_a_hash_is_not_another_flows_key() {
    for backend in backends().await {
        let (name, store) = (backend.name, backend.store.as_ref());
        record_at(store, &linked("smoke", "acc-1", "ada", "gtbank"), jan(1, 9)).await;
        let hashed = record_at(
            store,
            &linked("smoke#acc-2#ada", "acc-9", "ada", "zenith"),
            jan(1, 10),
        )
        .await;
        assert_eq!(hashed.partner_account_id, "acc-9", "{name}");
        let flow = linked("smoke", "acc-2", "ada", "access");
        let second = recorded_with_its_retry(store, &flow, jan(1, 11), name).await;
        assert_ne!(second.id, hashed.id, "{name}");
        let all = store
            .find(&Filter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(all.total, 3, "{name}: three accounts, three links");
    }
}

/// The same collision in a store written before keys were escaped: a link
/// kept under the raw key `smoke#acc-2#ada` (its flow's reference, stored
/// as it was). The flow under `smoke` linking `acc-2` for `ada` finds it at
/// its own key, sees it is another link, and records its own beside it;
/// its retry finds that one.
#[tokio::test]
async fn a_key_written_before_escaping_is_not_taken_for_another_link() {
    sqlx::any::install_default_drivers();
    for backend in backends().await {
        let (name, store) = (backend.name, backend.store.as_ref());
        record_at(store, &linked("smoke", "acc-1", "ada", "gtbank"), jan(1, 9)).await;
        let old = record_at(
            store,
            &linked("old-flow", "acc-9", "ada", "zenith"),
            jan(1, 10),
        )
        .await;
        // What the link's key was before escaping: its reference, raw.
        let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&backend.location)
            .await
            .unwrap();
        sqlx::query("UPDATE links SET reference = $1 WHERE reference = $2")
            .bind("smoke#acc-2#ada")
            .bind("old-flow")
            .execute(&mut db)
            .await
            .unwrap();
        let flow = linked("smoke", "acc-2", "ada", "access");
        let second = recorded_with_its_retry(store, &flow, jan(1, 11), name).await;
        assert_ne!(second.id, old.id, "{name}");
    }
}

/// Finding (review, 2026-12-06): a reference names a link that is in force.
/// A host that gives a new flow the reference of an earlier one (its own
/// per-account reference) after that account was unlinked had the new link
/// taken for a retry of the old delivery: the auth stayed unlinked, its
/// `last_updated` stayed, and no webhook told the host. Now linking it
/// again validates it again and queues a webhook, each time it happens;
/// a retry of that delivery still records nothing twice.
#[tokio::test]
async fn an_unlinked_account_linked_again_under_its_old_reference_is_linked() {
    for backend in backends().await {
        let (name, store) = (backend.name, backend.store.as_ref());
        let flow = linked("ada-gtbank", "acc-1", "ada", "gtbank");
        let link = |at| {
            store.link(NewLink {
                linked: &flow,
                env: Env::Sandbox,
                at,
                outbox: true,
            })
        };
        let first = link(jan(1, 9)).await.unwrap();
        let mut deliveries = vec![first.delivery.clone().unwrap()];
        for (round, day) in [(1, 2), (2, 4)] {
            store
                .set_validated(&first.auth.id, false, jan(day, 9))
                .await
                .unwrap();
            // Delivered twice at once (a turn and the background retry):
            // one link recorded, one webhook queued.
            let (again, twin) = tokio::join!(link(jan(day + 1, 9)), link(jan(day + 1, 9) + 1));
            let (again, twin) = (again.unwrap(), twin.unwrap());
            let mut new: Vec<String> = [&again.delivery, &twin.delivery]
                .into_iter()
                .flatten()
                .filter(|d| !deliveries.contains(d))
                .cloned()
                .collect();
            new.dedup();
            assert_eq!(new.len(), 1, "{name} {round}: one webhook, {new:?}");
            // The host is told, by a webhook of its own, and the auth is
            // linked again by whichever delivery recorded it.
            let recorded = if again.delivery.as_ref() == Some(&new[0]) {
                again
            } else {
                twin
            };
            assert_eq!(recorded.auth.id, first.auth.id, "{name} {round}");
            assert!(recorded.auth.validated, "{name} {round}: linked again");
            assert!(recorded.returning, "{name} {round}");
            assert!(
                [jan(day + 1, 9), jan(day + 1, 9) + 1].contains(&recorded.auth.last_updated),
                "{name} {round}: last_updated moves"
            );
            deliveries.extend(new);
            // Its retry (the answer lost) records nothing twice.
            let retry = link(jan(day + 1, 10)).await.unwrap();
            assert_eq!(retry.auth.id, first.auth.id, "{name} {round}");
            assert!(
                retry
                    .delivery
                    .as_ref()
                    .is_some_and(|d| deliveries.contains(d)),
                "{name} {round}: a retry queues no webhook"
            );
            assert_eq!(
                retry.auth.last_updated, recorded.auth.last_updated,
                "{name} {round}: a retry moves nothing"
            );
        }
    }
}
