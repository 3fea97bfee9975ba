//! The service's scaling posture and its log volume, for verdicts of CPU pressure.
//!
//! Advice to "scale out" or "enable managed scaling" is only useful when it says what this
//! service has: no scalable target (a fixed desired count), a target-tracking policy whose
//! Average never reached its target while one task was pinned, a target already at its maximum,
//! a capacity provider with managed scaling off. Log volume is a CPU consumer of its own: every
//! log line is written from the same small CPU share, so lines per request and their rise before
//! the kill are measured. Every number printed is kept in [`Posture`] for the record.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::evidence::{ScalingActivityFacts, ScalingPolicyFacts, Series, Source};
use crate::vocab::{ActivityStatus, LogDriver, ManagedScaling, NotScaledCode, PolicyType};

use super::claims::{Basis, Claim, Claims, SeriesRef, Setting};
use super::context::{Context, duration_text};
use super::cpu::{PINNED_PCT, PressureLevel};
use super::{Cause, Finding, Verdict};

/// Log lines per request at or above this: logging is a real share of each request's work.
pub const LINES_PER_REQUEST_HIGH: f64 = 5.0;
/// Log volume in the last minutes before the kill this many times the earlier level: a rise.
pub const LOG_RISE_HIGH: f64 = 3.0;
/// The window before the kill in which log volume and traffic are compared.
pub const LOG_WINDOW_MIN: i64 = 10;
/// A cluster CPUReservation at or above this means new tasks had no room to be placed.
pub const RESERVATION_HIGH_PCT: f64 = 90.0;
/// How far before the kill scaling activity is looked for.
pub const SCALING_WINDOW_MIN: i64 = 30;
/// The predefined metric of CPU target tracking.
const CPU_METRIC: &str = "ECSServiceAverageCPUUtilization";

/// The numbers behind the scaling and log-volume findings, as computed from the evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Posture {
    /// A service task: Application Auto Scaling applies.
    pub service_task: bool,
    /// An EC2 task: the cluster's capacity providers apply.
    pub ec2: bool,
    /// False when Application Auto Scaling could not be read (or was not gathered).
    pub scaling_read: bool,
    pub desired_count: Option<i64>,
    pub min_capacity: Option<i64>,
    pub max_capacity: Option<i64>,
    /// One line per policy: "target tracking ECSServiceAverageCPUUtilization at 75%".
    pub policies: Vec<String>,
    pub scale_out_suspended: bool,
    /// Successful scale-outs between the start of the evidence window and the kill.
    pub scale_outs_before_kill: Option<usize>,
    /// Minutes the target sat at its maximum before the kill.
    pub at_max_minutes: Option<f64>,
    pub cpu_average_peak_pct: Option<f64>,
    pub cpu_maximum_peak_pct: Option<f64>,
    /// False when the cluster's capacity providers could not be read (or do not apply).
    pub capacity_read: bool,
    /// "NAME: managed scaling ENABLED, target capacity 100%".
    pub capacity_providers: Vec<String>,
    pub cluster_cpu_reservation_peak_pct: Option<f64>,
    pub log: Option<LogVolume>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogVolume {
    pub log_groups: Vec<String>,
    /// Mean IncomingLogEvents per minute in the [`LOG_WINDOW_MIN`] minutes before the kill.
    pub events_per_min: f64,
    /// The same before that window, when there are points.
    pub earlier_events_per_min: Option<f64>,
    /// `events_per_min ÷ earlier_events_per_min`.
    pub rise: Option<f64>,
    /// Mean IncomingBytes per minute in the same window, in KiB.
    pub kib_per_min: Option<f64>,
    /// Mean ALB RequestCount per minute in the same window.
    pub requests_per_min: Option<f64>,
    /// `events_per_min ÷ requests_per_min`.
    pub lines_per_request: Option<f64>,
}

