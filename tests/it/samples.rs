//! Every sample in events/ is explained by the real CLI binary and must match its golden verdict
//! (`<name>.expected.json`). Samples with a `.evidence.json` beside them are explained with it.

use std::path::PathBuf;
use std::process::Command;

fn explain(name: &str) -> serde_json::Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events");
    let event = dir.join(format!("{name}.json"));
    let evidence = dir.join(format!("{name}.evidence.json"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"));
    cmd.arg("explain")
        .arg("--event")
        .arg(&event)
        .args(["--format", "json"]);
    if evidence.exists() {
        cmd.arg("--evidence").arg(&evidence);
    }
    let out = cmd.output().expect("run ecs-autopsy");
    assert!(
        out.status.success(),
        "explain {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("explain --format json prints one JSON record")
}

/// The part of a diagnosis a golden verdict pins: what a reader acts on.
const GOLDEN_FIELDS: [&str; 13] = [
    "cause",
    "severity",
    "confidence",
    "rule",
    "benign",
    "key_fact",
    "summary",
    "container",
    "exit_code",
    "repeats",
    "evidence",
    "recommendations",
    "missing",
];

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

/// Every sample event in events/: not evidence, not a golden verdict, not one meant to be ignored.
fn sample_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(events_dir())
        .expect("events/ exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|f| f.strip_suffix(".json").map(str::to_owned))
        .filter(|s| !s.ends_with(".evidence") && !s.ends_with(".expected"))
        .filter(|s| !s.starts_with("ignored_"))
        .collect();
    names.sort();
    names
}

fn golden(name: &str) -> serde_json::Value {
    let record = explain(name);
    let d = &record["diagnosis"];
    let mut out = serde_json::Map::new();
    for field in GOLDEN_FIELDS {
        out.insert(
            field.to_owned(),
            d.get(field).cloned().unwrap_or(serde_json::Value::Null),
        );
    }
    serde_json::Value::Object(out)
}

/// Every sample's diagnosis equals its checked-in `<name>.expected.json`. `BLESS=1` rewrites
/// them (`make bless`); the diff is then reviewed like code.
#[test]
fn every_sample_matches_its_golden_verdict() {
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let names = sample_names();
    assert!(!names.is_empty(), "no samples found in events/");
    let mut failures = Vec::new();
    for name in &names {
        let actual = golden(name);
        let path = events_dir().join(format!("{name}.expected.json"));
        let pretty =
            serde_json::to_string_pretty(&actual).expect("golden verdict serializes") + "\n";
        if bless {
            std::fs::write(&path, pretty).expect("write the golden verdict");
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            failures.push(format!(
                "{name}: no events/{name}.expected.json (run `make bless`)"
            ));
            continue;
        };
        let expected: serde_json::Value =
            serde_json::from_str(&text).expect("golden verdicts are JSON");
        if expected != actual {
            failures.push(format!(
                "{name}: diagnosis differs from events/{name}.expected.json; now:\n{pretty}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A sample named after a cause (`oom_killed_…`) must be diagnosed as that cause: blessing
/// cannot quietly accept a wrong verdict for it.
#[test]
fn samples_named_after_a_cause_are_diagnosed_as_it() {
    for name in sample_names() {
        let named = ecs_autopsy::diagnose::CAUSES
            .iter()
            .filter(|c| name.starts_with(&format!("{}_", c.name)))
            .max_by_key(|c| c.name.len());
        if let Some(c) = named {
            let record = explain(&name);
            assert_eq!(record["diagnosis"]["cause"], c.name, "sample {name}");
        }
    }
}

/// No golden verdict outlives its sample.
#[test]
fn every_golden_verdict_has_its_sample() {
    let names = sample_names();
    for entry in std::fs::read_dir(events_dir()).expect("events/ exists") {
        let file = entry
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(stem) = file.strip_suffix(".expected.json") {
            assert!(
                names.iter().any(|n| n == stem),
                "events/{file} has no sample"
            );
        }
    }
}

/// Keys of `original` that did not survive a round trip through the typed structs.
fn dropped_keys(
    original: &serde_json::Value,
    round_trip: &serde_json::Value,
    path: &str,
    out: &mut Vec<String>,
) {
    match (original, round_trip) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in a {
                let here = format!("{path}.{k}");
                match b.get(k) {
                    Some(w) => dropped_keys(v, w, &here, out),
                    None => out.push(here),
                }
            }
        }
        (serde_json::Value::Array(a), serde_json::Value::Array(b)) => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                dropped_keys(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The evidence structs ignore unknown fields (old records must read back); a fixture with a
/// misspelled or stale field would silently test nothing, so fixtures are held to the structs.
#[test]
fn evidence_fixtures_have_no_unknown_fields() {
    let mut problems = Vec::new();
    for name in sample_names() {
        let path = events_dir().join(format!("{name}.evidence.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let original: serde_json::Value = serde_json::from_str(&text).expect("evidence is JSON");
        let typed: ecs_autopsy::Evidence =
            serde_json::from_value(original.clone()).expect("evidence fixture parses");
        let round_trip = serde_json::to_value(&typed).expect("evidence serializes");
        let mut dropped = Vec::new();
        dropped_keys(&original, &round_trip, "", &mut dropped);
        for key in dropped {
            problems.push(format!("events/{name}.evidence.json: unknown field {key}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_unknown_field_check_catches_a_misspelled_field() {
    let original =
        serde_json::json!({"host": {"ec2_instance_id": "i-1", "instnce_type": "t3.micro"}});
    let typed: ecs_autopsy::Evidence = serde_json::from_value(original.clone()).expect("parses");
    let mut dropped = Vec::new();
    dropped_keys(
        &original,
        &serde_json::to_value(&typed).expect("serializes"),
        "",
        &mut dropped,
    );
    assert_eq!(dropped, vec![".host.instnce_type".to_owned()]);
}

#[test]
fn seed_case_report_speaks_in_shares_of_the_allocation() {
    let record = explain("cpu_starved_elb_kill_ec2_signup_day");
    let d = &record["diagnosis"];
    assert_eq!(d["severity"], "critical");
    assert!(d["confidence"].as_f64().unwrap_or(0.0) >= 0.9);
    let recs = d["recommendations"].to_string();
    assert!(recs.contains("Raise task cpu 512 → 1024"), "{recs}");
    let evidence = d["evidence"].to_string();
    assert!(
        evidence.contains("the Average hid one saturated task"),
        "{evidence}"
    );
    assert!(evidence.contains("not an OOM kill"), "{evidence}");
    assert!(
        evidence.contains("share of the task's allocation"),
        "{evidence}"
    );
}

#[test]
fn crash_loop_raises_the_count_into_the_key_fact() {
    let record = explain("app_crashed_exit_1_crash_loop");
    assert_eq!(record["diagnosis"]["repeats"], 3);
    let key = record["diagnosis"]["key_fact"].as_str().unwrap_or_default();
    assert!(key.contains("4th in"), "{key}");
    let summary = record["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("ECONNREFUSED"), "{summary}");
}

#[test]
fn image_pull_failure_names_the_missing_tag() {
    let record = explain("failed_to_start_image_tag_not_found");
    let recs = record["diagnosis"]["recommendations"].to_string();
    assert!(
        recs.contains("Image tag v2.3.1 not found in the registry"),
        "{recs}"
    );
}

#[test]
fn denied_secret_names_the_missing_permission_and_the_secret() {
    let record = explain("failed_to_start_secrets_access_denied");
    let recs = record["diagnosis"]["recommendations"].to_string();
    assert!(
        recs.contains("judge-api-execution lacks secretsmanager:GetSecretValue on arn:aws:secretsmanager:eu-west-1:123456789012:secret:judge/db-password-AbCdEf"),
        "{recs}"
    );
}

#[test]
fn standalone_job_that_finished_is_benign_info() {
    let d = explain("app_exited_standalone_job_exit_0")["diagnosis"].clone();
    assert_eq!(d["severity"], "info");
    assert_eq!(d["benign"], true);
    let service = explain("app_exited_service_task_exit_0")["diagnosis"].clone();
    assert_eq!(service["severity"], "warning");
    assert_eq!(service["benign"], false);
}

#[test]
fn override_command_and_environment_never_reach_the_record_or_the_report() {
    let record = explain("app_exited_standalone_job_exit_0").to_string();
    for secret in [
        "s3cr3t-override-token",
        "AKIAOVERRIDEVALUE0001",
        "--token",
        "API_KEY",
    ] {
        assert!(!record.contains(secret), "{secret} leaked into the record");
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events");
    let out = Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .arg("explain")
        .arg("--event")
        .arg(dir.join("app_exited_standalone_job_exit_0.json"))
        .output()
        .expect("run ecs-autopsy");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("s3cr3t-override-token") && !text.contains("AKIAOVERRIDEVALUE0001"));
}
