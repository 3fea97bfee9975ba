//! Essential containers that exited on their own: crashes, clean exits, and the ambiguous 137.

use crate::event::{Container, StopCode};
use crate::evidence::Source;

use super::catalogue;
use super::claims::{self, Basis, Claim, Claims, STOP_TIMEOUT_MAX_S};
use super::context::Context;
use super::{Cause, Finding, Verdict};
use super::{disk, lasterror, memory};

/// What an exit code usually means.
pub fn exit_code_meaning(code: i64) -> &'static str {
    match code {
        0 => "clean exit",
        1 => "application error",
        2 => "misuse of a shell builtin or bad arguments",
        126 => "command found but not executable",
        127 => "entrypoint or command not found",
        134 => "SIGABRT: the process aborted",
        137 => "SIGKILL: the OOM killer, or SIGTERM ignored until the stop timeout",
        139 => "SIGSEGV: segmentation fault",
        143 => "SIGTERM honoured",
        255 => "generic failure (exit status out of range)",
        c if c > 128 && c < 160 => "killed by a signal",
        _ => "application-defined failure",
    }
}

pub fn essential_exit(ctx: &Context<'_>) -> Option<Verdict> {
    let by_code = ctx.stop_code() == Some(&StopCode::EssentialContainerExited);
    let by_reason = catalogue::reason_is(ctx, "essential.exited");
    let container = ctx.deciding_container()?;
    let code = container.exit_code;
    if code.is_none() && !(by_code || by_reason) {
        return None;
    }
    let code = code?;
    if let Some(v) = finished_with_stragglers(ctx) {
        return Some(v);
    }
    let meaning = exit_code_meaning(code);
    let exit_finding = Finding::supports(
        "exit code",
        format!("{} exited {code} ({meaning})", container.name),
    );
    match code {
        137 => Some(exit_137(ctx, container, exit_finding)),
        0 => Some(app_exited(ctx, container, exit_finding)),
        _ => Some(
            disk::disk_full(ctx, container)
                .or_else(|| memory::heap_exhaustion(ctx, container))
                .map(|v| v.finding(exit_finding.clone()))
                .unwrap_or_else(|| app_crashed(ctx, container, code, meaning, exit_finding)),
        ),
    }
}

fn exit_137(ctx: &Context<'_>, container: &Container, exit_finding: Finding) -> Verdict {
    if let Some(v) = memory::oom_by_metrics(ctx, &container.name, container.exit_code) {
        return v.finding(exit_finding);
    }
    if let Some(rules_out) = memory::rules_out_oom(ctx) {
        return Verdict::new(
            Cause::AppCrashed,
            0.65,
            format!(
                "Container {} was killed with SIGKILL (exit 137) on its own, but not by the OOM killer: memory stayed far from the limit.",
                container.name
            ),
        )
        .key_fact("SIGKILL, not OOM")
        .container(&container.name, container.exit_code)
        .finding(exit_finding)
        .finding(rules_out)
        .recommend("Something sent SIGKILL inside the task or on the host (a supervisor, a sidecar, `docker kill`, the host's own OOM killer under host memory pressure): check the container instance's and the app's logs around the stop")
        .relies_on(&[Source::Metrics, Source::Logs]);
    }
    let mut claims = Claims::default();
    let limit = memory::container_basis(ctx, &container.name)
        .map(|(b, m)| match b {
            Basis::ContainerReservation(_) => format!(
                " (it has no hard limit, only {})",
                claims.say(Claim::size(b, m))
            ),
            _ => format!(
                " (the limit that applies is {})",
                claims.say(Claim::size(b, m))
            ),
        })
        .unwrap_or_default();
    Verdict::new(
        Cause::Unknown,
        0.35,
        format!(
            "Container {} was killed with SIGKILL (exit 137) without the agent's OutOfMemoryError reason, and no memory evidence decides between an OOM kill and another SIGKILL{limit}.",
            container.name
        ),
    )
    .key_fact("exit 137, no memory data")
    .container(&container.name, container.exit_code)
    .finding(exit_finding)
    .finding(Finding::context(
        "memory evidence",
        "none: with memory at ≥ 95% of the limit this would be an OOM kill",
    ))
    .recommend("Enable Container Insights (enhanced observability for per-task memory) so the next exit 137 can be told apart: OOM or another SIGKILL")
    .recommend("Meanwhile treat it as a likely OOM: compare the task's memory limit with the app's usage under load")
    .relies_on(&[Source::Metrics])
    .claims(claims)
}

