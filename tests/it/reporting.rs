//! Reporting against the emulator: the archived record and HTML report in S3, the SNS message
//! read back from a subscribed SQS queue, notify-once under redelivery and crashes, storms.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_smithy_mocks::{RuleMode, mock};
use aws_smithy_types::error::ErrorMetadata;
use ecs_autopsy::app::{App, Handled};
use ecs_autopsy::config::Config;
use ecs_autopsy::deliver::Outcome;
use ecs_autopsy::deliver::s3::s3_client;
use ecs_autopsy::report::{NotificationStatus, Record};
use serde_json::Value;

use crate::sandbox::{PLANTED, sandbox};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A topic with its own subscribed queue and a bucket, so parallel tests never share messages.
pub(crate) struct Target {
    pub(crate) app: App,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

pub(crate) async fn target(notify_benign: bool) -> Target {
    target_with(notify_benign, &[]).await
}

/// A target whose configuration also has `extra` (e.g. the org-wide variables).
pub(crate) async fn target_with(notify_benign: bool, extra: &[(&str, &str)]) -> Target {
    let sb = sandbox();
    let sdk = sb.sdk_config().await;
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let name = format!("incidents-{}-{n}", std::process::id());
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let topic_arn = sns
        .create_topic()
        .name(&name)
        .send()
        .await
        .expect("create topic")
        .topic_arn()
        .expect("topic arn")
        .to_owned();
    let queue_url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_owned();
    let queue_arn = format!("arn:aws:sqs:eu-west-1:123456789012:{name}");
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .expect("subscribe");
    let bucket = format!("archive-{}-{n}", std::process::id());
    create_bucket(&sdk, &bucket).await;
    let config = Config::from_lookup(|k| match k {
        "INCIDENT_TOPIC_ARN" => Some(topic_arn.clone()),
        "INCIDENT_BUCKET" => Some(bucket.clone()),
        "NOTIFY_BENIGN" => Some(notify_benign.to_string()),
        _ => extra
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned()),
    })
    .expect("valid config");
    Target {
        app: App::new(&sdk, config),
        sqs,
        queue_url,
    }
}

/// Creates `bucket` in the emulator's S3; returns the client that made it.
async fn create_bucket(sdk: &aws_config::SdkConfig, bucket: &str) -> aws_sdk_s3::Client {
    let s3 = s3_client(sdk);
    s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create bucket");
    s3
}

impl Target {
    pub(crate) async fn messages(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for _ in 0..5 {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let batch = got.messages();
            if batch.is_empty() {
                break;
            }
            for m in batch {
                out.push(
                    serde_json::from_str(m.body().unwrap_or("{}")).expect("SNS envelope JSON"),
                );
                if let Some(h) = m.receipt_handle() {
                    let _ = self
                        .sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(h)
                        .send()
                        .await;
                }
            }
        }
        out
    }

