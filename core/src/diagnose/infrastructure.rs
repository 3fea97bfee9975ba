//! Stops that came from the capacity underneath: Spot reclaims, AWS maintenance, lost hosts.

use crate::event::StopCode;
use crate::evidence::Source;
use crate::vocab::HostStatus;

use super::catalogue;
use super::context::Context;
use super::{Cause, Finding, Verdict};

fn on_spot(ctx: &Context<'_>) -> bool {
    ctx.event
        .detail
        .capacity_provider_name
        .as_deref()
        .is_some_and(crate::vocab::is_spot_capacity)
}

pub fn spot_interrupted(ctx: &Context<'_>) -> Option<Verdict> {
    let by_code = ctx.stop_code() == Some(&StopCode::SpotInterruption);
    let by_reason = catalogue::reason_says(ctx, Cause::SpotInterrupted);
    let by_notice = ctx.stop_code() == Some(&StopCode::TerminationNotice) && on_spot(ctx);
    if !(by_code || by_reason || by_notice) {
        return None;
    }
    let provider = ctx
        .event
        .detail
        .capacity_provider_name
        .as_deref()
        .unwrap_or("Spot capacity");
    let mut v = Verdict::new(
        Cause::SpotInterrupted,
        if by_code || by_reason { 0.97 } else { 0.85 },
        format!("AWS reclaimed the {provider} capacity the task ran on (two-minute Spot notice); the app did nothing wrong."),
    )
    .key_fact("Spot capacity reclaimed")
    .finding(Finding::supports(
        "stop",
        format!(
            "stop code {}, reason {}",
            ctx.stop_code().map_or("none", StopCode::as_str),
            catalogue::quoted_reason(ctx)
        ),
    ))
    .recommend("Keep a base of on-demand capacity in the capacity-provider strategy (e.g. FARGATE base 1–2, FARGATE_SPOT weight for the rest) so interruptions never take the service to zero")
    .recommend("Handle SIGTERM: finish in-flight requests within the stopTimeout (Spot gives two minutes in all)")
    .relies_on(&[]);
    if ctx.event.is_service_task() {
        v = v.recommend("Spread tasks over several Availability Zones and capacity types; Spot is reclaimed per pool");
    }
    Some(v)
}

pub fn platform_maintenance(ctx: &Context<'_>) -> Option<Verdict> {
    let by_reason = catalogue::reason_says(ctx, Cause::PlatformMaintenance);
    // TerminationNotice alone is Fargate retirement only when the reason says nothing else
    // (an EC2 host terminating carries the same code: the host rule decides that one first).
    let by_notice = ctx.stop_code() == Some(&StopCode::TerminationNotice)
        && !on_spot(ctx)
        && catalogue::stopped_reason_row(ctx).is_none_or(|r| r.cause.is_none());
    if !(by_reason || by_notice) {
        return None;
    }
    Some(
        Verdict::new(
            Cause::PlatformMaintenance,
            if by_reason { 0.95 } else { 0.8 },
            "AWS retired the task for maintenance of the underlying infrastructure; the service scheduler starts a replacement.",
        )
        .key_fact("AWS maintenance")
        .finding(Finding::supports("stopped reason", catalogue::quoted_reason(ctx)))
        .recommend("Run at least two tasks per service behind the load balancer, so a retirement never leaves it empty; Fargate sends the retirement notice days ahead in AWS Health")
        .recommend("Handle SIGTERM and drain within the stopTimeout so retirements are invisible to users"),
    )
}

pub fn host_lost(ctx: &Context<'_>) -> Option<Verdict> {
    let row = catalogue::stopped_reason_row(ctx).filter(|r| r.cause == Some(Cause::HostLost));
    let infra_health = ctx.stop_code() == Some(&StopCode::InfrastructureHealth);
    let host = ctx.evidence.host.as_ref();
    let draining = host
        .and_then(|h| h.status.as_ref())
        .is_some_and(HostStatus::is_leaving);
    let disconnected = host.and_then(|h| h.agent_connected) == Some(false);
    let scheduler_stop = ctx.stop_code() == Some(&StopCode::ServiceSchedulerInitiated)
        || catalogue::reason_says(ctx, Cause::Deployment);
    if !(row.is_some() || infra_health || (draining && scheduler_stop)) {
        return None;
    }
    let instance = host
        .and_then(|h| h.ec2_instance_id.clone())
        .or_else(|| instance_in(ctx.stopped_reason()))
        .unwrap_or_else(|| "the container instance".to_owned());
    let id = short(&instance);
    let (what, key, confidence) = match row {
        Some(r) => (
            r.meaning.replace("the EC2 host", &format!("the EC2 host {instance}")),
            r.key_fact.replace("{instance}", id),
            r.confidence,
        ),
        None if infra_health => (
            "ECS found the infrastructure under the task unhealthy (stop code InfrastructureHealth)"
                .to_owned(),
            "infrastructure unhealthy".to_owned(),
            0.8,
        ),
        None => (
            format!("{instance} was being drained"),
            format!("{id} draining"),
            0.75,
        ),
    };
    let mut v = Verdict::new(
        Cause::HostLost,
        confidence,
        format!("The task lost its host: {what}."),
    )
    .key_fact(key)
    .relies_on(&[Source::Host]);
    if !ctx.stopped_reason().trim().is_empty() {
        v = v.finding(Finding::supports(
            "stopped reason",
            catalogue::quoted_reason(ctx),
        ));
    }
    if let Some(code) = ctx.stop_code() {
        let meaning = catalogue::stop_code_meaning(code).unwrap_or("not in the catalogue");
        let text = format!("{}: {meaning}", code.as_str());
        v = v.finding(if infra_health {
            Finding::supports("stop code", text)
        } else {
            Finding::context("stop code", text)
        });
    }
    if ctx.event.is_fargate() {
        v = v.recommend("The Fargate capacity under the task was replaced: nothing in the task to fix; run at least two tasks per service across Availability Zones so one replacement never empties it, and handle SIGTERM within the stopTimeout");
    } else {
        v = v
            .recommend("Check the Auto Scaling group's activity history and EC2 events for why the instance went away (scale-in, Spot, health check, a person)")
            .recommend("Enable managed termination protection and managed draining on the capacity provider so instances drain before they terminate");
    }
    if let Some(h) = host {
        v = v.finding(Finding::context(
            "container instance",
            format!(
                "{} {}, status {}{}",
                h.instance_type.as_deref().unwrap_or("instance"),
                h.ec2_instance_id.as_deref().unwrap_or("unknown"),
                h.status.as_ref().map_or("unknown", HostStatus::as_str),
                if disconnected {
                    ", agent disconnected"
                } else {
                    ""
                }
            ),
        ));
    }
    Some(v)
}

/// "Host EC2 (instance i-0abc) stopped/terminated." → "i-0abc".
fn instance_in(reason: &str) -> Option<String> {
    let (at, _) = reason
        .match_indices("i-")
        .find(|(i, _)| *i == 0 || matches!(reason.as_bytes().get(i - 1), Some(b' ' | b'(')))?;
    let id: String = reason[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (id.len() > 3).then_some(id)
}

fn short(instance: &str) -> &str {
    if instance.starts_with("i-") {
        instance
    } else {
        "instance"
    }
}
