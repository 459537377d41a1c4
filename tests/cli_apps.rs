//! `connectflow apps` scripted: the real binary against a separate
//! `connectflow sandbox` process (login, create, list, update, live,
//! delete), its refusals and exit codes, where the token is kept, and that
//! the token is printed nowhere but where asked.
#![cfg(all(feature = "cli", feature = "testing"))]

use connectflow::sandbox::{
    OTHER_PARTNER_EMAIL, OTHER_PARTNER_PASSWORD, PARTNER_EMAIL, PARTNER_PASSWORD,
};
use connectflow::testing::TempDir;
use process::{connectflow, output, Process};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

#[path = "support/process.rs"]
mod process;

/// A `connectflow sandbox` process with `extra` arguments, killed on drop.
fn sandbox(extra: &[&str]) -> Process {
    Process::start(connectflow(&["sandbox", "--addr", "127.0.0.1:0"]).args(extra))
}

/// `connectflow apps ARGS` with its token file in `config`, debug logging
/// on (so a leak into the logs would show), the given environment and
/// stdin.
fn apps(config: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = connectflow(&["apps"]);
    command
        .args(args)
        .env("CONNECTFLOW_CONFIG_DIR", config)
        .env("RUST_LOG", "debug")
        .env_remove("MONO_PARTNER_TOKEN")
        .env_remove("MONO_PARTNER_PASSWORD");
    for (k, v) in env {
        command.env(k, v);
    }
    output(&mut command, stdin)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_str(stdout(out).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn a_partner_scripts_the_whole_life_of_an_app() {
    let sandbox = sandbox(&[]);
    let config = TempDir::new("apps");
    let url = sandbox.url.as_str();
    let mut seen = String::new();
    let mut run = |args: &[&str], env: &[(&str, &str)], stdin: &str| {
        let mut all = vec!["--base-url", url];
        all.extend_from_slice(args);
        let out = apps(config.path(), &all, env, stdin);
        seen.push_str(&stdout(&out));
        seen.push_str(&stderr(&out));
        out
    };

    // The password on stdin, as a script pipes it.
    let login = ok(run(
        &["login", "--email", PARTNER_EMAIL],
        &[],
        &format!("{PARTNER_PASSWORD}\n"),
    ));
    assert!(stdout(&login).contains("logged in as partner@sandbox.connectflow.dev"));
    let file = config.path().join("partner-token.json");
    let stored: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let token = stored["access_token"].as_str().unwrap().to_owned();
    assert!(token.len() > 20);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner may read the token");
    }

    let created = json(&ok(run(
        &[
            "create",
            "--json",
            "--name",
            "Corner Shop",
            "--display-name",
            "Corner Shop Ltd",
            "--icon-url",
            "https://example.com/icon.png",
        ],
        &[],
        "",
    )));
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["live"], false);
    assert_eq!(created["display_name"], "Corner Shop Ltd");

    let listed = json(&ok(run(&["list", "--json"], &[], "")));
    assert_eq!(listed, Value::Array(vec![created.clone()]));
    let human = ok(run(&["list"], &[], ""));
    assert!(stdout(&human).contains(&format!("{id}  Corner Shop  [sandbox]")));

    let updated = json(&ok(run(
        &["update", &id, "--name", "Corner Shop 2", "--json"],
        &[],
        "",
    )));
    assert_eq!(updated["name"], "Corner Shop 2");
    assert_eq!(updated["icon_url"], "https://example.com/icon.png");

    let live = ok(run(&["live", &id], &[], ""));
    assert!(stdout(&live).contains("[live]"), "{}", stdout(&live));

    let deleted = ok(run(&["delete", &id], &[], ""));
    assert_eq!(stdout(&deleted).trim(), format!("deleted {id}"));
    assert_eq!(
        json(&ok(run(&["list", "--json"], &[], ""))),
        Value::Array(vec![])
    );

    let gone = run(&["live", &id], &[], "");
    assert_eq!(gone.status.code(), Some(1));
    assert!(
        stderr(&gone).contains("no app has that id"),
        "{}",
        stderr(&gone)
    );

    assert!(
        !seen.contains(&token),
        "the token must never be printed or logged"
    );
    assert!(!seen.contains(PARTNER_PASSWORD), "nor the password");
}

