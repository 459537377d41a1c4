//! `connectflow check` and `graph --format`: the real binary on catalogues
//! with seeded defects and on clean ones, its exit codes, JSON and pictures.
#![cfg(all(feature = "cli", feature = "testing"))]

use connectflow::dialect::mono::wire;
use connectflow::flow::{AuthMethod, AuthMethodKind, Institution};
use connectflow::form::{Field, Form};
use connectflow::testing::TempDir;
use std::path::Path;
use std::process::{Command, Output};

fn connectflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connectflow"))
        .args(args)
        .output()
        .unwrap()
}

fn login() -> Form {
    Form::new(
        "Log in",
        vec![
            Field::input("username", "Username"),
            Field::password("password", "Password"),
        ],
    )
}

fn bank(id: &str, form: Option<Form>) -> Institution {
    Institution::new(
        id,
        id,
        vec![AuthMethod::new(AuthMethodKind::InternetBanking, form)],
    )
}

/// Writes a Mono `GET /v3/institutions` response listing `list`.
fn catalogue_file(dir: &TempDir, name: &str, list: &[Institution]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, wire::institutions(list).to_bytes()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Twenty institutions a person can link through.
fn clean(n: usize) -> Vec<Institution> {
    (0..n)
        .map(|i| bank(&format!("bank-{i}"), Some(login())))
        .collect()
}

/// Each seeded defect is found, named with its institution, and fails the
/// check (exit 1); the JSON report says the same for CI.
#[test]
fn check_finds_every_seeded_defect() {
    let dir = TempDir::new("check");
    let mut too_long = Field::input("pin", "PIN").max_length(4);
    too_long.length = Some(6);
    let list = vec![
        bank("good-bank", Some(login())),
        bank("dup-bank", Some(login())),
        bank("dup-bank", Some(login())),
        bank("formless-bank", None),
        bank(
            "choice-bank",
            Some(Form::new(
                "Log in",
                vec![Field::choice::<&str, &str>("branch", "Branch", [])],
            )),
        ),
        bank("pin-bank", Some(Form::new("Log in", vec![too_long]))),
    ];
    let file = catalogue_file(&dir, "defects.json", &list);
    let out = connectflow(&["check", "--institutions", &file]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for defect in [
        "dup-bank: duplicate institution id",
        "formless-bank internet_banking: no login form",
        "choice-bank internet_banking: choice \"branch\" has no options",
        "pin-bank internet_banking: field \"pin\": length 6 exceeds maxLength 4",
    ] {
        assert!(text.contains(defect), "missing {defect:?} in:\n{text}");
    }
    // The good bank links; the broken ones are named in the coverage.
    assert!(text.contains("✗ formless-bank internet_banking"), "{text}");
    assert!(!text.contains("✗ good-bank"), "{text}");

    let out = connectflow(&["check", "--json", "--institutions", &file]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["defects"].as_array().unwrap().len(), 4, "{report}");
    let good = report["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["institution"] == "good-bank")
        .unwrap();
    assert_eq!(good["linked"], true);
}

#[test]
fn check_on_a_clean_catalogue_exits_0_with_every_state_and_its_path() {
    let dir = TempDir::new("check-clean");
    let file = catalogue_file(&dir, "clean.json", &clean(20));
    let out = connectflow(&["check", "--json", "--institutions", &file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["institutions"], 20);
    assert_eq!(
        report["methods"]["internet_banking"],
        serde_json::json!([20, 20])
    );
    let done: Vec<&str> = report["states"]["Done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(done.last(), Some(&"exchanged"));
    // Flinks' vocabulary reaches Pending, which Mono's never does.
    let out = connectflow(&["check", "--json", "--partner", "flinks"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["states"].get("Pending").is_some(), "{report}");
}

#[test]
fn check_usage_errors_exit_2() {
    let dir = TempDir::new("check-usage");
    let missing = dir.path().join("missing.json");
    let out = connectflow(&["check", "--institutions", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "not json").unwrap();
    let out = connectflow(&["check", "--institutions", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let out = connectflow(&["check", "--format", "png"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The states the explorer reaches on the demo catalogue.
const STATES: [&str; 13] = [
    "LoadingInstitutions",
    "ChoosingInstitution",
    "CreatingSession",
    "AwaitingCredentials",
    "LoggingIn",
    "AwaitingInput",
    "Committing",
    "AwaitingAccount",
    "Linked",
    "Exchanging",
    "Done",
    "Failed",
    "Exited",
];

/// Every `<text>` element's content, from an SVG that must be well-formed
/// XML (checked by a small stack parser: every tag closed in order).
fn svg_texts(svg: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut texts = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        let content = &rest[..open];
        if stack.iter().any(|t| t == "text") && !content.trim().is_empty() {
            texts.push(content.trim().to_owned());
        }
        let close = rest[open..].find('>').expect("an unclosed tag") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or_default();
            stack.push(name.to_owned());
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    texts
}

#[test]
fn svg_is_xml_and_names_every_state() {
    let out = connectflow(&["check", "--format", "svg"]);
    assert_eq!(out.status.code(), Some(0));
    let svg = String::from_utf8(out.stdout).unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    let texts = svg_texts(&svg);
    for state in STATES {
        assert!(
            texts.iter().any(|t| t == state),
            "{state} not drawn: {texts:?}"
        );
    }
    // graph draws the same states (layout-rs orders them differently from
    // run to run, so the bytes may differ).
    let out = connectflow(&["graph", "--format", "svg"]);
    assert!(out.status.success());
    let texts = svg_texts(&String::from_utf8(out.stdout).unwrap());
    for state in STATES {
        assert!(texts.iter().any(|t| t == state), "graph: {state} not drawn");
    }
}

#[test]
fn dot_and_mermaid_formats() {
    let out = connectflow(&["check", "--format", "dot"]);
    let dot = String::from_utf8_lossy(&out.stdout);
    assert!(dot.starts_with("digraph connectflow {"), "{dot}");
    assert!(
        dot.contains("Exchanging -> Done [label=\"exchanged\"]"),
        "{dot}"
    );
    let out = connectflow(&["check", "--format", "mermaid"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exchanging --> Done: exchanged"));
}

#[test]
fn html_report_is_one_self_contained_page() {
    let dir = TempDir::new("check-html");
    let report = dir.path().join("report.html");
    let out = connectflow(&["check", "--format", "html", "-o", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let html = std::fs::read_to_string(Path::new(&report)).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("no problems") && html.contains("<svg"));
    // Nothing to fetch: it opens the same as an e-mail attachment (the
    // drawing's only links are to its own paths, `href="#arrow3"`).
    assert!(!html.contains("<script") && !html.contains("src="));
    assert!(html.split("url(").skip(1).all(|rest| rest.starts_with('#')));
    assert!(html
        .split("href=\"")
        .skip(1)
        .all(|rest| rest.starts_with('#')));
}

/// `--cases` runs the flow's invariants over the catalogue and reports the
/// run in the JSON; a clean flow still exits 0.
#[test]
fn check_cases_runs_the_invariants_over_the_catalogue() {
    let dir = TempDir::new("check-cases");
    let file = catalogue_file(&dir, "clean.json", &clean(20));
    let out = connectflow(&[
        "check",
        "--json",
        "--institutions",
        &file,
        "--cases",
        "500",
        "--seed",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["cases"]["cases"], 500, "{report}");
    assert!(report["cases"]["failure"].is_null(), "{report}");
    assert!(
        report["cases"]["steps"].as_u64().unwrap() > 2_000,
        "{report}"
    );
}

/// A Mono catalogue of `good` clean banks plus one whose password field
/// has no `name` and one entry without an id, as a file.
fn catalogue_with_a_broken_field(dir: &TempDir, good: usize) -> String {
    let mut list = clean(good);
    list.push(bank("odd-bank", Some(login())));
    let mut body: serde_json::Value =
        serde_json::from_slice(&wire::institutions(&list).to_bytes()).unwrap();
    let data = body["data"].as_array_mut().unwrap();
    let odd = data.last_mut().unwrap();
    odd["name"] = "Odd Bank".into();
    let field = &mut odd["auth_methods"][0]["ui"]["form"][1];
    field.as_object_mut().unwrap().remove("name");
    field["hint"] = "Password".into();
    data.push(serde_json::json!({"name": "Nameless Bank", "auth_methods": []}));
    let path = dir.path().join("broken-field.json");
    std::fs::write(&path, serde_json::to_vec(&body).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// One form field without a `name` is reported once, naming the
/// institution (id and name) and the field (number and label); it does not
/// turn into "no login form", and nothing cascades: every state stays
/// reachable, the other banks link. The same through `graph`.
#[test]
fn an_unreadable_field_is_reported_per_institution_and_field_without_a_cascade() {
    let dir = TempDir::new("check-field");
    let file = catalogue_with_a_broken_field(&dir, 18);
    let out = connectflow(&["check", "--json", "--institutions", &file]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let defects: Vec<&str> = report["defects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(defects.len(), 2, "{defects:#?}");
    assert!(
        defects[0].starts_with("odd-bank (Odd Bank) internet_banking: field 2 (\"Password\")")
            && defects[0].contains("missing field `name`"),
        "{defects:#?}"
    );
    assert!(
        defects[1].contains("entry 20 (Nameless Bank): no `_id`"),
        "{defects:#?}"
    );
    assert_eq!(report["unreachable"], serde_json::json!([]), "{report}");
    assert_eq!(report["dead_ends"], serde_json::json!([]), "{report}");
    assert_eq!(report["institutions"], 18);
    let coverage = report["coverage"].as_array().unwrap();
    assert!(coverage.iter().all(|c| c["linked"] == true), "{report}");
    assert!(report["states"].get("Done").is_some());

    let out = connectflow(&["graph", "--institutions", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("odd-bank (Odd Bank) internet_banking: field 2"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("unreachable") && !stderr.contains("no login form"),
        "{stderr}"
    );
}

/// A catalogue file that cannot be read at all is a usage error naming it.
#[test]
fn file_errors_name_the_file() {
    let dir = TempDir::new("check-files");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "not json").unwrap();
    for command in ["check", "graph"] {
        let out = connectflow(&[command, "--institutions", garbage.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("garbage.json: not JSON"),
            "{command}: {stderr}"
        );
        assert_ne!(out.status.code(), Some(0));
    }
}

/// `check --partner flinks` reads the institutions a Flinks host offers
/// (`[{"Institution", "InstitutionName"}]`): a clean list exits 0 with
/// every bank linking; a duplicate and an entry naming no institution are
/// each found (exit 1), and the rest is still checked.
#[test]
fn check_reads_a_flinks_catalogue() {
    let dir = TempDir::new("check-flinks");
    let clean = dir.path().join("flinks.json");
    std::fs::write(
        &clean,
        r#"[{"Institution": "FlinksCapital", "InstitutionName": "Flinks Capital"},
            {"Institution": "RBC", "InstitutionName": "RBC Royal Bank"}]"#,
    )
    .unwrap();
    let out = connectflow(&[
        "check",
        "--json",
        "--partner",
        "flinks",
        "--institutions",
        clean.to_str().unwrap(),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["institutions"], 2);
    assert_eq!(report["partner"], "flinks");
    assert!(report["states"].get("Pending").is_some(), "{report}");

    let seeded = dir.path().join("flinks-defects.json");
    std::fs::write(
        &seeded,
        r#"{"Institutions": [{"Institution": "FlinksCapital"}, {"Institution": "RBC"},
            {"Institution": "RBC"}, {"InstitutionName": "Nobody"}]}"#,
    )
    .unwrap();
    let out = connectflow(&[
        "check",
        "--partner",
        "flinks",
        "--institutions",
        seeded.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("RBC: duplicate institution id"), "{text}");
    assert!(text.contains("entry 4: names no institution"), "{text}");
    assert!(!text.contains("✗ FlinksCapital"), "{text}");
}
