//! The story of the stop in time order: task lifecycle, service events, and the moments the
//! metrics crossed their lines.

use crate::evidence::Series;

use super::context::Context;
use super::cpu::PINNED_PCT;
use super::memory::NEAR_LIMIT_PCT;
use super::{TimelineEntry, TimelineSource};

pub fn build(ctx: &Context<'_>) -> Vec<TimelineEntry> {
    let d = &ctx.event.detail;
    let mut out = Vec::new();
    let mut push =
        |at: Option<chrono::DateTime<chrono::Utc>>, source: TimelineSource, text: String| {
            if let Some(at) = at {
                out.push(TimelineEntry { at, source, text });
            }
        };
    push(
        d.created_at,
        TimelineSource::Task,
        "task created".to_owned(),
    );
    push(
        d.pull_started_at,
        TimelineSource::Task,
        "image pull started".to_owned(),
    );
    push(
        d.pull_stopped_at,
        TimelineSource::Task,
        "image pull finished".to_owned(),
    );
    push(
        d.started_at,
        TimelineSource::Task,
        "containers running".to_owned(),
    );
    push(
        d.stopping_at,
        TimelineSource::Task,
        "ECS began stopping the task (SIGTERM)".to_owned(),
    );
    push(
        d.execution_stopped_at,
        TimelineSource::Task,
        "containers stopped".to_owned(),
    );
    let exits: Vec<String> = d
        .containers
        .iter()
        .filter_map(|c| c.exit_code.map(|code| format!("{} exit {code}", c.name)))
        .collect();
    let reason = d.stopped_reason.as_deref().unwrap_or("no reason given");
    let exits = if exits.is_empty() {
        String::new()
    } else {
        format!(" ({})", exits.join(", "))
    };
    push(
        d.stopped_at,
        TimelineSource::Task,
        format!("task STOPPED: {reason}{exits}"),
    );

    for e in ctx.service_events_near(30) {
        push(Some(e.at), TimelineSource::Service, e.message.clone());
    }

    // Scaling activities inside the window, with why they did not scale when they did not.
    let window = ctx.kill_at.map(|k| {
        (
            k - chrono::Duration::minutes(30),
            k + chrono::Duration::minutes(2),
        )
    });
    for a in ctx.evidence.scaling_activities.iter().flatten() {
        let Some(at) = a
            .start
            .filter(|t| window.is_some_and(|(from, to)| *t >= from && *t <= to))
        else {
            continue;
        };
        let not_scaled: Vec<&str> = a.not_scaled.iter().map(|r| r.code.as_str()).collect();
        let why = if not_scaled.is_empty() {
            String::new()
        } else {
            format!(" — not scaled: {}", not_scaled.join(", "))
        };
        push(
            Some(at),
            TimelineSource::Scaling,
            format!("{} ({}){why}", a.description, a.status),
        );
    }

    if let Some(m) = ctx.evidence.metrics.as_ref() {
        let cpu = m.task_cpu_pct.as_ref().or(m.service_cpu_max_pct.as_ref());
        if let Some(at) = cpu.and_then(|s| first_at_or_above(s, PINNED_PCT)) {
            push(
                Some(at.0),
                TimelineSource::Metrics,
                format!("CPU reached {:.0}% of the allocation", at.1),
            );
        }
        let mem = m
            .task_memory_pct
            .as_ref()
            .or(m.service_memory_max_pct.as_ref());
        if let Some(at) = mem.and_then(|s| first_at_or_above(s, NEAR_LIMIT_PCT)) {
            push(
                Some(at.0),
                TimelineSource::Metrics,
                format!("memory reached {:.0}% of the limit", at.1),
            );
        }
        if let Some(at) = m
            .alb_unhealthy_hosts
            .as_ref()
            .and_then(|s| first_at_or_above(s, 1.0))
        {
            push(
                Some(at.0),
                TimelineSource::Alb,
                format!("ALB counted {:.0} unhealthy target(s)", at.1),
            );
        }
    }
    out.sort_by_key(|e| e.at);
    out
}

fn first_at_or_above(series: &Series, line: f64) -> Option<(chrono::DateTime<chrono::Utc>, f64)> {
    series
        .points()
        .iter()
        .find(|p| p.value >= line)
        .map(|p| (p.at, p.value))
}
