//! CloudWatch: every series in ONE GetMetricData call (paginated), turned into shares of the
//! allocation.
//!
//! | series | namespace / metric | dimensions | stat |
//! |---|---|---|---|
//! | service CPU/memory | AWS/ECS CPUUtilization, MemoryUtilization | ClusterName, ServiceName | Average and Maximum |
//! | task CPU/memory | ECS/ContainerInsights CpuUtilized ÷ CpuReserved, MemoryUtilized | ClusterName, TaskDefinitionFamily, TaskId (enhanced) | Average |
//! | service / family | ECS/ContainerInsights CpuUtilized ÷ CpuReserved | ClusterName + ServiceName, or + TaskDefinitionFamily | Average (fallback for the service Average) |
//! | ALB | AWS/ApplicationELB TargetResponseTime, UnHealthyHostCount, HealthyHostCount, HTTPCode_Target_5XX_Count | TargetGroup, LoadBalancer | Average, Maximum, Minimum, Sum |
//! | host | AWS/EC2 CPUCreditBalance (burstable only), CPUUtilization | InstanceId | Minimum, Average |
//! | ALB traffic | AWS/ApplicationELB RequestCount, RequestCountPerTarget | TargetGroup, LoadBalancer | Sum |
//! | log volume | AWS/Logs IncomingLogEvents, IncomingBytes | LogGroupName (each awslogs group, ≤ 5) | Sum |
//! | cluster packing (EC2) | AWS/ECS CPUReservation, MemoryReservation | ClusterName | Maximum |

use std::collections::HashMap;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::error::GatherError;
use crate::event::TaskStateChange;
use crate::evidence::{Allocation, ContainerUsage, Evidence, LogDriver, Metrics, Point, Series};

use super::ecs::to_chrono;
use super::logs::PerfRecord;
use super::{Clients, Settings, call};

const PERIOD_S: i32 = 60;
/// awslogs groups whose volume is read; a task with more is unusual, and each costs two queries.
pub const MAX_LOG_GROUPS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    SvcCpuAvg,
    SvcCpuMax,
    SvcMemAvg,
    SvcMemMax,
    TaskCpuUsed,
    TaskCpuReserved,
    TaskMemUsed,
    TaskMemReserved,
    GroupCpuUsed,
    GroupCpuReserved,
    AlbResponseTime,
    AlbUnhealthy,
    AlbHealthy,
    Alb5xx,
    HostCredits,
    HostCpu,
    AlbRequests,
    AlbRequestsPerTarget,
    LogEvents,
    LogBytes,
    ClusterCpuReservation,
    ClusterMemReservation,
}

