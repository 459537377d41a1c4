//! The USSD channel on a real `redis-server`: two `connectflow ussd`
//! processes sharing it, a process killed mid-session, sealed records at
//! rest, and racing hops. The tests start their own `redis-server` on a free
//! port; in CI a missing binary fails them (`.ci/run` installs it).
#![cfg(all(
    feature = "ussd",
    feature = "redis",
    feature = "testing",
    feature = "cli"
))]

use connectflow::channel::ussd::{router, GatewayAuth, UssdConfig, UssdService};

/// The gateway token both instances and the in-process server expect.
const TOKEN: &str = "redis-test-token";
use connectflow::driver::DriverConfig;
use connectflow::service::{ServiceConfig, SessionService};
use connectflow::store::{RedisStore, Sealed, Sealer, SessionStore};
use connectflow::testing::{
    catalogues, mono_driver, RedisServer, Sandbox, StubPartner, SECRET_KEY,
};
use process::{connectflow, Process};
use std::sync::Arc;

#[path = "support/at_hop.rs"]
mod at_hop;
#[path = "support/flaky_delivery.rs"]
mod flaky_delivery;
#[path = "support/process.rs"]
mod process;

const SEAL_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// The key a rotation puts first.
const NEW_SEAL_KEY: &str = "f0e0d0c0b0a090807060504030201000f0e0d0c0b0a090807060504030201000";

/// A `connectflow ussd` process; killed on drop.
fn instance(redis: &str, partner: &str, records: &str) -> Process {
    instance_with("ussd", &["--store", redis], partner, records)
}

/// One Africa's Talking hop with this file's gateway token.
async fn hop(url: &str, session: &str, phone: &str, text: &str) -> (bool, String) {
    at_hop::at_hop(url, TOKEN, session, phone, text).await
}

