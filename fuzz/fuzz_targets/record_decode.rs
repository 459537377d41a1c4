//! Any bytes read as a stored session record are a session or an error,
//! never a panic; a session read is written again and reads back equal.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body is the crate's, so the test suite replays the seeds through the
// same code (tests/fuzz_seeds.rs).
fuzz_target!(|data: &[u8]| connectflow::testing::fuzz::record_decode(data));
