//! OOM and memory rules (core/src/diagnose/memory.rs): exit 137 read with and without ECS's OOM
//! reason and memory evidence, leak versus spike versus a working set that does not fit.

use ecs_autopsy::evidence::Evidence;
use ecs_autopsy::{Cause, Severity, diagnose};

use crate::support::{OOM_REASON, event_with, exited, memory_evidence, observed};

#[test]
fn exit_137_with_oom_reason_is_oom_even_without_evidence() {
    let event = event_with(exited(137, Some(OOM_REASON)));
    let d = diagnose(&event, &Evidence::default());
    assert_eq!(d.cause, Cause::OomKilled);
    assert_eq!(d.severity, Severity::Critical);
    assert_eq!(d.exit_code, Some(137));
}

#[test]
fn exit_137_with_oom_reason_and_memory_at_limit_is_more_certain() {
    let event = event_with(exited(137, Some(OOM_REASON)));
    let alone = diagnose(&event, &Evidence::default());
    let agreed = diagnose(
        &event,
        &memory_evidence(&[60.0, 70.0, 80.0, 90.0, 99.0, 100.0]),
    );
    assert_eq!(agreed.cause, Cause::OomKilled);
    assert!(agreed.confidence > alone.confidence);
}

#[test]
fn exit_137_without_reason_and_memory_at_limit_is_oom() {
    let event = event_with(exited(137, None));
    let d = diagnose(&event, &memory_evidence(&[50.0, 52.0, 51.0, 53.0, 97.5]));
    assert_eq!(d.cause, Cause::OomKilled);
    assert!(
        d.findings
            .iter()
            .any(|f| f.observed.contains("agent sometimes omits"))
    );
}

#[test]
fn exit_137_without_reason_and_memory_far_from_limit_is_not_oom() {
    let event = event_with(exited(137, None));
    let d = diagnose(&event, &memory_evidence(&[30.0, 31.0, 33.0, 32.0, 34.0]));
    assert_eq!(d.cause, Cause::AppCrashed);
    assert!(d.summary.contains("not by the OOM killer"));
}

#[test]
fn steady_growth_is_a_leak_with_a_rate() {
    let leak: Vec<f64> = (0..30).map(|i| 30.0 + f64::from(i) * 2.3).collect();
    let d = diagnose(
        &event_with(exited(137, Some(OOM_REASON))),
        &memory_evidence(&leak),
    );
    assert_eq!(d.cause, Cause::OomKilled);
    let trend = observed(&d, "memory trend");
    assert!(trend.starts_with("steady growth"), "{trend}");
    assert!(trend.contains("MiB/min"), "{trend}");
    assert!(d.key_fact.contains("leak +"), "{}", d.key_fact);
}

#[test]
fn a_sudden_jump_is_a_spike_not_a_leak() {
    let spike = [35.0, 36.0, 35.0, 37.0, 36.0, 35.0, 36.0, 60.0, 99.0];
    let d = diagnose(
        &event_with(exited(137, Some(OOM_REASON))),
        &memory_evidence(&spike),
    );
    let trend = observed(&d, "memory trend");
    assert!(trend.starts_with("sudden spike"), "{trend}");
    assert!(
        d.recommendations
            .iter()
            .any(|r| r.contains("jumped from 35%"))
    );
}

#[test]
fn high_and_flat_is_a_working_set_that_does_not_fit() {
    let flat = [93.0, 94.0, 93.0, 95.0, 94.0, 93.0, 96.0, 99.0];
    let d = diagnose(
        &event_with(exited(137, Some(OOM_REASON))),
        &memory_evidence(&flat),
    );
    assert!(
        d.recommendations
            .iter()
            .any(|r| r.contains("does not fit") && r.contains("1024 → 1536 MiB")),
        "{:?}",
        d.recommendations
    );
}
