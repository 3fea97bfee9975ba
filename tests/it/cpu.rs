//! CPU rules (core/src/diagnose/cpu.rs): pressure as a share of the task's allocation, the
//! Average-versus-Maximum trap, short spikes, and burstable hosts out of credits.

use ecs_autopsy::evidence::{Allocation, Evidence, HostFacts, Metrics};
use ecs_autopsy::{Cause, diagnose};
use serde_json::json;

use crate::support::{
    ELB_REASON, TIMED_OUT, elb_kill, event_with, kill_time, observed, series_ending, service_events,
};

fn cpu_evidence(avg: Option<&[f64]>, max: Option<&[f64]>, task: Option<&[f64]>) -> Evidence {
    Evidence {
        service: Some(service_events(&[TIMED_OUT, TIMED_OUT])),
        metrics: Some(Metrics {
            service_cpu_avg_pct: avg.map(|v| series_ending(kill_time(), v)),
            service_cpu_max_pct: max.map(|v| series_ending(kill_time(), v)),
            task_cpu_pct: task.map(|v| series_ending(kill_time(), v)),
            ..Metrics::default()
        }),
        ..Evidence::default()
    }
}

#[test]
fn service_maximum_at_the_limit_is_starvation_though_the_average_looks_fine() {
    let avg = [40.0, 45.0, 48.0, 50.0, 49.0, 50.0, 51.0];
    let max = [60.0, 92.0, 99.0, 100.0, 100.0, 99.0, 100.0];
    let d = diagnose(
        &event_with(elb_kill(137)),
        &cpu_evidence(Some(&avg), Some(&max), None),
    );
    assert_eq!(d.cause, Cause::CpuStarved);
    assert!(
        d.findings
            .iter()
            .any(|f| f.observed.contains("Average hid one saturated task"))
    );
}

#[test]
fn average_alone_below_the_line_does_not_make_starvation() {
    let avg = [40.0, 45.0, 48.0, 50.0, 49.0, 50.0, 51.0];
    let d = diagnose(
        &event_with(elb_kill(137)),
        &cpu_evidence(Some(&avg), None, None),
    );
    assert_eq!(d.cause, Cause::ElbHealthCheckFailed);
    // 51% is under the pressure line but far from idle: the words follow the thresholds.
    assert!(
        d.summary.contains("under the 70% pressure line"),
        "{}",
        d.summary
    );
    assert!(!d.summary.contains("idle"), "{}", d.summary);
}

#[test]
fn a_short_cpu_spike_is_not_sustained_starvation() {
    let task = [20.0, 25.0, 30.0, 35.0, 95.0, 40.0, 30.0];
    let d = diagnose(
        &event_with(elb_kill(143)),
        &cpu_evidence(None, None, Some(&task)),
    );
    assert_eq!(d.cause, Cause::ElbHealthCheckFailed);
}

#[test]
fn task_cpu_pinned_gives_a_concrete_cpu_recommendation() {
    let task = [50.0, 91.0, 96.0, 99.0, 100.0, 100.0, 100.0, 99.0];
    let d = diagnose(
        &event_with(elb_kill(137)),
        &cpu_evidence(None, None, Some(&task)),
    );
    assert_eq!(d.cause, Cause::CpuStarved);
    assert!(
        d.recommendations
            .iter()
            .any(|r| r.starts_with("Raise task cpu 512 → 1024")),
        "{:?}",
        d.recommendations
    );
    assert!(d.key_fact.contains("of 512u"), "{}", d.key_fact);
}

fn host_evidence(instance_type: &str, credits: &[f64]) -> Evidence {
    let mut e = cpu_evidence(None, None, Some(&[60.0, 65.0, 70.0, 72.0, 68.0, 71.0]));
    e.host = Some(HostFacts {
        ec2_instance_id: Some("i-0123".into()),
        instance_type: Some(instance_type.into()),
        ..HostFacts::default()
    });
    if let Some(m) = e.metrics.as_mut() {
        m.host_cpu_credit_balance = Some(series_ending(kill_time(), credits));
    }
    e
}

#[test]
fn burstable_host_out_of_credits_starves_the_task() {
    let ec2 = json!({"launchType": "EC2", "stopCode": "ServiceSchedulerInitiated", "stoppedReason": ELB_REASON,
                     "containers": [{"name": "web", "exitCode": 143}]});
    let d = diagnose(
        &event_with(ec2),
        &host_evidence("t3.medium", &[8.0, 4.0, 1.0, 0.0, 0.0, 0.0]),
    );
    assert_eq!(d.cause, Cause::CpuStarved);
    assert!(
        d.recommendations
            .iter()
            .any(|r| r.contains("off t3.medium"))
    );
}

#[test]
fn burstable_host_with_credits_left_does_not_starve() {
    let d = diagnose(
        &event_with(elb_kill(143)),
        &host_evidence("t3.medium", &[80.0, 79.0, 78.0]),
    );
    assert_eq!(d.cause, Cause::ElbHealthCheckFailed);
}

#[test]
fn credit_balance_of_a_non_burstable_host_is_ignored() {
    let d = diagnose(
        &event_with(elb_kill(143)),
        &host_evidence("m5.large", &[0.0, 0.0, 0.0]),
    );
    assert_eq!(d.cause, Cause::ElbHealthCheckFailed);
}

#[test]
fn with_no_cpu_reserved_the_share_is_said_to_be_of_the_host() {
    // Arrange: an EC2 task without task-level cpu; Container Insights' CpuReserved is then the
    // instance's CPU, as gathering recorded.
    let event = event_with(json!({"launchType": "EC2", "cpu": null, "stoppedReason": ELB_REASON}));
    let mut evidence = cpu_evidence(None, None, Some(&[50.0, 60.0, 70.0, 65.0]));
    if let Some(m) = evidence.metrics.as_mut() {
        m.task_cpu_of = Some(Allocation::Reserved);
    }

    // Act
    let d = diagnose(&event, &evidence);

    // Assert
    let how = observed(&d, "how utilization is measured");
    assert!(how.contains("is the host's CPU"), "{how}");
    assert!(!how.contains("not of the host"), "{how}");
    // The reports' legends say the same.
    let email = ecs_autopsy::report::render_email(
        &event,
        &evidence,
        &d,
        &ecs_autopsy::report::ConsoleLinks::for_event(&event),
        None,
    );
    assert!(
        email.contains("(no CPU reserved) is the host's CPU"),
        "{email}"
    );
    assert!(!email.contains("not of the host"), "{email}");
    let html = ecs_autopsy::report::render_html(&event, &evidence, &d).expect("html");
    assert!(html.contains("(no CPU reserved) is the host"), "legend");
}

#[test]
fn a_task_level_cpu_share_is_of_the_tasks_allocation() {
    let mut evidence = cpu_evidence(None, None, Some(&[50.0, 60.0, 70.0, 65.0]));
    if let Some(m) = evidence.metrics.as_mut() {
        m.task_cpu_of = Some(Allocation::Task);
    }
    let d = diagnose(&event_with(elb_kill(143)), &evidence);
    let how = observed(&d, "how utilization is measured");
    assert!(how.contains("not of the host"), "{how}");
}
