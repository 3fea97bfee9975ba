//! CPU pressure before a kill, always as a share of the task's allocation.
//!
//! The seed's lesson: a dashboard of raw host usage showed 60% while the task sat at 99% of its
//! reservation. And the service's Average hides one saturated task among idle ones, so the
//! Maximum (or the task's own series) decides.

use chrono::{DateTime, Utc};

use crate::evidence::{Allocation, Point, Series};

use super::claims::{Basis, Claim, Claims, SeriesRef, cpu_alloc_text};
use super::context::{Context, duration_text};
use super::{Finding, Verdict};

/// CPU at or above this share of the allocation counts as pinned.
pub const PINNED_PCT: f64 = 90.0;
/// Pinned for at least this many minutes before the kill counts as sustained.
pub const SUSTAINED_MIN: f64 = 3.0;
/// Peak CPU below this share of the allocation means the task was not under CPU pressure.
pub const NO_PRESSURE_PCT: f64 = 70.0;
/// Peak CPU below this share of the allocation may be called idle; between this and the pinned
/// line the task was busy, whatever else it was.
pub const IDLE_PCT: f64 = 30.0;
/// A CPUCreditBalance at or below this means a burstable host was throttled to its baseline.
pub const CREDITS_EXHAUSTED: f64 = 1.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PressureLevel {
    /// Pinned at the allocation (or a throttled host) before the kill.
    High,
    /// Busy but not pinned.
    Moderate,
    /// Far from the allocation: the cause is elsewhere.
    Low,
    /// No CPU evidence.
    #[default]
    Unknown,
}

/// The evidence that decided the CPU pressure level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuEvidence {
    /// The task's own CPU as a share of its allocation (Container Insights).
    Task,
    /// AWS/ECS CPUUtilization Maximum over the service's tasks.
    ServiceMaximum,
    /// AWS/ECS CPUUtilization Average over the service's tasks.
    ServiceAverage,
    /// A burstable host's CPUCreditBalance at zero.
    HostCredits,
}

impl CpuEvidence {
    pub fn label(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::ServiceMaximum => "service Maximum",
            Self::ServiceAverage => "service Average",
            Self::HostCredits => "host credits",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct CpuPressure {
    pub level: PressureLevel,
    /// Which series decided.
    pub decided_by: Option<CpuEvidence>,
    /// The series behind `peak_pct` and `pinned`.
    pub series: Option<SeriesRef>,
    /// Peak CPU % of the allocation before the kill, from the best series available.
    pub peak_pct: Option<f64>,
    /// Lowest and highest value of the longest pinned run, and its length in minutes.
    pub pinned: Option<PinnedRun>,
    pub service_avg_peak: Option<f64>,
    pub service_max_peak: Option<f64>,
    /// The service Average stayed below the pinned line while the Maximum crossed it.
    pub average_hid_saturation: bool,
    /// Lowest CPUCreditBalance of a burstable host, when it ran out.
    pub credits_exhausted: Option<f64>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Copy)]
pub struct PinnedRun {
    pub minutes: f64,
    pub low: f64,
    pub high: f64,
}

impl PinnedRun {
    /// "93–100%" (or "100%" when the run held one level), as shares of the task's CPU.
    fn range(&self, amount: Option<f64>, series: &SeriesRef, c: &mut Claims) -> String {
        if (self.high - self.low).abs() < 0.5 {
            c.say(Claim::bare_share(
                self.high,
                Basis::TaskCpu,
                amount,
                series.clone(),
            ))
        } else {
            format!(
                "{}–{}",
                c.say(Claim::level(self.low, 0, "", series.clone())),
                c.say(Claim::bare_share(
                    self.high.min(999.0),
                    Basis::TaskCpu,
                    amount,
                    series.clone()
                ))
            )
        }
    }

    /// "93–100% of the task's 512 units (0.5 vCPU)", from the series that decided.
    pub fn describe(&self, ctx: &Context<'_>, series: &SeriesRef, c: &mut Claims) -> String {
        let amount = ctx.task_cpu().map(f64::from);
        let of = cpu_alloc_text(amount, c);
        format!("{} of {of}", self.range(amount, series, c))
    }

