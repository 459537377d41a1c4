//! What only sealing promises: nothing readable at rest, every tampering
//! refused, keys parsed strictly and never echoed.

use super::*;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn is_tampered<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(
        result,
        Err(StoreError::Tampered { .. } | StoreError::UnknownKey { .. })
    )
}

/// What sealing promises, over any inner store: nothing readable at rest,
/// and every way of handing the sealer bytes it did not seal for this key is
/// refused, never returned.
async fn sealed_at_rest<S: SessionStore>(inner: S) {
    let sealed = Sealed::new(inner, Sealer::random());
    let version = sealed
        .compare_and_set("s1", None, PIN.to_vec(), TTL)
        .await
        .unwrap();
    assert_eq!(sealed.get("s1").await.unwrap().unwrap().data, PIN);

    let raw = sealed.inner().get("s1").await.unwrap().unwrap();
    assert_eq!(raw.version, version);
    assert!(!contains(&raw.data, b"PIN-4321"), "plaintext at rest");
    assert!(!contains(&raw.data, b"4321"), "plaintext at rest");
    assert_eq!(
        raw.data.len(),
        1 + 4 + 24 + PIN.len() + 16,
        "format | key id | nonce | ct | tag"
    );
    assert_eq!(raw.data[0], 2, "format version byte");

    // A flipped bit anywhere: format byte, key id, nonce, ciphertext, tag.
    for at in [0, 1, 5, 28, 29, raw.data.len() / 2, raw.data.len() - 1] {
        let mut bad = raw.data.clone();
        bad[at] ^= 0x01;
        let key = format!("flip{at}");
        sealed
            .inner()
            .compare_and_set(&key, None, bad, TTL)
            .await
            .unwrap();
        assert!(is_tampered(sealed.get(&key).await), "byte {at} flipped");
    }
    // Truncated, empty, and a bare header.
    for bad in [&raw.data[..raw.data.len() - 1], &[][..], &raw.data[..29]] {
        sealed.inner().delete("short").await.unwrap();
        sealed
            .inner()
            .compare_and_set("short", None, bad.to_vec(), TTL)
            .await
            .unwrap();
        assert!(
            is_tampered(sealed.get("short").await),
            "{} bytes",
            bad.len()
        );
    }
    // Copied verbatim to another session's key: bound to "s1", refused.
    sealed
        .inner()
        .compare_and_set("s2", None, raw.data.clone(), TTL)
        .await
        .unwrap();
    assert!(is_tampered(sealed.get("s2").await));
    // Replay: an old state written back over a newer one (same key, the
    // bytes of version 1 now stored as version 3) does not open, so a stale
    // record can never resurrect a claim or re-send a commit.
    let v2 = sealed
        .compare_and_set("s1", Some(version), b"state two".to_vec(), TTL)
        .await
        .unwrap();
    sealed
        .inner()
        .compare_and_set("s1", Some(v2), raw.data.clone(), TTL)
        .await
        .unwrap();
    assert!(
        is_tampered(sealed.get("s1").await),
        "replayed record opened"
    );
    // Put the original back at a version it does open at, for what follows.
    sealed.inner().delete("s1").await.unwrap();
    let version = sealed
        .compare_and_set("s1", None, PIN.to_vec(), TTL)
        .await
        .unwrap();
    // A plaintext record written around the sealer is refused too.
    sealed
        .inner()
        .compare_and_set("plain", None, PIN.to_vec(), TTL)
        .await
        .unwrap();
    assert!(is_tampered(sealed.get("plain").await));

    // Another deployment's key (or a rotated one) cannot read it.
    let other = Sealed::new(sealed.into_inner(), Sealer::random());
    assert!(is_tampered(other.get("s1").await));
    // ... and versions pass through unchanged, so a writer can still replace it.
    let v2 = other
        .compare_and_set("s1", Some(version), b"new".to_vec(), TTL)
        .await
        .unwrap();
    assert_eq!(v2, version + 1);
    assert_eq!(other.get("s1").await.unwrap().unwrap().data, b"new");
}