struct Query {
    slot: Slot,
    namespace: &'static str,
    metric: &'static str,
    dims: Vec<(&'static str, String)>,
    stat: &'static str,
}

fn queries(event: &TaskStateChange, evidence: &Evidence) -> Vec<Query> {
    let cluster = event.cluster_name().to_owned();
    let mut q = Vec::new();
    let mut add = |slot, namespace, metric, dims: Vec<(&'static str, String)>, stat| {
        q.push(Query {
            slot,
            namespace,
            metric,
            dims,
            stat,
        })
    };
    if let Some(service) = event.service_name() {
        let dims = || {
            vec![
                ("ClusterName", cluster.clone()),
                ("ServiceName", service.to_owned()),
            ]
        };
        add(
            Slot::SvcCpuAvg,
            "AWS/ECS",
            "CPUUtilization",
            dims(),
            "Average",
        );
        add(
            Slot::SvcCpuMax,
            "AWS/ECS",
            "CPUUtilization",
            dims(),
            "Maximum",
        );
        add(
            Slot::SvcMemAvg,
            "AWS/ECS",
            "MemoryUtilization",
            dims(),
            "Average",
        );
        add(
            Slot::SvcMemMax,
            "AWS/ECS",
            "MemoryUtilization",
            dims(),
            "Maximum",
        );
        add(
            Slot::GroupCpuUsed,
            "ECS/ContainerInsights",
            "CpuUtilized",
            dims(),
            "Average",
        );
        add(
            Slot::GroupCpuReserved,
            "ECS/ContainerInsights",
            "CpuReserved",
            dims(),
            "Average",
        );
    } else if let Some(family) = event.family() {
        let dims = || {
            vec![
                ("ClusterName", cluster.clone()),
                ("TaskDefinitionFamily", family.to_owned()),
            ]
        };
        add(
            Slot::GroupCpuUsed,
            "ECS/ContainerInsights",
            "CpuUtilized",
            dims(),
            "Average",
        );
        add(
            Slot::GroupCpuReserved,
            "ECS/ContainerInsights",
            "CpuReserved",
            dims(),
            "Average",
        );
    }
    if let Some(family) = event.family() {
        let dims = || {
            vec![
                ("ClusterName", cluster.clone()),
                ("TaskDefinitionFamily", family.to_owned()),
                ("TaskId", event.task_id().to_owned()),
            ]
        };
        add(
            Slot::TaskCpuUsed,
            "ECS/ContainerInsights",
            "CpuUtilized",
            dims(),
            "Average",
        );
        add(
            Slot::TaskCpuReserved,
            "ECS/ContainerInsights",
            "CpuReserved",
            dims(),
            "Average",
        );
        add(
            Slot::TaskMemUsed,
            "ECS/ContainerInsights",
            "MemoryUtilized",
            dims(),
            "Maximum",
        );
        add(
            Slot::TaskMemReserved,
            "ECS/ContainerInsights",
            "MemoryReserved",
            dims(),
            "Average",
        );
    }
    if let Some((tg, lb)) = alb_dimensions(evidence) {
        let dims = || vec![("TargetGroup", tg.clone()), ("LoadBalancer", lb.clone())];
        add(
            Slot::AlbResponseTime,
            "AWS/ApplicationELB",
            "TargetResponseTime",
            dims(),
            "Average",
        );
        add(
            Slot::AlbUnhealthy,
            "AWS/ApplicationELB",
            "UnHealthyHostCount",
            dims(),
            "Maximum",
        );
        add(
            Slot::AlbHealthy,
            "AWS/ApplicationELB",
            "HealthyHostCount",
            dims(),
            "Minimum",
        );
        add(
            Slot::Alb5xx,
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            dims(),
            "Sum",
        );
        add(
            Slot::AlbRequests,
            "AWS/ApplicationELB",
            "RequestCount",
            dims(),
            "Sum",
        );
        add(
            Slot::AlbRequestsPerTarget,
            "AWS/ApplicationELB",
            "RequestCountPerTarget",
            dims(),
            "Sum",
        );
    }
    for group in log_groups(evidence) {
        let dims = || vec![("LogGroupName", group.clone())];
        add(
            Slot::LogEvents,
            "AWS/Logs",
            "IncomingLogEvents",
            dims(),
            "Sum",
        );
        add(Slot::LogBytes, "AWS/Logs", "IncomingBytes", dims(), "Sum");
    }
    if !event.is_fargate() {
        let dims = || vec![("ClusterName", cluster.clone())];
        add(
            Slot::ClusterCpuReservation,
            "AWS/ECS",
            "CPUReservation",
            dims(),
            "Maximum",
        );
        add(
            Slot::ClusterMemReservation,
            "AWS/ECS",
            "MemoryReservation",
            dims(),
            "Maximum",
        );
    }
    if let Some(host) = evidence.host.as_ref()
        && let Some(id) = host.ec2_instance_id.clone()
    {
        let dims = || vec![("InstanceId", id.clone())];
        if host.is_burstable() {
            add(
                Slot::HostCredits,
                "AWS/EC2",
                "CPUCreditBalance",
                dims(),
                "Minimum",
            );
        }
        add(
            Slot::HostCpu,
            "AWS/EC2",
            "CPUUtilization",
            dims(),
            "Average",
        );
    }
    q
}

/// The task definition's awslogs groups, each once, at most [`MAX_LOG_GROUPS`].
pub fn log_groups(evidence: &Evidence) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    let containers = evidence
        .task_definition
        .iter()
        .flat_map(|td| td.containers.iter());
    for c in containers {
        if let Some(log) = c.log.as_ref().filter(|l| l.driver == LogDriver::Awslogs)
            && let Some(g) = log.group.as_ref().filter(|g| !g.is_empty())
            && !groups.contains(g)
            && groups.len() < MAX_LOG_GROUPS
        {
            groups.push(g.clone());
        }
    }
    groups
}

/// "arn:…:targetgroup/web/abc" → "targetgroup/web/abc"; "arn:…:loadbalancer/app/x/y" → "app/x/y".
fn alb_dimensions(evidence: &Evidence) -> Option<(String, String)> {
    let tg = evidence.target_groups.as_ref()?.first()?;
    let tg_dim = tg.arn.rsplit(':').next()?.to_owned();
    let lb = tg.load_balancer_arns.first()?;
    let lb_dim = lb.split_once(":loadbalancer/")?.1.to_owned();
    Some((tg_dim, lb_dim))
}

