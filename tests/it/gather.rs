//! Gathering against the emulator: real SDK calls over HTTP, real serialization, and the engine
//! naming the right cause from what was gathered.

use std::process::Command;
use std::time::Duration;

use ecs_autopsy::evidence::{Allocation, Evidence, Source};
use ecs_autopsy::gather::{Clients, Settings, gather};
use ecs_autopsy::{Cause, Diagnosis, diagnose};

use crate::sandbox::{PLANTED, sandbox};
use crate::support::observed;

/// Gathers `scenario` from the emulator with the function's own settings and diagnoses it.
pub(crate) async fn gathered(scenario: &str) -> (Evidence, Diagnosis) {
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

#[tokio::test]
async fn seed_case_gathers_every_source_and_is_cpu_starved() {
    let (e, d) = gathered("seed").await;
    assert!(e.missing.is_empty(), "{:?}", e.missing);
    let td = e.task_definition.as_ref().expect("task definition");
    assert_eq!((td.cpu, td.memory), (Some(512), Some(1024)));
    let svc = e.service.as_ref().expect("service");
    assert!(
        svc.events
            .iter()
            .any(|ev| ev.message.contains("Request timed out"))
    );
    assert_eq!(svc.load_balancers.len(), 1);
    // The sample's desired count, as DescribeServices answers it.
    assert_eq!(svc.desired_count, Some(3));
    let tg = &e.target_groups.as_ref().expect("target groups")[0];
    let hc = tg.health_check.as_ref().expect("health check");
    assert_eq!(
        (hc.path.as_deref(), hc.timeout_seconds),
        (Some("/health"), Some(5))
    );
    assert_eq!(
        e.host.as_ref().and_then(|h| h.instance_type.as_deref()),
        Some("m5.large")
    );
    let m = e.metrics.as_ref().expect("metrics");
    let max = |s: &Option<ecs_autopsy::evidence::Series>| {
        s.as_ref()
            .map(|s| s.points().iter().map(|p| p.value).fold(f64::MIN, f64::max))
            .unwrap_or(f64::NAN)
    };
    assert!(max(&m.task_cpu_pct) >= 99.0, "task CPU as % of allocation");
    // The task's own health and its service's recent stops come from one DescribeTasks.
    assert!(e.task.is_some(), "task health read: {:?}", e.missing);
    assert!(
        e.recent_stops.is_some(),
        "recent stops read: {:?}",
        e.missing
    );
    // The seed's task definition sets task-level cpu and memory: the shares are of those.
    assert_eq!(m.task_cpu_of, Some(Allocation::Task));
    assert!(
        max(&m.service_cpu_avg_pct) < 70.0,
        "the Average looked fine"
    );
    assert!(max(&m.service_cpu_max_pct) >= 99.0, "the Maximum did not");
    assert!(max(&m.alb_target_response_time_s) >= 4.9);
    let lines = &e.logs.as_ref().expect("logs")[0].lines;
    assert!(lines.iter().any(|l| l.message.contains("event loop lag")));
    assert_eq!(d.cause, Cause::CpuStarved);
    assert!(d.confidence >= 0.9);
}

#[tokio::test]
async fn oom_with_a_leak_is_named_from_gathered_memory() {
    let (e, d) = gathered("oom-leak").await;
    assert_eq!(d.cause, Cause::OomKilled);
    assert!(
        e.metrics
            .as_ref()
            .and_then(|m| m.task_memory_mib.as_ref())
            .is_some()
    );
    let trend = observed(&d, "memory trend");
    assert!(trend.starts_with("steady growth"), "{trend}");
}

#[tokio::test]
async fn sidecar_oom_is_judged_against_its_own_limit_from_the_performance_log() {
    let (e, d) = gathered("sidecar-oom").await;

    let record = e
        .container_usage("log-router")
        .expect("the log router's own performance records were gathered");
    let peak = record
        .memory_mib
        .points()
        .iter()
        .map(|p| p.value)
        .fold(f64::MIN, f64::max);
    assert!((peak - 64.0).abs() < 0.01, "peak {peak}");
    assert_eq!(d.cause, Cause::OomKilled);
    assert!(
        d.summary
            .contains("100% of container log-router's 64 MiB hard limit"),
        "{}",
        d.summary
    );
}

#[tokio::test]
async fn ephemeral_storage_is_gathered_from_the_performance_log() {
    let (e, d) = gathered("disk-full").await;

    let m = e.metrics.as_ref().expect("metrics");
    let reserved = m
        .ephemeral_storage_reserved_gb
        .as_ref()
        .expect("EphemeralStorageReserved gathered");
    assert!(
        reserved
            .points()
            .iter()
            .all(|p| (p.value - 20.0).abs() < 0.01)
    );
    assert!(m.ephemeral_storage_utilized_gb.is_some());
    assert_eq!(d.cause, Cause::AppCrashed);
    assert_eq!(d.key_fact, "disk full (ENOSPC)");
}

#[tokio::test]
async fn image_pull_failure_is_named_and_absent_logs_are_recorded() {
    let (e, d) = gathered("image-pull").await;
    assert_eq!(d.cause, Cause::FailedToStart);
    assert!(e.is_missing(Source::Logs), "{:?}", e.missing);
}

#[tokio::test]
async fn deployment_sees_the_new_primary_revision() {
    let (_, d) = gathered("deployment").await;
    assert_eq!(d.cause, Cause::Deployment);
    assert!(
        d.summary.starts_with("Replaced by a deployment"),
        "{}",
        d.summary
    );
}

#[tokio::test]
async fn crash_loop_counts_the_services_earlier_stops() {
    let (e, d) = gathered("crash-loop").await;
    assert_eq!(e.recent_stops.as_ref().map(Vec::len), Some(3));
    assert_eq!(d.cause, Cause::AppCrashed);
    assert_eq!(d.repeats, 3);
}

#[tokio::test]
async fn burstable_host_credits_are_gathered_for_t3_hosts() {
    let (e, d) = gathered("credits").await;
    assert!(
        e.metrics
            .as_ref()
            .and_then(|m| m.host_cpu_credit_balance.as_ref())
            .is_some()
    );
    assert_eq!(d.cause, Cause::CpuStarved);
}

#[tokio::test]
async fn no_environment_value_secret_or_log_secret_is_gathered() {
    for scenario in ["seed", "oom-leak", "crash-loop", "secrets"] {
        let (e, d) = gathered(scenario).await;
        let json = serde_json::to_string(&(e, d)).expect("serializes");
        for planted in PLANTED {
            assert!(!json.contains(planted), "{planted} leaked in {scenario}");
        }
        assert!(
            json.contains("DB_PASSWORD_PLAIN") || scenario != "seed",
            "names stay"
        );
    }
}

#[test]
fn cli_diagnose_runs_against_the_emulator() {
    let sb = sandbox();
    let out = Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .args(["diagnose", "--format", "json", "--event"])
        .arg(sb.event_path("seed"))
        .envs(sb.env())
        .output()
        .expect("run ecs-autopsy");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON record");
    assert_eq!(v["diagnosis"]["cause"], "cpu_starved");
}

#[test]
fn cli_task_builds_the_event_from_describe_tasks() {
    let sb = sandbox();
    let event = sb.event("oom-leak");
    let out = Command::new(env!("CARGO_BIN_EXE_ecs-autopsy"))
        .args([
            "task",
            "--format",
            "json",
            "--cluster",
            "oom-leak",
            "--task",
        ])
        .arg(event.task_id())
        .envs(sb.env())
        .output()
        .expect("run ecs-autopsy");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON record");
    assert_eq!(v["diagnosis"]["cause"], "oom_killed");
    assert_eq!(v["task_arn"], event.detail.task_arn.as_str());
}

#[tokio::test]
async fn cloudwatch_speaks_cbor_and_its_errors_keep_their_code() {
    // Arrange: the shipped client speaks Smithy RPC v2 CBOR; a query with neither MetricStat nor
    // Expression is refused by the service.
    let sb = sandbox();
    let cw = aws_sdk_cloudwatch::Client::new(&sb.sdk_config().await);
    let now = aws_sdk_cloudwatch::primitives::DateTime::from_secs(chrono::Utc::now().timestamp());
    let bad = aws_sdk_cloudwatch::types::MetricDataQuery::builder()
        .id("q0")
        .build();

    // Act
    let err = cw
        .get_metric_data()
        .start_time(now)
        .end_time(now)
        .metric_data_queries(bad)
        .send()
        .await
        .expect_err("a query without a metric is refused");

    // Assert: a service error with its code, not a transport or parse failure.
    use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
    assert_eq!(err.code(), Some("ValidationError"), "{err:?}");
}
