//! The security review's findings on the USSD server, each reproduced over
//! loopback HTTP: every test here failed before its fix.

use super::faulty_store::FaultyStore;
use super::phone::{AtPhone, HubtelPhone};
use super::rig::{gateway, rig_setup, serve, serve_secret_form, Setup, TOKEN};
use connectflow::channel::ussd::{RateLimits, UssdConfig};
use connectflow::flow::Step;
use connectflow::form::{Field, Form};
use connectflow::store::{Entry, MemoryStore, Sealed, Sealer, SessionStore};
use connectflow::testing::{catalogues, Answer, SandboxConfig, StubPartner};
use std::sync::Arc;

async fn raw_hop(
    url: &str,
    token: Option<&str>,
    session: &str,
    phone: &str,
    text: &str,
) -> (u16, String) {
    let path = match token {
        Some(t) => format!("{url}/ussd?token={t}"),
        None => format!("{url}/ussd"),
    };
    let form = [
        ("sessionId", session),
        ("serviceCode", "*384*123#"),
        ("phoneNumber", phone),
        ("text", text),
    ];
    let reply = reqwest::Client::new()
        .post(path)
        .form(&form)
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

/// Finding 1 (session hijack): a hop without the gateway token, or with a
/// wrong one, is refused with 401 and touches no session; a hop from
/// another number on a session is refused too. The person's own next hop
/// carries on where it was.
#[tokio::test]
async fn unauthenticated_or_foreign_hops_are_refused_and_touch_nothing() {
    let (partner, url) = serve_secret_form().await;
    let mut victim = AtPhone::new(&url, "+254711000801");
    let (_, text) = victim.script(&["1"]).await;
    assert!(text.contains("Enter Account"), "{text}");
    let session = victim.session_id();
    for token in [None, Some("wrong-token"), Some("")] {
        let (status, body) = raw_hop(&url, token, &session, "+254711000801", "1*12").await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert!(!body.contains("Account"), "{body}");
    }
    // Authenticated (a real gateway) but another phone on this session id.
    let (status, body) = raw_hop(&url, Some(TOKEN), &session, "+254799999999", "1*12").await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with("END ") && !body.contains("Account"),
        "{body}"
    );
    // The victim's session is untouched: the account field is still next.
    let (_, text) = victim.send("12").await;
    assert!(text.contains("Enter PIN"), "{text}");
    assert_eq!(partner.count(StubPartner::LOGIN), 0);
}

