//! The archive record: one JSON object on one line (Athena's JSON SerDe reads one per line),
//! carrying the verdict and the redacted evidence so the incident can be diagnosed again later.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::diagnose::Diagnosis;
use crate::event::TaskStateChange;
use crate::evidence::Evidence;

pub const SCHEMA_VERSION: u32 = 1;

/// Where the record stands in the notify-once protocol (see `deliver::archive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    /// Claimed for notification; not yet published.
    #[default]
    Pending,
    /// Published to SNS.
    Sent,
    /// Benign and NOTIFY_BENIGN is off: archived only.
    SuppressedBenign,
    /// Part of a storm already notified within the window: archived and counted.
    SuppressedStorm,
}

impl NotificationStatus {
    pub fn is_final(self) -> bool {
        self != NotificationStatus::Pending
    }
}

/// Stops of the same service and cause that were archived but not notified before this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StormNote {
    pub suppressed: u32,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub schema_version: u32,
    pub task_arn: String,
    pub task_id: String,
    pub cluster: String,
    /// Null for a standalone task.
    pub service: Option<String>,
    pub family: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub diagnosis: Diagnosis,
    pub notified: bool,
    #[serde(default)]
    pub notification: NotificationStatus,
    /// When an invocation claimed the notification (the lease of the notify-once protocol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storm: Option<StormNote>,
    /// A claim written before the evidence was gathered: its verdict is the event's first look
    /// only, so an invocation that takes the claim over gathers and diagnoses again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub placeholder: bool,
    /// The event as parsed: container override commands and environments are already reduced
    /// to counts, so nothing secret is stored.
    pub event: TaskStateChange,
    /// Left out when nothing was gathered (a claim's placeholder).
    #[serde(default, skip_serializing_if = "Evidence::is_empty")]
    pub evidence: Evidence,
}

impl Record {
    pub fn new(event: &TaskStateChange, evidence: &Evidence, diagnosis: &Diagnosis) -> Self {
        let d = &event.detail;
        Self {
            schema_version: SCHEMA_VERSION,
            task_arn: d.task_arn.clone(),
            task_id: event.task_id().to_owned(),
            cluster: event.cluster_name().to_owned(),
            service: event.service_name().map(str::to_owned),
            family: event.family().map(str::to_owned),
            region: event.region.clone(),
            account: event.account.clone(),
            stopped_at: event.stopped_at(),
            diagnosis: diagnosis.clone(),
            notified: false,
            notification: NotificationStatus::Pending,
            claimed_at: None,
            storm: None,
            placeholder: false,
            event: event.clone(),
            evidence: evidence.clone(),
        }
    }

    /// The claim an invocation writes before it gathers: the event and its first-look verdict.
    pub fn placeholder(
        event: &TaskStateChange,
        first_look: &Diagnosis,
        now: DateTime<Utc>,
    ) -> Self {
        let mut record = Self::new(event, &Evidence::default(), first_look);
        record.placeholder = true;
        record.claimed_at = Some(now);
        record
    }

    /// One line of JSON; serde_json escapes every line break inside strings. The same object
    /// as the derived `Serialize`, with the fields the notify-once protocol changes first.
    pub fn to_json_line(&self) -> Result<String, serde_json::Error> {
        self.to_json_line_with(&self.body_json()?)
    }

    /// The part of the JSON line the notify-once protocol never changes (the verdict, the event
    /// and the evidence: nearly all of it), so a record written twice is serialized once.
    pub fn body_json(&self) -> Result<RecordBody, serde_json::Error> {
        serde_json::to_string(&self.parts().1).map(RecordBody)
    }

    /// The JSON line from this record's changing fields and a body serialized before. The body
    /// must be this record's (`body_json`) with its verdict, event and evidence unchanged since.
    pub fn to_json_line_with(&self, body: &RecordBody) -> Result<String, serde_json::Error> {
        let head = serde_json::to_string(&self.parts().0)?;
        // `{head…}` + `{body…}` → `{head…,body…}`: both are non-empty objects.
        let mut line = String::with_capacity(head.len() + body.0.len());
        line.push_str(head.strip_suffix('}').unwrap_or(&head));
        line.push(',');
        line.push_str(body.0.strip_prefix('{').unwrap_or(&body.0));
        Ok(line)
    }

    /// The queue form SNS carries to `sqs` and `lambda` subscribers: the identifiers, the
    /// protocol's fields and the whole verdict, with the key the whole record is archived under.
    /// The inputs (the event and the gathered evidence) stay in the archive: they are most of a
    /// record, SNS carries the form twice, and Publish signs and escapes every byte of it.
    ///
    /// The form is the notification itself, so it describes the record as archived once it is
    /// sent: notified, and no lease held.
    pub fn queue_json(&self, archive_key: Option<&str>) -> Result<String, serde_json::Error> {
        let (mut head, body) = self.parts();
        head.notified = true;
        head.notification = NotificationStatus::Sent;
        head.claimed_at = &None;
        serde_json::to_string(&QueueForm {
            head,
            diagnosis: body.diagnosis,
            archive_key,
        })
    }

