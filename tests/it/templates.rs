//! The templates agree with the code: Athena's projected locations are the archive's keys, and
//! the member account's read role grants exactly the central function's read actions.

use std::collections::BTreeSet;

use ecs_autopsy::config::Config;
use ecs_autopsy::deliver::Layout;
use serde_json::json;

use crate::support::event_with;

fn template(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
        .expect("template")
}

/// The read actions (ECS, ELB, CloudWatch metrics, Logs, Auto Scaling) a template grants.
fn read_actions(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter(|a| {
            [
                "ecs:",
                "elasticloadbalancing:",
                "cloudwatch:",
                "logs:",
                "application-autoscaling:",
            ]
            .iter()
            .any(|p| a.starts_with(p))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn athena_projection_locates_exactly_the_archive_keys() {
    let text = template("template.yaml");
    let location = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("storage.location.template: "))
        .expect("the Glue table has a location template");
    let event = event_with(json!({"group": "service:web"}));
    let config = Config::from_lookup(|k| match k {
        "INCIDENT_TOPIC_ARN" => Some("arn:aws:sns:eu-west-1:123456789012:t".into()),
        "INCIDENT_BUCKET" => Some("acme-incidents".into()),
        _ => None,
    })
    .expect("config");

    let key = Layout::new(config.prefix.clone()).keys_for(&event).record;
    let projected = location
        .trim_start_matches("!Sub ")
        .trim_matches('"')
        .replace("s3://${ArchiveBucket}/", "")
        .replace("${ArchivePrefix}", &config.prefix)
        .replace("${!cluster}", "prod")
        .replace("${!service}", "web")
        .replace("${!date}", "2026-10-01");

    assert_eq!(format!("{projected}/{}.json", event.task_id()), key);
}

#[test]
fn the_member_read_role_grants_the_functions_read_actions_and_no_more() {
    let central = read_actions(&template("template.yaml"));
    let member = read_actions(&template("member-account.yaml"));

    assert!(central.contains("ecs:DescribeTasks") && central.contains("logs:GetLogEvents"));
    assert_eq!(member, central);
}
