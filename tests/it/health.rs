//! Health-check rules (core/src/diagnose/health.rs): ELB kills without resource pressure, the
//! codes and timeouts they quote, kills during start-up, and exit 137 after an ELB kill.

use ecs_autopsy::evidence::{Evidence, ServiceFacts};
use ecs_autopsy::{Cause, diagnose};
use serde_json::json;

use crate::support::{elb_kill, event_with, service_events};

#[test]
fn exit_137_after_elb_kill_is_not_oom() {
    let d = diagnose(&event_with(elb_kill(137)), &Evidence::default());
    assert_eq!(d.cause, Cause::ElbHealthCheckFailed);
    assert!(
        d.findings
            .iter()
            .any(|f| f.observed.contains("did not exit within stopTimeout 30 s"))
    );
}

#[test]
fn elb_kill_without_evidence_says_how_to_tell_starvation_from_a_broken_check() {
    // Arrange
    let event = event_with(elb_kill(137));

    // Act
    let d = diagnose(&event, &Evidence::default());
    let sms = ecs_autopsy::report::render_sms(&event, &d, None);

    // Assert: the SMS does not say the cause twice, and the reader learns what to look at.
    assert_eq!(sms.matches("health checks").count(), 1, "{sms}");
    assert!(
        d.recommendations
            .iter()
            .any(|r| r.contains("Request timed out") && r.contains("share of its allocation")),
        "{:?}",
        d.recommendations
    );
}

#[test]
fn health_check_codes_make_an_elb_failure_and_are_quoted() {
    let evidence = Evidence {
        service: Some(service_events(&[
            "(service web) (port 8080) is unhealthy in (target-group x) due to (reason Health checks failed with these codes: [404]).",
        ])),
        ..Evidence::default()
    };
    let d = diagnose(&event_with(elb_kill(143)), &evidence);
    assert_eq!(d.cause, Cause::ElbHealthCheckFailed);
    assert!(d.summary.contains("[404]"));
    assert_eq!(d.key_fact, "ALB check got [404]");
}

#[test]
fn killed_soon_after_start_recommends_a_grace_period() {
    let mut detail = elb_kill(143);
    detail["startedAt"] = json!("2026-10-01T11:59:00Z");
    let evidence = Evidence {
        service: Some(ServiceFacts {
            name: "web".into(),
            health_check_grace_period_seconds: Some(0),
            ..ServiceFacts::default()
        }),
        ..Evidence::default()
    };
    let d = diagnose(&event_with(detail), &evidence);
    assert!(
        d.recommendations
            .iter()
            .any(|r| r.contains("grace period is 0 s")),
        "{:?}",
        d.recommendations
    );
}
