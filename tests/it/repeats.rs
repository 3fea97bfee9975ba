//! Crash loops (core/src/diagnose/repeats.rs): earlier stops of the same service with a related
//! cause raise the severity; unrelated ones do not count.

use ecs_autopsy::evidence::{Evidence, RecentContainerExit, RecentStop};
use ecs_autopsy::{Cause, Severity, diagnose};

use crate::support::{event_with, exited, stop_time};

fn recent(n: usize, code: i64) -> Vec<RecentStop> {
    (0..n)
        .map(|i| RecentStop {
            task_arn: format!("arn:aws:ecs:eu-west-1:123456789012:task/prod/{i:032x}"),
            stopped_at: Some(stop_time() - chrono::Duration::minutes(5 * (i as i64 + 1))),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![RecentContainerExit {
                name: "web".into(),
                exit_code: Some(code),
                reason: None,
            }],
        })
        .collect()
}

#[test]
fn repeated_exits_of_a_service_are_a_crash_loop_with_raised_severity() {
    let event = event_with(exited(0, None));
    let alone = diagnose(&event, &Evidence::default());
    assert_eq!(alone.severity, Severity::Warning);
    let evidence = Evidence {
        recent_stops: Some(recent(3, 0)),
        ..Evidence::default()
    };
    let looped = diagnose(&event, &evidence);
    assert_eq!(looped.cause, Cause::AppExited);
    assert_eq!(looped.repeats, 3);
    assert_eq!(looped.severity, Severity::Critical);
    assert!(
        looped
            .findings
            .iter()
            .any(|f| f.observed.contains("crash loop"))
    );
}

#[test]
fn earlier_stops_with_other_causes_do_not_count() {
    let event = event_with(exited(1, None));
    let evidence = Evidence {
        recent_stops: Some(recent(3, 0)),
        ..Evidence::default()
    };
    assert_eq!(diagnose(&event, &evidence).repeats, 0);
}
