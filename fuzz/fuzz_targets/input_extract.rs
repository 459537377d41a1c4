//! Input extraction never panics, and its invariant holds for any texts:
//! the same text twice is a duplicate, and text extending the last applied
//! one by `*` yields exactly the rest.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body is the crate's, so the test suite replays the seeds through the
// same code (tests/fuzz_seeds.rs).
fuzz_target!(|data: &[u8]| connectflow::testing::fuzz::input_extract(data));