fn app_exited(ctx: &Context<'_>, container: &Container, exit_finding: Finding) -> Verdict {
    let service = ctx.event.service_name();
    let (summary, confidence) = match service {
        Some(s) => (
            format!(
                "Container {} of service {s} exited 0: the process ended normally, but a service expects it to keep running, so ECS started another.",
                container.name
            ),
            0.85,
        ),
        None => (
            format!(
                "Container {} exited 0: the standalone task finished its work.",
                container.name
            ),
            0.9,
        ),
    };
    let mut v = Verdict::new(Cause::AppExited, confidence, summary)
        .key_fact("exited 0")
        .container(&container.name, container.exit_code)
        .finding(exit_finding);
    if service.is_some() {
        v = v.recommend(format!(
            "Find why the server's main process returned: a missing foreground flag (daemon mode), a CMD that runs a one-off script, or a shutdown on a config error that exits 0 — the last log lines of {} say which",
            container.name
        ));
        if let Some(line) = last_interesting_line(ctx, &container.name) {
            v = v.finding(Finding::context("last log line", line));
        }
    } else {
        v = v.recommend("Nothing to fix if the job was meant to end; schedule it with EventBridge Scheduler if it should run again");
    }
    v
}

fn app_crashed(
    ctx: &Context<'_>,
    container: &Container,
    code: i64,
    meaning: &str,
    exit_finding: Finding,
) -> Verdict {
    let mut v = Verdict::new(
        Cause::AppCrashed,
        0.85,
        format!(
            "Container {} crashed: it exited {code} ({meaning}) on its own.",
            container.name
        ),
    )
    .key_fact(format!("exit {code}"))
    .container(&container.name, container.exit_code)
    .finding(exit_finding)
    .relies_on(&[Source::Logs]);
    if let Some(line) = last_interesting_line(ctx, &container.name) {
        v.confidence = 0.9;
        v.summary.push_str(&format!(" Last error: {line}"));
        v = v.finding(Finding::supports("last error in the log", line));
    }
    let exec_format = log_mentions(ctx, &container.name, "exec format error");
    let rec = match code {
        126 | 127 if exec_format => "The image was built for another CPU architecture (exec format error): build it for the task's runtimePlatform (linux/arm64 vs linux/amd64) or publish a multi-arch image".to_owned(),
        126 => "The entrypoint is not executable: `chmod +x` it in the Dockerfile and check the image's USER can run it".to_owned(),
        127 => "The entrypoint or command was not found in the image: check the path, the shell form vs exec form of CMD/ENTRYPOINT, and that the binary exists for this architecture".to_owned(),
        139 => "A segmentation fault: a native library or binary crashed — check native dependencies built for the right libc/architecture and run the image locally with the same arguments".to_owned(),
        143 => "Something inside the task sent SIGTERM: check a supervisor or a sidecar that stops the app".to_owned(),
        134 => "The process aborted (SIGABRT): an assertion or a runtime abort — the log tail shows which".to_owned(),
        _ => format!(
            "Read the log tail of {} for the error it exited on; make start-up failures (missing config, unreachable dependency) log one clear line before exiting",
            container.name
        ),
    };
    v = v.recommend(rec);
    if ctx.event.is_service_task() {
        v = v.recommend(
            "Turn on the deployment circuit breaker with rollback so a revision that crashes on start rolls back instead of looping",
        );
    }
    v
}

