//! Out-of-memory kills, and the shape of memory use before them: a leak, a spike or a working
//! set that does not fit.
//!
//! Exit 137 is only SIGKILL. The agent's "OutOfMemoryError" reason decides when present; when the
//! agent omits it, memory at ≥ 95% of the hard limit near the stop decides. Every share is of a
//! named limit: a container's own (from its performance record when there is one), the task's,
//! or, when only `memoryReservation` is set, a soft reservation that caps nothing. A runtime's own
//! heap error with the container far from its limit is an application crash with heap advice.

use chrono::Duration;

use crate::event::Container;
use crate::evidence::{Point, Source};

use super::catalogue;
use super::claims::{Basis, Claim, Claims, HEAP_SHARE_PCT, SeriesRef, Span};
use super::context::{Context, LimitScope, round_up_256};
use super::{Cause, Finding, Verdict};

/// Memory at or above this share of the hard limit near the stop counts as an OOM.
pub const NEAR_LIMIT_PCT: f64 = 95.0;
/// Peak memory below this share of the limit rules an OOM out.
pub const FAR_FROM_LIMIT_PCT: f64 = 80.0;
/// Memory held at or above this share of the limit, without a trend, is a plateau.
pub const PLATEAU_PCT: f64 = 90.0;
/// A linear fit at least this good, rising at least this much, is a leak.
const LEAK_MIN_R2: f64 = 0.8;
const LEAK_MIN_RISE_PCT: f64 = 20.0;
/// A rise of this many points of the limit within `SPIKE_MINUTES` is a spike.
const SPIKE_MIN_RISE_PCT: f64 = 30.0;
const SPIKE_MINUTES: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendKind {
    /// Steady growth: the limit is reached at a predictable time.
    Leak,
    /// A sudden jump in the last minutes.
    Spike,
    /// High and flat: the working set does not fit.
    Plateau,
    /// Nothing notable.
    Steady,
}

#[derive(Debug, Clone)]
pub struct MemoryTrend {
    pub kind: TrendKind,
    /// Peak % of `basis` near the stop (last 5 minutes of data).
    pub peak_pct: f64,
    /// Peak over the whole window.
    pub window_peak_pct: f64,
    /// What the percentages are of, and its size in MiB when known.
    pub basis: Basis,
    pub basis_mib: Option<f64>,
    /// For a leak: growth in MiB (or % of the basis when its size is unknown) per minute.
    pub slope_per_min: f64,
    /// First value of the fitted range, % of the basis.
    pub start_pct: f64,
    /// Minutes the fitted range spans.
    pub span_min: f64,
    /// For a spike: value before the jump and minutes it took.
    pub spike_from_pct: f64,
    pub spike_minutes: f64,
    /// Where the series came from.
    pub series: SeriesRef,
    /// The container the trend was read for, and whether `basis` is the limit that caps it.
    pub container: String,
    pub own_limit: bool,
    /// The series reaches back to the task's start, so "from start" can be said.
    pub covers_start: bool,
}

impl MemoryTrend {
    fn pct_to_mib(&self, pct: f64) -> Option<f64> {
        self.basis_mib.map(|l| pct / 100.0 * l)
    }

    /// Whether the percentages are of the hard limit that applies to the container the trend
    /// was read for: its own, or the task's when it has none of its own.
    pub fn is_of_container_limit(&self, container: &str) -> bool {
        self.container == container && self.own_limit
    }

    pub fn share(&self, pct: f64) -> Claim {
        Claim::share(pct, self.basis.clone(), self.basis_mib, self.series.clone())
    }

    pub fn bare(&self, pct: f64) -> Claim {
        Claim::bare_share(pct, self.basis.clone(), self.basis_mib, self.series.clone())
    }

    pub fn slope_claim(&self) -> Claim {
        let text = match self.basis_mib {
            Some(_) => format!("+{:.1} MiB/min", self.slope_per_min),
            None => format!("+{:.1}% of the limit/min", self.slope_per_min),
        };
        Claim::derived(text, self.slope_per_min, self.series.clone())
    }
}

/// The basis a container's memory is judged against: its own hard limit, else the task's, else
/// its soft reservation (which is no limit at all).
pub fn container_basis(ctx: &Context<'_>, container: &str) -> Option<(Basis, f64)> {
    match ctx.memory_limit(container) {
        Some((m, LimitScope::Container)) => {
            Some((Basis::ContainerMemory(container.to_owned()), f64::from(m)))
        }
        Some((m, LimitScope::Task)) => Some((Basis::TaskMemory, f64::from(m))),
        None => ctx
            .memory_reservation(container)
            .filter(|r| *r > 0)
            .map(|r| {
                (
                    Basis::ContainerReservation(container.to_owned()),
                    f64::from(r),
                )
            }),
    }
}

