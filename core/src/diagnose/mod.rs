//! The diagnosis engine: a pure, synchronous function of the event and the gathered evidence.
//!
//! Causes and rules are declared once, in [`registry`]: the rules run in the order an on-call
//! engineer reads a stop — what ECS says first (start failures, Spot, lost hosts, maintenance,
//! health-check kills, OOM, the scheduler, a user), then what the containers did (exit codes),
//! and only then "unknown". Each family of causes lives in its own file; shared measurements
//! (CPU pressure, memory trend) are computed once in [`Context`].

mod catalogue;
pub mod claims;
mod context;
mod cpu;
mod disk;
mod exit;
mod health;
mod infrastructure;
pub mod lasterror;
mod memory;
mod registry;
mod repeats;
mod scaling;
mod scheduler;
mod start;
mod timeline;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::TaskStateChange;
use crate::evidence::{Evidence, MissingEvidence, Source};

pub use claims::{Basis, Claim, Claims, Quantity, SeriesRef, Setting, Span};
pub use context::Context;
pub use cpu::{CpuPressure, PressureLevel};
pub use memory::{MemoryTrend, TrendKind};
pub use registry::{CAUSES, CauseInfo};
pub use repeats::classify_recent;
pub use scaling::{LogVolume, Posture};

/// Declares `Cause` and `Cause::ALL` from one list, so the registry's `CAUSES` (sized by
/// `Cause::ALL.len()`) cannot compile without an entry for every variant.
macro_rules! declare_causes {
    ($($variant:ident),+ $(,)?) => {
        /// Why a task stopped: the contract's causes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Cause {
            $($variant,)+
        }

        impl Cause {
            /// Every cause, in declaration order.
            pub const ALL: &'static [Cause] = &[$(Cause::$variant),+];
        }
    };
}

declare_causes!(
    OomKilled,
    CpuStarved,
    ElbHealthCheckFailed,
    ContainerHealthCheckFailed,
    AppCrashed,
    AppExited,
    FailedToStart,
    SpotInterrupted,
    PlatformMaintenance,
    HostLost,
    Deployment,
    UserStopped,
    Unknown,
);

impl Cause {
    /// Everything declared about this cause.
    pub fn info(self) -> &'static CauseInfo {
        // `CAUSES` has exactly `Cause::ALL.len()` entries (the compiler checks the length), in
        // declaration order (unit-tested), so the discriminant is always in bounds.
        &registry::CAUSES[self as usize]
    }

    /// The contract's name, as in `diagnosis.cause`.
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// A short human label, for subjects and SMS.
    pub fn label(self) -> &'static str {
        self.info().label
    }

    pub fn parse(s: &str) -> Option<Cause> {
        Cause::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Four-letter tag for SMS and subjects.
    pub fn tag(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARN",
            Severity::Critical => "CRIT",
        }
    }

    fn raised(self) -> Severity {
        match self {
            Severity::Info => Severity::Warning,
            Severity::Warning | Severity::Critical => Severity::Critical,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a finding bears on the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bearing {
    /// Points to the verdict.
    Supports,
    /// Points away from a reading the verdict rejects (e.g. memory far from the limit: not OOM).
    RulesOut,
    /// Background the reader needs.
    Context,
}

/// One observation, with the value seen and the threshold it was judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub signal: String,
    pub observed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    pub bearing: Bearing,
    /// The typed figures `observed` was rendered from.
    #[serde(skip)]
    pub claims: Vec<Claim>,
}

impl Finding {
    pub fn supports(signal: impl Into<String>, observed: impl Into<String>) -> Self {
        Self::new(signal, observed, Bearing::Supports)
    }

    pub fn rules_out(signal: impl Into<String>, observed: impl Into<String>) -> Self {
        Self::new(signal, observed, Bearing::RulesOut)
    }

    pub fn context(signal: impl Into<String>, observed: impl Into<String>) -> Self {
        Self::new(signal, observed, Bearing::Context)
    }

    fn new(signal: impl Into<String>, observed: impl Into<String>, bearing: Bearing) -> Self {
        Self {
            signal: signal.into(),
            observed: observed.into(),
            threshold: None,
            bearing,
            claims: Vec::new(),
        }
    }

    /// Attaches the claims `observed` was rendered from.
    pub fn with_claims(mut self, claims: Claims) -> Self {
        self.claims.extend(claims.0);
        self
    }

    pub fn threshold(mut self, threshold: impl Into<String>) -> Self {
        self.threshold = Some(threshold.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub source: TimelineSource,
    pub text: String,
}

/// Where a timeline entry comes from; archived as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineSource {
    /// The event's lifecycle timestamps.
    Task,
    /// A service event.
    Service,
    /// A metric crossing its line.
    Metrics,
    /// The load balancer's target counts.
    Alb,
    /// An Application Auto Scaling activity.
    Scaling,
}

impl TimelineSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::Service => "service",
            Self::Metrics => "metrics",
            Self::Alb => "alb",
            Self::Scaling => "scaling",
        }
    }
}

