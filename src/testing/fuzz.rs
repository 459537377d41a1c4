//! The bodies of the fuzz targets (`fuzz/fuzz_targets/`), here so that the
//! same code runs under libFuzzer (`cargo fuzz run <target>`, nightly) and
//! in the ordinary test suite, which replays the committed seeds in
//! `fuzz/seeds/<target>/` on stable (`tests/fuzz_seeds.rs`). Each function
//! takes any bytes; it panics only when the invariant it states is broken.

use crate::dialect::flinks::wire::AuthorizeRequest;
use crate::dialect::mono::{admin, Customer};
use crate::dialect::{Dialect, Flinks, FlinksConfig, HttpResponse, Mono, MonoConfig};
use crate::flow::{
    AuthMethodKind, Call, Catalogue, Continuation, PartnerSession, Snapshot, Timestamp,
};
use crate::form::{Form, Values};
use crate::store::Sealer;

/// A target: its `fuzz/fuzz_targets/` name and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub fn targets() -> Vec<Target> {
    #[cfg_attr(not(feature = "ussd"), allow(unused_mut))]
    let mut targets: Vec<Target> = vec![
        ("mono_decode", mono_decode),
        ("flinks_decode", flinks_decode),
        ("form_parse", form_parse),
        ("sealed_open", sealed_open),
        ("record_decode", record_decode),
    ];
    #[cfg(feature = "ussd")]
    targets.extend([
        ("gateway_codecs", gateway_codecs as fn(&[u8])),
        ("input_extract", input_extract),
    ]);
    targets
}

/// A status (the first two bytes, mod 600) and a body (the rest).
fn status_and_body(data: &[u8]) -> (u16, &[u8]) {
    match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]) % 600, rest),
        _ => (200, data),
    }
}

/// The Mono dialect reads any status and bytes, for every call, without
/// panicking; so do the catalogue reader, the step reader and the partner
/// admin decoders.
pub fn mono_decode(data: &[u8]) {
    let (status, body) = status_and_body(data);
    let mono = Mono::new(MonoConfig::new("test_sk_fuzz", Customer::existing("c")));
    let calls = [
        Call::ListInstitutions,
        Call::CreateSession {
            institution: "i".into(),
            auth_method: AuthMethodKind::InternetBanking,
            customer: None,
        },
        Call::Login {
            session: "s".into(),
            institution: "i".into(),
            auth_method: AuthMethodKind::InternetBanking,
            values: Values::new(),
        },
        Call::Commit {
            session: "s".into(),
            values: Values::new(),
            account: None,
        },
        Call::ExchangeCode { code: "c".into() },
    ];
    let response = HttpResponse::new(status, body.to_vec()).with_header("retry-after", "7");
    for call in &calls {
        let _ = mono.decode(call, &response, Timestamp(0));
    }
    let _ = mono.decode_step(&response);
    let _ = Catalogue::from_mono_json(body);
    // The partner admin replies (apps, tokens) as well.
    let _ = admin::decode_login(&response, Timestamp(0));
    let _ = admin::decode_app(&response);
    let _ = admin::decode_apps(&response);
    let _ = admin::decode_deleted(&response);
}

/// The Flinks dialect reads any status and bytes, for every call, without
/// panicking.
pub fn flinks_decode(data: &[u8]) {
    let (status, body) = status_and_body(data);
    let flinks = Flinks::new(FlinksConfig::new("c", Some("secret".into())));
    let session = PartnerSession {
        id: "t".into(),
        continuation: Some(Continuation::new("r")),
    };
    let calls = [
        Call::CreateSession {
            institution: "i".into(),
            auth_method: AuthMethodKind::InternetBanking,
            customer: None,
        },
        Call::Login {
            session: session.clone(),
            institution: "i".into(),
            auth_method: AuthMethodKind::InternetBanking,
            values: Values::new(),
        },
        Call::Commit {
            session: session.clone(),
            values: Values::new(),
            account: None,
        },
        Call::Poll { session },
    ];
    let response = HttpResponse::new(status, body.to_vec());
    for call in &calls {
        let _ = flinks.decode(call, &response, Timestamp(0));
    }
    let _ = serde_json::from_slice::<AuthorizeRequest>(body);
}

