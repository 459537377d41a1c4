//! HollaTags, Nigeria (ussd.md §4): `session_*` fields in the query (or
//! the form body of its own example); `begin`, `continue`, `end` and the
//! operations the reference does not name; the reply with the same keys;
//! garbage.

use super::*;
use connectflow::channel::ussd::gateway::hollatags::HollaTags;

fn hop(params: &str) -> RawHop {
    HollaTags.decode(&query(params)).unwrap()
}

#[test]
fn hollatags_name_is_its_own_store_space() {
    assert_eq!(HollaTags.name(), "hollatags");
}

#[test]
fn hollatags_decodes_a_first_dial() {
    let first = hop(
        "session_msisdn=2348031234567&session_operation=begin&session_msg=*347*100*1%23&\
         session_id=5456657676&session_from=*347*100%23&session_type=1&session_mno=MTN",
    );
    assert_eq!(
        first,
        RawHop {
            session_id: "5456657676".into(),
            phone: "+2348031234567".into(),
            service_code: "*347*100#".into(),
            network: "MTN".into(),
            payload: Payload::Initiation {
                dialled: "*347*100*1#".into()
            },
        }
    );
    let Payload::Initiation { dialled } = &first.payload else {
        unreachable!()
    };
    assert_eq!(dialled_prefill(&first.service_code, dialled), ["1"]);
    // A dial whose `#` was lost from the query (sent raw, it starts the
    // URL's fragment) is still the dial.
    let lost =
        hop("session_operation=begin&session_msg=*347*100*1&session_id=1&session_from=*347*100");
    assert_eq!(
        lost.payload,
        Payload::Initiation {
            dialled: "*347*100*1".into()
        }
    );
    // A `begin` whose message is not a dialled code (the reference's own
    // example carries a greeting): the code itself, no pre-dialled input.
    let greeting = hop(
        "session_operation=BEGIN&session_msg=Hello%2C+this+is+a+test+message&\
         session_id=1&session_from=*7006%23",
    );
    assert_eq!(
        greeting.payload,
        Payload::Initiation {
            dialled: "*7006#".into()
        }
    );
}

#[test]
fn hollatags_decodes_continue_end_and_unnamed_operations() {
    let base = "session_id=9&session_msisdn=08031234567&session_msg=1*2";
    assert_eq!(
        hop(&format!("{base}&session_operation=continue")),
        RawHop {
            session_id: "9".into(),
            // A national number is Nigeria's.
            phone: "+2348031234567".into(),
            service_code: String::new(),
            network: String::new(),
            payload: Payload::Latest {
                text: "1*2".into(),
                sequence: None
            },
        }
    );
    assert_eq!(
        hop(&format!("{base}&session_operation=%20End%20")).payload,
        Payload::Release
    );
    assert_eq!(
        hop(&format!("{base}&session_operation=notify")).payload,
        Payload::Unsupported("session_operation notify".into())
    );
}

#[test]
fn hollatags_reads_its_examples_form_body_on_a_get() {
    let hop = HollaTags
        .decode(&form(
            "session_msisdn=2347000000000&session_operation=continue&session_msg=2&\
             session_id=5456657676&session_type=1&session_mno=GLO",
        ))
        .unwrap();
    assert_eq!(
        (
            hop.session_id.as_str(),
            hop.phone.as_str(),
            hop.network.as_str()
        ),
        ("5456657676", "+2347000000000", "GLO")
    );
}

#[test]
fn hollatags_replies_with_the_same_keys_echoing_the_session() {
    let reply: serde_json::Value = serde_json::from_str(&json_screen(&HollaTags, false)).unwrap();
    assert_eq!(
        reply,
        serde_json::json!({"session_operation": "continue", "session_type": 1,
            "session_id": "s-1", "session_msg": "Choose your bank\n1. Access"})
    );
    let reply: serde_json::Value = serde_json::from_str(&json_screen(&HollaTags, true)).unwrap();
    assert_eq!(
        (&reply["session_operation"], &reply["session_type"]),
        (&"end".into(), &4.into())
    );
}

#[test]
fn hollatags_refuses_a_hop_without_a_session_or_an_operation() {
    for params in [
        "",
        "session_operation=begin",
        "session_id=%20&session_operation=continue",
        "session_id=1",
        "session_id=1&session_operation=%20",
    ] {
        assert!(HollaTags.decode(&query(params)).is_err(), "{params:?}");
    }
}