impl Posture {
    /// (label, value) rows for the email and the report's scaling panel; only what was read.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let mut rows = Vec::new();
        let desired = self
            .desired_count
            .map(|d| format!("desired count {d}"))
            .unwrap_or_else(|| "desired count not read".to_owned());
        match (self.scaling_read, self.min_capacity, self.max_capacity) {
            _ if !self.service_task => {}
            (false, _, _) => rows.push(("Service auto scaling", "not read".to_owned())),
            (true, Some(min), Some(max)) => {
                rows.push((
                    "Service auto scaling",
                    format!("min {min}, max {max}, {desired}"),
                ));
                let policies = if self.policies.is_empty() {
                    "none".to_owned()
                } else {
                    self.policies.join("; ")
                };
                rows.push(("Scaling policies", policies));
                if self.scale_out_suspended {
                    rows.push(("Dynamic scale-out", "suspended".to_owned()));
                }
            }
            (true, _, _) => rows.push((
                "Service auto scaling",
                format!("no scalable target, {desired} (fixed)"),
            )),
        }
        if let Some(n) = self.scale_outs_before_kill {
            rows.push((
                "Scale-outs before the kill",
                format!("{n} in the {SCALING_WINDOW_MIN} min before"),
            ));
        }
        if let (Some(m), Some(max)) = (self.at_max_minutes, self.max_capacity) {
            rows.push(("At max capacity", format!("{max} for {}", duration_text(m))));
        }
        if let (Some(avg), Some(max)) = (self.cpu_average_peak_pct, self.cpu_maximum_peak_pct) {
            rows.push((
                "Service CPU peak",
                format!("Average {avg:.0}%, Maximum {max:.0}%"),
            ));
        }
        if self.ec2 && !self.capacity_read {
            rows.push(("Capacity providers", "not read".to_owned()));
        } else if self.capacity_read {
            let providers = if self.capacity_providers.is_empty() {
                "none (no EC2 capacity provider)".to_owned()
            } else {
                self.capacity_providers.join("; ")
            };
            rows.push(("Capacity providers", providers));
        }
        if let Some(r) = self.cluster_cpu_reservation_peak_pct {
            rows.push(("Cluster CPUReservation peak", format!("{r:.0}%")));
        }
        if let Some(log) = self.log.as_ref() {
            let mut text = format!("{:.0} events/min", log.events_per_min);
            if let Some(l) = log.lines_per_request {
                text.push_str(&format!(", ≈ {l:.0} lines per request"));
            }
            if let Some(r) = log.rise {
                text.push_str(&format!(", {r:.1}× the earlier rate"));
            }
            rows.push(("Log volume", text));
        }
        rows
    }
}

impl LogVolume {
    /// The numbers show logging as a real CPU consumer.
    pub fn is_heavy(&self) -> bool {
        self.lines_per_request
            .is_some_and(|l| l >= LINES_PER_REQUEST_HIGH)
            || self.rise.is_some_and(|r| r >= LOG_RISE_HIGH)
    }
}

/// Verdicts where capacity and log volume bear on the stop: CPU starvation, and ELB kills with
/// CPU busy but not pinned.
fn applies(ctx: &Context<'_>, verdict: &Verdict) -> bool {
    match verdict.cause {
        Cause::CpuStarved => true,
        Cause::ElbHealthCheckFailed => ctx.cpu.level == PressureLevel::Moderate,
        _ => false,
    }
}

/// Adds the scaling and log-volume findings and recommendations; returns their numbers.
pub fn apply(ctx: &Context<'_>, verdict: &mut Verdict) -> Option<Posture> {
    if !applies(ctx, verdict) {
        return None;
    }
    let mut p = Posture {
        cpu_average_peak_pct: ctx.cpu.service_avg_peak,
        cpu_maximum_peak_pct: ctx.cpu.service_max_peak,
        desired_count: ctx.evidence.service.as_ref().and_then(|s| s.desired_count),
        service_task: ctx.event.is_service_task(),
        ec2: !ctx.event.is_fargate(),
        ..Posture::default()
    };
    if ctx.event.is_service_task() {
        service_scaling(ctx, &mut p, verdict);
    }
    if !ctx.event.is_fargate() {
        capacity(ctx, &mut p, verdict);
    }
    if let Some(log) = log_volume(ctx) {
        log_findings(&log, &log_drivers(ctx), verdict);
        p.log = Some(log);
    }
    Some(p)
}

/// Capacity findings point to the verdict when it is CPU starvation; beside an ELB kill with CPU
/// busy but not pinned they are context.
/// "30 min": one of this module's fixed evidence windows.
fn window_claim(minutes: i64, name: &'static str) -> Claim {
    // Bounded: the windows are small constants.
    Claim::policy(format!("{minutes} min"), minutes as f64, name)
}