    pub(crate) async fn object(&self, key: &str) -> Option<String> {
        let out = self
            .app
            .archive
            .store
            .client
            .get_object()
            .bucket(&self.app.archive.store.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        let bytes = out.body.collect().await.ok()?.into_bytes();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Writes a pending record for `scenario` claimed at `claimed_at`.
    async fn plant_pending(&self, scenario: &str, claimed_at: chrono::DateTime<chrono::Utc>) {
        let event = crate::support::stopped(&payload(scenario).to_string());
        let d = ecs_autopsy::diagnose(&event, &Default::default());
        let mut record = Record::new(&event, &Default::default(), &d);
        record.claimed_at = Some(claimed_at);
        let key = self.app.archive.record_key(&record);
        self.plant(&key, record.to_json_line().expect("json").into_bytes())
            .await;
    }

    /// Writes `body` under `key` in the archive's bucket, as another writer would have.
    async fn plant(&self, key: &str, body: Vec<u8>) {
        self.app
            .archive
            .store
            .client
            .put_object()
            .bucket(&self.app.archive.store.bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .expect("plant an object");
    }

    /// The incident records in the bucket (not the HTML reports, not the storm state).
    pub(crate) async fn records(&self) -> Vec<String> {
        self.keys()
            .await
            .into_iter()
            .filter(|k| k.ends_with(".json") && !k.contains("_state"))
            .collect()
    }

    pub(crate) async fn keys(&self) -> Vec<String> {
        let out = self
            .app
            .archive
            .store
            .client
            .list_objects_v2()
            .bucket(&self.app.archive.store.bucket)
            .send()
            .await
            .expect("list");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }
}

/// The `i`-th stop of a storm built from the oom-leak `base`: its own task id (`tag` then digits)
/// and a stop 40 s after the previous one.
pub(crate) fn storm_stop(base: &Value, tag: &str, i: i64) -> Value {
    let mut p = base.clone();
    let digits = 32 - tag.len();
    let arn = format!("arn:aws:ecs:eu-west-1:123456789012:task/oom-leak/{tag}{i:0digits$}");
    let stopped =
        chrono::DateTime::parse_from_rfc3339(p["detail"]["stoppedAt"].as_str().expect("time"))
            .expect("time")
            .to_utc()
            + chrono::Duration::seconds(40 * i);
    p["detail"]["taskArn"] = arn.clone().into();
    p["detail"]["stoppedAt"] = stopped
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .into();
    p["resources"] = serde_json::json!([arn]);
    p
}

fn payload(scenario: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(sandbox().event_path(scenario)).expect("event"))
        .expect("json")
}

fn key_of(handled: &Handled) -> String {
    match handled {
        Handled::Done(Outcome::Archived { key, .. } | Outcome::Duplicate { key }) => key.clone(),
        other => panic!("not archived: {other:?}"),
    }
}

#[tokio::test]
async fn seed_incident_is_archived_and_published_per_the_contract() {
    let t = target(false).await;
    let handled = t
        .app
        .handle(payload("seed"), Duration::from_secs(30))
        .await
        .expect("handled");
    let key = key_of(&handled);
    assert!(
        key.starts_with("incidents/cluster=seed/service=judge-api/date="),
        "{key}"
    );
    assert!(key.ends_with(".json"));

    let body = t.object(&key).await.expect("record archived");
    assert_eq!(
        body.trim_end().lines().count(),
        1,
        "one JSON object on one line"
    );
    let record: Value = serde_json::from_str(body.trim_end()).expect("JSON");
    assert_eq!(record["schema_version"], 1);
    assert_eq!(record["diagnosis"]["cause"], "cpu_starved");
    assert_eq!(record["notified"], true);
    assert!(
        record["evidence"]["metrics"]["task_cpu_pct"].is_object(),
        "evidence kept for replay"
    );

    let html = t
        .object(&key.replace(".json", ".html"))
        .await
        .expect("HTML beside it");
    assert!(html.contains("<svg"), "charts embedded");

    let messages = t.messages().await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    let subject = m["Subject"].as_str().expect("subject");
    assert!(
        subject.len() <= 99 && subject.is_ascii() && !subject.contains('\n'),
        "{subject}"
    );
    assert!(subject.contains("CPU-starved"));
    let attrs = &m["MessageAttributes"];
    assert_eq!(attrs["cause"]["Value"], "cpu_starved");
    assert_eq!(attrs["severity"]["Value"], "critical");
    assert_eq!(attrs["cluster"]["Value"], "seed");
    assert_eq!(attrs["service"]["Value"], "judge-api");
    // The queue gets the "sqs" form: the JSON record.
    let inner: Value =
        serde_json::from_str(m["Message"].as_str().expect("message")).expect("record JSON");
    assert_eq!(inner["diagnosis"]["cause"], "cpu_starved");
    for planted in PLANTED {
        assert!(
            !body.contains(planted) && !html.contains(planted) && !m.to_string().contains(planted)
        );
    }
}

#[tokio::test]
async fn the_queue_form_names_the_archive_and_leaves_the_event_and_evidence_to_it() {
    // Arrange
    let t = target(false).await;

    // Act
    let handled = t
        .app
        .handle(payload("seed"), Duration::from_secs(30))
        .await
        .expect("handled");

    // Assert: the queue gets the record as archived, but for its inputs (event and evidence),
    // and the record's key.
    let key = key_of(&handled);
    let messages = t.messages().await;
    assert_eq!(messages.len(), 1);
    let inner: Value = serde_json::from_str(messages[0]["Message"].as_str().expect("message"))
        .expect("record JSON");
    assert_eq!(inner["archive_key"], key.as_str());
    assert_eq!(inner["diagnosis"]["cause"], "cpu_starved");
    assert!(inner["diagnosis"]["evidence"].is_array(), "findings travel");
    assert!(
        inner["evidence"].is_null(),
        "the evidence stays in the archive"
    );
    assert!(inner["event"].is_null(), "the event stays in the archive");
    let archived: Value =
        serde_json::from_str(t.object(&key).await.expect("record").trim_end()).expect("JSON");
    for field in [
        "schema_version",
        "task_arn",
        "task_id",
        "cluster",
        "service",
        "family",
        "region",
        "account",
        "stopped_at",
        "notified",
        "notification",
        "diagnosis",
    ] {
        assert_eq!(inner[field], archived[field], "{field} travels as archived");
    }
    assert!(archived["event"]["detail"]["taskArn"].is_string());
    assert!(archived["evidence"]["task_definition"].is_object());
    assert!(archived["evidence"]["metrics"]["task_cpu_pct"].is_object());
    assert!(archived["evidence"]["logs"].is_array());
}

#[tokio::test]
async fn the_same_event_three_times_gives_one_record_and_one_message() {
    let t = target(false).await;
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.push(
            t.app
                .handle(payload("oom-leak"), Duration::from_secs(30))
                .await
                .expect("handled"),
        );
    }
    assert!(matches!(
        outcomes[1],
        Handled::Done(Outcome::Duplicate { .. })
    ));
    assert!(matches!(
        outcomes[2],
        Handled::Done(Outcome::Duplicate { .. })
    ));
    let records: Vec<String> = t
        .keys()
        .await
        .into_iter()
        .filter(|k| k.ends_with(".json") && !k.contains("_state"))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(t.messages().await.len(), 1);
}

#[tokio::test]
async fn a_publish_failure_is_retried_and_still_notifies_once() {
    let mut t = target(false).await;
    let sdk = sandbox().sdk_config().await;
    // The first Publish fails (as if the function died between archive and publish).
    let fail_once = mock!(aws_sdk_sns::Client::publish)
        .sequence()
        .error(|| {
            aws_sdk_sns::operation::publish::PublishError::generic(
                ErrorMetadata::builder()
                    .code("InternalError")
                    .message("injected")
                    .build(),
            )
        })
        .times(1)
        .build();
    // No request leaves this client: the mock HTTP client answers for it.
    let failing = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&sdk)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(
                aws_smithy_mocks::MockResponseInterceptor::new()
                    .rule_mode(RuleMode::MatchAny)
                    .with_rule(&fail_once),
            )
            .build(),
    );
    let real = std::mem::replace(&mut t.app.notifier.client, failing);
    let first = t
        .app
        .handle(payload("credits"), Duration::from_secs(30))
        .await;
    assert!(first.is_err(), "the failure surfaces so Lambda retries");
    t.app.notifier.client = real;
    let second = t
        .app
        .handle(payload("credits"), Duration::from_secs(30))
        .await
        .expect("retry handled");
    assert!(
        matches!(
            second,
            Handled::Done(Outcome::Archived {
                notification: NotificationStatus::Sent,
                ..
            })
        ),
        "{second:?}"
    );
    assert_eq!(t.messages().await.len(), 1);
}

