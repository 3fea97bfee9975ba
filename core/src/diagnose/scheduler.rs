//! Stops someone or something asked for: the service scheduler (deployments, scale-in) and
//! StopTask by a person or a tool.

use crate::event::StopCode;
use crate::evidence::Source;
use crate::vocab::{DeploymentStatus, RolloutState};

use super::catalogue::{self, EventSays, EventSignal};
use super::context::Context;
use super::{Cause, Finding, Verdict};

pub fn deployment(ctx: &Context<'_>) -> Option<Verdict> {
    let by_reason = catalogue::reason_says(ctx, Cause::Deployment);
    let by_code = ctx.stop_code() == Some(&StopCode::ServiceSchedulerInitiated);
    if !(by_reason || by_code) {
        return None;
    }
    let deployment_id = deployment_in(ctx.stopped_reason());
    let own_td = ctx.event.detail.task_definition_arn.as_deref();
    let service = ctx.evidence.service.as_ref();
    let primary = service.and_then(|s| {
        s.deployments
            .iter()
            .find(|d| d.status == Some(DeploymentStatus::Primary))
    });
    let replaced_by = primary
        .and_then(|p| p.task_definition.as_deref())
        .filter(|td| own_td.is_some_and(|own| own != *td));

    let (summary, key) = match replaced_by {
        Some(td) => (
            format!(
                "Replaced by a deployment: the service now runs {}, and the scheduler stopped this task of {}.",
                revision(td),
                own_td.map_or("an older revision", revision)
            ),
            format!("replaced by {}", revision(td)),
        ),
        None if primary.is_some() => (
            "Scaled in by the service scheduler: the task's own revision is still the primary deployment, so the desired count went down.".to_owned(),
            "scale-in".to_owned(),
        ),
        None => (
            format!(
                "Stopped by the service scheduler ({}): a deployment or a scale-in, with no sign of trouble.",
                deployment_id.as_deref().unwrap_or("no deployment named")
            ),
            "scheduler stop".to_owned(),
        ),
    };
    let mut v = Verdict::new(
        Cause::Deployment,
        if by_reason { 0.9 } else { 0.75 },
        summary,
    )
    .key_fact(key)
    .finding(Finding::supports(
        "stopped reason",
        catalogue::quoted_reason(ctx),
    ))
    .relies_on(&[Source::Service]);

    let trouble: Vec<String> = ctx
        .service_events_near(30)
        .iter()
        .filter(|e| {
            let says = EventSays::of(&e.message);
            says.has(EventSignal::Unhealthy) || says.rollback() || says.has(EventSignal::UnableTo)
        })
        .map(|e| e.message.clone())
        .collect();
    if let Some(first) = trouble.first() {
        v.confidence -= 0.15;
        v = v.finding(Finding::context(
            "service events",
            format!(
                "{} trouble event(s) around the stop, e.g. \"{first}\"",
                trouble.len()
            ),
        ));
        if rollback_seen(ctx) {
            v.summary
                .push_str(" The deployment circuit breaker rolled back.");
            v = v.recommend(
                "The deployment failed and rolled back: diagnose the new revision's own stopped tasks (they carry the real cause)",
            );
        }
    } else if service.is_some() {
        v = v.finding(Finding::context(
            "service events",
            "no unhealthy, failed or rollback events around the stop",
        ));
    }
    Some(v)
}

pub fn rollback_seen(ctx: &Context<'_>) -> bool {
    ctx.service_events_near(30)
        .iter()
        .any(|e| EventSays::of(&e.message).rollback())
        || ctx.evidence.service.as_ref().is_some_and(|s| {
            s.deployments
                .iter()
                .any(|d| d.rollout_state == Some(RolloutState::Failed))
        })
}

pub fn user_stopped(ctx: &Context<'_>) -> Option<Verdict> {
    let by_code = ctx.stop_code() == Some(&StopCode::UserInitiated);
    let by_reason = catalogue::reason_says(ctx, Cause::UserStopped);
    if !(by_code || by_reason) {
        return None;
    }
    let reason = ctx.stopped_reason();
    let custom = !reason.is_empty() && !catalogue::reason_is(ctx, "user.stop_task");
    let summary = if custom {
        format!("Stopped through StopTask with the reason \"{reason}\".")
    } else {
        "Stopped through StopTask by a person or a tool.".to_owned()
    };
    Some(
        Verdict::new(
            Cause::UserStopped,
            if by_code { 0.95 } else { 0.85 },
            summary,
        )
        .key_fact("StopTask")
        .finding(Finding::supports(
            "stop",
            format!(
                "stop code {}, reason \"{reason}\"",
                ctx.stop_code().map_or("none", StopCode::as_str)
            ),
        ))
        .recommend("CloudTrail's StopTask events name the principal that stopped it"),
    )
}

/// "Scaling activity initiated by (deployment ecs-svc/123)" → "ecs-svc/123".
fn deployment_in(reason: &str) -> Option<String> {
    let at = reason.find("(deployment ")?;
    let rest = &reason[at + "(deployment ".len()..];
    let id: String = rest.chars().take_while(|c| *c != ')').collect();
    (!id.is_empty()).then_some(id)
}

/// "arn:…:task-definition/web:42" → "web:42".
fn revision(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::{deployment_in, revision};

    #[test]
    fn deployment_id_is_read_from_reason() {
        assert_eq!(
            deployment_in("Scaling activity initiated by (deployment ecs-svc/8120147).").as_deref(),
            Some("ecs-svc/8120147")
        );
        assert_eq!(deployment_in("Task stopped by user"), None);
        assert_eq!(
            revision("arn:aws:ecs:eu-west-1:1:task-definition/web:42"),
            "web:42"
        );
    }
}
