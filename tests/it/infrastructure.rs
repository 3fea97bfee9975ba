//! Infrastructure rules (core/src/diagnose/infrastructure.rs): Spot reclaims, maintenance and
//! hosts that went away or were drained.

use ecs_autopsy::evidence::{Evidence, HostFacts};
use ecs_autopsy::{Cause, diagnose};
use serde_json::json;

use crate::support::event_with;

#[test]
fn spot_notice_on_fargate_spot_is_spot_not_maintenance() {
    let event = event_with(
        json!({"stopCode": "TerminationNotice", "capacityProviderName": "FARGATE_SPOT", "stoppedReason": ""}),
    );
    assert_eq!(
        diagnose(&event, &Evidence::default()).cause,
        Cause::SpotInterrupted
    );
    let on_demand = event_with(json!({"stopCode": "TerminationNotice", "stoppedReason": ""}));
    assert_eq!(
        diagnose(&on_demand, &Evidence::default()).cause,
        Cause::PlatformMaintenance
    );
}

#[test]
fn draining_host_explains_a_scheduler_stop() {
    let event = event_with(
        json!({"launchType": "EC2", "stopCode": "ServiceSchedulerInitiated",
                                  "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/1)"}),
    );
    let evidence = Evidence {
        host: Some(HostFacts {
            status: Some("DRAINING".into()),
            ec2_instance_id: Some("i-0abc".into()),
            ..HostFacts::default()
        }),
        ..Evidence::default()
    };
    let d = diagnose(&event, &evidence);
    assert_eq!(d.cause, Cause::HostLost);
    assert!(d.summary.contains("i-0abc"));
}

#[test]
fn forced_deregistration_is_host_lost() {
    let event = event_with(
        json!({"stopCode": "UserInitiated", "stoppedReason": "Container instance deregistration forced by user"}),
    );
    assert_eq!(
        diagnose(&event, &Evidence::default()).cause,
        Cause::HostLost
    );
}
