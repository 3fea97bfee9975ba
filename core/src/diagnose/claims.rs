//! Numbers that carry their basis. Every figure a summary, key fact, finding or recommendation
//! prints is a [`Claim`]: a typed value that knows what it is of (the task's hard limit, a
//! container's hard limit or soft reservation, the task's CPU units…) and which evidence it was
//! read from. Sentences are rendered from claims, never written beside them, and the claims
//! travel with the diagnosis so a checker can hold each one against the evidence.

use std::fmt;

use super::context::{Context, DEFAULT_STOP_TIMEOUT_S, cpu_units, duration_text, mib};

/// What a share or an amount is of.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// The task definition's task-level memory (a hard limit).
    TaskMemory,
    /// A container's own hard limit (`memory`).
    ContainerMemory(String),
    /// A container's soft limit (`memoryReservation`): the scheduler's reservation, not a cap.
    ContainerReservation(String),
    /// The task's CPU units (task-level `cpu`).
    TaskCpu,
    /// The task's ephemeral storage (Container Insights EphemeralStorageReserved).
    EphemeralStorage,
}

impl Basis {
    /// "the task's 512 MiB memory limit", "container api's 64 MiB hard limit".
    pub fn phrase(&self, amount: Option<f64>) -> String {
        let size = |a: f64| mib(a);
        match (self, amount) {
            (Basis::TaskMemory, Some(a)) => format!("the task's {} memory limit", size(a)),
            (Basis::TaskMemory, None) => "the task's memory limit".to_owned(),
            (Basis::ContainerMemory(c), Some(a)) => {
                format!("container {c}'s {} hard limit", size(a))
            }
            (Basis::ContainerMemory(c), None) => format!("container {c}'s hard limit"),
            (Basis::ContainerReservation(c), Some(a)) => {
                format!("container {c}'s {} soft reservation", size(a))
            }
            (Basis::ContainerReservation(c), None) => format!("container {c}'s soft reservation"),
            (Basis::TaskCpu, Some(a)) => {
                // Bounded: task CPU is at most 16 vCPU (16384 units).
                format!("the task's {}", cpu_units(a.clamp(0.0, 1.0e6) as u32))
            }
            (Basis::TaskCpu, None) => "the task's CPU reservation".to_owned(),
            (Basis::EphemeralStorage, Some(a)) => {
                format!("the task's {a:.0} GB of ephemeral storage")
            }
            (Basis::EphemeralStorage, None) => "the task's ephemeral storage".to_owned(),
        }
    }
}

impl Basis {
    /// "log-router's 64 MiB limit", "task's 512 MiB limit": for subjects and SMS.
    pub fn short_phrase(&self, amount: Option<f64>) -> String {
        let size = amount.map(|a| format!("{} ", mib(a))).unwrap_or_default();
        match self {
            Basis::TaskMemory => format!("task's {size}limit"),
            Basis::ContainerMemory(c) => format!("{c}'s {size}limit"),
            Basis::ContainerReservation(c) => format!("{c}'s {size}reservation"),
            Basis::TaskCpu | Basis::EphemeralStorage => self.phrase(amount),
        }
    }
}

/// The evidence series a value was read from.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesRef {
    /// Container Insights task memory as % of the task's limit.
    TaskMemoryPct,
    /// Container Insights task memory in MiB.
    TaskMemoryMib,
    /// AWS/ECS service MemoryUtilization, Maximum.
    ServiceMemoryMax,
    /// The per-container performance record (Container Insights `Type: Container`), MiB.
    ContainerMemoryMib(String),
    TaskCpuPct,
    ServiceCpuMax,
    ServiceCpuAvg,
    HostCpuCredits,
    AlbResponseTime,
    EphemeralStorageUtilized,
    /// AWS/ECS CPUReservation of the cluster.
    ClusterCpuReservation,
    /// Application Auto Scaling activities (not a series: the figure is timed from them).
    ScalingActivities,
}

impl SeriesRef {
    pub fn label(&self) -> String {
        match self {
            SeriesRef::TaskMemoryPct | SeriesRef::TaskMemoryMib => "task memory".to_owned(),
            SeriesRef::ServiceMemoryMax => "service memory Maximum".to_owned(),
            SeriesRef::ContainerMemoryMib(c) => format!("container {c}'s performance record"),
            SeriesRef::TaskCpuPct => "task".to_owned(),
            SeriesRef::ServiceCpuMax => "service Maximum".to_owned(),
            SeriesRef::ServiceCpuAvg => "service Average".to_owned(),
            SeriesRef::HostCpuCredits => "host CPUCreditBalance".to_owned(),
            SeriesRef::AlbResponseTime => "ALB TargetResponseTime".to_owned(),
            SeriesRef::EphemeralStorageUtilized => "EphemeralStorageUtilized".to_owned(),
            SeriesRef::ClusterCpuReservation => "cluster CPUReservation".to_owned(),
            SeriesRef::ScalingActivities => "scaling activities".to_owned(),
        }
    }
}

