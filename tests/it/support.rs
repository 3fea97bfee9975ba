//! Fixtures from events/ and small builders for evidence.

use chrono::{DateTime, Duration, Utc};
use ecs_autopsy::Diagnosis;
use ecs_autopsy::event::{Incoming, TaskStateChange, parse_event};
use ecs_autopsy::evidence::{Evidence, Metrics, Point, Series, ServiceEvent, ServiceFacts};
use serde_json::json;

/// The text of events/NAME.json and, when present, events/NAME.evidence.json.
#[macro_export]
macro_rules! event_text {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/events/",
            $name,
            ".json"
        ))
    };
}

#[macro_export]
macro_rules! evidence_text {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/events/",
            $name,
            ".evidence.json"
        ))
    };
}

pub fn stopped(text: &str) -> TaskStateChange {
    match parse_event(text) {
        Ok(Incoming::Stopped(e)) => *e,
        other => panic!("expected a stopped task, got {other:?}"),
    }
}

pub fn evidence(text: &str) -> Evidence {
    serde_json::from_str(text).expect("evidence fixture parses")
}

/// A per-minute series ending at `end`, oldest value first.
pub fn series_ending(end: DateTime<Utc>, values: &[f64]) -> Series {
    let n = values.len() as i64;
    Series::new(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                at: end - Duration::minutes(n - 1 - i as i64),
                value: *v,
            })
            .collect(),
    )
}

/// A minimal stopped event built from JSON detail fields merged over sane defaults.
pub fn event_with(detail: serde_json::Value) -> TaskStateChange {
    let mut base = serde_json::json!({
        "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123456789abcdef0123456789abcdef",
        "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
        "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
        "group": "service:web",
        "launchType": "FARGATE",
        "cpu": "512",
        "memory": "1024",
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "createdAt": "2026-10-01T10:00:00Z",
        "startedAt": "2026-10-01T10:00:30Z",
        "stoppingAt": "2026-10-01T12:00:00Z",
        "stoppedAt": "2026-10-01T12:00:31Z",
        "containers": [{"name": "web", "lastStatus": "STOPPED"}]
    });
    if let (Some(b), Some(d)) = (base.as_object_mut(), detail.as_object()) {
        for (k, v) in d {
            b.insert(k.clone(), v.clone());
        }
    }
    let envelope = serde_json::json!({
        "version": "0", "id": "e1", "detail-type": "ECS Task State Change", "source": "aws.ecs",
        "account": "123456789012", "time": "2026-10-01T12:00:32Z", "region": "eu-west-1",
        "resources": [], "detail": base
    });
    stopped(&envelope.to_string())
}

/// When ECS began stopping the task in [`event_with`]'s defaults.
pub fn kill_time() -> DateTime<Utc> {
    "2026-10-01T12:00:00Z".parse().expect("valid time")
}

/// When the task stopped in [`event_with`]'s defaults.
pub fn stop_time() -> DateTime<Utc> {
    "2026-10-01T12:00:31Z".parse().expect("valid time")
}

// --- hand-built stops and evidence shared by the rule modules ---------------------------------

pub const ELB_REASON: &str = "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef)";

pub const OOM_REASON: &str = "OutOfMemoryError: Container killed due to memory usage";

pub fn exited(code: i64, reason: Option<&str>) -> serde_json::Value {
    let mut c = json!({"name": "web", "lastStatus": "STOPPED", "exitCode": code});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    json!({
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "stoppingAt": "2026-10-01T12:00:30Z",
        "containers": [c]
    })
}

pub fn elb_kill(exit: i64) -> serde_json::Value {
    json!({
        "stopCode": "ServiceSchedulerInitiated",
        "stoppedReason": ELB_REASON,
        "containers": [{"name": "web", "lastStatus": "STOPPED", "exitCode": exit}]
    })
}

pub fn memory_evidence(values: &[f64]) -> Evidence {
    Evidence {
        metrics: Some(Metrics {
            task_memory_pct: Some(series_ending(stop_time(), values)),
            ..Metrics::default()
        }),
        ..Evidence::default()
    }
}

pub fn service_events(messages: &[&str]) -> ServiceFacts {
    ServiceFacts {
        name: "web".into(),
        events: messages
            .iter()
            .enumerate()
            .map(|(i, m)| ServiceEvent {
                at: kill_time() - chrono::Duration::minutes(3 - i as i64),
                message: (*m).to_owned(),
            })
            .collect(),
        ..ServiceFacts::default()
    }
}

pub const TIMED_OUT: &str = "(service web) (port 8080) is unhealthy in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef) due to (reason Request timed out).";

/// What the diagnosis observed for `signal`; fails the test, naming the findings, when no
/// finding has that signal.
pub fn observed<'a>(d: &'a Diagnosis, signal: &str) -> &'a str {
    d.findings
        .iter()
        .find(|f| f.signal == signal)
        .map(|f| f.observed.as_str())
        .unwrap_or_else(|| panic!("no {signal:?} finding in {:?}", d.findings))
}
