//! The EventBridge envelope and the ECS "Task State Change" detail.
//!
//! ECS adds fields without notice, so every type ignores unknown fields, almost everything is
//! optional, and the coded values (stop codes, statuses, launch types) are open enums that keep
//! values they do not know. Environment variables and commands of container overrides are never
//! kept: they are reduced to a count while parsing, so no later step can leak them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::EventError;

pub const DETAIL_TYPE_TASK_STATE_CHANGE: &str = "ECS Task State Change";
pub const SOURCE_ECS: &str = "aws.ecs";

pub use crate::vocab::{Connectivity, LaunchType, Status, StopCode};

/// The EventBridge envelope. `detail` stays raw until the envelope says what it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct Envelope {
    pub version: Option<String>,
    pub id: Option<String>,
    pub detail_type: Option<String>,
    pub source: Option<String>,
    pub account: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub region: Option<String>,
    pub resources: Vec<String>,
    pub detail: serde_json::Value,
}

/// A parsed ECS Task State Change event: the envelope's metadata and the typed detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct TaskStateChange {
    pub id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub detail: TaskDetail,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskDetail {
    pub task_arn: String,
    pub cluster_arn: Option<String>,
    pub task_definition_arn: Option<String>,
    pub container_instance_arn: Option<String>,
    pub group: Option<String>,
    pub started_by: Option<String>,
    pub launch_type: Option<LaunchType>,
    pub capacity_provider_name: Option<String>,
    pub availability_zone: Option<String>,
    pub platform_version: Option<String>,
    pub platform_family: Option<String>,
    pub attributes: Vec<Attribute>,
    #[serde(deserialize_with = "lenient_u32")]
    pub cpu: Option<u32>,
    #[serde(deserialize_with = "lenient_u32")]
    pub memory: Option<u32>,
    pub overrides: Option<Overrides>,
    pub desired_status: Option<Status>,
    pub last_status: Option<Status>,
    pub connectivity: Option<Connectivity>,
    pub stop_code: Option<StopCode>,
    pub stopped_reason: Option<String>,
    pub version: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
    pub connectivity_at: Option<DateTime<Utc>>,
    pub pull_started_at: Option<DateTime<Utc>>,
    pub pull_stopped_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub stopping_at: Option<DateTime<Utc>>,
    pub execution_stopped_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub attachments: Vec<Attachment>,
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Overrides {
    pub container_overrides: Vec<ContainerOverride>,
    #[serde(deserialize_with = "lenient_u32")]
    pub cpu: Option<u32>,
    #[serde(deserialize_with = "lenient_u32")]
    pub memory: Option<u32>,
}

/// A container override. `command` and `environment` may carry secrets: only their size is kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerOverride {
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Redacted::is_empty")]
    pub command: Redacted,
    #[serde(skip_serializing_if = "Redacted::is_empty")]
    pub environment: Redacted,
    #[serde(skip_serializing_if = "Redacted::is_empty")]
    pub environment_files: Redacted,
    #[serde(deserialize_with = "lenient_u32")]
    pub cpu: Option<u32>,
    #[serde(deserialize_with = "lenient_u32")]
    pub memory: Option<u32>,
    #[serde(deserialize_with = "lenient_u32")]
    pub memory_reservation: Option<u32>,
}

/// A value that must never be stored or shown; only how many items it had survives parsing.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Redacted {
    pub items: usize,
}

impl Redacted {
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[redacted: {} items]", self.items)
    }
}

