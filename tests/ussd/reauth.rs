//! Re-authorisation on USSD when the host asks (`POST /ussd/v1/reauth`) or
//! Mono does (its `reauthorisation_required` webhook): the person's next
//! dial offers it, and continuing goes straight to the bank's login and
//! OTP, ending with the same account re-authorised. Mono's
//! `account_reauthorized` and `account_unlinked` take back one still
//! waiting.

use super::phone::AtPhone;
use super::rig::{rig, rig_setup, Setup, HOST_KEY, MONO_SECRET};
use connectflow::driver::{now, DriverConfig};
use connectflow::flow::{ConnectFlow, FlowConfig, Input, UserAction, View};
use connectflow::form::Values;
use connectflow::records::{
    AuthStore, Env, Filter, Location, NewLink, PageRequest, SqlStore, MONO_WEBHOOK_PATH,
    MONO_WEBHOOK_SECRET_HEADER,
};
use connectflow::service::{Customer, LinkedAccount};
use connectflow::store::{BoxFuture, Entry, MemoryStore, SessionStore, StoreError, Version};
use connectflow::testing::{mono_driver, SandboxConfig, TempDir, SANDBOX_BANK};
use serde_json::json;
use std::sync::Arc;

/// Links `user_reauth` at the sandbox (on the rig's key, through the
/// driver) and returns the account id.
pub(crate) async fn link_user_reauth(sandbox_url: &str) -> String {
    let driver = mono_driver(sandbox_url, DriverConfig::default());
    let config = FlowConfig::default().with_institution(SANDBOX_BANK, None);
    let mut flow = ConnectFlow::new(config, now());
    for _ in 0..5 {
        driver.run(&mut flow, &mut |_| {}).await.unwrap();
        let action = match flow.view() {
            View::Form(_) => UserAction::Submit(
                Values::new()
                    .with("username", "user_reauth")
                    .with("password", "pass_good"),
            ),
            View::Done {
                account_id: Some(id),
                ..
            } => return id.to_owned(),
            other => panic!("{other:?}"),
        };
        flow.handle(now(), Input::User(action)).unwrap();
    }
    panic!("user_reauth did not link")
}

#[tokio::test]
async fn the_next_dial_after_the_hosts_request_reauthorises_with_login_and_otp() {
    let rig = rig().await;
    let phone = "+2348010000009";
    let account = link_user_reauth(&rig.sandbox.url()).await;
    let http = reqwest::Client::new();
    let ask = |key: &'static str, body: serde_json::Value| {
        http.post(format!("{}/ussd/v1/reauth", rig.url))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    // The gateway token is not the host's key.
    let refused = ask(super::rig::TOKEN, json!({})).await.unwrap();
    assert_eq!(refused.status(), 401);
    let bad = ask(HOST_KEY, json!({"phone": phone})).await.unwrap();
    assert_eq!(bad.status(), 400);
    // A national number is refused: a dial is keyed by its international
    // form, so the person would never be asked (review, 2026-12-04).
    let national = json!({"phone": "0244567890", "account": "a", "institution": "sandbox-bank"});
    let bad = ask(HOST_KEY, national).await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("international"));
    let accepted = ask(
        HOST_KEY,
        json!({"phone": phone, "account": account, "institution": "sandbox-bank"}),
    )
    .await
    .unwrap();
    assert_eq!(accepted.status(), 202);

    let mut at = AtPhone::new(&rig.url, phone);
    let (end, offer) = at.dial().await;
    assert!(!end);
    assert!(offer.contains("log in again"), "{offer}");
    // A slip at the offer shows the same offer, in its own words.
    let (end, again) = at.send("5").await;
    assert!(
        !end && again.starts_with("Invalid choice.") && again.contains("log in again"),
        "{again}"
    );
    let (_, login) = at.send("1").await;
    assert!(
        login.contains("Username") || login.contains("username"),
        "{login}"
    );
    let (_, password) = at.send("user_reauth").await;
    assert!(password.to_lowercase().contains("password"), "{password}");
    let (_, otp) = at.send("pass_good").await;
    assert!(
        otp.to_lowercase().contains("otp") || otp.contains("code"),
        "{otp}"
    );
    let (end, done) = at.send("123456").await;
    assert!(end && done.contains("linked"), "{done}");
    // The screen names the bank, never the account id.
    assert!(
        done.contains("Sandbox Bank") && !done.contains(&account),
        "{done}"
    );

    // Taken once: the next dial is an ordinary first screen.
    let mut again = AtPhone::new(&rig.url, phone);
    let (_, first) = again.dial().await;
    assert!(!first.contains("log in again"), "{first}");
}

