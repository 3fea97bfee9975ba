//! Health-check kills: the ALB's target health checks and the task definition's container
//! health check. Each splits in two: the app could not answer because CPU was pinned at its
//! allocation (`cpu_starved`), or it answered wrong / hung / listened elsewhere with resources idle.

use crate::evidence::{Source, TargetGroupFacts, TargetGroupHealthCheck};
use crate::vocab::{HealthStatus, TargetHealthReason};

use super::catalogue::{self, EventSays, EventSignal};
use super::claims::{Claim, Claims, START_PERIOD_MAX_S, SeriesRef, Setting, Span, cpu_alloc_text};
use super::context::Context;
use super::cpu::{CpuEvidence, PressureLevel};
use super::memory;
use super::{Cause, Finding, Verdict};

/// ECS's container health-check defaults when a field is unset (interval, timeout, retries).
const CHECK_DEFAULT_INTERVAL_S: u32 = 30;
const CHECK_DEFAULT_TIMEOUT_S: u32 = 5;
const CHECK_DEFAULT_RETRIES: u32 = 3;

/// A log tail whose first line is this close to `startedAt` covers the app's start.
const START_COVER_S: i64 = 60;

/// Words with which apps announce they are ready to serve (lowercase).
const READY_WORDS: [&str; 10] = [
    "listening on",
    "listening at",
    "start worker process",
    "started server",
    "server started",
    "application started",
    "ready to accept",
    "started in",
    "now listening",
    "startup complete",
];

/// Whether a log line says the app finished starting ("Tomcat started on port 8080", "listening on :8080").
pub fn is_ready_line(message: &str) -> bool {
    let lower = message.to_lowercase();
    READY_WORDS.iter().any(|w| lower.contains(w))
        || (lower.contains("started") && lower.contains("port"))
        // Spring Boot: "Started JudgeApiApplication in 12.3 seconds (process running for 13.1)".
        || (lower.starts_with("started ") && lower.contains(" seconds"))
        || (lower.contains(": started ") && lower.contains(" seconds"))
}

/// What the health checks themselves said.
#[derive(Debug, Default)]
struct CheckSignals {
    timeouts: usize,
    codes: Vec<String>,
    connection_failures: usize,
    /// The first service event quoting a health-check failure.
    example: Option<String>,
}

fn check_signals(ctx: &Context<'_>) -> CheckSignals {
    let mut s = CheckSignals::default();
    for e in ctx.service_events_near(30) {
        let says = EventSays::of(&e.message);
        if !says.has(EventSignal::HealthCheck) {
            continue;
        }
        let mut relevant = false;
        if says.has(EventSignal::TimedOut) {
            s.timeouts += 1;
            relevant = true;
        }
        if let Some(codes) = codes_in(&e.message) {
            for c in codes {
                if !s.codes.contains(&c) {
                    s.codes.push(c);
                }
            }
            relevant = true;
        }
        if says.has(EventSignal::ConnectionFailed) {
            s.connection_failures += 1;
            relevant = true;
        }
        if relevant && s.example.is_none() {
            s.example = Some(e.message.clone());
        }
    }
    for tg in ctx.evidence.target_groups.iter().flatten() {
        for t in &tg.targets {
            match t.reason.as_ref() {
                Some(TargetHealthReason::Timeout) => s.timeouts += 1,
                Some(TargetHealthReason::ResponseCodeMismatch) => {
                    if let Some(codes) = t.description.as_deref().and_then(codes_in) {
                        for c in codes {
                            if !s.codes.contains(&c) {
                                s.codes.push(c);
                            }
                        }
                    }
                }
                Some(TargetHealthReason::FailedHealthChecks) => {
                    if t.description
                        .as_deref()
                        .is_some_and(catalogue::target_check_timed_out)
                    {
                        s.timeouts += 1;
                    } else {
                        s.connection_failures += 1;
                    }
                }
                _ => {}
            }
        }
    }
    s
}