fn bearing(v: &Verdict, signal: &str, observed: String) -> Finding {
    if v.cause == Cause::CpuStarved {
        Finding::supports(signal, observed)
    } else {
        Finding::context(signal, observed)
    }
}

fn missing_reason(ctx: &Context<'_>, source: Source) -> Option<String> {
    ctx.evidence
        .missing
        .iter()
        .find(|m| m.source == source && !m.partial)
        .map(|m| m.reason.clone())
}

fn policy_line(p: &ScalingPolicyFacts) -> String {
    match (&p.policy_type, p.metric.as_deref(), p.target_value) {
        (PolicyType::TargetTracking, Some(m), Some(t)) => {
            format!("target tracking {m} at {t:.0}")
                + if crate::vocab::is_utilization_metric(m) {
                    "%"
                } else {
                    ""
                }
        }
        (PolicyType::Step, _, _) if !p.alarms.is_empty() => {
            format!("step scaling on alarm {}", p.alarms.join(", "))
        }
        (PolicyType::Step, _, _) => "step scaling".to_owned(),
        (other, _, _) => other.as_str().to_owned(),
    }
}

/// "Setting desired count to 4." → 4.
fn desired_in(description: &str) -> Option<i64> {
    crate::vocab::desired_count_in(description)
}

fn service_scaling(ctx: &Context<'_>, p: &mut Posture, v: &mut Verdict) {
    let Some(scaling) = ctx.evidence.scaling.as_ref() else {
        let why = missing_reason(ctx, Source::Scaling)
            .map(|r| format!("could not be read ({r})"))
            .unwrap_or_else(|| "was not gathered".to_owned());
        v.recommendations.push(format!(
            "Scale out before saturation: target tracking on ALB RequestCountPerTarget, or on ECSServiceAverageCPUUtilization set below the level where one task saturates, and alarm on the service's CPUUtilization Maximum, not the Average (general advice: the service's auto scaling {why})"
        ));
        return;
    };
    p.scaling_read = true;
    let desired = p
        .desired_count
        .map(|d| format!(" at {d}"))
        .unwrap_or_default();
    let Some(target) = scaling.target.as_ref() else {
        let f = bearing(
            v,
            "service auto scaling",
            format!(
                "no scalable target for {}: the desired count is fixed{desired}, nothing adds tasks as load grows",
                scaling.resource_id
            ),
        );
        v.findings
            .push(f.threshold("a scalable target with a policy = capacity follows load"));
        let min = p
            .desired_count
            .map(|d| format!(" (min {d})"))
            .unwrap_or_default();
        v.recommendations.push(format!(
            "Register {} with Application Auto Scaling{min} and a target-tracking policy on ALBRequestCountPerTarget, or on ECSServiceAverageCPUUtilization below the level where one task saturates",
            scaling.resource_id
        ));
        return;
    };
    p.min_capacity = Some(target.min_capacity);
    p.max_capacity = Some(target.max_capacity);
    p.policies = scaling.policies.iter().map(policy_line).collect();
    p.scale_out_suspended = target.scale_out_suspended;
    let bounds = format!("min {}, max {}", target.min_capacity, target.max_capacity);

    if target.scale_out_suspended {
        let f = bearing(
            v,
            "service auto scaling",
            format!("dynamic scale-out is suspended on the scalable target ({bounds})"),
        );
        v.findings.push(f);
        v.recommendations.push(format!(
            "Resume dynamic scale-out on {} (its SuspendedState blocks every policy)",
            scaling.resource_id
        ));
    }
    if scaling.policies.is_empty() {
        let f = bearing(
            v,
            "service auto scaling",
            format!(
                "scalable target ({bounds}) with no scaling policy: nothing changes the desired count"
            ),
        );
        v.findings.push(f);
        v.recommendations.push(format!(
            "Add a target-tracking policy to {} (ALBRequestCountPerTarget, or ECSServiceAverageCPUUtilization)",
            scaling.resource_id
        ));
    }

    let Some(kill) = ctx.kill_at else {
        return;
    };
    let window_from = kill - Duration::minutes(SCALING_WINDOW_MIN);
    if let Some(acts) = ctx.evidence.scaling_activities.as_deref() {
        let outs = scale_outs(acts, window_from, kill);
        p.scale_outs_before_kill = Some(outs.len());
        p.at_max_minutes = at_max_since(acts, target.max_capacity, kill)
            .map(|since| (kill - since).num_seconds() as f64 / 60.0);
        if let Some(last) = outs.last() {
            let mut c = Claims::default();
            let window = c.say(window_claim(SCALING_WINDOW_MIN, "scaling window"));
            v.findings.push(
                Finding::context(
                    "scaling activity before the kill",
                    format!(
                        "scale-out fired {} time{} in the {window} before the kill; the last: \"{}\"",
                        outs.len(),
                        if outs.len() == 1 { "" } else { "s" },
                        last.description
                    ),
                )
                .with_claims(c),
            );
        }
    }

    if let Some(minutes) = p.at_max_minutes {
        let at_max = Claim::derived(
            duration_text(minutes),
            minutes,
            SeriesRef::ScalingActivities,
        );
        let mut c = Claims::default();
        let f = bearing(
            v,
            "service auto scaling",
            format!(
                "at max capacity {} for {} before the kill: the policy wanted more tasks and was refused",
                target.max_capacity,
                c.say(at_max.clone())
            ),
        );
        v.findings.push(
            f.threshold("AlreadyAtMaxCapacity or desired count = max")
                .with_claims(c),
        );
        let mut rc = Claims::default();
        v.recommendations.push(format!(
            "Raise the scalable target's max capacity above {} (the service sat at its maximum for {} before the kill), or give each task more CPU",
            target.max_capacity,
            rc.say(at_max)
        ));
        v.claims.extend(rc);
        return;
    }
    // Without activities to time it, the service's desired count can still show the ceiling.
    if let Some(d) = p.desired_count.filter(|d| *d >= target.max_capacity) {
        let f = bearing(
            v,
            "service auto scaling",
            format!(
                "desired count {d} is at the scalable target's max capacity {}: scaling could add no task",
                target.max_capacity
            ),
        );
        v.findings
            .push(f.threshold("AlreadyAtMaxCapacity or desired count = max"));
        v.recommendations.push(format!(
            "Raise the scalable target's max capacity above {} (the desired count was at it), or give each task more CPU",
            target.max_capacity
        ));
        return;
    }

    // Target tracking on the CPU Average that never fired: the Average hides one pinned task.
    let fired = p.scale_outs_before_kill.is_some_and(|n| n > 0);
    for policy in &scaling.policies {
        let (Some(metric), Some(t)) = (policy.metric.as_deref(), policy.target_value) else {
            continue;
        };
        if metric != CPU_METRIC || fired || p.scale_outs_before_kill.is_none() {
            continue;
        }
        let Some(avg) = p.cpu_average_peak_pct.filter(|a| *a < t) else {
            continue;
        };
        let pinned_max = p.cpu_maximum_peak_pct.filter(|m| *m >= PINNED_PCT);
        let units = ctx.task_cpu().map(f64::from);
        let avg_claim = Claim::bare_share(avg, Basis::TaskCpu, units, SeriesRef::ServiceCpuAvg);
        let target_claim = Claim::configured_pct(Setting::ScalingTarget, t);
        let mut c = Claims::default();
        let max = pinned_max
            .map(|m| {
                format!(
                    " while the Maximum reached {}",
                    c.say(Claim::bare_share(
                        m,
                        Basis::TaskCpu,
                        units,
                        SeriesRef::ServiceCpuMax
                    ))
                )
            })
            .unwrap_or_default();
        let f = bearing(
            v,
            "service auto scaling",
            format!(
                "target tracking on {metric} at {} never fired: the Average peaked at {}{max}",
                c.say(target_claim),
                c.say(avg_claim.clone())
            ),
        );
        v.findings.push(
            f.threshold(format!("Average ≥ {t:.0}% = scale-out"))
                .with_claims(c),
        );
        let mut rc = Claims::default();
        let avg_text = rc.say(avg_claim);
        let why = if pinned_max.is_some() {
            format!("the Average only reached {avg_text} while one task was pinned")
        } else {
            format!("the Average only reached {avg_text}")
        };
        v.recommendations.push(format!(
            "Policy {}: track a CPU target below {avg_text} ({why}), or scale on ALB RequestCountPerTarget",
            policy.name
        ));
        v.claims.extend(rc);
    }
}

