//! The `connectflow` command itself: scripted through stdin, checked on its
//! output lines and exit code; against its embedded sandbox, a separate
//! sandbox process, and a stub partner that records what the command sent.
#![cfg(all(feature = "cli", feature = "testing"))]

use connectflow::testing::{
    catalogues, Answer, StubPartner, TempDir, OTP, PASSWORD, SECURITY_ANSWER,
};
use process::Process;
use std::process::Output;

#[path = "support/process.rs"]
mod process;

/// A `connectflow sandbox` process; killed on drop.
fn sandbox_process() -> Process {
    Process::start(&mut process::connectflow(&[
        "sandbox",
        "--addr",
        "127.0.0.1:0",
    ]))
}

fn connectflow(args: &[&str], stdin: &str) -> Output {
    connectflow_with_key(args, stdin, None)
}

/// Runs the command with `MONO_SEC_KEY` set to `key` (removed when `None`).
fn connectflow_with_key(args: &[&str], stdin: &str, key: Option<&str>) -> Output {
    // Every run records into a file of its own, never the user's.
    let records = TempDir::new("cli");
    let mut command = process::connectflow(&[]);
    command.env("CONNECTFLOW_RECORDS", records.sqlite("records.db"));
    match key {
        Some(key) => command.env("MONO_SEC_KEY", key),
        None => command.env_remove("MONO_SEC_KEY"),
    };
    process::output(command.args(args), stdin)
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// `link --json` at the partner at `url`, as customer `cus_cli`, with the
/// bank and method chosen.
fn link_at<'a>(url: &'a str, institution: &'a str, method: &'a str) -> [&'a str; 10] {
    [
        "link",
        "--json",
        "--base-url",
        url,
        "--customer-id",
        "cus_cli",
        "--institution",
        institution,
        "--auth-method",
        method,
    ]
}

const PRESELECT: [&str; 6] = [
    "link",
    "--json",
    "--institution",
    "sandbox-bank",
    "--auth-method",
    "internet_banking",
];

#[test]
fn link_json_user_chain_from_the_bank_list() {
    let out = connectflow(
        &["link", "--json", "--reference", "r-42"],
        &format!("sandbox-bank\n1\nuser_chain\n{PASSWORD}\n{OTP}\n{SECURITY_ANSWER}\n2\n"),
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let types: Vec<&str> = lines.iter().filter_map(|l| l["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "OPENED",
            "INSTITUTION_SELECTED",
            "SUBMIT_CREDENTIALS",
            "SUBMIT_MFA",
            "SUBMIT_MFA",
            "ACCOUNT_SELECTED",
            "ACCOUNT_LINKED",
            "SUCCESS"
        ]
    );
    assert!(lines
        .iter()
        .filter(|l| l.get("type").is_some())
        .all(|l| l["reference"] == "r-42" && l["timestamp"].is_u64()));
    let last = lines.last().unwrap();
    assert_eq!(last["result"], "linked");
    assert!(last["code"].as_str().unwrap().starts_with("code_"));
    assert_eq!(last["account_id"].as_str().unwrap().len(), 24);
    // Nothing typed secretly reaches stdout or stderr.
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains(PASSWORD) && !all.contains(OTP) && !all.contains(SECURITY_ANSWER),
        "{all}"
    );
}

#[test]
fn link_json_wrong_password_then_right() {
    let out = connectflow(&PRESELECT, "user_good\nnope\n\npass_good\n");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert!(lines
        .iter()
        .any(|l| l["type"] == "ERROR" && l["errorType"] == "LOGIN_REJECTED"));
    assert_eq!(lines.last().unwrap()["result"], "linked");
    // The username was offered again: the empty answer took the prefill.
    assert!(String::from_utf8_lossy(&out.stderr).contains("Username [user_good]"));
}

#[test]
fn link_json_locked_user_fails_with_non_zero_exit() {
    let out = connectflow(&PRESELECT, "user_locked\npass_good\n");
    assert!(!out.status.success());
    let last = json_lines(&out).pop().unwrap();
    assert_eq!(last["result"], "failed");
    assert_eq!(last["retryable"], false);
    assert!(last["reason"].as_str().unwrap().contains("locked"));
}

