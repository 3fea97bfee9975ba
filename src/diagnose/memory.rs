//! Out-of-memory kills, and the shape of memory use before them: a leak, a spike or a working
//! set that does not fit.
//!
//! Exit 137 is only SIGKILL. The agent's "OutOfMemoryError" reason decides when present; when the
//! agent omits it, memory at ≥ 95% of the hard limit near the stop decides.

use chrono::Duration;

use crate::evidence::{Point, Source};

use super::context::{Context, LimitScope, duration_text, mib, round_up_256};
use super::{Cause, Finding, Verdict};

/// Memory at or above this share of the hard limit near the stop counts as an OOM.
pub const NEAR_LIMIT_PCT: f64 = 95.0;
/// Peak memory below this share of the limit rules an OOM out.
pub const FAR_FROM_LIMIT_PCT: f64 = 80.0;
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
    /// Peak % of the hard limit near the stop (last 5 minutes of data).
    pub peak_pct: f64,
    /// Peak over the whole window.
    pub window_peak_pct: f64,
    pub limit_mib: Option<u32>,
    pub scope: Option<LimitScope>,
    /// For a leak: growth in MiB (or % of the limit when the limit is unknown) per minute.
    pub slope_per_min: f64,
    /// First value of the fitted range, % of the limit.
    pub start_pct: f64,
    /// Minutes the fitted range spans.
    pub span_min: f64,
    /// For a spike: value before the jump and minutes it took.
    pub spike_from_pct: f64,
    pub spike_minutes: f64,
    /// Where the series came from.
    pub source: &'static str,
}

impl MemoryTrend {
    fn pct_to_mib(&self, pct: f64) -> Option<f64> {
        self.limit_mib.map(|l| pct / 100.0 * f64::from(l))
    }

    pub fn slope_text(&self) -> String {
        match self.limit_mib {
            Some(_) => format!("+{:.1} MiB/min", self.slope_per_min),
            None => format!("+{:.1}% of the limit/min", self.slope_per_min),
        }
    }
}