#[tokio::test]
async fn sealed_memory_at_rest() {
    sealed_at_rest(MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_redis_at_rest() {
    let Some(server) = RedisServer::start_or_skip() else {
        return;
    };
    sealed_at_rest(RedisStore::connect(server.url()).await.unwrap()).await;
}

#[test]
fn sealer_round_trip_and_binding() {
    let sealer = Sealer::new([7; 32]);
    let a = sealer.seal(b"key-a", PIN);
    assert_eq!(sealer.open(b"key-a", &a).unwrap(), PIN);
    assert_eq!(sealer.open(b"key-b", &a), Err(SealError::Tampered));
    assert!(matches!(
        Sealer::new([8; 32]).open(b"key-a", &a),
        Err(SealError::UnknownKey(_))
    ));
    // A fresh nonce per seal: the same snapshot twice looks unrelated.
    assert_ne!(sealer.seal(b"key-a", PIN), a);
    // Empty plaintext is still authenticated.
    let empty = sealer.seal(b"k", b"");
    assert_eq!(empty.len(), 1 + 4 + 24 + 16);
    assert_eq!(sealer.open(b"k", &empty).unwrap(), b"");
    // Another format version is refused, not guessed at.
    for other in [1, 3] {
        let mut odd = a.clone();
        odd[0] = other;
        assert_eq!(sealer.open(b"key-a", &odd), Err(SealError::Tampered));
    }
}

#[test]
fn sealer_debug_hides_the_key() {
    let shown = format!("{:?}", Sealer::new([0xAB; 32]));
    assert!(
        !shown.to_lowercase().contains("abab") && !shown.contains("171"),
        "{shown}"
    );
    let store = Sealed::new(MemoryStore::new(), Sealer::new([0xAB; 32]));
    let shown = format!("{store:?}");
    // The key as a byte list would read "171, 171"; a lone 171 can be any
    // number the wrapped store prints, so the check is for the run.
    assert!(
        !shown.to_lowercase().contains("abab") && !shown.contains("171, 171"),
        "{shown}"
    );
    assert!(shown.contains("MemoryStore"), "{shown}");
}

// 0x00, 0x01, ... 0x1f written both ways.
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn same_key(a: &Sealer, b: &Sealer) -> bool {
    b.open(b"k", &a.seal(b"k", b"probe")).is_ok()
}

#[test]
fn key_text_parsing() {
    let by_array = Sealer::new(std::array::from_fn(|i| i as u8));
    for text in [
        KEY_HEX.to_owned(),
        KEY_HEX.to_uppercase(),
        KEY_B64.to_owned(),
        KEY_B64.trim_end_matches('=').to_owned(),
        format!("  {KEY_HEX}\n"),
    ] {
        let parsed: Sealer = text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(same_key(&parsed, &by_array), "{text:?}");
    }
    let bad = [
        "",
        "   ",
        &KEY_HEX[..62],
        &format!("{KEY_HEX}00"),
        &format!("{}zz", &KEY_HEX[..62]),
        &KEY_B64.replace('A', "-"),
        &KEY_B64.replace('A', "*"),
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", // non-zero spare bits
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",
        "hunter2",
    ];
    for text in bad {
        match text.parse::<Sealer>() {
            Err(e @ SealError::BadKey(_)) => {
                let message = e.to_string();
                assert!(message.contains("CONNECTFLOW_SEAL_KEY"), "{message}");
                if text.trim().len() >= 4 {
                    assert!(!message.contains(text.trim()), "key echoed: {message}");
                }
            }
            other => panic!("{text:?} accepted or wrong error: {other:?}"),
        }
    }
}

/// The only test that touches `CONNECTFLOW_SEAL_KEY`, so setting it cannot
/// race another test reading it.
#[test]
fn from_env_reads_connectflow_seal_key() {
    const VAR: &str = "CONNECTFLOW_SEAL_KEY";
    let by_array = Sealer::new(std::array::from_fn(|i| i as u8));

    std::env::remove_var(VAR);
    assert!(Sealer::from_env().unwrap().is_none());

    std::env::set_var(VAR, KEY_HEX);
    assert!(same_key(&Sealer::from_env().unwrap().unwrap(), &by_array));

    std::env::set_var(VAR, KEY_B64);
    assert!(same_key(&Sealer::from_env().unwrap().unwrap(), &by_array));

    let secret_ish = "not-a-key-but-secret-ish-s3cr3t";
    std::env::set_var(VAR, secret_ish);
    let err = Sealer::from_env().unwrap_err();
    assert!(matches!(err, SealError::BadKey(_)), "{err:?}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(!format!("{err:?}").contains("s3cr3t"), "{err:?}");

    std::env::remove_var(VAR);
}
