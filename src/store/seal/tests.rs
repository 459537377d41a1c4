//! The seal's own guarantees, without a store.

use super::key::parse_key;
use super::*;

/// Nonces come from a counter after a random prefix: a thousand seals of
/// the same record must all differ, carry distinct nonces, and all open.
#[test]
fn counter_nonces_never_repeat_and_every_record_opens() {
    let sealer = Sealer::random();
    let clone = sealer.clone();
    let mut nonces = std::collections::HashSet::new();
    for i in 0..1000 {
        let s = if i % 2 == 0 { &sealer } else { &clone };
        let sealed = s.seal(b"key", b"PIN-4321");
        assert!(
            nonces.insert(sealed[5..29].to_vec()),
            "nonce repeated at {i}"
        );
        assert_eq!(s.open(b"key", &sealed).unwrap(), b"PIN-4321");
    }
    // Another sealer with the same key draws another prefix.
    let key = [7u8; 32];
    let (a, b) = (Sealer::new(key), Sealer::new(key));
    assert_ne!(a.seal(b"k", b"x")[5..21], b.seal(b"k", b"x")[5..21]);
}

#[test]
fn base64_matches_hex() {
    // 0x00..0x1f, in both spellings.
    let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let want: [u8; 32] = std::array::from_fn(|i| i as u8);
    assert_eq!(parse_key(hex).unwrap(), want);
    assert_eq!(parse_key(&hex.to_uppercase()).unwrap(), want);
    assert_eq!(parse_key(b64).unwrap(), want);
    assert_eq!(parse_key(&b64[..43]).unwrap(), want);
    // Non-zero leftover bits: a second spelling of a key, refused.
    assert!(parse_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=").is_err());
    assert!(parse_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-=").is_err());
}

/// A record opens only with the associated data it was sealed with: the
/// same bytes under another key or another version do not.
#[test]
fn associated_data_binds_key_and_version() {
    let s = Sealer::random();
    let sealed = s.seal(b"k1|v1", b"state");
    assert_eq!(s.open(b"k1|v1", &sealed).unwrap(), b"state");
    assert_eq!(s.open(b"k1|v2", &sealed), Err(SealError::Tampered));
    assert_eq!(s.open(b"k2|v1", &sealed), Err(SealError::Tampered));
    let mut flipped = sealed.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert_eq!(s.open(b"k1|v1", &flipped), Err(SealError::Tampered));
}

/// Keys rotate without downtime: a ring seals with its newest key and
/// still opens what the older one sealed; a sealer without the key says
/// which key is missing instead of calling the record tampered.
#[test]
fn a_key_ring_rotates_and_names_missing_keys() {
    let (old, new) = ([1u8; 32], [2u8; 32]);
    let before = Sealer::new(old);
    let record = before.seal(b"aad", b"kept");
    let ring = Sealer::ring(vec![new, old]).unwrap();
    assert_eq!(ring.open(b"aad", &record).unwrap(), b"kept");
    assert_ne!(ring.key_id(), before.key_id());
    let fresh = ring.seal(b"aad", b"new");
    assert_eq!(
        before.open(b"aad", &fresh),
        Err(SealError::UnknownKey(ring.key_id()))
    );
    // Parsed from the environment's format, newest first.
    let text = format!("{},{}", "02".repeat(32), "01".repeat(32));
    let parsed: Sealer = text.parse().unwrap();
    assert_eq!(parsed.key_id(), ring.key_id());
    assert_eq!(parsed.open(b"aad", &record).unwrap(), b"kept");
    assert!(Sealer::ring(Vec::new()).is_err());
    assert!(" , ".parse::<Sealer>().is_err());
    assert!(!format!("{parsed:?}").contains("0202"));
}

/// Personal data in key names is blinded: stable per key ring, not the
/// number, different under another ring.
#[test]
fn blinding_hides_the_value_and_is_stable_per_ring() {
    let a = Sealer::new([1; 32]);
    let b = Sealer::new([1; 32]);
    let c = Sealer::new([2; 32]);
    let phone = "+254711000001";
    let blinded = a.blind(phone);
    assert_eq!(blinded, b.blind(phone));
    assert_ne!(blinded, c.blind(phone));
    assert_ne!(blinded, a.blind("+254711000002"));
    assert!(!blinded.contains("254711"), "{blinded}");
    assert_eq!(blinded.len(), 33);
}

/// A ring blinds with its first key and finds names blinded with the
/// others: after `new,old`, a name `old` blinded is among `blind_others`
/// (in ring order), and a ring of one has no others.
#[test]
fn a_ring_blinds_with_its_first_key_and_knows_the_others() {
    let (old, new, third) = ([1; 32], [2; 32], [3; 32]);
    let phone = "+254711000001";
    let ring = Sealer::ring(vec![new, old, third]).unwrap();
    assert_eq!(ring.blind(phone), Sealer::new(new).blind(phone));
    assert_eq!(
        ring.blind_others(phone),
        [
            Sealer::new(old).blind(phone),
            Sealer::new(third).blind(phone)
        ]
    );
    assert!(Sealer::new(old).blind_others(phone).is_empty());
}

/// A blinded part is the name a phone's resume index is stored under, on
/// every instance and across versions: it must stay `h` and the 128-bit
/// SipHash in 32 lower-case hex digits, whatever writes it out.
#[test]
fn a_blinded_part_keeps_its_stored_form() {
    use siphasher::sip128::{Hasher128, SipHasher24};
    let sealer = Sealer::new([1; 32]);
    for part in [
        "",
        "+254711000001",
        "0",
        "a much longer part than any phone number",
    ] {
        let mut k0 = [0u8; 16];
        k0.copy_from_slice(&sealer.blind_keys[0][..16]);
        let mut hasher = SipHasher24::new_with_key(&k0);
        std::hash::Hasher::write(&mut hasher, part.as_bytes());
        let want = format!("h{:032x}", hasher.finish128().as_u128());
        assert_eq!(sealer.blind(part), want, "{part:?}");
    }
}

mod equivalence {
    //! The seal's cipher (xchacha.rs: HChaCha20, then ring's
    //! ChaCha20-Poly1305) against RustCrypto's `XChaCha20Poly1305`, which
    //! sealed every record before it.

    use super::super::xchacha::XKey;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::XChaCha20Poly1305;
    use proptest::prelude::*;

    proptest! {
        /// For any key, nonce (this process's prefix or another's),
        /// associated data and message: the bytes sealed are exactly
        /// RustCrypto's XChaCha20-Poly1305, each opens what the other
        /// sealed, and one flipped bit makes either refuse.
        #[test]
        fn seals_exactly_as_rustcrypto_and_opens_its_records(
            key in any::<[u8; 32]>(),
            prefix in any::<[u8; 16]>(),
            nonce in any::<[u8; 24]>(),
            own_prefix in any::<bool>(),
            aad in proptest::collection::vec(any::<u8>(), 0..64),
            msg in proptest::collection::vec(any::<u8>(), 0..700),
            flip in any::<prop::sample::Index>(),
        ) {
            let mut nonce = nonce;
            if own_prefix {
                nonce[..16].copy_from_slice(&prefix);
            }
            let ours = XKey::new(&key, prefix).unwrap();
            let theirs = XChaCha20Poly1305::new(&key.into());
            let sealed_by_them = theirs
                .encrypt((&nonce).into(), Payload { msg: &msg, aad: &aad })
                .unwrap();
            let mut sealed_by_us = msg.clone();
            let tag = ours.seal_in_place(&nonce, &aad, &mut sealed_by_us).unwrap();
            sealed_by_us.extend_from_slice(&tag);
            prop_assert_eq!(&sealed_by_us, &sealed_by_them);
            prop_assert_eq!(ours.open(&nonce, &aad, &sealed_by_them).unwrap(), msg.clone());
            let opened = theirs
                .decrypt((&nonce).into(), Payload { msg: &sealed_by_us, aad: &aad })
                .unwrap();
            prop_assert_eq!(opened, msg);
            let mut altered = sealed_by_us;
            let at = flip.index(altered.len());
            altered[at] ^= 1;
            prop_assert!(ours.open(&nonce, &aad, &altered).is_err());
            let refused = theirs
                .decrypt((&nonce).into(), Payload { msg: &altered, aad: &aad })
                .is_err();
            prop_assert!(refused);
        }
    }
}
