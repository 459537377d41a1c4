//! Sendexa, Ghana (ussd.md §4): `type` `new` and `continue` (and the
//! kinds the reference does not name), the `message`/`shouldClose` reply,
//! garbage.

use super::*;
use connectflow::channel::ussd::gateway::sendexa::Sendexa;

#[test]
fn sendexa_name_is_its_own_store_space() {
    assert_eq!(Sendexa.name(), "sendexa");
}

#[test]
fn sendexa_decodes_its_examples() {
    let first = Sendexa
        .decode(&json(
            r#"{"sessionId": "ussd_sess_987654321", "phone": "233555539152", "network": "MTN",
                "serviceCode": "*123*1#", "type": "new", "input": null,
                "timestamp": "2024-01-15T10:30:05Z"}"#,
        ))
        .unwrap();
    assert_eq!(
        first,
        RawHop {
            session_id: "ussd_sess_987654321".into(),
            phone: "+233555539152".into(),
            // Read against the deployment's codes, not as the code.
            service_code: String::new(),
            network: "MTN".into(),
            payload: Payload::Initiation {
                dialled: "*123*1#".into()
            },
        }
    );
    let Payload::Initiation { dialled } = &first.payload else {
        unreachable!()
    };
    assert_eq!(
        configured_prefill(&["*123#".into()], dialled),
        Some(vec!["1".to_owned()])
    );
    let answer = Sendexa
        .decode(&json(
            r#"{"sessionId": "ussd_sess_987654321", "phone": "0555539152", "network": "MTN",
                "serviceCode": "*123#", "type": " Continue ", "input": "1*2"}"#,
        ))
        .unwrap();
    assert_eq!(answer.phone, "+233555539152");
    assert_eq!(
        answer.payload,
        Payload::Latest {
            text: "1*2".into(),
            sequence: None
        }
    );
}

/// A kind the reference does not name is never typed input.
#[test]
fn sendexa_kinds_the_reference_does_not_name_are_unsupported() {
    let hop = Sendexa
        .decode(&json(r#"{"sessionId": "s", "type": "end", "input": "1"}"#))
        .unwrap();
    assert_eq!(hop.payload, Payload::Unsupported("type end".into()));
}

#[test]
fn sendexa_replies_message_and_should_close() {
    let reply: serde_json::Value = serde_json::from_str(&json_screen(&Sendexa, false)).unwrap();
    assert_eq!(
        reply,
        serde_json::json!({"message": "Choose your bank\n1. Access", "shouldClose": false})
    );
    let reply: serde_json::Value = serde_json::from_str(&json_screen(&Sendexa, true)).unwrap();
    assert_eq!(reply["shouldClose"], true);
}

#[test]
fn sendexa_refuses_garbage_with_a_typed_error() {
    for body in [
        "",
        "not json",
        "[]",
        r#"{"type": "new"}"#,
        r#"{"sessionId": "  ", "type": "new"}"#,
        r#"{"sessionId": "s"}"#,
        r#"{"sessionId": "s", "type": null}"#,
    ] {
        assert!(Sendexa.decode(&json(body)).is_err(), "{body:?}");
    }
}