/// Every gateway route checks the token itself (there is no middleware
/// over the router that would cover a route added later): each hop path of
/// `channel::ussd::router`, by each method it is mounted for, and AT's
/// end-of-session notifications answer `401` without the token, and are
/// served (not `401`, not `404`) with it.
#[tokio::test]
async fn every_gateway_route_refuses_a_request_without_the_token() {
    let partner = StubPartner::start().await.unwrap();
    let url = serve(&partner.url(), Setup::default()).await;
    let client = reqwest::Client::new();
    let mut routes: Vec<(reqwest::Method, &str)> = [
        "/ussd",
        "/ussd/events",
        "/ussd/hubtel",
        "/ussd/hubtel-ps",
        "/ussd/arkesel",
        "/ussd/nalo",
        "/ussd/korba",
        "/ussd/infobip/ib-auth-1/start",
        "/ussd/airtel",
        "/ussd/dmark",
        "/ussd/hollatags",
        "/ussd/sendexa",
    ]
    .into_iter()
    .map(|path| (reqwest::Method::POST, path))
    .collect();
    for path in ["/ussd", "/ussd/airtel", "/ussd/dmark", "/ussd/hollatags"] {
        routes.push((reqwest::Method::GET, path));
    }
    for (method, path) in routes {
        let refused = client
            .request(method.clone(), format!("{url}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401, "{method} {path} without the token");
        assert_eq!(refused.text().await.unwrap(), "unauthorized");
        let served = client
            .request(method.clone(), gateway(&url, path))
            .send()
            .await
            .unwrap();
        let status = served.status().as_u16();
        assert!(
            status != 401 && status != 404 && status != 405,
            "{method} {path} with the token: {status}"
        );
    }
}

/// Finding 1 (allow-list): with `--gateway-allow`, the right token from the
/// wrong network is refused.
#[tokio::test]
async fn the_right_token_from_outside_the_allow_list_is_refused() {
    let partner = StubPartner::start().await.unwrap();
    let setup = Setup {
        allow: vec!["10.0.0.0/8".parse().unwrap()],
        ..Setup::default()
    };
    let url = serve(&partner.url(), setup).await;
    let (status, _) = raw_hop(&url, Some(TOKEN), "ATUid_allow", "+254711000802", "").await;
    assert_eq!(status, 401, "127.0.0.1 is not in 10.0.0.0/8");
    let allowed = Setup {
        allow: vec!["127.0.0.0/8".parse().unwrap()],
        ..Setup::default()
    };
    let url = serve(&partner.url(), allowed).await;
    let (status, body) = raw_hop(&url, Some(TOKEN), "ATUid_allow2", "+254711000802", "").await;
    assert_eq!((status, body.starts_with("CON ")), (200, true), "{body}");
}

/// Finding 2 (a late gateway retry becomes input): on the PIN screen, a
/// retry of an earlier hop's text gets the current screen, and nothing
/// reaches the bank; the real answer afterwards is sent once.
#[tokio::test]
async fn a_late_retry_of_an_earlier_hop_is_never_sent_to_the_bank() {
    let (partner, url) = serve_secret_form().await;
    let mut phone = AtPhone::new(&url, "+254711000803");
    phone.script(&["1", "acc"]).await;
    let (_, pin_screen) = phone.send("4321").await;
    assert!(pin_screen.contains("Note"), "{pin_screen}");
    // The gateway re-delivers the hop before the PIN, then the first one.
    for late in ["1*acc", "1", ""] {
        let (end, text) = phone.post(late).await;
        assert_eq!(
            (end, text.as_str()),
            (false, pin_screen.as_str()),
            "{late:?}"
        );
    }
    assert_eq!(
        partner.count(StubPartner::LOGIN),
        0,
        "a retry reached the bank"
    );
    let (end, text) = phone.send("hello").await;
    assert!(end && text.contains("linked"), "{text}");
    the_bank_had_one_login_with_pin(&partner, "4321");
}

/// The stub bank was sent exactly one login, carrying `pin`.
fn the_bank_had_one_login_with_pin(partner: &StubPartner, pin: &str) {
    let logins = partner.requests_to(StubPartner::LOGIN);
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].json().unwrap()["pin"], pin);
}

/// Finding (review, 2026-12-04): on Hubtel (latest input and a growing
/// `Sequence`), only a re-delivery of the last hop was a duplicate; a late
/// re-delivery of an earlier one (the account number, after the PIN screen
/// was shown) was taken as the answer to the PIN screen and sent to the bank.
/// Any sequence at or before the last applied is answered with the current
/// screen.
#[tokio::test]
async fn a_late_hubtel_retry_of_an_earlier_hop_is_never_sent_to_the_bank() {
    let (partner, url) = serve_secret_form().await;
    let mut phone = HubtelPhone::new(&url, "3c8dfb7a1d2e4f60a9b8c7d6e5f40399");
    phone.hop("Initiation", "*714*4#").await;
    phone.hop("Response", "1").await;
    phone.hop("Response", "acc").await;
    let (_, pin_screen) = phone.hop("Response", "4321").await;
    assert!(pin_screen.contains("Note"), "{pin_screen}");
    // The gateway re-delivers the hops before the PIN, late.
    let current = phone.sequence;
    for (sequence, message) in [(current - 1, "acc"), (current - 2, "1")] {
        phone.sequence = sequence - 1;
        let (end, text) = phone.hop("Response", message).await;
        assert_eq!(
            (end, text.as_str()),
            (false, pin_screen.as_str()),
            "{sequence}"
        );
    }
    assert_eq!(
        partner.count(StubPartner::LOGIN),
        0,
        "a retry reached the bank"
    );
    phone.sequence = current;
    let (end, text) = phone.hop("Response", "hello").await;
    assert!(end && text.contains("linked"), "{text}");
    the_bank_had_one_login_with_pin(&partner, "4321");
}

