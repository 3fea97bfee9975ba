//! Hostile and oversized input: every channel keeps its limits and nothing breaks.

use ecs_autopsy::deliver::Layout;
use ecs_autopsy::evidence::{ContainerLogTail, Evidence, LogLine};
use ecs_autopsy::report::message::{self, MESSAGE_BUDGET};
use ecs_autopsy::report::text::is_gsm7_safe;
use ecs_autopsy::report::{Record, render_html, render_subject};
use ecs_autopsy::{config::Config, diagnose};
use serde_json::json;

use crate::support::event_with;

fn check_channels(event: &ecs_autopsy::TaskStateChange, evidence: &Evidence) {
    let d = diagnose(event, evidence);
    let subject = render_subject(event, &d);
    assert!(subject.len() <= 99 && subject.is_ascii() && !subject.chars().any(|c| c.is_control()));
    let record = Record::new(event, evidence, &d);
    let line = record.to_json_line().expect("serializes");
    assert!(!line.contains('\n'));
    let n = message::build(&record, Some("https://example.com/r"));
    assert!(
        n.message.len() <= MESSAGE_BUDGET,
        "{} bytes",
        n.message.len()
    );
    assert!(
        n.sms.chars().count() <= 140 && n.sms.chars().all(is_gsm7_safe),
        "{}",
        n.sms
    );
    assert!(n.attributes.iter().all(|(_, v)| !v.is_empty()));
    let html = render_html(event, evidence, &d).expect("renders");
    assert!(!html.contains("<script>"));
}

#[test]
fn a_10000_character_stopped_reason_keeps_every_limit() {
    let reason = format!(
        "Task failed ELB health checks in (target-group x) {}",
        "<script>ü\u{7}\r\n".repeat(1500)
    );
    let event =
        event_with(json!({"stopCode": "ServiceSchedulerInitiated", "stoppedReason": reason}));
    check_channels(&event, &Evidence::default());
}

#[test]
fn a_hundred_containers_keep_every_limit() {
    let containers: Vec<_> = (0..100)
        .map(|i| json!({"name": format!("c{i}-{}", "x".repeat(200)), "exitCode": if i == 57 { 139 } else { 0 }, "reason": "r".repeat(500)}))
        .collect();
    let event = event_with(
        json!({"stopCode": "EssentialContainerExited", "stoppedReason": "Essential container in task exited", "containers": containers}),
    );
    check_channels(&event, &Evidence::default());
}

#[test]
fn five_thousand_log_lines_keep_every_limit() {
    let event = event_with(
        json!({"stopCode": "EssentialContainerExited", "containers": [{"name": "web", "exitCode": 1}]}),
    );
    let evidence = Evidence {
        logs: Some(vec![ContainerLogTail {
            container: "web".into(),
            lines: (0..5000)
                .map(|i| LogLine {
                    at: None,
                    message: format!("line {i} {}", "é\u{1b}[31m".repeat(40)),
                })
                .collect(),
            ..ContainerLogTail::default()
        }]),
        ..Evidence::default()
    };
    check_channels(&event, &evidence);
}

#[test]
fn control_characters_in_names_never_reach_subject_or_sms() {
    let event = event_with(json!({
        "clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/prod\r\nBcc: x@example.com",
        "group": "service:web\u{0}\u{7}\t[1]",
        "stopCode": "UserInitiated",
    }));
    check_channels(&event, &Evidence::default());
}

#[test]
fn s3_keys_from_hostile_names_stay_inside_their_partition() {
    let event = event_with(json!({
        "clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/../../etc",
        "group": "service:a/b?c#d%e f",
        "taskArn": "arn:aws:ecs:eu-west-1:1:task/prod/../x",
    }));
    let d = diagnose(&event, &Evidence::default());
    let record = Record::new(&event, &Evidence::default(), &d);
    let config = Config::from_lookup(|k| match k {
        "INCIDENT_TOPIC_ARN" => Some("arn:aws:sns:eu-west-1:1:t".into()),
        "INCIDENT_BUCKET" => Some("b-bucket".into()),
        _ => None,
    })
    .expect("config");
    let key = Layout::new(config.prefix.clone()).record_key(&record);
    assert!(key.starts_with("incidents/cluster="), "{key}");
    assert_eq!(key.matches('/').count(), 4, "{key}");
    assert!(
        !key.contains("..") && !key.contains('?') && !key.contains('#') && !key.contains(' '),
        "{key}"
    );
}