/// Form descriptors and snapshots parse (or refuse) any bytes without
/// panicking, and a parsed form validates any values without panicking.
pub fn form_parse(data: &[u8]) {
    if let Ok(form) = serde_json::from_slice::<Form>(data) {
        let text = String::from_utf8_lossy(data);
        let values: Values = form
            .fields
            .iter()
            .map(|f| (f.name.clone(), text.to_string()))
            .collect();
        let _ = form.validate(&values);
        let _ = form.validate(&Values::new());
        let _ = serde_json::to_vec(&form);
    }
    let _ = Snapshot::from_json(data);
}

/// Opening a sealed record never panics on any bytes, and nothing but what
/// was sealed under the same key and associated data opens.
pub fn sealed_open(data: &[u8]) {
    let sealer = Sealer::new([7; 32]);
    let _ = sealer.open(b"aad", data);
    let sealed = sealer.seal(b"aad", data);
    assert_eq!(sealer.open(b"aad", &sealed).ok().as_deref(), Some(data));
    assert!(sealer.open(b"other", &sealed).is_err());
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<Sealer>();
    }
}

/// Any bytes read as a stored session record (in every format this build
/// reads: compact, LZ4 JSON, plain JSON) are a session or an error, never a
/// panic; a session read that can be written again (not one past the size
/// cap, which an old format's record can decompress to) reads back equal;
/// and a compact record's JSON view (`record_json`) is JSON (an older
/// format's view is the JSON it holds, whatever that is). The channel's
/// part is read as any JSON value, so every byte of the record is read.
pub fn record_decode(data: &[u8]) {
    use crate::service::{is_compact, record_json, Session};
    if let (true, Ok(json)) = (is_compact(data), record_json(data)) {
        assert!(
            serde_json::from_slice::<serde_json::Value>(&json).is_ok(),
            "a compact record's JSON view is not JSON"
        );
    }
    if let Ok(session) = Session::<serde_json::Value>::from_bytes(data) {
        match session.to_bytes() {
            Ok(again) => {
                let back = Session::<serde_json::Value>::from_bytes(&again).expect("read again");
                assert_eq!(back, session);
            }
            Err(e) => assert!(e.to_string().contains("too large"), "not written: {e}"),
        }
    }
}