#[tokio::test]
async fn a_crash_after_archiving_is_recovered_on_retry() {
    let t = target(false).await;
    // Leave what a crashed invocation leaves: a pending record with an old claim.
    t.plant_pending(
        "http-502",
        chrono::Utc::now() - chrono::Duration::minutes(10),
    )
    .await;
    let handled = t
        .app
        .handle(payload("http-502"), Duration::from_secs(30))
        .await
        .expect("handled");
    assert!(
        matches!(
            handled,
            Handled::Done(Outcome::Archived {
                notification: NotificationStatus::Sent,
                ..
            })
        ),
        "{handled:?}"
    );
    assert_eq!(t.messages().await.len(), 1);
    let again = t
        .app
        .handle(payload("http-502"), Duration::from_secs(30))
        .await
        .expect("handled");
    assert!(matches!(again, Handled::Done(Outcome::Duplicate { .. })));
    assert_eq!(t.messages().await.len(), 0);
}

#[tokio::test]
async fn a_crash_right_after_the_claim_is_recovered_with_a_full_diagnosis() {
    // Arrange: what an invocation that died while gathering leaves: the placeholder claim, whose
    // verdict is the event's first look (an ELB kill), claimed long ago.
    let t = target(false).await;
    let event = crate::support::stopped(&payload("seed").to_string());
    let first_look = ecs_autopsy::diagnose(&event, &Default::default());
    assert_eq!(first_look.cause.as_str(), "elb_health_check_failed");
    let placeholder = Record::placeholder(
        &event,
        &first_look,
        chrono::Utc::now() - chrono::Duration::minutes(10),
    );
    let key = t.app.archive.keys_for(&event).record;
    t.plant(&key, placeholder.to_json_line().expect("json").into_bytes())
        .await;

    // Act
    let handled = t
        .app
        .handle(payload("seed"), Duration::from_secs(30))
        .await
        .expect("handled");

    // Assert: the evidence was gathered again, so the verdict is the real one.
    assert_eq!(key_of(&handled), key);
    let record: Value =
        serde_json::from_str(t.object(&key).await.expect("record").trim_end()).expect("JSON");
    assert_eq!(record["diagnosis"]["cause"], "cpu_starved");
    assert_eq!(record["notified"], true);
    assert!(record.get("placeholder").is_none(), "{record}");
    let messages = t.messages().await;
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0]["Subject"]
            .as_str()
            .expect("subject")
            .contains("CPU-starved")
    );
}

