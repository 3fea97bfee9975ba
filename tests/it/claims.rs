//! Every sentence true: for every sample in events/, each figure the summary, key fact, findings
//! and recommendations print is backed by a typed claim of the diagnosis, each claim is re-derived
//! here from the evidence with the basis it states, and no sentence contradicts the evidence it
//! summarises ("idle" above the idle line, "no spike" while a finer series sits at the limit,
//! "hung" on a throttled host). The checker is proven by fixtures it must reject.

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use ecs_autopsy::diagnose::claims::{aws_limits, policy_values};
use ecs_autopsy::diagnose::{Basis, Claim, Quantity, SeriesRef, Setting, Span};
use ecs_autopsy::evidence::Series;
use ecs_autopsy::{Diagnosis, Evidence, TaskStateChange, diagnose};

use crate::support::{evidence as parse_evidence, stopped};

/// ECS's documented defaults for settings left unset.
const ECS_DEFAULTS: [(Setting, f64); 5] = [
    (Setting::GracePeriod, 0.0),
    (Setting::CheckInterval, 30.0),
    (Setting::CheckTimeout, 5.0),
    (Setting::CheckRetries, 3.0),
    (Setting::StopTimeout, 30.0),
];

/// Units after which a number is a claim about the world.
const UNITS: [&str; 10] = [
    "%", "MiB", "GiB", "GB", "vCPU", "units", "min", "s", "h", "m",
];

struct Sample {
    name: String,
    event: TaskStateChange,
    evidence: Evidence,
}

fn samples() -> Vec<Sample> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("events/ exists")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(stem) = file.strip_suffix(".json") else {
            continue;
        };
        if stem.contains('.') || stem.starts_with("ignored_") {
            continue;
        }
        let event = stopped(&std::fs::read_to_string(&path).expect("sample reads"));
        let ev_path = dir.join(format!("{stem}.evidence.json"));
        let evidence = if ev_path.exists() {
            parse_evidence(&std::fs::read_to_string(ev_path).expect("evidence reads"))
        } else {
            Evidence::default()
        };
        out.push(Sample {
            name: stem.to_owned(),
            event,
            evidence,
        });
    }
    out
}

fn sample(name: &str) -> Sample {
    samples()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("sample {name} exists"))
}

/// What the checker found wrong with one diagnosis.
struct Checker<'a> {
    event: &'a TaskStateChange,
    evidence: &'a Evidence,
}

