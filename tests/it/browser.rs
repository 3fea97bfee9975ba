//! The HTML report as a person sees it: headless Chromium renders it and takes a screenshot.
//! Under CI (CI=true) a missing browser fails the test; elsewhere the test says how to install
//! it and does not pretend to pass.

use std::path::PathBuf;
use std::process::Command;

use ecs_autopsy::diagnose;
use ecs_autopsy::report::render_html;

use crate::support::{evidence, stopped};
use crate::{event_text, evidence_text};

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .filter_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        })
        .next()
}

fn chromium_args(profile: &std::path::Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

#[test]
fn chromium_renders_the_report_with_its_charts() {
    let Some(browser) = chromium() else {
        let msg = "chromium not found: install it (apt-get install chromium) to check the HTML report in a browser";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        // Not a pass: the test is skipped loudly outside CI.
        eprintln!("SKIPPED chromium_renders_the_report_with_its_charts: {msg}");
        return;
    };
    let event = stopped(event_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let ev = evidence(evidence_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let html = render_html(&event, &ev, &diagnose(&event, &ev)).expect("renders");
    let dir = std::env::temp_dir().join(format!("ecs-autopsy-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let page = dir.join("report.html");
    std::fs::write(&page, html).expect("write page");
    let url = format!("file://{}", page.display());

    // The DOM after rendering: the charts are there as SVG.
    let dom = Command::new(&browser)
        .args(chromium_args(&dir.join("profile-dom")))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.matches("<svg").count() >= 4,
        "charts missing from the rendered DOM"
    );
    assert!(dom.contains("CPU-starved"));

    // And a screenshot a person can look at.
    let shot = dir.join("report.png");
    let status = Command::new(&browser)
        .args(chromium_args(&dir.join("profile-shot")))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1000,2600")
        .arg(&url)
        .status()
        .expect("run chromium");
    assert!(status.success());
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 50_000,
        "a blank page would be tiny: {} bytes",
        png.len()
    );
    let keep = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/report-screenshot.png");
    let _ = std::fs::copy(&shot, keep);
}