/// "… Health checks failed with these codes: [502]" → ["502"].
fn codes_in(message: &str) -> Option<Vec<String>> {
    let lower = message.to_ascii_lowercase();
    let at = lower.find("codes:")?;
    let rest = &message[at..];
    let open = rest.find('[')?;
    let close = rest[open..].find(']')? + open;
    let codes: Vec<String> = rest[open + 1..close]
        .split(',')
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty() && c.len() <= 3 && c.chars().all(|ch| ch.is_ascii_digit()))
        .collect();
    (!codes.is_empty()).then_some(codes)
}

/// The target group named in the stopped reason, else the service's first.
fn target_group<'a>(ctx: &Context<'a>) -> Option<&'a TargetGroupFacts> {
    let groups = ctx.evidence.target_groups.as_ref()?;
    let reason = ctx.stopped_reason();
    groups
        .iter()
        .find(|tg| !tg.arn.is_empty() && reason.contains(tg.arn.as_str()))
        .or_else(|| groups.first())
}

fn describe_check(hc: &TargetGroupHealthCheck, c: &mut Claims) -> String {
    let mut parts = Vec::new();
    parts.push(format!(
        "{} {} port {}",
        hc.protocol.as_deref().unwrap_or("HTTP"),
        hc.path.as_deref().unwrap_or("/"),
        hc.port.as_deref().unwrap_or("traffic-port")
    ));
    if let Some(t) = hc.timeout_seconds {
        parts.push(format!(
            "timeout {}",
            c.say(Claim::seconds(Setting::AlbTimeout, None, t))
        ));
    }
    if let Some(i) = hc.interval_seconds {
        parts.push(format!(
            "every {}",
            c.say(Claim::seconds(Setting::AlbInterval, None, i))
        ));
    }
    if let Some(u) = hc.unhealthy_threshold {
        parts.push(format!(
            "unhealthy after {}",
            c.say(Claim::count(Setting::AlbUnhealthyThreshold, None, u))
        ));
    }
    if let Some(m) = hc.matcher.as_deref() {
        parts.push(format!("success codes {m}"));
    }
    parts.join(", ")
}

