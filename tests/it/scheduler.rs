//! Scheduler rules (core/src/diagnose/scheduler.rs): deployments and scale-in, StopTask by a
//! person or tool, the circuit breaker's rollbacks and slow shutdowns at stopTimeout.

use ecs_autopsy::evidence::{ContainerDefinitionFacts, Evidence, TaskDefinitionFacts};
use ecs_autopsy::{Cause, Severity, diagnose};
use serde_json::json;

use crate::support::{event_with, service_events};

#[test]
fn exit_137_in_a_deployment_is_benign_with_the_slow_shutdown_fix() {
    let event = event_with(json!({
        "stopCode": "ServiceSchedulerInitiated",
        "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/123)",
        "containers": [{"name": "web", "exitCode": 137}]
    }));
    let evidence = Evidence {
        task_definition: Some(TaskDefinitionFacts {
            family: "web".into(),
            containers: vec![ContainerDefinitionFacts {
                name: "web".into(),
                essential: true,
                stop_timeout: Some(90),
                ..ContainerDefinitionFacts::default()
            }],
            ..TaskDefinitionFacts::default()
        }),
        ..Evidence::default()
    };
    let d = diagnose(&event, &evidence);
    assert_eq!(d.cause, Cause::Deployment);
    assert_eq!(d.severity, Severity::Info);
    assert!(d.benign);
    assert!(
        d.findings
            .iter()
            .any(|f| f.observed.contains("stopTimeout 90 s"))
    );
    assert!(d.recommendations.iter().any(|r| r.contains("SIGTERM")));
}

#[test]
fn exit_143_in_a_deployment_has_no_slow_shutdown_finding() {
    let event = event_with(json!({
        "stopCode": "ServiceSchedulerInitiated",
        "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/123)",
        "containers": [{"name": "web", "exitCode": 143}]
    }));
    let d = diagnose(&event, &Evidence::default());
    assert!(!d.findings.iter().any(|f| f.signal.contains("exit 137")));
}

#[test]
fn a_custom_stop_task_reason_is_quoted() {
    let event =
        event_with(json!({"stopCode": "UserInitiated", "stoppedReason": "rotating credentials"}));
    let d = diagnose(&event, &Evidence::default());
    assert_eq!(d.cause, Cause::UserStopped);
    assert!(d.summary.contains("rotating credentials"));
    assert!(d.benign);
}

#[test]
fn a_failed_deployment_raises_a_scheduler_stop_above_info() {
    let event = event_with(json!({"stopCode": "ServiceSchedulerInitiated",
                                  "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/1)"}));
    let evidence = Evidence {
        service: Some(service_events(&[
            "(service web) (deployment ecs-svc/1) deployment failed: tasks failed to start.",
        ])),
        ..Evidence::default()
    };
    let d = diagnose(&event, &evidence);
    assert_eq!(d.cause, Cause::Deployment);
    assert_eq!(d.severity, Severity::Warning);
}
