//! Form descriptors and snapshots parse (or refuse) any bytes without
//! panicking, and a parsed form validates any values without panicking.
#![no_main]
use connectflow::flow::Snapshot;
use connectflow::form::{Form, Values};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(form) = serde_json::from_slice::<Form>(data) {
        let text = String::from_utf8_lossy(data);
        let values: Values = form
            .fields
            .iter()
            .map(|f| (f.name.clone(), text.to_string()))
            .collect();
        let _ = form.validate(&values);
        let _ = form.validate(&Values::new());
        let _ = serde_json::to_vec(&form);
    }
    let _ = Snapshot::from_json(data);
});
