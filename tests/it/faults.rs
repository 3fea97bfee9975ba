//! Fault injection: every evidence source throttled then succeeding, denied, and timing out.
//! The diagnosis is produced every time, with the right `missing` entries.
//!
//! Faults come from aws-smithy-mocks rules on clients that otherwise talk to the emulator
//! (unmatched requests pass through), and from an endpoint that accepts connections and never
//! answers, for timeouts.

use std::net::TcpListener;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use aws_smithy_types::error::ErrorMetadata;
use ecs_autopsy::evidence::{Evidence, MissingEvidence, MissingKind, Source};
use ecs_autopsy::gather::{Clients, Scope, Settings, gather};
use ecs_autopsy::{Cause, diagnose};

use crate::sandbox::sandbox;

fn interceptor(rules: &[&Rule]) -> aws_smithy_mocks::MockResponseInterceptor {
    rules.iter().fold(
        aws_smithy_mocks::MockResponseInterceptor::new()
            .rule_mode(RuleMode::MatchAny)
            .allow_passthrough(),
        |i, rule| i.with_rule(rule),
    )
}

async fn config() -> SdkConfig {
    sandbox()
        .sdk_config()
        .await
        .into_builder()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .build()
}

/// Clients on the emulator with `rules` installed on the client of `service`; requests no rule
/// matches reach the emulator.
async fn clients_with(service: &str, rules: &[&Rule]) -> Clients {
    let conf = config().await;
    let mut c = Clients::new(&conf);
    match service {
        "ecs" => {
            c.ecs = aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(&conf)
                    .interceptor(interceptor(rules))
                    .build(),
            )
        }
        "elb" => {
            c.elb = aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::config::Builder::from(&conf)
                    .interceptor(interceptor(rules))
                    .build(),
            )
        }
        "cloudwatch" => {
            c.cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(&conf)
                    .interceptor(interceptor(rules))
                    .build(),
            )
        }
        "logs" => {
            c.logs = aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(&conf)
                    .interceptor(interceptor(rules))
                    .build(),
            )
        }
        "autoscaling" => {
            c.autoscaling = aws_sdk_applicationautoscaling::Client::from_conf(
                aws_sdk_applicationautoscaling::config::Builder::from(&conf)
                    .interceptor(interceptor(rules))
                    .build(),
            )
        }
        other => panic!("unknown service {other}"),
    }
    c
}

async fn run(clients: &Clients, budget: Duration) -> (Evidence, ecs_autopsy::Diagnosis) {
    let event = sandbox().event("seed");
    let evidence = gather(clients, &event, &Settings::new(30, budget)).await;
    let diagnosis = diagnose(&event, &evidence);
    (evidence, diagnosis)
}

fn meta(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message(format!("{code} injected by the test"))
        .build()
}

