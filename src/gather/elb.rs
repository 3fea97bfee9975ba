//! ELBv2: the target groups' health-check settings and their targets' health.

use futures_util::future::join_all;

use crate::error::GatherError;
use crate::evidence::{Source, TargetGroupFacts, TargetGroupHealthCheck, TargetHealthFacts};

use super::{Clients, Partial, Settings, call};

fn u32_of(v: Option<i32>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

/// The service's target groups; a target group whose health could not be read keeps its
/// settings and is listed in the second part, so "no targets" and "not read" stay apart.
pub async fn target_groups(
    clients: &Clients,
    arns: &[String],
    settings: &Settings,
) -> Result<Option<Partial<Vec<TargetGroupFacts>>>, GatherError> {
    if arns.is_empty() {
        return Ok(None);
    }
    let groups_fut = call(
        "DescribeTargetGroups",
        settings,
        clients
            .elb
            .describe_target_groups()
            .set_target_group_arns(Some(arns.to_vec()))
            .send(),
    );
    let health_futs = arns.iter().map(|arn| {
        call(
            "DescribeTargetHealth",
            settings,
            clients
                .elb
                .describe_target_health()
                .target_group_arn(arn)
                .send(),
        )
    });
    let (groups, healths) = tokio::join!(groups_fut, join_all(health_futs));
    let groups = groups?;
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for (tg, health) in groups.target_groups().iter().zip(healths) {
        let arn = tg.target_group_arn().unwrap_or_default().to_owned();
        // A failed health lookup leaves the settings, which still explain a lot.
        let targets = match health {
            Ok(h) => h
                .target_health_descriptions()
                .iter()
                .map(|d| TargetHealthFacts {
                    id: d
                        .target()
                        .and_then(|t| t.id())
                        .unwrap_or_default()
                        .to_owned(),
                    port: d.target().and_then(|t| u32_of(t.port())),
                    state: d
                        .target_health()
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().into()),
                    reason: d
                        .target_health()
                        .and_then(|h| h.reason())
                        .map(|r| r.as_str().into()),
                    description: d
                        .target_health()
                        .and_then(|h| h.description())
                        .map(str::to_owned),
                })
                .collect(),
            Err(e) => {
                let mut entry = e.missing(Source::TargetHealth).partial();
                entry.reason = format!("target group {arn}: {}", entry.reason);
                failed.push(entry);
                Vec::new()
            }
        };
        out.push(TargetGroupFacts {
            arn,
            name: tg.target_group_name().map(str::to_owned),
            protocol: tg.protocol().map(|p| p.as_str().to_owned()),
            port: u32_of(tg.port()),
            load_balancer_arns: tg.load_balancer_arns().to_vec(),
            health_check: Some(TargetGroupHealthCheck {
                protocol: tg.health_check_protocol().map(|p| p.as_str().to_owned()),
                path: tg.health_check_path().map(str::to_owned),
                port: tg.health_check_port().map(str::to_owned),
                interval_seconds: u32_of(tg.health_check_interval_seconds()),
                timeout_seconds: u32_of(tg.health_check_timeout_seconds()),
                healthy_threshold: u32_of(tg.healthy_threshold_count()),
                unhealthy_threshold: u32_of(tg.unhealthy_threshold_count()),
                matcher: tg.matcher().and_then(|m| m.http_code()).map(str::to_owned),
            }),
            targets,
        });
    }
    Ok(Some((out, failed)))
}