impl Checker<'_> {
    fn check(&self, d: &Diagnosis) -> Vec<String> {
        let mut problems = Vec::new();
        for c in &d.claims {
            if let Err(e) = self.verify(c) {
                problems.push(format!("claim \"{}\": {e}", c.text));
            }
        }
        let mut texts = vec![
            ("summary", d.summary.clone()),
            ("key fact", d.key_fact.clone()),
        ];
        texts.extend(d.findings.iter().map(|f| ("finding", f.observed.clone())));
        texts.extend(
            d.recommendations
                .iter()
                .map(|r| ("recommendation", r.clone())),
        );
        let corpus = self.corpus();
        for (kind, text) in &texts {
            let limits = (*kind == "recommendation")
                .then(aws_limits)
                .unwrap_or_default();
            // What a summary or finding quotes is the evidence's own words, verbatim.
            if *kind != "recommendation" {
                for q in quoted(text) {
                    let q = q.trim_end_matches('…');
                    if q.chars().count() >= 12 && !corpus.iter().any(|s| s.contains(q)) {
                        problems.push(format!(
                            "{kind} quotes words the evidence does not hold: \"{q}\""
                        ));
                    }
                }
            }
            for n in unsupported_numbers(text, &d.claims, &limits) {
                problems.push(format!("{kind} prints {n} without a claim: {text}"));
            }
            problems.extend(self.contradictions(kind, text, d));
        }
        problems
    }

    /// Every string of the event and the evidence.
    fn corpus(&self) -> Vec<String> {
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(
            &serde_json::to_value(self.event).expect("event serializes"),
            &mut out,
        );
        walk(
            &serde_json::to_value(self.evidence).expect("evidence serializes"),
            &mut out,
        );
        out
    }

    // ---- claims against the evidence ----

    fn verify(&self, c: &Claim) -> Result<(), String> {
        match &c.quantity {
            Quantity::Share {
                percent,
                of,
                amount,
                series,
            } => {
                self.amount_matches(of, *amount)?;
                let values = self.as_share_of(series, of, *amount)?;
                if values.iter().any(|v| (v - percent).abs() <= 0.51) {
                    Ok(())
                } else {
                    Err(format!(
                        "{percent:.1}% is in no point of {series:?} taken as a share of {of:?}"
                    ))
                }
            }
            Quantity::Size { of, amount } => self.amount_matches(of, Some(*amount)),
            Quantity::Level { value, series } => {
                let pts = self.series(series).ok_or("series not in the evidence")?;
                pts.points()
                    .iter()
                    .any(|p| (p.value - value).abs() <= 0.51)
                    .then_some(())
                    .ok_or_else(|| format!("{value} is in no point of {series:?}"))
            }
            Quantity::Configured {
                setting,
                container,
                value,
            } => match self.setting(*setting, container.as_deref()) {
                Some(v) if (v - value).abs() < 0.01 => Ok(()),
                Some(v) => Err(format!("{setting:?} is {v}, not {value}")),
                None => Err(format!("{setting:?} was not read")),
            },
            Quantity::Product {
                a,
                b,
                container,
                value,
            } => match (
                self.setting(*a, container.as_deref()),
                self.setting(*b, container.as_deref()),
            ) {
                (Some(x), Some(y)) if (x * y - value).abs() < 0.01 => Ok(()),
                (Some(x), Some(y)) => Err(format!("{a:?} × {b:?} is {}, not {value}", x * y)),
                _ => Err(format!("{a:?} or {b:?} was not read")),
            },
            Quantity::EcsDefault { setting, value } => {
                let default = ECS_DEFAULTS
                    .iter()
                    .find(|(s, _)| s == setting)
                    .map(|(_, v)| *v)
                    .ok_or("no documented default")?;
                if (default - value).abs() > 0.01 {
                    return Err(format!("ECS's default is {default}, not {value}"));
                }
                self.unset(*setting)
                    .then_some(())
                    .ok_or_else(|| format!("{setting:?} is set or was never read"))
            }
            Quantity::Elapsed { span, seconds } => self.elapsed(*span, *seconds),
            Quantity::Derived {
                from: SeriesRef::ScalingActivities,
                ..
            } => self
                .evidence
                .scaling_activities
                .as_ref()
                .filter(|a| !a.is_empty())
                .map(|_| ())
                .ok_or_else(|| "timed from scaling activities that were not read".to_owned()),
            Quantity::Derived { from, .. } => self
                .series(from)
                .filter(|s| !s.is_empty())
                .map(|_| ())
                .ok_or_else(|| format!("computed from {from:?}, which is not in the evidence")),
            Quantity::Proposal { of, .. } => self
                .amount(of)
                .map(|_| ())
                .ok_or_else(|| format!("proposed from {of:?}, which was not read")),
            Quantity::Policy { value, name } => policy_values()
                .iter()
                .any(|(n, v)| n == name && (v - value).abs() < 1e-9)
                .then_some(())
                .ok_or_else(|| format!("{name} = {value} is no rule threshold or AWS limit")),
        }
    }

    fn task_memory(&self) -> Option<f64> {
        self.evidence
            .task_definition
            .as_ref()
            .and_then(|t| t.memory)
            .or(self.event.detail.memory)
            .filter(|m| *m > 0)
            .map(f64::from)
    }

    fn container_memory(&self, c: &str) -> Option<f64> {
        self.evidence
            .container_def(c)
            .and_then(|d| d.memory)
            .or_else(|| {
                self.event
                    .detail
                    .containers
                    .iter()
                    .find(|x| x.name == c)
                    .and_then(|x| x.memory)
            })
            .filter(|m| *m > 0)
            .map(f64::from)
    }

    fn reservation(&self, c: &str) -> Option<f64> {
        self.evidence
            .container_def(c)
            .and_then(|d| d.memory_reservation)
            .or_else(|| {
                self.event
                    .detail
                    .containers
                    .iter()
                    .find(|x| x.name == c)
                    .and_then(|x| x.memory_reservation)
            })
            .filter(|m| *m > 0)
            .map(f64::from)
    }

    fn amount(&self, of: &Basis) -> Option<f64> {
        match of {
            Basis::TaskMemory => self.task_memory(),
            Basis::ContainerMemory(c) => self.container_memory(c),
            Basis::ContainerReservation(c) => self.reservation(c),
            Basis::TaskCpu => self
                .evidence
                .task_definition
                .as_ref()
                .and_then(|t| t.cpu)
                .or(self.event.detail.cpu)
                .filter(|c| *c > 0)
                .map(f64::from),
            Basis::EphemeralStorage => self
                .evidence
                .metrics
                .as_ref()?
                .ephemeral_storage_reserved_gb
                .as_ref()?
                .points()
                .iter()
                .map(|p| p.value)
                .reduce(f64::max),
        }
    }

    fn amount_matches(&self, of: &Basis, claimed: Option<f64>) -> Result<(), String> {
        match (claimed, self.amount(of)) {
            (Some(c), Some(e)) if (c - e).abs() < 0.01 => Ok(()),
            (Some(c), Some(e)) => Err(format!("{of:?} is {e}, not {c}")),
            (Some(_), None) => Err(format!("{of:?} is not set in the evidence")),
            (None, _) => Ok(()),
        }
    }

    fn series(&self, s: &SeriesRef) -> Option<&Series> {
        let m = self.evidence.metrics.as_ref()?;
        match s {
            SeriesRef::TaskMemoryPct => m.task_memory_pct.as_ref(),
            SeriesRef::TaskMemoryMib => m.task_memory_mib.as_ref(),
            SeriesRef::ServiceMemoryMax => m.service_memory_max_pct.as_ref(),
            SeriesRef::ContainerMemoryMib(c) => {
                self.evidence.container_usage(c).map(|u| &u.memory_mib)
            }
            SeriesRef::TaskCpuPct => m.task_cpu_pct.as_ref(),
            SeriesRef::ServiceCpuMax => m.service_cpu_max_pct.as_ref(),
            SeriesRef::ServiceCpuAvg => m.service_cpu_avg_pct.as_ref(),
            SeriesRef::HostCpuCredits => m.host_cpu_credit_balance.as_ref(),
            SeriesRef::AlbResponseTime => m.alb_target_response_time_s.as_ref(),
            SeriesRef::EphemeralStorageUtilized => m.ephemeral_storage_utilized_gb.as_ref(),
            SeriesRef::ClusterCpuReservation => m.cluster_cpu_reservation_pct.as_ref(),
            SeriesRef::ScalingActivities => None,
        }
    }

    /// The series' values as percentages of `of`, or why that series cannot be of that basis.
    fn as_share_of(
        &self,
        series: &SeriesRef,
        of: &Basis,
        amount: Option<f64>,
    ) -> Result<Vec<f64>, String> {
        let s = self.series(series).ok_or("series not in the evidence")?;
        let raw: Vec<f64> = s.points().iter().map(|p| p.value).collect();
        let single = self.event.detail.containers.len() <= 1;
        let scaled = |divisor: Option<f64>| -> Result<Vec<f64>, String> {
            let d = divisor.filter(|d| *d > 0.0).ok_or("no size to divide by")?;
            Ok(raw.iter().map(|v| v / d * 100.0).collect())
        };
        // A task-wide series is of the task's limit; it is one container's own only when the
        // task has no limit of its own and a single container.
        let task_wide_ok = match of {
            Basis::TaskMemory => true,
            Basis::ContainerMemory(_) | Basis::ContainerReservation(_) => {
                self.task_memory().is_none() && single
            }
            _ => false,
        };
        match series {
            SeriesRef::TaskMemoryPct if task_wide_ok => Ok(raw),
            SeriesRef::TaskMemoryMib if task_wide_ok => scaled(amount),
            SeriesRef::ServiceMemoryMax => match of {
                Basis::TaskMemory => Ok(raw),
                Basis::ContainerMemory(c) => match self.reservation(c) {
                    Some(r) => {
                        let h = amount.ok_or("no hard limit size")?;
                        Ok(raw.iter().map(|v| v * r / h).collect())
                    }
                    None => Ok(raw),
                },
                Basis::ContainerReservation(_) => Ok(raw),
                _ => Err("service memory is no share of a CPU basis".into()),
            },
            SeriesRef::ContainerMemoryMib(c) => {
                let own = match of {
                    Basis::ContainerMemory(x) | Basis::ContainerReservation(x) => x == c,
                    Basis::TaskMemory => self.container_memory(c).is_none(),
                    _ => false,
                };
                if own {
                    scaled(amount)
                } else {
                    Err(format!("container {c}'s record taken as a share of {of:?}"))
                }
            }
            SeriesRef::TaskCpuPct | SeriesRef::ServiceCpuMax | SeriesRef::ServiceCpuAvg
                if *of == Basis::TaskCpu =>
            {
                Ok(raw)
            }
            SeriesRef::EphemeralStorageUtilized if *of == Basis::EphemeralStorage => scaled(amount),
            _ => Err(format!("{series:?} is not a share of {of:?}")),
        }
    }

    fn health_checks(&self) -> impl Iterator<Item = &ecs_autopsy::evidence::HealthCheckFacts> {
        self.evidence
            .task_definition
            .iter()
            .flat_map(|t| t.containers.iter())
            .filter_map(|c| c.health_check.as_ref())
    }

    fn alb_checks(&self) -> impl Iterator<Item = &ecs_autopsy::evidence::TargetGroupHealthCheck> {
        self.evidence
            .target_groups
            .iter()
            .flatten()
            .filter_map(|t| t.health_check.as_ref())
    }

    fn setting(&self, s: Setting, container: Option<&str>) -> Option<f64> {
        let hc = || match container {
            Some(c) => self.evidence.container_def(c)?.health_check.as_ref(),
            None => self.health_checks().next(),
        };
        let v = match s {
            Setting::GracePeriod => {
                self.evidence
                    .service
                    .as_ref()?
                    .health_check_grace_period_seconds
            }
            Setting::AlbTimeout => self.alb_checks().find_map(|h| h.timeout_seconds),
            Setting::AlbInterval => self.alb_checks().find_map(|h| h.interval_seconds),
            Setting::AlbUnhealthyThreshold => self.alb_checks().find_map(|h| h.unhealthy_threshold),
            Setting::CheckInterval => hc()?.interval_seconds,
            Setting::CheckTimeout => hc()?.timeout_seconds,
            Setting::CheckRetries => hc()?.retries,
            Setting::CheckStartPeriod => hc()?.start_period_seconds,
            Setting::StopTimeout => self.evidence.container_def(container?)?.stop_timeout,
            Setting::ScalingTarget => {
                return self
                    .evidence
                    .scaling
                    .as_ref()?
                    .policies
                    .iter()
                    .find_map(|p| p.target_value);
            }
            Setting::CapacityTarget => {
                return self
                    .evidence
                    .capacity
                    .as_ref()?
                    .providers
                    .iter()
                    .find_map(|p| p.target_capacity_pct)
                    .map(|t| t as f64);
            }
        };
        v.map(f64::from)
    }

    /// Read and found unset (a default applies), as opposed to never read.
    fn unset(&self, s: Setting) -> bool {
        match s {
            Setting::GracePeriod => self
                .evidence
                .service
                .as_ref()
                .is_some_and(|x| x.health_check_grace_period_seconds.is_none()),
            Setting::CheckInterval => self.health_checks().any(|h| h.interval_seconds.is_none()),
            Setting::CheckTimeout => self.health_checks().any(|h| h.timeout_seconds.is_none()),
            Setting::CheckRetries => self.health_checks().any(|h| h.retries.is_none()),
            // Without a task definition the container's stopTimeout is ECS's default too.
            Setting::StopTimeout => self
                .evidence
                .task_definition
                .as_ref()
                .is_none_or(|t| t.containers.iter().any(|c| c.stop_timeout.is_none())),
            _ => false,
        }
    }

    fn started(&self) -> Option<DateTime<Utc>> {
        self.event.detail.started_at
    }

    fn stop(&self) -> Option<DateTime<Utc>> {
        let d = &self.event.detail;
        d.stopped_at
            .or(d.execution_stopped_at)
            .or(d.stopping_at)
            .or(self.event.time)
    }

    fn kill(&self) -> Option<DateTime<Utc>> {
        self.event.detail.stopping_at.or(self.stop())
    }

    fn elapsed(&self, span: Span, seconds: f64) -> Result<(), String> {
        let close = |a: DateTime<Utc>, b: DateTime<Utc>, slack: f64| {
            ((b - a).num_milliseconds() as f64 / 1000.0 - seconds).abs() <= slack
        };
        let ok = match span {
            Span::StartToKill => match (self.started(), self.kill()) {
                (Some(s), Some(k)) => close(s, k, 1.0),
                _ => false,
            },
            Span::StartToReady => self.started().is_some_and(|s| {
                self.evidence
                    .logs
                    .iter()
                    .flatten()
                    .flat_map(|l| l.lines.iter())
                    .filter_map(|l| l.at)
                    .any(|at| close(s, at, 1.0))
            }),
            Span::RecentStops => self.stop().is_some_and(|now| {
                self.evidence
                    .recent_stops
                    .iter()
                    .flatten()
                    .filter_map(|r| r.stopped_at)
                    .any(|at| close(at, now, 61.0))
            }),
        };
        ok.then_some(())
            .ok_or_else(|| format!("{span:?} of {seconds} s is not in the event or the evidence"))
    }

    // ---- sentences against the evidence ----

    /// The CPU peak before the kill as the rules read it: task, else service Maximum, else
    /// service Average, over the 15 minutes before the kill.
    fn cpu_peak(&self) -> Option<f64> {
        let m = self.evidence.metrics.as_ref()?;
        let kill = self.kill()?;
        let from = kill - Duration::minutes(15);
        [
            &m.task_cpu_pct,
            &m.service_cpu_max_pct,
            &m.service_cpu_avg_pct,
        ]
        .into_iter()
        .flatten()
        .find_map(|s| s.max_between(from, kill))
    }

    fn credits_exhausted(&self) -> bool {
        let line = policy("host credits exhausted");
        let (Some(m), Some(kill)) = (self.evidence.metrics.as_ref(), self.kill()) else {
            return false;
        };
        m.host_cpu_credit_balance
            .as_ref()
            .and_then(|s| s.min_between(kill - Duration::minutes(15), kill))
            .is_some_and(|min| min <= line)
    }

    /// A per-container record at its own limit near the stop.
    fn finer_series_at_limit(&self, d: &Diagnosis) -> bool {
        let Some(name) = d.container.as_deref() else {
            return false;
        };
        let (Some(u), Some(limit)) = (
            self.evidence.container_usage(name),
            self.container_memory(name).or(self.task_memory()),
        ) else {
            return false;
        };
        let near = policy("memory near limit");
        u.memory_mib
            .points()
            .iter()
            .any(|p| p.value / limit * 100.0 >= near)
    }

    fn contradictions(&self, kind: &str, text: &str, d: &Diagnosis) -> Vec<String> {
        let lower = text.to_lowercase();
        let mut out = Vec::new();
        let peak = self.cpu_peak();
        if has_word(&lower, "idle") {
            match peak {
                Some(p) if p < policy("cpu idle") && !self.credits_exhausted() => {}
                _ => out.push(format!(
                    "{kind} says idle, but CPU peaked at {peak:?} (idle < {}%)",
                    policy("cpu idle")
                )),
            }
        }
        if (has_word(&lower, "pinned") || lower.contains("cpu held"))
            && !lower.contains("not pinned")
            && peak.is_none_or(|p| p < policy("cpu pinned"))
        {
            out.push(format!("{kind} says pinned, but CPU peaked at {peak:?}"));
        }
        if has_word(&lower, "hung") && self.credits_exhausted() {
            out.push(format!(
                "{kind} says the app hung, but the host was out of CPU credits"
            ));
        }
        if (lower.contains("does not show") || lower.contains("no spike"))
            && self.finer_series_at_limit(d)
        {
            out.push(format!(
                "{kind} says a spike does not show, but the container's own record reached its limit"
            ));
        }
        out
    }
}

