//! What the person typed this hop, from cumulative or latest-only text
//! (ussd.md §2.2), pre-dialled digits and service codes.

use super::*;

#[test]
fn suffix_diff_table() {
    let rows: [(Option<&str>, &str, Extracted); 7] = [
        (None, "", Extracted::Begin { prefill: vec![] }),
        (Some(""), "1", Extracted::Input("1".into())),
        (Some("1"), "1*2", Extracted::Input("2".into())),
        (Some("1*2"), "1*2*12*34", Extracted::Input("12*34".into())),
        (Some("7*a*b"), "7*a*b*****", Extracted::Input("****".into())),
        (Some("1"), "1*", Extracted::Input(String::new())),
        (Some("1*2"), "1*2", Extracted::Duplicate),
    ];
    for (prev, text, want) in rows {
        assert_eq!(extract(prev, text), want, "prev {prev:?}, text {text:?}");
    }
}

#[test]
fn empty_first_reply_is_a_duplicate() {
    assert_eq!(extract(Some(""), ""), Extracted::Duplicate);
}

#[test]
fn typed_star_after_a_reply() {
    // §2.1: a previous `1` plus a typed `*` arrives as `1**`.
    assert_eq!(extract(Some("1"), "1**"), Extracted::Input("*".into()));
}

#[test]
fn text_that_does_not_extend_prev_is_lost() {
    assert_eq!(
        extract(Some("1*2"), "3*4"),
        Extracted::Lost { input: "4".into() }
    );
    // A prefix match without the separator is not an extension.
    assert_eq!(
        extract(Some("1"), "12"),
        Extracted::Lost { input: "12".into() }
    );
    // Shorter than prev (the gateway restarted the history).
    assert_eq!(
        extract(Some("1*2*3"), "1*2"),
        Extracted::Lost { input: "2".into() }
    );
    assert_eq!(
        extract(Some("1*2"), "1*2x*"),
        Extracted::Lost {
            input: String::new()
        }
    );
}

#[test]
fn begin_carries_pre_dialled_segments() {
    assert_eq!(
        extract(None, "1*2"),
        Extracted::Begin {
            prefill: vec!["1".into(), "2".into()]
        }
    );
    assert_eq!(
        extract(None, "4"),
        Extracted::Begin {
            prefill: vec!["4".into()]
        }
    );
    assert_eq!(
        extract(None, "1**3"),
        Extracted::Begin {
            prefill: vec!["1".into(), String::new(), "3".into()]
        }
    );
    // After a pre-dialled first hop, the next text extends it.
    assert_eq!(extract(Some("1*2"), "1*2*5"), Extracted::Input("5".into()));
}

#[test]
fn dialled_prefill_table() {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let rows: [(&str, &str, Vec<String>); 13] = [
        ("714*4", "*714*4*1*2#", v(&["1", "2"])),
        ("*714*4#", "*714*4*1*2#", v(&["1", "2"])),
        ("*714*4", "714*4*1*2", v(&["1", "2"])),
        ("714*4#", "*714*4*1*2", v(&["1", "2"])),
        (" 714*4 ", " *714*4*3# ", v(&["3"])),
        ("714*4", "*714*4#", v(&[])),
        ("714*4", "*714*4", v(&[])),
        ("714*4", "*714*4*#", v(&[])),
        ("714", "*714*5*3*100*1#", v(&["5", "3", "100", "1"])),
        // A different code that shares the prefix is not pre-dialled input.
        ("714", "*7145#", v(&[])),
        // Mismatch or nothing to go on: no guessing.
        ("714*4", "*384*1#", v(&[])),
        ("", "*714*4*1#", v(&[])),
        ("714*4", "", v(&[])),
    ];
    for (code, dialled, want) in rows {
        assert_eq!(
            dialled_prefill(code, dialled),
            want,
            "dialled_prefill({code:?}, {dialled:?})"
        );
    }
}

/// A first dial from a gateway that sends no service code, read against the
/// codes the deployment was given: the longest matching code wins, a code
/// that merely shares digits never matches, and no code matching is `None`
/// (not an empty prefill: the caller decides what an unknown dial is).
#[test]
fn configured_prefill_table() {
    let v = |s: &[&str]| Some(s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
    let codes = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let both = codes(&["*384#", "*384*123#"]);
    // The same two the other way round: the longest wins, not the last.
    let both_reversed = codes(&["*384*123#", "*384#"]);
    type Row<'a> = (Vec<String>, &'a str, Option<Vec<String>>);
    let rows: [Row; 15] = [
        (both_reversed.clone(), "*384*123*1#", v(&["1"])),
        (both_reversed, "*384*7#", v(&["7"])),
        // Whitespace around the dial, and a dial that lost only its `#`.
        (codes(&["*384*123#"]), " *384*123*1# ", v(&["1"])),
        (codes(&["*384*123#"]), "*384*123*1#\n", v(&["1"])),
        (codes(&["*384*123#"]), "384*123*1#", v(&["1"])),
        (codes(&["*384*123#"]), "*384*123*1#", v(&["1"])),
        (codes(&["384*123"]), "*384*123*2*5", v(&["2", "5"])),
        // A dial that lost its `*` still matches (Airtel's first hop).
        (codes(&["*384*123#"]), "384*123", v(&[])),
        (both.clone(), "*384*123*1#", v(&["1"])),
        (both.clone(), "*384*7#", v(&["7"])),
        (both.clone(), "*384*123#", v(&[])),
        (both, "*3841#", None),
        (codes(&["*384*123#"]), "*500*1#", None),
        (codes(&["", " "]), "*384*123*1#", None),
        (Vec::new(), "*384*123*1#", None),
    ];
    for (codes, dialled, want) in rows {
        assert_eq!(
            configured_prefill(&codes, dialled),
            want,
            "configured_prefill({codes:?}, {dialled:?})"
        );
    }
}

