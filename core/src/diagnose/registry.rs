//! The one place a cause's facts and the rules that decide are declared.
//!
//! [`CAUSES`] holds every fact about a cause (name, label, severities, benign, related causes,
//! whether ECS ordered the stop); everything else reads it. [`RULES`] lists every rule once, in
//! the order they are tried, with a stable id (`diagnosis.rule`) and the causes it may emit.

use super::context::Context;
use super::{Cause, Severity, Verdict, exit, health, infrastructure, memory, scheduler, start};

/// Everything known about a cause, declared once.
#[derive(Debug)]
pub struct CauseInfo {
    pub cause: Cause,
    /// The contract's name (`diagnosis.cause`).
    pub name: &'static str,
    /// A short human label, for subjects and SMS.
    pub label: &'static str,
    pub service_severity: Severity,
    pub standalone_severity: Severity,
    /// Not notified unless asked for, when the task belongs to a service / is standalone.
    pub benign_service: bool,
    pub benign_standalone: bool,
    /// Causes that look alike from the event alone: stops with any of them count towards a
    /// crash loop of this one.
    pub related: &'static [Cause],
    /// ECS (or AWS) sent SIGTERM, then SIGKILL after stopTimeout: an exit 137 is a slow shutdown.
    pub ordered_by_ecs: bool,
}

use Cause::*;
use Severity::{Critical, Info, Warning};

const fn info(
    cause: Cause,
    name: &'static str,
    label: &'static str,
    severity: Severity,
    benign: bool,
    related: &'static [Cause],
    ordered_by_ecs: bool,
) -> CauseInfo {
    CauseInfo {
        cause,
        name,
        label,
        service_severity: severity,
        standalone_severity: severity,
        benign_service: benign,
        benign_standalone: benign,
        related,
        ordered_by_ecs,
    }
}

/// Indexed by the cause's declaration order (a unit test holds the two together); its length is
/// the number of variants, so a new cause does not compile without its entry here.
pub const CAUSES: [CauseInfo; Cause::ALL.len()] = [
    info(
        OomKilled,
        "oom_killed",
        "OOM-killed",
        Critical,
        false,
        &[Unknown],
        false,
    ),
    info(
        CpuStarved,
        "cpu_starved",
        "CPU-starved",
        Critical,
        false,
        &[ElbHealthCheckFailed, ContainerHealthCheckFailed],
        true,
    ),
    info(
        ElbHealthCheckFailed,
        "elb_health_check_failed",
        "failed ALB health checks",
        Critical,
        false,
        &[CpuStarved],
        true,
    ),
    info(
        ContainerHealthCheckFailed,
        "container_health_check_failed",
        "failed container health check",
        Critical,
        false,
        &[CpuStarved],
        true,
    ),
    info(
        AppCrashed,
        "app_crashed",
        "app crashed",
        Critical,
        false,
        &[],
        false,
    ),
    CauseInfo {
        cause: AppExited,
        name: "app_exited",
        label: "app exited",
        // A service expected it to keep running; a standalone job was meant to end.
        service_severity: Warning,
        standalone_severity: Info,
        benign_service: false,
        benign_standalone: true,
        related: &[],
        ordered_by_ecs: false,
    },
    info(
        FailedToStart,
        "failed_to_start",
        "failed to start",
        Critical,
        false,
        &[],
        false,
    ),
    info(
        SpotInterrupted,
        "spot_interrupted",
        "Spot interrupted",
        Warning,
        false,
        &[],
        true,
    ),
    info(
        PlatformMaintenance,
        "platform_maintenance",
        "AWS maintenance",
        Info,
        true,
        &[],
        true,
    ),
    info(
        HostLost,
        "host_lost",
        "host lost",
        Warning,
        false,
        &[],
        true,
    ),
    info(
        Deployment,
        "deployment",
        "deployment",
        Info,
        true,
        &[],
        true,
    ),
    info(
        UserStopped,
        "user_stopped",
        "stopped by user",
        Info,
        true,
        &[],
        true,
    ),
    info(
        Unknown,
        "unknown",
        "stopped, cause unknown",
        Warning,
        false,
        &[OomKilled],
        false,
    ),
];

impl CauseInfo {
    pub fn severity(&self, service_task: bool) -> Severity {
        if service_task {
            self.service_severity
        } else {
            self.standalone_severity
        }
    }

    pub fn benign(&self, service_task: bool) -> bool {
        if service_task {
            self.benign_service
        } else {
            self.benign_standalone
        }
    }
}