#[tokio::test]
async fn concurrent_deliveries_of_one_stop_notify_once() {
    let t = target(false).await;
    let handles = futures_util::future::join_all(
        (0..4).map(|_| t.app.handle(payload("oom-leak"), Duration::from_secs(30))),
    )
    .await;
    let sent = handles
        .iter()
        .filter(|h| {
            matches!(
                h,
                Ok(Handled::Done(Outcome::Archived {
                    notification: NotificationStatus::Sent,
                    ..
                }))
            )
        })
        .count();
    assert_eq!(sent, 1, "{handles:?}");
    // The others are duplicates or "in progress" (Lambda retries them; they then find it done).
    for h in &handles {
        assert!(
            matches!(
                h,
                Ok(Handled::Done(_)) | Err(ecs_autopsy::app::HandleError::Archive(_))
            ),
            "{h:?}"
        );
    }
    let records = t.records().await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(t.messages().await.len(), 1);
}

#[tokio::test]
async fn a_fresh_claim_by_another_invocation_is_left_alone() {
    let t = target(false).await;
    t.plant_pending("spot", chrono::Utc::now()).await;
    let handled = t.app.handle(payload("spot"), Duration::from_secs(30)).await;
    assert!(handled.is_err(), "in progress elsewhere: retry later");
    assert_eq!(t.messages().await.len(), 0);
}

#[tokio::test]
async fn six_oom_kills_in_four_minutes_give_six_records_and_at_most_two_messages() {
    let t = target(false).await;
    let base = payload("oom-leak");
    for i in 0..6 {
        let p = storm_stop(&base, "storm", i);
        let handled = t
            .app
            .handle(p, Duration::from_secs(30))
            .await
            .expect("handled");
        assert!(
            matches!(handled, Handled::Done(Outcome::Archived { .. })),
            "{handled:?}"
        );
    }
    let records: Vec<String> = t
        .keys()
        .await
        .into_iter()
        .filter(|k| k.ends_with(".json") && !k.contains("_state"))
        .collect();
    assert_eq!(records.len(), 6);
    let messages = t.messages().await;
    assert!(
        !messages.is_empty() && messages.len() <= 2,
        "{} messages",
        messages.len()
    );
}