/// Pre-dialled digits (`*384*123*1#`) do not lose a waiting
/// re-authorisation: it is offered first.
#[tokio::test]
async fn a_pre_dialled_dial_still_gets_the_waiting_reauthorisation() {
    let rig = rig().await;
    let phone = "+2348010000019";
    let account = link_user_reauth(&rig.sandbox.url()).await;
    let accepted = reqwest::Client::new()
        .post(format!("{}/ussd/v1/reauth", rig.url))
        .bearer_auth(HOST_KEY)
        // Without the `+`, as some gateways send numbers.
        .json(&json!({"phone": "2348010000019", "account": account, "institution": "sandbox-bank"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let mut at = AtPhone::new(&rig.url, phone);
    let (end, offer) = at.dial_with("1").await;
    assert!(!end);
    assert!(offer.contains("log in again"), "{offer}");
}

/// Mono's `reauthorisation_required` for an account a person linked by
/// USSD puts the re-authorisation in front of them on their next dial, as
/// the host's request does; an account the records never saw asks nobody.
#[tokio::test]
async fn monos_reauthorisation_webhook_is_offered_on_the_next_dial() {
    let store = Arc::new(MemoryStore::new());
    let (_dir, records, rig) = rig_with_records("ussd-mono-reauth", store.clone()).await;
    let phone = "+2348010000029";
    let (account, auth) = linked_by_ussd(&rig.url, &records, phone, "user_reauth").await;
    // The same account linked by someone else on the link API: theirs is
    // not this channel's to ask.
    let elsewhere = LinkedAccount {
        reference: "REF-ELSEWHERE".into(),
        partner: "mono".into(),
        institution: None,
        institution_icon: None,
        auth_method: None,
        account_id: account.clone(),
        customer: Some(Customer {
            id: "+2348010000039".into(),
            ..Customer::default()
        }),
        phone_number: None,
        channel: "link".into(),
    };
    records
        .link(NewLink {
            linked: &elsewhere,
            env: Env::Sandbox,
            at: 1_800_000_000_000,
            outbox: false,
        })
        .await
        .unwrap();

    const REQUIRED: &str = "mono.events.reauthorisation_required";
    let unknown = mono_event(&rig.url, REQUIRED, "65a1b2c3d4e5f60718293a4b").await;
    assert_eq!(unknown["asked"], json!([]), "{unknown}");
    let asked = mono_event(&rig.url, REQUIRED, &account).await;
    assert_eq!(asked["auths"], 2, "{asked}");
    let only_mine = json!([auth]);
    assert_eq!(asked["asked"], only_mine, "{asked}");
    // Mono's retry of the same event: asked, and nothing new is stored.
    let records_before = store.len();
    let again = mono_event(&rig.url, REQUIRED, &account).await;
    assert_eq!(again["asked"], only_mine, "{again}");
    assert_eq!(store.len(), records_before);

    let mut at = AtPhone::new(&rig.url, phone);
    let (end, offer) = at.dial().await;
    assert!(!end && offer.contains("log in again"), "{offer}");
    let (_, login) = at.send("1").await;
    assert!(login.to_lowercase().contains("username"), "{login}");
    at.send("user_reauth").await;
    let (_, otp) = at.send("pass_good").await;
    assert!(otp.to_lowercase().contains("otp"), "{otp}");
    let (end, done) = at.send("123456").await;
    assert!(end && done.contains("linked"), "{done}");
    // The same account, re-authorised: still one auth, validated.
    let found = auths_of(&records, phone).await;
    assert_eq!(found.total, 1);
    assert!(found.auths[0].validated);
    assert_eq!(found.auths[0].partner_account_id, account);
    // The person on the link API was not asked.
    let (_, first) = AtPhone::new(&rig.url, "+2348010000039").dial().await;
    assert!(!first.contains("log in again"), "{first}");
}

/// The first page of `phone`'s auths in `records` (the USSD channel's
/// customer id is the phone).
pub(crate) async fn auths_of(records: &SqlStore, phone: &str) -> connectflow::records::Found {
    let mine = Filter {
        customer: Some(phone.into()),
        ..Filter::default()
    };
    records
        .find(&mine, PageRequest::new(1, 10).unwrap())
        .await
        .unwrap()
}

/// A rig whose links are recorded in a fresh SQLite database, sessions in
/// `store`: the database's directory (kept while the test runs), the
/// records and the rig.
async fn rig_with_records(
    name: &str,
    store: Arc<dyn SessionStore>,
) -> (TempDir, Arc<SqlStore>, super::rig::Rig) {
    let dir = TempDir::new(name);
    let location = Location::parse(&dir.sqlite("records.db")).unwrap();
    let records = Arc::new(SqlStore::open(&location, None).await.unwrap());
    let setup = Setup {
        records: Some(Arc::clone(&records)),
        store: Some(store),
        ..Setup::default()
    };
    let rig = rig_setup(SandboxConfig::default(), setup).await;
    (dir, records, rig)
}

/// `user` links an account by USSD from `phone` (Sandbox Bank, internet
/// banking): its account id and auth id, read back from `records`.
async fn linked_by_ussd(
    url: &str,
    records: &SqlStore,
    phone: &str,
    user: &str,
) -> (String, String) {
    let (end, text) = AtPhone::new(url, phone)
        .script(&["1", "1", user, "pass_good"])
        .await;
    assert!(end && text.contains("linked"), "{text}");
    let found = auths_of(records, phone).await;
    let auth = &found.auths[0];
    (auth.partner_account_id.clone(), auth.id.clone())
}

/// One of Mono's webhooks about `account`, delivered to the rig: its
/// answer's `data`.
async fn mono_event(url: &str, event: &str, account: &str) -> serde_json::Value {
    let reply = reqwest::Client::new()
        .post(format!("{url}{MONO_WEBHOOK_PATH}"))
        .header(MONO_WEBHOOK_SECRET_HEADER, MONO_SECRET)
        .json(&json!({ "event": event, "data": { "account": { "_id": account } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let answer: serde_json::Value = reply.json().await.unwrap();
    answer["data"].clone()
}

/// The host asks for a re-authorisation of `account` at `phone`
/// (`POST /ussd/v1/reauth`), which waits for the person.
async fn host_asks(url: &str, phone: &str, account: &str) {
    let reply = reqwest::Client::new()
        .post(format!("{url}/ussd/v1/reauth"))
        .bearer_auth(HOST_KEY)
        .json(&json!({ "phone": phone, "account": account, "institution": SANDBOX_BANK }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 202);
}

/// Mono's `account_reauthorized` (the account re-authorised another way)
/// and `account_unlinked` withdraw a re-authorisation still waiting for
/// the person: their next dial is not asked to log in again for nothing,
/// and nothing of it is left in the store. One already offered on a dial
/// is left for the person to finish.
#[tokio::test]
async fn monos_reauthorized_and_unlinked_events_withdraw_a_waiting_offer() {
    let store = Arc::new(MemoryStore::new());
    let (_dir, records, rig) = rig_with_records("ussd-mono-withdraw", store.clone()).await;
    // Two people, each linking their own account by USSD.
    let mut linked = Vec::new();
    for (phone, user) in [
        ("+2348010000041", "user_reauth"),
        ("+2348010000042", "user_good"),
    ] {
        let (account, auth) = linked_by_ussd(&rig.url, &records, phone, user).await;
        linked.push((phone, account, auth));
    }
    let [(phone, account, auth), (other_phone, other_account, other_auth)] =
        <[_; 2]>::try_from(linked).unwrap();
    let settled = store.len();

    // Asked, then re-authorised at Mono before the person dialled: taken
    // back (the request record and its indexes), and Mono's retry finds
    // nothing more to take.
    let asked = mono_event(&rig.url, "mono.events.reauthorisation_required", &account).await;
    assert_eq!(asked["asked"], json!([auth]), "{asked}");
    assert!(store.len() > settled);
    let done = mono_event(&rig.url, "mono.events.account_reauthorized", &account).await;
    assert_eq!(done["withdrawn"], json!([auth]), "{done}");
    // The request's record and its index under every gateway's name are
    // gone, Africa's Talking's among them (it was there before the request,
    // leading to the finished link, and the request took it over); one
    // mark that the account is settled is kept, for an hour.
    assert_eq!(store.len(), settled, "nothing of the request is left");
    let again = mono_event(&rig.url, "mono.events.account_reauthorized", &account).await;
    assert_eq!(again["withdrawn"], json!([]), "{again}");
    let (_, first) = AtPhone::new(&rig.url, phone).dial().await;
    assert!(!first.contains("log in again"), "{first}");

    // Within the hour Mono's ask is taken for a retry of an older one; the
    // host's own request is newer than Mono's word, and is offered on a
    // dial: the person has it in front of them, and it stays theirs to
    // finish.
    let late = mono_event(&rig.url, "mono.events.reauthorisation_required", &account).await;
    assert_eq!(late["asked"], json!([]), "{late}");
    host_asks(&rig.url, phone, &account).await;
    let mut at = AtPhone::new(&rig.url, phone);
    let (_, offer) = at.dial().await;
    assert!(offer.contains("log in again"), "{offer}");
    let late = mono_event(&rig.url, "mono.events.account_reauthorized", &account).await;
    assert_eq!(late["withdrawn"], json!([]), "{late}");
    let (_, login) = at.send("1").await;
    assert!(login.to_lowercase().contains("username"), "{login}");

    // Asked, then unlinked at Mono: unlinked here and taken back.
    let asked = mono_event(
        &rig.url,
        "mono.events.reauthorisation_required",
        &other_account,
    )
    .await;
    assert_eq!(asked["asked"], json!([other_auth]), "{asked}");
    let unlinked = mono_event(&rig.url, "mono.events.account_unlinked", &other_account).await;
    assert_eq!(unlinked["unlinked"], json!([other_auth]), "{unlinked}");
    assert_eq!(unlinked["withdrawn"], json!([other_auth]), "{unlinked}");
    let (_, first) = AtPhone::new(&rig.url, other_phone).dial().await;
    assert!(!first.contains("log in again"), "{first}");
}

/// A memory store whose reads fail while `down` is set, as a Redis that is
/// briefly gone; and which, while `cross` names an account, marks it
/// settled just before a re-authorisation request's record is written, as
/// Mono's `account_reauthorized` crossing its `reauthorisation_required`
/// would (an unsealed store names the mark by the account as it is).
#[derive(Debug, Default)]
struct Outage {
    inner: MemoryStore,
    down: std::sync::atomic::AtomicBool,
    cross: std::sync::Mutex<Option<String>>,
}

impl SessionStore for Outage {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, StoreError>> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(async { Err(StoreError::Backend("connection refused".into())) });
        }
        self.inner.get(key)
    }
    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: std::time::Duration,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move {
            let crossing = self.cross.lock().unwrap().take_if(|_| {
                key.starts_with("ussd:reauth:") && expected.is_none() && !data.is_empty()
            });
            if let Some(account) = crossing {
                let mark = format!("ussd:reauth-settled:{account}");
                let hour = std::time::Duration::from_secs(3600);
                self.inner
                    .compare_and_set(&mark, None, b"1".to_vec(), hour)
                    .await?;
            }
            self.inner.compare_and_set(key, expected, data, ttl).await
        })
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }
}

/// Mono's deliveries in the wrong order, an offer left on a handset, and a
/// store outage: a `reauthorisation_required` retried after the account
/// was re-authorised asks nobody; an offer shown before
/// `account_reauthorized` and left unanswered is not shown on the next
/// dial; a withdrawal the store cannot make now is a 503, and Mono's retry
/// makes it.
#[tokio::test]
async fn a_settled_account_is_not_asked_again_by_a_late_retry_nor_offered_again() {
    let store = Arc::new(Outage::default());
    let (_dir, records, rig) = rig_with_records("ussd-mono-settled", store.clone()).await;
    let phone = "+2348010000043";
    let (account, auth) = linked_by_ussd(&rig.url, &records, phone, "user_reauth").await;

    // Asked, and the offer shown on a dial the person hangs up on.
    let asked = mono_event(&rig.url, "mono.events.reauthorisation_required", &account).await;
    assert_eq!(asked["asked"], json!([auth]), "{asked}");
    let (_, offer) = AtPhone::new(&rig.url, phone).dial().await;
    assert!(offer.contains("log in again"), "{offer}");

    // Re-authorised at Mono while the store is down: 503, nothing lost.
    store.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let reply = reqwest::Client::new()
        .post(format!("{}{MONO_WEBHOOK_PATH}", rig.url))
        .header(MONO_WEBHOOK_SECRET_HEADER, MONO_SECRET)
        .json(&json!({ "event": "mono.events.account_reauthorized",
            "data": { "account": { "_id": account } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 503);
    store.down.store(false, std::sync::atomic::Ordering::SeqCst);
    // Mono's retry: the offer is on no screen now but was shown, so it is
    // not withdrawn here; it is settled, and the next dial does not see it.
    let done = mono_event(&rig.url, "mono.events.account_reauthorized", &account).await;
    assert_eq!(done["withdrawn"], json!([]), "{done}");
    let (_, first) = AtPhone::new(&rig.url, phone).dial().await;
    assert!(!first.contains("log in again"), "{first}");
    assert!(first.contains("Sandbox Bank"), "{first}");

    // A `reauthorisation_required` from before, retried late: nobody asked.
    let late = mono_event(&rig.url, "mono.events.reauthorisation_required", &account).await;
    assert_eq!(late["asked"], json!([]), "{late}");
    let (_, first) = AtPhone::new(&rig.url, phone).dial().await;
    assert!(!first.contains("log in again"), "{first}");

    let again = mono_event(&rig.url, "mono.events.reauthorisation_required", &account).await;
    assert_eq!(
        again["asked"],
        json!([]),
        "the mark outlived Mono's ask: {again}"
    );

    // The host's own request is newer than Mono's word: it is offered.
    host_asks(&rig.url, phone, &account).await;
    let (_, offer) = AtPhone::new(&rig.url, phone).dial().await;
    assert!(offer.contains("log in again"), "{offer}");
}

/// Mono's `account_reauthorized` crossing its `reauthorisation_required`
/// (marked after the ask looked, before its request was written): the
/// request is taken back once written, and the next dial is not asked;
/// one the host asks for afterwards is offered as usual.
#[tokio::test]
async fn a_reauthorisation_crossed_by_monos_reauthorized_is_taken_back() {
    let store = Arc::new(Outage::default());
    let (_dir, records, rig) = rig_with_records("ussd-mono-crossing", store.clone()).await;
    let phone = "+2348010000044";
    let (account, _) = linked_by_ussd(&rig.url, &records, phone, "user_reauth").await;
    *store.cross.lock().unwrap() = Some(account.clone());
    let crossed = mono_event(&rig.url, "mono.events.reauthorisation_required", &account).await;
    assert_eq!(crossed["asked"], json!([]), "{crossed}");
    assert!(
        store.cross.lock().unwrap().is_none(),
        "the crossing happened"
    );
    let (_, first) = AtPhone::new(&rig.url, phone).dial().await;
    assert!(!first.contains("log in again"), "{first}");
    host_asks(&rig.url, phone, &account).await;
    let (_, offer) = AtPhone::new(&rig.url, phone).dial().await;
    assert!(offer.contains("log in again"), "{offer}");
}