/// A rule: its stable id, the causes it may conclude, and the pure function that decides.
pub(crate) struct Rule {
    pub id: &'static str,
    pub emits: &'static [Cause],
    pub check: fn(&Context<'_>) -> Option<Verdict>,
}

/// Every rule, in the order an on-call engineer reads a stop: what ECS says first (start
/// failures, Spot, lost hosts, maintenance, health-check kills, OOM, the scheduler, a user),
/// then what the containers did, and last the catch-all, which always answers.
pub(crate) const RULES: &[Rule] = &[
    Rule {
        id: "start.image_pull",
        emits: &[FailedToStart],
        check: |ctx| start::failed_to_start(ctx, start::Family::ImagePull),
    },
    Rule {
        id: "start.secrets",
        emits: &[FailedToStart],
        check: |ctx| start::failed_to_start(ctx, start::Family::Secrets),
    },
    Rule {
        id: "start.log_driver",
        emits: &[FailedToStart],
        check: |ctx| start::failed_to_start(ctx, start::Family::LogDriver),
    },
    Rule {
        id: "start.network",
        emits: &[FailedToStart],
        check: |ctx| start::failed_to_start(ctx, start::Family::Network),
    },
    Rule {
        id: "start.volume",
        emits: &[FailedToStart],
        check: |ctx| start::failed_to_start(ctx, start::Family::Volume),
    },
    Rule {
        id: "start.runtime",
        emits: &[FailedToStart],
        check: |ctx| start::failed_to_start(ctx, start::Family::Runtime),
    },
    Rule {
        id: "start.other",
        emits: &[FailedToStart],
        check: |ctx| start::failed_to_start(ctx, start::Family::Other),
    },
    Rule {
        id: "infrastructure.spot",
        emits: &[SpotInterrupted],
        check: infrastructure::spot_interrupted,
    },
    Rule {
        id: "infrastructure.host_lost",
        emits: &[HostLost],
        check: infrastructure::host_lost,
    },
    Rule {
        id: "infrastructure.maintenance",
        emits: &[PlatformMaintenance],
        check: infrastructure::platform_maintenance,
    },
    Rule {
        id: "health.elb",
        emits: &[ElbHealthCheckFailed, CpuStarved],
        check: health::elb_health_check,
    },
    Rule {
        id: "health.container",
        emits: &[ContainerHealthCheckFailed, CpuStarved],
        check: health::container_health_check,
    },
    Rule {
        id: "memory.oom_reason",
        emits: &[OomKilled],
        check: memory::oom_by_reason,
    },
    Rule {
        id: "scheduler.deployment",
        emits: &[Deployment],
        check: scheduler::deployment,
    },
    Rule {
        id: "scheduler.user_stopped",
        emits: &[UserStopped],
        check: scheduler::user_stopped,
    },
    Rule {
        id: "exit.essential",
        emits: &[OomKilled, AppCrashed, AppExited, Unknown],
        check: exit::essential_exit,
    },
    Rule {
        id: "exit.unknown",
        emits: &[Unknown],
        check: |ctx| Some(exit::unknown(ctx)),
    },
];

/// The id of the catch-all rule, used when no rule answers (it always does).
pub const FALLBACK_RULE: &str = "exit.unknown";

/// Runs the rules in order; the first verdict wins and carries the rule's id.
pub(crate) fn classify(ctx: &Context<'_>) -> Verdict {
    for rule in RULES {
        if let Some(mut v) = (rule.check)(ctx) {
            debug_assert!(
                rule.emits.contains(&v.cause),
                "rule {} emitted the undeclared cause {:?}",
                rule.id,
                v.cause
            );
            v.rule = rule.id;
            return v;
        }
    }
    let mut v = exit::unknown(ctx);
    v.rule = FALLBACK_RULE;
    v
}

#[cfg(test)]
mod tests {
    use super::{CAUSES, Cause, FALLBACK_RULE, RULES};

    #[test]
    fn every_cause_has_exactly_one_entry_in_its_place() {
        for (i, cause) in Cause::ALL.iter().enumerate() {
            let entries = CAUSES.iter().filter(|c| c.cause == *cause).count();
            assert_eq!(entries, 1, "{cause:?} has {entries} CauseInfo entries");
            assert_eq!(CAUSES[i].cause, *cause, "CAUSES[{i}] is out of order");
            assert_eq!(*cause as usize, i, "Cause::ALL is out of declaration order");
        }
        assert_eq!(CAUSES.len(), 13, "the contract names thirteen causes");
    }

    #[test]
    fn every_cause_is_emitted_by_some_rule() {
        for cause in Cause::ALL {
            assert!(
                RULES.iter().any(|r| r.emits.contains(cause)),
                "no rule declares {cause:?}"
            );
        }
    }

    #[test]
    fn rule_ids_are_unique_and_dotted() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(r.id.contains('.'), "{}", r.id);
            assert!(!r.emits.is_empty(), "{} emits nothing", r.id);
            assert!(
                RULES[i + 1..].iter().all(|o| o.id != r.id),
                "duplicate rule id {}",
                r.id
            );
        }
        assert_eq!(RULES.last().map(|r| r.id), Some(FALLBACK_RULE));
    }

    #[test]
    fn related_causes_are_related_both_ways() {
        for c in &CAUSES {
            for r in c.related {
                assert!(
                    r.info().related.contains(&c.cause),
                    "{} relates to {} but not back",
                    c.name,
                    r.as_str()
                );
            }
        }
    }

    #[test]
    fn cause_names_are_unique_snake_case() {
        for c in &CAUSES {
            assert!(
                c.name
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_')
            );
            assert_eq!(CAUSES.iter().filter(|o| o.name == c.name).count(), 1);
            assert!(
                !c.related.contains(&c.cause),
                "{} relates to itself",
                c.name
            );
        }
    }
}