pub fn elb_health_check(ctx: &Context<'_>) -> Option<Verdict> {
    if !catalogue::reason_says(ctx, Cause::ElbHealthCheckFailed) {
        return None;
    }
    let signals = check_signals(ctx);
    let tg = target_group(ctx);
    let hc = tg.and_then(|t| t.health_check.as_ref());
    let mut findings = vec![Finding::supports(
        "stopped reason",
        format!("\"{}\"", ctx.stopped_reason()),
    )];
    if let Some(hc) = hc {
        let mut c = Claims::default();
        let text = describe_check(hc, &mut c);
        findings.push(Finding::context("ALB health check", text).with_claims(c));
    }
    if signals.timeouts > 0 {
        findings.push(Finding::supports(
            "health-check failures",
            format!(
                "{} timed out{}",
                plural(signals.timeouts, "check"),
                signals
                    .example
                    .as_deref()
                    .map(|e| format!(": \"{e}\""))
                    .unwrap_or_default()
            ),
        ));
    }
    let latency = latency_climb(ctx, hc.and_then(|h| h.timeout_seconds));
    if let Some(f) = latency.as_ref() {
        findings.push(f.clone());
    }

    if ctx.cpu.level == PressureLevel::High {
        return Some(cpu_starved(
            ctx,
            "ALB health checks",
            findings,
            &signals,
            hc,
            latency.is_some(),
        ));
    }

    findings.extend(ctx.cpu.findings.iter().cloned());
    let exit = ctx.deciding_container();
    if signals.codes.is_empty()
        && let Some(timing) = start_timing(ctx, None)
        && timing.still_starting()
    {
        let mut c = Claims::default();
        let killed = c.say(timing.killed_after.clone());
        let ready = timing.ready_text(&mut c).replacen("; ", ", and ", 1);
        let mut v = Verdict::new(
            Cause::ElbHealthCheckFailed,
            0.8,
            format!(
                "ECS stopped the task for failing ALB health checks while the app was still starting: it was killed {killed} after it started{ready}."
            ),
        )
        .key_fact("killed during start-up")
        .claims(c);
        if let Some((rec, gc)) = grace_advice(ctx, hc) {
            v = v.recommend(rec).claims(gc);
        }
        v = v.recommend(
            "Make start-up faster where it can be (lazy initialisation, fewer eager connections), and keep the health-check path answering as soon as the server listens",
        );
        if let Some(c) = exit {
            v = v.container(&c.name, c.exit_code);
        }
        return Some(v.findings(findings).relies_on(&[
            Source::Service,
            Source::Logs,
            Source::TargetHealth,
        ]));
    }
    let mut v;
    if !signals.codes.is_empty() {
        let codes = signals.codes.join(", ");
        findings.push(Finding::supports(
            "health-check responses",
            format!("the app answered with [{codes}]"),
        ));
        let path = hc.and_then(|h| h.path.as_deref()).unwrap_or("/");
        let matcher = hc.and_then(|h| h.matcher.as_deref()).unwrap_or("200");
        let (summary, rec) = if signals.codes.iter().any(|c| c == "404") {
            (
                format!(
                    "The ALB health check got [{codes}] from {path}: the path is wrong or not served, so ECS replaced a task that may have been fine."
                ),
                format!(
                    "Serve the health check at {path} or change the target group's HealthCheckPath to one that answers {matcher}"
                ),
            )
        } else if signals.codes.iter().any(|c| c.starts_with('5')) {
            (
                format!(
                    "The ALB health check got [{codes}] from {path}: the app answered with errors (or a proxy in front of it could not reach it) while CPU and memory were not under pressure."
                ),
                format!(
                    "Check why {path} returns [{codes}] — the log tail below, a dependency the health check calls, or a sidecar proxy; keep the health check shallow (no database calls)"
                ),
            )
        } else {
            (
                format!(
                    "The ALB health check got [{codes}] from {path}, outside the success codes {matcher}."
                ),
                format!(
                    "Make {path} answer {matcher}, or widen the target group's matcher to include [{codes}] if those answers are healthy"
                ),
            )
        };
        v = Verdict::new(Cause::ElbHealthCheckFailed, 0.85, summary)
            .key_fact(format!("ALB check got [{codes}]"))
            .recommend(rec);
    } else if signals.connection_failures > 0 {
        let port = hc.and_then(|h| h.port.as_deref()).unwrap_or("traffic-port");
        v = Verdict::new(
            Cause::ElbHealthCheckFailed,
            0.75,
            format!("The ALB could not connect to the task for health checks (port {port}): the app was down or listening on another port or interface."),
        )
        .key_fact("ALB check: connection failed")
        .recommend(format!(
            "Check that the container listens on 0.0.0.0 at the mapped port and that the target group's health-check port ({port}) and the security group allow it"
        ));
    } else if signals.timeouts > 0 || latency.is_some() {
        let conf = if ctx.cpu.level == PressureLevel::Low {
            0.75
        } else {
            0.55
        };
        let mut c = Claims::default();
        let tail = match super::cpu::pressure_words(ctx, &mut c) {
            Some(words) => format!(
                "{words}, so the app hung or blocked (deadlock, blocked event loop, exhausted connection pool) rather than starved"
            ),
            None => {
                "CPU metrics were not available to tell a hung app from a starved one".to_owned()
            }
        };
        v = Verdict::new(
            Cause::ElbHealthCheckFailed,
            conf,
            format!("ALB health checks timed out and ECS replaced the task; {tail}."),
        )
        .claims(c)
        .key_fact("ALB checks timed out")
        .recommend(
            "Take a thread dump or profile of a task before it is killed; make the health-check handler independent of slow dependencies",
        );
        if ctx.cpu.level == PressureLevel::Unknown {
            v = v.recommend(
                "Enable Container Insights so CPU can be judged per task against its allocation",
            );
        }
    } else {
        v = Verdict::new(
            Cause::ElbHealthCheckFailed,
            0.6,
            "ECS stopped the task for failing ALB health checks; neither the checks' answers nor resource pressure were recorded.",
        )
        // Not the cause label again: the SMS puts the key fact right after it.
        .key_fact("why the checks failed was not recorded");
        if let Some(hc) = hc {
            let mut c = Claims::default();
            let text = describe_check(hc, &mut c);
            v = v
                .recommend(format!(
                    "Verify the health check ({text}) against the app by hand from inside the VPC"
                ))
                .claims(c);
        }
        let mut c = Claims::default();
        let pinned = c.say(Claim::policy(
            format!("{:.0}%", super::cpu::PINNED_PCT),
            super::cpu::PINNED_PCT,
            "cpu pinned",
        ));
        v = v
            .recommend(format!(
                "Tell CPU starvation from a broken check: read the failure reason in the service events or DescribeTargetHealth (\"Request timed out\" or response codes) and the task's CPU as a share of its allocation before the stop; timeouts while CPU sits at {pinned} of its allocation or more mean raise the task's cpu, response codes with CPU and memory far from their limits mean fix the check or the app"
            ))
            .claims(c);
    }
    if let Some((rec, c)) = grace_advice(ctx, hc) {
        v = v.recommend(rec).claims(c);
    }
    if let Some(c) = exit {
        v = v.container(&c.name, c.exit_code);
    }
    Some(
        v.findings(findings)
            .relies_on(&[Source::Service, Source::Metrics, Source::TargetHealth]),
    )
}

