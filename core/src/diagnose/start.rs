//! Tasks that never ran: image pulls, secrets and registry auth, log drivers, ENIs, volumes, the
//! container runtime. What each wording means lives in the catalogue; this file picks the row and
//! fills in the task's own names (image, execution role, secret, Region).

use crate::event::{Container, StopCode};
use crate::evidence::Source;

use super::catalogue::{self, EventSays, EventSignal, ReasonRow};
use super::context::{Context, StartHit};
use super::{Cause, Finding, Verdict};

/// The step of the start that failed; each family is one rule in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    ImagePull,
    Secrets,
    LogDriver,
    Network,
    Volume,
    Runtime,
    Other,
}

/// The first start-failure row (table order) that matches the stoppedReason or a container's
/// reason, with the text it matched and the container that carried it.
fn start_failure<'a>(ctx: &Context<'a>) -> Option<StartHit<'a>> {
    // Every start family's rule asks; the scan of every row runs once.
    ctx.start_hit(|| find_start_failure(ctx))
}

fn find_start_failure<'a>(ctx: &Context<'a>) -> Option<StartHit<'a>> {
    let d = &ctx.event.detail;
    let texts: Vec<(String, &'a str, Option<&'a Container>)> =
        std::iter::once(d.stopped_reason.as_deref().map(|r| (r, None)))
            .flatten()
            .chain(
                d.containers
                    .iter()
                    .filter_map(|c| c.reason.as_deref().map(|r| (r, Some(c)))),
            )
            .map(|(r, c)| (r.to_lowercase(), r, c))
            .collect();
    catalogue::REASONS
        .iter()
        .filter(|row| row.family.is_some())
        .find_map(|row| {
            texts
                .iter()
                .find(|(lower, _, _)| row.matches(lower))
                .map(|(_, text, c)| (row, *text, *c))
        })
}

/// Used when the stop code says the task failed to start but no wording is known.
const UNRECOGNISED_START: ReasonRow = ReasonRow {
    id: "start.unrecognised",
    groups: &[],
    cause: Some(Cause::FailedToStart),
    family: Some(Family::Other),
    meaning: "ECS reports it failed to start",
    key_fact: "failed to start",
    advice: &["Read the stopped reason and the service events: they name the step that failed"],
    confidence: 0.75,
};

pub fn failed_to_start(ctx: &Context<'_>, family: Family) -> Option<Verdict> {
    let stop_code = ctx.stop_code() == Some(&StopCode::TaskFailedToStart);
    let (row, reason, carrier) = match start_failure(ctx) {
        Some(hit) => hit,
        None if stop_code => (&UNRECOGNISED_START, ctx.stopped_reason(), None),
        None => return None,
    };
    if row.family != Some(family) {
        return None;
    }
    let container = carrier
        .or_else(|| {
            ctx.event
                .detail
                .containers
                .iter()
                .find(|c| c.reason.as_deref() == Some(reason))
        })
        .or_else(|| ctx.deciding_container());
    let image = container.and_then(|c| c.image.as_deref()).or_else(|| {
        container
            .and_then(|c| ctx.container_def(&c.name))
            .and_then(|d| d.image.as_deref())
    });
    let fill = |text: &str| fill(text, reason, image, ctx);
    let summary = format!("The task never ran: {}.", fill(row.meaning));
    let mut v = Verdict::new(Cause::FailedToStart, row.confidence, summary)
        .key_fact(fill(row.key_fact))
        .finding(Finding::supports(
            "reason",
            format!("\"{reason}\" ({})", row.id),
        ))
        .relies_on(&[Source::TaskDefinition]);
    if stop_code {
        v = v.finding(Finding::supports("stop code", "TaskFailedToStart"));
    }
    if ctx.event.detail.started_at.is_none() {
        v = v.finding(Finding::supports(
            "task lifecycle",
            "no startedAt: no container ever ran",
        ));
    }
    for rec in row.advice {
        v = v.recommend(fill(rec));
    }
    if let Some(c) = container {
        v = v.container(&c.name, c.exit_code);
    }
    if let Some(events) = unable_to_start_events(ctx) {
        v = v.finding(Finding::supports("service events", events));
    }
    Some(v)
}

/// Fills a catalogue text's placeholders from the reason, the image and the task definition.
fn fill(text: &str, reason: &str, image: Option<&str>, ctx: &Context<'_>) -> String {
    let exec_role = ctx
        .evidence
        .task_definition
        .as_ref()
        .and_then(|t| t.execution_role_arn.as_deref())
        .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_owned())
        .unwrap_or_else(|| "the task execution role".to_owned());
    let image_text = image.unwrap_or("the image");
    let secret = first_arn(reason).unwrap_or_else(|| "the referenced secret".to_owned());
    text.replace("{exec_role}", &exec_role)
        .replace("{short_image}", short_image(image_text))
        .replace("{image}", image_text)
        .replace(
            "{tag}",
            &image
                .map(image_tag)
                .unwrap_or_else(|| "(unknown)".to_owned()),
        )
        .replace("{secret}", &secret)
        .replace("{region}", ctx.event.region_name().unwrap_or("REGION"))
}

/// "repo:tag" → "tag"; a digest reference stays whole.
fn image_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if !last.contains('@') => tag.to_owned(),
        _ => last.to_owned(),
    }
}

/// "123.dkr.ecr.eu-west-1.amazonaws.com/shop/api:v2.3.1" → "shop/api:v2.3.1".
fn short_image(image: &str) -> &str {
    match image.split_once('/') {
        Some((host, rest)) if host.contains('.') => rest,
        _ => image,
    }
}

fn first_arn(text: &str) -> Option<String> {
    let at = text.find("arn:aws")?;
    let arn: String = text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | ',' | ')' | '('))
        .collect();
    Some(arn.trim_end_matches('.').to_owned())
}

fn unable_to_start_events(ctx: &Context<'_>) -> Option<String> {
    let events = ctx.service_events_near(60);
    let e = events.iter().rev().find(|e| {
        let says = EventSays::of(&e.message);
        says.has(EventSignal::UnableToStart) || says.rollback()
    })?;
    Some(format!("\"{}\"", e.message))
}

#[cfg(test)]
mod tests {
    use super::{first_arn, image_tag, short_image};

    #[test]
    fn image_tag_is_read_from_the_reference() {
        assert_eq!(
            image_tag("123.dkr.ecr.eu-west-1.amazonaws.com/shop/api:v2.3.1"),
            "v2.3.1"
        );
        assert_eq!(image_tag("nginx"), "nginx");
        assert_eq!(
            short_image("123.dkr.ecr.eu-west-1.amazonaws.com/shop/api:v2"),
            "shop/api:v2"
        );
        assert_eq!(short_image("library/nginx:1"), "library/nginx:1");
    }

    #[test]
    fn secret_arn_is_found_in_the_reason() {
        let r = "... getsecretvalue on resource: arn:aws:secretsmanager:eu-west-1:1:secret:db-abc because ...";
        assert_eq!(
            first_arn(r).as_deref(),
            Some("arn:aws:secretsmanager:eu-west-1:1:secret:db-abc")
        );
    }
}
