//! The Mono dialect reads any status and bytes, for every call, without
//! panicking; so do the catalogue reader, the step reader and the partner
//! admin decoders.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body is the crate's, so the test suite replays the seeds through the
// same code (tests/fuzz_seeds.rs).
fuzz_target!(|data: &[u8]| connectflow::testing::fuzz::mono_decode(data));
