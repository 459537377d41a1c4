//! GSM-7 length accounting and sanitising (ussd.md §5).

use super::*;

const BASIC_SET: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const EXTENSION_SET: &str = "\u{0C}^{}\\[~]|€";

#[test]
fn basic_set_is_127_single_septets() {
    // 128 positions minus ESC.
    assert_eq!(BASIC_SET.chars().count(), 127);
    for c in BASIC_SET.chars() {
        assert_eq!(
            measure(&c.to_string()),
            Measure {
                encoding: Encoding::Gsm7,
                units: 1
            },
            "{c:?}"
        );
    }
    assert_eq!(
        measure(BASIC_SET),
        Measure {
            encoding: Encoding::Gsm7,
            units: 127
        }
    );
}

#[test]
fn extension_characters_cost_two() {
    for c in EXTENSION_SET.chars() {
        assert_eq!(
            measure(&c.to_string()),
            Measure {
                encoding: Encoding::Gsm7,
                units: 2
            },
            "{c:?}"
        );
    }
    assert_eq!(measure("€5").units, 3);
    assert_eq!(measure("Pay €100 [ok]").units, 16);
}

#[test]
fn section5_examples() {
    for c in ["$", "£", "¥", "¤"] {
        assert_eq!(measure(c).encoding, Encoding::Gsm7, "{c}");
    }
    for c in [
        "₦", "`", "‘", "’", "“", "”", "…", "–", "—", "ê", "ọ", "¢", "😀", "\u{1B}", "\t",
    ] {
        assert_eq!(measure(c).encoding, Encoding::Ucs2, "{c:?}");
    }
    // One non-GSM character forces UCS-2 for the whole screen.
    assert_eq!(
        measure("Balance: ₦500"),
        Measure {
            encoding: Encoding::Ucs2,
            units: 13
        }
    );
    // An emoji outside the BMP costs two UTF-16 units.
    assert_eq!(
        measure("Done 😀"),
        Measure {
            encoding: Encoding::Ucs2,
            units: 7
        }
    );
    assert_eq!(
        measure(""),
        Measure {
            encoding: Encoding::Gsm7,
            units: 0
        }
    );
}

#[test]
fn budget_edges() {
    let b = Budget::default();
    assert_eq!(
        b,
        Budget {
            gsm7: 160,
            ucs2: 80
        }
    );
    assert!(b.fits(&"a".repeat(160)));
    assert!(!b.fits(&"a".repeat(161)));
    assert!(b.fits(&"€".repeat(80)));
    assert!(!b.fits(&format!("{}a", "€".repeat(80))));
    assert!(b.fits(&"ê".repeat(80)));
    assert!(!b.fits(&"ê".repeat(81)));
    assert!(b.fits(&"😀".repeat(40)));
    assert!(!b.fits(&"😀".repeat(41)));
    assert_eq!(b.limit_for(Encoding::Gsm7), 160);
    assert_eq!(b.limit_for(Encoding::Ucs2), 80);

    let max = Budget::new(500);
    assert_eq!(
        max,
        Budget {
            gsm7: 182,
            ucs2: 80
        }
    );
    assert!(max.fits(&"a".repeat(182)));
    assert!(!max.fits(&"a".repeat(183)));
    assert_eq!(
        Budget::new(170),
        Budget {
            gsm7: 170,
            ucs2: 80
        }
    );
    assert_eq!(Budget::new(60), Budget { gsm7: 60, ucs2: 60 });
}

#[test]
fn sanitize_examples() {
    let rows = [
        ("Loading…", "Loading..."),
        ("‘Ade’ and “Bola”", "'Ade' and \"Bola\""),
        ("`tick´", "'tick'"),
        ("10–20 — ok", "10-20 - ok"),
        ("₦5,000", "NGN5,000"),
        ("Zenith\u{A0}Bank", "Zenith Bank"),
        ("Crêpe Noël", "Crepe Noel"),
        ("Sá Lâ", "Sa La"),
        ("Íñîgo", "Iñigo"),
        ("Ọlọ́lá Adéọ̀ṣun", "Olola Adéosun"),
        ("Agbó ô", "Agbo o"),
        ("Úrsula û", "Ursula u"),
        ("Français", "Francais"),
        ("Kwabɛna Ɔsei", "Kwabena Osei"),
        ("Ac\u{200B}cess", "Access"),
    ];
    for (input, want) in rows {
        let got = sanitize(input);
        assert_eq!(got, want, "sanitize({input:?})");
        assert_eq!(measure(&got).encoding, Encoding::Gsm7, "{want:?}");
    }
}