    /// "93–100% of 512u", for subjects and SMS.
    pub fn compact(&self, ctx: &Context<'_>, series: &SeriesRef, c: &mut Claims) -> String {
        let amount = ctx.task_cpu().map(f64::from);
        let range = self.range(amount, series, c);
        match amount {
            Some(a) => format!("{range} of {}", c.say(Claim::units_short(a))),
            None => range,
        }
    }

    pub fn minutes_claim(&self, series: &SeriesRef) -> Claim {
        Claim::derived(duration_text(self.minutes), self.minutes, series.clone())
    }
}

pub fn assess(ctx: &Context<'_>) -> CpuPressure {
    let mut out = CpuPressure::default();
    let Some((from, to)) = ctx.pressure_window() else {
        return out;
    };
    let Some(metrics) = ctx.evidence.metrics.as_ref() else {
        return out;
    };
    let amount = ctx.task_cpu().map(f64::from);

    let task = metrics.task_cpu_pct.as_ref().filter(|s| !s.is_empty());
    let svc_max = metrics
        .service_cpu_max_pct
        .as_ref()
        .filter(|s| !s.is_empty());
    let svc_avg = metrics
        .service_cpu_avg_pct
        .as_ref()
        .filter(|s| !s.is_empty());
    out.service_avg_peak = svc_avg.and_then(|s| s.max_between(from, to));
    out.service_max_peak = svc_max.and_then(|s| s.max_between(from, to));

    let candidates = [
        (task, CpuEvidence::Task, SeriesRef::TaskCpuPct),
        (
            svc_max,
            CpuEvidence::ServiceMaximum,
            SeriesRef::ServiceCpuMax,
        ),
        (
            svc_avg,
            CpuEvidence::ServiceAverage,
            SeriesRef::ServiceCpuAvg,
        ),
    ];
    for (series, decided_by, sref) in candidates {
        let label = decided_by.label();
        let Some(series) = series else { continue };
        let Some(peak) = series.max_between(from, to) else {
            continue;
        };
        let run = longest_run_at_or_above(series, from, to, PINNED_PCT);
        out.decided_by = Some(decided_by);
        out.series = Some(sref.clone());
        out.peak_pct = Some(peak);
        let mut c = Claims::default();
        if let Some(run) = run.filter(|r| r.minutes >= SUSTAINED_MIN) {
            out.level = PressureLevel::High;
            out.pinned = Some(run);
            let held = run.describe(ctx, &sref, &mut c);
            let minutes = c.say(run.minutes_claim(&sref));
            out.findings.push(
                Finding::supports(
                    format!("CPU ({label}) as % of the allocation"),
                    format!("{held} for {minutes} before the kill"),
                )
                .threshold(format!(
                    "≥ {PINNED_PCT:.0}% for ≥ {SUSTAINED_MIN:.0} min = starved"
                ))
                .with_claims(c),
            );
        } else if peak < NO_PRESSURE_PCT {
            out.level = PressureLevel::Low;
            let share = c.say(Claim::share(peak, Basis::TaskCpu, amount, sref.clone()));
            out.findings.push(
                Finding::rules_out(
                    format!("CPU ({label}) as % of the allocation"),
                    format!("peaked at {share} before the kill"),
                )
                .threshold(format!("< {NO_PRESSURE_PCT:.0}% = no CPU pressure"))
                .with_claims(c),
            );
        } else {
            out.level = PressureLevel::Moderate;
            let share = c.say(Claim::share(peak, Basis::TaskCpu, amount, sref.clone()));
            out.findings.push(
                Finding::context(
                    format!("CPU ({label}) as % of the allocation"),
                    format!("peaked at {share}: busy, but not held at the limit"),
                )
                .threshold(format!(
                    "≥ {PINNED_PCT:.0}% for ≥ {SUSTAINED_MIN:.0} min = starved"
                ))
                .with_claims(c),
            );
        }
        break;
    }

    // The Average-versus-Maximum trap: say so whenever the two disagree across the line.
    if let (Some(avg), Some(max)) = (out.service_avg_peak, out.service_max_peak)
        && max >= PINNED_PCT
        && avg < PINNED_PCT
    {
        out.average_hid_saturation = true;
        let mut c = Claims::default();
        let avg_text = c.say(Claim::bare_share(
            avg,
            Basis::TaskCpu,
            amount,
            SeriesRef::ServiceCpuAvg,
        ));
        let max_text = c.say(Claim::bare_share(
            max,
            Basis::TaskCpu,
            amount,
            SeriesRef::ServiceCpuMax,
        ));
        out.findings.push(
            Finding::supports(
                "service CPU Average vs Maximum",
                format!(
                    "Average peaked at {avg_text} while Maximum reached {max_text}: the Average hid one saturated task"
                ),
            )
            .threshold("judge saturation on Maximum or per task")
            .with_claims(c),
        );
        if out.level != PressureLevel::High
            && let Some(run) =
                svc_max.and_then(|s| longest_run_at_or_above(s, from, to, PINNED_PCT))
            && run.minutes >= SUSTAINED_MIN
        {
            out.level = PressureLevel::High;
            out.pinned = Some(run);
            out.decided_by = Some(CpuEvidence::ServiceMaximum);
            out.series = Some(SeriesRef::ServiceCpuMax);
            out.peak_pct = Some(max);
        }
    }

    if let Some(host) = ctx.evidence.host.as_ref().filter(|h| h.is_burstable())
        && let Some(credits) = metrics.host_cpu_credit_balance.as_ref()
        && let Some(min) = credits.min_between(from, to)
    {
        let itype = host.instance_type.as_deref().unwrap_or("burstable");
        let mut c = Claims::default();
        if min <= CREDITS_EXHAUSTED {
            out.credits_exhausted = Some(min);
            let balance = c.say(Claim::level(min, 1, "", SeriesRef::HostCpuCredits));
            out.findings.push(
                Finding::supports(
                    "host CPU credits",
                    format!(
                        "{itype} host's CPUCreditBalance fell to {balance}: the host was throttled to its baseline, and every task on it with it"
                    ),
                )
                .threshold(format!("≤ {CREDITS_EXHAUSTED:.0} credit = throttled"))
                .with_claims(c),
            );
            // A throttled host caps what the task can use: its CPU share then looks low or
            // moderate because the host gave it no more, not because the app was idle.
            for f in &mut out.findings {
                if f.signal.starts_with("CPU (") && f.bearing != super::Bearing::Supports {
                    f.bearing = super::Bearing::Context;
                    let head = f.observed.split(": ").next().unwrap_or("").to_owned();
                    f.observed = format!(
                        "{head}: capped by the throttled host, so this share is not idleness"
                    );
                    f.threshold = None;
                }
            }
            if out.level != PressureLevel::High {
                out.level = PressureLevel::High;
                out.decided_by = Some(CpuEvidence::HostCredits);
            }
        } else {
            let balance = c.say(Claim::level(min, 0, "", SeriesRef::HostCpuCredits));
            out.findings.push(
                Finding::context(
                    "host CPU credits",
                    format!("{itype} host kept {balance} CPU credits or more"),
                )
                .with_claims(c),
            );
        }
    }
    out
}

/// "CPU was idle (it peaked at 6% of …)", "CPU was busy (…) but not held at the limit": the
/// words follow the same thresholds the rules use, and carry the figure they rest on.
pub fn pressure_words(ctx: &Context<'_>, c: &mut Claims) -> Option<String> {
    let p = &ctx.cpu;
    let peak = p.peak_pct?;
    let series = p.series.clone()?;
    let share = c.say(Claim::share(
        peak,
        Basis::TaskCpu,
        ctx.task_cpu().map(f64::from),
        series,
    ));
    Some(match p.level {
        PressureLevel::Low if peak < IDLE_PCT => format!("CPU was idle (it peaked at {share})"),
        PressureLevel::Low => {
            let line = c.say(Claim::policy(
                format!("{NO_PRESSURE_PCT:.0}%"),
                NO_PRESSURE_PCT,
                "cpu no pressure",
            ));
            format!("CPU peaked at {share}, under the {line} pressure line")
        }
        PressureLevel::Moderate => {
            format!("CPU was busy (it peaked at {share}) but not held at the limit")
        }
        PressureLevel::High | PressureLevel::Unknown => return None,
    })
}

fn longest_run_at_or_above(
    series: &Series,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    line: f64,
) -> Option<PinnedRun> {
    let points: Vec<&Point> = series.between(from, to).collect();
    let mut best: Option<PinnedRun> = None;
    let mut start: Option<usize> = None;
    for i in 0..=points.len() {
        let above = points.get(i).is_some_and(|p| p.value >= line);
        match (above, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let run = &points[s..i];
                let minutes = run_minutes(run);
                let low = run.iter().map(|p| p.value).fold(f64::INFINITY, f64::min);
                let high = run
                    .iter()
                    .map(|p| p.value)
                    .fold(f64::NEG_INFINITY, f64::max);
                if best.is_none_or(|b| minutes > b.minutes) {
                    best = Some(PinnedRun { minutes, low, high });
                }
                start = None;
            }
            _ => {}
        }
    }
    best
}

