//! Scaling posture and log volume against the emulator: Application Auto Scaling, capacity
//! providers and the AWS/Logs metrics are gathered over HTTP and named in the verdict with the
//! numbers that were read.

use std::time::Duration;

use ecs_autopsy::evidence::{Evidence, Source};
use ecs_autopsy::gather::{Clients, Settings, gather};
use ecs_autopsy::{Cause, Diagnosis, diagnose};

use crate::sandbox::sandbox;

async fn gathered(scenario: &str) -> (Evidence, Diagnosis) {
    let sb = sandbox();
    let clients = Clients::new(&sb.sdk_config().await);
    let event = sb.event(scenario);
    let evidence = gather(
        &clients,
        &event,
        &Settings::new(30, Duration::from_secs(30)),
    )
    .await;
    let diagnosis = diagnose(&event, &evidence);
    (evidence, diagnosis)
}

/// None of the scaling sources is recorded as missing (the samples plant no container logs).
fn scaling_read(e: &Evidence) -> bool {
    [Source::Scaling, Source::ScalingActivities, Source::Capacity]
        .into_iter()
        .all(|s| !e.is_missing(s))
}

fn finding<'a>(d: &'a Diagnosis, signal: &str, needle: &str) -> Option<&'a str> {
    d.findings
        .iter()
        .filter(|f| f.signal == signal)
        .map(|f| f.observed.as_str())
        .find(|o| o.contains(needle))
}

#[tokio::test]
async fn signup_day_names_the_policy_that_never_fired_managed_scaling_off_and_the_log_rate() {
    // Arrange + Act
    let (e, d) = gathered("seed").await;

    // Assert: the posture was read from the emulator…
    assert!(e.missing.is_empty(), "{:?}", e.missing);
    let scaling = e.scaling.as_ref().expect("scaling read");
    let target = scaling.target.as_ref().expect("scalable target");
    assert_eq!((target.min_capacity, target.max_capacity), (3, 8));
    assert_eq!(scaling.policies[0].target_value, Some(75.0));
    let capacity = e.capacity.as_ref().expect("capacity providers read");
    assert_eq!(
        capacity.providers[0].managed_scaling.as_deref(),
        Some("DISABLED")
    );
    let m = e.metrics.as_ref().expect("metrics");
    assert!(m.log_events.is_some() && m.alb_requests.is_some());
    assert_eq!(m.log_groups, ["/ecs/seed/judge-api"]);

    // …and the verdict names it with the numbers.
    assert_eq!(d.cause, Cause::CpuStarved);
    let policy = finding(&d, "service auto scaling", "never fired").expect("policy finding");
    assert!(
        policy.contains("ECSServiceAverageCPUUtilization at 75%")
            && policy.contains("Average peaked at 63%"),
        "{policy}"
    );
    let cap = finding(&d, "cluster capacity", "DISABLED").expect("capacity finding");
    assert!(
        cap.contains("seed-judge-api-asg") && cap.contains("CPUReservation peaked at 96%"),
        "{cap}"
    );
    let log = finding(&d, "log volume", "log lines per request").expect("log finding");
    assert!(log.starts_with("≈ 12 log lines per request"), "{log}");
    assert!(log.contains("rose 6.0×"), "{log}");
    let p = d.posture.as_ref().expect("posture recorded");
    let lv = p.log.as_ref().expect("log volume recorded");
    assert_eq!(lv.lines_per_request.map(f64::round), Some(12.0));
    assert_eq!(p.cluster_cpu_reservation_peak_pct, Some(96.0));
    assert!(
        d.recommendations
            .iter()
            .any(|r| r.starts_with("Cut log volume (≈ 12 lines per request"))
    );
    assert!(
        d.recommendations.iter().any(
            |r| r.starts_with("Enable managed scaling on capacity provider seed-judge-api-asg")
        )
    );
    assert!(
        !d.recommendations
            .iter()
            .any(|r| r.contains("general advice")),
        "{:?}",
        d.recommendations
    );
}

#[tokio::test]
async fn working_policy_at_max_capacity_says_so() {
    let (e, d) = gathered("at-max").await;

    assert!(scaling_read(&e), "{:?}", e.missing);
    assert_eq!(
        e.scaling_activities.as_ref().map(Vec::len),
        Some(3),
        "every planted activity is inside the window"
    );
    assert_eq!(d.cause, Cause::CpuStarved);
    let at_max = finding(&d, "service auto scaling", "at max capacity").expect("at-max finding");
    assert!(
        at_max.starts_with("at max capacity 4 for 18 min"),
        "{at_max}"
    );
    assert!(
        d.recommendations
            .iter()
            .any(|r| r.starts_with("Raise the scalable target's max capacity above 4"))
    );
    let p = d.posture.as_ref().expect("posture");
    assert_eq!(p.scale_outs_before_kill, Some(2));
    // Two lines per request and no rise: logging is context, not a cause, and no log advice.
    let log = finding(&d, "log volume", "≈ 2 log lines per request").expect("log context");
    assert!(!log.is_empty());
    assert!(!d.recommendations.iter().any(|r| r.contains("log volume")));
    // Fargate: no capacity providers to read, and no advice about them.
    assert!(e.capacity.is_none());
    assert!(
        !d.recommendations
            .iter()
            .any(|r| r.contains("capacity provider"))
    );
}

#[tokio::test]
async fn service_without_scaling_or_log_metrics_gets_no_invented_numbers() {
    let (e, d) = gathered("no-scaling").await;

    assert!(scaling_read(&e), "{:?}", e.missing);
    assert!(e.scaling.as_ref().is_some_and(|s| s.target.is_none()));
    assert!(e.metrics.as_ref().is_some_and(|m| m.log_events.is_none()));
    let fixed =
        finding(&d, "service auto scaling", "no scalable target").expect("no-target finding");
    // The only number is the desired count DescribeServices returned.
    let desired = e
        .service
        .as_ref()
        .and_then(|s| s.desired_count)
        .expect("desired count read");
    assert!(fixed.contains(&format!("fixed at {desired}")), "{fixed}");
    assert!(finding(&d, "log volume", "").is_none());
    let p = d.posture.as_ref().expect("posture");
    assert!(p.log.is_none() && p.max_capacity.is_none() && p.at_max_minutes.is_none());
    assert!(
        !d.recommendations
            .iter()
            .any(|r| r.contains("per request") || r.contains("max capacity")),
        "{:?}",
        d.recommendations
    );
}
