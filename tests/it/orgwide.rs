//! One responder for many accounts and regions, against the emulator: the sandbox seeds a stop in
//! a member account and another region with the read role (its trust policy requires the
//! external id), and the same stop as if from an account without the role. moto keys accounts by
//! credentials, so evidence found at all was read through the assumed role.

use std::time::Duration;

use ecs_autopsy::app::Handled;
use ecs_autopsy::deliver::Outcome;
use ecs_autopsy::report::NotificationStatus;
use serde_json::Value;

use crate::reporting::{Target, target, target_with};
use crate::sandbox::sandbox;

const MEMBER: &str = "210987654321";
const ROLELESS: &str = "333333333333";

fn payload(scenario: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(sandbox().event_path(scenario)).expect("event"))
        .expect("json")
}

async fn org_target(external_id: &str) -> Target {
    target_with(
        false,
        &[
            ("MEMBER_ROLE_NAME", "ecs-autopsy-read"),
            ("MEMBER_EXTERNAL_ID", external_id),
        ],
    )
    .await
}

/// Handles `scenario`, expects it archived and notified, returns the stored record.
async fn archived_and_notified(t: &Target, scenario: &str) -> Value {
    let handled = t
        .app
        .handle(payload(scenario), Duration::from_secs(30))
        .await
        .expect("handled");
    let Handled::Done(Outcome::Archived {
        key, notification, ..
    }) = handled
    else {
        panic!("not archived: {handled:?}");
    };
    assert_eq!(notification, NotificationStatus::Sent, "notified");
    assert_eq!(t.messages().await.len(), 1, "one message");
    let body = t.object(&key).await.expect("record archived");
    serde_json::from_str(body.trim_end()).expect("record JSON")
}

fn missing_reasons(record: &Value) -> Vec<String> {
    record["evidence"]["missing"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|e| e["reason"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_stop_in_a_member_account_and_region_is_diagnosed_through_the_assumed_role() {
    let t = org_target("sandbox-external-id").await;
    let event = sandbox().event("member-oom");

    let scoped = t.app.clients_for(&event).await;
    let record = archived_and_notified(&t, "member-oom").await;

    assert_eq!(
        scoped.role_arn(),
        Some("arn:aws:iam::210987654321:role/ecs-autopsy-read")
    );
    assert_eq!(record["account"], MEMBER);
    assert_eq!(record["region"], "us-east-1");
    assert_eq!(record["diagnosis"]["cause"], "oom_killed");
    // Only the member account's emulator state has this cluster, service and task definition.
    assert!(record["evidence"]["task_definition"].is_object());
    assert_eq!(record["evidence"]["service"]["name"], "judge-api");
    assert!(record["evidence"]["metrics"].is_object());
    assert_eq!(missing_reasons(&record), Vec::<String>::new());
    // Storm state is scoped by account.
    assert!(
        t.keys()
            .await
            .iter()
            .any(|k| k.contains("_state/storms/account=210987654321/cluster=member-oom/")),
        "storm state keyed by account"
    );
}

#[tokio::test]
async fn a_member_account_without_the_role_is_archived_notified_and_names_the_role() {
    let t = org_target("sandbox-external-id").await;

    let record = archived_and_notified(&t, "roleless-member-oom").await;

    assert_eq!(record["account"], ROLELESS);
    let reasons = missing_reasons(&record);
    assert!(!reasons.is_empty());
    for r in &reasons {
        assert!(
            r.contains("arn:aws:iam::333333333333:role/ecs-autopsy-read")
                && r.contains("account 333333333333"),
            "{r}"
        );
    }
    assert!(record["evidence"]["task_definition"].is_null());
    // The verdict still comes from the event alone.
    assert_eq!(record["diagnosis"]["cause"], "oom_killed");
}

#[tokio::test]
async fn a_wrong_external_id_is_refused_and_said_so() {
    let t = org_target("not-the-agreed-id").await;

    let record = archived_and_notified(&t, "member-oom").await;

    let reasons = missing_reasons(&record);
    assert!(!reasons.is_empty());
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("could not assume arn:aws:iam::210987654321:role/ecs-autopsy-read")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn without_member_role_name_another_account_is_not_read_and_the_record_says_why() {
    let t = target(false).await;

    let record = archived_and_notified(&t, "member-oom").await;

    let reasons = missing_reasons(&record);
    assert!(!reasons.is_empty());
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("account 210987654321") && r.contains("MEMBER_ROLE_NAME")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_crash_loop_in_a_member_account_is_counted_from_that_accounts_stops() {
    let t = org_target("sandbox-external-id").await;

    let record = archived_and_notified(&t, "member-crash-loop").await;

    assert_eq!(record["diagnosis"]["cause"], "app_crashed");
    assert!(
        record["diagnosis"]["repeats"].as_u64().unwrap_or(0) >= 2,
        "{}",
        record["diagnosis"]["repeats"]
    );
    let stops = record["evidence"]["recent_stops"]
        .as_array()
        .expect("recent stops read through the role");
    assert!(
        stops.iter().all(|s| s["task_arn"]
            .as_str()
            .is_some_and(|a| a.contains(":210987654321:task/member-crash-loop/"))),
        "{stops:?}"
    );
}

/// The AssumeRole calls the emulator granted for `role_arn`.
fn assumed_role_count(role_arn: &str) -> usize {
    std::fs::read_to_string(&sandbox().assume_role_log)
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == role_arn)
        .count()
}

#[tokio::test]
async fn one_assume_role_serves_every_incident_of_an_account_until_the_credentials_near_expiry() {
    let t = org_target("sandbox-external-id").await;
    let role = "arn:aws:iam::444444444444:role/ecs-autopsy-read";
    let base = payload("cache-member-oom");

    for i in 0..3 {
        let mut p = base.clone();
        let arn = format!("arn:aws:ecs:us-east-1:444444444444:task/member-oom/cache{i:027}");
        p["detail"]["taskArn"] = arn.clone().into();
        p["resources"] = serde_json::json!([arn]);
        t.app
            .handle(p, Duration::from_secs(30))
            .await
            .expect("handled");
    }

    assert_eq!(assumed_role_count(role), 1);
}