/// Finding 3 (typed input kept at rest): the stored session keeps no typed
/// text once it has been used: not the cumulative gateway text, not a PIN
/// already sent. (Opened with the seal key, as an operator with the key
/// would see it.)
#[tokio::test]
async fn no_typed_text_is_kept_at_rest_after_it_is_used() {
    let partner = StubPartner::start_with(catalogues::secret_between_fields())
        .await
        .unwrap();
    let store = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let setup = Setup {
        store: Some(store.clone()),
        ..Setup::default()
    };
    let url = serve(&partner.url(), setup).await;
    let mut phone = AtPhone::new(&url, "+254711000804");
    phone.script(&["1", "ACCT-77", "9876", "NOTE-55"]).await;
    let key = format!("ussd:at:{}", phone.session_id());
    let Entry { data, .. } = store.get(&key).await.unwrap().expect("the session");
    let json = connectflow::service::record_json(&data).expect("a session record");
    let opened: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    // Every string and number in the record, each on its own: a typed value
    // is found inside any string, but a number is only its equal (a random
    // reference or hash may well hold the digits 9876 by chance).
    let mut leaves = Vec::new();
    let mut todo = vec![&opened];
    while let Some(v) = todo.pop() {
        match v {
            serde_json::Value::Object(m) => {
                leaves.extend(m.keys().cloned());
                todo.extend(m.values());
            }
            serde_json::Value::Array(a) => todo.extend(a),
            serde_json::Value::String(s) => leaves.push(s.clone()),
            serde_json::Value::Number(n) => leaves.push(format!("={n}")),
            _ => {}
        }
    }
    for typed in ["9876", "NOTE-55", "1*ACCT-77"] {
        let found = leaves
            .iter()
            .find(|l| (l.contains(typed) && !l.starts_with('=')) || **l == format!("={typed}"));
        assert!(found.is_none(), "{typed:?} at rest as {found:?}: {opened}");
    }
}

/// Finding (review, 2026-12-04), end to end: after a USSD PIN is typed, the
/// stored record (here an unsealed store, as a library user may run one)
/// holds no mark that any of the 10,000 four-digit PINs reproduces; the
/// flow goes on to link as before.
#[tokio::test]
async fn a_typed_ussd_pin_cannot_be_recovered_from_the_stored_record() {
    let store = Arc::new(connectflow::store::MemoryStore::new());
    let setup = Setup {
        store: Some(store.clone()),
        ..Setup::default()
    };
    let rig = rig_setup(SandboxConfig::default(), setup).await;
    let mut phone = AtPhone::new(&rig.url, "+254711000955");
    let (end, text) = phone.script(&["1", "4", "1000000002", "2222"]).await;
    assert!(!end, "{text}");
    let key = format!("ussd:at:{}", phone.session_id());
    let entry = connectflow::store::SessionStore::get(store.as_ref(), &key)
        .await
        .unwrap()
        .expect("the session's record");
    let record: serde_json::Value =
        serde_json::from_slice(&connectflow::service::record_json(&entry.data).unwrap()).unwrap();
    let stored = record["channel"]["texts"].to_string();
    assert!(!stored.contains("2222"), "{stored}");
    let fnv = |text: &str| {
        text.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    };
    for pin in 0..10_000 {
        let guess = u64::from(fnv(&format!("1*4*1000000002*{pin:04}")));
        assert!(
            !stored.contains(&guess.to_string()),
            "PIN {pin:04} found in {stored}"
        );
    }
    let (end, text) = phone.send("1").await;
    assert!(end && text.contains("linked"), "{text}");
}

/// Finding 4 (resume copies instead of moving): two dials from one phone
/// at once used to both get a copy of the unfinished flow (and could both
/// commit); now the flow moves, so exactly one of them continues it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_simultaneous_redials_exactly_one_gets_the_flow() {
    let partner = StubPartner::start_with(catalogues::secret_between_fields())
        .await
        .unwrap();
    // Past the login, on an OTP form: a resumed flow shows it; a fresh one
    // would show the bank's login form.
    let otp = Form::new(
        "OTP",
        vec![Field::input("otp", "One-time code").max_length(6)],
    );
    partner.answer(StubPartner::LOGIN, Answer::step(&Step::needs_input(otp)));
    let url = serve(&partner.url(), Setup::default()).await;
    for round in 0..40 {
        let number = format!("+254711008{round:03}");
        let mut first = AtPhone::new(&url, &number);
        let (_, text) = first.script(&["1", "acc", "1234", "note"]).await;
        assert!(text.contains("One-time code"), "{text}");
        let (mut a, mut b) = (AtPhone::new(&url, &number), AtPhone::new(&url, &number));
        let ((_, ta), (_, tb)) = tokio::join!(a.dial(), b.dial());
        assert!(
            ta.contains("unfinished") || tb.contains("unfinished"),
            "{ta:?} {tb:?}"
        );
        // Both press 1 (continue): only the one holding the flow is back on
        // the OTP form; the other starts afresh.
        let ((_, ca), (_, cb)) = tokio::join!(a.send("1"), b.send("1"));
        let resumed = [&ca, &cb]
            .iter()
            .filter(|t| t.contains("One-time code"))
            .count();
        assert_eq!(resumed, 1, "round {round}: {ca:?} / {cb:?}");
    }
}

