//! The fuzz targets' seeds, replayed on stable in the ordinary suite: every
//! file in `fuzz/seeds/<target>/` (a sample of what `cargo fuzz run` found
//! interesting, kept small) goes through the same target body libFuzzer
//! runs (`connectflow::testing::fuzz`), so a parser change that panics on
//! input the fuzzer once reached fails here, without nightly.
#![cfg(feature = "testing")]

use connectflow::testing::fuzz;
use std::path::Path;

/// Every committed seed of every target, through that target.
#[test]
fn every_committed_seed_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut replayed = 0;
    for (name, target) in fuzz::targets() {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (seeds are committed)", dir.display()));
        let mut count = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panicked on {}", path.display());
            count += 1;
        }
        assert!(count > 0, "{name} has no seeds");
        replayed += count;
    }
    assert!(replayed >= 300, "only {replayed} seeds");
}

/// Every recorded partner reply in `tests/fixtures/`, as a 200 and as a
/// 400, through both dialects' targets: real shapes, not only fuzzed ones.
#[test]
fn every_fixture_body_passes_the_dialect_targets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut stack = vec![root];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let body = std::fs::read(&path).unwrap();
            for status in [200u16, 400] {
                let mut data = status.to_be_bytes().to_vec();
                data.extend_from_slice(&body);
                fuzz::mono_decode(&data);
                fuzz::flinks_decode(&data);
                fuzz::form_parse(&body);
            }
            seen += 1;
        }
    }
    assert!(seen > 0, "no fixtures found");
}

/// The record target's seeds hold one session parked on an OTP form in
/// each format a build has written (compact, LZ4 JSON, plain JSON): each
/// reads as the same record, so the fuzzer starts from every format's
/// happy path, not only from errors.
#[cfg(feature = "service")]
#[test]
fn the_record_seeds_are_one_record_in_every_format() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/record_decode");
    let read = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        connectflow::service::record_json(&bytes).unwrap()
    };
    let json = read("json_otp_form");
    assert_eq!(read("compact_otp_form"), json);
    assert_eq!(read("lz4_otp_form"), json);
    assert!(String::from_utf8(json)
        .unwrap()
        .contains("\"AwaitingInput\""));
    assert!(
        connectflow::service::record_json(&std::fs::read(dir.join("compact_cut")).unwrap())
            .is_err()
    );
}
