//! Every sample in events/ is explained by the real CLI binary, which must name the intended
//! cause. Samples with a `.evidence.json` beside them are explained with it.

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

fn cause_of(name: &str) -> String {
    explain(name)["diagnosis"]["cause"]
        .as_str()
        .expect("diagnosis.cause is a string")
        .to_owned()
}

macro_rules! sample {
    ($($test:ident: $name:literal => $cause:literal,)+) => {
        $(
            #[test]
            fn $test() {
                assert_eq!(cause_of($name), $cause, "sample {}", $name);
            }
        )+

        /// No sample in events/ goes untested.
        #[test]
        fn every_sample_has_a_test() {
            let named = [$($name),+];
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events");
            for entry in std::fs::read_dir(dir).expect("events/ exists") {
                let file = entry.expect("dir entry").file_name().to_string_lossy().into_owned();
                let Some(stem) = file.strip_suffix(".json") else { continue };
                if stem.ends_with(".evidence") || stem.starts_with("ignored_") {
                    continue;
                }
                assert!(named.contains(&stem), "events/{file} has no sample test");
            }
        }
    };
}

sample! {
    seed_elb_kill_with_cpu_pinned_is_cpu_starved: "cpu_starved_elb_kill_ec2_signup_day" => "cpu_starved",
    burstable_host_out_of_credits_is_cpu_starved: "cpu_starved_burstable_host_out_of_credits" => "cpu_starved",
    service_maximum_reveals_starvation_the_average_hides: "cpu_starved_service_average_hides_saturated_task" => "cpu_starved",
    service_at_max_capacity_is_still_cpu_starved: "cpu_starved_at_max_capacity_fargate" => "cpu_starved",
    service_without_scaling_is_cpu_starved: "cpu_starved_no_scaling_no_log_metrics" => "cpu_starved",
    elb_kill_with_502_and_idle_resources_is_elb_failure: "elb_health_check_failed_502_resources_idle" => "elb_health_check_failed",
    elb_kill_with_404_is_elb_failure: "elb_health_check_failed_404_wrong_path" => "elb_health_check_failed",
    exit_137_after_elb_kill_is_not_oom: "exit_137_after_elb_kill_no_evidence" => "elb_health_check_failed",
    failing_container_health_check_is_named: "container_health_check_failed_curl_missing" => "container_health_check_failed",
    oom_reason_with_leak_is_oom: "oom_killed_reason_fargate_leak" => "oom_killed",
    exit_137_without_reason_but_memory_at_limit_is_oom: "oom_killed_no_reason_ec2_memory_spike" => "oom_killed",
    oom_reason_alone_decides: "oom_killed_reason_only_ec2" => "oom_killed",
    exit_137_without_reason_or_evidence_is_unknown: "unknown_exit_137_no_reason_no_evidence" => "unknown",
    exit_1_in_a_loop_is_app_crashed: "app_crashed_exit_1_crash_loop" => "app_crashed",
    exit_127_is_app_crashed: "app_crashed_exit_127_entrypoint_not_found" => "app_crashed",
    standalone_job_exit_0_is_app_exited: "app_exited_standalone_job_exit_0" => "app_exited",
    service_task_exit_0_is_app_exited: "app_exited_service_task_exit_0" => "app_exited",
    missing_image_tag_is_failed_to_start: "failed_to_start_image_tag_not_found" => "failed_to_start",
    denied_secret_is_failed_to_start: "failed_to_start_secrets_access_denied" => "failed_to_start",
    fargate_spot_reclaim_is_spot_interrupted: "spot_interrupted_fargate_spot" => "spot_interrupted",
    fargate_retirement_is_platform_maintenance: "platform_maintenance_fargate_retirement" => "platform_maintenance",
    terminated_host_is_host_lost: "host_lost_ec2_instance_terminated" => "host_lost",
    rolling_deployment_is_deployment: "deployment_replaced_new_revision" => "deployment",
    exit_137_in_a_deployment_is_deployment: "deployment_exit_137_slow_shutdown" => "deployment",
    stop_task_is_user_stopped: "user_stopped_stop_task" => "user_stopped",
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
