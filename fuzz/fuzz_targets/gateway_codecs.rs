//! Gateway codecs never panic, whatever a gateway (or anyone) posts: every
//! request decodes to a hop or a typed error, and every screen encodes.
#![no_main]
use connectflow::channel::ussd::gateway::africastalking::{decode_notification, AfricasTalking};
use connectflow::channel::ussd::gateway::hubtel::Hubtel;
use connectflow::channel::ussd::gateway::hubtel_ps::HubtelPs;
use connectflow::channel::ussd::gateway::{Gateway, GatewayRequest, Screen};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
        let _ = Hubtel.decode(&request);
        let _ = HubtelPs.decode(&request);
        let _ = decode_notification(&request);
    }
    let text = String::from_utf8_lossy(data);
    for end in [false, true] {
        let screen = Screen { text: text.to_string(), end, masked: end };
        let _ = AfricasTalking.encode(&screen, "s", "");
        let _ = Hubtel.encode(&screen, &text, &text);
        let _ = HubtelPs.encode(&screen, &text, &text);
    }
});