#[test]
fn sanitize_keeps_gsm_characters() {
    let kept = "é è à ù ì ò Ç Ä Ö Ñ Ü ä ö ñ ü É Å å Æ æ Ø ø ß € [x] $ £ ¥ ¤";
    assert!(matches!(sanitize(kept), Cow::Borrowed(s) if s == kept));
    assert!(matches!(sanitize(BASIC_SET), Cow::Borrowed(_)));
    // Unmappable characters stay; the screen is then UCS-2 regardless.
    assert_eq!(sanitize("Hi 😀 …"), "Hi 😀 ...");
    assert_eq!(sanitize("₵50"), "₵50");
}

#[test]
fn every_sanitized_character_is_gsm_or_untouched() {
    // Exhaustive over the BMP below the surrogates: a replacement must land
    // in GSM-7, and anything without one must come back as itself.
    for c in (0u32..0xD800).filter_map(char::from_u32) {
        let s = c.to_string();
        let out = sanitize(&s);
        if out != s {
            assert_eq!(measure(&out).encoding, Encoding::Gsm7, "{c:?} -> {out:?}");
            assert_eq!(
                measure(&s).encoding,
                Encoding::Ucs2,
                "{c:?} was GSM already"
            );
        }
    }
}

fn gsm_char() -> impl Strategy<Value = char> {
    let all: Vec<char> = BASIC_SET.chars().chain(EXTENSION_SET.chars()).collect();
    proptest::sample::select(all)
}

fn basic_char() -> impl Strategy<Value = char> {
    proptest::sample::select(BASIC_SET.chars().collect::<Vec<_>>())
}

proptest! {
    /// A string already in GSM-7 comes back unchanged, so never longer.
    #[test]
    fn sanitize_leaves_gsm_text_alone(chars in proptest::collection::vec(gsm_char(), 0..200)) {
        let s: String = chars.into_iter().collect();
        let out = sanitize(&s);
        prop_assert!(matches!(out, Cow::Borrowed(_)));
        prop_assert_eq!(measure(&out), measure(&s));
    }

    /// For any string: sanitising GSM text never lengthens it, sanitising is
    /// idempotent, and only a character with no mapping keeps UCS-2.
    #[test]
    fn sanitize_any_string(s in any::<String>()) {
        let before = measure(&s);
        let out = sanitize(&s);
        let after = measure(&out);
        if before.encoding == Encoding::Gsm7 {
            prop_assert_eq!(after, before);
        }
        let again = sanitize(&out);
        prop_assert_eq!(again.as_ref(), out.as_ref());
        if after.encoding == Encoding::Ucs2 {
            prop_assert!(out.chars().any(|c| measure(&c.to_string()).encoding == Encoding::Ucs2));
        }
    }

    /// Text from the basic set measures as GSM-7, one septet per character.
    #[test]
    fn basic_set_text_counts_chars(chars in proptest::collection::vec(basic_char(), 0..400)) {
        let s: String = chars.into_iter().collect();
        prop_assert_eq!(measure(&s), Measure { encoding: Encoding::Gsm7, units: s.chars().count() });
    }

    /// UCS-2 text counts UTF-16 units; one non-GSM character flips the lot.
    #[test]
    fn one_foreign_char_forces_ucs2(prefix in proptest::collection::vec(basic_char(), 0..100)) {
        let s: String = prefix.into_iter().chain(std::iter::once('₦')).collect();
        prop_assert_eq!(measure(&s), Measure { encoding: Encoding::Ucs2, units: s.encode_utf16().count() });
    }
}