/// Memory use from the finest series available: the container's own performance record, else
/// the task's series (a share of the task's limit), else the service's Maximum.
pub fn trend(ctx: &Context<'_>, container: &str) -> Option<MemoryTrend> {
    let metrics = ctx.evidence.metrics.as_ref()?;
    let stop = ctx.stop_at?;
    let own = container_basis(ctx, container);
    let only_container = ctx.event.detail.containers.len() <= 1;
    // The task's own series is of the task's limit; with no task-level memory and a single
    // container, the task is that container.
    let task_basis = match ctx.task_memory() {
        Some(m) => Some((Basis::TaskMemory, Some(f64::from(m)))),
        None if only_container => own.clone().map(|(b, m)| (b, Some(m))),
        None => Some((Basis::TaskMemory, None)),
    };

    let (points, basis, basis_mib, series): (Vec<Point>, Basis, Option<f64>, SeriesRef) =
        if let (Some(u), Some((b, m))) = (ctx.evidence.container_usage(container), own.clone()) {
            let pts = u
                .memory_mib
                .points()
                .iter()
                .map(|p| Point {
                    at: p.at,
                    value: p.value / m * 100.0,
                })
                .collect();
            (
                pts,
                b,
                Some(m),
                SeriesRef::ContainerMemoryMib(container.to_owned()),
            )
        } else if let (Some(s), Some((b, m))) = (
            metrics.task_memory_pct.as_ref().filter(|s| !s.is_empty()),
            task_basis.clone(),
        ) {
            (s.points().to_vec(), b, m, SeriesRef::TaskMemoryPct)
        } else if let (Some(s), Some((b, Some(l)))) = (
            metrics.task_memory_mib.as_ref().filter(|s| !s.is_empty()),
            task_basis.clone(),
        ) {
            let pts = s
                .points()
                .iter()
                .map(|p| Point {
                    at: p.at,
                    value: p.value / l * 100.0,
                })
                .collect();
            (pts, b, Some(l), SeriesRef::TaskMemoryMib)
        } else if let Some(s) = metrics
            .service_memory_max_pct
            .as_ref()
            .filter(|s| !s.is_empty())
        {
            // AWS/ECS MemoryUtilization is of the task's memory; without it, of the
            // container's reservation when one is set, else of its hard limit.
            let hard = ctx
                .memory_limit(container)
                .filter(|(_, s)| *s == LimitScope::Container)
                .map(|(m, _)| f64::from(m));
            let res = ctx.memory_reservation(container).map(f64::from);
            let (basis, mib, scale) = match (ctx.task_memory(), res, hard) {
                (Some(m), _, _) => (Basis::TaskMemory, Some(f64::from(m)), 1.0),
                (None, Some(r), Some(h)) if h > 0.0 => {
                    (Basis::ContainerMemory(container.to_owned()), Some(h), r / h)
                }
                (None, Some(r), None) => (
                    Basis::ContainerReservation(container.to_owned()),
                    Some(r),
                    1.0,
                ),
                (None, None, Some(h)) => {
                    (Basis::ContainerMemory(container.to_owned()), Some(h), 1.0)
                }
                (None, _, _) => (Basis::TaskMemory, None, 1.0),
            };
            let pts = s
                .points()
                .iter()
                .map(|p| Point {
                    at: p.at,
                    value: p.value * scale,
                })
                .collect();
            (pts, basis, mib, SeriesRef::ServiceMemoryMax)
        } else {
            return None;
        };

    let from = ctx
        .event
        .detail
        .started_at
        .unwrap_or(stop - Duration::hours(6));
    let pts: Vec<Point> = points
        .into_iter()
        .filter(|p| p.at >= from - Duration::minutes(1) && p.at <= stop + Duration::minutes(1))
        .filter(|p| p.value.is_finite())
        .collect();
    let last = pts.last()?;
    let near_from = stop - Duration::minutes(5);
    let peak_pct = pts
        .iter()
        .filter(|p| p.at >= near_from)
        .map(|p| p.value)
        .fold(last.value, f64::max);
    let window_peak_pct = pts.iter().map(|p| p.value).fold(f64::MIN, f64::max);

    let own_limit = match &basis {
        Basis::ContainerMemory(c) => c == container,
        Basis::TaskMemory => matches!(ctx.memory_limit(container), Some((_, LimitScope::Task))),
        Basis::ContainerReservation(_) | Basis::TaskCpu | Basis::EphemeralStorage => false,
    };
    let mut t = MemoryTrend {
        kind: TrendKind::Steady,
        peak_pct,
        window_peak_pct,
        basis,
        basis_mib,
        slope_per_min: 0.0,
        start_pct: pts.first().map_or(0.0, |p| p.value),
        span_min: 0.0,
        spike_from_pct: 0.0,
        spike_minutes: 0.0,
        own_limit,
        series,
        container: container.to_owned(),
        covers_start: ctx
            .event
            .detail
            .started_at
            .zip(pts.first())
            .is_some_and(|(s, p)| p.at <= s + Duration::minutes(2)),
    };

    // Spike: the last minutes rose sharply from a level well below the limit.
    let spike_from = last.at - Duration::minutes(SPIKE_MINUTES);
    if let Some(before) = pts.iter().rev().find(|p| p.at <= spike_from)
        && let Some(low) = pts
            .iter()
            .filter(|p| p.at >= before.at)
            .min_by(|a, b| a.value.total_cmp(&b.value))
        && peak_pct - low.value >= SPIKE_MIN_RISE_PCT
        && low.value < FAR_FROM_LIMIT_PCT
    {
        t.kind = TrendKind::Spike;
        t.spike_from_pct = low.value;
        t.spike_minutes = ((last.at - low.at).num_seconds() as f64 / 60.0).max(1.0);
        return Some(t);
    }

    // Leak: a good linear fit with a real rise over the task's life.
    if pts.len() >= 5
        && let Some((slope, r2)) = linear_fit(&pts)
    {
        let span = (last.at - pts[0].at).num_seconds() as f64 / 60.0;
        let rise = slope * span;
        if r2 >= LEAK_MIN_R2 && rise >= LEAK_MIN_RISE_PCT && slope > 0.0 {
            t.kind = TrendKind::Leak;
            t.span_min = span;
            t.start_pct = pts[0].value;
            t.slope_per_min = match basis_mib {
                Some(l) => slope / 100.0 * l,
                None => slope,
            };
            return Some(t);
        }
    }

    // Plateau: at least five minutes at or above the plateau line without a trend.
    let high: Vec<&Point> = pts.iter().filter(|p| p.value >= PLATEAU_PCT).collect();
    if high.len() >= 5 {
        t.kind = TrendKind::Plateau;
        t.span_min = high.len() as f64;
    }
    Some(t)
}

