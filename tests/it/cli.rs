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
    // The cause is printed from the chain, not repeated inside the top error's own text.
    assert!(
        err.contains("cannot read no/such/event.json: No such file or directory"),
        "{err}"
    );
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

fn record_file(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events");
    let out = Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .arg("explain")
        .arg("--event")
        .arg(dir.join("cpu_starved_elb_kill_ec2_signup_day.json"))
        .arg("--evidence")
        .arg(dir.join("cpu_starved_elb_kill_ec2_signup_day.evidence.json"))
        .args(["--format", "json"])
        .output()
        .expect("run ecs-autopsy");
    temp_file(name, &String::from_utf8_lossy(&out.stdout))
}

#[test]
fn replay_of_an_unchanged_record_says_so() {
    let path = record_file("replay-same.json");
    let out = Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .arg("replay")
        .arg(&path)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("cause       cpu_starved (unchanged)"),
        "{text}"
    );
}

#[test]
fn replay_shows_what_todays_rules_change() {
    let path = record_file("replay-old.json");
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    record["diagnosis"]["cause"] = "unknown".into();
    record["diagnosis"]["severity"] = "warning".into();
    std::fs::write(&path, record.to_string()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .arg("replay")
        .arg(&path)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unknown → cpu_starved"), "{text}");
    assert!(text.contains("warning → critical"), "{text}");
}

#[test]
fn report_writes_the_html_for_a_record() {
    let path = record_file("report.json");
    let html = path.with_extension("html");
    let out = Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .arg("report")
        .arg(&path)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&html).expect("html written");
    assert!(text.contains("<svg") && text.contains("CPU-starved"));
}

#[test]
fn a_reader_that_closes_the_pipe_early_is_not_a_crash() {
    // Arrange: evidence whose JSON record is far larger than a pipe buffer, so the write must
    // meet the closed pipe whatever the timing.
    let mut evidence: serde_json::Value = serde_json::from_str(include_str!(
        "../../events/cpu_starved_elb_kill_ec2_signup_day.evidence.json"
    ))
    .expect("evidence fixture");
    let line = serde_json::json!({"at": "2026-09-14T18:41:14.511Z", "message": "x".repeat(1000)});
    evidence["logs"][0]["lines"] = serde_json::Value::Array(vec![line; 1000]);
    let ev_path = temp_file("big.evidence.json", &evidence.to_string());
    let event = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events/cpu_starved_elb_kill_ec2_signup_day.json");

    // Act: like `ecs-autopsy explain … | head -c 0`.
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .args(["explain", "--format", "json", "--event"])
        .arg(&event)
        .arg("--evidence")
        .arg(&ev_path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");

    // Assert
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
