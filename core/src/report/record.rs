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

    /// One line of JSON; serde_json escapes every line break inside strings.
    pub fn to_json_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}
