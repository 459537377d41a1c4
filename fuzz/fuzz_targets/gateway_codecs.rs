//! Gateway codecs never panic, whatever a gateway (or anyone) posts: every
//! request decodes to a hop or a typed error, and every screen encodes.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body is the crate's, so the test suite replays the seeds through the
// same code (tests/fuzz_seeds.rs).
fuzz_target!(|data: &[u8]| connectflow::testing::fuzz::gateway_codecs(data));