/// `DescribeTaskDefinition` for `aws_sdk_ecs::Client::describe_task_definition`.
fn op_name(path: &str) -> String {
    let method = path.rsplit("::").next().unwrap_or(path).trim();
    method
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The whole-source `missing` entry of `source`.
fn entry(e: &Evidence, source: Source) -> &MissingEvidence {
    e.missing
        .iter()
        .find(|m| m.source == source && !m.partial)
        .unwrap_or_else(|| panic!("{source:?} is not missing: {:?}", e.missing))
}

fn present(e: &Evidence, source: Source) -> bool {
    match source {
        Source::TaskDefinition => e.task_definition.is_some(),
        Source::Service => e.service.is_some(),
        Source::TargetHealth => e.target_groups.is_some(),
        Source::Task => e.task.is_some(),
        Source::Host => e.host.is_some(),
        Source::Metrics => e.metrics.is_some(),
        Source::Logs => e.logs.is_some(),
        Source::RecentStops => e.recent_stops.is_some(),
        Source::Scaling => e.scaling.is_some(),
        Source::ScalingActivities => e.scaling_activities.is_some(),
        Source::Capacity => e.capacity.is_some(),
        Source::PerformanceLog => e.metrics.as_ref().is_some_and(|m| m.containers.is_some()),
        Source::StormState => false,
    }
}

/// One rule per (source, fault): `$error` builds the operation's error from metadata.
macro_rules! faults {
    ($($name:ident: $service:literal, $source:expr, $op:expr, $err:path;)+) => {
        $(
            mod $name {
                use super::*;

                fn rule(code: &'static str, times: usize) -> Rule {
                    mock!($op)
                        .sequence()
                        .error(move || $err(meta(code)))
                        .times(times)
                        .build()
                }

                #[tokio::test]
                async fn throttled_then_ok_is_gathered() {
                    let clients = clients_with($service, &[&rule("ThrottlingException", 1)]).await;
                    let (e, d) = run(&clients, Duration::from_secs(20)).await;
                    assert!(present(&e, $source), "{:?} not gathered after a retry: {:?}", $source, e.missing);
                    assert!(!e.is_missing($source), "{:?}", e.missing);
                    assert_eq!(d.cause, Cause::CpuStarved);
                }

                #[tokio::test]
                async fn always_throttled_is_missing_and_diagnosed() {
                    let clients = clients_with($service, &[&rule("ThrottlingException", 50)]).await;
                    let (e, d) = run(&clients, Duration::from_secs(20)).await;
                    assert!(e.is_missing($source), "{:?}", e.missing);
                    assert_eq!(entry(&e, $source).kind, MissingKind::Throttled);
                    assert!(d.missing.iter().any(|m| m.contains("ThrottlingException")), "{:?}", d.missing);
                }

                #[tokio::test]
                async fn access_denied_is_missing_and_diagnosed() {
                    let clients = clients_with($service, &[&rule("AccessDeniedException", 50)]).await;
                    let (e, d) = run(&clients, Duration::from_secs(20)).await;
                    assert!(e.is_missing($source), "{:?}", e.missing);
                    assert!(!present(&e, $source));
                    let denied = entry(&e, $source);
                    assert_eq!(denied.kind, MissingKind::Denied);
                    let action = denied.iam_action.clone().unwrap_or_default();
                    assert_eq!(action.split(':').nth(1), Some(op_name(stringify!($op)).as_str()), "{action}");
                    assert!(d.missing.iter().any(|m| m.contains("AccessDeniedException") && m.contains(&action)), "{:?}", d.missing);
                    assert!(!d.summary.is_empty());
                }
            }
        )+
    };
}

faults! {
    task_definition: "ecs", Source::TaskDefinition, aws_sdk_ecs::Client::describe_task_definition,
        aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionError::generic;
    service: "ecs", Source::Service, aws_sdk_ecs::Client::describe_services,
        aws_sdk_ecs::operation::describe_services::DescribeServicesError::generic;
    container_instance: "ecs", Source::Host, aws_sdk_ecs::Client::describe_container_instances,
        aws_sdk_ecs::operation::describe_container_instances::DescribeContainerInstancesError::generic;
    recent_stops: "ecs", Source::RecentStops, aws_sdk_ecs::Client::list_tasks,
        aws_sdk_ecs::operation::list_tasks::ListTasksError::generic;
    target_groups: "elb", Source::TargetHealth, aws_sdk_elasticloadbalancingv2::Client::describe_target_groups,
        aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsError::generic;
    metrics: "cloudwatch", Source::Metrics, aws_sdk_cloudwatch::Client::get_metric_data,
        aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataError::generic;
    logs: "logs", Source::Logs, aws_sdk_cloudwatchlogs::Client::get_log_events,
        aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsError::generic;
    scalable_targets: "autoscaling", Source::Scaling, aws_sdk_applicationautoscaling::Client::describe_scalable_targets,
        aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsError::generic;
    scaling_policies: "autoscaling", Source::Scaling, aws_sdk_applicationautoscaling::Client::describe_scaling_policies,
        aws_sdk_applicationautoscaling::operation::describe_scaling_policies::DescribeScalingPoliciesError::generic;
    scaling_activities: "autoscaling", Source::ScalingActivities, aws_sdk_applicationautoscaling::Client::describe_scaling_activities,
        aws_sdk_applicationautoscaling::operation::describe_scaling_activities::DescribeScalingActivitiesError::generic;
    clusters: "ecs", Source::Capacity, aws_sdk_ecs::Client::describe_clusters,
        aws_sdk_ecs::operation::describe_clusters::DescribeClustersError::generic;
    capacity_providers: "ecs", Source::Capacity, aws_sdk_ecs::Client::describe_capacity_providers,
        aws_sdk_ecs::operation::describe_capacity_providers::DescribeCapacityProvidersError::generic;
}

/// An endpoint that accepts connections and never answers.
pub(crate) fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

async fn clients_with_hanging(service: &str) -> Clients {
    let conf = config().await;
    let hang = conf
        .clone()
        .into_builder()
        .endpoint_url(black_hole())
        .build();
    let mut c = Clients::new(&conf);
    match service {
        "ecs" => c.ecs = aws_sdk_ecs::Client::new(&hang),
        "elb" => c.elb = aws_sdk_elasticloadbalancingv2::Client::new(&hang),
        "cloudwatch" => c.cloudwatch = aws_sdk_cloudwatch::Client::new(&hang),
        "logs" => c.logs = aws_sdk_cloudwatchlogs::Client::new(&hang),
        "autoscaling" => c.autoscaling = aws_sdk_applicationautoscaling::Client::new(&hang),
        other => panic!("unknown service {other}"),
    }
    c
}

macro_rules! timeouts {
    ($($name:ident: $service:literal => [$($source:expr),+];)+) => {
        $(
            #[tokio::test]
            async fn $name() {
                let clients = clients_with_hanging($service).await;
                let (e, d) = run(&clients, Duration::from_secs(2)).await;
                $(
                    assert!(e.is_missing($source), "{:?} should be missing: {:?}", $source, e.missing);
                    assert!(matches!(entry(&e, $source).kind, MissingKind::Timeout | MissingKind::Deadline), "{:?}", e.missing);
                )+
                assert!(d.missing.iter().any(|m| m.contains("timed out") || m.contains("deadline")), "{:?}", d.missing);
                assert!(!d.summary.is_empty());
            }
        )+
    };
}

timeouts! {
    hanging_ecs_still_gives_a_diagnosis: "ecs" => [Source::TaskDefinition, Source::Service, Source::Task, Source::Host, Source::RecentStops, Source::Capacity];
    hanging_elb_still_gives_a_diagnosis: "elb" => [Source::TargetHealth];
    hanging_cloudwatch_still_gives_a_diagnosis: "cloudwatch" => [Source::Metrics];
    hanging_logs_still_gives_a_diagnosis: "logs" => [Source::Logs];
    hanging_autoscaling_still_gives_a_diagnosis: "autoscaling" => [Source::Scaling, Source::ScalingActivities];
}

#[tokio::test]
async fn denied_scaling_falls_back_to_general_advice_that_says_so() {
    // Arrange: Application Auto Scaling refuses every call.
    let rule = mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets)
        .sequence()
        .error(|| {
            aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsError::generic(meta("AccessDeniedException"))
        })
        .times(50)
        .build();
    let clients = clients_with("autoscaling", &[&rule]).await;

    // Act
    let (e, d) = run(&clients, Duration::from_secs(20)).await;

    // Assert: still CPU-starved, the canned advice names what could not be read, and no
    // scaling number is printed.
    assert!(e.scaling.is_none());
    assert_eq!(d.cause, Cause::CpuStarved);
    let general = d
        .recommendations
        .iter()
        .find(|r| r.starts_with("Scale out before saturation"))
        .expect("general scaling advice");
    assert!(
        general.contains("could not be read (DescribeScalableTargets"),
        "{general}"
    );
    assert!(
        !d.findings
            .iter()
            .any(|f| f.signal == "service auto scaling")
    );
    assert_eq!(d.posture.as_ref().map(|p| p.scaling_read), Some(false));
    // A target that could not be read is not known to be absent: its activities are still read.
    assert!(!e.is_missing(Source::ScalingActivities), "{:?}", e.missing);
    assert!(e.scaling_activities.is_some());
}

