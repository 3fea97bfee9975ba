//! Start failures (core/src/diagnose/start.rs): each failed step told apart by ECS's reason.

use ecs_autopsy::evidence::Evidence;
use ecs_autopsy::{Cause, diagnose};
use serde_json::json;

use crate::support::event_with;

fn failed_start(reason: &str) -> ecs_autopsy::Diagnosis {
    let event = event_with(json!({
        "stopCode": "TaskFailedToStart", "stoppedReason": reason, "startedAt": null,
        "containers": [{"name": "web", "image": "123.dkr.ecr.eu-west-1.amazonaws.com/web:v9"}]
    }));
    diagnose(&event, &Evidence::default())
}

#[test]
fn start_failures_are_told_apart_by_their_reason() {
    let denied = failed_start(
        "CannotPullContainerError: pull access denied for web, repository does not exist or may require 'docker login'",
    );
    assert_eq!(denied.cause, Cause::FailedToStart);
    assert!(denied.recommendations[0].contains("ecr:BatchGetImage"));
    let net = failed_start(
        "CannotPullContainerError: failed to do request: dial tcp 52.1.1.1:443: i/o timeout",
    );
    assert!(net.recommendations[0].contains("VPC endpoints"));
    let logger = failed_start(
        "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.",
    );
    assert!(
        logger.recommendations[0].contains("log group"),
        "{:?}",
        logger.recommendations
    );
    let eni = failed_start(
        "ResourceInitializationError: failed to configure ENI: subnet has insufficient free addresses",
    );
    assert_eq!(eni.key_fact, "ENI not attached");
}
