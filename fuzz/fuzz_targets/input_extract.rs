//! Input extraction never panics, and its invariant holds for any texts:
//! the same text twice is a duplicate, and text extending the last applied
//! one by `*` yields exactly the rest.
#![no_main]
use connectflow::channel::ussd::input::{extract, dialled_prefill, Extracted, TextMarks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parts: Vec<&str> = text.split('\u{1}').collect();
    let mut marks = TextMarks::new();
    let mut prev: Option<&str> = None;
    for part in &parts {
        let _ = extract(prev, part);
        let _ = marks.extract(part);
        marks.push(part);
        assert_eq!(marks.extract(part), Extracted::Duplicate);
        if !part.is_empty() {
            let longer = format!("{part}*tail");
            assert_eq!(marks.extract(&longer), Extracted::Input("tail".into()));
        }
        prev = Some(part);
    }
    if let [code, dialled, ..] = parts.as_slice() {
        let _ = dialled_prefill(code, dialled);
    }
});