fn policy(name: &str) -> f64 {
    policy_values()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("policy {name} exists"))
}

fn has_word(lower: &str, word: &str) -> bool {
    lower
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w == word)
}

/// Numbers with a unit that no claim renders and no quote of the evidence holds. Numbers
/// after a comparison sign are thresholds and must be rule constants; advice may quote the
/// documented AWS limits in `limits` as they are.
fn unsupported_numbers(
    text: &str,
    claims: &[Claim],
    limits: &[(&'static str, f64)],
) -> Vec<String> {
    let mut rest = strip_quotes(text);
    let mut sorted: Vec<&Claim> = claims.iter().collect();
    sorted.sort_by_key(|c| std::cmp::Reverse(c.text.len()));
    for c in sorted {
        if !c.text.is_empty() {
            rest = replace_whole(&rest, &c.text);
        }
    }
    let policies: Vec<f64> = policy_values().into_iter().map(|(_, v)| v).collect();
    let chars: Vec<char> = rest.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '.');
        if !(chars[i].is_ascii_digit() && boundary) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
            i += 1;
        }
        let number: String = chars[start..i].iter().collect();
        let after: String = chars[i..].iter().take(8).collect();
        let after = after.strip_prefix(' ').unwrap_or(&after);
        let unit = UNITS.iter().find(|u| {
            after.starts_with(*u)
                && !after[u.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric())
        });
        let Some(unit) = unit else { continue };
        let before: String = chars[..start].iter().rev().take(2).collect();
        let threshold = ['≥', '≤', '<', '>'].iter().any(|s| before.contains(*s));
        let value: f64 = number.trim_end_matches('.').parse().unwrap_or(f64::NAN);
        if threshold && policies.iter().any(|p| (p - value).abs() < 1e-9) {
            continue;
        }
        if limits.iter().any(|(_, l)| (l - value).abs() < 1e-9) {
            continue;
        }
        out.push(format!("{number}{unit}"));
    }
    out
}

