//! Each rule of the engine, on small hand-built events and evidence.

use ecs_autopsy::evidence::{
    ContainerDefinitionFacts, Evidence, HostFacts, Metrics, MissingEvidence, MissingKind,
    RecentContainerExit, RecentStop, ServiceEvent, ServiceFacts, Source, TaskDefinitionFacts,
};
use ecs_autopsy::{Cause, Severity, diagnose};
use serde_json::json;

use crate::support::{event_with, kill_time, series_ending, stop_time};

const ELB_REASON: &str = "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef)";
const OOM_REASON: &str = "OutOfMemoryError: Container killed due to memory usage";

fn exited(code: i64, reason: Option<&str>) -> serde_json::Value {
    let mut c = json!({"name": "web", "lastStatus": "STOPPED", "exitCode": code});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    json!({
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "stoppingAt": "2026-10-01T12:00:30Z",
        "containers": [c]
    })
}

fn elb_kill(exit: i64) -> serde_json::Value {
    json!({
        "stopCode": "ServiceSchedulerInitiated",
        "stoppedReason": ELB_REASON,
        "containers": [{"name": "web", "lastStatus": "STOPPED", "exitCode": exit}]
    })
}

fn memory_evidence(values: &[f64]) -> Evidence {
    Evidence {
        metrics: Some(Metrics {
            task_memory_pct: Some(series_ending(stop_time(), values)),
            ..Metrics::default()
        }),
        ..Evidence::default()
    }
}

fn service_events(messages: &[&str]) -> ServiceFacts {
    ServiceFacts {
        name: "web".into(),
        events: messages
            .iter()
            .enumerate()
            .map(|(i, m)| ServiceEvent {
                at: kill_time() - chrono::Duration::minutes(3 - i as i64),
                message: (*m).to_owned(),
            })
            .collect(),
        ..ServiceFacts::default()
    }
}

const TIMED_OUT: &str = "(service web) (port 8080) is unhealthy in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef) due to (reason Request timed out).";

// --- exit 137: the three readings -------------------------------------------------------------

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

// --- CPU: the Average-versus-Maximum trap, burstable hosts ---------------------------------------

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

// --- memory: leak versus spike ----------------------------------------------------------------

#[test]
fn steady_growth_is_a_leak_with_a_rate() {
    let leak: Vec<f64> = (0..30).map(|i| 30.0 + f64::from(i) * 2.3).collect();
    let d = diagnose(
        &event_with(exited(137, Some(OOM_REASON))),
        &memory_evidence(&leak),
    );
    assert_eq!(d.cause, Cause::OomKilled);
    let trend = d
        .findings
        .iter()
        .find(|f| f.signal == "memory trend")
        .expect("a trend finding");
    assert!(
        trend.observed.starts_with("steady growth"),
        "{}",
        trend.observed
    );
    assert!(trend.observed.contains("MiB/min"), "{}", trend.observed);
    assert!(d.key_fact.contains("leak +"), "{}", d.key_fact);
}

#[test]
fn a_sudden_jump_is_a_spike_not_a_leak() {
    let spike = [35.0, 36.0, 35.0, 37.0, 36.0, 35.0, 36.0, 60.0, 99.0];
    let d = diagnose(
        &event_with(exited(137, Some(OOM_REASON))),
        &memory_evidence(&spike),
    );
    let trend = d
        .findings
        .iter()
        .find(|f| f.signal == "memory trend")
        .expect("a trend finding");
    assert!(
        trend.observed.starts_with("sudden spike"),
        "{}",
        trend.observed
    );
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

// --- repeats, severity, confidence ------------------------------------------------------------

fn recent(n: usize, code: i64) -> Vec<RecentStop> {
    (0..n)
        .map(|i| RecentStop {
            task_arn: format!("arn:aws:ecs:eu-west-1:123456789012:task/prod/{i:032x}"),
            stopped_at: Some(stop_time() - chrono::Duration::minutes(5 * (i as i64 + 1))),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![RecentContainerExit {
                name: "web".into(),
                exit_code: Some(code),
                reason: None,
            }],
        })
        .collect()
}

#[test]
fn repeated_exits_of_a_service_are_a_crash_loop_with_raised_severity() {
    let event = event_with(exited(0, None));
    let alone = diagnose(&event, &Evidence::default());
    assert_eq!(alone.severity, Severity::Warning);
    let evidence = Evidence {
        recent_stops: Some(recent(3, 0)),
        ..Evidence::default()
    };
    let looped = diagnose(&event, &evidence);
    assert_eq!(looped.cause, Cause::AppExited);
    assert_eq!(looped.repeats, 3);
    assert_eq!(looped.severity, Severity::Critical);
    assert!(
        looped
            .findings
            .iter()
            .any(|f| f.observed.contains("crash loop"))
    );
}

#[test]
fn earlier_stops_with_other_causes_do_not_count() {
    let event = event_with(exited(1, None));
    let evidence = Evidence {
        recent_stops: Some(recent(3, 0)),
        ..Evidence::default()
    };
    assert_eq!(diagnose(&event, &evidence).repeats, 0);
}

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

#[test]
fn no_reason_and_no_exit_is_unknown() {
    let event = event_with(json!({"containers": [{"name": "web"}]}));
    let d = diagnose(&event, &Evidence::default());
    assert_eq!(d.cause, Cause::Unknown);
    assert_eq!(d.severity, Severity::Warning);
}

// --- the stop's own words: start failures, infrastructure, people ------------------------------

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
