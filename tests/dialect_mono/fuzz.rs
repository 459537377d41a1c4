//! Properties: decoding never panics on any bytes or on Mono-shaped JSON,
//! and encoding is total and redacted.

use super::*;

/// JSON built from the keys and values Mono uses, nested a few levels, so the
/// generator reaches the decoders' inner branches far more often than random
/// bytes would.
fn mono_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "status",
        "message",
        "responseCode",
        "data",
        "code",
        "accounts",
        "userInput",
        "form",
        "title",
        "id",
        "_id",
        "session",
        "expiresAt",
        "expires_at",
        "ui",
        "institution",
        "name",
        "type",
        "auth_methods",
        "accountNumber",
        "balance",
        "timeout",
        "primary_color",
        "bank_code",
        "error",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![99u64, 101, 102, 400]).prop_map(Value::from),
        prop::sample::select(vec![
            "failed",
            "successful",
            "99",
            "101",
            "102",
            "2025-01-01T00:00:00Z",
            "elements.input"
        ])
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    /// Invariant: `decode` is total. For every call kind, every status code and
    /// every body (arbitrary bytes, or JSON shaped like Mono's), it returns
    /// `Ok` or `Err` and never panics; and whatever it returns for a status
    /// outside 2xx is never a success other than a login/commit rejection.
    #[test]
    fn decode_never_panics_on_bytes(status in any::<u16>(), body in prop::collection::vec(any::<u8>(), 0..256)) {
        for kind in ALL_KINDS {
            let r = v2().decode(kind, &HttpResponse::new(status, body.clone()));
            if !(200..300).contains(&status) {
                prop_assert!(matches!(r, Err(_) | Ok(Reply::Step(Step::Rejected(_)))));
            }
        }
    }

    /// Same invariant, over Mono-shaped JSON and both versions.
    #[test]
    fn decode_never_panics_on_mono_shaped_json(status in prop::sample::select(vec![200u16, 201, 400, 401, 404, 429, 500]),
                                               body in mono_json()) {
        let bytes = body.to_string().into_bytes();
        for dialect in [v1(), v2()] {
            for kind in ALL_KINDS {
                let r = dialect.decode(kind, &HttpResponse::new(status, bytes.clone()));
                if let Err(CallError::Malformed(m)) = &r {
                    prop_assert!(m.len() < 120);
                }
            }
        }
    }

    /// Invariant: every call encodes, and no request's `Debug` shows the key
    /// or any submitted value.
    #[test]
    fn encode_is_total_and_debug_is_redacted(name in "[a-zA-Z]{1,8}", value in "[0-9]{6,10}", index in 0usize..50) {
        let values = Values::new().with(name, format!("V{value}V"));
        let calls = [
            Call::Login {
                session: "s".into(),
                institution: "i".into(),
                auth_method: AuthMethodKind::InternetBanking,
                values: values.clone(),
            },
            Call::Commit { session: "s".into(), values, account: Some(AccountChoice { index, number: "n".into() }) },
        ];
        for dialect in [v1(), v2()] {
            for call in &calls {
                let req = dialect.encode(call);
                let dbg = format!("{req:?}");
                let shown = format!("V{value}V");
                prop_assert!(!dbg.contains(&shown) && !dbg.contains("SUPERSECRET"));
                prop_assert!(req.body.is_some());
            }
        }
    }
}
