//! The README's blocks that are not Rust, checked against the real command.
//! Its Rust blocks run as doc tests (`ReadmeDoctests` in `src/lib.rs`).
//! Where each other block is run:
//!
//! | README block | run by |
//! |---|---|
//! | `cargo run -- link` (interactive) | `tests/cli.rs`, scripted (`link_json_user_chain_from_the_bank_list`, ...) |
//! | `printf ... \| cargo run -- link --partner flinks ...` | here, as written; and `tests/cli_flinks.rs` |
//! | `serve` + `ussd-sim` (quick start) | here |
//! | `ussd-sim --mtn-ng-listen` + `serve --mtn-ng` (quick start) | `tests/cli_serve.rs` (`ussd_sim_plays_mtn_nigerias_gateway_for_serve_to_dial`: the same commands, a free port, the answers scripted) |
//! | the `text` synopsis of the command | here (every option it shows is in `--help`) |
//! | `printf 'user_otp...' \| cargo run -q -- link --json ...` | here, as written |
//! | the `--json` result table's linked line | here (its keys are a real run's) |
//! | `connectflow sandbox` + `apps login/create/list/live` | `tests/cli_apps.rs` (`a_partner_scripts_the_whole_life_of_an_app`) |
//! | `serve`'s first lines (Custom in-app UI) | here |
//! | `curl` link tokens and exchange | `tests/link/` (the same requests, by reqwest) |
//! | the `js` front-end loop | not run: it needs a browser page of the host's own; `tests/browser/` drives the reference page's loop |
//! | two instances on one Redis | `tests/ussd_redis.rs` (`two_processes_share_sessions_and_survive_a_kill`), `tests/link/processes.rs` |
//! | the auth (`json`) | here (a real auth's keys, in order) |
//! | `curl .../v2/auth/getByCustomer` | `tests/records/api.rs` (the same request) |
//! | the outbox diagram (`text`) | `tests/records/outbox.rs`, `tests/records/serve_kill.rs` (the behaviour) |
//! | `link --record`, `replay` | `tests/record_replay.rs` |
//! | `check --institutions ...` | `tests/check.rs` |
//! | `cargo test --all-features` | the suite itself |
#![cfg(all(feature = "cli", feature = "testing"))]

use connectflow::testing::TempDir;
use process::{connectflow, output, Process};
use std::process::Output;

#[path = "support/process.rs"]
mod process;

const README: &str = include_str!("../README.md");

/// `connectflow ARGS` with `stdin`, recording into `records`.
fn run(args: &[&str], stdin: &str, records: &str) -> Output {
    output(
        connectflow(args)
            .env("CONNECTFLOW_RECORDS", records)
            .env_remove("MONO_SEC_KEY"),
        stdin,
    )
}

/// Every object key in a JSON text, in the order written (nested ones
/// where they appear): `"name":` with any spaces before the colon.
fn keys_in_order(json: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = json;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let name = &after[..end];
        let tail = &after[end + 1..];
        if tail.trim_start().starts_with(':') {
            keys.push(name.to_owned());
        }
        rest = tail;
    }
    keys
}

/// The `text` of the README's first fenced block with this info string.
fn block(info: &str) -> &'static str {
    let fence = format!("```{info}\n");
    let start = README.find(&fence).expect("the README has the block") + fence.len();
    let len = README[start..].find("```").expect("the block ends");
    &README[start..start + len]
}

