//! Missing evidence (core/src/evidence.rs, core/src/diagnose/mod.rs): what could not be read is
//! listed and lowers confidence; what was read in part is listed without lowering it.

use ecs_autopsy::diagnose;
use ecs_autopsy::evidence::{Evidence, MissingEvidence, MissingKind, Source};

use crate::support::{elb_kill, event_with};

#[test]
fn missing_evidence_lowers_confidence_and_is_listed() {
    let event = event_with(elb_kill(143));
    let full = diagnose(&event, &Evidence::default());
    let mut evidence = Evidence::default();
    evidence.missing.push(
        MissingEvidence::new(Source::Metrics, MissingKind::Denied, "AccessDenied")
            .with_iam_action("cloudwatch:GetMetricData"),
    );
    evidence.mark_missing(Source::Service, "Throttling");
    let partial = diagnose(&event, &evidence);
    assert_eq!(partial.cause, full.cause);
    assert!(partial.confidence < full.confidence);
    assert_eq!(partial.missing.len(), 2);
    assert!(partial.missing[0].contains("CloudWatch metrics: AccessDenied"));
    assert!(partial.missing[0].ends_with("(grant cloudwatch:GetMetricData)"));
}

#[test]
fn a_partly_read_source_is_listed_but_does_not_lower_confidence() {
    // Arrange: one target group's health could not be read; the source as a whole was.
    let event = event_with(elb_kill(143));
    let full = diagnose(&event, &Evidence::default());
    let mut evidence = Evidence::default();
    evidence.missing.push(
        MissingEvidence::new(
            Source::TargetHealth,
            MissingKind::Throttled,
            "target group tg: Throttling",
        )
        .partial(),
    );

    // Act
    let d = diagnose(&event, &evidence);

    // Assert
    assert!(!evidence.is_missing(Source::TargetHealth));
    assert_eq!(d.confidence, full.confidence);
    assert_eq!(
        d.missing,
        vec!["ALB target health (in part): target group tg: Throttling".to_owned()]
    );
}
