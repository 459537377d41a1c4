//! The pure USSD pieces: gateway codecs, MSISDN normalisation, input
//! extraction (ussd.md §2.2) and GSM-7 length accounting (§5).
#![cfg(feature = "ussd")]

mod africastalking;
mod airtel;
mod arkesel;
mod bank_pick;
mod dmark;
mod gsm;
mod hollatags;
mod hubtel;
mod hubtel_ps;
mod infobip;
mod input;
mod korba;
mod menu;
mod msisdn;
mod nalo;
mod sendexa;

use std::borrow::Cow;

use connectflow::channel::ussd::gateway::africastalking::{
    decode_notification, mask_input, AfricasTalking,
};
use connectflow::channel::ussd::gateway::hubtel::Hubtel;
use connectflow::channel::ussd::gateway::{
    normalise_msisdn, Gateway, GatewayRequest, Payload, RawHop, Screen, SessionEnded,
};
use connectflow::channel::ussd::gsm::{measure, sanitize, Budget, Encoding, Measure};
use connectflow::channel::ussd::input::{
    configured_prefill, dialled_prefill, extract, normalise_service_code, parse_service_code,
    Extracted,
};
use proptest::prelude::*;

fn form(body: &str) -> GatewayRequest {
    GatewayRequest {
        content_type: Some("application/x-www-form-urlencoded".into()),
        query: String::new(),
        body: body.as_bytes().to_vec(),
        ..GatewayRequest::default()
    }
}

fn query(q: &str) -> GatewayRequest {
    GatewayRequest {
        content_type: None,
        query: q.into(),
        body: Vec::new(),
        ..GatewayRequest::default()
    }
}

fn json(body: &str) -> GatewayRequest {
    GatewayRequest {
        content_type: Some("application/json".into()),
        query: String::new(),
        body: body.as_bytes().to_vec(),
        ..GatewayRequest::default()
    }
}

/// `gateway`'s JSON reply to a two-line menu, continuing or ending (`end`):
/// checked to be a 200 of `application/json`, given back as text.
fn json_screen(gateway: &dyn Gateway, end: bool) -> String {
    let r = gateway.encode(
        &Screen {
            text: "Choose your bank\n1. Access".into(),
            end,
            masked: false,
        },
        "s-1",
        "",
    );
    assert_eq!(r.status, 200);
    assert_eq!(header(&r.headers, "content-type"), Some("application/json"));
    String::from_utf8(r.body).unwrap()
}

fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