/// Least-squares slope (value per minute) and r².
fn linear_fit(points: &[Point]) -> Option<(f64, f64)> {
    let t0 = points.first()?.at;
    let xs: Vec<f64> = points
        .iter()
        .map(|p| (p.at - t0).num_seconds() as f64 / 60.0)
        .collect();
    let n = points.len() as f64;
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.value).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, p) in xs.iter().zip(points) {
        let dx = x - mean_x;
        let dy = p.value - mean_y;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx <= f64::EPSILON {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy <= f64::EPSILON {
        0.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    Some((slope, r2))
}

/// The agent's OOM reason decides, whatever the exit code.
pub fn oom_by_reason(ctx: &Context<'_>) -> Option<Verdict> {
    let reason = ctx.any_reason_with(catalogue::is_oom_reason)?.to_owned();
    let container = ctx
        .event
        .detail
        .containers
        .iter()
        .find(|c| c.reason.as_deref().is_some_and(catalogue::is_oom_reason))
        .or_else(|| ctx.deciding_container());
    let name = container.map_or("the task", |c| c.name.as_str());
    let exit = container.and_then(|c| c.exit_code);
    let trend = container.and_then(|c| trend(ctx, &c.name));
    let mut v = oom_verdict(ctx, name, trend.as_ref(), 0.9).finding(Finding::supports(
        "ECS agent's reason",
        format!("\"{reason}\""),
    ));
    if let Some(c) = container {
        v = v.container(&c.name, exit);
    }
    if let Some(t) = trend.as_ref() {
        let own = t.is_of_container_limit(name);
        if own && t.window_peak_pct >= NEAR_LIMIT_PCT {
            v.confidence = 0.97;
        } else if own && t.window_peak_pct < FAR_FROM_LIMIT_PCT {
            v.confidence = 0.85;
            // Only the finest series can say a spike hid between datapoints; a per-container
            // record at the limit would have shown it, and there is none finer than that.
            let mut claims = Claims::default();
            let peak = claims.say(t.share(t.window_peak_pct));
            let tail = if matches!(t.series, SeriesRef::ContainerMemoryMib(_)) {
                "the kill came from an allocation faster than the records' period"
            } else {
                "a spike shorter than the metrics' 1-minute period does not show in them, and no per-container record was gathered"
            };
            v.findings.push(
                Finding::context(
                    "memory metrics vs the agent",
                    format!("{} peaked at {peak}: {tail}", t.series.label()),
                )
                .with_claims(claims),
            );
        }
    }
    Some(v)
}

/// Exit 137 without the agent's reason: memory at the container's own limit makes it an OOM.
pub fn oom_by_metrics(ctx: &Context<'_>, container: &str, exit: Option<i64>) -> Option<Verdict> {
    let t = trend(ctx, container)?;
    if t.peak_pct < NEAR_LIMIT_PCT || !t.is_of_container_limit(container) {
        return None;
    }
    let v = oom_verdict(ctx, container, Some(&t), 0.8)
        .container(container, exit)
        .finding(Finding::context(
            "ECS agent's reason",
            "none given: the agent sometimes omits OutOfMemoryError, so memory decides",
        ));
    Some(v)
}

/// Exit 137 with memory far from the limit: SIGKILL, but not the OOM killer.
pub fn rules_out_oom(ctx: &Context<'_>) -> Option<Finding> {
    let container = ctx.deciding_container()?;
    let t = trend(ctx, &container.name)?;
    if !t.is_of_container_limit(&container.name) || t.window_peak_pct >= FAR_FROM_LIMIT_PCT {
        return None;
    }
    let mut claims = Claims::default();
    let peak = claims.say(t.share(t.window_peak_pct));
    let line = claims.say(Claim::policy(
        format!("{NEAR_LIMIT_PCT:.0}%"),
        NEAR_LIMIT_PCT,
        "memory near limit",
    ));
    Some(
        Finding::rules_out(
            "memory as a share of the hard limit",
            format!("peaked at {peak} ({})", t.series.label()),
        )
        .threshold(format!("≥ {line} near the stop = OOM"))
        .with_claims(claims),
    )
}

fn oom_verdict(
    ctx: &Context<'_>,
    container: &str,
    trend: Option<&MemoryTrend>,
    confidence: f64,
) -> Verdict {
    let basis = container_basis(ctx, container);
    if let Some((Basis::ContainerReservation(_), res)) = basis.clone() {
        return soft_limit_only(ctx, container, res, trend, confidence);
    }
    let mut c = Claims::default();
    let limit_text = basis.clone().map_or_else(
        || "its memory limit".to_owned(),
        |(b, m)| c.say(Claim::size(b, m)),
    );
    // The trend is read against the container's own limit only when the series measures it.
    let own = trend.filter(|t| t.is_of_container_limit(container));
    let (summary_tail, key_tail) = match own.map(|t| t.kind) {
        Some(TrendKind::Leak) => {
            let slope = own.map(|t| c.say(t.slope_claim())).unwrap_or_default();
            (
                format!(", growing steadily at {slope} (a leak)"),
                format!(", leak {slope}"),
            )
        }
        Some(TrendKind::Spike) => (
            ", after a sudden spike".to_owned(),
            ", sudden spike".to_owned(),
        ),
        Some(TrendKind::Plateau) => (
            ", after running near the limit".to_owned(),
            ", at limit".to_owned(),
        ),
        _ => (String::new(), String::new()),
    };
    let summary = match own {
        Some(t) => format!(
            "Container {container} was killed for running out of memory: it reached {}{summary_tail}.",
            c.say(t.share(t.peak_pct.max(t.window_peak_pct)))
        ),
        None => format!(
            "Container {container} was killed for running out of memory (it exceeded {limit_text})."
        ),
    };
    let key = match (own, basis.clone()) {
        (Some(t), _) => format!(
            "mem {}{key_tail}",
            c.say(Claim::share_short(
                t.peak_pct.max(t.window_peak_pct),
                t.basis.clone(),
                t.basis_mib,
                t.series.clone()
            ))
        ),
        (None, Some((b, m))) => format!("mem over {}", c.say(Claim::size_short(b, m))),
        _ => format!("out of memory{key_tail}"),
    };

    let mut v = Verdict::new(Cause::OomKilled, confidence, summary)
        .key_fact(key)
        .relies_on(&[Source::Metrics, Source::TaskDefinition]);

    if let Some(t) = trend {
        let mut fc = Claims::default();
        let observed = format!(
            "{} near the stop ({})",
            fc.say(t.share(t.peak_pct)),
            t.series.label()
        );
        let line = fc.say(Claim::policy(
            format!("{NEAR_LIMIT_PCT:.0}%"),
            NEAR_LIMIT_PCT,
            "memory near limit",
        ));
        let f = if own.is_some() {
            Finding::supports("memory as a share of the hard limit", observed)
                .threshold(format!("≥ {line} = at the limit"))
        } else {
            // The series is of a larger limit (the task's, shared by every container): it
            // cannot show one container reaching its own.
            Finding::context(
                "memory of the whole task",
                format!(
                    "{observed}: a share of the task, not of container {container}'s own limit"
                ),
            )
        };
        v.findings.push(f.with_claims(fc));
    }
    let scope = match basis.as_ref().map(|(b, _)| b) {
        Some(Basis::ContainerMemory(_)) => "container",
        _ => "task",
    };
    let limit_mib = basis.as_ref().map(|(_, m)| *m);
    let proposal_basis = basis.as_ref().map(|(b, _)| b.clone());
    match own.map(|t| (t.kind, t)) {
        Some((TrendKind::Leak, t)) => {
            let mut fc = Claims::default();
            let start_mib = t.pct_to_mib(t.start_pct);
            let slope = fc.say(t.slope_claim());
            let span = Claim::derived(
                super::context::duration_text(t.span_min),
                t.span_min,
                t.series.clone(),
            );
            let observed = match (start_mib, basis.clone()) {
                (Some(s), Some((b, m))) => format!(
                    "{slope} from {} to {} over {}",
                    fc.say(Claim::derived(super::context::mib(s), s, t.series.clone())),
                    fc.say(Claim::size(b, m)),
                    fc.say(span.clone())
                ),
                _ => format!("{slope} over {}", fc.say(span.clone())),
            };
            v.findings.push(
                Finding::supports("memory trend", format!("steady growth: {observed}"))
                    .threshold("linear fit r² ≥ 0.8 and a rise ≥ 20% of the limit = leak")
                    .with_claims(fc),
            );
            let mut rec = if t.covers_start {
                format!(
                    "Find the leak in {container}: memory grows {} from start and reaches the limit after about {}; take a heap profile of a task that has run for a while",
                    c.say(t.slope_claim()),
                    c.say(span)
                )
            } else {
                format!(
                    "Find the leak in {container}: memory grew {} over the last {} of data before the kill; take a heap profile of a task that has run for a while",
                    c.say(t.slope_claim()),
                    c.say(span)
                )
            };
            // A projection from start needs data from start.
            if let (Some(l), Some(b), true) = (limit_mib, proposal_basis.clone(), t.covers_start) {
                let new = f64::from(round_up_256(l * 2.0));
                let minutes = if t.slope_per_min > 0.0 {
                    (new - start_mib.unwrap_or(0.0)) / t.slope_per_min
                } else {
                    0.0
                };
                rec.push_str(&format!(
                    "; raising the {scope} memory {} → {} only delays the next kill to ~{} after start",
                    c.say(Claim::number(b.clone(), l)),
                    c.say(Claim::proposal(new, b)),
                    c.say(Claim::derived(
                        super::context::duration_text(minutes),
                        minutes,
                        t.series.clone()
                    ))
                ));
            }
            v.recommendations.push(rec);
        }
        Some((TrendKind::Spike, t)) => {
            let mut fc = Claims::default();
            let within = Claim::derived(
                super::context::duration_text(t.spike_minutes),
                t.spike_minutes,
                t.series.clone(),
            );
            v.findings.push(
                Finding::supports(
                    "memory trend",
                    format!(
                        "sudden spike: {} → {} within {}",
                        fc.say(t.bare(t.spike_from_pct)),
                        fc.say(t.share(t.peak_pct)),
                        fc.say(within.clone())
                    ),
                )
                .threshold(format!(
                    "a rise ≥ {SPIKE_MIN_RISE_PCT:.0} points within {SPIKE_MINUTES} min = spike"
                ))
                .with_claims(fc),
            );
            let mut rec = format!(
                "Memory in {container} jumped from {} to {} within {}: one request, job or batch loads too much at once — bound it (stream, paginate, cap upload and batch sizes)",
                c.say(t.bare(t.spike_from_pct)),
                c.say(t.share(t.peak_pct)),
                c.say(within)
            );
            if let (Some(l), Some(b)) = (limit_mib, proposal_basis.clone()) {
                rec.push_str(&format!(
                    ", or raise the {scope} memory {} → {} if that load is legitimate",
                    c.say(Claim::number(b.clone(), l)),
                    c.say(Claim::proposal(f64::from(round_up_256(l * 2.0)), b))
                ));
            }
            v.recommendations.push(rec);
        }
        Some((TrendKind::Plateau, t)) => {
            let mut fc = Claims::default();
            v.findings.push(
                Finding::supports(
                    "memory trend",
                    format!(
                        "held at ≥ {PLATEAU_PCT:.0}% of the limit for {} without a trend",
                        fc.say(Claim::derived(
                            super::context::duration_text(t.span_min),
                            t.span_min,
                            t.series.clone()
                        ))
                    ),
                )
                .threshold(format!("≥ 5 min at ≥ {PLATEAU_PCT:.0}% = working set does not fit"))
                .with_claims(fc),
            );
            match (limit_mib, proposal_basis.clone()) {
                (Some(l), Some(b)) => v.recommendations.push(format!(
                    "The working set of {container} does not fit: raise the {scope} memory {} → {} (on Fargate pick a valid cpu/memory pair), or cap the runtime's heap below the limit",
                    c.say(Claim::number(b.clone(), l)),
                    c.say(Claim::proposal(f64::from(round_up_256(l * 1.5)), b))
                )),
                _ => v.recommendations.push(format!(
                    "The working set of {container} does not fit: raise its memory limit by half, or cap the runtime's heap below it"
                )),
            }
        }
        _ => match (limit_mib, proposal_basis.clone()) {
            (Some(l), Some(b)) => v.recommendations.push(format!(
                "Raise the {scope} memory {} → {}, or lower the app's footprint; enable Container Insights to see whether it leaks or spikes",
                c.say(Claim::number(b.clone(), l)),
                c.say(Claim::proposal(f64::from(round_up_256(l * 1.5)), b))
            )),
            _ => v.recommendations.push(
                "Raise the memory limit, or lower the app's footprint; enable Container Insights to see whether it leaks or spikes"
                    .to_owned(),
            ),
        },
    }
    if let (Some(res), Some((Basis::ContainerMemory(_), l))) =
        (ctx.memory_reservation(container), basis.clone())
        && f64::from(res) < l
    {
        let mut fc = Claims::default();
        let res_text = fc.say(Claim::size(
            Basis::ContainerReservation(container.to_owned()),
            f64::from(res),
        ));
        let hard = fc.say(Claim::size(Basis::ContainerMemory(container.to_owned()), l));
        v.findings.push(
            Finding::context(
                "soft limit",
                format!(
                    "{res_text} is below {hard}: AWS/ECS MemoryUtilization is of the reservation, so values above the reservation were expected before the kill"
                ),
            )
            .with_claims(fc),
        );
    }
    if let Some(runtime) = runtime_in_logs(ctx, container) {
        v.recommendations
            .push(heap_advice(runtime, container, basis.clone(), &mut c));
    }
    v.claims(c)
}

/// OOM with only `memoryReservation`: the container had no cap of its own, so it grew until the
/// host ran out, and the host's OOM killer took it.
fn soft_limit_only(
    ctx: &Context<'_>,
    container: &str,
    reservation: f64,
    trend: Option<&MemoryTrend>,
    confidence: f64,
) -> Verdict {
    let mut c = Claims::default();
    let res = Basis::ContainerReservation(container.to_owned());
    let res_text = c.say(Claim::size(res.clone(), reservation));
    let mut v = Verdict::new(
        Cause::OomKilled,
        confidence,
        format!(
            "Container {container} was killed for running out of memory, and it has no hard limit: only {res_text}, so it grew until the host's memory ran out and the kernel killed it."
        ),
    )
    .key_fact("no hard limit: host memory ran out")
    .relies_on(&[Source::Metrics, Source::TaskDefinition]);
    let peak_mib = trend.map(|t| t.window_peak_pct / 100.0 * reservation);
    if let Some(t) = trend {
        let mut fc = Claims::default();
        v.findings.push(
            Finding::supports(
                "memory as a share of the soft reservation",
                format!(
                    "peaked at {} ({}): a reservation only places the task, it caps nothing",
                    fc.say(t.share(t.window_peak_pct)),
                    t.series.label()
                ),
            )
            .with_claims(fc),
        );
    }
    v.findings.push(Finding::context(
        "hard limit",
        format!(
            "none: neither the task nor container {container} sets memory, so the host's memory was its only limit"
        ),
    ));
    let size = match (peak_mib, trend) {
        (Some(p), Some(t)) => format!(
            " above the peak it reached ({})",
            c.say(Claim::derived(super::context::mib(p), p, t.series.clone()))
        ),
        _ => String::new(),
    };
    v = v.recommend(format!(
        "Set a hard limit (`memory`) on {container} and size it{size}, so the kernel stops this container instead of the host running out; keep memoryReservation for placement"
    ));
    v = v.recommend(
        "Check what else on the host used memory at the time (other tasks without hard limits, the agent, the OS): the host's OOM killer picks any process",
    );
    if let Some(runtime) = runtime_in_logs(ctx, container) {
        v.recommendations
            .push(heap_advice(runtime, container, None, &mut c));
    }
    v.claims(c)
}

/// A managed runtime whose heap error shows in the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Jvm,
    Node,
    DotNet,
    Go,
    Python,
}

impl Runtime {
    fn label(self) -> &'static str {
        match self {
            Runtime::Jvm => "JVM",
            Runtime::Node => "Node.js",
            Runtime::DotNet => ".NET",
            Runtime::Go => "Go runtime",
            Runtime::Python => "Python",
        }
    }
}