pub fn container_health_check(ctx: &Context<'_>) -> Option<Verdict> {
    if !catalogue::reason_says(ctx, Cause::ContainerHealthCheckFailed) {
        return None;
    }
    let signals = CheckSignals::default();
    let unhealthy = ctx
        .evidence
        .task
        .as_ref()
        .and_then(|t| {
            t.containers
                .iter()
                .find(|c| c.health_status == Some(HealthStatus::Unhealthy))
        })
        .map(|c| c.name.clone());
    let container = unhealthy.or_else(|| {
        ctx.evidence.task_definition.as_ref().and_then(|td| {
            td.containers
                .iter()
                .find(|c| c.health_check.is_some())
                .map(|c| c.name.clone())
        })
    });
    let hc = container
        .as_deref()
        .and_then(|c| ctx.container_def(c))
        .and_then(|c| c.health_check.as_ref());
    let mut findings = vec![Finding::supports(
        "stopped reason",
        format!("\"{}\"", ctx.stopped_reason()),
    )];
    if let Some(hc) = hc {
        let mut c = Claims::default();
        let name = container.as_deref();
        let secs = |c: &mut Claims, v: Option<u32>, setting: Setting, default: u32| match v {
            Some(v) => c.say(Claim::seconds(setting, name, v)),
            None => c.say(Claim::ecs_default_seconds(setting, default)),
        };
        let timeout = secs(
            &mut c,
            hc.timeout_seconds,
            Setting::CheckTimeout,
            CHECK_DEFAULT_TIMEOUT_S,
        );
        let interval = secs(
            &mut c,
            hc.interval_seconds,
            Setting::CheckInterval,
            CHECK_DEFAULT_INTERVAL_S,
        );
        let retries = match hc.retries {
            Some(r) => c.say(Claim::count(Setting::CheckRetries, name, r)),
            None => c.say(Claim::ecs_default_count(
                Setting::CheckRetries,
                CHECK_DEFAULT_RETRIES,
            )),
        };
        let start = match hc.start_period_seconds {
            Some(s) => format!(
                "start period {}",
                c.say(Claim::seconds(Setting::CheckStartPeriod, name, s))
            ),
            None => "no start period (off)".to_owned(),
        };
        findings.push(
            Finding::context(
                "container health check",
                format!(
                    "{} — timeout {timeout}, every {interval}, {retries} retries, {start}",
                    hc.command.join(" ")
                ),
            )
            .with_claims(c),
        );
    }
    if ctx.cpu.level == PressureLevel::High {
        return Some(cpu_starved(
            ctx,
            "container health checks",
            findings,
            &signals,
            None,
            false,
        ));
    }
    findings.extend(ctx.cpu.findings.iter().cloned());
    let name = container.as_deref().unwrap_or("a container");
    let mut c = Claims::default();
    let words = super::cpu::pressure_words(ctx, &mut c);
    let mut v = Verdict::new(
        Cause::ContainerHealthCheckFailed,
        if ctx.cpu.level == PressureLevel::Low {
            0.85
        } else {
            0.75
        },
        format!(
            "The container health check of {name} failed and ECS replaced the task{}.",
            match (ctx.cpu.level, words) {
                (PressureLevel::Low, Some(w)) =>
                    format!("; {w}, so the check itself or the app is broken, not starved"),
                (PressureLevel::Moderate, Some(w)) => format!("; {w}"),
                _ => String::new(),
            }
        ),
    )
    .claims(c)
    .key_fact(format!("{name} health check failed"))
    .relies_on(&[Source::TaskDefinition, Source::Metrics]);
    let starting = start_timing(ctx, container.as_deref()).filter(|t| t.still_starting());
    if let Some(timing) = starting.as_ref() {
        let mut c = Claims::default();
        let killed = c.say(timing.killed_after.clone());
        let ready = timing.ready_text(&mut c).replacen("; ", ", and ", 1);
        v.summary = format!(
            "The container health check of {name} failed while the app was still starting: it was killed {killed} after it started{ready}."
        );
        v.key_fact = "killed during start-up".to_owned();
        v.claims = c;
        v.confidence = 0.8;
    }
    if let Some(hc) = hc {
        let cmd = hc.command.join(" ");
        let by_hand = format!(
            "Run the health check by hand in the image (`{cmd}`): the tool it calls (curl, wget) must exist in the image and the port must match"
        );
        let start = start_period_advice(ctx, container.as_deref(), hc);
        // While the app is still starting, the start period is the fix and the check itself
        // comes second.
        if starting.is_none() {
            v = v.recommend(by_hand.clone());
        }
        if let Some((rec, c)) = start {
            v = v.recommend(rec).claims(c);
        }
        if starting.is_some() {
            v = v.recommend(by_hand);
        }
    }
    if let Some(c) = container.as_deref() {
        let exit = ctx
            .event
            .detail
            .containers
            .iter()
            .find(|x| x.name == c)
            .and_then(|x| x.exit_code);
        v = v.container(c, exit);
    }
    Some(v.findings(findings))
}

