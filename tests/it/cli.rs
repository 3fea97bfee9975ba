//! The CLI's errors name the file, the line and what was expected.

use std::io::Write;
use std::process::Command;

fn explain(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .arg("explain")
        .args(args)
        .output()
        .expect("run ecs-autopsy")
}

fn temp_file(name: &str, content: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ecs-autopsy-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("temp file");
    f.write_all(content.as_bytes()).expect("write");
    path
}

#[test]
fn broken_json_names_file_line_and_column() {
    let path = temp_file(
        "broken.json",
        "{\n  \"source\": \"aws.ecs\",\n  \"detail\": {,}\n}",
    );
    let out = explain(&["--event".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.json:3:"), "{err}");
    assert!(
        err.contains("an EventBridge ECS Task State Change event"),
        "{err}"
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = explain(&["--event".as_ref(), "no/such/event.json".as_ref()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read no/such/event.json"), "{err}");
}

#[test]
fn evidence_of_the_wrong_shape_names_the_field() {
    let event = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/oom_killed_reason_only_ec2.json"
    );
    let path = temp_file("bad-evidence.json", "{\"metrics\": {\"task_cpu_pct\": 5}}");
    let out = explain(&[
        "--event".as_ref(),
        event.as_ref(),
        "--evidence".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad-evidence.json:1:"), "{err}");
    assert!(err.contains("an evidence object"), "{err}");
}

#[test]
fn an_event_that_is_not_a_stop_says_why_nothing_was_done() {
    let event = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/ignored_running_spot_termination_notice.json"
    );
    let out = explain(&["--event".as_ref(), event.as_ref()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing to diagnose") && err.contains("RUNNING"),
        "{err}"
    );
}

#[test]
fn a_detail_without_task_arn_is_rejected() {
    let path = temp_file(
        "no-arn.json",
        r#"{"source":"aws.ecs","detail-type":"ECS Task State Change","detail":{"lastStatus":"STOPPED"}}"#,
    );
    let out = explain(&["--event".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("detail.taskArn"));
}
