//! Opening a sealed record never panics on any bytes, and nothing but what
//! was sealed under the same key and associated data opens.
#![no_main]
use connectflow::store::Sealer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sealer = Sealer::new([7; 32]);
    let _ = sealer.open(b"aad", data);
    let sealed = sealer.seal(b"aad", data);
    assert_eq!(sealer.open(b"aad", &sealed).ok().as_deref(), Some(data));
    assert!(sealer.open(b"other", &sealed).is_err());
    let _ = data.parse_ring();
});

trait ParseRing {
    fn parse_ring(&self) -> Option<Sealer>;
}

impl ParseRing for [u8] {
    fn parse_ring(&self) -> Option<Sealer> {
        std::str::from_utf8(self).ok()?.parse().ok()
    }
}
