//! CloudWatch Logs: the last lines of each essential container's awslogs stream
//! (`<prefix>/<container>/<task-id>`), scrubbed, and the task's Container Insights performance
//! records (per-task ratios even without enhanced metrics).

use futures_util::future::join_all;

use crate::error::GatherError;
use crate::event::TaskStateChange;
use crate::evidence::{ContainerLogTail, LogDriver, LogLine, Source, TaskDefinitionFacts};

use super::scrub::log_line;
use super::{Clients, LOG_TAIL_LINES, Partial, Settings, call};

pub async fn tails(
    clients: &Clients,
    event: &TaskStateChange,
    td: Option<&TaskDefinitionFacts>,
    settings: &Settings,
) -> Result<Option<Partial<Vec<ContainerLogTail>>>, GatherError> {
    let Some(td) = td else { return Ok(None) };
    let task_id = event.task_id();
    let end_ms = event
        .stopped_at()
        .map(|t| (t + chrono::Duration::minutes(1)).timestamp_millis());
    let wanted: Vec<(String, String, String)> = td
        .containers
        .iter()
        .filter(|c| c.essential)
        .filter_map(|c| {
            let log = c.log.as_ref().filter(|l| l.driver == LogDriver::Awslogs)?;
            let group = log.group.clone()?;
            let prefix = log.stream_prefix.clone()?;
            Some((
                c.name.clone(),
                group,
                format!("{prefix}/{}/{task_id}", c.name),
            ))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let results = join_all(wanted.iter().map(|(_, group, stream)| {
        let mut req = clients
            .logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(false)
            .limit(LOG_TAIL_LINES);
        if let Some(end) = end_ms {
            req = req.end_time(end);
        }
        call("GetLogEvents", settings, req.send())
    }))
    .await;
    let mut out = Vec::new();
    let mut failed = Vec::new();
    let mut first_error = None;
    for ((container, group, stream), result) in wanted.into_iter().zip(results) {
        match result {
            Ok(page) => out.push(ContainerLogTail {
                container,
                log_group: Some(group),
                log_stream: Some(stream),
                lines: page
                    .events()
                    .iter()
                    .map(|e| LogLine {
                        at: e
                            .timestamp()
                            .and_then(chrono::DateTime::from_timestamp_millis),
                        message: log_line(e.message().unwrap_or_default().trim_end()),
                    })
                    .collect(),
            }),
            Err(e) => {
                let mut entry = e.missing(Source::Logs).partial();
                entry.reason = format!("container {container}: {}", entry.reason);
                failed.push(entry);
                first_error.get_or_insert(e);
            }
        }
    }
    // Every tail failed: the source is missing as a whole, with the first failure's reason.
    match (out.is_empty(), first_error) {
        (true, Some(e)) => Err(e),
        _ => Ok(Some((out, failed))),
    }
}

/// One Container Insights performance record of type Task.
#[derive(Debug, Clone, PartialEq)]
pub struct PerfRecord {
    pub at: chrono::DateTime<chrono::Utc>,
    pub cpu_utilized: f64,
    pub cpu_reserved: f64,
    pub memory_utilized: f64,
    pub memory_reserved: f64,
    /// `Type: Container` records name their container; `Type: Task` records do not.
    pub container: Option<String>,
    /// Task records on Fargate: `EphemeralStorageUtilized` / `EphemeralStorageReserved` (GB).
    pub ephemeral_utilized: Option<f64>,
    pub ephemeral_reserved: Option<f64>,
}

pub async fn performance_records(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
) -> Result<Option<Vec<PerfRecord>>, GatherError> {
    let Some(stop) = event.stopped_at() else {
        return Ok(None);
    };
    let group = format!(
        "/aws/ecs/containerinsights/{}/performance",
        event.cluster_name()
    );
    let start = stop - chrono::Duration::minutes(i64::from(settings.lookback_minutes));
    let task_id = event.task_id();
    let out = call(
        "FilterLogEvents",
        settings,
        clients
            .logs
            .filter_log_events()
            .log_group_name(&group)
            .filter_pattern(format!("\"{task_id}\""))
            .start_time(start.timestamp_millis())
            .end_time((stop + chrono::Duration::minutes(2)).timestamp_millis())
            .limit(500)
            .send(),
    )
    .await;
    // No performance log group: Container Insights is off for the cluster, so there is nothing
    // to read (not a failure to record).
    let out = match out {
        Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
        other => other?,
    };
    let records = out
        .events()
        .iter()
        .filter_map(|e| parse_perf(e.message()?, task_id))
        .collect();
    Ok(Some(records))
}

fn parse_perf(message: &str, task_id: &str) -> Option<PerfRecord> {
    let v: serde_json::Value = serde_json::from_str(message).ok()?;
    if v.get("TaskId")?.as_str()? != task_id {
        return None;
    }
    let container = match v.get("Type")?.as_str()? {
        "Task" => None,
        "Container" => Some(v.get("ContainerName")?.as_str()?.to_owned()),
        _ => return None,
    };
    let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let ts = v.get("Timestamp")?.as_i64()?;
    Some(PerfRecord {
        at: chrono::DateTime::from_timestamp_millis(ts)?,
        cpu_utilized: num("CpuUtilized")?,
        cpu_reserved: num("CpuReserved")?,
        memory_utilized: num("MemoryUtilized")?,
        memory_reserved: num("MemoryReserved")?,
        container,
        ephemeral_utilized: num("EphemeralStorageUtilized"),
        ephemeral_reserved: num("EphemeralStorageReserved"),
    })
}