fn cpu_starved(
    ctx: &Context<'_>,
    checks: &str,
    mut findings: Vec<Finding>,
    signals: &CheckSignals,
    hc: Option<&TargetGroupHealthCheck>,
    latency: bool,
) -> Verdict {
    let p = &ctx.cpu;
    findings.extend(p.findings.iter().cloned());
    let mut confidence: f64 = 0.75;
    if signals.timeouts > 0 {
        confidence += 0.1;
    }
    if latency {
        confidence += 0.05;
    }
    if p.decided_by == Some(CpuEvidence::Task) {
        confidence += 0.05;
    }
    let mut c = Claims::default();
    let cpu = ctx.task_cpu();
    let series = p.series.clone().unwrap_or(SeriesRef::TaskCpuPct);
    let itype = ctx
        .evidence
        .host
        .as_ref()
        .and_then(|h| h.instance_type.as_deref())
        .unwrap_or("burstable");
    let held = match (p.pinned, p.credits_exhausted) {
        (Some(run), _) => {
            let d = run.describe(ctx, &series, &mut c);
            format!(
                "CPU held {d} for {} before the kill",
                c.say(run.minutes_claim(&series))
            )
        }
        (None, Some(b)) => format!(
            "the {itype} host ran out of CPU credits (CPUCreditBalance {}) and throttled the task to the host's baseline, whatever share of its own reservation it showed",
            c.say(Claim::level(b, 1, "", SeriesRef::HostCpuCredits))
        ),
        (None, None) => format!(
            "CPU was pinned at {}",
            cpu_alloc_text(cpu.map(f64::from), &mut c)
        ),
    };
    let summary = format!(
        "CPU-starved: {held}, so the app answered {checks} too slowly and ECS replaced it{}.",
        if p.average_hid_saturation {
            " (the service Average looked fine; the Maximum did not)"
        } else {
            ""
        }
    );
    let key = match p.pinned {
        Some(run) => {
            let d = run.compact(ctx, &series, &mut c);
            format!("CPU {d} {}", c.say(run.minutes_claim(&series)))
        }
        None => "host out of CPU credits".to_owned(),
    };
    let mut v = Verdict::new(Cause::CpuStarved, confidence, summary)
        .key_fact(key)
        .findings(findings)
        .relies_on(&[Source::Metrics, Source::Service, Source::TaskDefinition]);
    match (cpu, p.pinned) {
        (Some(units), Some(run)) => {
            let new = (units * 2).min(16384);
            let from = c.say(Claim::number(
                super::claims::Basis::TaskCpu,
                f64::from(units),
            ));
            let to = c.say(Claim::proposal(
                f64::from(new),
                super::claims::Basis::TaskCpu,
            ));
            let d = run.describe(ctx, &series, &mut c);
            let minutes = c.say(run.minutes_claim(&series));
            v = v.recommend(format!(
                "Raise task cpu {from} → {to}: CPU held {d} for {minutes} before the kill"
            ));
        }
        (None, Some(_)) => {
            v = v.recommend(
                "Set a task-level cpu reservation sized to the load (the container had no CPU limit of its own, so it competed with every task on the host)",
            );
        }
        _ => {}
    }
    if let Some(b) = p.credits_exhausted {
        v = v.recommend(format!(
            "Move the service off {itype} (CPUCreditBalance hit {}) to a non-burstable family (m7g, c7g), or enable T unlimited mode on the launch template",
            c.say(Claim::level(b, 1, "", SeriesRef::HostCpuCredits))
        ));
    }
    // Scaling advice comes from the service's own posture (scaling.rs).
    if let Some((rec, gc)) = grace_advice(ctx, hc) {
        v = v.recommend(rec).claims(gc);
    } else if let Some(t) = hc.and_then(|h| h.timeout_seconds) {
        v = v.recommend(format!(
            "Keep the health-check handler cheap; raising the ALB health-check timeout ({}) buys time under load but does not fix the starvation",
            c.say(Claim::seconds(Setting::AlbTimeout, None, t))
        ));
    }
    if let Some(d) = ctx.deciding_container() {
        v = v.container(&d.name, d.exit_code);
    }
    v.claims(c)
}

