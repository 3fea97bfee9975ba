//! Plain evidence gathered around a stop. No AWS SDK type appears here: `gather` converts, the
//! diagnosis engine reads. Every source is optional; a source that could not be read is listed in
//! `missing` with the reason. The whole struct is serialized into the archive so an incident can
//! be diagnosed again offline.
//!
//! Secrets never enter: task definition environment variables and secrets are reduced to their
//! names before a [`ContainerDefinitionFacts`] is built.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::vocab::{
    ActivityStatus, DeploymentStatus, HealthStatus, HostStatus, LaunchType, LogDriver,
    ManagedScaling, NotScaledCode, PolicyType, RolloutState, StopCode, TargetHealthReason,
    TargetHealthState,
};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Evidence {
    pub task_definition: Option<TaskDefinitionFacts>,
    pub service: Option<ServiceFacts>,
    /// Target groups of the service's load balancers, with their health checks and target health.
    pub target_groups: Option<Vec<TargetGroupFacts>>,
    pub task: Option<TaskFacts>,
    pub host: Option<HostFacts>,
    pub metrics: Option<Metrics>,
    pub logs: Option<Vec<ContainerLogTail>>,
    /// Other recently stopped tasks of the same service (or family, for standalone tasks).
    pub recent_stops: Option<Vec<RecentStop>>,
    /// The service's Application Auto Scaling target and policies (services only).
    pub scaling: Option<ScalingFacts>,
    /// Recent Application Auto Scaling activities of the service, newest first.
    pub scaling_activities: Option<Vec<ScalingActivityFacts>>,
    /// The cluster's capacity providers (EC2 tasks only).
    pub capacity: Option<CapacityFacts>,
    pub missing: Vec<MissingEvidence>,
}

/// A source that could not be read (or only in part), and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingEvidence {
    pub source: Source,
    /// What failed, in words: the call, AWS's error code and message.
    pub reason: String,
    /// Why, as a kind a program can act on. Records archived before it read as `failed`.
    #[serde(default)]
    pub kind: MissingKind,
    /// For `denied`: the IAM action the reading role needs (`ecs:DescribeServices`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_action: Option<String>,
    /// Only part of the source failed (one target group's health, one container's log tail):
    /// the rest was read and stands.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

impl MissingEvidence {
    pub fn new(source: Source, kind: MissingKind, reason: impl Into<String>) -> Self {
        Self {
            source,
            reason: reason.into(),
            kind,
            iam_action: None,
            partial: false,
        }
    }

    pub fn with_iam_action(mut self, action: impl Into<String>) -> Self {
        self.iam_action = Some(action.into());
        self
    }

    pub fn partial(mut self) -> Self {
        self.partial = true;
        self
    }

    /// "service events: DescribeServices: AccessDeniedException: … (grant ecs:DescribeServices)",
    /// as reports list it.
    pub fn label(&self) -> String {
        let part = if self.partial { " (in part)" } else { "" };
        let grant = match (&self.kind, &self.iam_action) {
            (MissingKind::Denied, Some(action)) if !self.reason.contains(action.as_str()) => {
                format!(" (grant {action})")
            }
            _ => String::new(),
        };
        format!("{}{part}: {}{grant}", self.source.label(), self.reason)
    }
}

/// Why a source could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingKind {
    /// IAM (or a KMS key, or an SCP) refused the call: grant `iam_action`.
    Denied,
    /// AWS throttled the call through every retry.
    Throttled,
    /// The call did not answer within its share of the deadline.
    Timeout,
    /// The thing asked for does not exist (any more): a deleted service, a stopped task older
    /// than DescribeTasks keeps.
    NotFound,
    /// The invocation's deadline had passed before the call could start.
    Deadline,
    /// The function is not configured to read it (another account without MEMBER_ROLE_NAME).
    NotConfigured,
    /// The answer came but could not be read (a corrupt object).
    Unreadable,
    /// Any other failure: `reason` says which.
    #[default]
    Failed,
}

