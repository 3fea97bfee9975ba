//! The service's scaling posture: Application Auto Scaling (scalable target, policies, recent
//! activities) and the cluster's capacity providers.
//!
//! | call | needs | kept |
//! |---|---|---|
//! | DescribeScalableTargets | event (cluster, service) | min/max, suspended flags |
//! | DescribeScalingPolicies | a scalable target | type, metric, target, cooldown, alarms (≤ 50: the per-target quota) |
//! | DescribeScalingActivities | a scalable target, or one that could not be read | one page (≤ 50), not-scaled reasons included, inside the window |
//! | DescribeClusters (SETTINGS) | event | capacity providers, default strategy, Container Insights |
//! | DescribeCapacityProviders | DescribeClusters | managed scaling status, target capacity (≤ 100 names per call) |
//!
//! A service without a scalable target (no service auto scaling) costs one call, not three: its
//! policies would be empty, and so would its activities unless a target was deregistered inside
//! the window (then they are not read). The price: a role without the policies and activities
//! permissions shows as missing evidence only for services that have a target.

use chrono::{DateTime, Duration, Utc};

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_ecs::types::ClusterField;

use crate::error::GatherError;
use crate::event::TaskStateChange;
use crate::evidence::{
    CapacityFacts, CapacityProviderFacts, NotScaledFacts, ScalableTargetFacts,
    ScalingActivityFacts, ScalingFacts, ScalingPolicyFacts,
};

use super::ecs::to_chrono;
use super::{Clients, Settings, call};

/// DescribeScalingPolicies and DescribeScalingActivities return at most 50 per page; 50 is also
/// the quota of scaling policies per scalable target, so one page holds them all.
pub const MAX_RESULTS: i32 = 50;
/// DescribeCapacityProviders describes at most 100 named providers per call.
pub const MAX_CAPACITY_PROVIDERS: usize = 100;
/// Activities older than the evidence window are kept only as the one most recent before it.
const AFTER_STOP_MIN: i64 = 2;
/// The AWS-managed Fargate providers have no Auto Scaling group and nothing to describe.
const FARGATE_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

/// "service/CLUSTER/SERVICE", the Application Auto Scaling resource id of an ECS service.
pub fn resource_id(event: &TaskStateChange) -> Option<String> {
    let service = event.service_name()?;
    Some(format!("service/{}/{service}", event.cluster_name()))
}

/// DescribeScalableTargets (round 2): the service's scalable target, `None` inside when the
/// service has none. Its policies ([`policies`]) are read after it when it exists, and its
/// activities ([`activities`]) unless it is known not to exist.
pub async fn target(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
) -> Result<Option<Option<ScalableTargetFacts>>, GatherError> {
    let Some(id) = resource_id(event) else {
        return Ok(None);
    };
    let targets = call(
        "DescribeScalableTargets",
        settings,
        clients
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_ids(&id)
            .send(),
    )
    .await?;
    Ok(Some(
        targets
            .scalable_targets()
            .iter()
            .find(|t| t.resource_id() == id)
            .map(|t| {
                let s = t.suspended_state();
                ScalableTargetFacts {
                    min_capacity: i64::from(t.min_capacity()),
                    max_capacity: i64::from(t.max_capacity()),
                    scale_out_suspended: s
                        .and_then(|s| s.dynamic_scaling_out_suspended())
                        .unwrap_or(false),
                    scale_in_suspended: s
                        .and_then(|s| s.dynamic_scaling_in_suspended())
                        .unwrap_or(false),
                    scheduled_suspended: s
                        .and_then(|s| s.scheduled_scaling_suspended())
                        .unwrap_or(false),
                }
            }),
    ))
}

/// The service's scaling when DescribeScalableTargets found no target: no policies to read
/// (policies belong to a target; deregistering it deletes them).
pub fn without_target(event: &TaskStateChange) -> Option<ScalingFacts> {
    resource_id(event).map(|resource_id| ScalingFacts {
        resource_id,
        target: None,
        policies: Vec::new(),
    })
}