/// How the app's start compares with the time it was given, from the event and its logs.
struct StartTiming {
    /// startedAt → the kill.
    killed_after: Claim,
    killed_after_s: f64,
    /// startedAt → the first "listening"/"started" line, when the logs have one.
    ready_after: Option<(f64, Claim)>,
    /// Whether the container's log tail reaches back to its start.
    logs_read: bool,
}

fn start_timing(ctx: &Context<'_>, container: Option<&str>) -> Option<StartTiming> {
    let minutes = ctx.minutes_running()?;
    let seconds = minutes * 60.0;
    let name = container.or_else(|| ctx.deciding_container().map(|c| c.name.as_str()));
    let ready_after = name.and_then(|n| memory::ready_after(ctx, n));
    // Only a tail that reaches back to the start can show that no ready line was ever written.
    let started = ctx.event.detail.started_at;
    let logs_read = name.is_some_and(|n| {
        ctx.evidence
            .logs
            .iter()
            .flatten()
            .filter(|l| l.container == n)
            .filter_map(|l| l.lines.first().and_then(|first| first.at))
            .any(|first| {
                started.is_some_and(|s| first <= s + chrono::Duration::seconds(START_COVER_S))
            })
    });
    Some(StartTiming {
        killed_after: Claim::elapsed(Span::StartToKill, seconds),
        killed_after_s: seconds,
        ready_after,
        logs_read,
    })
}