/// A setting read from the task definition, the service or the target group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The service's `healthCheckGracePeriodSeconds`.
    GracePeriod,
    AlbTimeout,
    AlbInterval,
    AlbUnhealthyThreshold,
    /// Container health check fields, of the container named in the claim.
    CheckInterval,
    CheckTimeout,
    CheckRetries,
    CheckStartPeriod,
    StopTimeout,
    /// A target-tracking policy's target value (%).
    ScalingTarget,
    /// A capacity provider's managed-scaling target capacity (%).
    CapacityTarget,
}

/// Where in the task's life a moment was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// From `startedAt` to `stoppingAt` (or the stop).
    StartToKill,
    /// From `startedAt` to the first log line saying the app is ready.
    StartToReady,
    /// From the earliest related recent stop to this one.
    RecentStops,
}

/// A number and what it is, precisely enough to be checked against the evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum Quantity {
    /// `percent` of `of` (whose size is `amount` when known), read from `series`.
    Share {
        percent: f64,
        of: Basis,
        amount: Option<f64>,
        series: SeriesRef,
    },
    /// The size of a basis itself, as configured (MiB, CPU units or GB).
    Size { of: Basis, amount: f64 },
    /// A plain value of a series (MiB, seconds, credits).
    Level { value: f64, series: SeriesRef },
    /// A configured setting, in seconds or a count.
    Configured {
        setting: Setting,
        container: Option<String>,
        value: f64,
    },
    /// The product of two configured settings, e.g. interval × unhealthy threshold.
    Product {
        a: Setting,
        b: Setting,
        container: Option<String>,
        value: f64,
    },
    /// A setting that was not configured, so ECS applies its documented default.
    EcsDefault { setting: Setting, value: f64 },
    /// A time span read from the event's timestamps, the logs or recent stops, in seconds.
    Elapsed { span: Span, seconds: f64 },
    /// A figure computed from other evidence (a fitted slope, a projected size); `from` names
    /// the evidence it was computed from.
    Derived { value: f64, from: SeriesRef },
    /// A proposed new size computed from the basis' current size.
    Proposal { value: f64, of: Basis },
    /// A rule's own threshold or a documented AWS limit: policy, not evidence.
    Policy { value: f64, name: &'static str },
}

/// A rendered figure and the quantity it renders.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub text: String,
    pub quantity: Quantity,
}

impl Claim {
    fn new(text: String, quantity: Quantity) -> Self {
        Self { text, quantity }
    }

    /// "82% of container api's 64 MiB hard limit".
    pub fn share(percent: f64, of: Basis, amount: Option<f64>, series: SeriesRef) -> Self {
        let text = format!("{percent:.0}% of {}", of.phrase(amount));
        Self::new(
            text,
            Quantity::Share {
                percent,
                of,
                amount,
                series,
            },
        )
    }

    /// "100% of log-router's 64 MiB limit": the short form for subjects and SMS.
    pub fn share_short(percent: f64, of: Basis, amount: Option<f64>, series: SeriesRef) -> Self {
        let text = format!("{percent:.0}% of {}", of.short_phrase(amount));
        Self::new(
            text,
            Quantity::Share {
                percent,
                of,
                amount,
                series,
            },
        )
    }

    /// "log-router's 64 MiB limit": a size in the short form.
    pub fn size_short(of: Basis, amount: f64) -> Self {
        Self::new(of.short_phrase(Some(amount)), Quantity::Size { of, amount })
    }

    /// "82%" alone, where the sentence already names the basis through another claim.
    pub fn bare_share(percent: f64, of: Basis, amount: Option<f64>, series: SeriesRef) -> Self {
        Self::new(
            format!("{percent:.0}%"),
            Quantity::Share {
                percent,
                of,
                amount,
                series,
            },
        )
    }

    /// "container api's 64 MiB hard limit".
    pub fn size(of: Basis, amount: f64) -> Self {
        Self::new(of.phrase(Some(amount)), Quantity::Size { of, amount })
    }

