//! Repeats: the same service stopping for the same reason again and again is a crash loop, and
//! worse than one stop.

use chrono::{DateTime, Duration, Utc};

use crate::event::{Container, TaskDetail, TaskStateChange};
use crate::evidence::{Evidence, RecentStop};

use super::claims::{Claim, Claims, Quantity, Span};
use super::context::Context;
use super::{Cause, Finding, Verdict};

/// Earlier stops are counted inside this window before the current one.
pub const REPEAT_WINDOW_MIN: i64 = 60;
/// This many earlier stops with a related cause make a crash loop.
pub const CRASH_LOOP_MIN: u32 = 2;

/// The cause a recent stop shows on its own (event fields only, no evidence).
pub fn classify_recent(stop: &RecentStop) -> Cause {
    let detail = TaskDetail {
        task_arn: stop.task_arn.clone(),
        stop_code: stop.stop_code.clone(),
        stopped_reason: stop.stopped_reason.clone(),
        stopped_at: stop.stopped_at,
        containers: stop
            .containers
            .iter()
            .map(|c| Container {
                name: c.name.clone(),
                exit_code: c.exit_code,
                reason: c.reason.clone(),
                ..Container::default()
            })
            .collect(),
        ..TaskDetail::default()
    };
    let event = TaskStateChange {
        time: stop.stopped_at,
        detail,
        ..TaskStateChange::default()
    };
    let evidence = Evidence::default();
    let ctx = Context::new(&event, &evidence);
    super::classify(&ctx).cause
}

/// Causes that look alike from the event alone (health-check kills; 137 without evidence).
fn related(current: Cause, earlier: Cause) -> bool {
    current == earlier || current.info().related.contains(&earlier)
}

/// Counts earlier related stops and records the crash loop on the verdict.
pub fn apply(ctx: &Context<'_>, verdict: &mut Verdict) -> u32 {
    let Some(stops) = ctx.evidence.recent_stops.as_ref() else {
        return 0;
    };
    let Some(now) = ctx.stop_at else { return 0 };
    let from = now - Duration::minutes(REPEAT_WINDOW_MIN);
    let own = ctx.event.detail.task_arn.as_str();
    let earlier: Vec<DateTime<Utc>> = stops
        .iter()
        .filter(|s| s.task_arn != own)
        .filter_map(|s| s.stopped_at.map(|at| (s, at)))
        .filter(|(_, at)| *at >= from && *at <= now)
        .filter(|(s, _)| related(verdict.cause, classify_recent(s)))
        .map(|(_, at)| at)
        .collect();
    let count = u32::try_from(earlier.len()).unwrap_or(u32::MAX);
    if count == 0 || verdict.cause == Cause::Deployment {
        return count;
    }
    let first = earlier.iter().min().copied().unwrap_or(now);
    let span = (now - first).num_seconds() as f64 / 60.0;
    let nth = ordinal(count + 1);
    let who = ctx.service_label();
    let seconds = span.max(1.0) * 60.0;
    let mut claims = Claims::default();
    let within = claims.say(Claim::elapsed(Span::RecentStops, seconds));
    if count >= CRASH_LOOP_MIN {
        verdict.findings.push(
            Finding::supports(
                "repeats",
                format!("{nth} stop of {who} with this cause in {within}: a crash loop"),
            )
            .with_claims(claims.clone())
            .threshold(format!(
                "≥ {} earlier stops within {REPEAT_WINDOW_MIN} min = crash loop",
                CRASH_LOOP_MIN
            )),
        );
        let short = Claim {
            text: short_span(span),
            quantity: Quantity::Elapsed {
                span: Span::RecentStops,
                seconds,
            },
        };
        verdict.key_fact = format!("{}. {nth} in {}", verdict.key_fact, short.text);
        verdict.claims.0.push(short);
        verdict.confidence = (verdict.confidence + 0.05).min(0.99);
        if ctx.event.is_service_task() {
            verdict.recommendations.push(
                "Every replacement fails the same way: fix the cause before scaling or redeploying, and use the deployment circuit breaker so a bad revision rolls back".to_owned(),
            );
        }
    } else {
        verdict.findings.push(
            Finding::context(
                "repeats",
                format!("{nth} stop of {who} with this cause in {within}"),
            )
            .with_claims(claims),
        );
    }
    count
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn short_span(minutes: f64) -> String {
    if minutes < 60.0 {
        format!("{:.0}m", minutes.max(1.0))
    } else {
        format!("{:.0}h", (minutes / 60.0).ceil())
    }
}

#[cfg(test)]
mod tests {
    use super::ordinal;

    #[test]
    fn ordinals_read_naturally() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(3), "3rd");
        assert_eq!(ordinal(4), "4th");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(22), "22nd");
    }
}