#[tokio::test]
async fn a_service_without_a_scalable_target_is_not_asked_for_policies_or_activities() {
    // Arrange: the policies and activities calls would be refused, so a call to either shows
    // up as missing evidence; the service has no scalable target.
    let policies = mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_policies)
        .sequence()
        .error(|| {
            aws_sdk_applicationautoscaling::operation::describe_scaling_policies::DescribeScalingPoliciesError::generic(meta("AccessDeniedException"))
        })
        .times(50)
        .build();
    let activities = mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_activities)
        .sequence()
        .error(|| {
            aws_sdk_applicationautoscaling::operation::describe_scaling_activities::DescribeScalingActivitiesError::generic(meta("AccessDeniedException"))
        })
        .times(50)
        .build();
    let clients = clients_with("autoscaling", &[&policies, &activities]).await;
    let event = sandbox().event("no-scaling");

    // Act
    let e = gather(
        &clients,
        &event,
        &Settings::new(30, Duration::from_secs(20)),
    )
    .await;

    // Assert: the target was read and found absent; neither refused call was made.
    assert!(!e.is_missing(Source::Scaling), "{:?}", e.missing);
    assert!(!e.is_missing(Source::ScalingActivities), "{:?}", e.missing);
    let scaling = e.scaling.as_ref().expect("scaling read");
    assert!(scaling.target.is_none() && scaling.policies.is_empty());
    assert_eq!(e.scaling_activities.as_deref(), Some(&[][..]));
    assert_eq!(policies.num_calls(), 0);
    assert_eq!(activities.num_calls(), 0);
}