#[test]
fn refusals_exit_1_and_usage_errors_exit_2() {
    let sandbox = sandbox(&[]);
    let config = TempDir::new("apps");
    let url = sandbox.url.as_str();

    let wrong = apps(
        config.path(),
        &["--base-url", url, "login", "--email", PARTNER_EMAIL],
        &[("MONO_PARTNER_PASSWORD", "not-it")],
        "",
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("wrong email or password"));
    assert!(!config.path().join("partner-token.json").exists());

    let not_logged_in = apps(config.path(), &["--base-url", url, "list"], &[], "");
    assert_eq!(not_logged_in.status.code(), Some(2));
    assert!(stderr(&not_logged_in).contains("connectflow apps login"));

    let no_email = apps(config.path(), &["--base-url", url, "login"], &[], "");
    assert_eq!(no_email.status.code(), Some(2));

    let no_name = apps(config.path(), &["create"], &[], "");
    assert_eq!(no_name.status.code(), Some(2), "clap: --name is required");

    // --print hands the token over instead of storing it; MONO_PARTNER_TOKEN
    // takes it back.
    let printed = ok(apps(
        config.path(),
        &[
            "--base-url",
            url,
            "login",
            "--email",
            OTHER_PARTNER_EMAIL,
            "--print",
        ],
        &[("MONO_PARTNER_PASSWORD", OTHER_PARTNER_PASSWORD)],
        "",
    ));
    let theirs = stdout(&printed).trim().to_owned();
    assert!(!config.path().join("partner-token.json").exists());
    ok(apps(
        config.path(),
        &["--base-url", url, "login", "--email", PARTNER_EMAIL],
        &[("MONO_PARTNER_PASSWORD", PARTNER_PASSWORD)],
        "",
    ));
    let mine = json(&ok(apps(
        config.path(),
        &["--base-url", url, "create", "--name", "Mine", "--json"],
        &[],
        "",
    )));
    let id = mine["id"].as_str().unwrap();
    let stolen = apps(
        config.path(),
        &["--base-url", url, "delete", id],
        &[("MONO_PARTNER_TOKEN", theirs.as_str())],
        "",
    );
    assert_eq!(stolen.status.code(), Some(1));
    assert!(stderr(&stolen).contains("another partner"));

    let bad_icon = apps(
        config.path(),
        &[
            "--base-url",
            url,
            "update",
            id,
            "--icon-url",
            "javascript:alert(1)",
        ],
        &[],
        "",
    );
    assert_eq!(bad_icon.status.code(), Some(1));
    assert!(
        stderr(&bad_icon).contains("invalid icon_url"),
        "{}",
        stderr(&bad_icon)
    );

    let nothing = apps(config.path(), &["--base-url", url, "update", id], &[], "");
    assert_eq!(nothing.status.code(), Some(2));

    // The stored token belongs to this sandbox, and is not sent elsewhere.
    let elsewhere = apps(
        config.path(),
        &["--base-url", "http://127.0.0.1:9", "list"],
        &[],
        "",
    );
    assert_eq!(elsewhere.status.code(), Some(2));
    assert!(stderr(&elsewhere).contains("the stored token is for"));
}

#[test]
fn an_expired_token_asks_the_partner_to_log_in_again() {
    let sandbox = sandbox(&["--partner-token-ttl-ms", "300"]);
    let config = TempDir::new("apps");
    let url = sandbox.url.as_str();
    ok(apps(
        config.path(),
        &["--base-url", url, "login", "--email", PARTNER_EMAIL],
        &[("MONO_PARTNER_PASSWORD", PARTNER_PASSWORD)],
        "",
    ));
    // Waits out the token's lifetime (not a speed check).
    std::thread::sleep(std::time::Duration::from_millis(500));
    let expired = apps(config.path(), &["--base-url", url, "list"], &[], "");
    assert_eq!(expired.status.code(), Some(1));
    assert!(
        stderr(&expired).contains("log in again with `connectflow apps login`"),
        "{}",
        stderr(&expired)
    );
}

#[test]
fn without_a_base_url_the_embedded_sandbox_serves_one_command() {
    let config = TempDir::new("apps");
    let created = ok(apps(
        config.path(),
        &["create", "--name", "Demo", "--json"],
        &[],
        "",
    ));
    assert_eq!(json(&created)["name"], "Demo");
    assert!(stderr(&created).contains("embedded sandbox"));
    let login = ok(apps(config.path(), &["login"], &[], ""));
    assert!(stdout(&login).contains("nothing stored"));
    assert!(!config.path().join("partner-token.json").exists());
}
