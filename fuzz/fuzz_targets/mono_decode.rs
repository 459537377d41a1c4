//! The Mono dialect reads any status and bytes, for every call, without
//! panicking; so do the catalogue reader, the step reader and the partner
//! admin decoders.
#![no_main]
use connectflow::dialect::{Dialect, HttpResponse, Mono, MonoConfig};
use connectflow::dialect::mono::{admin, Customer};
use connectflow::flow::{AuthMethodKind, Call, Catalogue, Timestamp};
use connectflow::form::Values;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]) % 600, rest),
        _ => (200, data),
    };
    let mono = Mono::new(MonoConfig::new("test_sk_fuzz", Customer::existing("c")));
    let calls = [
        Call::ListInstitutions,
        Call::CreateSession { institution: "i".into(), auth_method: AuthMethodKind::InternetBanking },
        Call::Login {
            session: "s".into(),
            institution: "i".into(),
            auth_method: AuthMethodKind::InternetBanking,
            values: Values::new(),
        },
        Call::Commit { session: "s".into(), values: Values::new(), account: None },
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
});
