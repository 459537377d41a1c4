//! Infobip (ussd.md §4): the session id and the hop's kind from the path
//! (`start`, `response`, `end`, and kinds the reference does not name), the
//! pre-dialled segments under `shortCode`, the `{ussdMenu, shouldClose, …}`
//! reply, garbage.

use super::*;
use connectflow::channel::ussd::gateway::infobip::Infobip;

fn request(kind: &str, text: &str) -> GatewayRequest {
    GatewayRequest {
        path: format!("/ussd/infobip/ib-5f1c/{kind}"),
        ..json(&format!(
            r#"{{ "msisdn": "2348031234567", "text": "{text}", "shortCode": "*384*123#",
                 "ussdGwId": "ng-mtn", "imsi": "621300000000001", "language": "en",
                 "optional": null, "unknown": true }}"#
        ))
    }
}

#[test]
fn infobip_name_is_its_own_store_space() {
    assert_eq!(Infobip.name(), "infobip");
}

#[test]
fn infobip_decodes_a_start_with_its_short_code() {
    let hop = Infobip.decode(&request("start", "*384*123#")).unwrap();
    assert_eq!(
        hop,
        RawHop {
            session_id: "ib-5f1c".into(),
            phone: "+2348031234567".into(),
            service_code: "*384*123#".into(),
            network: "ng-mtn".into(),
            payload: Payload::Initiation {
                dialled: "*384*123#".into()
            },
        }
    );
    // Pre-dialled segments: found after the short code, as for Hubtel.
    let hop = Infobip.decode(&request("start", "*384*123*2#")).unwrap();
    let Payload::Initiation { dialled } = &hop.payload else {
        panic!("{hop:?}");
    };
    assert_eq!(dialled_prefill(&hop.service_code, dialled), ["2"]);
    // A start with no text is the code alone: no pre-dialled answer.
    let hop = Infobip.decode(&request("start", " ")).unwrap();
    assert_eq!(
        hop.payload,
        Payload::Initiation {
            dialled: "*384*123#".into()
        }
    );
}

#[test]
fn infobip_decodes_a_response_and_an_end() {
    assert_eq!(
        Infobip
            .decode(&request("response", "12*34"))
            .unwrap()
            .payload,
        Payload::Latest {
            text: "12*34".into(),
            sequence: None
        }
    );
    assert_eq!(
        Infobip.decode(&request("end", "1")).unwrap().payload,
        Payload::Release
    );
    // An end is an end whatever its body (none, or not JSON): the session
    // it names is over.
    for body in ["", "not json"] {
        let end = GatewayRequest {
            path: "/ussd/infobip/ib-5f1c/end".into(),
            body: body.as_bytes().to_vec(),
            ..GatewayRequest::default()
        };
        let hop = Infobip.decode(&end).unwrap();
        assert_eq!(
            (hop.session_id.as_str(), hop.payload),
            ("ib-5f1c", Payload::Release)
        );
    }
    // A trailing slash is the same call.
    let mut slash = request("response", "1");
    slash.path.push('/');
    assert_eq!(Infobip.decode(&slash).unwrap().session_id, "ib-5f1c");
}

/// `status` (from Infobip's transport in vumi) asks after the session,
/// with a body or none; it is answered `sessionActive` and nothing else.
#[test]
fn infobip_status_is_asked_and_answered_with_session_active() {
    for body in ["", "not json", r#"{"msisdn": "2348031234567"}"#] {
        let status = GatewayRequest {
            path: "/ussd/infobip/ib-5f1c/status".into(),
            body: body.as_bytes().to_vec(),
            ..GatewayRequest::default()
        };
        let hop = Infobip.decode(&status).unwrap();
        assert_eq!(
            (hop.session_id.as_str(), hop.payload),
            ("ib-5f1c", Payload::Status),
            "{body:?}"
        );
    }
    for active in [true, false] {
        let reply = Infobip.encode_status(active, "ib-5f1c");
        assert_eq!(reply.status, 200);
        assert_eq!(
            String::from_utf8(reply.body).unwrap(),
            format!(r#"{{"sessionActive":{active},"responseExitCode":200,"responseMessage":""}}"#)
        );
    }
}

/// A call the reference does not name is never typed input.
#[test]
fn infobip_calls_the_reference_does_not_name_are_unsupported() {
    assert_eq!(
        Infobip.decode(&request("menu", "1")).unwrap().payload,
        Payload::Unsupported("Infobip call \"menu\"".into())
    );
}

#[test]
fn infobip_garbage_is_an_error_not_a_panic() {
    // No session in the path, or a blank one.
    for path in [
        "",
        "/",
        "start",
        "/ussd/infobip/ /start",
        "/ussd/infobip//response",
    ] {
        let mut r = request("start", "1");
        r.path = path.into();
        assert!(Infobip.decode(&r).is_err(), "{path:?}");
    }
    // A start or a response must carry a JSON object.
    for body in ["", "[]", "\"text\"", "{", "null"] {
        for kind in ["start", "response"] {
            let r = GatewayRequest {
                path: format!("/ussd/infobip/s/{kind}"),
                ..json(body)
            };
            assert!(Infobip.decode(&r).is_err(), "{kind} {body:?}");
        }
    }
}

#[test]
fn infobip_encodes_the_menu_and_should_close() {
    let encoded = |end| json_screen(&Infobip, end);
    // The reference's shape and order.
    assert_eq!(
        encoded(false),
        r#"{"ussdMenu":"Choose your bank\n1. Access","shouldClose":false,"responseExitCode":200,"responseMessage":""}"#
    );
    assert_eq!(
        encoded(true),
        r#"{"ussdMenu":"Choose your bank\n1. Access","shouldClose":true,"responseExitCode":200,"responseMessage":""}"#
    );
    assert!(Infobip.replying_to(&request("response", "1")).is_none());
}

proptest! {
    /// Whatever the path and body, decoding is a hop or a typed error, and
    /// a hop always has a session id.
    #[test]
    fn infobip_decode_never_panics(
        path in "[a-z/ %-]{0,40}",
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        if let Ok(hop) = Infobip.decode(&GatewayRequest { path, body, ..GatewayRequest::default() }) {
            prop_assert!(!hop.session_id.trim().is_empty());
        }
    }
}