#[tokio::test]
async fn benign_scope_makes_no_scaling_capacity_or_recent_stops_call() {
    // Arrange: every client but ECS points at an endpoint that never answers, so any call made
    // would end as a timed-out `missing` entry.
    let conf = config().await;
    let hang = conf
        .clone()
        .into_builder()
        .endpoint_url(black_hole())
        .build();
    // ListTasks refuses: a benign stop has no use for its answer, so it must not be asked.
    let refuse_list = mock!(aws_sdk_ecs::Client::list_tasks)
        .sequence()
        .error(|| {
            aws_sdk_ecs::operation::list_tasks::ListTasksError::generic(meta(
                "AccessDeniedException",
            ))
        })
        .times(50)
        .build();
    let mut clients = clients_with("ecs", &[&refuse_list]).await;
    clients.autoscaling = aws_sdk_applicationautoscaling::Client::new(&hang);
    clients.cloudwatch = aws_sdk_cloudwatch::Client::new(&hang);
    clients.logs = aws_sdk_cloudwatchlogs::Client::new(&hang);
    clients.elb = aws_sdk_elasticloadbalancingv2::Client::new(&hang);
    let event = sandbox().event("seed");
    let settings = Settings::new(30, Duration::from_secs(2)).with_scope(Scope::EcsOnly);

    // Act
    let e = gather(&clients, &event, &settings).await;

    // Assert
    assert!(e.missing.is_empty(), "{:?}", e.missing);
    assert!(e.task_definition.is_some());
    assert!(e.scaling.is_none() && e.scaling_activities.is_none() && e.capacity.is_none());
}

#[tokio::test]
async fn hanging_ecs_falls_back_to_the_event_alone() {
    let clients = clients_with_hanging("ecs").await;
    let (_, d) = run(&clients, Duration::from_secs(2)).await;
    // The stopped reason alone still says "ELB health checks"; without evidence it cannot
    // say starvation, and says so with lower confidence.
    assert!(matches!(
        d.cause,
        Cause::ElbHealthCheckFailed | Cause::CpuStarved
    ));
}

