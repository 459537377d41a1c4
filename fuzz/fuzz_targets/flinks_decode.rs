//! The Flinks dialect reads any status and bytes, for every call, without
//! panicking.
#![no_main]
use connectflow::dialect::flinks::wire::AuthorizeRequest;
use connectflow::dialect::{Dialect, Flinks, FlinksConfig, HttpResponse};
use connectflow::flow::{AuthMethodKind, Call, Continuation, PartnerSession, Timestamp};
use connectflow::form::Values;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]) % 600, rest),
        _ => (200, data),
    };
    let flinks = Flinks::new(FlinksConfig::new("c", Some("secret".into())));
    let session = PartnerSession { id: "t".into(), continuation: Some(Continuation::new("r")) };
    let calls = [
        Call::CreateSession { institution: "i".into(), auth_method: AuthMethodKind::InternetBanking },
        Call::Login {
            session: session.clone(),
            institution: "i".into(),
            auth_method: AuthMethodKind::InternetBanking,
            values: Values::new(),
        },
        Call::Commit { session: session.clone(), values: Values::new(), account: None },
        Call::Poll { session },
    ];
    let response = HttpResponse::new(status, body.to_vec());
    for call in &calls {
        let _ = flinks.decode(call, &response, Timestamp(0));
    }
    let _ = serde_json::from_slice::<AuthorizeRequest>(body);
});