impl std::fmt::Display for TimelineSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so the email's column width applies.
        f.pad(self.as_str())
    }
}

/// The verdict and everything needed to explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub cause: Cause,
    pub severity: Severity,
    /// 0..1: how strongly the evidence agrees, lowered for evidence that was missing.
    pub confidence: f64,
    pub summary: String,
    /// The id of the rule that decided (`diagnosis.rule`); empty in records archived before it.
    #[serde(default)]
    pub rule: String,
    /// A few words with the deciding numbers, for SMS and subjects ("mem 100% of 512MiB").
    pub key_fact: String,
    /// Not worth waking anyone: deployments, user stops, maintenance, finished standalone jobs.
    pub benign: bool,
    /// The container whose exit decided the verdict, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// Earlier stops of the same service with a related cause inside the repeat window.
    pub repeats: u32,
    #[serde(rename = "evidence")]
    pub findings: Vec<Finding>,
    pub recommendations: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
    /// Evidence sources that could not be read, with the reason.
    pub missing: Vec<String>,
    /// Every figure in the summary, key fact, findings and recommendations, with its basis.
    #[serde(skip)]
    pub claims: Vec<Claim>,
    /// Scaling posture and log volume behind the capacity findings (CPU-pressure verdicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posture: Option<Posture>,
}

/// What a rule concludes before the shared steps (repeats, confidence, timeline) run.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub cause: Cause,
    pub confidence: f64,
    pub summary: String,
    pub key_fact: String,
    pub container: Option<String>,
    pub exit_code: Option<i64>,
    pub findings: Vec<Finding>,
    pub recommendations: Vec<String>,
    /// The id of the rule that decided; set by the registry.
    pub rule: &'static str,
    /// Sources whose absence weakens this verdict.
    pub relies_on: Vec<Source>,
    /// The figures in the summary, key fact and recommendations.
    pub claims: Claims,
}

impl Verdict {
    pub fn new(cause: Cause, confidence: f64, summary: impl Into<String>) -> Self {
        Self {
            cause,
            confidence,
            summary: summary.into(),
            key_fact: String::new(),
            container: None,
            exit_code: None,
            findings: Vec::new(),
            recommendations: Vec::new(),
            rule: registry::FALLBACK_RULE,
            relies_on: Vec::new(),
            claims: Claims::default(),
        }
    }

    pub fn claims(mut self, claims: Claims) -> Self {
        self.claims.extend(claims);
        self
    }

    pub fn key_fact(mut self, fact: impl Into<String>) -> Self {
        self.key_fact = fact.into();
        self
    }

    pub fn finding(mut self, finding: Finding) -> Self {
        self.findings.push(finding);
        self
    }

    pub fn findings(mut self, findings: impl IntoIterator<Item = Finding>) -> Self {
        self.findings.extend(findings);
        self
    }

    pub fn recommend(mut self, text: impl Into<String>) -> Self {
        self.recommendations.push(text.into());
        self
    }

    pub fn relies_on(mut self, sources: &[Source]) -> Self {
        self.relies_on.extend_from_slice(sources);
        self
    }