/// A user_good link at Sandbox Bank by the real command; its result line.
fn link_user_good(records: &str) -> serde_json::Value {
    let out = run(
        &[
            "link",
            "--json",
            "--institution",
            "sandbox-bank",
            "--auth-method",
            "internet_banking",
        ],
        "user_good\npass_good\n",
        records,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// The table row of a linked result (`{"result":"linked",...}`) names the
/// keys a real run prints, and the run prints no other key but the
/// `reference` the text beside the table promises on every line.
#[test]
fn the_readmes_linked_result_line_has_the_keys_of_a_real_run() {
    let row = README
        .lines()
        .find(|l| l.trim_start().starts_with("| linked | 0 |"))
        .expect("the result table's linked row");
    let shown = keys_in_order(row);
    assert!(shown.contains(&"account_id".to_owned()), "{row}");
    let dir = TempDir::new("readme-link");
    let result = link_user_good(&dir.sqlite("records.db"));
    let real: Vec<String> = result.as_object().unwrap().keys().cloned().collect();
    for key in &shown {
        assert!(
            real.contains(key),
            "the README shows {key:?}; a run prints {result}"
        );
    }
    for key in &real {
        assert!(
            shown.contains(key) || key == "reference",
            "a run prints {key:?}, which the README's line does not show: {row}"
        );
    }
}

/// The README's auth example (`json` block) has the keys, in order, of an
/// auth the real command recorded (`connectflow records get`).
#[test]
fn the_readmes_auth_example_has_a_real_auths_keys_in_order() {
    let example = block("json");
    serde_json::from_str::<serde_json::Value>(example).expect("the example parses");
    let dir = TempDir::new("readme-auth");
    let records = dir.sqlite("records.db");
    let result = link_user_good(&records);
    let id = result["auth_id"].as_str().unwrap();
    let got = run(&["records", "get", id], "", &records);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let real = String::from_utf8_lossy(&got.stdout);
    assert_eq!(keys_in_order(example), keys_in_order(&real), "{real}");
}

/// The quick start's USSD pair: `serve` with its embedded sandbox and
/// `ussd-sim` answering `1, 1, user_otp, pass_good, 123456` links.
#[test]
fn the_quick_starts_ussd_session_links_through_serve_and_ussd_sim() {
    let dir = TempDir::new("readme-ussd");
    let records = dir.sqlite("records.db");
    let serve = Process::start_reading(
        connectflow(&["serve", "--addr", "127.0.0.1:0"])
            .env("CONNECTFLOW_GATEWAY_TOKEN", "demo")
            .env("CONNECTFLOW_RECORDS", &records)
            .env_remove("MONO_SEC_KEY"),
        4,
    );
    // What "Custom in-app UI" says `serve` prints first.
    for (line, starts) in serve.lines[1..].iter().zip([
        "api key: ck_",
        "gateway callback: POST http://",
        "open: http://",
    ]) {
        assert!(line.starts_with(starts), "{:#?}", serve.lines);
    }
    let out = output(
        connectflow(&["ussd-sim", "--url", &format!("{}/ussd", serve.url)])
            .env("CONNECTFLOW_GATEWAY_TOKEN", "demo"),
        "1\n1\nuser_otp\npass_good\n123456\n",
    );
    let screens = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{screens}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        screens.contains("END") && screens.contains("linked"),
        "{screens}"
    );
}

/// `printf 'ANSWERS' | cargo run [-q] -- ARGS` blocks: the answers (with
/// `\n` read as a newline) and the arguments, in README order.
fn scripted_runs() -> Vec<(String, Vec<String>)> {
    let text = README.replace("\\\n", " ");
    text.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("printf '")?;
            let (answers, command) = rest.split_once("' |")?;
            let args = command.split_once(" -- ")?.1;
            Some((
                answers.replace("\\n", "\n"),
                args.split_whitespace().map(str::to_owned).collect(),
            ))
        })
        .collect()
}

/// The quick start's scripted runs (Flinks' Greatday, and `user_otp` at
/// Sandbox Bank under "The command"), run as written: each links.
#[test]
fn the_readmes_scripted_link_commands_link() {
    let runs = scripted_runs();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let dir = TempDir::new("readme-scripted");
    for (answers, args) in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut with_json = args.clone();
        if !with_json.contains(&"--json") {
            with_json.insert(1, "--json");
        }
        let out = output(
            connectflow(&with_json)
                .env("CONNECTFLOW_RECORDS", dir.sqlite("records.db"))
                .env_remove("MONO_SEC_KEY")
                .env_remove("FLINKS_AUTH_KEY")
                .env_remove("FLINKS_CUSTOMER_ID"),
            &answers,
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last: serde_json::Value =
            serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap_or_default();
        assert_eq!(
            last["result"],
            "linked",
            "{args:?}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The synopsis under "The command" (`text` block): every subcommand it
/// lists has `--help`, and every `--option` it shows for a subcommand is in
/// that help (or its own subcommands' help, for `records` and `apps`).
#[test]
fn the_readmes_synopsis_lists_only_options_the_command_has() {
    let synopsis = block("text");
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in synopsis.lines() {
        match line.strip_prefix("connectflow ") {
            Some(rest) => {
                let name = rest.split_whitespace().next().unwrap_or("").to_owned();
                sections.push((name, rest.to_owned()));
            }
            None => {
                if let Some((_, text)) = sections.last_mut() {
                    text.push(' ');
                    text.push_str(line);
                }
            }
        }
    }
    assert!(sections.len() >= 10, "{sections:?}");
    for (name, text) in &sections {
        let help = |args: &[&str]| {
            let out = output(&mut connectflow(args), "");
            assert!(out.status.success(), "connectflow {args:?} failed");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let mut known = help(&[name, "--help"]);
        // Subcommands' own options (records list --customer, apps create --name).
        let subcommands: Vec<String> = known
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .filter(|c| c != "help")
            .collect();
        for sub in &subcommands {
            known.push_str(&help(&[name, sub, "--help"]));
        }
        for option in text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("--") && w.len() > 2)
        {
            assert!(
                known.contains(option),
                "the README shows `connectflow {name} ... {option}`; its --help does not"
            );
        }
    }
}