/// DescribeScalingPolicies for the service's scalable target (round 3, after [`target`]).
pub async fn policies(
    clients: &Clients,
    event: &TaskStateChange,
    target: ScalableTargetFacts,
    settings: &Settings,
) -> Result<Option<ScalingFacts>, GatherError> {
    let Some(id) = resource_id(event) else {
        return Ok(None);
    };
    let policies = call(
        "DescribeScalingPolicies",
        settings,
        clients
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&id)
            .max_results(MAX_RESULTS)
            .send(),
    )
    .await?;
    let policies = policies
        .scaling_policies()
        .iter()
        .filter(|p| p.resource_id() == id)
        .map(|p| {
            let tt = p.target_tracking_scaling_policy_configuration();
            let metric = tt.and_then(|c| {
                c.predefined_metric_specification()
                    .map(|m| m.predefined_metric_type().as_str().to_owned())
                    .or_else(|| {
                        c.customized_metric_specification().map(|m| {
                            format!(
                                "{}/{}",
                                m.namespace().unwrap_or("custom"),
                                m.metric_name().unwrap_or("metric math")
                            )
                        })
                    })
            });
            ScalingPolicyFacts {
                name: p.policy_name().to_owned(),
                policy_type: p.policy_type().as_str().into(),
                metric,
                target_value: tt.map(|c| c.target_value()),
                scale_out_cooldown_s: tt.and_then(|c| c.scale_out_cooldown()).map(i64::from),
                disable_scale_in: tt.and_then(|c| c.disable_scale_in()),
                alarms: p
                    .alarms()
                    .iter()
                    .map(|a| a.alarm_name().to_owned())
                    .collect(),
            }
        })
        .collect();
    Ok(Some(ScalingFacts {
        resource_id: id,
        target: Some(target),
        policies,
    }))
}

/// The newest page of scaling activities, with the ones that did not scale and why.
pub async fn activities(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
) -> Result<Option<Vec<ScalingActivityFacts>>, GatherError> {
    let Some(id) = resource_id(event) else {
        return Ok(None);
    };
    let out = call(
        "DescribeScalingActivities",
        settings,
        clients
            .autoscaling
            .describe_scaling_activities()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&id)
            .include_not_scaled_activities(true)
            .max_results(MAX_RESULTS)
            .send(),
    )
    .await?;
    let all: Vec<ScalingActivityFacts> = out
        .scaling_activities()
        .iter()
        .filter(|a| a.resource_id() == id)
        .map(|a| ScalingActivityFacts {
            start: to_chrono(a.start_time()),
            end: a.end_time().and_then(to_chrono),
            status: a.status_code().as_str().into(),
            description: a.description().to_owned(),
            cause: a.cause().to_owned(),
            status_message: a.status_message().map(str::to_owned),
            not_scaled: a
                .not_scaled_reasons()
                .iter()
                .map(|r| NotScaledFacts {
                    code: r.code().into(),
                    max_capacity: r.max_capacity().map(i64::from),
                    min_capacity: r.min_capacity().map(i64::from),
                    current_capacity: r.current_capacity().map(i64::from),
                })
                .collect(),
        })
        .collect();
    Ok(Some(in_window(all, event, settings.lookback_minutes)))
}

/// Activities inside the evidence window plus the most recent one before it, newest first.
fn in_window(
    mut all: Vec<ScalingActivityFacts>,
    event: &TaskStateChange,
    lookback_minutes: u32,
) -> Vec<ScalingActivityFacts> {
    all.sort_by_key(|a| std::cmp::Reverse(a.start));
    let Some(stop) = event.stopped_at() else {
        return all;
    };
    let from: DateTime<Utc> = stop - Duration::minutes(i64::from(lookback_minutes));
    let to = stop + Duration::minutes(AFTER_STOP_MIN);
    let mut kept: Vec<ScalingActivityFacts> = Vec::new();
    let mut earlier_kept = false;
    for a in all {
        match a.start {
            Some(t) if t > to => {}
            Some(t) if t >= from => kept.push(a),
            _ if !earlier_kept => {
                earlier_kept = true;
                kept.push(a);
            }
            _ => {}
        }
    }
    kept
}

/// DescribeClusters: the cluster's capacity providers and default strategy. EC2 tasks only:
/// Fargate capacity has no managed scaling to judge.
pub async fn cluster(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
) -> Result<Option<CapacityFacts>, GatherError> {
    if event.is_fargate() {
        return Ok(None);
    }
    let arn = event
        .detail
        .cluster_arn
        .clone()
        .unwrap_or_else(|| event.cluster_name().to_owned());
    let out = call(
        "DescribeClusters",
        settings,
        clients
            .ecs
            .describe_clusters()
            .clusters(&arn)
            .include(ClusterField::Settings)
            .send(),
    )
    .await?;
    let Some(c) = out.clusters().first() else {
        return Err(GatherError::NotFound {
            op: "DescribeClusters",
            what: arn,
        });
    };
    Ok(Some(CapacityFacts {
        cluster: c.cluster_name().unwrap_or(event.cluster_name()).to_owned(),
        capacity_providers: c.capacity_providers().to_vec(),
        default_strategy: c
            .default_capacity_provider_strategy()
            .iter()
            .map(|s| {
                format!(
                    "{} (weight {}, base {})",
                    s.capacity_provider(),
                    s.weight(),
                    s.base()
                )
            })
            .collect(),
        registered_instances: Some(i64::from(c.registered_container_instances_count())),
        container_insights: c
            .settings()
            .iter()
            .find(|s| s.name().is_some_and(|n| n.as_str() == "containerInsights"))
            .and_then(|s| s.value())
            .map(str::to_owned),
        providers: Vec::new(),
    }))
}

