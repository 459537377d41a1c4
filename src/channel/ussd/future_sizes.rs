//! The futures a hop boxes stay small: each is allocated and copied
//! whole on every hop that takes its path, so a record or a flow held in
//! one by value (a kilobyte each) was paid for in memory copies on every
//! request (issue 13's profiles). The hop's own future is held to its
//! bound by `tests/ussd/size.rs`; these are the ones it boxes, which only
//! the crate can name.

use super::begin::FirstHop;
use super::gateway::{Payload, RawHop};
use super::session::UssdState;
use super::{UssdConfig, UssdService};
use crate::driver::DriverConfig;
use crate::service::SessionService;
use crate::store::{MemoryStore, Sealed, Sealer};
use crate::testing::mono_driver;
use std::sync::Arc;

fn ussd() -> Arc<UssdService> {
    let store = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let driver = mono_driver("http://127.0.0.1:9", DriverConfig::default());
    let service = SessionService::new(vec![driver], store, Default::default());
    UssdService::new(Arc::new(service), UssdConfig::default())
}

/// A stored session's hop (`advance`, with `menu_input` under it) was
/// 12,600 bytes with the record and flow held by value, a bank choice's
/// (`start`) 5,304 (rustc's `-Zprint-type-sizes`, 71f6c6d); 1,992 and
/// 2,136 since. The bound leaves room for a field or two, not for a
/// record.
#[tokio::test]
async fn the_futures_a_hop_boxes_hold_no_record_by_value() {
    const BOUND: usize = 3 * 1024;
    let ussd = ussd();
    let phone = "+2348031234567".to_owned();
    let state = UssdState::new(phone.clone(), &[], None);
    let (session, _) = ussd
        .service
        .start_boxed("mono", None, None, state)
        .expect("the mono partner is configured");
    let reply_by = tokio::time::Instant::now();
    let advance = ussd.advance("ussd:at:s1", None, session, "1", reply_by);
    let size = std::mem::size_of_val(&advance);
    assert!(
        size <= BOUND,
        "a stored session's hop's future is {size} bytes"
    );
    drop(advance);

    let raw = RawHop {
        session_id: "s1".into(),
        phone: phone.clone(),
        service_code: String::new(),
        network: String::new(),
        payload: Payload::Cumulative("1".into()),
    };
    let first = FirstHop {
        gateway: "at",
        key: "ussd:at:s1",
        raw: &raw,
        text: Some("1".into()),
        sequence: None,
        prefill: vec!["1".into()],
        peer: None,
        phone_key: None,
        previous: None,
        previous_at: None,
        unread: false,
        reply_by,
    };
    let start = ussd.start(first, Vec::new(), None);
    let size = std::mem::size_of_val(&start);
    assert!(size <= BOUND, "a bank choice's future is {size} bytes");
}