/// Gateway codecs never panic, whatever a gateway (or anyone) posts: every
/// request decodes to a hop or a typed error, and every screen encodes
/// (the Ghanaian JSON gateways' to JSON carrying the screen's text).
#[cfg(feature = "ussd")]
pub fn gateway_codecs(data: &[u8]) {
    use crate::channel::ussd::gateway::africastalking::{decode_notification, AfricasTalking};
    use crate::channel::ussd::gateway::airtel::Airtel;
    use crate::channel::ussd::gateway::arkesel::Arkesel;
    use crate::channel::ussd::gateway::dmark::Dmark;
    use crate::channel::ussd::gateway::hollatags::HollaTags;
    use crate::channel::ussd::gateway::hubtel::Hubtel;
    use crate::channel::ussd::gateway::hubtel_ps::HubtelPs;
    use crate::channel::ussd::gateway::infobip::Infobip;
    use crate::channel::ussd::gateway::korba::Korba;
    use crate::channel::ussd::gateway::nalo::Nalo;
    use crate::channel::ussd::gateway::sendexa::Sendexa;
    use crate::channel::ussd::gateway::{Gateway, GatewayRequest, Screen};
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (query, body) = data.split_at(split);
    for content_type in [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("application/json"),
        Some("text/plain"),
    ] {
        let request = GatewayRequest {
            content_type: content_type.map(str::to_owned),
            query: String::from_utf8_lossy(query).into_owned(),
            body: body.to_vec(),
            ..GatewayRequest::default()
        };
        let _ = AfricasTalking.decode(&request);
        if let Ok(hop) = Airtel.decode(&request) {
            assert!(!hop.session_id.trim().is_empty(), "{hop:?}");
        }
        let _ = Hubtel.decode(&request);
        let _ = HubtelPs.decode(&request);
        let _ = decode_notification(&request);
        // The gateways that reply in JSON: a hop has a session id, and the
        // copy that answers a request (with what its reply echoes) reads it
        // the same and replies in JSON carrying the screen's text.
        for (gateway, message) in [
            (&Arkesel as &dyn Gateway, "message"),
            (&Nalo, "MSG"),
            (&Korba, "message"),
            (&Sendexa, "message"),
            (&Dmark, "responseString"),
            (&HollaTags, "session_msg"),
        ] {
            let hop = gateway.decode(&request);
            if let Ok(hop) = &hop {
                assert!(!hop.session_id.trim().is_empty(), "{hop:?}");
            }
            // The per-request copy where there is one (Arkesel, Nalo), else
            // the codec itself (Korba): every one's reply is checked.
            let copy = gateway.replying_to(&request);
            let replying = copy.as_deref().unwrap_or(gateway);
            assert_eq!(replying.decode(&request), hop);
            let screen = Screen {
                text: request.query.clone(),
                end: false,
                masked: false,
            };
            let reply = replying.encode(&screen, "s", "");
            let reply: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
            assert_eq!(reply[message].as_str(), Some(screen.text.as_str()));
        }
        // Infobip: the session id and the hop's kind come from the path,
        // here built around the query's bytes (a `/` in them included).
        for kind in ["start", "response", "end", "status", "menu"] {
            let request = GatewayRequest {
                path: format!("/ussd/infobip/{}/{kind}", request.query),
                ..request.clone()
            };
            if let Ok(hop) = Infobip.decode(&request) {
                assert!(!hop.session_id.trim().is_empty(), "{hop:?}");
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    for (end, masked) in [(false, false), (false, true), (true, false), (true, true)] {
        let screen = Screen {
            text: text.to_string(),
            end,
            masked,
        };
        let _ = AfricasTalking.encode(&screen, "s", "");
        assert_eq!(Airtel.encode(&screen, "s", "").body, screen.text.as_bytes());
        let _ = Hubtel.encode(&screen, &text, &text);
        let _ = HubtelPs.encode(&screen, &text, &text);
        let _ = Arkesel.encode(&screen, &text, &text);
        let _ = Nalo.encode(&screen, &text, &text);
        let _ = Korba.encode(&screen, &text, &text);
        let _ = Sendexa.encode(&screen, &text, &text);
        let _ = Dmark.encode(&screen, &text, &text);
        let reply = HollaTags.encode(&screen, &text, &text);
        let reply: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
        assert_eq!(reply["session_msg"].as_str(), Some(screen.text.as_str()));
        assert_eq!(reply["session_id"].as_str(), Some(text.as_ref()));
        let reply = Infobip.encode(&screen, &text, &text);
        let reply: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
        assert_eq!(reply["ussdMenu"].as_str(), Some(screen.text.as_str()));
        assert_eq!(reply["shouldClose"].as_bool(), Some(end));
        let status = Infobip.encode_status(masked, &text);
        let status: serde_json::Value = serde_json::from_slice(&status.body).unwrap_or_default();
        assert_eq!(status["sessionActive"].as_bool(), Some(masked));
    }
}

/// Input extraction never panics, and its invariant holds for any texts:
/// the same text twice is a duplicate, and text extending the last applied
/// one by `*` yields exactly the rest. Played as one cumulative session with
/// every other answer secret (counted by length only, `marks.rs`), every
/// answer is recovered and every earlier text is a duplicate.
#[cfg(feature = "ussd")]
pub fn input_extract(data: &[u8]) {
    use crate::channel::ussd::input::{
        configured_prefill, dialled_prefill, extract, Extracted, TextMarks,
    };
    let text = String::from_utf8_lossy(data);
    let parts: Vec<&str> = text.split('\u{1}').collect();
    let mut marks = TextMarks::new();
    let mut prev: Option<&str> = None;
    for part in &parts {
        let _ = extract(prev, part);
        let _ = marks.extract(part);
        marks.push(part, false);
        assert_eq!(marks.extract(part), Extracted::Duplicate);
        if !part.is_empty() {
            let longer = format!("{part}*tail");
            assert_eq!(marks.extract(&longer), Extracted::Input("tail".into()));
        }
        prev = Some(part);
    }
    let mut session = TextMarks::new();
    session.push("", false);
    let mut texts = vec![String::new()];
    for (i, part) in parts.iter().enumerate() {
        let answered = texts.len() > 1;
        if !answered && part.is_empty() {
            // An empty first answer is the first hop's text again (§2.2).
            continue;
        }
        let last = texts.last().map(String::as_str).unwrap_or_default();
        let next = if answered {
            format!("{last}*{part}")
        } else {
            (*part).to_owned()
        };
        assert_eq!(session.extract(&next), Extracted::Input((*part).to_owned()));
        session.push(&next, i % 2 == 1);
        texts.push(next);
    }
    for earlier in texts.iter().rev().take(32) {
        assert_eq!(
            session.extract(earlier),
            Extracted::Duplicate,
            "{earlier:?}"
        );
    }
    if let [code, dialled, ..] = parts.as_slice() {
        let _ = dialled_prefill(code, dialled);
        let _ = configured_prefill(&[code.to_string()], dialled);
    }
}
