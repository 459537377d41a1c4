//! The wire builders (what the sandbox and the stub partner send) agree
//! with the decoder.

use super::*;

#[test]
fn wire_builders_round_trip_through_decode() {
    let steps = [
        step(CallKind::Login, "login_99.json"),
        step(CallKind::Login, "login_101_v2.json"),
        step(CallKind::Login, "login_101_v1.json"),
        step(CallKind::Login, "login_102_v2.json"),
        step(CallKind::Login, "login_field_names.json"),
        step(CallKind::Login, "login_400.json"),
        step(CallKind::Login, "login_locked.json"),
    ];
    for s in steps {
        let bytes = wire::step(&s).to_bytes();
        for kind in [CallKind::Login, CallKind::Commit] {
            assert_eq!(
                v2().decode(kind, &HttpResponse::new(200, bytes.clone())),
                Ok(Reply::Step(s.clone()))
            );
        }
    }
    for name in [
        "institutions_v1.json",
        "institutions_v3.json",
        "institutions_firstbank.json",
        "institutions_unknown.json",
    ] {
        let list = catalogue(name);
        let bytes = serde_json::to_vec(&wire::institutions(&list)).unwrap();
        let Ok(Reply::Institutions(c)) =
            v2().decode(CallKind::ListInstitutions, &HttpResponse::new(200, bytes))
        else {
            panic!()
        };
        assert_eq!(c.institutions(), list.as_slice(), "{name}");
    }
    for name in [
        "session_v2.json",
        "session_firstbank.json",
        "session_v2_expires_at.json",
    ] {
        let s = session(name);
        let bytes = serde_json::to_vec(&wire::session(&s)).unwrap();
        assert_eq!(
            v2().decode(CallKind::CreateSession, &HttpResponse::new(200, bytes)),
            Ok(Reply::SessionCreated(s))
        );
    }
    let bytes = serde_json::to_vec(&wire::exchanged("acc_1")).unwrap();
    assert_eq!(
        v2().decode(CallKind::ExchangeCode, &HttpResponse::new(200, bytes)),
        Ok(Reply::Exchanged {
            account_id: "acc_1".into()
        })
    );
    let failed = wire::Envelope::failed("Invalid credentials");
    assert_eq!(
        serde_json::to_value(&failed).unwrap(),
        json!({"status": "failed", "message": "Invalid credentials", "responseCode": 400, "data": null})
    );
}

/// Every catalogue the test kit builds by hand survives the wire unchanged:
/// what a `StubPartner` lists is exactly what a flow behind the driver gets.
/// (The sandbox's own list is the sandbox's to check: it carries Mono's
/// `nip_code` among its unmodelled keys.)
#[cfg(feature = "testing")]
#[test]
fn kit_catalogues_round_trip_through_the_wire() {
    use connectflow::testing::catalogues;
    for (name, catalogue) in [
        ("demo", catalogues::demo()),
        ("demo_with_ussd_bank", catalogues::demo_with_ussd_bank()),
        ("gtbank", catalogues::gtbank()),
        ("gtbank_mono_ids", catalogues::gtbank_mono_ids()),
        ("secret_between_fields", catalogues::secret_between_fields()),
    ] {
        let bytes = wire::institutions(catalogue.institutions()).to_bytes();
        let Ok(Reply::Institutions(decoded)) =
            v2().decode(CallKind::ListInstitutions, &HttpResponse::new(200, bytes))
        else {
            panic!("{name}: not an institution list")
        };
        assert_eq!(decoded.institutions(), catalogue.institutions(), "{name}");
        assert_eq!(decoded.fingerprint(), catalogue.fingerprint(), "{name}");
    }
}
