//! `connectflow link` and `connectflow records` on one records file: the
//! returning flag on the result line, the customer's bank first, and the
//! operator's list, get, export and unlink (at a real sandbox process).
#![cfg(all(feature = "cli", feature = "testing"))]

use connectflow::testing::{TempDir, SECRET_KEY};
use process::{connectflow, output, Process};
use std::process::Output;

#[path = "support/process.rs"]
mod process;

fn run(args: &[&str], stdin: &str) -> Output {
    output(
        connectflow(args)
            .env("MONO_SEC_KEY", SECRET_KEY)
            .env_remove("CONNECTFLOW_RECORDS"),
        stdin,
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn last_json(out: &Output) -> serde_json::Value {
    let text = stdout(out);
    let line = text.lines().last().unwrap_or_else(|| {
        panic!(
            "no output; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn a_second_link_of_the_same_account_is_returning_and_its_bank_is_listed_first() {
    let dir = TempDir::new("cli-records");
    let records = dir.sqlite("records.db");
    // Bank 3 of the list is Access Bank; method 1 is internet banking.
    let first = run(
        &["link", "--json", "--records", &records],
        "3\n1\nuser_good\npass_good\n",
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let result = last_json(&first);
    assert_eq!(
        (result["result"].as_str(), result["returning"].as_bool()),
        (Some("linked"), Some(false)),
        "{result}"
    );
    let auth_id = result["auth_id"].as_str().unwrap().to_owned();

    let again = run(
        &["link", "--json", "--records", &records],
        "1\n1\nuser_good\npass_good\n",
    );
    let screens = String::from_utf8_lossy(&again.stderr).into_owned();
    assert!(
        screens.contains("1. Access Bank [access-bank]  (linked before)"),
        "{screens}"
    );
    let result = last_json(&again);
    assert_eq!(result["returning"], true, "{result}");
    assert_eq!(
        result["auth_id"],
        auth_id.as_str(),
        "the same auth, updated"
    );

    // Someone else linking the same test user is a customer of their own.
    let other = run(
        &[
            "link",
            "--json",
            "--records",
            &records,
            "--customer-email",
            "bola@example.com",
            "--institution",
            "access-bank",
            "--auth-method",
            "internet_banking",
        ],
        "user_good\npass_good\n",
    );
    assert_eq!(last_json(&other)["returning"], false);
    let list = run(&["records", "--records", &records, "list"], "");
    assert!(
        stdout(&list).contains("page 1 of 1 (2 auths)"),
        "{}",
        stdout(&list)
    );
}

#[test]
fn records_list_get_export_and_unlink_at_a_sandbox_process() {
    let dir = TempDir::new("cli-records");
    let records = dir.sqlite("records.db");
    let sandbox = Process::start(&mut connectflow(&["sandbox", "--addr", "127.0.0.1:0"]));
    let url = sandbox.url.clone();

    let linked = run(
        &[
            "link",
            "--json",
            "--records",
            &records,
            "--base-url",
            &url,
            "--customer-id",
            "cus_42",
            "--institution",
            "sandbox-bank",
            "--auth-method",
            "internet_banking",
        ],
        "user_good\npass_good\n",
    );
    let result = last_json(&linked);
    let id = result["auth_id"].as_str().unwrap().to_owned();

    let list = stdout(&run(
        &[
            "records",
            "--records",
            &records,
            "list",
            "--customer",
            "cus_42",
            "--json",
        ],
        "",
    ));
    let listed: serde_json::Value = serde_json::from_str(list.trim()).unwrap();
    assert_eq!(listed["pagination"]["totalDocs"], 1);
    assert_eq!(listed["auths"][0]["id"], id.as_str());
    let none = stdout(&run(
        &[
            "records",
            "--records",
            &records,
            "list",
            "--from",
            "2000-01-01",
            "--to",
            "2000-12-31",
        ],
        "",
    ));
    assert!(none.contains("(0 auths)"), "{none}");

    let got: serde_json::Value = serde_json::from_str(
        stdout(&run(&["records", "--records", &records, "get", &id], "")).trim(),
    )
    .unwrap();
    assert_eq!(
        (
            got["validated"].as_bool(),
            got["partner_account_id"].as_str()
        ),
        (Some(true), result["account_id"].as_str())
    );
    assert_eq!(got["customer"]["_id"], "cus_42");
    assert_eq!(got["channel"], "terminal");

    let csv = stdout(&run(&["records", "--records", &records, "export"], ""));
    let rows: Vec<&str> = csv.lines().collect();
    assert!(
        rows[0].starts_with("id,validated,bank_id,bank_name,customer_id"),
        "{csv}"
    );
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(
        rows[1].starts_with(&format!("{id},true,sandbox-bank,Sandbox Bank,cus_42,")),
        "{csv}"
    );
    let jsonl = stdout(&run(
        &[
            "records",
            "--records",
            &records,
            "export",
            "--format",
            "jsonl",
            "--customer",
            "cus_42",
        ],
        "",
    ));
    assert_eq!(jsonl.lines().count(), 1);

    // Unlinked at the sandbox first, then marked here.
    let unlinked = run(
        &[
            "records",
            "--records",
            &records,
            "unlink",
            &id,
            "--base-url",
            &url,
        ],
        "",
    );
    assert!(
        unlinked.status.success(),
        "{}",
        String::from_utf8_lossy(&unlinked.stderr)
    );
    assert!(String::from_utf8_lossy(&unlinked.stderr).contains("unlinked at mono"));
    assert_eq!(last_json(&unlinked)["validated"], false);
    let twice = run(
        &[
            "records",
            "--records",
            &records,
            "unlink",
            &id,
            "--base-url",
            &url,
        ],
        "",
    );
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("already unlinked"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    let missing = run(
        &[
            "records",
            "--records",
            &records,
            "get",
            "ffffffffffffffffffffffff",
        ],
        "",
    );
    assert_eq!(missing.status.code(), Some(2));
}

/// Finding (review, 2026-12-04): mistakes in the command line itself (a
/// page of 0, a date that is not one, `--to` before `--from`) exited 5,
/// which the README gives for "records unreachable", so a script would
/// retry them; they exit 2, the usage status, with the message.
#[test]
fn usage_mistakes_in_records_commands_exit_2() {
    let dir = TempDir::new("cli-records-usage");
    let records = dir.sqlite("r.db");
    for (args, says) in [
        (vec!["list", "--page", "0"], "--page and --limit"),
        (
            vec!["list", "--from", "2024-13-01"],
            "--from must be YYYY-MM-DD",
        ),
        (
            vec!["list", "--from", "2024-02-01", "--to", "2024-01-01"],
            "--to is before --from",
        ),
    ] {
        let mut full = vec!["records", "--records", &records];
        full.extend(args.iter().copied());
        let out = run(&full, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