impl StartTiming {
    fn ready_text(&self, c: &mut Claims) -> String {
        match &self.ready_after {
            Some((_, claim)) => format!(
                "; its log said it was ready {} after start",
                c.say(claim.clone())
            ),
            None if self.logs_read => {
                "; its log never reached a \"started\" or \"listening\" line".to_owned()
            }
            None => String::new(),
        }
    }

    /// The app was still starting when it was killed: no ready line, or one after the kill.
    fn still_starting(&self) -> bool {
        match &self.ready_after {
            Some((r, _)) => *r >= self.killed_after_s,
            None => self.logs_read,
        }
    }
}

/// A task killed soon after it started needs a grace period longer than its start: the
/// service's `healthCheckGracePeriodSeconds`, with the values actually read.
fn grace_advice(
    ctx: &Context<'_>,
    hc: Option<&TargetGroupHealthCheck>,
) -> Option<(String, Claims)> {
    let timing = start_timing(ctx, None)?;
    let mut c = Claims::default();
    let service = ctx.evidence.service.as_ref();
    let grace = service.and_then(|s| s.health_check_grace_period_seconds);
    let window = hc.and_then(|h| Some((h.interval_seconds?, h.unhealthy_threshold?)));
    let budget = f64::from(grace.unwrap_or(0))
        + window.map_or(0.0, |(i, u)| f64::from(i) * f64::from(u))
        + 120.0;
    if timing.killed_after_s > budget && !timing.still_starting() {
        return None;
    }
    let killed = c.say(timing.killed_after.clone());
    let ready = timing.ready_text(&mut c);
    let grace_text = match (service, grace) {
        (Some(_), Some(g)) => format!(
            "the service's health-check grace period is {}",
            c.say(Claim::seconds(Setting::GracePeriod, None, g))
        ),
        (Some(_), None) => format!(
            "the service sets no health-check grace period ({})",
            c.say(Claim::ecs_default_seconds(Setting::GracePeriod, 0))
        ),
        (None, _) => {
            "the service's health-check grace period was not read (the service could not be described)"
                .to_owned()
        }
    };
    let window_text = match window {
        Some((i, u)) => {
            format!(
                ", and the ALB marks a target unhealthy after {} failed checks every {} ({} of failures)",
                c.say(Claim::count(Setting::AlbUnhealthyThreshold, None, u)),
                c.say(Claim::seconds(Setting::AlbInterval, None, i)),
                c.say(Claim::product_seconds(
                    (Setting::AlbInterval, i),
                    (Setting::AlbUnhealthyThreshold, u),
                    None
                ))
            )
        }
        _ => String::new(),
    };
    Some((
        format!(
            "The task was killed {killed} after it started{ready}; {grace_text}{window_text}: set healthCheckGracePeriodSeconds above the app's start-up time so ECS ignores the checks until it is up"
        ),
        c,
    ))
}

/// The container health check's startPeriod against the app's start, with the values read.
fn start_period_advice(
    ctx: &Context<'_>,
    container: Option<&str>,
    hc: &crate::evidence::HealthCheckFacts,
) -> Option<(String, Claims)> {
    let timing = start_timing(ctx, container)?;
    let start = hc.start_period_seconds.unwrap_or(0);
    if timing.killed_after_s >= f64::from(start) + 120.0 && !timing.still_starting() {
        return None;
    }
    let mut c = Claims::default();
    let killed = c.say(timing.killed_after.clone());
    let ready = timing.ready_text(&mut c);
    let start_text = match hc.start_period_seconds {
        Some(s) => format!(
            "the health check's startPeriod is {}",
            c.say(Claim::seconds(Setting::CheckStartPeriod, container, s))
        ),
        None => "the health check sets no startPeriod".to_owned(),
    };
    let max = c.say(Claim::policy(
        format!("{START_PERIOD_MAX_S:.0} s"),
        START_PERIOD_MAX_S,
        "container startPeriod maximum",
    ));
    let grace = match ctx
        .evidence
        .service
        .as_ref()
        .and_then(|s| s.health_check_grace_period_seconds)
    {
        Some(g) => format!(
            "; the service's health-check grace period, {}, applies as well",
            c.say(Claim::seconds(Setting::GracePeriod, None, g))
        ),
        None => String::new(),
    };
    Some((
        format!(
            "The task was killed {killed} after it started{ready}; {start_text}: raise startPeriod (up to {max}) above the app's start-up time{grace}"
        ),
        c,
    ))
}

