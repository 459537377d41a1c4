//! `connectflow check --format html` opened in headless Chromium, as a QA
//! engineer opens the report attached to a release.

use super::harness::{scenario, Page};
use connectflow::testing::TempDir;
use std::process::Command;

/// The report renders: its heading, the drawing with every reached state,
/// the paths table; it loads nothing (no script to fail, no resource to
/// miss), and the browser's console log holds no error. The log reader is
/// checked too: a page that throws while loading shows up in it.
#[tokio::test(flavor = "multi_thread")]
async fn check_html_report_opens_with_its_picture_and_loads_nothing() {
    let dir = TempDir::new("check-report");
    let report = dir.path().join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_connectflow"))
        .args(["check", "--format", "html", "-o", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("file://{}", report.display());
    let dir_path = dir.path().to_owned();
    let report_path = report.clone();
    scenario("check_report", |page: Page| async move {
        page.open(&url).await;
        page.heading("Flow check: no problems").await;
        let facts = page
            .0
            .execute(
                "const svg = document.querySelector('#picture svg');
                 const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                 return {
                   drawn: box.width > 100 && box.height > 100,
                   texts: Array.from(document.querySelectorAll('#picture svg text')).map(t => t.textContent.trim()),
                   paths: document.querySelectorAll('#paths tr').length,
                   scripts: document.scripts.length,
                   resources: performance.getEntriesByType('resource').length,
                 };",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(facts["drawn"], true, "{facts}");
        let texts = facts["texts"].as_array().unwrap();
        for state in ["LoadingInstitutions", "AwaitingInput", "Done", "Failed"] {
            assert!(texts.iter().any(|t| t == state), "{state} missing: {facts}");
        }
        // A header row and one per reached state.
        assert_eq!(facts["paths"], 14, "{facts}");
        assert_eq!(facts["scripts"], 0);
        assert_eq!(facts["resources"], 0, "{facts}");
        let errors = page.console_errors().await;
        assert!(errors.is_empty(), "console errors: {errors:#?}");

        // The same reader sees an error thrown during load.
        let broken = dir_path.join("broken.html");
        let html = std::fs::read_to_string(&report_path).unwrap().replacen(
            "</body>",
            "<script>throw new Error('report script broke')</script></body>",
            1,
        );
        std::fs::write(&broken, html).unwrap();
        page.open(&format!("file://{}", broken.display())).await;
        let errors = page.console_errors().await;
        assert!(
            errors.iter().any(|e| e.contains("report script broke")),
            "the console reader missed a thrown error: {errors:#?}"
        );
    })
    .await;
}
