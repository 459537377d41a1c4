//! Replies that are not Flinks answers: HTTP errors without a FlinksCode
//! and garbage are call errors, and no status or bytes make decoding panic.

use crate::rig::*;
use connectflow::dialect::{Dialect, HttpResponse};
use connectflow::flow::{Call, CallError};
use proptest::prelude::*;
use serde_json::json;

#[test]
fn http_errors_without_a_flinks_code_and_garbage_are_call_errors() {
    assert!(matches!(
        step(500, json!("<html>")),
        Err(CallError::Http { status: 500, .. })
    ));
    assert!(matches!(
        step(401, json!({})),
        Err(CallError::Unauthorized(_))
    ));
    assert!(matches!(
        step(429, json!({})),
        Err(CallError::RateLimited { .. })
    ));
    let garbage = flinks().decode(&login(), &HttpResponse::new(200, "not json"), NOW);
    assert!(matches!(garbage, Err(CallError::Malformed(_))));
}

proptest! {
    /// Decoding never panics, whatever the status and bytes, for every call.
    #[test]
    fn decoding_any_bytes_never_panics(status in 100u16..600, bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for call in [login(), Call::Poll { session: session("t", Some("r")) }] {
            let _ = flinks().decode(&call, &HttpResponse::new(status, bytes.clone()), NOW);
        }
    }
}