/// `text` with every occurrence of `figure` that stands on its own (not inside a longer number
/// or word: "3" must not eat the "3" of "30 min") replaced by a space.
fn replace_whole(text: &str, figure: &str) -> String {
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '.');
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(figure) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + figure.len()..].chars().next();
        let starts_glued =
            figure.chars().next().is_some_and(|c| c.is_ascii_digit()) && glued(before);
        let ends_glued = figure
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_digit())
            && glued(after);
        out.push_str(&rest[..at]);
        if starts_glued || ends_glued {
            out.push_str(figure);
        } else {
            out.push(' ');
        }
        rest = &rest[at + figure.len()..];
    }
    out.push_str(rest);
    out
}

/// The double-quoted spans of a text.
fn quoted(text: &str) -> Vec<String> {
    text.split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect()
}

/// Text outside double quotes and backticks: quotes reproduce evidence verbatim.
fn strip_quotes(text: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for ch in text.chars() {
        match (quote, ch) {
            (None, '"' | '`') => quote = Some(ch),
            (Some(q), c) if c == q => quote = None,
            (None, c) => out.push(c),
            _ => {}
        }
    }
    out
}

fn check(s: &Sample, d: &Diagnosis) -> Vec<String> {
    Checker {
        event: &s.event,
        evidence: &s.evidence,
    }
    .check(d)
}