/// The sources of evidence, as named in reports and in `missing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    TaskDefinition,
    Service,
    TargetHealth,
    Task,
    Host,
    Metrics,
    Logs,
    RecentStops,
    Scaling,
    ScalingActivities,
    Capacity,
    /// Container Insights' performance log (per-task and per-container records).
    PerformanceLog,
    /// The archive's storm state for the service (not evidence of the stop; recorded so a reset
    /// of storm counting is seen).
    StormState,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Self::TaskDefinition => "task definition",
            Self::Service => "service events",
            Self::TargetHealth => "ALB target health",
            Self::Task => "task health",
            Self::Host => "container instance",
            Self::Metrics => "CloudWatch metrics",
            Self::Logs => "container logs",
            Self::RecentStops => "recent stops",
            Self::Scaling => "service auto scaling",
            Self::ScalingActivities => "scaling activities",
            Self::Capacity => "cluster capacity providers",
            Self::PerformanceLog => "Container Insights performance log",
            Self::StormState => "storm state",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskDefinitionFacts {
    pub family: String,
    pub revision: Option<u32>,
    /// Task-level CPU units (1024 = 1 vCPU), when set.
    pub cpu: Option<u32>,
    /// Task-level memory hard limit in MiB, when set.
    pub memory: Option<u32>,
    pub network_mode: Option<String>,
    pub requires_compatibilities: Vec<String>,
    pub execution_role_arn: Option<String>,
    pub task_role_arn: Option<String>,
    pub containers: Vec<ContainerDefinitionFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerDefinitionFacts {
    pub name: String,
    pub image: Option<String>,
    pub cpu: Option<u32>,
    /// Hard limit (`memory`) in MiB.
    pub memory: Option<u32>,
    /// Soft limit (`memoryReservation`) in MiB.
    pub memory_reservation: Option<u32>,
    pub essential: bool,
    pub health_check: Option<HealthCheckFacts>,
    /// Seconds between SIGTERM and SIGKILL; ECS's default is 30 when unset.
    pub stop_timeout: Option<u32>,
    pub port_mappings: Vec<u32>,
    pub log: Option<LogConfigFacts>,
    /// Names only; values never leave the task definition.
    pub environment_names: Vec<String>,
    /// Names only; `valueFrom` is dropped.
    pub secret_names: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheckFacts {
    pub command: Vec<String>,
    pub interval_seconds: Option<u32>,
    pub timeout_seconds: Option<u32>,
    pub retries: Option<u32>,
    pub start_period_seconds: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfigFacts {
    pub driver: LogDriver,
    pub group: Option<String>,
    pub region: Option<String>,
    pub stream_prefix: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceFacts {
    pub name: String,
    pub cluster: Option<String>,
    pub status: Option<String>,
    pub desired_count: Option<i64>,
    pub running_count: Option<i64>,
    pub pending_count: Option<i64>,
    pub launch_type: Option<LaunchType>,
    pub capacity_provider_strategy: Vec<String>,
    pub health_check_grace_period_seconds: Option<u32>,
    pub deployment_circuit_breaker: Option<bool>,
    pub deployments: Vec<DeploymentFacts>,
    pub load_balancers: Vec<LoadBalancerRef>,
    /// Service events inside the evidence window, oldest first.
    pub events: Vec<ServiceEvent>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeploymentFacts {
    pub id: String,
    pub status: Option<DeploymentStatus>,
    pub task_definition: Option<String>,
    pub rollout_state: Option<RolloutState>,
    pub rollout_state_reason: Option<String>,
    pub desired_count: Option<i64>,
    pub running_count: Option<i64>,
    pub failed_tasks: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadBalancerRef {
    pub target_group_arn: Option<String>,
    pub container_name: Option<String>,
    pub container_port: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEvent {
    pub at: DateTime<Utc>,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetGroupFacts {
    pub arn: String,
    pub name: Option<String>,
    pub protocol: Option<String>,
    pub port: Option<u32>,
    pub load_balancer_arns: Vec<String>,
    pub health_check: Option<TargetGroupHealthCheck>,
    pub targets: Vec<TargetHealthFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetGroupHealthCheck {
    pub protocol: Option<String>,
    pub path: Option<String>,
    /// "traffic-port" or a number.
    pub port: Option<String>,
    pub interval_seconds: Option<u32>,
    pub timeout_seconds: Option<u32>,
    pub healthy_threshold: Option<u32>,
    pub unhealthy_threshold: Option<u32>,
    /// Success codes, e.g. "200" or "200-299".
    pub matcher: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetHealthFacts {
    pub id: String,
    pub port: Option<u32>,
    pub state: Option<TargetHealthState>,
    pub reason: Option<TargetHealthReason>,
    pub description: Option<String>,
}

/// What DescribeTasks still shows of the stopped task (it keeps it for about an hour).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskFacts {
    pub health_status: Option<HealthStatus>,
    pub containers: Vec<ContainerHealthFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerHealthFacts {
    pub name: String,
    pub health_status: Option<HealthStatus>,
}

/// The EC2 container instance the task ran on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostFacts {
    pub container_instance_arn: Option<String>,
    pub ec2_instance_id: Option<String>,
    pub instance_type: Option<String>,
    pub status: Option<HostStatus>,
    pub status_reason: Option<String>,
    pub agent_connected: Option<bool>,
}

impl HostFacts {
    /// t2/t3/t3a/t4g instances earn CPU credits and are throttled to a baseline without them.
    pub fn is_burstable(&self) -> bool {
        self.instance_type.as_deref().is_some_and(|t| {
            let family = t.split('.').next().unwrap_or("");
            matches!(family, "t2" | "t3" | "t3a" | "t4g")
        })
    }
}

/// Metric series over the evidence window. Utilization series are percentages *of the
/// allocation* (reservation or limit), never raw host usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metrics {
    /// Task CPU as % of the task's CPU allocation (Container Insights CpuUtilized ÷ CpuReserved).
    pub task_cpu_pct: Option<Series>,
    /// What `task_cpu_pct` is a share of. Absent in records archived before it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_cpu_of: Option<Allocation>,
    /// Task memory as % of its hard limit (MemoryUtilized ÷ memory limit).
    pub task_memory_pct: Option<Series>,
    /// What `task_memory_pct` is a share of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_memory_of: Option<Allocation>,
    /// Task memory in MiB (MemoryUtilized).
    pub task_memory_mib: Option<Series>,
    /// AWS/ECS service CPUUtilization, Average and Maximum over the service's tasks.
    pub service_cpu_avg_pct: Option<Series>,
    pub service_cpu_max_pct: Option<Series>,
    pub service_memory_avg_pct: Option<Series>,
    pub service_memory_max_pct: Option<Series>,
    /// ALB TargetResponseTime in seconds (Average).
    pub alb_target_response_time_s: Option<Series>,
    pub alb_unhealthy_hosts: Option<Series>,
    pub alb_healthy_hosts: Option<Series>,
    pub alb_target_5xx: Option<Series>,
    /// EC2 host CPUCreditBalance (burstable instances only).
    pub host_cpu_credit_balance: Option<Series>,
    pub host_cpu_pct: Option<Series>,
    /// Per-container memory from Container Insights performance records (`Type: Container`,
    /// `MemoryUtilized` in MiB): finer than the task's series, one per container.
    pub containers: Option<Vec<ContainerUsage>>,
    /// Container Insights `EphemeralStorageUtilized` and `EphemeralStorageReserved` (GB, Fargate).
    pub ephemeral_storage_utilized_gb: Option<Series>,
    pub ephemeral_storage_reserved_gb: Option<Series>,
    /// ALB RequestCount (Sum per minute) of the service's target group.
    pub alb_requests: Option<Series>,
    /// ALB RequestCountPerTarget (Sum per minute).
    pub alb_requests_per_target: Option<Series>,
    /// The awslogs groups whose AWS/Logs metrics were read (`log_events`, `log_bytes`).
    pub log_groups: Vec<String>,
    /// AWS/Logs IncomingLogEvents (Sum per minute), over every stream of `log_groups`.
    pub log_events: Option<Series>,
    /// AWS/Logs IncomingBytes (Sum per minute).
    pub log_bytes: Option<Series>,
    /// AWS/ECS CPUReservation / MemoryReservation of the cluster (EC2), Maximum per minute.
    pub cluster_cpu_reservation_pct: Option<Series>,
    pub cluster_memory_reservation_pct: Option<Series>,
}

/// What a task's utilization percentage is a share of. On Fargate it is always the task's own
/// size; on EC2 it depends on what the task definition sets, and with nothing set Container
/// Insights' "reserved" figure is the instance's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allocation {
    /// The task-level `cpu` / `memory`: a hard cap.
    Task,
    /// The sum of the containers' own hard memory limits (`memory`).
    ContainerLimits,
    /// The sum of the containers' `cpu` units: relative shares of the host, not a cap.
    ContainerShares,
    /// Container Insights' `CpuReserved` / `MemoryReserved` with no limit set: the soft
    /// reservations, or the host's CPU when the task reserves none.
    Reserved,
}

impl Allocation {
    /// For CPU, from the task definition (`None` when it was not read).
    pub fn of_cpu(td: Option<&TaskDefinitionFacts>) -> Option<Self> {
        let td = td?;
        Some(if td.cpu.is_some_and(|c| c > 0) {
            Self::Task
        } else if td.containers.iter().any(|c| c.cpu.is_some_and(|u| u > 0)) {
            Self::ContainerShares
        } else {
            Self::Reserved
        })
    }

    /// For memory, from the task definition, as gathering divides (`None` when it was not read).
    pub fn of_memory(td: Option<&TaskDefinitionFacts>) -> Option<Self> {
        let td = td?;
        Some(if td.memory.is_some_and(|m| m > 0) {
            Self::Task
        } else if td
            .containers
            .iter()
            .any(|c| c.memory.is_some_and(|m| m > 0))
        {
            Self::ContainerLimits
        } else {
            Self::Reserved
        })
    }
}

/// One container's own memory use, from its performance records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerUsage {
    pub container: String,
    pub memory_mib: Series,
}

/// What Application Auto Scaling holds for the service. `target: None` means no scalable target
/// is registered: the desired count is fixed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScalingFacts {
    pub resource_id: String,
    pub target: Option<ScalableTargetFacts>,
    pub policies: Vec<ScalingPolicyFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScalableTargetFacts {
    pub min_capacity: i64,
    pub max_capacity: i64,
    pub scale_out_suspended: bool,
    pub scale_in_suspended: bool,
    pub scheduled_suspended: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScalingPolicyFacts {
    pub name: String,
    pub policy_type: PolicyType,
    /// Target tracking: the predefined metric (ECSServiceAverageCPUUtilization, …), or
    /// "Namespace/MetricName" of a customized one.
    pub metric: Option<String>,
    pub target_value: Option<f64>,
    pub scale_out_cooldown_s: Option<i64>,
    pub disable_scale_in: Option<bool>,
    /// CloudWatch alarms the policy is attached to (step scaling) or owns (target tracking).
    pub alarms: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScalingActivityFacts {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub status: ActivityStatus,
    /// "Setting desired count to 4."
    pub description: String,
    pub cause: String,
    pub status_message: Option<String>,
    /// Activities that did not scale say why (AlreadyAtMaxCapacity …).
    pub not_scaled: Vec<NotScaledFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotScaledFacts {
    pub code: NotScaledCode,
    pub max_capacity: Option<i64>,
    pub min_capacity: Option<i64>,
    pub current_capacity: Option<i64>,
}

/// The cluster's capacity providers and default strategy (DescribeClusters, DescribeCapacityProviders).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapacityFacts {
    pub cluster: String,
    pub capacity_providers: Vec<String>,
    /// "provider (weight W, base B)".
    pub default_strategy: Vec<String>,
    pub registered_instances: Option<i64>,
    /// Container Insights setting of the cluster, when reported.
    pub container_insights: Option<String>,
    pub providers: Vec<CapacityProviderFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapacityProviderFacts {
    pub name: String,
    pub auto_scaling_group_arn: Option<String>,
    pub managed_scaling: Option<ManagedScaling>,
    /// Target capacity %: the cluster's CPU/memory reservation managed scaling aims for.
    pub target_capacity_pct: Option<i64>,
    pub managed_termination_protection: Option<String>,
}

/// A metric series: its points are in time order and finite however it was built or read
/// (`Series::new` and deserialization both sort and drop NaN and infinities), so every rule can
/// take the first and last point and compare values without checking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawSeries")]
pub struct Series {
    points: Vec<Point>,
}

/// A series as stored, before its invariants are restored.
#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    points: Vec<Point>,
}

impl From<RawSeries> for Series {
    fn from(raw: RawSeries) -> Self {
        Series::new(raw.points)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    #[serde(serialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// The text chrono's own serializer writes (RFC 3339, `Z`, fractional seconds only when there
/// are any), formatted into one string first: chrono's serializer hands the JSON writer a dozen
/// pieces per timestamp, each escaped on its own, and a record has hundreds of points.
fn rfc3339<S: serde::Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

impl Series {
    pub fn new(points: Vec<Point>) -> Self {
        let mut points: Vec<Point> = points.into_iter().filter(|p| p.value.is_finite()).collect();
        points.sort_by_key(|p| p.at);
        Self { points }
    }

    /// The points, oldest first, every value finite.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    pub fn into_points(self) -> Vec<Point> {
        self.points
    }

    /// The same series with every value passed through `f` (a value that becomes non-finite is
    /// dropped).
    pub fn map_values(&self, f: impl Fn(f64) -> f64) -> Self {
        Self::new(
            self.points
                .iter()
                .map(|p| Point {
                    at: p.at,
                    value: f(p.value),
                })
                .collect(),
        )
    }

    /// Points inside `[from, to]`, in time order.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> impl Iterator<Item = &Point> {
        self.points
            .iter()
            .filter(move |p| p.at >= from && p.at <= to && p.value.is_finite())
    }

    pub fn max_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
        self.between(from, to).map(|p| p.value).reduce(f64::max)
    }

    pub fn min_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
        self.between(from, to).map(|p| p.value).reduce(f64::min)
    }

    pub fn mean_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
        let (sum, n) = self
            .between(from, to)
            .fold((0.0, 0usize), |(s, n), p| (s + p.value, n + 1));
        (n > 0).then(|| sum / n as f64)
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerLogTail {
    pub container: String,
    pub log_group: Option<String>,
    pub log_stream: Option<String>,
    /// The last lines before the stop, oldest first, already scrubbed of obvious secrets.
    pub lines: Vec<LogLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: Option<DateTime<Utc>>,
    pub message: String,
}

/// Another stopped task of the same service, as DescribeTasks reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecentStop {
    pub task_arn: String,
    pub stopped_at: Option<DateTime<Utc>>,
    pub stop_code: Option<StopCode>,
    pub stopped_reason: Option<String>,
    pub containers: Vec<RecentContainerExit>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecentContainerExit {
    pub name: String,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
}

impl Evidence {
    /// Nothing gathered and nothing recorded missing.
    pub fn is_empty(&self) -> bool {
        *self == Evidence::default()
    }

    /// Whether `source` could not be read at all (a partial failure leaves what was read).
    pub fn is_missing(&self, source: Source) -> bool {
        self.missing
            .iter()
            .any(|m| m.source == source && !m.partial)
    }

    /// Records that `source` could not be read, for a reason of no particular kind.
    pub fn mark_missing(&mut self, source: Source, reason: impl Into<String>) {
        self.missing
            .push(MissingEvidence::new(source, MissingKind::Failed, reason));
    }

    /// The per-container memory record of `name`, when Container Insights reported one.
    pub fn container_usage(&self, name: &str) -> Option<&ContainerUsage> {
        self.metrics
            .as_ref()?
            .containers
            .as_ref()?
            .iter()
            .find(|c| c.container == name && !c.memory_mib.is_empty())
    }

    /// The container definition of `name`, when the task definition was read.
    pub fn container_def(&self, name: &str) -> Option<&ContainerDefinitionFacts> {
        self.task_definition
            .as_ref()?
            .containers
            .iter()
            .find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        format!("2026-10-01T12:{minute:02}:00Z")
            .parse()
            .unwrap_or_default()
    }

    #[test]
    fn a_point_writes_its_time_exactly_as_chrono_does() {
        for text in [
            "2026-10-01T12:00:00Z",
            "2026-10-01T12:00:00.5Z",
            "2026-10-01T12:00:00.511Z",
            "2026-10-01T12:00:00.000511Z",
            "2026-10-01T12:00:00.000000511Z",
            "1999-12-31T23:59:59.999999999Z",
        ] {
            let at: DateTime<Utc> = text.parse().expect("parses");
            let point = Point { at, value: 1.5 };
            let written = serde_json::to_string(&point).expect("serializes");
            let chrono = serde_json::to_string(&at).expect("serializes");
            assert_eq!(written, format!("{{\"at\":{chrono},\"value\":1.5}}"));
            let back: Point = serde_json::from_str(&written).expect("reads back");
            assert_eq!(back, point);
        }
    }

    #[test]
    fn a_series_read_out_of_order_is_sorted() {
        let s: Series = serde_json::from_value(serde_json::json!({"points": [
            {"at": "2026-10-01T12:05:00Z", "value": 2.0},
            {"at": "2026-10-01T12:01:00Z", "value": 1.0}
        ]}))
        .expect("parses");
        let minutes: Vec<DateTime<Utc>> = s.points().iter().map(|p| p.at).collect();
        assert_eq!(minutes, vec![at(1), at(5)]);
    }

    #[test]
    fn a_built_series_drops_values_that_are_not_finite() {
        let s = Series::new(vec![
            Point {
                at: at(3),
                value: f64::NAN,
            },
            Point {
                at: at(2),
                value: 7.0,
            },
            Point {
                at: at(1),
                value: f64::INFINITY,
            },
        ]);
        assert_eq!(
            s.points(),
            &[Point {
                at: at(2),
                value: 7.0
            }]
        );
        assert!(s.map_values(|v| v / 0.0).is_empty());
    }

    #[test]
    fn a_partial_failure_does_not_make_the_source_missing() {
        let mut e = Evidence::default();
        e.missing.push(
            MissingEvidence::new(
                Source::Logs,
                MissingKind::Timeout,
                "container app: timed out",
            )
            .partial(),
        );
        assert!(!e.is_missing(Source::Logs));
        e.mark_missing(Source::Logs, "every tail failed");
        assert!(e.is_missing(Source::Logs));
    }

    #[test]
    fn a_denied_entry_names_the_action_once() {
        let named = MissingEvidence::new(
            Source::Service,
            MissingKind::Denied,
            "not authorized to perform ecs:DescribeServices",
        )
        .with_iam_action("ecs:DescribeServices");
        assert_eq!(
            named.label(),
            "service events: not authorized to perform ecs:DescribeServices"
        );
        let unnamed = MissingEvidence::new(Source::Service, MissingKind::Denied, "AccessDenied")
            .with_iam_action("ecs:DescribeServices");
        assert_eq!(
            unnamed.label(),
            "service events: AccessDenied (grant ecs:DescribeServices)"
        );
    }

    #[test]
    fn a_record_archived_before_kinds_reads_as_failed() {
        let m: MissingEvidence =
            serde_json::from_value(serde_json::json!({"source": "metrics", "reason": "x"}))
                .expect("parses");
        assert_eq!(m.kind, MissingKind::Failed);
        assert!(!m.partial && m.iam_action.is_none());
    }
}
