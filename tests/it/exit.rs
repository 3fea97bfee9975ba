//! Exit rules (core/src/diagnose/exit.rs): what an essential container's exit says when nothing
//! else does, and which container decides (multi-container cases live in attribution.rs).

use ecs_autopsy::evidence::{ContainerDefinitionFacts, Evidence, TaskDefinitionFacts};
use ecs_autopsy::{Cause, Severity, diagnose};
use serde_json::json;

use crate::support::{event_with, exited};

#[test]
fn exit_137_without_reason_or_memory_evidence_is_unknown() {
    let event = event_with(exited(137, None));
    let d = diagnose(&event, &Evidence::default());
    assert_eq!(d.cause, Cause::Unknown);
    assert!(d.confidence < 0.5);
    assert!(
        d.recommendations
            .iter()
            .any(|r| r.contains("Container Insights"))
    );
}

#[test]
fn no_reason_and_no_exit_is_unknown() {
    let event = event_with(json!({"containers": [{"name": "web"}]}));
    let d = diagnose(&event, &Evidence::default());
    assert_eq!(d.cause, Cause::Unknown);
    assert_eq!(d.severity, Severity::Warning);
}

#[test]
fn sidecar_exit_does_not_hide_the_essential_container() {
    let event = event_with(json!({
        "containers": [
            {"name": "log-router", "exitCode": 1},
            {"name": "web", "exitCode": 139}
        ]
    }));
    let evidence = Evidence {
        task_definition: Some(TaskDefinitionFacts {
            family: "web".into(),
            containers: vec![
                ContainerDefinitionFacts {
                    name: "log-router".into(),
                    essential: false,
                    ..Default::default()
                },
                ContainerDefinitionFacts {
                    name: "web".into(),
                    essential: true,
                    ..Default::default()
                },
            ],
            ..TaskDefinitionFacts::default()
        }),
        ..Evidence::default()
    };
    let d = diagnose(&event, &evidence);
    assert_eq!(d.cause, Cause::AppCrashed);
    assert_eq!(d.container.as_deref(), Some("web"));
    assert!(d.summary.contains("SIGSEGV"));
}