#[tokio::test]
async fn a_failed_target_health_read_is_partly_missing_not_no_targets() {
    // Arrange: the target group is described, its targets' health is refused.
    let rule = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health)
        .sequence()
        .error(|| {
            aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthError::generic(meta("AccessDenied"))
        })
        .times(50)
        .build();
    let clients = clients_with("elb", &[&rule]).await;

    // Act
    let (e, d) = run(&clients, Duration::from_secs(20)).await;

    // Assert: the settings stand, the health is recorded as not read (in part), and the
    // diagnosis still decides from the rest.
    let groups = e
        .target_groups
        .as_ref()
        .expect("target group settings kept");
    assert!(groups.iter().all(|g| g.health_check.is_some()));
    assert!(!e.is_missing(Source::TargetHealth), "{:?}", e.missing);
    let part = e
        .missing
        .iter()
        .find(|m| m.source == Source::TargetHealth && m.partial)
        .expect("partial entry");
    assert_eq!(part.kind, MissingKind::Denied);
    assert_eq!(
        part.iam_action.as_deref(),
        Some("elasticloadbalancing:DescribeTargetHealth")
    );
    assert!(
        part.reason.starts_with("target group arn:"),
        "{}",
        part.reason
    );
    assert!(
        d.missing
            .iter()
            .any(|m| m.starts_with("ALB target health (in part): target group")),
        "{:?}",
        d.missing
    );
    assert_eq!(d.cause, Cause::CpuStarved);
}

#[tokio::test]
async fn a_failed_performance_log_read_is_recorded_with_the_action_to_grant() {
    // Arrange
    let rule = mock!(aws_sdk_cloudwatchlogs::Client::filter_log_events)
        .sequence()
        .error(|| {
            aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError::generic(
                meta("AccessDeniedException"),
            )
        })
        .times(50)
        .build();
    let clients = clients_with("logs", &[&rule]).await;

    // Act
    let (e, d) = run(&clients, Duration::from_secs(20)).await;

    // Assert
    let m = entry(&e, Source::PerformanceLog);
    assert_eq!(m.kind, MissingKind::Denied);
    assert_eq!(m.iam_action.as_deref(), Some("logs:FilterLogEvents"));
    assert!(e.logs.is_some() && e.metrics.is_some());
    assert!(
        d.missing
            .iter()
            .any(|m| m.starts_with("Container Insights performance log:")),
        "{:?}",
        d.missing
    );
}

#[tokio::test]
async fn no_performance_log_group_is_not_a_failure() {
    // Arrange: the seed's cluster has no Container Insights log group.
    let clients = Clients::new(&config().await);
    let event = sandbox().event("seed");
    let groups = clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix(format!(
            "/aws/ecs/containerinsights/{}/",
            event.cluster_name()
        ))
        .send()
        .await
        .expect("DescribeLogGroups");
    assert!(groups.log_groups().is_empty());

    // Act
    let (e, _) = run(&clients, Duration::from_secs(20)).await;

    // Assert: nothing to read is not a failure to read.
    assert!(
        !e.missing.iter().any(|m| m.source == Source::PerformanceLog),
        "{:?}",
        e.missing
    );
}

#[tokio::test]
async fn a_denied_describe_tasks_loses_task_health_and_recent_stops_not_the_diagnosis() {
    // Arrange: the one DescribeTasks of round 2 (the task and its recent stops) is refused.
    let rule = mock!(aws_sdk_ecs::Client::describe_tasks)
        .sequence()
        .error(|| {
            aws_sdk_ecs::operation::describe_tasks::DescribeTasksError::generic(meta(
                "AccessDeniedException",
            ))
        })
        .times(50)
        .build();
    let clients = clients_with("ecs", &[&rule]).await;

    // Act
    let (e, d) = run(&clients, Duration::from_secs(20)).await;

    // Assert
    for source in [Source::Task, Source::RecentStops] {
        let m = entry(&e, source);
        assert_eq!(m.kind, MissingKind::Denied);
        assert_eq!(m.iam_action.as_deref(), Some("ecs:DescribeTasks"));
    }
    assert!(e.task.is_none() && e.recent_stops.is_none());
    assert_eq!(d.cause, Cause::CpuStarved);
}