/// A job whose essential container exited 0, while the others were only stopped by ECS after
/// it (137: a sidecar that ignored SIGTERM until stopTimeout; 143: one that honoured it), is a
/// finished job, not a mystery 137.
fn finished_with_stragglers(ctx: &Context<'_>) -> Option<Verdict> {
    let essential: Vec<&Container> = ctx.essential_containers().collect();
    let done = essential.iter().find(|c| c.exit_code == Some(0))?;
    let others: Vec<&&Container> = essential
        .iter()
        .filter(|c| c.name != done.name && c.exit_code.is_some_and(|x| x != 0))
        .collect();
    let only_stopped = others.iter().all(|c| {
        matches!(c.exit_code, Some(137 | 143))
            && c.reason.as_deref().is_none_or(|r| r.trim().is_empty())
    });
    if others.is_empty() || !only_stopped {
        return None;
    }
    let exit_finding = Finding::supports(
        "exit code",
        format!("{} exited 0 ({})", done.name, exit_code_meaning(0)),
    );
    let mut v = app_exited(ctx, done, exit_finding);
    for c in others {
        let code = c.exit_code.unwrap_or_default();
        let mut fc = Claims::default();
        let mut rc = Claims::default();
        let (what, rec) = if code == 137 {
            let timeout = claims::stop_timeout(ctx, &c.name);
            (
                format!(
                    "{} exited 137 after {} ended: it ignored SIGTERM and ECS sent SIGKILL at stopTimeout {} — not an OOM kill",
                    c.name,
                    done.name,
                    fc.say(timeout.clone())
                ),
                Some(format!(
                    "Make {} exit on SIGTERM (exec-form ENTRYPOINT or initProcessEnabled) so the task ends as soon as {} finishes, instead of {} later",
                    c.name,
                    done.name,
                    rc.say(Claim {
                        text: timeout
                            .text
                            .trim_end_matches(" (the ECS default)")
                            .to_owned(),
                        quantity: timeout.quantity,
                    })
                )),
            )
        } else {
            (
                format!(
                    "{} exited 143 after {} ended: ECS stopped it, as it stops every container once an essential one exits",
                    c.name, done.name
                ),
                None,
            )
        };
        v = v.finding(
            Finding::rules_out("other essential containers", what)
                .threshold("137/143 after another essential container exited = stopped by ECS")
                .with_claims(fc),
        );
        if let Some(rec) = rec {
            v = v.recommend(rec).claims(rc);
        }
    }
    Some(v)
}

/// What the other containers did, and what a restart policy hid: context around the verdict.
pub fn add_container_context(ctx: &Context<'_>, verdict: &mut Verdict) {
    let decided_by = verdict.container.clone();
    let stopped_after: Vec<String> = match decided_by.as_deref() {
        Some(name) if !verdict.cause.info().ordered_by_ecs => ctx
            .essential_containers()
            .filter(|c| c.name != name && matches!(c.exit_code, Some(137 | 143)))
            .filter(|c| c.reason.as_deref().is_none_or(|r| r.trim().is_empty()))
            .map(|c| format!("{} (exit {})", c.name, c.exit_code.unwrap_or_default()))
            .collect(),
        _ => Vec::new(),
    };
    if let (Some(name), false) = (decided_by.as_deref(), stopped_after.is_empty())
        && verdict.cause != Cause::AppExited
    {
        let list = stopped_after.join(", ");
        verdict.summary.push_str(&format!(
            " {name} is essential, so ECS then stopped {list}."
        ));
        verdict.findings.push(Finding::context(
            "other essential containers",
            format!("{list}: stopped by ECS after {name} ended, not failures of their own"),
        ));
    }
    for c in ctx
        .event
        .detail
        .containers
        .iter()
        .filter(|c| !ctx.is_essential(&c.name))
        .filter(|c| decided_by.as_deref() != Some(c.name.as_str()))
    {
        let reason = c.reason.as_deref().filter(|r| !r.trim().is_empty());
        let failed = c.exit_code.is_some_and(|x| x != 0) || reason.is_some();
        if !failed {
            continue;
        }
        let code = c
            .exit_code
            .map(|x| format!("exited {x} ({})", exit_code_meaning(x)))
            .unwrap_or_else(|| "stopped".to_owned());
        let why = reason.map(|r| format!(", \"{r}\"")).unwrap_or_default();
        verdict.findings.push(Finding::context(
            "non-essential container",
            format!(
                "{} {code}{why}: it is not essential, so its death did not stop the task",
                c.name
            ),
        ));
    }
    for c in &ctx.event.detail.containers {
        let Some(n) = c.restart_count.filter(|n| *n > 0) else {
            continue;
        };
        let times = if n == 1 { "once" } else { "times" };
        let count = if n == 1 {
            String::new()
        } else {
            format!("{n} ")
        };
        let text = format!(
            "{} had been restarted {count}{times} by its restart policy before this stop (restarts inside a task raise no STOPPED event)",
            c.name
        );
        if decided_by.as_deref() == Some(c.name.as_str()) {
            verdict.findings.push(Finding::supports("restarts", text));
            verdict.recommendations.push(format!(
                "{} failed {} before this stop and was restarted in place each time: treat it as recurring, and read the logs of the earlier runs too",
                c.name,
                if n == 1 { "once".to_owned() } else { format!("{n} times") }
            ));
        } else {
            verdict.findings.push(Finding::context("restarts", text));
        }
    }
}