#[test]
fn every_figure_in_every_sample_is_backed_by_the_evidence_with_its_basis() {
    let all = samples();
    assert!(all.len() >= 30, "samples found: {}", all.len());
    let mut problems = Vec::new();
    let mut claims = 0;
    for s in &all {
        let d = diagnose(&s.event, &s.evidence);
        claims += d.claims.len();
        problems.extend(check(s, &d).into_iter().map(|p| format!("{}: {p}", s.name)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(claims > 100, "claims checked: {claims}");
}

#[test]
fn a_task_share_labelled_as_a_sidecars_own_limit_is_rejected() {
    // Arrange: the sidecar's true verdict, then the old mistake: the task's 40% called a share
    // of the log router's own 64 MiB limit.
    let s = sample("oom_killed_sidecar_own_limit_container_record");
    let mut d = diagnose(&s.event, &s.evidence);
    assert!(check(&s, &d).is_empty());
    let wrong = Claim::share(
        40.0,
        Basis::ContainerMemory("log-router".into()),
        Some(64.0),
        SeriesRef::TaskMemoryPct,
    );
    d.summary = format!("Container log-router reached {}.", wrong.text);
    d.claims.push(wrong);

    // Act
    let problems = check(&s, &d);

    // Assert
    assert!(
        problems
            .iter()
            .any(|p| p.contains("TaskMemoryPct is not a share")),
        "{problems:?}"
    );
}

#[test]
fn no_spike_visible_is_rejected_when_the_container_record_shows_the_limit() {
    let s = sample("oom_killed_sidecar_own_limit_container_record");
    let mut d = diagnose(&s.event, &s.evidence);
    d.findings[0].observed =
        "metrics peaked lower: a spike shorter than the 1-minute period does not show".into();

    let problems = check(&s, &d);

    assert!(
        problems.iter().any(|p| p.contains("spike does not show")),
        "{problems:?}"
    );
}

#[test]
fn idle_is_rejected_for_cpu_at_68_percent() {
    let s = sample("elb_health_check_failed_timeouts_cpu_busy_not_pinned");
    let mut d = diagnose(&s.event, &s.evidence);
    assert!(check(&s, &d).is_empty());
    d.summary = "ALB health checks timed out; CPU was idle, so the app hung.".into();

    let problems = check(&s, &d);

    assert!(
        problems.iter().any(|p| p.contains("says idle")),
        "{problems:?}"
    );
}

#[test]
fn a_grace_period_that_was_never_read_is_rejected() {
    // The service could not be described: "0 s" is a value nobody read.
    let s = sample("elb_health_check_failed_early_kill_service_not_described");
    let mut d = diagnose(&s.event, &s.evidence);
    assert!(check(&s, &d).is_empty());
    let invented = Claim::seconds(Setting::GracePeriod, None, 0);
    d.recommendations
        .push(format!("raise the grace period ({})", invented.text));
    d.claims.push(invented);

    let problems = check(&s, &d);

    assert!(
        problems
            .iter()
            .any(|p| p.contains("GracePeriod was not read")),
        "{problems:?}"
    );
}

#[test]
fn a_number_printed_beside_its_claim_instead_of_from_it_is_rejected() {
    let s = sample("oom_killed_soft_limit_only_host_memory");
    let mut d = diagnose(&s.event, &s.evidence);
    d.recommendations
        .push("raising 256 → 512 MiB only delays the next kill".into());

    let problems = check(&s, &d);

    assert!(
        problems
            .iter()
            .any(|p| p.contains("prints 512MiB without a claim")),
        "{problems:?}"
    );
}

#[test]
fn a_soft_reservation_called_a_hard_limit_is_rejected() {
    let s = sample("oom_killed_soft_limit_only_host_memory");
    let mut d = diagnose(&s.event, &s.evidence);
    d.claims
        .push(Claim::size(Basis::ContainerMemory("api".into()), 256.0));

    let problems = check(&s, &d);

    assert!(
        problems
            .iter()
            .any(|p| p.contains("is not set in the evidence")),
        "{problems:?}"
    );
}

#[test]
fn the_app_hung_is_rejected_on_a_host_out_of_cpu_credits() {
    let s = sample("cpu_starved_burstable_credits_task_cpu_looks_low");
    let mut d = diagnose(&s.event, &s.evidence);
    assert!(check(&s, &d).is_empty());
    d.summary = "CPU stayed low, so the app hung.".into();

    let problems = check(&s, &d);

    assert!(
        problems.iter().any(|p| p.contains("app hung")),
        "{problems:?}"
    );
}

#[test]
fn without_its_own_record_a_sidecar_oom_never_borrows_the_tasks_share() {
    // Arrange: the sidecar sample as it looks when Container Insights gave only task figures.
    let mut s = sample("oom_killed_sidecar_own_limit_container_record");
    if let Some(m) = s.evidence.metrics.as_mut() {
        m.containers = None;
    }

    // Act
    let d = diagnose(&s.event, &s.evidence);

    // Assert: the verdict names the sidecar's own limit and reads the task's 41% as the task's.
    assert_eq!(d.container.as_deref(), Some("log-router"));
    assert!(
        d.summary
            .contains("exceeded container log-router's 64 MiB hard limit"),
        "{}",
        d.summary
    );
    assert!(
        d.findings
            .iter()
            .any(|f| f.signal == "memory of the whole task"
                && f.observed.contains("of the task's 512 MiB memory limit")),
        "{:?}",
        d.findings
    );
    assert!(check(&s, &d).is_empty(), "{:?}", check(&s, &d));
}

#[test]
fn a_quote_the_evidence_does_not_hold_is_rejected() {
    let s = sample("app_crashed_disk_full_enospc_ephemeral_storage");
    let mut d = diagnose(&s.event, &s.evidence);
    assert!(check(&s, &d).is_empty());
    d.summary = "Container export crashed: \"Error: EACCES: permission denied, open\".".into();

    let problems = check(&s, &d);

    assert!(
        problems
            .iter()
            .any(|p| p.contains("quotes words the evidence does not hold")),
        "{problems:?}"
    );
}