fn to_smithy(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.timestamp())
}

pub async fn fetch(
    clients: &Clients,
    event: &TaskStateChange,
    evidence: &Evidence,
    settings: &Settings,
) -> Result<Metrics, GatherError> {
    let Some(stop) = event.stopped_at() else {
        return Ok(Metrics::default());
    };
    let queries = queries(event, evidence);
    if queries.is_empty() {
        return Ok(Metrics::default());
    }
    let start = (stop - Duration::minutes(i64::from(settings.lookback_minutes)))
        .duration_trunc(Duration::minutes(1))
        .unwrap_or(stop);
    let end = stop + Duration::minutes(2);

    let mut built = Vec::with_capacity(queries.len());
    let mut ids: HashMap<String, Slot> = HashMap::new();
    for (i, q) in queries.iter().enumerate() {
        let id = format!("q{i}");
        let metric = Metric::builder()
            .namespace(q.namespace)
            .metric_name(q.metric)
            .set_dimensions(Some(
                q.dims
                    .iter()
                    .map(|(n, v)| Dimension::builder().name(*n).value(v).build())
                    .collect(),
            ))
            .build();
        let stat = MetricStat::builder()
            .metric(metric)
            .period(PERIOD_S)
            .stat(q.stat)
            .build();
        built.push(
            MetricDataQuery::builder()
                .id(&id)
                .metric_stat(stat)
                .return_data(true)
                .build(),
        );
        ids.insert(id, q.slot);
    }

    let mut raw: HashMap<Slot, Vec<Point>> = HashMap::new();
    let mut token: Option<String> = None;
    loop {
        let out = call(
            "GetMetricData",
            settings,
            clients
                .cloudwatch
                .get_metric_data()
                .set_metric_data_queries(Some(built.clone()))
                .start_time(to_smithy(start))
                .end_time(to_smithy(end))
                .set_next_token(token.clone())
                .send(),
        )
        .await?;
        for r in out.metric_data_results() {
            let Some(slot) = r.id().and_then(|id| ids.get(id)) else {
                continue;
            };
            let points = raw.entry(*slot).or_default();
            for (t, v) in r.timestamps().iter().zip(r.values()) {
                if let Some(at) = to_chrono(t) {
                    points.push(Point { at, value: *v });
                }
            }
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(assemble(raw, evidence))
}

fn series(raw: &HashMap<Slot, Vec<Point>>, slot: Slot) -> Option<Series> {
    raw.get(&slot)
        .filter(|p| !p.is_empty())
        .map(|p| Series::new(p.clone()))
}

/// One series from several queries of the same slot (log groups), summed per timestamp.
fn summed(raw: &HashMap<Slot, Vec<Point>>, slot: Slot) -> Option<Series> {
    let points = raw.get(&slot).filter(|p| !p.is_empty())?;
    let mut by_time: std::collections::BTreeMap<DateTime<Utc>, f64> = Default::default();
    for p in points {
        *by_time.entry(p.at).or_default() += p.value;
    }
    Some(Series::new(
        by_time
            .into_iter()
            .map(|(at, value)| Point { at, value })
            .collect(),
    ))
}

/// `used ÷ reserved × 100`, joined on timestamps.
fn ratio(used: Option<&Series>, reserved: Option<&Series>) -> Option<Series> {
    let (used, reserved) = (used?, reserved?);
    let by_time: HashMap<DateTime<Utc>, f64> =
        reserved.points().iter().map(|p| (p.at, p.value)).collect();
    let points: Vec<Point> = used
        .points()
        .iter()
        .filter_map(|p| {
            let r = *by_time.get(&p.at)?;
            (r > 0.0).then(|| Point {
                at: p.at,
                value: p.value / r * 100.0,
            })
        })
        .collect();
    (!points.is_empty()).then(|| Series::new(points))
}

fn scaled(series: &Series, factor: f64) -> Series {
    Series::new(
        series
            .points()
            .iter()
            .map(|p| Point {
                at: p.at,
                value: p.value * factor,
            })
            .collect(),
    )
}

/// The memory the kernel enforces for the whole task, when the task definition says.
fn hard_memory_limit(evidence: &Evidence) -> Option<f64> {
    let td = evidence.task_definition.as_ref()?;
    if let Some(m) = td.memory {
        return Some(f64::from(m));
    }
    let sum: u32 = td.containers.iter().filter_map(|c| c.memory).sum();
    (sum > 0).then_some(f64::from(sum))
}

fn assemble(raw: HashMap<Slot, Vec<Point>>, evidence: &Evidence) -> Metrics {
    let task_cpu = ratio(
        series(&raw, Slot::TaskCpuUsed).as_ref(),
        series(&raw, Slot::TaskCpuReserved).as_ref(),
    );
    let mem_used = series(&raw, Slot::TaskMemUsed);
    let task_mem_pct = match (mem_used.as_ref(), hard_memory_limit(evidence)) {
        (Some(used), Some(limit)) => Some(scaled(used, 100.0 / limit)),
        (used, None) => ratio(used, series(&raw, Slot::TaskMemReserved).as_ref()),
        (None, _) => None,
    };
    let group_cpu = ratio(
        series(&raw, Slot::GroupCpuUsed).as_ref(),
        series(&raw, Slot::GroupCpuReserved).as_ref(),
    );
    let log_events = summed(&raw, Slot::LogEvents);
    let log_bytes = summed(&raw, Slot::LogBytes);
    Metrics {
        task_cpu_of: task_cpu
            .as_ref()
            .and(Allocation::of_cpu(evidence.task_definition.as_ref())),
        task_cpu_pct: task_cpu,
        task_memory_of: task_mem_pct
            .as_ref()
            .and(Allocation::of_memory(evidence.task_definition.as_ref())),
        task_memory_pct: task_mem_pct,
        task_memory_mib: mem_used,
        service_cpu_avg_pct: series(&raw, Slot::SvcCpuAvg).or(group_cpu),
        service_cpu_max_pct: series(&raw, Slot::SvcCpuMax),
        service_memory_avg_pct: series(&raw, Slot::SvcMemAvg),
        service_memory_max_pct: series(&raw, Slot::SvcMemMax),
        alb_target_response_time_s: series(&raw, Slot::AlbResponseTime),
        alb_unhealthy_hosts: series(&raw, Slot::AlbUnhealthy),
        alb_healthy_hosts: series(&raw, Slot::AlbHealthy),
        alb_target_5xx: series(&raw, Slot::Alb5xx),
        host_cpu_credit_balance: series(&raw, Slot::HostCredits),
        host_cpu_pct: series(&raw, Slot::HostCpu),
        alb_requests: series(&raw, Slot::AlbRequests),
        alb_requests_per_target: series(&raw, Slot::AlbRequestsPerTarget),
        log_groups: if log_events.is_some() || log_bytes.is_some() {
            log_groups(evidence)
        } else {
            Vec::new()
        },
        log_events,
        log_bytes,
        cluster_cpu_reservation_pct: series(&raw, Slot::ClusterCpuReservation),
        cluster_memory_reservation_pct: series(&raw, Slot::ClusterMemReservation),
        ..Metrics::default()
    }
}

/// Per-container memory and the task's ephemeral storage, which only the performance log has.
fn fill_containers_and_storage(metrics: &mut Metrics, records: &[PerfRecord]) {
    let mut by_container: Vec<(String, Vec<Point>)> = Vec::new();
    for r in records {
        let Some(name) = r.container.as_deref() else {
            continue;
        };
        let point = Point {
            at: r.at,
            value: r.memory_utilized,
        };
        match by_container.iter_mut().find(|(c, _)| c == name) {
            Some((_, points)) => points.push(point),
            None => by_container.push((name.to_owned(), vec![point])),
        }
    }
    let containers: Vec<ContainerUsage> = by_container
        .into_iter()
        .map(|(container, points)| ContainerUsage {
            container,
            memory_mib: Series::new(points),
        })
        .collect();
    if !containers.is_empty() && metrics.containers.is_none() {
        metrics.containers = Some(containers);
    }
    let storage = |pick: fn(&PerfRecord) -> Option<f64>| {
        let pts: Vec<Point> = records
            .iter()
            .filter(|r| r.container.is_none())
            .filter_map(|r| pick(r).map(|value| Point { at: r.at, value }))
            .collect();
        (!pts.is_empty()).then(|| Series::new(pts))
    };
    if metrics.ephemeral_storage_utilized_gb.is_none() {
        metrics.ephemeral_storage_utilized_gb = storage(|r| r.ephemeral_utilized);
    }
    if metrics.ephemeral_storage_reserved_gb.is_none() {
        metrics.ephemeral_storage_reserved_gb = storage(|r| r.ephemeral_reserved);
    }
}

/// Without enhanced metrics, the performance log still gives per-task ratios.
pub fn fill_from_performance_log(
    metrics: &mut Metrics,
    records: &[PerfRecord],
    evidence: &Evidence,
    _event: &TaskStateChange,
) {
    if records.is_empty() {
        return;
    }
    fill_containers_and_storage(metrics, records);
    let records: Vec<&PerfRecord> = records.iter().filter(|r| r.container.is_none()).collect();
    if records.is_empty() {
        return;
    }
    if metrics.task_cpu_pct.is_none() {
        let pts: Vec<Point> = records
            .iter()
            .filter(|r| r.cpu_reserved > 0.0)
            .map(|r| Point {
                at: r.at,
                value: r.cpu_utilized / r.cpu_reserved * 100.0,
            })
            .collect();
        if !pts.is_empty() {
            metrics.task_cpu_pct = Some(Series::new(pts));
            metrics.task_cpu_of = Allocation::of_cpu(evidence.task_definition.as_ref());
        }
    }
    if metrics.task_memory_pct.is_none() {
        let limit = hard_memory_limit(evidence);
        let pts: Vec<Point> = records
            .iter()
            .filter_map(|r| {
                let base = limit.unwrap_or(r.memory_reserved);
                (base > 0.0).then(|| Point {
                    at: r.at,
                    value: r.memory_utilized / base * 100.0,
                })
            })
            .collect();
        if !pts.is_empty() {
            metrics.task_memory_pct = Some(Series::new(pts));
            metrics.task_memory_of = Allocation::of_memory(evidence.task_definition.as_ref());
            metrics.task_memory_mib = Some(Series::new(
                records
                    .iter()
                    .map(|r| Point {
                        at: r.at,
                        value: r.memory_utilized,
                    })
                    .collect(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{ContainerDefinitionFacts, LogConfigFacts};

    /// GetMetricData takes at most 500 queries per call.
    const GET_METRIC_DATA_MAX_QUERIES: usize = 500;

    fn seed() -> (TaskStateChange, Evidence) {
        let event = match crate::event::parse_event(include_str!(
            "../../events/cpu_starved_elb_kill_ec2_signup_day.json"
        )) {
            Ok(crate::event::Incoming::Stopped(e)) => *e,
            other => panic!("not a stopped task: {other:?}"),
        };
        let evidence: Evidence = serde_json::from_str(include_str!(
            "../../events/cpu_starved_elb_kill_ec2_signup_day.evidence.json"
        ))
        .expect("evidence fixture");
        (event, evidence)
    }

    #[test]
    fn the_seed_case_asks_for_log_traffic_and_reservation_series_in_the_one_call() {
        let (event, evidence) = seed();
        let q = queries(&event, &evidence);
        let has =
            |ns: &str, metric: &str| q.iter().any(|x| x.namespace == ns && x.metric == metric);
        assert!(has("AWS/Logs", "IncomingLogEvents") && has("AWS/Logs", "IncomingBytes"));
        assert!(has("AWS/ApplicationELB", "RequestCount"));
        assert!(has("AWS/ECS", "CPUReservation") && has("AWS/ECS", "MemoryReservation"));
        assert_eq!(q.len(), 21);
    }

    #[test]
    fn log_groups_are_read_once_each_and_capped() {
        let (event, mut evidence) = seed();
        let td = evidence.task_definition.as_mut().expect("task definition");
        td.containers = (0..40)
            .map(|i| ContainerDefinitionFacts {
                name: format!("c{i}"),
                log: Some(LogConfigFacts {
                    driver: LogDriver::Awslogs,
                    group: Some(format!("/ecs/g{}", i % 20)),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        let groups = log_groups(&evidence);
        assert_eq!(groups.len(), MAX_LOG_GROUPS);
        assert!(queries(&event, &evidence).len() < GET_METRIC_DATA_MAX_QUERIES);
    }

    #[test]
    fn log_events_of_several_groups_are_summed_per_minute() {
        let at: DateTime<Utc> = "2026-10-01T12:00:00Z".parse().expect("time");
        let mut raw = HashMap::new();
        raw.insert(
            Slot::LogEvents,
            vec![
                Point { at, value: 100.0 },
                Point { at, value: 50.0 },
                Point {
                    at: at + Duration::minutes(1),
                    value: 10.0,
                },
            ],
        );
        let s = summed(&raw, Slot::LogEvents).expect("series");
        let values: Vec<f64> = s.points().iter().map(|p| p.value).collect();
        assert_eq!(values, [150.0, 10.0]);
    }
}