    fn parts(&self) -> (Head<'_>, Body<'_>) {
        // No `..`: a new field does not compile until it is placed in one part or the other.
        let Record {
            schema_version,
            task_arn,
            task_id,
            cluster,
            service,
            family,
            region,
            account,
            stopped_at,
            diagnosis,
            notified,
            notification,
            claimed_at,
            storm,
            placeholder,
            event,
            evidence,
        } = self;
        (
            Head {
                schema_version: *schema_version,
                task_arn,
                task_id,
                cluster,
                service,
                family,
                region,
                account,
                stopped_at,
                notified: *notified,
                notification: *notification,
                claimed_at,
                storm,
                placeholder: *placeholder,
            },
            Body {
                diagnosis,
                event,
                evidence,
            },
        )
    }
}

/// A record's unchanging part, serialized (`Record::body_json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBody(String);

/// The fields of a record the notify-once protocol changes, and the identifiers.
#[derive(Serialize)]
struct Head<'a> {
    schema_version: u32,
    task_arn: &'a str,
    task_id: &'a str,
    cluster: &'a str,
    service: &'a Option<String>,
    family: &'a Option<String>,
    region: &'a Option<String>,
    account: &'a Option<String>,
    stopped_at: &'a Option<DateTime<Utc>>,
    notified: bool,
    notification: NotificationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    claimed_at: &'a Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storm: &'a Option<StormNote>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    placeholder: bool,
}

#[derive(Serialize)]
struct QueueForm<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    diagnosis: &'a Diagnosis,
    #[serde(skip_serializing_if = "Option::is_none")]
    archive_key: Option<&'a str>,
}

#[derive(Serialize)]
struct Body<'a> {
    diagnosis: &'a Diagnosis,
    event: &'a TaskStateChange,
    #[serde(skip_serializing_if = "Evidence::is_empty")]
    evidence: &'a Evidence,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        let raw = serde_json::json!({
            "detail-type": "ECS Task State Change", "source": "aws.ecs",
            "detail": {"taskArn": "arn:aws:ecs:eu-west-1:1:task/prod/abc",
                       "clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/prod",
                       "group": "service:web", "lastStatus": "STOPPED",
                       "stoppedAt": "2026-10-01T12:00:00Z"}
        });
        let event = match crate::event::from_value(raw) {
            Ok(crate::event::Incoming::Stopped(e)) => *e,
            other => panic!("fixture did not parse: {other:?}"),
        };
        let mut evidence = Evidence::default();
        evidence.mark_missing(crate::evidence::Source::Metrics, "denied");
        let d = crate::diagnose(&event, &evidence);
        Record::new(&event, &evidence, &d)
    }

    #[test]
    fn the_queue_form_is_the_record_as_sent_without_its_inputs() {
        // Arrange: a record as it stands while its notification is being published.
        let mut r = record();
        r.notification = NotificationStatus::Pending;
        r.claimed_at = r.stopped_at;

        // Act
        let form: serde_json::Value =
            serde_json::from_str(&r.queue_json(Some("incidents/k.json")).expect("serializes"))
                .expect("JSON");

        // Assert
        let whole = serde_json::to_value(&r).expect("serializes");
        for field in [
            "task_arn",
            "task_id",
            "cluster",
            "service",
            "stopped_at",
            "diagnosis",
        ] {
            assert_eq!(form[field], whole[field], "{field}");
        }
        assert_eq!(form["archive_key"], "incidents/k.json");
        assert_eq!(form["notified"], true);
        assert_eq!(form["notification"], "sent");
        assert!(
            form.get("claimed_at").is_none(),
            "the lease is the protocol's own"
        );
        assert!(form.get("event").is_none() && form.get("evidence").is_none());
    }

    #[test]
    fn the_json_line_is_the_derived_serialization() {
        let mut r = record();
        r.claimed_at = r.stopped_at;
        r.storm = Some(StormNote {
            suppressed: 2,
            since: chrono::DateTime::<Utc>::UNIX_EPOCH,
        });
        let line = r.to_json_line().expect("line");
        let derived = serde_json::to_value(&r).expect("derived");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).expect("json"),
            derived
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_body_serialized_before_gives_the_line_with_todays_head() {
        let mut r = record();
        let body = r.body_json().expect("body");
        r.notified = true;
        r.notification = NotificationStatus::Sent;
        let line = r.to_json_line_with(&body).expect("line");
        assert_eq!(line, r.to_json_line().expect("fresh"));
        let back: Record = serde_json::from_str(&line).expect("reads back");
        assert_eq!(back, r);
    }
}