/// The names DescribeCapacityProviders is asked about: the cluster's own, Fargate's left out,
/// at most [`MAX_CAPACITY_PROVIDERS`].
pub fn provider_names(capacity: &CapacityFacts) -> Vec<String> {
    capacity
        .capacity_providers
        .iter()
        .filter(|n| !FARGATE_PROVIDERS.contains(&n.as_str()))
        .take(MAX_CAPACITY_PROVIDERS)
        .cloned()
        .collect()
}

/// DescribeCapacityProviders for the cluster's providers; fills `capacity.providers`.
pub async fn providers(
    clients: &Clients,
    mut capacity: CapacityFacts,
    settings: &Settings,
) -> Result<CapacityFacts, GatherError> {
    let names = provider_names(&capacity);
    if names.is_empty() {
        return Ok(capacity);
    }
    let out = call(
        "DescribeCapacityProviders",
        settings,
        clients
            .ecs
            .describe_capacity_providers()
            .set_capacity_providers(Some(names))
            .send(),
    )
    .await?;
    capacity.providers = out
        .capacity_providers()
        .iter()
        .map(|p| {
            let asg = p.auto_scaling_group_provider();
            let ms = asg.and_then(|a| a.managed_scaling());
            CapacityProviderFacts {
                name: p.name().unwrap_or("").to_owned(),
                auto_scaling_group_arn: asg.map(|a| a.auto_scaling_group_arn().to_owned()),
                managed_scaling: ms.and_then(|m| m.status()).map(|s| s.as_str().into()),
                target_capacity_pct: ms.and_then(|m| m.target_capacity()).map(i64::from),
                managed_termination_protection: asg
                    .and_then(|a| a.managed_termination_protection())
                    .map(|m| m.as_str().to_owned()),
            }
        })
        .collect();
    Ok(capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(group: &str) -> TaskStateChange {
        let text = serde_json::json!({
            "version": "0", "id": "e", "detail-type": "ECS Task State Change", "source": "aws.ecs",
            "account": "123456789012", "time": "2026-10-01T12:00:32Z", "region": "eu-west-1",
            "resources": [],
            "detail": {
                "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123456789abcdef",
                "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                "group": group, "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                "stoppedAt": "2026-10-01T12:00:31Z", "containers": []
            }
        })
        .to_string();
        match crate::event::parse_event(&text) {
            Ok(crate::event::Incoming::Stopped(e)) => *e,
            other => panic!("not a stopped task: {other:?}"),
        }
    }

    fn activity(at: &str) -> ScalingActivityFacts {
        ScalingActivityFacts {
            start: Some(at.parse().expect("time")),
            description: at.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn resource_id_names_cluster_and_service() {
        assert_eq!(
            resource_id(&event("service:web")).as_deref(),
            Some("service/prod/web")
        );
        assert_eq!(resource_id(&event("family:job")), None);
    }

    #[test]
    fn activities_keep_the_window_and_the_last_one_before_it() {
        let all = vec![
            activity("2026-10-01T09:00:00Z"),
            activity("2026-10-01T11:50:00Z"),
            activity("2026-10-01T10:00:00Z"),
            activity("2026-10-01T12:30:00Z"),
        ];
        let kept = in_window(all, &event("service:web"), 30);
        let names: Vec<&str> = kept.iter().map(|a| a.description.as_str()).collect();
        assert_eq!(names, ["2026-10-01T11:50:00Z", "2026-10-01T10:00:00Z"]);
    }

    #[test]
    fn provider_names_leave_out_fargate_and_stop_at_the_api_limit() {
        let mut c = CapacityFacts {
            capacity_providers: vec!["FARGATE".into(), "FARGATE_SPOT".into()],
            ..Default::default()
        };
        c.capacity_providers
            .extend((0..150).map(|i| format!("asg-{i}")));
        let names = provider_names(&c);
        assert_eq!(names.len(), MAX_CAPACITY_PROVIDERS);
        assert_eq!(names[0], "asg-0");
    }
}