#[tokio::test]
async fn benign_stops_are_archived_not_notified_unless_asked() {
    let t = target(false).await;
    let handled = t
        .app
        .handle(payload("deployment"), Duration::from_secs(30))
        .await
        .expect("handled");
    assert!(matches!(
        handled,
        Handled::Done(Outcome::Archived {
            notification: NotificationStatus::SuppressedBenign,
            ..
        })
    ));
    assert_eq!(t.messages().await.len(), 0);
    // Nobody is told, so only ECS is asked: no metrics, no logs, no ALB calls.
    let body = t.object(&key_of(&handled)).await.expect("archived");
    let record: Value = serde_json::from_str(body.trim_end()).expect("json");
    assert!(record["evidence"]["service"].is_object());
    assert!(record["evidence"]["metrics"].is_null() && record["evidence"]["logs"].is_null());
    assert_eq!(record["evidence"]["missing"], serde_json::json!([]));
    let loud = target(true).await;
    loud.app
        .handle(payload("deployment"), Duration::from_secs(30))
        .await
        .expect("handled");
    assert_eq!(loud.messages().await.len(), 1);
}

#[tokio::test]
async fn events_that_are_not_stops_are_ignored_and_bad_ones_are_errors() {
    let t = target(false).await;
    let running: Value = serde_json::from_str(crate::event_text!(
        "ignored_running_spot_termination_notice"
    ))
    .expect("json");
    assert!(matches!(
        t.app.handle(running, Duration::from_secs(5)).await,
        Ok(Handled::Ignored(_))
    ));
    assert!(
        t.app
            .handle(serde_json::json!([]), Duration::from_secs(5))
            .await
            .is_err()
    );
    let no_arn = serde_json::json!({"source": "aws.ecs", "detail-type": "ECS Task State Change", "detail": {"lastStatus": "STOPPED"}});
    assert!(t.app.handle(no_arn, Duration::from_secs(5)).await.is_err());
    assert!(t.keys().await.is_empty());
    assert_eq!(t.messages().await.len(), 0);
}

#[tokio::test]
async fn with_little_time_left_a_partial_diagnosis_is_still_published() {
    let mut t = target(false).await;
    // Every evidence source hangs; only archiving and publishing work.
    let sdk = sandbox().sdk_config().await;
    let hang = sdk
        .clone()
        .into_builder()
        .endpoint_url(crate::faults::black_hole())
        .build();
    t.app.clients = ecs_autopsy::gather::Clients::new(&hang);
    let budget = ecs_autopsy::app::REPORT_RESERVE + Duration::from_secs(1);
    let started = std::time::Instant::now();
    let handled = t
        .app
        .handle(payload("seed"), budget)
        .await
        .expect("handled");
    assert!(
        started.elapsed() < budget + Duration::from_secs(5),
        "gathering stopped at its deadline"
    );
    let key = key_of(&handled);
    let record: Value =
        serde_json::from_str(t.object(&key).await.expect("archived").trim_end()).expect("json");
    assert_eq!(
        record["diagnosis"]["cause"], "elb_health_check_failed",
        "the event alone still speaks"
    );
    assert!(
        record["diagnosis"]["missing"]
            .as_array()
            .is_some_and(|m| m.len() >= 5)
    );
    assert_eq!(t.messages().await.len(), 1);
}

