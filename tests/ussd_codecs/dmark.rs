//! DMark, Uganda (ussd.md §4): `transactionId`, `msisdn`,
//! `ussdServiceCode`, `ussdRequestString`, `response` in the query (or a
//! form body); `response=false` is the first dial; the
//! `responseString`/`action` reply; garbage.

use super::*;
use connectflow::channel::ussd::gateway::dmark::Dmark;

fn hop(params: &str) -> RawHop {
    Dmark.decode(&query(params)).unwrap()
}

#[test]
fn dmark_name_is_its_own_store_space() {
    assert_eq!(Dmark.name(), "dmark");
}

#[test]
fn dmark_decodes_a_first_dial_with_its_pre_dialled_bank_and_an_answer() {
    let first = hop(
        "transactionId=4512&msisdn=256772123456&ussdServiceCode=257&\
         ussdRequestString=*257*1%23&response=false&transactionTime=1700000000&creationTime=1700000000",
    );
    assert_eq!(
        first,
        RawHop {
            session_id: "4512".into(),
            phone: "+256772123456".into(),
            // Sent without its marks: canonical, so it matches the dial.
            service_code: "*257#".into(),
            network: String::new(),
            payload: Payload::Initiation {
                dialled: "*257*1#".into()
            },
        }
    );
    let Payload::Initiation { dialled } = &first.payload else {
        unreachable!()
    };
    assert_eq!(dialled_prefill(&first.service_code, dialled), ["1"]);
    // An answer: what was typed last, untrimmed, `*` and all.
    for response in ["true", "TRUE", ""] {
        assert_eq!(
            hop(&format!(
                "transactionId=4512&msisdn=256772123456&ussdRequestString=12*34%20&response={response}"
            ))
            .payload,
            Payload::Latest {
                text: "12*34 ".into(),
                sequence: None
            },
            "{response:?}"
        );
    }
}

/// Only `false` is a first dial: a missing or garbled flag never restarts
/// a session.
#[test]
fn dmark_reads_an_unclear_flag_as_an_answer() {
    for params in [
        "transactionId=1&ussdRequestString=1",
        "transactionId=1&ussdRequestString=1&response=no",
        "transactionId=1&ussdRequestString=1&response=0",
    ] {
        assert!(
            matches!(hop(params).payload, Payload::Latest { .. }),
            "{params}"
        );
    }
    assert!(matches!(
        hop("transactionId=1&ussdRequestString=*257%23&response=%20False%20").payload,
        Payload::Initiation { .. }
    ));
}

#[test]
fn dmark_reads_a_form_body_and_a_national_number() {
    let hop = Dmark
        .decode(&form(
            "transactionId=77&msisdn=0772%20123%20456&ussdRequestString=2&response=true",
        ))
        .unwrap();
    assert_eq!(
        (hop.session_id.as_str(), hop.phone.as_str()),
        ("77", "+256772123456")
    );
    // The query wins over the body when both carry a field.
    let both = GatewayRequest {
        query: "transactionId=q".into(),
        ..form("transactionId=b&response=true")
    };
    assert_eq!(Dmark.decode(&both).unwrap().session_id, "q");
}

#[test]
fn dmark_replies_request_or_end() {
    let reply: serde_json::Value = serde_json::from_str(&json_screen(&Dmark, false)).unwrap();
    assert_eq!(
        reply,
        serde_json::json!({"responseString": "Choose your bank\n1. Access", "action": "request"})
    );
    let reply: serde_json::Value = serde_json::from_str(&json_screen(&Dmark, true)).unwrap();
    assert_eq!(reply["action"], "end");
}

#[test]
fn dmark_refuses_a_request_without_a_transaction_id() {
    for params in [
        "",
        "msisdn=256772123456&response=false",
        "transactionId=%20%20",
        "garbage",
    ] {
        assert!(Dmark.decode(&query(params)).is_err(), "{params:?}");
    }
}