/// A run of per-minute datapoints covers one period per point.
fn run_minutes(run: &[&Point]) -> f64 {
    match (run.first(), run.last()) {
        (Some(first), Some(last)) => {
            let span = (last.at - first.at).num_seconds() as f64 / 60.0;
            let period = if run.len() > 1 {
                span / (run.len() - 1) as f64
            } else {
                1.0
            };
            span + period
        }
        _ => 0.0,
    }
}

/// Every verdict that talks about utilization says what it is relative to (the seed's lesson).
pub fn add_allocation_context(ctx: &Context<'_>, verdict: &mut Verdict) {
    let Some(metrics) = ctx.evidence.metrics.as_ref() else {
        return;
    };
    let has_util = metrics.task_cpu_pct.is_some()
        || metrics.service_cpu_max_pct.is_some()
        || metrics.service_cpu_avg_pct.is_some()
        || metrics.task_memory_pct.is_some()
        || metrics.service_memory_max_pct.is_some();
    if !has_util {
        return;
    }
    let mut c = Claims::default();
    let mem = match (ctx.task_memory(), metrics.task_memory_of) {
        (Some(m), _) => c.say(Claim::bare_size(Basis::TaskMemory, f64::from(m))),
        (None, Some(Allocation::Reserved)) => {
            "the containers' soft reservations (no hard limit is set)".to_owned()
        }
        (None, _) => "the containers' own memory settings".to_owned(),
    };
    // What the CPU share is of, as gathering recorded it: on EC2 with nothing reserved,
    // Container Insights' "reserved" CPU is the instance's, and the text must say so.
    let observed = match metrics.task_cpu_of {
        Some(Allocation::Reserved) => format!(
            "CPU as a share of what Container Insights counts as reserved for the task, which with no CPU reserved in the task definition is the host's CPU; memory as a share of {mem}: a saturated host shows here as a task at its limit"
        ),
        Some(Allocation::ContainerShares) => format!(
            "CPU as a share of the containers' cpu units, which are relative shares of the host rather than a cap (only a task-level cpu caps it); memory as a share of {mem}"
        ),
        _ => {
            let cpu = cpu_alloc_text(ctx.task_cpu().map(f64::from), &mut c);
            format!(
                "as a share of the task's allocation ({cpu}, {mem}), not of the host: a host dashboard's percentage is of the whole instance and can look low while this task is at its limit"
            )
        }
    };
    verdict
        .findings
        .push(Finding::context("how utilization is measured", observed).with_claims(c));
}