/// Cumulative AT texts for a list of answers: "", "1", "1*1", ...
fn texts(answers: &[&str]) -> Vec<String> {
    let mut out = vec![String::new()];
    for (i, a) in answers.iter().enumerate() {
        out.push(if i == 0 {
            (*a).to_owned()
        } else {
            format!("{}*{a}", out[i])
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_share_sessions_and_survive_a_kill() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let sandbox = Sandbox::start_local().await.unwrap();
    // Both instances record links in one file, as they would in one
    // PostgreSQL.
    let records_dir = connectflow::testing::TempDir::new("ussd-redis");
    let records = records_dir.sqlite("records.db");
    let a = instance(redis.url(), &sandbox.url(), &records);
    let mut b = Some(instance(redis.url(), &sandbox.url(), &records));

    // Hops of one session alternate between the two processes.
    let answers = [
        "1",
        "1",
        "user_chain",
        "pass_good",
        "123456",
        "Montreal",
        "2",
    ];
    let mut last = (false, String::new());
    for (i, text) in texts(&answers).iter().enumerate() {
        let url = if i % 2 == 0 {
            &a.url
        } else {
            &b.as_ref().unwrap().url
        };
        last = hop(url, "ATUid_alternate", "+254711000801", text).await;
    }
    assert!(last.0 && last.1.contains("linked"), "{last:?}");

    // A process dies mid-session (at the OTP screen); the other carries on.
    let answers = ["1", "1", "user_otp", "pass_good", "123456"];
    let all = texts(&answers);
    for text in &all[..5] {
        last = hop(
            &b.as_ref().unwrap().url,
            "ATUid_killed",
            "+254711000802",
            text,
        )
        .await;
    }
    assert!(last.1.contains("OTP"), "{last:?}");
    drop(b.take()); // SIGKILL
    let (end, text) = hop(&a.url, "ATUid_killed", "+254711000802", &all[5]).await;
    assert!(end && text.contains("linked"), "{text}");
}

async fn in_process(redis: &str, partner_url: &str) -> (String, Arc<RedisStore>) {
    let redis_store = Arc::new(RedisStore::connect(redis).await.unwrap());
    let service = Arc::new(sealed_service(redis, partner_url).await);
    let (url, _) = serve_ussd(service).await;
    (url, redis_store)
}

/// A session service on the sealed Redis store at `redis`.
async fn sealed_service(redis: &str, partner_url: &str) -> SessionService {
    let sealer: Sealer = SEAL_KEY.parse().unwrap();
    let store: Arc<dyn SessionStore> = Arc::new(Sealed::new(
        RedisStore::connect(redis).await.unwrap(),
        sealer,
    ));
    let driver = mono_driver(partner_url, DriverConfig::default());
    SessionService::new(vec![driver], store, ServiceConfig::default())
}

/// The USSD routes of `service` on a loopback port: its URL, and the
/// service.
async fn serve_ussd(service: Arc<SessionService>) -> (String, Arc<SessionService>) {
    let ussd = UssdService::new(Arc::clone(&service), UssdConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(ussd, GatewayAuth::token(TOKEN).unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), service)
}

/// Finding (review, 2026-12-04): a link whose delivery failed (the auth
/// records down) was retried only by the process that made it; when that
/// process stopped, the link was in a log line and nowhere else, since the
/// USSD person had hung up. It is now parked in the shared store, and
/// another process (here: a new service on the same Redis, after the first
/// has stopped) delivers it with a sweep, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_link_undelivered_when_its_process_stops_is_delivered_by_another() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let sandbox = Sandbox::start_local().await.unwrap();
    let down = Arc::new(flaky_delivery::FlakyDelivery::failing(usize::MAX));
    let first = sealed_service(redis.url(), &sandbox.url())
        .await
        .with_delivery(down.clone());
    let (url, first) = serve_ussd(Arc::new(first)).await;
    let mut last = (false, String::new());
    for text in texts(&["1", "1", "user_good", "pass_good"]) {
        last = hop(&url, "ATUid_parked", "+254711000803", &text).await;
    }
    assert!(last.0 && last.1.contains("linked"), "{last:?}");
    // The first process stops while the records are still down: its last
    // try fails too.
    first.drain(std::time::Duration::from_secs(2)).await;
    assert!(down.delivered().is_empty());

    let up = Arc::new(flaky_delivery::FlakyDelivery::default());
    let second = sealed_service(redis.url(), &sandbox.url())
        .await
        .with_delivery(up.clone());
    assert_eq!(second.sweep_parked().await, 1);
    assert_eq!(up.delivered().len(), 1, "the parked link is delivered");
    // Taken off the list: the next sweep has nothing to do.
    assert_eq!(second.sweep_parked().await, 0);
    assert_eq!(up.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// Finding 11: phone numbers stood in clear in Redis key names (the phone
/// index). Key names are not sealed — anyone who can list the store sees
/// them — so a sealing store blinds them with a keyed hash.
#[tokio::test(flavor = "multi_thread")]
async fn no_phone_number_appears_in_redis_key_names() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let sandbox = Sandbox::start_local().await.unwrap();
    let records_dir = connectflow::testing::TempDir::new("ussd-redis-keys");
    let a = instance(
        redis.url(),
        &sandbox.url(),
        &records_dir.sqlite("records.db"),
    );
    for text in texts(&["1", "1", "user_good"]) {
        hop(&a.url, "ATUid_keys", "+254711009911", &text).await;
    }
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        keys.iter().any(|k| k.contains("ussd-phone")),
        "the index exists: {keys:?}"
    );
    for key in &keys {
        assert!(!key.contains("711009911"), "a phone number in a key: {key}");
    }
}

/// A seal key rotation loses no unfinished flow. A person who began on an
/// instance sealing with the old key and dropped on the OTP screen dials
/// again and lands on an instance whose ring puts a new key first: the
/// phone's index there is blinded with the new key, and the one written
/// before (with the old) is found all the same: "Continue", and the flow
/// links. A flow begun after the rotation is offered again too.
#[tokio::test(flavor = "multi_thread")]
async fn a_seal_key_rotation_keeps_the_resume_offer() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let sandbox = Sandbox::start_local().await.unwrap();
    let records_dir = connectflow::testing::TempDir::new("ussd-redis-rotation");
    let records = records_dir.sqlite("records.db");
    let old = instance(redis.url(), &sandbox.url(), &records);
    let rotated = Process::start(
        connectflow(&["ussd", "--addr", "127.0.0.1:0", "--records", &records])
            .args(["--store", redis.url(), "--base-url", &sandbox.url()])
            .env("MONO_SEC_KEY", SECRET_KEY)
            .env(
                "CONNECTFLOW_SEAL_KEYS",
                format!("{NEW_SEAL_KEY},{SEAL_KEY}"),
            )
            .env("CONNECTFLOW_GATEWAY_TOKEN", TOKEN),
    );
    let phone = "+254711000321";
    let mut last = (false, String::new());
    for text in texts(&["1", "1", "user_otp", "pass_good"]) {
        last = hop(&old.url, "ATUid_rot1", phone, &text).await;
    }
    assert!(!last.0 && last.1.contains("OTP"), "{}", last.1);

    let (end, offer) = hop(&rotated.url, "ATUid_rot2", phone, "").await;
    assert!(!end && offer.contains("1. Continue"), "{offer}");
    // The index moved to the new key's name: one name for the phone, not
    // the old key's kept alive.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let names: Vec<String> = redis::cmd("KEYS")
        .arg("*ussd-phone:at:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(names.len(), 1, "{names:?}");
    let new_key: Sealer = NEW_SEAL_KEY.parse().unwrap();
    assert!(names[0].ends_with(&new_key.blind(phone)), "{names:?}");
    let (_, otp) = hop(&rotated.url, "ATUid_rot2", phone, "1").await;
    assert!(otp.contains("OTP"), "{otp}");
    // Dropped again: offered again, now under the new key's name.
    let (end, offer) = hop(&rotated.url, "ATUid_rot2b", phone, "").await;
    assert!(!end && offer.contains("1. Continue"), "{offer}");
    let (_, otp) = hop(&rotated.url, "ATUid_rot2b", phone, "1").await;
    assert!(otp.contains("OTP"), "{otp}");
    let (end, done) = hop(&rotated.url, "ATUid_rot2b", phone, "1*123456").await;
    assert!(end && done.contains("linked"), "{done}");

    // Begun and dropped after the rotation: offered again on the next dial.
    for text in texts(&["1", "1", "user_otp", "pass_good"]) {
        hop(&rotated.url, "ATUid_rot3", phone, &text).await;
    }
    let (end, offer) = hop(&rotated.url, "ATUid_rot4", phone, "").await;
    assert!(!end && offer.contains("1. Continue"), "{offer}");
}

/// A re-authorisation asked for before a seal key rotation waits under
/// the old key's name; after it, a dial with a pre-dialled bank (which
/// would otherwise start a new flow without a read) is still offered it.
#[tokio::test(flavor = "multi_thread")]
async fn a_reauthorisation_asked_before_a_rotation_is_offered_after_it() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let sandbox = Sandbox::start_local().await.unwrap();
    let records_dir = connectflow::testing::TempDir::new("ussd-redis-rotation-reauth");
    let records = records_dir.sqlite("records.db");
    let start = |ring: String| {
        Process::start(
            connectflow(&["ussd", "--addr", "127.0.0.1:0", "--records", &records])
                .args(["--store", redis.url(), "--base-url", &sandbox.url()])
                .env("MONO_SEC_KEY", SECRET_KEY)
                .env("CONNECTFLOW_SEAL_KEYS", ring)
                .env("CONNECTFLOW_API_KEY", "ck_rotation_host")
                .env("CONNECTFLOW_GATEWAY_TOKEN", TOKEN),
        )
    };
    let old = start(SEAL_KEY.to_owned());
    let rotated = start(format!("{NEW_SEAL_KEY},{SEAL_KEY}"));
    let phone = "+254711000322";
    let asked = reqwest::Client::new()
        .post(format!("{}/ussd/v1/reauth", old.url))
        .bearer_auth("ck_rotation_host")
        .json(&serde_json::json!({"phone": phone, "account": "acc-rot", "institution": "sandbox-bank"}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    let (end, offer) = hop(&rotated.url, "ATUid_rot5", phone, "1").await;
    assert!(!end && offer.contains("log in again"), "{offer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pin_held_between_screens_is_sealed_and_a_flipped_byte_is_refused() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let partner = StubPartner::start_with(catalogues::secret_between_fields())
        .await
        .unwrap();
    let (url, raw) = in_process(redis.url(), &partner.url()).await;
    let session = "ATUid_sealed";
    let phone = "+254711000803";
    for text in ["", "1", "1*ACC-555", "1*ACC-555*9876"] {
        hop(&url, session, phone, text).await;
    }
    // The PIN is typed and held for the next screen (the note).
    let key = format!("ussd:at:{session}");
    let record = raw.get(&key).await.unwrap().expect("the session is stored");
    let bytes = &record.data;
    for secret in [&b"9876"[..], b"ACC-555", b"pin"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "{:?} in the clear",
            String::from_utf8_lossy(secret)
        );
    }
    // Flip one byte of the sealed record behind the service's back.
    let mut tampered = bytes.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    // Stored as a string: the version's 8 bytes, then the record.
    let stored = [&record.version.to_be_bytes()[..], &tampered].concat();
    let _: () = redis::cmd("SET")
        .arg(format!("connectflow:{key}"))
        .arg(stored)
        .arg("KEEPTTL")
        .query_async(&mut conn)
        .await
        .unwrap();
    // The tampered record is not trusted (its PIN never reaches the bank):
    // it reads as absent, and the person starts the form over.
    let (end, text) = hop(&url, session, phone, "1*ACC-555*9876*note").await;
    assert!(
        !end && text.contains("Enter Account") && !text.contains("linked"),
        "a tampered record was trusted: {text}"
    );
    assert_eq!(
        partner.count(StubPartner::LOGIN),
        0,
        "a login was sent from a tampered record"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_hops_on_redis_apply_exactly_once() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let partner = StubPartner::start_with(catalogues::secret_between_fields())
        .await
        .unwrap();
    let (url, _) = in_process(redis.url(), &partner.url()).await;
    for round in 0..10 {
        let session = format!("ATUid_race{round}");
        let phone = format!("+2547110009{round:02}");
        for text in ["", "1", "1*acc", "1*acc*1234"] {
            hop(&url, &session, &phone, text).await;
        }
        let (x, y) = tokio::join!(
            hop(&url, &session, &phone, "1*acc*1234*first"),
            hop(&url, &session, &phone, "1*acc*1234*second")
        );
        assert_eq!(
            partner.count(StubPartner::LOGIN),
            round + 1,
            "round {round}: {x:?} {y:?}"
        );
    }
}

#[path = "support/tls_redis.rs"]
mod tls_redis;

/// `serve --store rediss://… --store-ca FILE`: a person links through a
/// process whose sessions live in Redis over TLS. Without the CA the same
/// command refuses to start, naming the certificate problem.
#[tokio::test(flavor = "multi_thread")]
async fn serve_keeps_sessions_in_redis_over_tls() {
    let (ca, cert, key) = tls_redis::throwaway_pki();
    let Some(redis) = tls_redis::TlsRedis::start(&ca, &cert, &key) else {
        return;
    };
    let sandbox = Sandbox::start_local().await.unwrap();
    let records_dir = connectflow::testing::TempDir::new("ussd-rediss");
    let records = records_dir.sqlite("records.db");
    let ca_path = redis.ca_path().to_str().unwrap().to_owned();

    let refused = connectflow(&["serve", "--addr", "127.0.0.1:0", "--records", &records])
        .args(["--store", &redis.url(), "--base-url", &sandbox.url()])
        .env("MONO_SEC_KEY", SECRET_KEY)
        .env("CONNECTFLOW_SEAL_KEY", SEAL_KEY)
        .env("CONNECTFLOW_GATEWAY_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");

    let serve = instance_with(
        "serve",
        &["--store", &redis.url(), "--store-ca", &ca_path],
        &sandbox.url(),
        &records,
    );
    let answers = ["1", "1", "user_good", "pass_good"];
    let mut last = (false, String::new());
    for text in texts(&answers) {
        last = hop(&serve.url, "ATUid_rediss", "+254711000990", &text).await;
    }
    assert!(last.0 && last.1.contains("linked"), "{last:?}");
}

/// A `connectflow <command>` (`serve`, or `ussd`, its old name) process
/// with `store_args`, in front of `partner`; killed on drop.
fn instance_with(command: &str, store_args: &[&str], partner: &str, records: &str) -> Process {
    Process::start(
        connectflow(&[command, "--addr", "127.0.0.1:0", "--records", records])
            .args(store_args)
            .args(["--base-url", partner])
            .env("MONO_SEC_KEY", SECRET_KEY)
            .env("CONNECTFLOW_SEAL_KEY", SEAL_KEY)
            .env("CONNECTFLOW_GATEWAY_TOKEN", TOKEN),
    )
}
