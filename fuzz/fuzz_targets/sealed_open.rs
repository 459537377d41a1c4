//! Opening a sealed record never panics on any bytes, and nothing but what
//! was sealed under the same key and associated data opens.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body is the crate's, so the test suite replays the seeds through the
// same code (tests/fuzz_seeds.rs).
fuzz_target!(|data: &[u8]| connectflow::testing::fuzz::sealed_open(data));
