//! Gathering: every AWS call the diagnosis needs, turned into plain [`Evidence`].
//!
//! Dependency graph (→ means "needs the answer of"); calls on one line run concurrently:
//!
//! ```text
//! round 1 (from the event alone):
//!   DescribeTaskDefinition · DescribeServices · DescribeContainerInstances · ListTasks(STOPPED)
//!   (a quiet benign stop, `Scope::EcsOnly`: DescribeTasks(task) instead of ListTasks, and no
//!   more rounds)
//! round 2:
//!   DescribeTargetGroups + DescribeTargetHealth   → DescribeServices (target group ARNs)
//!   DescribeTasks(the task + recent stops)        → ListTasks (one call for both)
//!   GetLogEvents per essential container          → DescribeTaskDefinition (awslogs group, prefix)
//!   FilterLogEvents (Container Insights perf log) → (event only; runs here to share the round)
//!   DescribeScalableTargets (services)            → (event only; kept out of round 1, which
//!   · DescribeClusters (EC2)                        carries the archive claim)
//! round 3:
//!   GetMetricData, ONE call for every series      → target groups (ALB dimensions), host (EC2),
//!                                                   task definition (awslogs groups)
//!   DescribeCapacityProviders                     → DescribeClusters (the cluster's providers)
//!   DescribeScalingPolicies                       → DescribeScalableTargets (a target exists)
//!   DescribeScalingActivities                     → DescribeScalableTargets (not known absent)
//! ```
//!
//! The policies and activities wait for the scalable target because most services without
//! auto scaling would get two empty answers; round 3 exists for the metrics anyway, so waiting
//! adds no round.
//!
//! So the critical path is three dependent round trips: DescribeServices → DescribeTargetGroups →
//! GetMetricData. Every call gets a timeout from what is left of the deadline on top of the SDK's
//! standard retries; a failure becomes a `missing` entry with its reason and the rest goes on.

pub mod accounts;
mod ecs;
mod elb;
mod logs;
mod metrics;
mod scaling;
pub mod scrub;

use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::time::Instant;

use crate::error::GatherError;
use crate::event::TaskStateChange;
use crate::evidence::{Evidence, MissingEvidence, Source};

pub use ecs::{event_from_task, fetch_task_event};

/// Log lines kept per container.
pub const LOG_TAIL_LINES: i32 = 50;
/// Recent stopped tasks of the service that are described.
pub const RECENT_STOPS: usize = 20;

/// Every client the function and the CLI use, built once from one `SdkConfig`.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            ecs: aws_sdk_ecs::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(config),
        }
    }
}

/// Which sources to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything: ECS, ELB, CloudWatch metrics and logs, scaling posture.
    Full,
    /// ECS only (task definition, service, task, host): for stops the event already shows to be
    /// benign, where metrics and logs would change nothing but cost three more endpoints' TLS
    /// handshakes and a dozen calls.
    EcsOnly,
}

/// How far to look and how long to take.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Minutes of evidence before the stop.
    pub lookback_minutes: u32,
    /// When gathering must be done; calls still running then are abandoned.
    pub deadline: Instant,
    pub scope: Scope,
}

impl Settings {
    pub fn new(lookback_minutes: u32, budget: Duration) -> Self {
        Self {
            lookback_minutes,
            deadline: Instant::now() + budget,
            scope: Scope::Full,
        }
    }

    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// One AWS call under the remaining deadline. The SDK error is kept as the source.
pub(crate) async fn call<T, E, R, F>(
    op: &'static str,
    settings: &Settings,
    fut: F,
) -> Result<T, GatherError>
where
    F: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let remaining = settings.remaining();
    if remaining.is_zero() {
        return Err(GatherError::Deadline { op });
    }
    match tokio::time::timeout(remaining, fut).await {
        Err(_) => Err(GatherError::Timeout {
            op,
            after: remaining,
        }),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(GatherError::aws(op, e)),
    }
}

/// Gathers all evidence for one stopped task. Never fails: what could not be read is listed in
/// `missing`.
pub async fn gather(clients: &Clients, event: &TaskStateChange, settings: &Settings) -> Evidence {
    let first = gather_ecs(clients, event, settings).await;
    gather_rest(clients, event, settings, first).await
}

/// What round 1 found: ECS's view of the task, read from the event alone. The function starts it
/// together with its archive claim, so the two share one round trip.
#[derive(Debug)]
pub struct EcsRound {
    evidence: Evidence,
    stopped_arns: Option<Vec<String>>,
}