/// The runtime's own out-of-memory words, as each prints them.
fn heap_error(line: &str) -> Option<Runtime> {
    let lower = line.to_lowercase();
    if lower.contains("java.lang.outofmemoryerror") {
        Some(Runtime::Jvm)
    } else if lower.contains("javascript heap out of memory")
        || lower.contains("reached heap limit")
    {
        Some(Runtime::Node)
    } else if lower.contains("system.outofmemoryexception") {
        Some(Runtime::DotNet)
    } else if lower.contains("fatal error: runtime: out of memory") {
        Some(Runtime::Go)
    } else if line.trim_start().starts_with("MemoryError") {
        Some(Runtime::Python)
    } else {
        None
    }
}

fn log_lines<'a>(ctx: &Context<'a>, container: &str) -> impl Iterator<Item = &'a str> + 'a {
    let container = container.to_owned();
    ctx.evidence
        .logs
        .iter()
        .flatten()
        .filter(move |l| l.container == container)
        .flat_map(|l| l.lines.iter().map(|line| line.message.as_str()))
}

fn runtime_in_logs(ctx: &Context<'_>, container: &str) -> Option<Runtime> {
    log_lines(ctx, container).find_map(heap_error)
}

/// Heap sizing for the runtime, against the limit that applies to the container.
fn heap_advice(
    runtime: Runtime,
    container: &str,
    basis: Option<(Basis, f64)>,
    c: &mut Claims,
) -> String {
    let share = c.say(Claim::policy(
        format!("{HEAP_SHARE_PCT:.0}%"),
        HEAP_SHARE_PCT,
        "heap share of the limit",
    ));
    let (limit, heap) = match basis {
        Some((b, m)) if !matches!(b, Basis::ContainerReservation(_)) => {
            let heap = (m * HEAP_SHARE_PCT / 100.0).floor();
            (
                c.say(Claim::size(b.clone(), m)),
                Some(c.say(Claim::proposal(heap, b))),
            )
        }
        _ => (format!("container {container}'s hard limit"), None),
    };
    let size = |what: &str| match heap.as_deref() {
        Some(h) => format!("{what} {h} (about {share} of {limit})"),
        None => format!("{what} about {share} of {limit}"),
    };
    match runtime {
        Runtime::Jvm => format!(
            "Size the JVM heap to the container: its default is a quarter of the container's memory; -XX:MaxRAMPercentage={HEAP_SHARE_PCT:.0} (or -Xmx) puts the heap at {}, leaving room for metaspace, threads and native memory; add -XX:+HeapDumpOnOutOfMemoryError to see what fills it",
            size("").trim_start()
        ),
        Runtime::Node => format!(
            "Size the V8 heap to the container: set NODE_OPTIONS=--max-old-space-size to {}; V8's default old space does not follow the container's limit",
            size("").trim_start()
        ),
        Runtime::DotNet => format!(
            "Cap the .NET GC heap below the container: DOTNET_GCHeapHardLimitPercent=0x4B (hex for {share} of {limit}) or DOTNET_GCHeapHardLimit, and look for what allocates (dotnet-gcdump)"
        ),
        Runtime::Go => format!(
            "Give the Go runtime a soft memory limit below the container: set GOMEMLIMIT to {}, so the GC works harder before the runtime runs out",
            size("").trim_start()
        ),
        Runtime::Python => format!(
            "The Python process ran out of memory below {limit}: bound what one request or batch loads (stream, paginate), or raise the limit"
        ),
    }
}