/// The stop was ordered by ECS (or AWS): exit 137 then means the app ignored SIGTERM.
pub fn add_slow_shutdown_finding(ctx: &Context<'_>, verdict: &mut Verdict) {
    let ordered = verdict.cause.info().ordered_by_ecs;
    if !ordered {
        return;
    }
    let Some(c) = ctx
        .essential_containers()
        .find(|c| c.exit_code == Some(137))
    else {
        return;
    };
    let timeout = ctx.stop_timeout(&c.name);
    let claim = claims::stop_timeout(ctx, &c.name);
    let mut fc = Claims::default();
    let shown = fc.say(claim.clone());
    verdict.findings.push(
        Finding::context(
            "exit 137 after ECS stopped the task",
            format!(
                "{} did not exit within stopTimeout {shown} after SIGTERM, so ECS sent SIGKILL: this 137 is not an OOM kill",
                c.name
            ),
        )
        .threshold(format!("exits within {timeout} s of SIGTERM = clean shutdown"))
        .with_claims(fc),
    );
    let mut rc = Claims::default();
    let within = rc.say(Claim {
        text: format!("{timeout} s"),
        quantity: claim.quantity,
    });
    let max = rc.say(Claim::policy(
        format!("{STOP_TIMEOUT_MAX_S:.0} s"),
        STOP_TIMEOUT_MAX_S,
        "stopTimeout maximum",
    ));
    verdict.recommendations.push(format!(
        "Make {} exit on SIGTERM: run the app as PID 1 (exec-form ENTRYPOINT, or initProcessEnabled) so the signal reaches it, stop accepting work and drain within {within} — or raise stopTimeout (up to {max}) if draining takes longer",
        c.name
    ));
    verdict.claims.extend(rc);
}

pub fn unknown(ctx: &Context<'_>) -> Verdict {
    let reason = ctx.stopped_reason();
    let mut v = Verdict::new(
        Cause::Unknown,
        0.2,
        if reason.is_empty() {
            "ECS gave no reason and no container exit decides why the task stopped.".to_owned()
        } else {
            format!("The evidence does not decide why the task stopped (\"{reason}\").")
        },
    )
    .key_fact("cause unknown")
    .relies_on(&[Source::Service, Source::Metrics, Source::Logs]);
    let code = match ctx.stop_code() {
        Some(c) => match catalogue::stop_code_meaning(c) {
            Some(meaning) => format!("{} ({meaning})", c.as_str()),
            None => c.as_str().to_owned(),
        },
        None => "none".to_owned(),
    };
    v = v.finding(Finding::context(
        "stop",
        format!("stop code {code}, reason \"{reason}\""),
    ));
    v.recommend("Read the service events and the container logs around the stop; enable Container Insights so resource pressure can be judged next time")
}

fn log_lines<'a>(ctx: &Context<'a>, container: &str) -> Vec<&'a str> {
    ctx.evidence
        .logs
        .iter()
        .flatten()
        .filter(|l| l.container == container)
        .flat_map(|l| l.lines.iter().map(|line| line.message.as_str()))
        .collect()
}

fn log_mentions(ctx: &Context<'_>, container: &str, needle: &str) -> bool {
    log_lines(ctx, container)
        .iter()
        .any(|l| l.to_lowercase().contains(needle))
}

/// The last error line of the container's log tail, shortened.
pub fn last_interesting_line(ctx: &Context<'_>, container: &str) -> Option<String> {
    let lines = log_lines(ctx, container);
    let trimmed = lasterror::last_error_line(&lines)?;
    Some(if trimmed.chars().count() > 200 {
        let cut: String = trimmed.chars().take(199).collect();
        format!("{cut}…")
    } else {
        trimmed.to_owned()
    })
}