impl Serialize for Redacted {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("redacted_items", &self.items)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Redacted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let items = match &value {
            serde_json::Value::Array(a) => a.len(),
            // Our own serialized form, so archived events read back.
            serde_json::Value::Object(o) => o
                .get("redacted_items")
                .and_then(serde_json::Value::as_u64)
                .map_or(o.len(), |n| usize::try_from(n).unwrap_or(usize::MAX)),
            serde_json::Value::Null => 0,
            _ => 1,
        };
        Ok(Self { items })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attachment {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    pub details: Vec<Attribute>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    pub container_arn: Option<String>,
    pub name: String,
    pub image: Option<String>,
    pub image_digest: Option<String>,
    pub runtime_id: Option<String>,
    pub last_status: Option<Status>,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
    #[serde(deserialize_with = "lenient_u32")]
    pub cpu: Option<u32>,
    #[serde(deserialize_with = "lenient_u32")]
    pub memory: Option<u32>,
    #[serde(deserialize_with = "lenient_u32")]
    pub memory_reservation: Option<u32>,
    pub health_status: Option<String>,
    /// How often the container's restart policy restarted it inside this task. The agent tracks
    /// it as `restartCount`; restarts produce no STOPPED event, so a later stop is where it shows.
    #[serde(alias = "RestartCount", skip_serializing_if = "Option::is_none")]
    pub restart_count: Option<u32>,
    pub network_bindings: Vec<NetworkBinding>,
    pub network_interfaces: Vec<NetworkInterface>,
    pub gpu_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkBinding {
    pub bind_ip: Option<String>,
    pub container_port: Option<u32>,
    pub host_port: Option<u32>,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkInterface {
    pub attachment_id: Option<String>,
    pub private_ipv4_address: Option<String>,
}

/// Numbers in ECS events are sometimes strings ("256") and sometimes numbers; anything else is
/// treated as absent rather than failing the whole event.
fn lenient_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// What an incoming payload turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A task that reached STOPPED: diagnose it.
    Stopped(Box<TaskStateChange>),
    /// A well-formed event this tool does not act on, with why.
    Ignored(String),
}

impl TaskStateChange {
    pub fn task_id(&self) -> &str {
        self.detail.task_id()
    }

    /// Cluster name from the cluster ARN (`arn:…:cluster/NAME`), or the ARN's text itself.
    pub fn cluster_name(&self) -> &str {
        self.detail
            .cluster_arn
            .as_deref()
            .map(|arn| arn.rsplit('/').next().unwrap_or(arn))
            .unwrap_or("unknown")
    }

    /// The service name when the task belongs to a service (`group` "service:NAME").
    pub fn service_name(&self) -> Option<&str> {
        self.detail
            .group
            .as_deref()
            .and_then(|g| g.strip_prefix("service:"))
            .filter(|s| !s.is_empty())
    }

    /// Task definition family, from `group` "family:NAME" or the task definition ARN.
    pub fn family(&self) -> Option<&str> {
        if let Some(f) = self
            .detail
            .group
            .as_deref()
            .and_then(|g| g.strip_prefix("family:"))
        {
            return Some(f);
        }
        let arn = self.detail.task_definition_arn.as_deref()?;
        let tail = arn.rsplit('/').next()?;
        tail.split(':').next()
    }

    /// When the task stopped: `stoppedAt`, else `executionStoppedAt`, else the event's time.
    /// When the task stopped: `stoppedAt`, else `executionStoppedAt`, else `stoppingAt`, else
    /// the event's time, else `updatedAt`. The one stop time of every room: the evidence window,
    /// the diagnosis, the archive key and the reports.
    pub fn stopped_at(&self) -> Option<DateTime<Utc>> {
        let d = &self.detail;
        d.stopped_at
            .or(d.execution_stopped_at)
            .or(d.stopping_at)
            .or(self.time)
            .or(d.updated_at)
    }

    /// When ECS decided to stop the task (`stoppingAt`: SIGTERM was sent), else the stop time.
    pub fn kill_at(&self) -> Option<DateTime<Utc>> {
        self.detail.stopping_at.or(self.stopped_at())
    }

    pub fn is_service_task(&self) -> bool {
        self.service_name().is_some()
    }

    pub fn is_fargate(&self) -> bool {
        self.detail.launch_type == Some(LaunchType::Fargate)
            || self
                .detail
                .capacity_provider_name
                .as_deref()
                .is_some_and(|c| c.starts_with("FARGATE"))
    }
}

impl TaskDetail {
    /// The task id: the last path segment of the task ARN.
    pub fn task_id(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn)
    }
}

/// Parses an EventBridge payload. Events that are not ECS Task State Changes with lastStatus
/// STOPPED come back as [`Incoming::Ignored`]; malformed input is an error.
pub fn parse_event(input: &str) -> Result<Incoming, EventError> {
    let value: serde_json::Value = serde_json::from_str(input).map_err(EventError::Json)?;
    from_value(value)
}

pub fn from_value(value: serde_json::Value) -> Result<Incoming, EventError> {
    // Serde would read a struct from an array too; an event is always an object.
    if !value.is_object() {
        return Err(EventError::NotAnObject);
    }
    let envelope: Envelope = serde_json::from_value(value).map_err(EventError::Json)?;
    from_envelope(envelope)
}

fn from_envelope(envelope: Envelope) -> Result<Incoming, EventError> {
    let detail_type = envelope.detail_type.as_deref().unwrap_or("");
    let source = envelope.source.as_deref().unwrap_or("");
    if source != SOURCE_ECS || detail_type != DETAIL_TYPE_TASK_STATE_CHANGE {
        return Ok(Incoming::Ignored(format!(
            "not an ECS task state change (source {source:?}, detail-type {detail_type:?})"
        )));
    }
    if !envelope.detail.is_object() {
        return Err(EventError::Missing("detail"));
    }
    if envelope
        .detail
        .get("taskArn")
        .and_then(|v| v.as_str())
        .is_none()
    {
        return Err(EventError::Missing("detail.taskArn"));
    }
    let detail: TaskDetail = serde_json::from_value(envelope.detail).map_err(EventError::Json)?;
    if detail.last_status != Some(Status::Stopped) {
        let status = detail
            .last_status
            .as_ref()
            .map_or("missing", Status::as_str);
        return Ok(Incoming::Ignored(format!(
            "task {} has lastStatus {status}, not STOPPED",
            detail.task_id()
        )));
    }
    Ok(Incoming::Stopped(Box::new(TaskStateChange {
        id: envelope.id,
        account: envelope.account,
        region: envelope.region,
        time: envelope.time,
        detail,
    })))
}

impl TaskStateChange {
    /// The Region from the envelope, else from the task ARN (`arn:aws:ecs:REGION:…`).
    pub fn region_name(&self) -> Option<&str> {
        self.region
            .as_deref()
            .filter(|r| !r.is_empty())
            .or_else(|| {
                self.detail
                    .task_arn
                    .split(':')
                    .nth(3)
                    .filter(|r| !r.is_empty())
            })
    }
}