/// TargetResponseTime climbing towards the health-check timeout before the kill.
fn latency_climb(ctx: &Context<'_>, timeout: Option<u32>) -> Option<Finding> {
    let series = ctx
        .evidence
        .metrics
        .as_ref()?
        .alb_target_response_time_s
        .as_ref()?;
    let (from, to) = ctx.pressure_window()?;
    let pts: Vec<f64> = series.between(from, to).map(|p| p.value).collect();
    if pts.len() < 3 {
        return None;
    }
    let third = (pts.len() / 3).max(1);
    let mut early: Vec<f64> = pts[..third].to_vec();
    early.sort_by(f64::total_cmp);
    let baseline = early[early.len() / 2];
    let peak = pts.iter().copied().fold(f64::MIN, f64::max);
    let near_timeout = timeout.is_some_and(|t| peak >= 0.8 * f64::from(t));
    if (peak >= 3.0 * baseline.max(0.01) && peak >= 1.0) || near_timeout {
        let mut c = Claims::default();
        let tail = timeout
            .map(|t| {
                format!(
                    " (health-check timeout {})",
                    c.say(Claim::seconds(Setting::AlbTimeout, None, t))
                )
            })
            .unwrap_or_default();
        let from = c.say(Claim::level(baseline, 2, " s", SeriesRef::AlbResponseTime));
        let to = c.say(Claim::level(peak, 2, " s", SeriesRef::AlbResponseTime));
        return Some(
            Finding::supports(
                "ALB TargetResponseTime",
                format!("climbed from {from} to {to} before the kill{tail}"),
            )
            .threshold("≥ 3× the early level or ≥ 80% of the timeout = climbing")
            .with_claims(c),
        );
    }
    None
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::{codes_in, is_ready_line};

    #[test]
    fn apps_announce_they_are_ready_in_their_own_words() {
        for line in [
            "Tomcat started on port 8080 (http) with context path '/'",
            "Started JudgeApiApplication in 12.31 seconds (process running for 13.1)",
            "2026-11-19T10:00:03.120Z  INFO 1 --- [main] c.e.JudgeApiApplication : Started JudgeApiApplication in 12.31 seconds",
            "Server listening on port 3000",
            "Now listening on: http://[::]:8080",
            "[INFO] Listening at: http://0.0.0.0:8000 (1)",
            "INFO:     Application startup complete.",
        ] {
            assert!(is_ready_line(line), "{line}");
        }
    }

    #[test]
    fn start_up_progress_is_not_ready() {
        for line in [
            "Starting JudgeApiApplication v2.4.0 using Java 21.0.2",
            "HikariPool-1 - Starting...",
            "Bootstrapping Spring Data JPA repositories in DEFAULT mode.",
        ] {
            assert!(!is_ready_line(line), "{line}");
        }
    }

    #[test]
    fn codes_are_read_from_service_event_text() {
        let m = "(service web) (port 8080) is unhealthy in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web/abc) due to (reason Health checks failed with these codes: [502, 503]).";
        assert_eq!(codes_in(m), Some(vec!["502".to_owned(), "503".to_owned()]));
    }

    #[test]
    fn text_without_codes_has_none() {
        assert_eq!(codes_in("due to (reason Request timed out)."), None);
        assert_eq!(codes_in("codes: [abc]"), None);
    }
}
