//! Headless Chromium driven through chromedriver (WebDriver, `fantoccini`),
//! finding things as a person does: by label text, button name, heading,
//! and the `role="alert"` region. A failed scenario leaves a screenshot and
//! the page's HTML in `target/browser-failures/`.
//!
//! In CI (`CI` set) a missing browser fails the test, never skips it (the
//! same rule as `RedisServer::start_or_skip`); `.ci/run` installs the
//! Debian packages `chromium` and `chromium-driver`.

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(15);

/// One browser scenario at a time: two cores, and Chromium is heavy.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

struct Driver {
    child: Child,
    _profile: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop (a fresh Chromium profile per scenario).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts chromedriver and a headless Chromium session (with the browser's
/// console log kept, for [`Page::console_errors`]); `None` (skip) when the
/// browser is not installed and this is not CI. Also returns chromedriver's
/// URL.
async fn start() -> Option<(Driver, Client, String)> {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        assert!(
            !in_ci(),
            "{CHROMIUM} and {CHROMEDRIVER} are required in CI (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "skipping: no {CHROMIUM} / {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        );
        return None;
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = std::env::temp_dir().join(format!(
        "connectflow-chromium-{}-{port}",
        std::process::id()
    ));
    let driver = Driver {
        child,
        _profile: TempDir(profile.clone()),
    };
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1000,1200",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    // Keep every console message, so a test can read them back.
    caps.insert(
        "goog:loggingPrefs".into(),
        serde_json::json!({"browser": "ALL"}),
    );
    // chromedriver is on loopback over plain HTTP: no TLS connector.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a Chromium session");
    Some((driver, client, url))
}

/// Runs `scenario` in a fresh browser; on failure saves a screenshot and
/// the HTML as `target/browser-failures/<name>.{png,html}`, then fails.
pub(crate) async fn scenario<F, Fut>(name: &str, scenario: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = ()>,
{
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some((driver, client, url)) = start().await else {
        return;
    };
    let result = AssertUnwindSafe(scenario(Page(client.clone(), url)))
        .catch_unwind()
        .await;
    if let Err(panic) = result {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap_or(Path::new("target"))
            .join("browser-failures");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
        if let Ok(html) = client.source().await {
            let _ = std::fs::write(dir.join(format!("{name}.html")), html);
        }
        eprintln!("screenshot: {}", dir.join(format!("{name}.png")).display());
        let _ = client.close().await;
        drop(driver);
        std::panic::resume_unwind(panic);
    }
    let _ = client.close().await;
    drop(driver);
}

/// The page, as a person meets it (and chromedriver's URL, to read the
/// browser's console log).
#[derive(Clone)]
pub(crate) struct Page(pub(crate) Client, String);

fn quoted(text: &str) -> String {
    format!("\"{text}\"")
}

impl Page {
    pub(crate) async fn open(&self, url: &str) {
        self.0.goto(url).await.unwrap();
    }

    /// The console errors (level `SEVERE`: uncaught exceptions, failed
    /// loads, `console.error`) since the last call, read from the
    /// browser's own log through chromedriver — so an error thrown while
    /// the page was still loading is there too.
    pub(crate) async fn console_errors(&self) -> Vec<String> {
        let session = self.0.session_id().await.unwrap().expect("a session");
        let log: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.1))
            .json(&serde_json::json!({"type": "browser"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entries = log["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no browser log from chromedriver: {log}"));
        entries
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn wait_for(&self, xpath: &str) -> fantoccini::elements::Element {
        self.0
            .wait()
            .at_most(WAIT)
            .for_element(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|e| panic!("nothing matches {xpath}: {e}"))
    }

    /// Waits for the heading to be `text`.
    pub(crate) async fn heading(&self, text: &str) {
        self.wait_for(&format!("//h1[normalize-space(.)={}]", quoted(text)))
            .await;
    }

    /// The input labelled with text containing `label`.
    pub(crate) async fn field(&self, label: &str) -> fantoccini::elements::Element {
        let label = self
            .wait_for(&format!(
                "//label[contains(normalize-space(.), {})]",
                quoted(label)
            ))
            .await;
        let id = label
            .attr("for")
            .await
            .unwrap()
            .expect("a label names its input");
        self.0.find(Locator::Id(&id)).await.unwrap()
    }

    /// Types `value` into the field labelled `label`.
    pub(crate) async fn fill(&self, label: &str, value: &str) {
        let input = self.field(label).await;
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    /// Presses Enter in the field labelled `label` (submits its form).
    pub(crate) async fn enter_in(&self, label: &str) {
        let input = self.field(label).await;
        input.send_keys("\u{E007}").await.unwrap();
    }

    /// The button whose text is `name`.
    pub(crate) async fn button(&self, name: &str) -> fantoccini::elements::Element {
        self.wait_for(&format!("//button[normalize-space(.)={}]", quoted(name)))
            .await
    }

    /// Clicks the button whose text is `name`.
    pub(crate) async fn press(&self, name: &str) {
        self.button(name).await.click().await.unwrap();
    }

    /// Waits for the alert region to contain `text`.
    pub(crate) async fn alert(&self, text: &str) {
        self.wait_for(&format!(
            "//*[@role='alert'][contains(., {})]",
            quoted(text)
        ))
        .await;
    }

    /// Every input on the page has a label naming it.
    pub(crate) async fn every_input_is_labelled(&self) {
        let inputs = self.0.find_all(Locator::Css("input")).await.unwrap();
        assert!(!inputs.is_empty());
        for input in inputs {
            let id = input.attr("id").await.unwrap().expect("an input has an id");
            let labels = self
                .0
                .find_all(Locator::Css(&format!("label[for='{id}']")))
                .await
                .unwrap();
            assert_eq!(labels.len(), 1, "input #{id} has one label");
        }
    }
}
