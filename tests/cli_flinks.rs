//! `connectflow link --partner flinks`, scripted through stdin, against a
//! separate `connectflow sandbox` process (so its cards outlive each run):
//! Greatday's three questions give a LoginId, linking again gives the same
//! one, `records unlink` deletes the card and cached mode then fails.
#![cfg(all(feature = "cli", feature = "testing"))]

use connectflow::testing::{TempDir, FLINKS_API_KEY, FLINKS_CUSTOMER_ID, FLINKS_SECRET};
use process::{connectflow, output, Process};
use std::process::Output;

#[path = "support/process.rs"]
mod process;

/// A `connectflow sandbox` process with the first three lines it printed
/// (its address, then its Mono and Flinks keys); killed on drop.
fn sandbox() -> Process {
    Process::start_reading(&mut connectflow(&["sandbox", "--addr", "127.0.0.1:0"]), 3)
}

fn run(args: &[&str], stdin: &str, records: &str) -> Output {
    output(
        connectflow(args)
            .env("CONNECTFLOW_RECORDS", records)
            .env_remove("FLINKS_AUTH_KEY")
            .env_remove("FLINKS_API_KEY")
            .env_remove("FLINKS_CUSTOMER_ID"),
        stdin,
    )
}

fn last_json(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "no output; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// `link --json` at Flinks Capital on the sandbox at `url`, with its
/// customer id and secret, then `extra`.
fn flinks_link(url: &str, extra: &[&str], stdin: &str, records: &str) -> Output {
    let mut args = vec![
        "link",
        "--json",
        "--partner",
        "flinks",
        "--base-url",
        url,
        "--flinks-customer-id",
        FLINKS_CUSTOMER_ID,
        "--secret-key",
        FLINKS_SECRET,
        "--institution",
        "FlinksCapital",
    ];
    args.extend_from_slice(extra);
    run(&args, stdin, records)
}

const GREATDAY: &str = "Greatday\nEveryday\nMontreal\nCanada\nTriangle\n";

#[test]
fn greatday_links_at_the_terminal_again_with_the_same_login_id_until_delete_card() {
    let sandbox = sandbox();
    assert!(
        sandbox.lines[2].contains(FLINKS_CUSTOMER_ID) && sandbox.lines[2].contains(FLINKS_SECRET),
        "the sandbox prints its Flinks credentials: {:?}",
        sandbox.lines
    );
    let dir = TempDir::new("cli-flinks");
    let records = dir.sqlite("records.db");
    let link = |extra: &[&str], stdin: &str| flinks_link(&sandbox.url, extra, stdin, &records);

    let first = link(&[], GREATDAY);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let result = last_json(&first);
    assert_eq!(result["result"], "linked");
    assert_eq!(result["partner"], "flinks");
    assert_eq!(result["institution"], "FlinksCapital");
    let login_id = result["account_id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&login_id).is_ok(), "{login_id}");
    // The prompts came in order: username, password, the three questions,
    // with no auth-method question.
    let stderr = String::from_utf8_lossy(&first.stderr);
    let asked: Vec<usize> = [
        "Username",
        "Password",
        "What city were you born in?",
        "What is the best country on earth?",
        "What shape do people like most?",
    ]
    .iter()
    .map(|p| {
        stderr
            .find(p)
            .unwrap_or_else(|| panic!("{p} not asked: {stderr}"))
    })
    .collect();
    assert!(asked.windows(2).all(|w| w[0] < w[1]), "{stderr}");
    assert!(!stderr.contains("Log in with"), "{stderr}");

    let again = last_json(&link(&[], GREATDAY));
    assert_eq!(again["account_id"], login_id.as_str());
    assert_eq!(again["returning"], true);

    // Cached mode while the card lives: nothing asked.
    let cached = last_json(&link(&["--reauth", &login_id], ""));
    assert_eq!(cached["result"], "linked", "{cached}");
    assert_eq!(cached["account_id"], login_id.as_str());

    // DeleteCard through the records command, then cached mode fails.
    let unlink = run(
        &[
            "records",
            "unlink",
            again["auth_id"].as_str().unwrap(),
            "--base-url",
            &sandbox.url,
            "--flinks-customer-id",
            FLINKS_CUSTOMER_ID,
            "--secret-key",
            FLINKS_SECRET,
        ],
        "",
        &records,
    );
    assert!(
        unlink.status.success(),
        "{}",
        String::from_utf8_lossy(&unlink.stderr)
    );
    assert!(String::from_utf8_lossy(&unlink.stderr).contains("unlinked at flinks"));
    let gone = link(&["--reauth", &login_id], "");
    assert!(!gone.status.success());
    let failed = last_json(&gone);
    assert_eq!(failed["result"], "failed");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("no longer valid"),
        "{failed}"
    );
}

/// A bank that links in the background (`test_dispatched`: `202`, then
/// the poll of `GetAccountsDetailAsync`) needs the instance's API key on
/// the poll, as Flinks' data endpoints do: with `--flinks-api-key` the link
/// goes through; without it the poll is refused and the flow ends on our
/// credentials, not the person's.
#[test]
fn a_background_link_polls_with_the_api_key_and_fails_without_it() {
    let sandbox = sandbox();
    assert!(
        sandbox.lines[2].contains(FLINKS_API_KEY),
        "the sandbox prints its Flinks API key: {:?}",
        sandbox.lines
    );
    let dir = TempDir::new("cli-flinks-poll");
    let records = dir.sqlite("records.db");
    let link =
        |extra: &[&str]| flinks_link(&sandbox.url, extra, "test_dispatched\nEveryday\n", &records);
    let linked = last_json(&link(&["--flinks-api-key", FLINKS_API_KEY]));
    assert_eq!(linked["result"], "linked", "{linked}");
    let refused = link(&[]);
    assert!(!refused.status.success());
    let failed = last_json(&refused);
    assert_eq!(failed["result"], "failed", "{failed}");
    assert!(
        failed.to_string().to_lowercase().contains("credentials"),
        "{failed}"
    );
}

#[test]
fn flinks_connect_events_with_the_embedded_sandbox() {
    let dir = TempDir::new("cli-flinks-events");
    let out = run(
        &[
            "link",
            "--json",
            "--events",
            "flinks",
            "--partner",
            "flinks",
            "--institution",
            "FlinksCapital",
            "--reference",
            "ref-1",
        ],
        GREATDAY,
        &dir.sqlite("records.db"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<&str> = lines.iter().filter_map(|l| l["step"].as_str()).collect();
    assert_eq!(steps.first(), Some(&"APP_MOUNTED"));
    assert!(steps.contains(&"COMPONENT_LOAD_MFA"), "{steps:?}");
    assert_eq!(steps.last(), Some(&"REDIRECT"));
    let redirect = lines.iter().find(|l| l["step"] == "REDIRECT").unwrap();
    let login_id = lines.last().unwrap()["account_id"].as_str().unwrap();
    assert!(
        redirect["url"].as_str().unwrap().contains(&format!(
            "loginId={login_id}&institution=FlinksCapital&tag=ref-1"
        )),
        "{redirect}"
    );
}