/// A script that runs out is not the person leaving: `input_exhausted`,
/// its own exit status, the page, and the reference.
#[test]
fn end_of_input_mid_flow_is_input_exhausted_with_the_page() {
    let out = connectflow(&PRESELECT, "user_otp\npass_good\n");
    assert_eq!(out.status.code(), Some(4));
    let last = json_lines(&out).pop().unwrap();
    assert_eq!(last["result"], "input_exhausted");
    assert_eq!(last["page"], "MFA");
    assert!(last["reference"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(last["last_error"].is_null(), "{last}");
}

/// `user_down`'s 503 is on the final line, not only in an earlier event.
#[test]
fn the_last_error_is_on_the_final_line() {
    let out = connectflow(&PRESELECT, "user_down\npass_good\n");
    assert_eq!(out.status.code(), Some(4));
    let last = json_lines(&out).pop().unwrap();
    assert_eq!(last["result"], "input_exhausted", "{last}");
    assert_eq!(last["last_error"]["type"], "PARTNER_UNAVAILABLE", "{last}");
}

/// Three wrong passwords stop the flow as `locked`, not retryable.
#[test]
fn too_many_wrong_passwords_is_locked_not_retryable() {
    let wrong = "user_good\nnope\n".repeat(3);
    let out = connectflow(&PRESELECT, &wrong);
    assert_eq!(out.status.code(), Some(1));
    let last = json_lines(&out).pop().unwrap();
    assert_eq!(last["result"], "failed", "{last}");
    assert_eq!(last["locked"], true);
    assert_eq!(last["retryable"], false);
    assert!(
        last["reason"].as_str().unwrap().contains("locked"),
        "{last}"
    );
}

/// Every event and the final line carry the reference, given or made.
#[test]
fn the_reference_is_on_every_line() {
    let mut args = PRESELECT.to_vec();
    args.extend(["--reference", "ref-cli-7"]);
    let out = connectflow(&args, "user_good\npass_good\n");
    assert!(out.status.success());
    for line in json_lines(&out) {
        assert_eq!(line["reference"], "ref-cli-7", "{line}");
    }
}

/// An institution or method the partner does not offer is a usage error
/// (status 2) naming what is offered; the script is not eaten as choices.
#[test]
fn an_unknown_institution_or_method_is_a_usage_error() {
    for (institution, method) in [
        ("no-such-bank", "internet_banking"),
        ("sandbox-bank", "pin"),
    ] {
        let out = connectflow(
            &[
                "link",
                "--json",
                "--institution",
                institution,
                "--auth-method",
                method,
            ],
            "user_good\npass_good\n",
        );
        assert_eq!(out.status.code(), Some(2), "{institution} {method}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("not offered") && err.contains("sandbox-bank (internet_banking"),
            "{err}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("linked"));
    }
}

/// A real partner is never sent the sandbox's demo customer.
#[test]
fn base_url_needs_a_customer() {
    let out = connectflow_with_key(
        &["link", "--base-url", "http://127.0.0.1:9"],
        "",
        Some("test_sk_x"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--customer-id"));
}

/// `:help` is never taken as an answer, and commands work at the
/// "Log in with" prompt too.
#[test]
fn help_and_commands_work_at_every_prompt() {
    let out = connectflow(
        &[
            "link",
            "--json",
            "--institution",
            "sandbox-bank",
            "--auth-method",
            "internet_banking",
        ],
        ":help\nuser_good\npass_good\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = connectflow(&["link", "--json"], "1\n:exit\n");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json_lines(&out).pop().unwrap()["result"], "exited");
}

#[test]
fn graph_prints_mermaid() {
    let out = connectflow(&["graph"], "");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("stateDiagram-v2"));
    assert!(text.contains("Exchanging --> Done: exchanged"));
}

#[test]
fn base_url_needs_a_key() {
    let out = connectflow(&["link", "--base-url", "http://127.0.0.1:9"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MONO_SEC_KEY"));
}

/// `connectflow sandbox` in one process, `connectflow link --base-url` in
/// another, as a user would try against the real API.
#[test]
fn link_against_a_separate_sandbox_process() {
    let server = sandbox_process();
    let url = server.url.clone();
    assert!(url.starts_with("http://127.0.0.1:"));
    let args = link_at(&url, "sandbox-bank", "ussd");
    let out = connectflow_with_key(&args, "1000000002\n2222\n1\n", Some("test_sk_from_env"));
    drop(server);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_lines(&out).pop().unwrap()["result"], "linked");
}

/// `link --base-url` against a partner that records what it is sent: the key
/// from `MONO_SEC_KEY` reaches the partner on every call and is printed
/// nowhere, and the typed password reaches the login and nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn link_sends_the_key_from_the_environment_and_never_prints_it() {
    const KEY: &str = "test_sk_cli_3f9a1c7e";
    let partner = StubPartner::start_with(catalogues::demo()).await.unwrap();
    let url = partner.url();
    let out = tokio::task::spawn_blocking(move || {
        let args = link_at(&url, catalogues::DEMO_BANK, "internet_banking");
        connectflow_with_key(&args, "ada\npw-7731\n", Some(KEY))
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = json_lines(&out).pop().unwrap();
    assert_eq!(last["result"], "linked");
    assert_eq!(last["account_id"], StubPartner::ACCOUNT_ID);

    let requests = partner.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            StubPartner::INSTITUTIONS,
            StubPartner::SESSION,
            StubPartner::LOGIN,
            StubPartner::EXCHANGE
        ]
    );
    for request in &requests {
        assert_eq!(
            request.header("mono-sec-key"),
            Some(KEY),
            "{}",
            request.path
        );
    }
    let login = requests[2].json().unwrap();
    assert_eq!(
        (login["username"].as_str(), login["password"].as_str()),
        (Some("ada"), Some("pw-7731"))
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !printed.contains(KEY) && !printed.contains("pw-7731"),
        "{printed}"
    );
}

/// A partner whose institution list fails once: the command asks again
/// after its backoff and the link goes through, the person none the wiser.
#[tokio::test(flavor = "multi_thread")]
async fn a_list_that_fails_once_is_retried_and_the_link_goes_through() {
    let partner = StubPartner::start_with(catalogues::demo()).await.unwrap();
    partner.answer_once(StubPartner::INSTITUTIONS, Answer::status(503, "down"));
    let url = partner.url();
    let out = tokio::task::spawn_blocking(move || {
        let args = link_at(&url, catalogues::DEMO_BANK, "internet_banking");
        connectflow_with_key(&args, "ada\npw\n", Some("test_sk_cli"))
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_lines(&out).pop().unwrap()["result"], "linked");
    assert_eq!(partner.count(StubPartner::INSTITUTIONS), 2);
    assert!(!json_lines(&out).iter().any(|l| l["type"] == "ERROR"));
}

/// `link --reauth` at the terminal against a separate sandbox process:
/// `user_reauth` links, then re-authorising its account asks for the login
/// and an OTP and ends with the same account id; an account the key never
/// linked is refused.
#[test]
fn reauth_at_the_terminal_asks_login_and_otp_and_keeps_the_account() {
    let server = sandbox_process();
    let url = server.url.clone();
    let base = [
        "link",
        "--json",
        "--base-url",
        &url,
        "--customer-id",
        "cus_reauth",
        "--institution",
        "sandbox-bank",
        "--auth-method",
        "internet_banking",
    ];
    let key = Some("test_sk_reauth_cli");
    let linked = connectflow_with_key(&base, "user_reauth\npass_good\n", key);
    let linked = json_lines(&linked).pop().unwrap();
    assert_eq!(linked["result"], "linked", "{linked}");
    let account = linked["account_id"].as_str().unwrap().to_owned();

    let mut again = base.to_vec();
    again.extend(["--reauth", &account]);
    let out = connectflow_with_key(&again, "user_reauth\npass_good\n123456\n", key);
    let lines = json_lines(&out);
    let last = lines.last().unwrap();
    assert_eq!(last["result"], "linked", "{last}");
    assert_eq!(last["account_id"], account.as_str(), "the same account");
    let screens = String::from_utf8_lossy(&out.stderr);
    assert!(!screens.contains("Choose your bank"), "{screens}");

    let mut stranger = base.to_vec();
    stranger.extend(["--reauth", "no_such_account"]);
    let out = connectflow_with_key(&stranger, "", key);
    assert_eq!(out.status.code(), Some(1));
    let last = json_lines(&out).pop().unwrap();
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .contains("Account not found"),
        "{last}"
    );
    drop(server);
}

/// `:back` goes back one step: at the password, to the username (the
/// answers before it kept); at an MFA question, it asks before leaving.
#[test]
fn back_goes_back_one_step_and_asks_before_leaving_mfa() {
    // Username, :back at the password, a new username, password: linked as
    // the second username typed.
    let out = connectflow(&PRESELECT, "user_bad\n:back\nuser_good\npass_good\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // At the OTP, :back asks; "n" stays, and the OTP then links.
    let out = connectflow(&PRESELECT, "user_otp\npass_good\n:back\nn\n123456\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let screens = String::from_utf8_lossy(&out.stderr);
    assert!(screens.contains("Leave this verification"), "{screens}");
    // "y" leaves for the bank list (then the script ends there).
    let out = connectflow(&PRESELECT, "user_otp\npass_good\n:back\ny\n");
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(json_lines(&out).pop().unwrap()["page"], "InstitutionList");
}
