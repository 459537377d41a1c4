//! Hubtel Programmable Services: every request `Type` of ussd.md §3, the
//! reply shape, and garbage (a typed error, never a panic).

use super::*;
use connectflow::channel::ussd::gateway::hubtel_ps::HubtelPs;

fn request(kind: &str, message: &str) -> GatewayRequest {
    json(&format!(
        r#"{{ "Mobile": "233244567890", "SessionId": "3c8dfb7a1d2e4f60a9b8c7d6e5f40312",
             "ServiceCode": "714*4", "Type": "{kind}", "Message": "{message}",
             "Operator": "mtn", "Sequence": 2, "ClientState": "",
             "Platform": "USSD", "ExtraData": {{"any": ["thing"]}} }}"#
    ))
}

#[test]
fn hubtel_ps_name_is_its_own_store_space() {
    assert_eq!(HubtelPs.name(), "hubtel-ps");
    assert_ne!(HubtelPs.name(), Hubtel.name());
}

#[test]
fn hubtel_ps_decodes_initiation_with_its_extra_fields() {
    let hop = HubtelPs
        .decode(&request("initiation", "*714*4*1#"))
        .unwrap();
    assert_eq!(
        hop,
        RawHop {
            session_id: "3c8dfb7a1d2e4f60a9b8c7d6e5f40312".into(),
            phone: "+233244567890".into(),
            service_code: "*714*4#".into(),
            network: "mtn".into(),
            payload: Payload::Initiation {
                dialled: "*714*4*1#".into()
            },
        }
    );
    // From Hubtel's app the first Message may be blank.
    let hop = HubtelPs.decode(&request("initiation", "")).unwrap();
    assert_eq!(
        hop.payload,
        Payload::Initiation {
            dialled: String::new()
        }
    );
}

#[test]
fn hubtel_ps_decodes_response_release_and_timeout() {
    assert_eq!(
        HubtelPs
            .decode(&request("response", "12*34"))
            .unwrap()
            .payload,
        Payload::Latest {
            text: "12*34".into(),
            sequence: Some(2)
        }
    );
    assert_eq!(
        HubtelPs.decode(&request("release", "")).unwrap().payload,
        Payload::Release
    );
    // The reference spells this one capitalised; either case is read.
    for kind in ["Timeout", "timeout", "TIMEOUT"] {
        assert_eq!(
            HubtelPs.decode(&request(kind, "")).unwrap().payload,
            Payload::Timeout,
            "{kind}"
        );
    }
    // The classic capitalisation is read too (a gateway mid-migration).
    assert_eq!(
        HubtelPs.decode(&request("Response", "1")).unwrap().payload,
        Payload::Latest {
            text: "1".into(),
            sequence: Some(2)
        }
    );
}

/// Cart, query, favourite and unknown kinds are not typed input: they must
/// never reach a login form as text.
#[test]
fn hubtel_ps_kinds_that_are_not_ussd_steps_are_unsupported() {
    for kind in [
        "AddToCart",
        "Query",
        "Favorite",
        "addtocart",
        "SomethingNew",
    ] {
        assert_eq!(
            HubtelPs.decode(&request(kind, "1")).unwrap().payload,
            Payload::Unsupported(kind.into()),
            "{kind}"
        );
    }
    // A number where a kind belongs is read as text, and is no kind we serve.
    let hop = HubtelPs
        .decode(&json(r#"{"SessionId":"s","Type":7,"Message":"1"}"#))
        .unwrap();
    assert_eq!(hop.payload, Payload::Unsupported("7".into()));
}

#[test]
fn hubtel_ps_refuses_garbage_with_a_typed_error() {
    for body in [
        "",
        "not json",
        "[]",
        "null",
        r#""initiation""#,
        r#"{"Type":"response","Message":"1"}"#,
        r#"{"SessionId":"  ","Type":"response"}"#,
        r#"{"SessionId":"s","Message":"1"}"#,
        r#"{"SessionId":"s","Type":""}"#,
    ] {
        assert!(HubtelPs.decode(&json(body)).is_err(), "{body:?}");
    }
    let bad_utf8 = GatewayRequest {
        body: vec![b'{', 0xFF, b'}'],
        ..GatewayRequest::default()
    };
    assert!(HubtelPs.decode(&bad_utf8).is_err());
}

fn encoded(screen: &Screen) -> serde_json::Value {
    let r = HubtelPs.encode(screen, "3c8d", "");
    assert_eq!(r.status, 200);
    assert_eq!(header(&r.headers, "content-type"), Some("application/json"));
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn hubtel_ps_encodes_the_reference_reply_shape() {
    let v = encoded(&Screen {
        text: "Choose your bank\n1. Access\n2. GTBank".into(),
        end: false,
        masked: false,
    });
    assert_eq!(
        v,
        serde_json::json!({
            "SessionId": "3c8d", "Type": "response",
            "Message": "Choose your bank\n1. Access\n2. GTBank", "Label": "Choose your bank",
            "ClientState": "", "DataType": "input", "FieldType": "text", "FieldName": "input",
            "Data": [], "Item": null, "PersistAsFavoriteStep": false
        })
    );
    // The fields in the reference's order, for a strict client.
    let body = String::from_utf8(
        HubtelPs
            .encode(
                &Screen {
                    text: "x".into(),
                    end: false,
                    masked: false,
                },
                "s",
                "",
            )
            .body,
    )
    .unwrap();
    let order = [
        "SessionId",
        "Type",
        "Message",
        "Label",
        "ClientState",
        "DataType",
        "FieldType",
        "FieldName",
        "Data",
        "Item",
        "PersistAsFavoriteStep",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|k| body.find(&format!("\"{k}\"")).unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{body}");
}

#[test]
fn hubtel_ps_masks_secret_screens_and_ends_with_a_display() {
    let v = encoded(&Screen {
        text: "Enter PIN (secret)".into(),
        end: false,
        masked: true,
    });
    assert_eq!(
        (v["Type"].as_str(), v["FieldType"].as_str()),
        (Some("response"), Some("password"))
    );
    let v = encoded(&Screen {
        text: "Your account is linked.\nRef abc".into(),
        end: true,
        masked: false,
    });
    assert_eq!(v["Type"], "release");
    assert_eq!(v["DataType"], "display");
    assert_eq!(v["FieldType"], "text");
    assert_eq!(v["Label"], "Your account is linked.");
    // An empty screen still encodes.
    let v = encoded(&Screen {
        text: String::new(),
        end: true,
        masked: false,
    });
    assert_eq!(
        (v["Message"].as_str(), v["Label"].as_str()),
        (Some(""), Some(""))
    );
}

proptest! {
    /// Whatever bytes arrive, decoding is a hop or a typed error.
    #[test]
    fn hubtel_ps_decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = HubtelPs.decode(&GatewayRequest { body, ..GatewayRequest::default() });
    }

    /// Any `Type` string decodes to exactly one payload, and only
    /// `initiation` and `response` carry the message into the channel.
    #[test]
    fn hubtel_ps_only_initiation_and_response_carry_text(kind in "[A-Za-z]{1,12}") {
        let hop = HubtelPs.decode(&request(&kind, "secret-ish")).unwrap();
        let carries = matches!(hop.payload, Payload::Initiation { .. } | Payload::Latest { .. });
        let lower = kind.to_ascii_lowercase();
        prop_assert_eq!(carries, lower == "initiation" || lower == "response");
    }
}