/// What `serve --service-code` takes: digits in `*`-separated segments,
/// the marks optional, made canonical; anything a handset could not dial
/// is refused.
#[test]
fn service_code_parsing() {
    for (text, want) in [
        ("*384*123#", Some("*384*123#")),
        ("384*123", Some("*384*123#")),
        (" *544# ", Some("*544#")),
        ("*920*1234", Some("*920*1234#")),
        ("", None),
        ("*#", None),
        ("*384**1#", None),
        ("*384*123*", None),
        ("*384*abc#", None),
        ("*384 123#", None),
        ("*٣٨٤#", None),
    ] {
        assert_eq!(
            parse_service_code(text).as_deref(),
            want,
            "parse_service_code({text:?})"
        );
    }
}

#[test]
fn service_code_normalisation() {
    for (raw, want) in [
        ("714*4", "*714*4#"),
        ("*714*4#", "*714*4#"),
        ("*384*123", "*384*123#"),
        ("384#", "*384#"),
        (" *544# ", "*544#"),
        ("", ""),
        ("*#", ""),
    ] {
        assert_eq!(normalise_service_code(raw), want, "{raw:?}");
    }
}

/// Answers a person can type: digits, `*`, `#`, letters, possibly empty.
fn answer() -> impl Strategy<Value = String> {
    "[0-9*#a-z]{0,6}"
}

/// An answer sequence the gateway can distinguish (ussd.md §2.2): the first
/// answer is non-empty, because an empty first answer leaves `text` at `""`,
/// exactly as the first hop, and is reported as `Duplicate`. Later answers
/// may be empty or contain `*`.
fn distinguishable_answers() -> impl Strategy<Value = Vec<String>> {
    ("[0-9*#a-z]{1,6}", proptest::collection::vec(answer(), 0..8)).prop_map(|(first, rest)| {
        let mut all = vec![first];
        all.extend(rest);
        all
    })
}

proptest! {
    /// The invariant of `input`: the cumulative AT texts of a distinguishable
    /// answer sequence, fed hop by hop, give back exactly each answer, and a
    /// re-delivered hop is a duplicate.
    #[test]
    fn suffix_diff_recovers_every_answer(answers in distinguishable_answers()) {
        prop_assert_eq!(extract(None, ""), Extracted::Begin { prefill: vec![] });
        let mut prev = String::new();
        for (i, a) in answers.iter().enumerate() {
            let text = if i == 0 { a.clone() } else { format!("{prev}*{a}") };
            prop_assert_eq!(extract(Some(&prev), &text), Extracted::Input(a.clone()));
            prop_assert_eq!(extract(Some(&text), &text), Extracted::Duplicate);
            prev = text;
        }
    }

    /// After a pre-dialled (non-empty) first hop every answer is recovered,
    /// an empty first one included.
    #[test]
    fn suffix_diff_after_pre_dialled_first_hop(
        first in "[0-9]{1,3}(\\*[0-9]{1,3}){0,2}",
        answers in proptest::collection::vec(answer(), 0..8),
    ) {
        let begin = extract(None, &first);
        let prefill: Vec<String> = first.split('*').map(str::to_owned).collect();
        prop_assert_eq!(begin, Extracted::Begin { prefill });
        let mut prev = first;
        for a in &answers {
            let text = format!("{prev}*{a}");
            prop_assert_eq!(extract(Some(&prev), &text), Extracted::Input(a.clone()));
            prev = text;
        }
    }

    /// The one indistinguishable case really is reported as a duplicate.
    #[test]
    fn empty_first_answer_is_duplicate(rest in proptest::collection::vec(answer(), 0..4)) {
        prop_assert_eq!(extract(Some(""), ""), Extracted::Duplicate);
        // And what follows is then read as if it were the first answer.
        if let Some(a) = rest.first() {
            let text = format!("*{a}");
            prop_assert_eq!(extract(Some(""), &text), Extracted::Input(text.clone()));
        }
    }
}