/// Round 1: the ECS describes that need only the event.
pub async fn gather_ecs(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
) -> EcsRound {
    let mut evidence = Evidence::default();
    let (td, service, task, host, stopped) = tokio::join!(
        ecs::task_definition(clients, event, settings),
        ecs::service(clients, event, settings),
        async {
            // A notified stop reads its own health in round 2, in the same DescribeTasks as its
            // service's recent stops; a quiet benign one never gets there.
            match settings.scope {
                Scope::Full => Ok(None),
                Scope::EcsOnly => ecs::task_health(clients, event, settings).await,
            }
        },
        ecs::host(clients, event, settings),
        async {
            // The recent stops are described in round 2, which a quiet benign stop never reaches:
            // listing them would be a call whose answer nobody reads.
            match settings.scope {
                Scope::Full => ecs::list_recent_stops(clients, event, settings).await,
                Scope::EcsOnly => Ok(None),
            }
        },
    );
    evidence.task_definition = take(&mut evidence, Source::TaskDefinition, td);
    evidence.service = take(&mut evidence, Source::Service, service);
    evidence.task = take(&mut evidence, Source::Task, task);
    evidence.host = take(&mut evidence, Source::Host, host);
    let stopped_arns = take(&mut evidence, Source::RecentStops, stopped);
    EcsRound {
        evidence,
        stopped_arns,
    }
}

/// Rounds 2 and 3, from what round 1 found (nothing more for [`Scope::EcsOnly`]).
pub async fn gather_rest(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
    first: EcsRound,
) -> Evidence {
    let EcsRound {
        mut evidence,
        stopped_arns,
    } = first;
    if settings.scope == Scope::EcsOnly {
        return evidence;
    }

    // Round 2.
    let tg_arns: Vec<String> = evidence
        .service
        .as_ref()
        .map(|s| {
            s.load_balancers
                .iter()
                .filter_map(|lb| lb.target_group_arn.clone())
                .collect()
        })
        .unwrap_or_default();
    let listed = stopped_arns.is_some();
    let (tgs, described, tails, perf, (target, cluster)) = tokio::join!(
        elb::target_groups(clients, &tg_arns, settings),
        ecs::describe_task_and_recent_stops(clients, event, stopped_arns, settings),
        logs::tails(clients, event, evidence.task_definition.as_ref(), settings),
        logs::performance_records(clients, event, settings),
        async {
            tokio::join!(
                scaling::target(clients, event, settings),
                scaling::cluster(clients, event, settings),
            )
        },
    );
    evidence.target_groups = take_partial(&mut evidence, Source::TargetHealth, tgs);
    match described {
        Ok((task, recent)) => {
            evidence.task = task;
            evidence.recent_stops = recent;
        }
        Err(e) => {
            tracing::warn!(error = %e, "task health and recent stops unavailable");
            evidence.missing.push(e.missing(Source::Task));
            if listed {
                evidence.missing.push(e.missing(Source::RecentStops));
            }
        }
    }
    evidence.logs = take_partial(&mut evidence, Source::Logs, tails);
    let perf = take(&mut evidence, Source::PerformanceLog, perf);
    let target = take(&mut evidence, Source::Scaling, target);
    let cluster = take(&mut evidence, Source::Capacity, cluster);

    // Round 3: the metrics need the target groups; the policies and activities the scalable
    // target; the capacity providers the cluster. All of them wait for round 2 anyway.
    let (series, capacity, (scaling, activities)) = tokio::join!(
        metrics::fetch(clients, event, &evidence, settings),
        async {
            match cluster {
                Some(c) => scaling::providers(clients, c, settings).await.map(Some),
                None => Ok(None),
            }
        },
        async {
            match target {
                Some(Some(t)) => tokio::join!(
                    scaling::policies(clients, event, t, settings),
                    scaling::activities(clients, event, settings),
                ),
                // No scalable target: nothing to read, both answers would be empty.
                Some(None) => (Ok(scaling::without_target(event)), Ok(Some(Vec::new()))),
                // The target could not be read (recorded as missing above), or there is no
                // service: its activities are still asked for, as before the target was known.
                None => (
                    Ok(None),
                    scaling::activities(clients, event, settings).await,
                ),
            }
        },
    );
    evidence.scaling = take(&mut evidence, Source::Scaling, scaling);
    evidence.scaling_activities = take(&mut evidence, Source::ScalingActivities, activities);
    evidence.capacity = take(&mut evidence, Source::Capacity, capacity);
    match series {
        Ok(mut m) => {
            if let Some(records) = perf {
                metrics::fill_from_performance_log(&mut m, &records, &evidence, event);
            }
            evidence.metrics = Some(m);
        }
        Err(e) => evidence.missing.push(e.missing(Source::Metrics)),
    }
    evidence
}

/// What a source read, and the parts of it that could not be read.
pub(crate) type Partial<T> = (T, Vec<MissingEvidence>);

/// [`take`] for a source read in parts: each failed part is recorded as partly missing.
fn take_partial<T>(
    evidence: &mut Evidence,
    source: Source,
    result: Result<Option<Partial<T>>, GatherError>,
) -> Option<T> {
    let (value, failed) = take(evidence, source, result)?;
    for part in failed {
        tracing::warn!(source = source.label(), reason = %part.reason, "evidence partly unavailable");
        evidence.missing.push(part);
    }
    Some(value)
}

/// Ok(Some) → the value; Ok(None) → not applicable; Err → recorded as missing.
fn take<T>(
    evidence: &mut Evidence,
    source: Source,
    result: Result<Option<T>, GatherError>,
) -> Option<T> {
    match result {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(source = source.label(), error = %e, "evidence source unavailable");
            evidence.missing.push(e.missing(source));
            None
        }
    }
}
