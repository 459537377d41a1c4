//! Form descriptors and snapshots parse (or refuse) any bytes without
//! panicking, and a parsed form validates any values without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body is the crate's, so the test suite replays the seeds through the
// same code (tests/fuzz_seeds.rs).
fuzz_target!(|data: &[u8]| connectflow::testing::fuzz::form_parse(data));