    pub fn container(mut self, name: &str, exit_code: Option<i64>) -> Self {
        self.container = Some(name.to_owned());
        self.exit_code = exit_code;
        self
    }
}

/// Default severity of a cause; `app_exited` depends on whether a service expected it to run.
pub fn default_severity(cause: Cause, service_task: bool) -> Severity {
    cause.info().severity(service_task)
}

/// Benign stops are archived but not notified unless asked for.
pub fn is_benign(cause: Cause, service_task: bool) -> bool {
    cause.info().benign(service_task)
}

pub(crate) use registry::classify;

/// Diagnoses one stopped task from its event and whatever evidence could be gathered.
pub fn diagnose(event: &TaskStateChange, evidence: &Evidence) -> Diagnosis {
    let ctx = Context::new(event, evidence);
    let mut verdict = classify(&ctx);
    let service_task = event.is_service_task();

    catalogue::quote_unrecognised(&ctx, &mut verdict);
    exit::add_container_context(&ctx, &mut verdict);
    exit::add_slow_shutdown_finding(&ctx, &mut verdict);
    cpu::add_allocation_context(&ctx, &mut verdict);
    let posture = scaling::apply(&ctx, &mut verdict);
    let repeats = repeats::apply(&ctx, &mut verdict);

    let mut severity = default_severity(verdict.cause, service_task);
    let benign = is_benign(verdict.cause, service_task);
    if repeats >= repeats::CRASH_LOOP_MIN && !benign {
        severity = severity.raised();
    }
    if verdict.cause == Cause::Deployment && scheduler::rollback_seen(&ctx) {
        severity = severity.raised();
    }

    let missing = missing_labels(evidence);
    let confidence = adjusted_confidence(&verdict, evidence);
    let timeline = timeline::build(&ctx);
    if verdict.key_fact.is_empty() {
        verdict.key_fact = verdict.cause.label().to_owned();
    }

    // AWS strings are quoted into findings, summaries and the timeline; bound every one so a
    // 10,000-character reason cannot swell the message, the record or the report.
    clip(&mut verdict.summary, 1000);
    clip(&mut verdict.key_fact, 120);
    for f in &mut verdict.findings {
        clip(&mut f.observed, 600);
        if let Some(t) = f.threshold.as_mut() {
            clip(t, 200);
        }
    }
    for r in &mut verdict.recommendations {
        clip(r, 600);
    }
    let mut timeline = timeline;
    for e in &mut timeline {
        clip(&mut e.text, 500);
    }
    let mut missing = missing;
    for m in &mut missing {
        clip(m, 300);
    }

    let mut claims = verdict.claims.0;
    claims.extend(
        verdict
            .findings
            .iter()
            .flat_map(|f| f.claims.iter().cloned()),
    );

    Diagnosis {
        cause: verdict.cause,
        severity,
        confidence,
        summary: verdict.summary,
        rule: verdict.rule.to_owned(),
        key_fact: verdict.key_fact,
        benign,
        container: verdict.container,
        exit_code: verdict.exit_code,
        repeats,
        findings: verdict.findings,
        recommendations: dedup(verdict.recommendations),
        timeline,
        missing,
        claims,
        posture,
    }
}

fn missing_labels(evidence: &Evidence) -> Vec<String> {
    evidence
        .missing
        .iter()
        .map(MissingEvidence::label)
        .collect()
}

/// Each source the verdict relies on that could not be read lowers confidence by a tenth.
fn adjusted_confidence(verdict: &Verdict, evidence: &Evidence) -> f64 {
    let mut seen = Vec::new();
    let mut confidence = verdict.confidence;
    for source in &verdict.relies_on {
        if seen.contains(source) {
            continue;
        }
        seen.push(*source);
        if evidence.is_missing(*source) {
            confidence *= 0.9;
        }
    }
    let rounded = (confidence.clamp(0.05, 0.99) * 100.0).round() / 100.0;
    if rounded.is_finite() { rounded } else { 0.05 }
}

/// Shortens `text` to at most `max` characters, marking the cut.
fn clip(text: &mut String, max: usize) {
    if text.chars().count() > max {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        *text = format!("{cut}…");
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
