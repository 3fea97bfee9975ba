//! Scaling posture and log volume against the emulator: Application Auto Scaling, capacity
//! providers and the AWS/Logs metrics are gathered over HTTP and named in the verdict with the
//! numbers that were read.

use ecs_autopsy::diagnose::TimelineSource;
use ecs_autopsy::evidence::{Evidence, ManagedScaling, Source};
use ecs_autopsy::{Cause, Diagnosis, diagnose};

use crate::gather::gathered;

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
        capacity.providers[0].managed_scaling,
        Some(ManagedScaling::Disabled)
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
    assert!(
        d.timeline
            .iter()
            .any(|t| t.source == TimelineSource::Scaling
                && t.text.ends_with("not scaled: AlreadyAtMaxCapacity")),
        "{:?}",
        d.timeline
    );
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

fn explain_seed_record() -> serde_json::Value {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events");
    let name = "cpu_starved_elb_kill_ec2_signup_day";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .arg("explain")
        .arg("--event")
        .arg(dir.join(format!("{name}.json")))
        .arg("--evidence")
        .arg(dir.join(format!("{name}.evidence.json")))
        .args(["--format", "json"])
        .output()
        .expect("run ecs-autopsy");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON record")
}

#[test]
fn the_record_keeps_the_numbers_behind_every_scaling_sentence() {
    // Arrange + Act
    let record = explain_seed_record();

    // Assert: each number the findings print is in diagnosis.posture, read from the evidence.
    let p = &record["diagnosis"]["posture"];
    assert_eq!(p["cpu_average_peak_pct"], 63.0);
    assert_eq!(p["cluster_cpu_reservation_peak_pct"], 96.0);
    assert_eq!(p["log"]["lines_per_request"], 12.0);
    assert_eq!(p["log"]["rise"], 6.0);
    assert_eq!(p["log"]["events_per_min"], 1500.0);
    assert_eq!(p["log"]["requests_per_min"], 125.0);
    assert_eq!(
        record["evidence"]["scaling"]["policies"][0]["target_value"],
        75.0
    );
}

#[test]
fn replay_of_a_record_without_scaling_evidence_gives_general_advice_that_says_so() {
    // Arrange: a record as archived before the scaling sources existed.
    let mut record = explain_seed_record();
    for key in ["scaling", "scaling_activities", "capacity"] {
        record["evidence"]
            .as_object_mut()
            .expect("evidence object")
            .remove(key);
    }
    let metrics = record["evidence"]["metrics"]
        .as_object_mut()
        .expect("metrics object");
    for key in [
        "alb_requests",
        "alb_requests_per_target",
        "log_groups",
        "log_events",
        "log_bytes",
        "cluster_cpu_reservation_pct",
        "cluster_memory_reservation_pct",
    ] {
        metrics.remove(key);
    }
    record["diagnosis"]
        .as_object_mut()
        .expect("diagnosis object")
        .remove("posture");
    let dir = std::env::temp_dir().join(format!("scaling-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("old.json");
    std::fs::write(&path, record.to_string()).expect("write record");

    // Act
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .arg("replay")
        .arg(&path)
        .args(["--format", "json"])
        .output()
        .expect("run ecs-autopsy");

    // Assert
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON record");
    assert_eq!(again["changed"], false);
    assert_eq!(again["now"]["cause"], "cpu_starved");
    assert!(again["now"].get("posture").is_some());
    let recs: Vec<&str> = again["now"]["recommendations"]
        .as_array()
        .expect("recommendations")
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert!(
        recs.iter()
            .any(|r| r.contains("general advice: the service's auto scaling was not gathered")),
        "{recs:?}"
    );
    assert!(
        recs.iter()
            .any(|r| r
                .contains("general advice: the cluster's capacity providers were not gathered")),
        "{recs:?}"
    );
    assert!(!recs.iter().any(|r| r.contains("per request")), "{recs:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn email_and_html_show_the_scaling_panel_and_the_log_rate_on_the_cpu_chart() {
    // Arrange
    let event = crate::support::stopped(crate::event_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let evidence =
        crate::support::evidence(crate::evidence_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let d = diagnose(&event, &evidence);

    // Act
    let email = ecs_autopsy::report::render_email(
        &event,
        &evidence,
        &d,
        &ecs_autopsy::report::ConsoleLinks::default(),
        None,
    );
    let html = ecs_autopsy::report::render_html(&event, &evidence, &d).expect("html");

    // Assert
    assert!(email.contains("SCALING AND LOG VOLUME"), "{email}");
    assert!(
        email.contains("Scaling policies: target tracking ECSServiceAverageCPUUtilization at 75%")
    );
    assert!(email.contains(
        "Capacity providers: judge-api-asg: managed scaling DISABLED, target capacity 100%"
    ));
    assert!(
        email
            .contains("Log volume: 1500 events/min, ≈ 12 lines per request, 6.0× the earlier rate")
    );
    assert!(html.contains("<h2>Scaling and log volume</h2>"));
    assert!(html.contains("Cluster CPUReservation peak</td><td>96%"));
    let cpu_chart = html
        .split("data-chart=\"CPU\"")
        .nth(1)
        .and_then(|rest| rest.split("</svg>").next())
        .expect("CPU chart");
    assert!(
        cpu_chart.contains("log events/min"),
        "the log rate shares the CPU chart"
    );
}

#[test]
fn template_grants_exactly_the_read_only_scaling_actions() {
    let template = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"));
    for action in [
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DescribeScalingActivities",
        "ecs:DescribeClusters",
        "ecs:DescribeCapacityProviders",
    ] {
        assert!(
            template.contains(&format!("- {action}\n")),
            "{action} missing"
        );
    }
    let granted: Vec<&str> = template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- application-autoscaling:"))
        .collect();
    assert!(
        granted.iter().all(|a| a.starts_with("Describe")),
        "{granted:?}"
    );
}