/// A runtime's heap error with the container itself far from its limit: the application
/// crashed on its own heap cap, not the kernel's OOM killer.
pub fn heap_exhaustion(ctx: &Context<'_>, container: &Container) -> Option<Verdict> {
    if container.exit_code == Some(137)
        || container
            .reason
            .as_deref()
            .is_some_and(catalogue::is_oom_reason)
    {
        return None;
    }
    let name = container.name.as_str();
    let line = log_lines(ctx, name).find(|l| heap_error(l).is_some())?;
    let runtime = heap_error(line)?;
    let basis = container_basis(ctx, name);
    let trend = trend(ctx, name).filter(|t| t.is_of_container_limit(name));
    let mut c = Claims::default();
    let quoted = line.trim().chars().take(200).collect::<String>();
    let distance = match trend.as_ref() {
        Some(t) if t.window_peak_pct < NEAR_LIMIT_PCT => format!(
            ", while the container itself peaked at {}",
            c.say(t.share(t.window_peak_pct))
        ),
        _ => String::new(),
    };
    let code = container
        .exit_code
        .map(|e| format!(" (exit {e})"))
        .unwrap_or_default();
    let mut v = Verdict::new(
        Cause::AppCrashed,
        0.9,
        format!(
            "Container {name} crashed{code} when its {} ran out of heap, not because the kernel's OOM killer stopped it: \"{quoted}\"{distance}.",
            runtime.label()
        ),
    )
    .key_fact(format!("{} heap exhausted", runtime.label()))
    .container(name, container.exit_code)
    .finding(Finding::supports(
        "runtime heap error in the log",
        format!("\"{quoted}\""),
    ))
    .relies_on(&[Source::Logs, Source::Metrics, Source::TaskDefinition]);
    if let Some(t) = trend
        .as_ref()
        .filter(|t| t.window_peak_pct < NEAR_LIMIT_PCT)
    {
        let mut fc = Claims::default();
        v = v.finding(
            Finding::rules_out(
                "memory as a share of the hard limit",
                format!(
                    "peaked at {} ({}): the kernel had no reason to kill it",
                    fc.say(t.share(t.window_peak_pct)),
                    t.series.label()
                ),
            )
            .with_claims(fc),
        );
    }
    let rec = heap_advice(runtime, name, basis, &mut c);
    v = v.recommend(rec);
    if ctx.event.is_service_task() {
        v = v.recommend(
            "Turn on the deployment circuit breaker with rollback so a revision that crashes on start rolls back instead of looping",
        );
    }
    Some(v.claims(c))
}