/// Successful activities that raised the desired count inside `[from, to]`, oldest first: a
/// target-tracking or step alarm named "…AlarmHigh…", or a count above the one before.
fn scale_outs(
    activities: &[ScalingActivityFacts],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<&ScalingActivityFacts> {
    let mut sorted: Vec<&ScalingActivityFacts> = activities.iter().collect();
    sorted.sort_by_key(|a| a.start);
    let mut previous: Option<i64> = None;
    let mut out = Vec::new();
    for a in sorted {
        let n = desired_in(&a.description);
        let up = crate::vocab::is_scale_out_alarm(&a.cause)
            || matches!((previous, n), (Some(p), Some(n)) if n > p);
        if a.status == ActivityStatus::Successful
            && up
            && a.start.is_some_and(|t| t >= from && t <= to)
        {
            out.push(a);
        }
        if a.status == ActivityStatus::Successful && n.is_some() {
            previous = n;
        }
    }
    out
}

/// When the target reached its maximum and stayed there until the kill, if it did: the
/// earliest not-scaled "AlreadyAtMaxCapacity" or successful "desired count to MAX" activity
/// after which no activity lowered the count.
fn at_max_since(
    activities: &[ScalingActivityFacts],
    max: i64,
    kill: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut before: Vec<&ScalingActivityFacts> = activities
        .iter()
        .filter(|a| a.start.is_some_and(|t| t <= kill))
        .collect();
    before.sort_by_key(|a| a.start);
    let mut since: Option<DateTime<Utc>> = None;
    for a in before {
        let at_max = a
            .not_scaled
            .iter()
            .any(|r| r.code == NotScaledCode::AtMaxCapacity)
            || (a.status == ActivityStatus::Successful && desired_in(&a.description) == Some(max));
        let below = a.status == ActivityStatus::Successful
            && desired_in(&a.description).is_some_and(|d| d < max);
        if at_max {
            since = since.or(a.start);
        } else if below {
            since = None;
        }
    }
    since
}

fn capacity(ctx: &Context<'_>, p: &mut Posture, v: &mut Verdict) {
    let (from, to) = match ctx.pressure_window() {
        Some(w) => w,
        None => return,
    };
    p.cluster_cpu_reservation_peak_pct = ctx
        .evidence
        .metrics
        .as_ref()
        .and_then(|m| m.cluster_cpu_reservation_pct.as_ref())
        .and_then(|s| s.max_between(from, to));
    let reservation_claim = p
        .cluster_cpu_reservation_peak_pct
        .map(|r| Claim::level(r, 0, "%", SeriesRef::ClusterCpuReservation));
    let reservation = reservation_claim
        .as_ref()
        .map(|r| format!("; the cluster's CPUReservation peaked at {}", r.text))
        .unwrap_or_default();
    let reservation_claims = || Claims(reservation_claim.iter().cloned().collect());
    let Some(cap) = ctx.evidence.capacity.as_ref() else {
        let why = missing_reason(ctx, Source::Capacity)
            .map(|r| format!("could not be read ({r})"))
            .unwrap_or_else(|| "were not gathered".to_owned());
        v.recommendations.push(format!(
            "Check that the cluster's capacity provider has managed scaling enabled, so new tasks get hosts instead of piling onto busy ones (general advice: the cluster's capacity providers {why})"
        ));
        return;
    };
    p.capacity_read = true;
    p.capacity_providers = cap
        .providers
        .iter()
        .map(|c| {
            let target = c
                .target_capacity_pct
                .map(|t| format!(", target capacity {t}%"))
                .unwrap_or_default();
            format!(
                "{}: managed scaling {}{target}",
                c.name,
                c.managed_scaling
                    .as_ref()
                    .map_or("not reported", ManagedScaling::as_str)
            )
        })
        .collect();
    let high = p
        .cluster_cpu_reservation_peak_pct
        .is_some_and(|r| r >= RESERVATION_HIGH_PCT);
    if cap.providers.is_empty() {
        v.findings.push(
            Finding::context(
                "cluster capacity",
                format!(
                    "cluster {} has no EC2 capacity provider: nothing in ECS adds hosts as tasks need them{reservation}",
                    cap.cluster
                ),
            )
            .with_claims(reservation_claims()),
        );
        if let (true, Some(r)) = (high, reservation_claim.as_ref()) {
            v.recommendations.push(format!(
                "Attach a capacity provider with managed scaling to cluster {} (its CPUReservation reached {})",
                cap.cluster, r.text
            ));
            v.claims.extend(reservation_claims());
        }
        return;
    }
    for c in &cap.providers {
        match c.managed_scaling.as_ref() {
            Some(ManagedScaling::Disabled) => {
                let f = bearing(
                    v,
                    "cluster capacity",
                    format!(
                        "managed scaling is DISABLED on capacity provider {}: hosts are not added as the cluster fills{reservation}",
                        c.name
                    ),
                );
                v.findings.push(
                    f.threshold(format!(
                        "CPUReservation ≥ {RESERVATION_HIGH_PCT:.0}% = no room to place"
                    ))
                    .with_claims(reservation_claims()),
                );
                v.recommendations.push(format!(
                    "Enable managed scaling on capacity provider {}{}",
                    c.name,
                    reservation_claim
                        .as_ref()
                        .map(|r| format!(" (the cluster's CPUReservation reached {})", r.text))
                        .unwrap_or_default()
                ));
                v.claims.extend(reservation_claims());
            }
            Some(status) => {
                let mut claims = reservation_claims();
                let target = c
                    .target_capacity_pct
                    .map(|t| {
                        // Bounded: a capacity provider's target capacity is 1–100.
                        let t = t.clamp(0, 100) as f64;
                        format!(
                            ", target capacity {}",
                            claims.say(Claim::configured_pct(Setting::CapacityTarget, t))
                        )
                    })
                    .unwrap_or_default();
                v.findings.push(
                    Finding::context(
                        "cluster capacity",
                        format!(
                            "capacity provider {}: managed scaling {status}{target}{reservation}",
                            c.name
                        ),
                    )
                    .with_claims(claims),
                );
            }
            None => {}
        }
    }
}

fn mean(series: Option<&Series>, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
    series?.mean_between(from, to)
}

/// Log events per minute before the kill, against the requests served and the earlier level.
pub fn log_volume(ctx: &Context<'_>) -> Option<LogVolume> {
    let m = ctx.evidence.metrics.as_ref()?;
    let events = m.log_events.as_ref().filter(|s| !s.is_empty())?;
    let kill = ctx.kill_at?;
    let recent_from = kill - Duration::minutes(LOG_WINDOW_MIN);
    // The window's last point is the minute of the kill; earlier points are strictly before it.
    let events_per_min = events.mean_between(recent_from + Duration::seconds(1), kill)?;
    let first = events.points().first().map(|p| p.at)?;
    let earlier = if first < recent_from {
        events.mean_between(first, recent_from).filter(|e| *e > 0.0)
    } else {
        None
    };
    let requests_per_min = mean(
        m.alb_requests.as_ref(),
        recent_from + Duration::seconds(1),
        kill,
    )
    .filter(|r| *r > 0.0);
    Some(LogVolume {
        log_groups: m.log_groups.clone(),
        events_per_min,
        earlier_events_per_min: earlier,
        rise: earlier.map(|e| events_per_min / e),
        kib_per_min: mean(
            m.log_bytes.as_ref(),
            recent_from + Duration::seconds(1),
            kill,
        )
        .map(|b| b / 1024.0),
        requests_per_min,
        lines_per_request: requests_per_min.map(|r| events_per_min / r),
    })
}

/// The log drivers of the task's containers, each once.
fn log_drivers(ctx: &Context<'_>) -> Vec<LogDriver> {
    let mut drivers: Vec<LogDriver> = Vec::new();
    let containers = ctx
        .evidence
        .task_definition
        .iter()
        .flat_map(|td| td.containers.iter());
    for c in containers {
        if let Some(d) = c.log.as_ref().map(|l| l.driver.clone())
            && !drivers.contains(&d)
        {
            drivers.push(d);
        }
    }
    drivers
}

fn log_findings(log: &LogVolume, drivers: &[LogDriver], v: &mut Verdict) {
    let groups = if log.log_groups.is_empty() {
        String::new()
    } else {
        format!(", log group {}", log.log_groups.join(", "))
    };
    let bytes = log
        .kib_per_min
        .map(|k| format!(", {k:.0} KiB/min"))
        .unwrap_or_default();
    let mut c = Claims::default();
    let window = c.say(window_claim(LOG_WINDOW_MIN, "log window"));
    let mut observed = match (log.lines_per_request, log.requests_per_min) {
        (Some(l), Some(r)) => format!(
            "≈ {l:.0} log lines per request ({:.0} log events/min vs {r:.0} ALB requests/min in the {window} before the kill{bytes}{groups})",
            log.events_per_min
        ),
        _ => format!(
            "{:.0} log events/min in the {window} before the kill{bytes}{groups}",
            log.events_per_min
        ),
    };
    if let (Some(rise), Some(e)) = (log.rise, log.earlier_events_per_min) {
        observed.push_str(&format!(
            "; log volume rose {rise:.1}× over the {e:.0} events/min before that"
        ));
    }
    let finding = if log.is_heavy() {
        bearing(v, "log volume", observed)
    } else {
        Finding::context("log volume", observed)
    }
    .with_claims(c);
    v.findings.push(finding.threshold(format!(
        "≥ {LINES_PER_REQUEST_HIGH:.0} lines per request or ≥ {LOG_RISE_HIGH:.0}× rise = logging competes for the CPU share"
    )));
    if log.is_heavy() {
        let why = match (log.lines_per_request, log.rise) {
            (Some(l), Some(r)) if r >= LOG_RISE_HIGH => {
                format!("≈ {l:.0} lines per request, {r:.1}× more before the kill")
            }
            (Some(l), _) => format!("≈ {l:.0} lines per request"),
            (None, Some(r)) => format!("{r:.1}× more log events before the kill"),
            (None, None) => String::new(),
        };
        v.recommendations.push(format!(
            "Cut log volume ({why}): raise the log level or sample per-request lines, and log without blocking the request path ({})",
            non_blocking_advice(drivers)
        ));
    }
}

/// How to keep log writes off the request path with the drivers this task uses.
fn non_blocking_advice(drivers: &[LogDriver]) -> String {
    let mut ways = vec!["an async appender in the app".to_owned()];
    if drivers.contains(&LogDriver::Awslogs) {
        ways.push("the awslogs driver's mode non-blocking with a max-buffer-size".to_owned());
    }
    if drivers.contains(&LogDriver::Awsfirelens) {
        ways.push(
            "FireLens: let Fluent Bit buffer and drop or sample per-request lines in its filters"
                .to_owned(),
        );
    }
    ways.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_max_sample() -> (crate::event::TaskStateChange, crate::evidence::Evidence) {
        let event = match crate::event::parse_event(include_str!(
            "../../../events/cpu_starved_at_max_capacity_fargate.json"
        )) {
            Ok(crate::event::Incoming::Stopped(e)) => *e,
            other => panic!("not a stopped task: {other:?}"),
        };
        let evidence = serde_json::from_str(include_str!(
            "../../../events/cpu_starved_at_max_capacity_fargate.evidence.json"
        ))
        .expect("evidence fixture");
        (event, evidence)
    }

    #[test]
    fn without_activities_the_desired_count_at_max_still_names_the_ceiling() {
        // Arrange: DescribeScalingActivities could not be read.
        let (event, mut evidence) = at_max_sample();
        evidence.scaling_activities = None;
        evidence.mark_missing(Source::ScalingActivities, "AccessDeniedException: denied");
        let ctx = Context::new(&event, &evidence);
        let mut v = Verdict::new(Cause::CpuStarved, 0.9, "s");

        // Act
        let p = apply(&ctx, &mut v).expect("posture");

        // Assert: no duration is claimed, the ceiling is named from the service's desired count.
        assert_eq!(p.at_max_minutes, None);
        assert_eq!(p.scale_outs_before_kill, None);
        let f = v
            .findings
            .iter()
            .find(|f| f.signal == "service auto scaling")
            .expect("finding");
        assert_eq!(
            f.observed,
            "desired count 4 is at the scalable target's max capacity 4: scaling could add no task"
        );
        assert!(
            !v.findings
                .iter()
                .any(|f| f.observed.contains("never fired"))
        );
    }

    #[test]
    fn beside_an_elb_kill_with_busy_cpu_capacity_is_context() {
        // Arrange: CPU busy (80% of the allocation) but never pinned.
        let (event, mut evidence) = at_max_sample();
        let m = evidence.metrics.as_mut().expect("metrics");
        for s in [
            m.task_cpu_pct.as_mut(),
            m.service_cpu_max_pct.as_mut(),
            m.service_cpu_avg_pct.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            *s = s.map_values(|_| 80.0);
        }
        let ctx = Context::new(&event, &evidence);
        assert_eq!(ctx.cpu.level, PressureLevel::Moderate);
        let mut v = Verdict::new(Cause::ElbHealthCheckFailed, 0.8, "s");

        // Act
        let p = apply(&ctx, &mut v).expect("posture beside a busy ELB kill");

        // Assert: the ceiling is named, as context rather than as the cause.
        assert_eq!(p.max_capacity, Some(4));
        let f = v
            .findings
            .iter()
            .find(|f| f.observed.starts_with("at max capacity 4"))
            .expect("at-max finding");
        assert_eq!(f.bearing, super::super::Bearing::Context);
    }

    #[test]
    fn other_causes_get_no_scaling_posture() {
        let (event, evidence) = at_max_sample();
        let ctx = Context::new(&event, &evidence);
        let mut v = Verdict::new(Cause::OomKilled, 0.9, "s");
        assert!(apply(&ctx, &mut v).is_none());
        assert!(v.findings.is_empty() && v.recommendations.is_empty());
    }

    #[test]
    fn desired_count_is_read_from_the_activity_description() {
        assert_eq!(desired_in("Setting desired count to 4."), Some(4));
        assert_eq!(desired_in("Setting desired count to 12"), Some(12));
        assert_eq!(desired_in("Scaling in"), None);
    }

    fn activity(at: &str, status: &str, description: &str, at_max: bool) -> ScalingActivityFacts {
        ScalingActivityFacts {
            start: Some(at.parse().expect("time")),
            status: status.into(),
            description: description.to_owned(),
            not_scaled: if at_max {
                vec![crate::evidence::NotScaledFacts {
                    code: NotScaledCode::AtMaxCapacity,
                    max_capacity: Some(4),
                    ..Default::default()
                }]
            } else {
                Vec::new()
            },
            ..Default::default()
        }
    }

    #[test]
    fn at_max_counts_from_the_first_time_the_maximum_was_reached() {
        let kill: DateTime<Utc> = "2026-10-01T12:00:00Z".parse().expect("time");
        let acts = vec![
            activity(
                "2026-10-01T11:40:00Z",
                "Successful",
                "Setting desired count to 3.",
                false,
            ),
            activity(
                "2026-10-01T11:48:00Z",
                "Successful",
                "Setting desired count to 4.",
                false,
            ),
            activity(
                "2026-10-01T11:55:00Z",
                "Unfulfilled",
                "Setting desired count to 5.",
                true,
            ),
        ];
        assert_eq!(
            at_max_since(&acts, 4, kill),
            Some("2026-10-01T11:48:00Z".parse().expect("time"))
        );
    }

    #[test]
    fn scaling_back_below_the_maximum_ends_the_run() {
        let kill: DateTime<Utc> = "2026-10-01T12:00:00Z".parse().expect("time");
        let acts = vec![
            activity(
                "2026-10-01T11:30:00Z",
                "Successful",
                "Setting desired count to 4.",
                false,
            ),
            activity(
                "2026-10-01T11:45:00Z",
                "Successful",
                "Setting desired count to 2.",
                false,
            ),
        ];
        assert_eq!(at_max_since(&acts, 4, kill), None);
    }

    #[test]
    fn non_blocking_advice_follows_the_tasks_log_drivers() {
        let awslogs = non_blocking_advice(&[LogDriver::Awslogs]);
        assert!(awslogs.contains("mode non-blocking") && !awslogs.contains("FireLens"));
        let firelens = non_blocking_advice(&[LogDriver::Awsfirelens]);
        assert!(firelens.contains("Fluent Bit") && !firelens.contains("awslogs"));
        assert_eq!(non_blocking_advice(&[]), "an async appender in the app");
    }

    #[test]
    fn heavy_logging_needs_many_lines_per_request_or_a_rise() {
        let light = LogVolume {
            events_per_min: 200.0,
            requests_per_min: Some(100.0),
            lines_per_request: Some(2.0),
            rise: Some(1.2),
            ..Default::default()
        };
        assert!(!light.is_heavy());
        let chatty = LogVolume {
            lines_per_request: Some(12.0),
            ..light.clone()
        };
        assert!(chatty.is_heavy());
        let rising = LogVolume {
            rise: Some(6.0),
            ..light
        };
        assert!(rising.is_heavy());
    }
}
