//! Which container decided, what the others did, what ECS's words and codes say: the
//! multi-container, restart-count, stop-code and unknown-wording behaviour of the engine.

use ecs_autopsy::evidence::{ContainerDefinitionFacts, Evidence, TaskDefinitionFacts};
use ecs_autopsy::report::{ConsoleLinks, Record, render_email, render_html};
use ecs_autopsy::{Cause, Severity, diagnose};
use serde_json::json;

use crate::support::{event_with, observed};

fn containers(defs: &[(&str, bool)]) -> Evidence {
    Evidence {
        task_definition: Some(TaskDefinitionFacts {
            family: "web".into(),
            containers: defs
                .iter()
                .map(|(name, essential)| ContainerDefinitionFacts {
                    name: (*name).into(),
                    essential: *essential,
                    ..ContainerDefinitionFacts::default()
                })
                .collect(),
            ..TaskDefinitionFacts::default()
        }),
        ..Evidence::default()
    }
}

fn essential_exit(containers: serde_json::Value) -> serde_json::Value {
    json!({
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "containers": containers
    })
}

#[test]
fn oom_killed_log_router_is_named_and_the_app_was_stopped_by_ecs() {
    let event = event_with(essential_exit(json!([
        {"name": "api", "exitCode": 143},
        {"name": "log_router", "exitCode": 137,
         "reason": "OutOfMemoryError: Container killed due to memory usage"}
    ])));
    let evidence = containers(&[("api", true), ("log_router", true)]);

    let d = diagnose(&event, &evidence);

    assert_eq!(d.cause, Cause::OomKilled);
    assert_eq!(d.container.as_deref(), Some("log_router"));
    assert!(
        d.summary.contains("ECS then stopped api (exit 143)"),
        "{}",
        d.summary
    );
}

#[test]
fn crashed_sidecar_decides_over_the_app_ecs_stopped_after_it() {
    // The app is listed first and got 137 at stopTimeout; the sidecar is the one that failed.
    let event = event_with(essential_exit(json!([
        {"name": "api", "exitCode": 137},
        {"name": "envoy", "exitCode": 1}
    ])));
    let evidence = containers(&[("api", true), ("envoy", true)]);

    let d = diagnose(&event, &evidence);

    assert_eq!(d.cause, Cause::AppCrashed);
    assert_eq!(d.container.as_deref(), Some("envoy"));
    assert_eq!(d.exit_code, Some(1));
}

#[test]
fn finished_job_with_a_sidecar_killed_at_stop_timeout_is_app_exited_not_a_mystery_137() {
    let event = event_with(json!({
        "group": "family:nightly-export",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "containers": [
            {"name": "datadog-agent", "exitCode": 137},
            {"name": "export", "exitCode": 0}
        ]
    }));
    let evidence = containers(&[("datadog-agent", true), ("export", true)]);

    let d = diagnose(&event, &evidence);

    assert_eq!(d.cause, Cause::AppExited);
    assert_eq!(d.container.as_deref(), Some("export"));
    assert_eq!(d.severity, Severity::Info);
    assert!(d.benign);
    let text = serde_json::to_string(&d.findings).unwrap_or_default();
    assert!(
        text.contains("datadog-agent exited 137 after export ended"),
        "{text}"
    );
    assert!(text.contains("not an OOM kill"), "{text}");
}

#[test]
fn non_essential_container_death_is_context_not_the_verdict() {
    let event = event_with(json!({
        "stopCode": "ServiceSchedulerInitiated",
        "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/1)",
        "containers": [
            {"name": "api", "exitCode": 143},
            {"name": "xray", "exitCode": 137,
             "reason": "OutOfMemoryError: Container killed due to memory usage"}
        ]
    }));
    let evidence = containers(&[("api", true), ("xray", false)]);

    let d = diagnose(&event, &evidence);

    assert_eq!(d.cause, Cause::Deployment);
    let f = observed(&d, "non-essential container");
    assert!(f.contains("xray exited 137"), "{f}");
    assert!(f.contains("did not stop the task"), "{f}");
}

#[test]
fn restart_count_of_the_deciding_container_is_told() {
    let event = event_with(essential_exit(json!([
        {"name": "api", "exitCode": 1, "restartCount": 4}
    ])));

    let d = diagnose(&event, &Evidence::default());

    assert_eq!(d.cause, Cause::AppCrashed);
    let restarts = observed(&d, "restarts");
    assert!(
        restarts.contains("restarted 4 times by its restart policy"),
        "{restarts}"
    );
    assert!(
        d.recommendations
            .iter()
            .any(|r| r.contains("failed 4 times"))
    );
}

#[test]
fn terminated_ec2_host_under_termination_notice_is_host_lost_and_notified() {
    let event = event_with(json!({
        "launchType": "EC2",
        "stopCode": "TerminationNotice",
        "stoppedReason": "Host EC2 (instance i-0abc1234def567890) terminated.",
        "containers": [{"name": "web", "exitCode": 143}]
    }));

    let d = diagnose(&event, &Evidence::default());

    assert_eq!(d.cause, Cause::HostLost);
    assert_eq!(d.rule, "infrastructure.host_lost");
    assert!(!d.benign, "a lost host is notified");
    assert_eq!(d.key_fact, "i-0abc1234def567890 terminated");
}

