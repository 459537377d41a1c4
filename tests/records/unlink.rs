//! Unlinking at the partner (`records unlink`, Mono's webhook): what the
//! partner's answers mean for the auth.

use super::kit::{linked, record_at, sqlite};
use connectflow::records::unlink::{unlink_at_partner, PartnerAccess, UnlinkError, Unlinked};
use connectflow::testing::{Answer, StubPartner};
use serde_json::json;

/// A Flinks card still processing its link answers `DeleteCard` with
/// `CARD_IN_USE`, "retry later" (flinks.md §5, §7): the unlink tries again
/// a moment later and the card goes. Finding (review, 2026-12-05): the
/// first refusal was final, so an unlink right after a link always failed.
#[tokio::test]
async fn a_card_still_in_use_is_deleted_on_a_later_try() {
    let partner = StubPartner::start().await.unwrap();
    let path = "/v3/cust-1/BankingServices/DeleteCard/card-1";
    partner.answer_once(
        path,
        Answer::json(
            400,
            &json!({ "HttpStatusCode": 400, "FlinksCode": "CARD_IN_USE" }),
        ),
    );
    partner.answer(path, Answer::json(200, &json!({ "Message": "removed" })));
    let backend = sqlite().await;
    let mut link = linked("REF1", "card-1", "cust", "FlinksCapital");
    link.partner = "flinks".into();
    let auth = record_at(backend.store.as_ref(), &link, 1_000).await;
    let access = PartnerAccess {
        base_url: partner.url(),
        secret_key: Some("secret".into()),
        flinks_customer_id: Some("cust-1".into()),
    };

    let unlinked = unlink_at_partner(&access, &auth).await.unwrap();

    assert_eq!(unlinked, Unlinked::Now);
    assert_eq!(partner.count(path), 2);
}

fn mono_access(partner: &StubPartner) -> PartnerAccess {
    PartnerAccess {
        base_url: partner.url(),
        secret_key: Some("test_sk_unlink".into()),
        flinks_customer_id: None,
    }
}

/// The account id goes into Mono's path as one segment, whatever it
/// holds. Finding (review, 2026-12-06): it went in as it was, and the URL
/// parser resolved `acc/../other` to `/v2/accounts/other/unlink`: the
/// unlink of one account reached another.
#[tokio::test]
async fn a_mono_account_id_is_one_segment_of_the_unlink_path() {
    let partner = StubPartner::start().await.unwrap();
    let encoded = "/v2/accounts/acc%2F..%2Fother%3Fx/unlink";
    partner.answer(
        encoded,
        Answer::json(200, &json!({ "status": "successful" })),
    );
    let backend = sqlite().await;
    let auth = record_at(
        backend.store.as_ref(),
        &linked("REF1", "acc/../other?x", "cust", "Bank"),
        1_000,
    )
    .await;

    let unlinked = unlink_at_partner(&mono_access(&partner), &auth)
        .await
        .unwrap();

    assert_eq!(unlinked, Unlinked::Now);
    let paths: Vec<String> = partner.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, [encoded]);
}

/// An id that no encoding keeps one segment (`..` is resolved away with
/// the segment before it) is refused before anything is sent.
#[tokio::test]
async fn an_account_id_of_dots_is_refused_before_any_request() {
    let partner = StubPartner::start().await.unwrap();
    let backend = sqlite().await;
    let auth = record_at(
        backend.store.as_ref(),
        &linked("REF1", "..", "cust", "Bank"),
        1_000,
    )
    .await;

    let refused = unlink_at_partner(&mono_access(&partner), &auth).await;

    assert!(
        matches!(refused, Err(UnlinkError::UnusableAccountId(ref id)) if id == ".."),
        "{refused:?}"
    );
    assert!(partner.requests().is_empty(), "{:?}", partner.requests());
}