/// The moment the app said it was ready, from its log tail, in seconds after `startedAt`.
pub fn ready_after(ctx: &Context<'_>, container: &str) -> Option<(f64, Claim)> {
    let started = ctx.event.detail.started_at?;
    let line = ctx
        .evidence
        .logs
        .iter()
        .flatten()
        .filter(|l| l.container == container)
        .flat_map(|l| l.lines.iter())
        .find(|l| super::health::is_ready_line(&l.message))?;
    let at = line.at?;
    let seconds = (at - started).num_seconds() as f64;
    (seconds >= 0.0).then(|| (seconds, Claim::elapsed_seconds(Span::StartToReady, seconds)))
}

#[cfg(test)]
mod tests {
    use super::{Runtime, heap_error};

    #[test]
    fn each_runtime_is_known_by_its_own_heap_error() {
        let cases = [
            (
                "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
                Runtime::Jvm,
            ),
            (
                "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
                Runtime::Node,
            ),
            (
                "FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory",
                Runtime::Node,
            ),
            (
                "Unhandled exception. System.OutOfMemoryException: Exception of type 'System.OutOfMemoryException' was thrown.",
                Runtime::DotNet,
            ),
            ("fatal error: runtime: out of memory", Runtime::Go),
            ("MemoryError", Runtime::Python),
        ];
        for (line, runtime) in cases {
            assert_eq!(heap_error(line), Some(runtime), "{line}");
        }
    }

    #[test]
    fn a_kernel_oom_reason_is_not_a_runtime_heap_error() {
        assert_eq!(
            heap_error("OutOfMemoryError: Container killed due to memory usage"),
            None
        );
    }
}