/// Memory use as % of the container's hard limit, from the best series available.
pub fn trend(ctx: &Context<'_>, container: &str) -> Option<MemoryTrend> {
    let metrics = ctx.evidence.metrics.as_ref()?;
    let stop = ctx.stop_at?;
    let limit = ctx.memory_limit(container);
    let limit_mib = limit.map(|(m, _)| f64::from(m));

    let (points, source): (Vec<Point>, &'static str) =
        if let Some(s) = metrics.task_memory_pct.as_ref().filter(|s| !s.is_empty()) {
            (s.points.clone(), "task memory")
        } else if let (Some(s), Some(l)) = (
            metrics.task_memory_mib.as_ref().filter(|s| !s.is_empty()),
            limit_mib,
        ) {
            let pts = s
                .points
                .iter()
                .map(|p| Point {
                    at: p.at,
                    value: p.value / l * 100.0,
                })
                .collect();
            (pts, "task memory")
        } else if let Some(s) = metrics
            .service_memory_max_pct
            .as_ref()
            .filter(|s| !s.is_empty())
        {
            // AWS/ECS MemoryUtilization is relative to memoryReservation when a container sets
            // one and the task sets no memory; rescale to the hard limit.
            let scale = match (
                ctx.task_memory().is_none(),
                ctx.memory_reservation(container),
                limit,
            ) {
                (true, Some(res), Some((hard, _))) if hard > 0 => f64::from(res) / f64::from(hard),
                _ => 1.0,
            };
            let pts = s
                .points
                .iter()
                .map(|p| Point {
                    at: p.at,
                    value: p.value * scale,
                })
                .collect();
            (pts, "service memory Maximum")
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

    let mut t = MemoryTrend {
        kind: TrendKind::Steady,
        peak_pct,
        window_peak_pct,
        limit_mib: limit.map(|(m, _)| m),
        scope: limit.map(|(_, s)| s),
        slope_per_min: 0.0,
        start_pct: pts.first().map_or(0.0, |p| p.value),
        span_min: 0.0,
        spike_from_pct: 0.0,
        spike_minutes: 0.0,
        source,
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
            t.slope_per_min = match limit_mib {
                Some(l) => slope / 100.0 * l,
                None => slope,
            };
            return Some(t);
        }
    }

    // Plateau: at least five minutes at ≥ 90% of the limit without a trend.
    let high: Vec<&Point> = pts.iter().filter(|p| p.value >= 90.0).collect();
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
    let reason = ctx.any_reason_with("outofmemory")?.to_owned();
    let container = ctx
        .event
        .detail
        .containers
        .iter()
        .find(|c| {
            c.reason
                .as_deref()
                .is_some_and(|r| r.to_lowercase().contains("outofmemory"))
        })
        .or_else(|| ctx.deciding_container());
    let name = container.map_or("the task", |c| c.name.as_str());
    let exit = container.and_then(|c| c.exit_code);
    let mut v = oom_verdict(ctx, name, 0.9).finding(Finding::supports(
        "ECS agent's reason",
        format!("\"{reason}\""),
    ));
    if let Some(c) = container {
        v = v.container(&c.name, exit);
    }
    if let Some(t) = ctx.memory.as_ref() {
        if t.window_peak_pct >= NEAR_LIMIT_PCT {
            v.confidence = 0.97;
        } else if t.window_peak_pct < FAR_FROM_LIMIT_PCT {
            v.confidence = 0.85;
            v.findings.push(Finding::context(
                "memory metrics vs the agent",
                format!(
                    "metrics peaked at {:.0}% of the limit: a spike shorter than the 1-minute period does not show in them",
                    t.window_peak_pct
                ),
            ));
        }
    }
    Some(v)
}

/// Exit 137 without the agent's reason: memory at the limit makes it an OOM anyway.
pub fn oom_by_metrics(ctx: &Context<'_>, container: &str, exit: Option<i64>) -> Option<Verdict> {
    let t = ctx.memory.as_ref()?;
    if t.peak_pct < NEAR_LIMIT_PCT {
        return None;
    }
    let v = oom_verdict(ctx, container, 0.8)
        .container(container, exit)
        .finding(Finding::context(
            "ECS agent's reason",
            "none given: the agent sometimes omits OutOfMemoryError, so memory decides",
        ));
    Some(v)
}

/// Exit 137 with memory far from the limit: SIGKILL, but not the OOM killer.
pub fn rules_out_oom(ctx: &Context<'_>) -> Option<Finding> {
    let t = ctx.memory.as_ref()?;
    (t.window_peak_pct < FAR_FROM_LIMIT_PCT).then(|| {
        Finding::rules_out(
            "memory as % of the hard limit",
            format!("peaked at {:.0}% ({})", t.window_peak_pct, t.source),
        )
        .threshold(format!("≥ {NEAR_LIMIT_PCT:.0}% near the stop = OOM"))
    })
}

fn oom_verdict(ctx: &Context<'_>, container: &str, confidence: f64) -> Verdict {
    let limit = ctx.memory_limit(container);
    let limit_text = limit.map_or_else(
        || "its memory limit".to_owned(),
        |(m, scope)| format!("its {} {} limit", mib(f64::from(m)), scope.as_str()),
    );
    let trend = ctx.memory.as_ref();
    let (summary_tail, key_tail) = match trend.map(|t| t.kind) {
        Some(TrendKind::Leak) => {
            let t = trend.map(MemoryTrend::slope_text).unwrap_or_default();
            (
                format!(", growing steadily at {t} (a leak)"),
                format!(", leak {t}"),
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
    let peak = trend.map(|t| t.peak_pct.max(t.window_peak_pct));
    let summary = match peak {
        Some(p) => format!(
            "Container {container} was killed for running out of memory: it reached {p:.0}% of {limit_text}{summary_tail}."
        ),
        None => format!(
            "Container {container} was killed for running out of memory (exceeded {limit_text})."
        ),
    };
    let key = match (peak, limit) {
        (Some(p), Some((m, _))) => format!("mem {p:.0}% of {m}MiB{key_tail}"),
        (None, Some((m, _))) => format!("mem over {m}MiB limit"),
        _ => format!("out of memory{key_tail}"),
    };

    let mut v = Verdict::new(Cause::OomKilled, confidence, summary)
        .key_fact(key)
        .relies_on(&[Source::Metrics, Source::TaskDefinition]);

    if let Some(t) = trend {
        v.findings.push(
            Finding::supports(
                "memory as % of the hard limit",
                format!("{:.0}% near the stop ({})", t.peak_pct, t.source),
            )
            .threshold(format!("≥ {NEAR_LIMIT_PCT:.0}% = at the limit")),
        );
    }
    let limit_mib = limit.map(|(m, _)| m);
    let scope = limit.map_or("task", |(_, s)| s.as_str());
    match trend.map(|t| (t.kind, t)) {
        Some((TrendKind::Leak, t)) => {
            let start_mib = t.pct_to_mib(t.start_pct);
            let slope = t.slope_text();
            let observed = match (start_mib, limit_mib) {
                (Some(s), Some(l)) => format!(
                    "{slope} from {} to the {} limit over {}",
                    mib(s),
                    mib(f64::from(l)),
                    duration_text(t.span_min)
                ),
                _ => format!("{slope} over {}", duration_text(t.span_min)),
            };
            v.findings.push(
                Finding::supports("memory trend", format!("steady growth: {observed}"))
                    .threshold("linear fit r² ≥ 0.8 and a rise ≥ 20% of the limit = leak"),
            );
            let doubled = limit_mib.map(|l| {
                let new = round_up_256(f64::from(l) * 2.0);
                let minutes = if t.slope_per_min > 0.0 {
                    (f64::from(new) - start_mib.unwrap_or(0.0)) / t.slope_per_min
                } else {
                    0.0
                };
                (l, new, minutes)
            });
            let mut rec = format!(
                "Find the leak in {container}: memory grows {slope} from start and reaches the limit after about {}; take a heap profile of a task that has run for a while",
                duration_text(t.span_min)
            );
            if let Some((old, new, minutes)) = doubled {
                rec.push_str(&format!(
                    "; raising the {scope} memory {old} → {new} MiB only delays the next kill to ~{} after start",
                    duration_text(minutes)
                ));
            }
            v.recommendations.push(rec);
        }
        Some((TrendKind::Spike, t)) => {
            v.findings.push(
                Finding::supports(
                    "memory trend",
                    format!(
                        "sudden spike: {:.0}% → {:.0}% of the limit within {}",
                        t.spike_from_pct,
                        t.peak_pct,
                        duration_text(t.spike_minutes)
                    ),
                )
                .threshold(format!(
                    "a rise ≥ {SPIKE_MIN_RISE_PCT:.0} points within {SPIKE_MINUTES} min = spike"
                )),
            );
            let mut rec = format!(
                "Memory in {container} jumped from {:.0}% to {:.0}% of the limit within {}: one request, job or batch loads too much at once — bound it (stream, paginate, cap upload and batch sizes)",
                t.spike_from_pct,
                t.peak_pct,
                duration_text(t.spike_minutes)
            );
            if let Some(l) = limit_mib {
                rec.push_str(&format!(
                    ", or raise the {scope} memory {l} → {} MiB if that load is legitimate",
                    round_up_256(f64::from(l) * 2.0)
                ));
            }
            v.recommendations.push(rec);
        }
        Some((TrendKind::Plateau, t)) => {
            v.findings.push(
                Finding::supports(
                    "memory trend",
                    format!(
                        "held at ≥ 90% of the limit for {} without a trend",
                        duration_text(t.span_min)
                    ),
                )
                .threshold("≥ 5 min at ≥ 90% = working set does not fit"),
            );
            match limit_mib {
                Some(l) => v.recommendations.push(format!(
                    "The working set of {container} does not fit: raise the {scope} memory {l} → {} MiB (on Fargate pick a valid cpu/memory pair), or cap the runtime's heap below the limit",
                    round_up_256(f64::from(l) * 1.5)
                )),
                None => v.recommendations.push(format!(
                    "The working set of {container} does not fit: raise its memory limit by half, or cap the runtime's heap below it"
                )),
            }
        }
        _ => match limit_mib {
            Some(l) => v.recommendations.push(format!(
                "Raise the {scope} memory {l} → {} MiB, or lower the app's footprint; enable Container Insights to see whether it leaks or spikes",
                round_up_256(f64::from(l) * 1.5)
            )),
            None => v.recommendations.push(
                "Raise the memory limit, or lower the app's footprint; enable Container Insights to see whether it leaks or spikes"
                    .to_owned(),
            ),
        },
    }
    if let (Some(res), Some(l)) = (ctx.memory_reservation(container), limit_mib)
        && res < l
    {
        v.findings.push(Finding::context(
            "soft limit",
            format!(
                "memoryReservation {res} MiB is below the hard limit {l} MiB: AWS/ECS MemoryUtilization is relative to the reservation, so values over 100% were expected before the kill"
            ),
        ));
    }
    if runtime_heap_hint(ctx) {
        v.recommendations.push(
            "The logs show a managed runtime: size its heap to ~75% of the container limit (e.g. -XX:MaxRAMPercentage=75, --max-old-space-size) so it fails with a clear error before the kernel kills it"
                .to_owned(),
        );
    }
    v
}

fn runtime_heap_hint(ctx: &Context<'_>) -> bool {
    ctx.evidence.logs.as_ref().is_some_and(|logs| {
        logs.iter().flat_map(|l| &l.lines).any(|l| {
            let m = l.message.to_lowercase();
            m.contains("java.lang.outofmemoryerror")
                || m.contains("javascript heap out of memory")
                || m.contains("memoryerror")
        })
    })
}