    /// "512 MiB", "512 units (0.5 vCPU)": the size alone.
    pub fn bare_size(of: Basis, amount: f64) -> Self {
        let text = match of {
            // Bounded: task CPU is at most 16 vCPU.
            Basis::TaskCpu => cpu_units(amount.clamp(0.0, 1.0e6) as u32),
            Basis::EphemeralStorage => format!("{amount:.0} GB"),
            _ => mib(amount),
        };
        Self::new(text, Quantity::Size { of, amount })
    }

    /// The task's CPU units in short form ("512u"), for subjects and SMS.
    pub fn units_short(amount: f64) -> Self {
        Self::new(
            format!("{amount:.0}u"),
            Quantity::Size {
                of: Basis::TaskCpu,
                amount,
            },
        )
    }

    /// The size as a bare number ("512"), for "512 → 1024 units".
    pub fn number(of: Basis, amount: f64) -> Self {
        Self::new(format!("{amount:.0}"), Quantity::Size { of, amount })
    }

    pub fn mib_level(value: f64, series: SeriesRef) -> Self {
        Self::new(mib(value), Quantity::Level { value, series })
    }

    /// A level rendered with the given precision and unit suffix ("0.26 s", "0.4").
    pub fn level(value: f64, decimals: usize, unit: &str, series: SeriesRef) -> Self {
        Self::new(
            format!("{value:.decimals$}{unit}"),
            Quantity::Level { value, series },
        )
    }

    /// "30 s" for a configured setting.
    pub fn seconds(setting: Setting, container: Option<&str>, value: u32) -> Self {
        Self::new(
            format!("{value} s"),
            Quantity::Configured {
                setting,
                container: container.map(str::to_owned),
                value: f64::from(value),
            },
        )
    }

    /// "30 s": two configured settings multiplied (interval × threshold).
    pub fn product_seconds(a: (Setting, u32), b: (Setting, u32), container: Option<&str>) -> Self {
        let value = f64::from(a.1) * f64::from(b.1);
        Self::new(
            format!("{value:.0} s"),
            Quantity::Product {
                a: a.0,
                b: b.0,
                container: container.map(str::to_owned),
                value,
            },
        )
    }

    /// "75%": a configured percentage (a scaling target).
    pub fn configured_pct(setting: Setting, value: f64) -> Self {
        Self::new(
            format!("{value:.0}%"),
            Quantity::Configured {
                setting,
                container: None,
                value,
            },
        )
    }

    /// A configured count ("3").
    pub fn count(setting: Setting, container: Option<&str>, value: u32) -> Self {
        Self::new(
            value.to_string(),
            Quantity::Configured {
                setting,
                container: container.map(str::to_owned),
                value: f64::from(value),
            },
        )
    }

    /// "30 s (the ECS default)".
    pub fn ecs_default_seconds(setting: Setting, value: u32) -> Self {
        Self::new(
            format!("{value} s (the ECS default)"),
            Quantity::EcsDefault {
                setting,
                value: f64::from(value),
            },
        )
    }

    pub fn ecs_default_count(setting: Setting, value: u32) -> Self {
        Self::new(
            format!("{value} (the ECS default)"),
            Quantity::EcsDefault {
                setting,
                value: f64::from(value),
            },
        )
    }

    /// "2 min", "45 s"; seconds below three minutes, where a minute's rounding would mislead.
    pub fn elapsed(span: Span, seconds: f64) -> Self {
        let text = if seconds < 180.0 {
            format!("{:.0} s", seconds.max(0.0))
        } else {
            duration_text(seconds / 60.0)
        };
        Self::new(text, Quantity::Elapsed { span, seconds })
    }

    /// Seconds always, for settings advice ("75 s").
    pub fn elapsed_seconds(span: Span, seconds: f64) -> Self {
        Self::new(
            format!("{:.0} s", seconds.max(0.0)),
            Quantity::Elapsed { span, seconds },
        )
    }

    pub fn derived(text: String, value: f64, from: SeriesRef) -> Self {
        Self::new(text, Quantity::Derived { value, from })
    }

    /// "1024 MiB" (or CPU units) proposed from the current size of `of`.
    pub fn proposal(value: f64, of: Basis) -> Self {
        let text = match of {
            // Bounded: task CPU is at most 16 vCPU.
            Basis::TaskCpu => format!("{} units", value.clamp(0.0, 1.0e6) as u32),
            // Task definitions set memory in MiB: advice speaks their unit.
            _ => format!("{value:.0} MiB"),
        };
        Self::new(text, Quantity::Proposal { value, of })
    }

