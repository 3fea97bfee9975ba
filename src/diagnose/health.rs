//! Health-check kills: the ALB's target health checks and the task definition's container
//! health check. Each splits in two: the app could not answer because CPU was pinned at its
//! allocation (`cpu_starved`), or it answered wrong / hung / listened elsewhere with resources idle.

use crate::evidence::{Source, TargetGroupFacts, TargetGroupHealthCheck};

use super::catalogue;
use super::context::{Context, cpu_units, duration_text};
use super::cpu::PressureLevel;
use super::{Cause, Finding, Verdict};

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
        let m = e.message.to_lowercase();
        if !m.contains("unhealthy") && !m.contains("health check") {
            continue;
        }
        let mut relevant = false;
        if m.contains("request timed out") || m.contains("timed out") {
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
        if m.contains("connection refused") || m.contains("connection reset") {
            s.connection_failures += 1;
            relevant = true;
        }
        if relevant && s.example.is_none() {
            s.example = Some(e.message.clone());
        }
    }
    for tg in ctx.evidence.target_groups.iter().flatten() {
        for t in &tg.targets {
            match t.reason.as_deref() {
                Some("Target.Timeout") => s.timeouts += 1,
                Some("Target.ResponseCodeMismatch") => {
                    if let Some(codes) = t.description.as_deref().and_then(codes_in) {
                        for c in codes {
                            if !s.codes.contains(&c) {
                                s.codes.push(c);
                            }
                        }
                    }
                }
                Some("Target.FailedHealthChecks") => {
                    if t.description
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains("timed out"))
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

fn describe_check(hc: &TargetGroupHealthCheck) -> String {
    let mut parts = Vec::new();
    parts.push(format!(
        "{} {} port {}",
        hc.protocol.as_deref().unwrap_or("HTTP"),
        hc.path.as_deref().unwrap_or("/"),
        hc.port.as_deref().unwrap_or("traffic-port")
    ));
    if let Some(t) = hc.timeout_seconds {
        parts.push(format!("timeout {t} s"));
    }
    if let Some(i) = hc.interval_seconds {
        parts.push(format!("every {i} s"));
    }
    if let Some(u) = hc.unhealthy_threshold {
        parts.push(format!("unhealthy after {u}"));
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
    let grace = ctx
        .evidence
        .service
        .as_ref()
        .and_then(|s| s.health_check_grace_period_seconds);

    let mut findings = vec![Finding::supports(
        "stopped reason",
        format!("\"{}\"", ctx.stopped_reason()),
    )];
    if let Some(hc) = hc {
        findings.push(Finding::context("ALB health check", describe_check(hc)));
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
            grace,
            latency.is_some(),
        ));
    }

    findings.extend(ctx.cpu.findings.iter().cloned());
    let exit = ctx.deciding_container();
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
        let tail = match ctx.cpu.level {
            PressureLevel::Low => {
                "CPU was idle, so the app hung (deadlock, blocked event loop, exhausted connection pool) rather than starved"
            }
            PressureLevel::Moderate => {
                "CPU was busy but not pinned at the allocation, so the app was slow or hung rather than starved"
            }
            _ => "CPU metrics were not available to tell a hung app from a starved one",
        };
        v = Verdict::new(
            Cause::ElbHealthCheckFailed,
            conf,
            format!("ALB health checks timed out and ECS replaced the task; {tail}."),
        )
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
            v = v.recommend(format!(
                "Verify the health check ({}) against the app by hand from inside the VPC",
                describe_check(hc)
            ));
        }
        v = v.recommend(
            "Tell CPU starvation from a broken check: read the failure reason in the service events or DescribeTargetHealth (\"Request timed out\" or response codes) and the task's CPU as a share of its allocation before the stop; timeouts with CPU at 90% or more mean raise the task's cpu, codes with idle resources mean fix the check or the app",
        );
    }
    if let Some(rec) = grace_recommendation(ctx, grace, hc) {
        v = v.recommend(rec);
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
                .find(|c| c.health_status.as_deref() == Some("UNHEALTHY"))
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
        findings.push(Finding::context(
            "container health check",
            format!(
                "{} — timeout {} s, every {} s, {} retries, start period {} s",
                hc.command.join(" "),
                hc.timeout_seconds.unwrap_or(5),
                hc.interval_seconds.unwrap_or(30),
                hc.retries.unwrap_or(3),
                hc.start_period_seconds.unwrap_or(0)
            ),
        ));
    }
    if ctx.cpu.level == PressureLevel::High {
        return Some(cpu_starved(
            ctx,
            "container health checks",
            findings,
            &signals,
            None,
            None,
            false,
        ));
    }
    findings.extend(ctx.cpu.findings.iter().cloned());
    let name = container.as_deref().unwrap_or("a container");
    let mut v = Verdict::new(
        Cause::ContainerHealthCheckFailed,
        if ctx.cpu.level == PressureLevel::Low {
            0.85
        } else {
            0.75
        },
        format!(
            "The container health check of {name} failed and ECS replaced the task{}.",
            if ctx.cpu.level == PressureLevel::Low {
                "; CPU was idle, so the check itself or the app is broken"
            } else {
                ""
            }
        ),
    )
    .key_fact(format!("{name} health check failed"))
    .relies_on(&[Source::TaskDefinition, Source::Metrics]);
    if let Some(hc) = hc {
        let cmd = hc.command.join(" ");
        v = v.recommend(format!(
            "Run the health check by hand in the image (`{cmd}`): the tool it calls (curl, wget) must exist in the image and the port must match"
        ));
        let start = hc.start_period_seconds.unwrap_or(0);
        if let Some(minutes) = ctx.minutes_running()
            && minutes * 60.0 < f64::from(start) + 120.0
        {
            v = v.recommend(format!(
                "The task was killed {} after it started; raise the health check's startPeriod ({start} s) above the app's start-up time",
                duration_text(minutes)
            ));
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
    grace: Option<u32>,
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
    if p.decided_by == Some("task") {
        confidence += 0.05;
    }
    let cpu = ctx.task_cpu();
    let alloc = cpu.map_or_else(|| "its CPU reservation".to_owned(), cpu_units);
    let held = match (p.pinned, p.credits_exhausted) {
        (Some(run), _) => format!(
            "CPU held {} of {alloc} for {} before the kill",
            run.describe(),
            duration_text(run.minutes)
        ),
        (None, Some(c)) => format!(
            "the burstable host ran out of CPU credits (balance {c:.1}) and throttled the task"
        ),
        (None, None) => format!("CPU was pinned at {alloc}"),
    };
    let summary = format!(
        "CPU-starved: {held}, so the app answered {checks} too slowly and ECS replaced it{}.",
        if p.average_hid_saturation {
            " (the service Average looked fine; the Maximum did not)"
        } else {
            ""
        }
    );
    let key = match (p.pinned, cpu) {
        (Some(run), Some(units)) => format!(
            "CPU {} of {units}u {}",
            run.describe(),
            duration_text(run.minutes)
        ),
        (Some(run), None) => format!("CPU {} {}", run.describe(), duration_text(run.minutes)),
        (None, _) => "host out of CPU credits".to_owned(),
    };
    let mut v = Verdict::new(Cause::CpuStarved, confidence, summary)
        .key_fact(key)
        .findings(findings)
        .relies_on(&[Source::Metrics, Source::Service, Source::TaskDefinition]);
    match (cpu, p.pinned) {
        (Some(units), Some(run)) => {
            let new = (units * 2).min(16384);
            v = v.recommend(format!(
                "Raise task cpu {units} → {new}: CPU held {} of the allocation for {} before the kill",
                run.describe(),
                duration_text(run.minutes)
            ));
        }
        (None, Some(_)) => {
            v = v.recommend(
                "Set a task-level cpu reservation sized to the load (the container had no CPU limit of its own, so it competed with every task on the host)",
            );
        }
        _ => {}
    }
    if let Some(c) = p.credits_exhausted {
        let itype = ctx
            .evidence
            .host
            .as_ref()
            .and_then(|h| h.instance_type.as_deref())
            .unwrap_or("burstable");
        v = v.recommend(format!(
            "Move the service off {itype} (CPUCreditBalance hit {c:.1}) to a non-burstable family (m7g, c7g), or enable T unlimited mode on the launch template"
        ));
    }
    // Scaling advice comes from the service's own posture (scaling.rs).
    if let Some(rec) = grace_recommendation(ctx, grace, hc) {
        v = v.recommend(rec);
    } else if let Some(t) = hc.and_then(|h| h.timeout_seconds) {
        v = v.recommend(format!(
            "Keep the health-check handler cheap; raising the ALB health-check timeout ({t} s) buys time under load but does not fix the starvation"
        ));
    }
    if let Some(c) = ctx.deciding_container() {
        v = v.container(&c.name, c.exit_code);
    }
    v
}

/// A task killed soon after it started with little or no grace period needs a longer one.
fn grace_recommendation(
    ctx: &Context<'_>,
    grace: Option<u32>,
    hc: Option<&TargetGroupHealthCheck>,
) -> Option<String> {
    let minutes = ctx.minutes_running()?;
    let grace = grace.unwrap_or(0);
    if minutes * 60.0 > f64::from(grace) + 180.0 {
        return None;
    }
    let timeout = hc
        .and_then(|h| h.timeout_seconds)
        .map(|t| format!("the health-check timeout ({t} s) or "))
        .unwrap_or_default();
    Some(format!(
        "The task was killed {} after it started: raise {timeout}the service's health-check grace period ({grace} s) above the app's start-up time",
        duration_text(minutes)
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
        let tail = timeout
            .map(|t| format!(" (health-check timeout {t} s)"))
            .unwrap_or_default();
        return Some(
            Finding::supports(
                "ALB TargetResponseTime",
                format!("climbed from {baseline:.2} s to {peak:.2} s before the kill{tail}"),
            )
            .threshold("≥ 3× the early level or ≥ 80% of the timeout = climbing"),
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
    use super::codes_in;

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