#[tokio::test]
async fn an_unreadable_storm_state_is_replaced_and_the_record_says_so() {
    // Arrange: the service's storm state is not JSON.
    let t = target(false).await;
    let event = crate::support::stopped(&payload("oom-leak").to_string());
    let key = t.app.archive.layout.storm_key(&event);
    t.plant(&key, b"{not json".to_vec()).await;

    // Act
    let handled = t
        .app
        .handle(payload("oom-leak"), Duration::from_secs(30))
        .await
        .expect("handled");

    // Assert: notified as a first stop, the state is readable again, the record names the reset.
    let record: Value =
        serde_json::from_str(&t.object(&key_of(&handled)).await.expect("record")).expect("json");
    assert_eq!(record["notified"], true);
    let missing = record["evidence"]["missing"].as_array().expect("missing");
    let entry = missing
        .iter()
        .find(|m| m["source"] == "storm_state")
        .expect("storm state entry");
    assert_eq!(entry["kind"], "unreadable");
    assert!(
        record["diagnosis"]["missing"]
            .to_string()
            .contains("storm state: "),
        "{}",
        record["diagnosis"]["missing"]
    );
    let state: Value =
        serde_json::from_str(&t.object(&key).await.expect("state")).expect("state is JSON again");
    assert!(state["windows"].is_array());
}

/// Keeps what would have been published.
struct Captured(std::sync::Mutex<Vec<ecs_autopsy::report::SnsMessage>>);

impl ecs_autopsy::deliver::Notifier for Captured {
    async fn publish(
        &self,
        message: &ecs_autopsy::report::SnsMessage,
    ) -> Result<String, ecs_autopsy::deliver::PublishError> {
        let mut sent = self.0.lock().expect("not poisoned");
        sent.push(message.clone());
        Ok(format!("m-{}", sent.len()))
    }
}

#[tokio::test]
async fn a_report_that_was_not_rendered_gets_no_link() {
    // Arrange: the archive in the emulator's S3; one stop settled with its HTML report and one
    // (another task) whose report failed to render.
    use ecs_autopsy::deliver::{Archive, S3Store, Settlement};
    let sdk = sandbox().sdk_config().await;
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let bucket = format!("links-{}-{n}", std::process::id());
    let s3 = create_bucket(&sdk, &bucket).await;
    let config = Config::from_lookup(|k| match k {
        "INCIDENT_TOPIC_ARN" => Some("arn:aws:sns:eu-west-1:123456789012:links".into()),
        "INCIDENT_BUCKET" => Some(bucket.clone()),
        _ => None,
    })
    .expect("valid config");
    let archive = Archive::new(S3Store::new(s3, bucket.clone()), &config);
    let notifier = Captured(std::sync::Mutex::new(Vec::new()));
    let evidence =
        crate::support::evidence(crate::evidence_text!("oom_killed_reason_fargate_leak"));
    let email_of = |m: &ecs_autopsy::report::SnsMessage| -> String {
        let v: Value = serde_json::from_str(&m.message).expect("message JSON");
        v["email"].as_str().unwrap_or_default().to_owned()
    };

    // Two services, so storm control does not fold the second stop into the first.
    for (task, service, html) in [
        (
            "0123456789abcdef0123456789abcde1",
            "web-a",
            Some("<html>report</html>".to_owned()),
        ),
        ("0123456789abcdef0123456789abcde2", "web-b", None),
    ] {
        let event = crate::support::event_with(serde_json::json!({
            "taskArn": format!("arn:aws:ecs:eu-west-1:123456789012:task/prod/{task}"),
            "group": format!("service:{service}"),
        }));
        let diagnosis = ecs_autopsy::diagnose(&event, &evidence);
        // Act
        archive
            .settle(
                &notifier,
                Settlement {
                    keys: archive.keys_for(&event),
                    claim_etag: None,
                    record: Record::new(&event, &evidence, &diagnosis),
                    html,
                    storm: None,
                    now: chrono::Utc::now(),
                },
            )
            .await
            .expect("settled");
    }

    // Assert: a link (and what it is worth) only beside the report that was stored.
    let sent = notifier.0.lock().expect("not poisoned");
    assert_eq!(sent.len(), 2);
    let (with, without) = (email_of(&sent[0]), email_of(&sent[1]));
    assert!(with.contains("Full report: "), "{with}");
    assert!(with.contains(ecs_autopsy::report::REPORT_LINK_NOTE));
    assert!(!without.contains("Full report"), "{without}");
    assert!(!without.contains(ecs_autopsy::report::REPORT_LINK_NOTE));
}
