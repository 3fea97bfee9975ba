//! Essential containers that exited on their own: crashes, clean exits, and the ambiguous 137.

use crate::event::{Container, StopCode};
use crate::evidence::Source;

use super::context::{Context, DEFAULT_STOP_TIMEOUT_S};
use super::memory;
use super::{Cause, Finding, Verdict};

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
    let by_reason = ctx.reason_has("essential container in task exited");
    let container = ctx.deciding_container()?;
    let code = container.exit_code;
    if code.is_none() && !(by_code || by_reason) {
        return None;
    }
    let code = code?;
    let meaning = exit_code_meaning(code);
    let exit_finding = Finding::supports(
        "exit code",
        format!("{} exited {code} ({meaning})", container.name),
    );
    match code {
        137 => Some(exit_137(ctx, container, exit_finding)),
        0 => Some(app_exited(ctx, container, exit_finding)),
        _ => Some(app_crashed(ctx, container, code, meaning, exit_finding)),
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
    let limit = ctx
        .memory_limit(&container.name)
        .map(|(m, s)| format!(" (the {} limit is {m} MiB)", s.as_str()))
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
    let default = if timeout == DEFAULT_STOP_TIMEOUT_S {
        " (the default)"
    } else {
        ""
    };
    verdict.findings.push(
        Finding::context(
            "exit 137 after ECS stopped the task",
            format!(
                "{} did not exit within stopTimeout {timeout} s{default} after SIGTERM, so ECS sent SIGKILL: this 137 is not an OOM kill",
                c.name
            ),
        )
        .threshold(format!("exits within {timeout} s of SIGTERM = clean shutdown")),
    );
    verdict.recommendations.push(format!(
        "Make {} exit on SIGTERM: run the app as PID 1 (exec-form ENTRYPOINT, or initProcessEnabled) so the signal reaches it, stop accepting work and drain within {timeout} s — or raise stopTimeout (up to 120 s) if draining takes longer",
        c.name
    ));
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
    v = v.finding(Finding::context(
        "stop",
        format!(
            "stop code {}, reason \"{reason}\"",
            ctx.stop_code().map_or("none", StopCode::as_str)
        ),
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

/// The last log line that looks like an error, shortened.
pub fn last_interesting_line(ctx: &Context<'_>, container: &str) -> Option<String> {
    const MARKERS: [&str; 9] = [
        "error",
        "exception",
        "panic",
        "fatal",
        "traceback",
        "segmentation",
        "killed",
        "refused",
        "cannot",
    ];
    let lines = log_lines(ctx, container);
    let line = lines.iter().rev().find(|l| {
        let lower = l.to_lowercase();
        MARKERS.iter().any(|m| lower.contains(m))
    })?;
    let trimmed = line.trim();
    Some(if trimmed.chars().count() > 200 {
        let cut: String = trimmed.chars().take(199).collect();
        format!("{cut}…")
    } else {
        trimmed.to_owned()
    })
}