    pub fn policy(text: impl Into<String>, value: f64, name: &'static str) -> Self {
        Self::new(text.into(), Quantity::Policy { value, name })
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The task's CPU units, or "the task's CPU reservation" when the task sets none.
pub fn cpu_alloc_text(amount: Option<f64>, c: &mut Claims) -> String {
    match amount {
        Some(a) => c.say(Claim::bare_size(Basis::TaskCpu, a)),
        None => "the task's CPU reservation".to_owned(),
    }
}

/// The claims behind one piece of text, collected while it is rendered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims(pub Vec<Claim>);

impl Claims {
    /// Records the claim and returns its text, for use in `format!`.
    pub fn say(&mut self, claim: Claim) -> String {
        let text = claim.text.clone();
        self.0.push(claim);
        text
    }

    pub fn extend(&mut self, other: Claims) {
        self.0.extend(other.0);
    }
}

/// The rules' thresholds and the AWS limits advice quotes: every policy claim names one.
pub fn policy_values() -> Vec<(&'static str, f64)> {
    use super::{cpu, memory};
    let mut values = vec![
        ("memory near limit", memory::NEAR_LIMIT_PCT),
        ("memory far from limit", memory::FAR_FROM_LIMIT_PCT),
        ("memory plateau", memory::PLATEAU_PCT),
        ("cpu pinned", cpu::PINNED_PCT),
        ("cpu idle", cpu::IDLE_PCT),
        ("cpu no pressure", cpu::NO_PRESSURE_PCT),
        ("cpu sustained minutes", cpu::SUSTAINED_MIN),
        ("host credits exhausted", cpu::CREDITS_EXHAUSTED),
        ("heap share of the limit", HEAP_SHARE_PCT),
        ("scaling window", super::scaling::SCALING_WINDOW_MIN as f64),
        ("log window", super::scaling::LOG_WINDOW_MIN as f64),
    ];
    values.extend(aws_limits());
    values
}

/// Limits AWS documents, which static advice may quote as they are ("21–200 GiB").
pub fn aws_limits() -> Vec<(&'static str, f64)> {
    vec![
        ("stopTimeout maximum", STOP_TIMEOUT_MAX_S),
        ("ephemeral storage minimum", EPHEMERAL_MIN_GIB),
        ("ephemeral storage maximum", EPHEMERAL_MAX_GIB),
        ("ephemeral storage default", EPHEMERAL_DEFAULT_GIB),
        ("container startPeriod maximum", START_PERIOD_MAX_S),
    ]
}

/// The stopTimeout that applies to a container: its own, or ECS's default when unset.
pub fn stop_timeout(ctx: &Context<'_>, container: &str) -> Claim {
    match ctx.container_def(container).and_then(|d| d.stop_timeout) {
        Some(t) => Claim::seconds(Setting::StopTimeout, Some(container), t),
        None => Claim::ecs_default_seconds(Setting::StopTimeout, DEFAULT_STOP_TIMEOUT_S),
    }
}

/// ECS accepts a container stopTimeout of up to 120 s (Fargate's maximum).
pub const STOP_TIMEOUT_MAX_S: f64 = 120.0;
/// Heap sized to this share of the container's limit leaves room for the runtime's own memory.
pub const HEAP_SHARE_PCT: f64 = 75.0;
/// Fargate ephemeral storage: 20 GiB by default, up to 200 GiB (`ephemeralStorage.sizeInGiB`).
pub const EPHEMERAL_DEFAULT_GIB: f64 = 20.0;
/// `ephemeralStorage.sizeInGiB`, when set, is at least 21.
pub const EPHEMERAL_MIN_GIB: f64 = 21.0;
pub const EPHEMERAL_MAX_GIB: f64 = 200.0;
/// A container health check's startPeriod may be 0–300 s.
pub const START_PERIOD_MAX_S: f64 = 300.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_names_the_limit_it_is_of() {
        let c = Claim::share(
            100.0,
            Basis::ContainerMemory("log-router".into()),
            Some(64.0),
            SeriesRef::ContainerMemoryMib("log-router".into()),
        );
        assert_eq!(c.text, "100% of container log-router's 64 MiB hard limit");
    }

    #[test]
    fn a_soft_reservation_is_never_called_a_limit() {
        let c = Claim::share(
            2197.0,
            Basis::ContainerReservation("api".into()),
            Some(256.0),
            SeriesRef::ServiceMemoryMax,
        );
        assert_eq!(c.text, "2197% of container api's 256 MiB soft reservation");
        assert!(!c.text.contains("limit"));
    }

    #[test]
    fn saying_a_claim_records_it() {
        let mut claims = Claims::default();
        let text = claims.say(Claim::seconds(Setting::GracePeriod, None, 60));
        assert_eq!(text, "60 s");
        assert_eq!(claims.0.len(), 1);
    }
}