/// Finding 8 (amplification): one phone may start only so many sessions a
/// minute; beyond that it gets a polite END and the bank is not asked.
#[tokio::test]
async fn session_starts_per_phone_are_limited() {
    let partner = StubPartner::start().await.unwrap();
    let setup = Setup {
        ussd: UssdConfig {
            limits: RateLimits {
                per_phone_per_minute: 2,
                per_source_per_second: 0,
            },
            ..UssdConfig::default()
        },
        ..Setup::default()
    };
    let url = serve(&partner.url(), setup).await;
    let mut texts = Vec::new();
    for _ in 0..3 {
        let mut phone = AtPhone::new(&url, "+254711000850");
        phone.dial().await;
        texts.push(phone.send("1").await);
    }
    assert!(!texts[0].0 && !texts[1].0, "{texts:?}");
    let (end, text) = &texts[2];
    assert!(*end && text.contains("Too many attempts"), "{text}");
    // Another number is not affected.
    let mut other = AtPhone::new(&url, "+254711000851");
    other.dial().await;
    assert!(!other.send("1").await.0);
}

/// Finding 6 (one bad record locks a phone out): a phone index or session
/// record that does not open (tampered, or sealed with a key this instance
/// lacks) used to fail every dial from that phone; it now reads as absent.
#[tokio::test]
async fn an_unreadable_record_does_not_lock_a_phone_out() {
    let partner = StubPartner::start_with(catalogues::secret_between_fields())
        .await
        .unwrap();
    let sealed = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let store: Arc<dyn SessionStore> = sealed.clone();
    let setup = Setup {
        store: Some(store),
        ..Setup::default()
    };
    let url = serve(&partner.url(), setup).await;
    let number = "+254711000870";
    // Garbage where this phone's index lives, and under a session id.
    let index = format!("ussd-phone:at:{}", sealed.blind(number));
    let ttl = std::time::Duration::from_secs(60);
    sealed
        .inner()
        .compare_and_set(&index, None, b"not sealed".to_vec(), ttl)
        .await
        .unwrap();
    let foreign = Sealer::random().seal(b"aad", b"another key's record");
    sealed
        .inner()
        .compare_and_set("ussd:at:ATUid_taken", None, foreign, ttl)
        .await
        .unwrap();
    let mut phone = AtPhone::new(&url, number);
    let (end, text) = phone.dial().await;
    assert!(!end && text.contains("Choose your bank"), "{text}");
    let (end, text) = phone.send("1").await;
    assert!(!end && text.contains("Enter Account"), "{text}");
    let (status, body) = raw_hop(&url, Some(TOKEN), "ATUid_taken", number, "").await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with("CON ") && body.contains("Choose your bank"),
        "{body}"
    );
}

/// A first answer whose session write loses to another's (the gateway gave
/// the id to two phones at once, and the other's hop wrote first) is shown
/// what the winner left only if the winner is the same phone: here it is
/// not, and the loser gets an apology, never the other phone's username
/// screen. Hubtel's, so the answer is served with a read (a cumulative
/// gateway's first answer is tried without one, and a lost race there is
/// served again with one); the record planted is an Africa's Talking
/// phone's, copied under the Hubtel session's key. Finding (review,
/// 2026-12-06): the lost write showed the winner's screen whoever it was.
#[tokio::test]
async fn a_lost_write_shows_the_winners_screen_only_to_the_same_phone() {
    let store = Arc::new(FaultyStore::default());
    let setup = Setup {
        store: Some(store.clone()),
        ..Setup::default()
    };
    let rig = rig_setup(SandboxConfig::default(), setup).await;
    let mut other = AtPhone::new(&rig.url, "+254711000981");
    let (end, theirs) = other.script(&["1", "1"]).await;
    assert!(
        !end && theirs.to_lowercase().contains("username"),
        "{theirs}"
    );

    let mut phone = HubtelPhone::new(&rig.url, "lost-race-1");
    let (end, banks) = phone.hop("Initiation", "*714*4#").await;
    assert!(!end && banks.contains("Choose your bank"), "{banks}");
    let from = format!("ussd:at:{}", other.session_id());
    *store.plant.lock().unwrap() = Some(("ussd:hubtel:lost-race-1".into(), from));
    let (end, text) = phone.hop("Response", "1").await;
    assert!(
        store.plant.lock().unwrap().is_none(),
        "no write lost the race"
    );
    assert!(end && text.contains("Sorry"), "{text}");
    assert_ne!(text, theirs);
}
