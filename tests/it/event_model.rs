//! The event model: parses real-shaped events, keeps unknown codes, ignores unknown fields,
//! round-trips, and never keeps override secrets.

use ecs_autopsy::error::EventError;
use ecs_autopsy::event::{Incoming, LaunchType, Status, StopCode, TaskStateChange, parse_event};

use crate::support::stopped;
use crate::{event_text, evidence_text};

const ALL_STOPPED: [&str; 23] = [
    event_text!("cpu_starved_elb_kill_ec2_signup_day"),
    event_text!("cpu_starved_burstable_host_out_of_credits"),
    event_text!("cpu_starved_service_average_hides_saturated_task"),
    event_text!("elb_health_check_failed_502_resources_idle"),
    event_text!("elb_health_check_failed_404_wrong_path"),
    event_text!("exit_137_after_elb_kill_no_evidence"),
    event_text!("container_health_check_failed_curl_missing"),
    event_text!("oom_killed_reason_fargate_leak"),
    event_text!("oom_killed_no_reason_ec2_memory_spike"),
    event_text!("oom_killed_reason_only_ec2"),
    event_text!("unknown_exit_137_no_reason_no_evidence"),
    event_text!("app_crashed_exit_1_crash_loop"),
    event_text!("app_crashed_exit_127_entrypoint_not_found"),
    event_text!("app_exited_standalone_job_exit_0"),
    event_text!("app_exited_service_task_exit_0"),
    event_text!("failed_to_start_image_tag_not_found"),
    event_text!("failed_to_start_secrets_access_denied"),
    event_text!("spot_interrupted_fargate_spot"),
    event_text!("platform_maintenance_fargate_retirement"),
    event_text!("host_lost_ec2_instance_terminated"),
    event_text!("deployment_replaced_new_revision"),
    event_text!("deployment_exit_137_slow_shutdown"),
    event_text!("user_stopped_stop_task"),
];

#[test]
fn every_sample_round_trips_through_serde() {
    for text in ALL_STOPPED {
        let event = stopped(text);
        let json = serde_json::to_string(&event).expect("serializes");
        let back: TaskStateChange = serde_json::from_str(&json).expect("reads its own output");
        assert_eq!(back, event);
    }
}

#[test]
fn evidence_fixtures_round_trip() {
    for text in [
        evidence_text!("cpu_starved_elb_kill_ec2_signup_day"),
        evidence_text!("oom_killed_reason_fargate_leak"),
        evidence_text!("app_crashed_exit_1_crash_loop"),
    ] {
        let evidence: ecs_autopsy::Evidence = serde_json::from_str(text).expect("parses");
        let json = serde_json::to_string(&evidence).expect("serializes");
        let back: ecs_autopsy::Evidence = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, evidence);
    }
}

#[test]
fn seed_event_fields_are_typed() {
    let e = stopped(event_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let d = &e.detail;
    assert_eq!(d.launch_type, Some(LaunchType::Ec2));
    assert_eq!(d.stop_code, Some(StopCode::ServiceSchedulerInitiated));
    assert_eq!(d.last_status, Some(Status::Stopped));
    assert_eq!(d.cpu, Some(512));
    assert_eq!(d.memory, Some(1024));
    assert_eq!(d.containers[0].exit_code, Some(137));
    assert_eq!(d.containers[0].memory, Some(1024));
    assert!(d.container_instance_arn.is_some());
    assert_eq!(e.cluster_name(), "prod");
    assert_eq!(e.service_name(), Some("judge-api"));
    assert_eq!(e.family(), Some("judge-api"));
    assert_eq!(e.region_name(), Some("eu-west-1"));
    assert!(d.stopped_at.is_some() && d.stopping_at.is_some() && d.started_at.is_some());
}

#[test]
fn fargate_event_keeps_attachments_and_capacity_provider() {
    let e = stopped(event_text!("spot_interrupted_fargate_spot"));
    assert_eq!(
        e.detail.capacity_provider_name.as_deref(),
        Some("FARGATE_SPOT")
    );
    assert!(e.is_fargate());
    assert_eq!(e.detail.attachments[0].kind.as_deref(), Some("eni"));
    assert!(
        e.detail.attachments[0]
            .details
            .iter()
            .any(|d| d.name == "privateIPv4Address")
    );
}

#[test]
fn unknown_stop_codes_and_statuses_are_kept() {
    let e = crate::support::event_with(serde_json::json!({
        "stopCode": "SomethingNew", "launchType": "SOMETHING_NEWER", "brandNewField": {"x": 1}
    }));
    assert_eq!(
        e.detail.stop_code,
        Some(StopCode::Other("SomethingNew".into()))
    );
    assert_eq!(
        e.detail.launch_type,
        Some(LaunchType::Other("SOMETHING_NEWER".into()))
    );
    let json = serde_json::to_value(&e).expect("serializes");
    assert_eq!(json["detail"]["stopCode"], "SomethingNew");
}

#[test]
fn numbers_may_come_as_strings_or_numbers() {
    let e = crate::support::event_with(serde_json::json!({"cpu": 256, "memory": "not a number"}));
    assert_eq!(e.detail.cpu, Some(256));
    assert_eq!(e.detail.memory, None);
}

#[test]
fn override_values_are_reduced_to_counts_while_parsing() {
    let e = stopped(event_text!("app_exited_standalone_job_exit_0"));
    let o = &e
        .detail
        .overrides
        .as_ref()
        .expect("overrides")
        .container_overrides[0];
    assert_eq!(o.command.items, 4);
    assert_eq!(o.environment.items, 1);
    let json = serde_json::to_string(&e).expect("serializes");
    let debug = format!("{e:?}");
    for leaked in ["s3cr3t-override-token", "AKIAOVERRIDEVALUE0001", "API_KEY"] {
        assert!(
            !json.contains(leaked) && !debug.contains(leaked),
            "{leaked} kept"
        );
    }
}

#[test]
fn running_task_and_other_sources_are_ignored_not_errors() {
    let running =
        parse_event(event_text!("ignored_running_spot_termination_notice")).expect("parses");
    assert!(matches!(running, Incoming::Ignored(r) if r.contains("RUNNING")));
    let ec2 = parse_event(event_text!("ignored_ec2_instance_state_change")).expect("parses");
    assert!(matches!(ec2, Incoming::Ignored(r) if r.contains("aws.ec2")));
}

#[test]
fn malformed_events_are_errors() {
    assert!(matches!(parse_event("[]"), Err(EventError::NotAnObject)));
    assert!(matches!(parse_event("{not json"), Err(EventError::Json(_))));
    let no_arn = r#"{"source":"aws.ecs","detail-type":"ECS Task State Change","detail":{"lastStatus":"STOPPED"}}"#;
    assert!(matches!(
        parse_event(no_arn),
        Err(EventError::Missing("detail.taskArn"))
    ));
    let no_detail = r#"{"source":"aws.ecs","detail-type":"ECS Task State Change"}"#;
    assert!(matches!(
        parse_event(no_detail),
        Err(EventError::Missing("detail"))
    ));
    let bad_time = r#"{"source":"aws.ecs","detail-type":"ECS Task State Change","detail":{"taskArn":"a","lastStatus":"STOPPED","stoppedAt":"yesterday"}}"#;
    assert!(matches!(parse_event(bad_time), Err(EventError::Json(_))));
}