#[test]
fn infrastructure_health_stop_code_is_host_lost() {
    let event = event_with(json!({"stopCode": "InfrastructureHealth", "stoppedReason": ""}));

    let d = diagnose(&event, &Evidence::default());

    assert_eq!(d.cause, Cause::HostLost);
    assert!(d.summary.contains("InfrastructureHealth"), "{}", d.summary);
}

#[test]
fn managed_instance_draining_is_host_lost() {
    // AWS Batch user guide, "Instance draining and task interruptions" (ECS Managed Instances).
    let event = event_with(json!({
        "stopCode": "ServiceSchedulerInitiated",
        "stoppedReason": "Task stopped during instance draining"
    }));

    let d = diagnose(&event, &Evidence::default());

    assert_eq!(d.cause, Cause::HostLost);
    assert_eq!(d.key_fact, "instance drained");
}

#[test]
fn maintenance_with_a_service_prefix_is_platform_maintenance() {
    let event = event_with(json!({
        "stopCode": "TerminationNotice",
        "stoppedReason": "Service web: ECS is performing maintenance on the underlying infrastructure hosting the task"
    }));

    assert_eq!(
        diagnose(&event, &Evidence::default()).cause,
        Cause::PlatformMaintenance
    );
}

#[test]
fn unknown_reason_and_stop_code_are_quoted_not_dropped() {
    let event = event_with(json!({
        "stopCode": "CapacityRebalance",
        "stoppedReason": "Task moved to rebalance capacity",
        "containers": [{"name": "web", "reason": "SomethingNewError: the runtime said no"}]
    }));

    let d = diagnose(&event, &Evidence::default());
    let text = serde_json::to_string(&d.findings).unwrap_or_default();

    assert!(text.contains("Task moved to rebalance capacity"), "{text}");
    assert!(
        text.contains("SomethingNewError: the runtime said no"),
        "{text}"
    );
    assert!(
        text.contains("CapacityRebalance (newer than this catalogue"),
        "{text}"
    );
}

#[test]
fn every_verdict_names_its_rule() {
    let event = event_with(essential_exit(json!([{"name": "web", "exitCode": 1}])));

    let d = diagnose(&event, &Evidence::default());

    assert_eq!(d.rule, "exit.essential");
}

#[test]
fn start_failure_rule_id_follows_the_failed_step() {
    let cases = [
        (
            "CannotPullContainerError: inspect image has been retried 5 time(s): httpReaderSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/manifests/sha256:2bb5 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.",
            "start.image_pull",
        ),
        (
            "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.",
            "start.log_driver",
        ),
        (
            "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: stderr: b'mount.nfs4: access denied by server while mounting 127.0.0.1:/'",
            "start.volume",
        ),
        (
            "Timeout waiting for network interface provisioning to complete.",
            "start.network",
        ),
        (
            "ContainerRuntimeTimeoutError: Could not transition to running; timed out after waiting 1m: context deadline exceeded",
            "start.runtime",
        ),
        ("InternalError: unexpected internal error", "start.other"),
    ];
    for (reason, rule) in cases {
        let event = event_with(json!({
            "stopCode": "TaskFailedToStart", "stoppedReason": reason, "startedAt": null
        }));

        let d = diagnose(&event, &Evidence::default());

        assert_eq!(d.cause, Cause::FailedToStart, "{reason}");
        assert_eq!(d.rule, rule, "{reason}");
    }
}

#[test]
fn the_deciding_rule_is_in_the_record_the_email_and_the_html_report() {
    let event = event_with(essential_exit(json!([{"name": "web", "exitCode": 139}])));
    let evidence = Evidence::default();
    let d = diagnose(&event, &evidence);

    let record: serde_json::Value = serde_json::from_str(
        &Record::new(&event, &evidence, &d)
            .to_json_line()
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    let email = render_email(
        &event,
        &evidence,
        &d,
        &ConsoleLinks::for_event(&event),
        None,
    );
    let html = render_html(&event, &evidence, &d).unwrap_or_default();

    assert_eq!(record["diagnosis"]["rule"], "exit.essential");
    assert!(email.contains("Rule:      exit.essential"), "{email}");
    assert!(html.contains("<code>exit.essential</code>"));
}

#[test]
fn a_record_archived_before_rules_had_ids_still_replays() {
    let event = event_with(essential_exit(json!([{"name": "web", "exitCode": 1}])));
    let evidence = Evidence::default();
    let mut old =
        serde_json::to_value(Record::new(&event, &evidence, &diagnose(&event, &evidence)))
            .unwrap_or_default();
    if let Some(d) = old["diagnosis"].as_object_mut() {
        d.remove("rule");
    }

    let record: Result<Record, _> = serde_json::from_value(old);

    let record = record.expect("an old record without diagnosis.rule reads back");
    assert_eq!(record.diagnosis.rule, "");
    assert_eq!(
        diagnose(&record.event, &record.evidence).rule,
        "exit.essential"
    );
}
