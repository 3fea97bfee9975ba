//! ECS: the task definition (limits, health check, logs; environment and secrets reduced to
//! names here, before anything is stored), the service, the task's health, the container
//! instance, and the service's recent stops.

use aws_sdk_ecs::types::{DesiredStatus, Task};
use chrono::{DateTime, Utc};

use crate::error::GatherError;
use crate::event::{
    Attachment, Attribute, Container, LaunchType, Status, StopCode, TaskDetail, TaskStateChange,
};
use crate::evidence::{
    ContainerDefinitionFacts, ContainerHealthFacts, DeploymentFacts, HealthCheckFacts, HostFacts,
    LoadBalancerRef, LogConfigFacts, RecentContainerExit, RecentStop, ServiceEvent, ServiceFacts,
    TaskDefinitionFacts, TaskFacts,
};

use super::{Clients, RECENT_STOPS, Settings, call};

pub(crate) fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn u32_of(v: Option<i32>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

fn cluster(event: &TaskStateChange) -> &str {
    event
        .detail
        .cluster_arn
        .as_deref()
        .unwrap_or_else(|| event.cluster_name())
}

pub async fn task_definition(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
) -> Result<Option<TaskDefinitionFacts>, GatherError> {
    let Some(arn) = event.detail.task_definition_arn.as_deref() else {
        return Ok(None);
    };
    let out = call(
        "DescribeTaskDefinition",
        settings,
        clients
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .send(),
    )
    .await?;
    let Some(td) = out.task_definition() else {
        return Err(GatherError::NotFound {
            op: "DescribeTaskDefinition",
            what: arn.to_owned(),
        });
    };
    Ok(Some(TaskDefinitionFacts {
        family: td.family().unwrap_or_default().to_owned(),
        revision: u32::try_from(td.revision()).ok(),
        cpu: td.cpu().and_then(|c| c.trim().parse().ok()),
        memory: td.memory().and_then(|m| m.trim().parse().ok()),
        network_mode: td.network_mode().map(|m| m.as_str().to_owned()),
        requires_compatibilities: td
            .requires_compatibilities()
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        execution_role_arn: td.execution_role_arn().map(str::to_owned),
        task_role_arn: td.task_role_arn().map(str::to_owned),
        containers: td
            .container_definitions()
            .iter()
            .map(|c| ContainerDefinitionFacts {
                name: c.name().unwrap_or_default().to_owned(),
                image: c.image().map(str::to_owned),
                cpu: u32::try_from(c.cpu()).ok().filter(|n| *n > 0),
                memory: u32_of(c.memory()),
                memory_reservation: u32_of(c.memory_reservation()),
                essential: c.essential().unwrap_or(true),
                health_check: c.health_check().map(|h| HealthCheckFacts {
                    command: h.command().to_vec(),
                    interval_seconds: u32_of(h.interval()),
                    timeout_seconds: u32_of(h.timeout()),
                    retries: u32_of(h.retries()),
                    start_period_seconds: u32_of(h.start_period()),
                }),
                stop_timeout: u32_of(c.stop_timeout()),
                port_mappings: c
                    .port_mappings()
                    .iter()
                    .filter_map(|p| u32_of(p.container_port()))
                    .collect(),
                log: c.log_configuration().map(|l| {
                    let opt = |k: &str| l.options().and_then(|o| o.get(k)).cloned();
                    LogConfigFacts {
                        driver: l.log_driver().as_str().into(),
                        group: opt("awslogs-group"),
                        region: opt("awslogs-region"),
                        stream_prefix: opt("awslogs-stream-prefix"),
                    }
                }),
                // Values never leave this function: names only.
                environment_names: c
                    .environment()
                    .iter()
                    .filter_map(|kv| kv.name().map(str::to_owned))
                    .collect(),
                secret_names: c.secrets().iter().map(|s| s.name().to_owned()).collect(),
            })
            .collect(),
    }))
}

pub async fn service(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
) -> Result<Option<ServiceFacts>, GatherError> {
    let Some(name) = event.service_name() else {
        return Ok(None);
    };
    let out = call(
        "DescribeServices",
        settings,
        clients
            .ecs
            .describe_services()
            .cluster(cluster(event))
            .services(name)
            .send(),
    )
    .await?;
    let Some(s) = out.services().first() else {
        return Err(GatherError::NotFound {
            op: "DescribeServices",
            what: format!("service {name}"),
        });
    };
    let stop = event.stopped_at();
    let from = stop.map(|t| t - chrono::Duration::minutes(i64::from(settings.lookback_minutes)));
    let to = stop.map(|t| t + chrono::Duration::minutes(5));
    let mut events: Vec<ServiceEvent> = s
        .events()
        .iter()
        .filter_map(|e| {
            let at = e.created_at().and_then(to_chrono)?;
            Some(ServiceEvent {
                at,
                message: e.message()?.to_owned(),
            })
        })
        .filter(|e| from.is_none_or(|f| e.at >= f) && to.is_none_or(|t| e.at <= t))
        .collect();
    events.sort_by_key(|e| e.at);
    Ok(Some(ServiceFacts {
        name: s.service_name().unwrap_or(name).to_owned(),
        cluster: Some(event.cluster_name().to_owned()),
        status: s.status().map(str::to_owned),
        desired_count: Some(i64::from(s.desired_count())),
        running_count: Some(i64::from(s.running_count())),
        pending_count: Some(i64::from(s.pending_count())),
        launch_type: s.launch_type().map(|l| l.as_str().into()),
        capacity_provider_strategy: s
            .capacity_provider_strategy()
            .iter()
            .map(|c| c.capacity_provider().to_owned())
            .collect(),
        health_check_grace_period_seconds: u32_of(s.health_check_grace_period_seconds()),
        deployment_circuit_breaker: s
            .deployment_configuration()
            .and_then(|d| d.deployment_circuit_breaker())
            .map(|b| b.enable()),
        deployments: s
            .deployments()
            .iter()
            .map(|d| DeploymentFacts {
                id: d.id().unwrap_or_default().to_owned(),
                status: d.status().map(Into::into),
                task_definition: d.task_definition().map(str::to_owned),
                rollout_state: d.rollout_state().map(|r| r.as_str().into()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
                desired_count: Some(i64::from(d.desired_count())),
                running_count: Some(i64::from(d.running_count())),
                failed_tasks: Some(i64::from(d.failed_tasks())),
                created_at: d.created_at().and_then(to_chrono),
                updated_at: d.updated_at().and_then(to_chrono),
            })
            .collect(),
        load_balancers: s
            .load_balancers()
            .iter()
            .map(|lb| LoadBalancerRef {
                target_group_arn: lb.target_group_arn().map(str::to_owned),
                container_name: lb.container_name().map(str::to_owned),
                container_port: u32_of(lb.container_port()),
            })
            .collect(),
        events,
    }))
}

pub async fn task_health(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
) -> Result<Option<TaskFacts>, GatherError> {
    let out = call(
        "DescribeTasks",
        settings,
        clients
            .ecs
            .describe_tasks()
            .cluster(cluster(event))
            .tasks(&event.detail.task_arn)
            .send(),
    )
    .await?;
    // DescribeTasks forgets a stopped task after about an hour: that is not an error.
    Ok(out.tasks().first().map(task_facts))
}

fn task_facts(t: &aws_sdk_ecs::types::Task) -> TaskFacts {
    TaskFacts {
        health_status: t.health_status().map(|h| h.as_str().into()),
        containers: t
            .containers()
            .iter()
            .map(|c| ContainerHealthFacts {
                name: c.name().unwrap_or_default().to_owned(),
                health_status: c.health_status().map(|h| h.as_str().into()),
            })
            .collect(),
    }
}

fn recent_stop(t: &aws_sdk_ecs::types::Task) -> RecentStop {
    RecentStop {
        task_arn: t.task_arn().unwrap_or_default().to_owned(),
        stopped_at: t.stopped_at().and_then(to_chrono),
        stop_code: t.stop_code().map(|c| c.as_str().into()),
        stopped_reason: t.stopped_reason().map(str::to_owned),
        containers: t
            .containers()
            .iter()
            .map(|c| RecentContainerExit {
                name: c.name().unwrap_or_default().to_owned(),
                exit_code: c.exit_code().map(i64::from),
                reason: c.reason().map(str::to_owned),
            })
            .collect(),
    }
}

pub async fn host(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
) -> Result<Option<HostFacts>, GatherError> {
    let Some(arn) = event.detail.container_instance_arn.as_deref() else {
        return Ok(None);
    };
    let out = call(
        "DescribeContainerInstances",
        settings,
        clients
            .ecs
            .describe_container_instances()
            .cluster(cluster(event))
            .container_instances(arn)
            .send(),
    )
    .await?;
    let Some(ci) = out.container_instances().first() else {
        return Err(GatherError::NotFound {
            op: "DescribeContainerInstances",
            what: arn.to_owned(),
        });
    };
    let instance_type = ci
        .attributes()
        .iter()
        .find(|a| a.name() == "ecs.instance-type")
        .and_then(|a| a.value())
        .map(str::to_owned);
    Ok(Some(HostFacts {
        container_instance_arn: Some(arn.to_owned()),
        ec2_instance_id: ci.ec2_instance_id().map(str::to_owned),
        instance_type,
        status: ci.status().map(Into::into),
        status_reason: ci.status_reason().map(str::to_owned),
        agent_connected: Some(ci.agent_connected()),
    }))
}

pub async fn list_recent_stops(
    clients: &Clients,
    event: &TaskStateChange,
    settings: &Settings,
) -> Result<Option<Vec<String>>, GatherError> {
    let mut req = clients
        .ecs
        .list_tasks()
        .cluster(cluster(event))
        .desired_status(DesiredStatus::Stopped)
        .max_results(100);
    req = match (event.service_name(), event.family()) {
        (Some(s), _) => req.service_name(s),
        (None, Some(f)) => req.family(f),
        (None, None) => return Ok(None),
    };
    let out = call("ListTasks", settings, req.send()).await?;
    let own = event.detail.task_arn.as_str();
    Ok(Some(
        out.task_arns()
            .iter()
            .filter(|a| a.as_str() != own)
            .take(RECENT_STOPS)
            .cloned()
            .collect(),
    ))
}

/// The task itself and its service's recent stops in one DescribeTasks (it takes 100 ARNs): the
/// task's health and the stops `arns` names (`None` when ListTasks failed or does not apply).
pub async fn describe_task_and_recent_stops(
    clients: &Clients,
    event: &TaskStateChange,
    arns: Option<Vec<String>>,
    settings: &Settings,
) -> Result<(Option<TaskFacts>, Option<Vec<RecentStop>>), GatherError> {
    let own = event.detail.task_arn.as_str();
    let listed = arns.is_some();
    let mut all = vec![own.to_owned()];
    all.extend(arns.unwrap_or_default());
    let out = call(
        "DescribeTasks",
        settings,
        clients
            .ecs
            .describe_tasks()
            .cluster(cluster(event))
            .set_tasks(Some(all))
            .send(),
    )
    .await?;
    // DescribeTasks forgets a stopped task after about an hour: a missing task is not an error.
    let task = out
        .tasks()
        .iter()
        .find(|t| t.task_arn() == Some(own))
        .map(task_facts);
    let stops = listed.then(|| {
        let mut stops: Vec<RecentStop> = out
            .tasks()
            .iter()
            .filter(|t| t.task_arn() != Some(own))
            .map(recent_stop)
            .collect();
        stops.sort_by_key(|s| s.stopped_at);
        stops
    });
    Ok((task, stops))
}

/// `ecs-autopsy task`: the stop event of a task ECS still remembers (about an hour).
pub async fn fetch_task_event(
    clients: &Clients,
    cluster: &str,
    task: &str,
    settings: &Settings,
) -> Result<TaskStateChange, GatherError> {
    let out = call(
        "DescribeTasks",
        settings,
        clients
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .tasks(task)
            .send(),
    )
    .await?;
    let t = out.tasks().first().ok_or_else(|| GatherError::NotFound {
        op: "DescribeTasks",
        what: format!(
            "task {task} in cluster {cluster} (ECS keeps stopped tasks for about an hour)"
        ),
    })?;
    let region = t
        .task_arn()
        .and_then(|a| a.split(':').nth(3))
        .map(str::to_owned);
    Ok(event_from_task(t, region))
}

/// Builds the event ECS would have sent for a task, from DescribeTasks.
pub fn event_from_task(t: &Task, region: Option<String>) -> TaskStateChange {
    let time = |v: Option<&aws_smithy_types::DateTime>| v.and_then(to_chrono);
    let detail = TaskDetail {
        task_arn: t.task_arn().unwrap_or_default().to_owned(),
        cluster_arn: t.cluster_arn().map(str::to_owned),
        task_definition_arn: t.task_definition_arn().map(str::to_owned),
        container_instance_arn: t.container_instance_arn().map(str::to_owned),
        group: t.group().map(str::to_owned),
        started_by: t.started_by().map(str::to_owned),
        launch_type: t.launch_type().map(|l| LaunchType::from(l.as_str())),
        capacity_provider_name: t.capacity_provider_name().map(str::to_owned),
        availability_zone: t.availability_zone().map(str::to_owned),
        platform_version: t.platform_version().map(str::to_owned),
        platform_family: t.platform_family().map(str::to_owned),
        attributes: t
            .attributes()
            .iter()
            .map(|a| Attribute {
                name: a.name().to_owned(),
                value: a.value().map(str::to_owned),
            })
            .collect(),
        cpu: t.cpu().and_then(|c| c.trim().parse().ok()),
        memory: t.memory().and_then(|m| m.trim().parse().ok()),
        // Overrides may carry secrets; the diagnosis never needs them.
        overrides: None,
        desired_status: t.desired_status().map(Status::from),
        last_status: t.last_status().map(Status::from),
        connectivity: t.connectivity().map(|c| c.as_str().into()),
        stop_code: t.stop_code().map(|c| StopCode::from(c.as_str())),
        stopped_reason: t.stopped_reason().map(str::to_owned),
        version: Some(t.version()),
        created_at: time(t.created_at()),
        connectivity_at: time(t.connectivity_at()),
        pull_started_at: time(t.pull_started_at()),
        pull_stopped_at: time(t.pull_stopped_at()),
        started_at: time(t.started_at()),
        stopping_at: time(t.stopping_at()),
        execution_stopped_at: time(t.execution_stopped_at()),
        stopped_at: time(t.stopped_at()),
        updated_at: None,
        attachments: t
            .attachments()
            .iter()
            .map(|a| Attachment {
                id: a.id().map(str::to_owned),
                kind: a.r#type().map(str::to_owned),
                status: a.status().map(str::to_owned),
                details: a
                    .details()
                    .iter()
                    .filter_map(|d| {
                        Some(Attribute {
                            name: d.name()?.to_owned(),
                            value: d.value().map(str::to_owned),
                        })
                    })
                    .collect(),
            })
            .collect(),
        containers: t
            .containers()
            .iter()
            .map(|c| Container {
                container_arn: c.container_arn().map(str::to_owned),
                name: c.name().unwrap_or_default().to_owned(),
                image: c.image().map(str::to_owned),
                image_digest: c.image_digest().map(str::to_owned),
                runtime_id: c.runtime_id().map(str::to_owned),
                last_status: c.last_status().map(Status::from),
                exit_code: c.exit_code().map(i64::from),
                reason: c.reason().map(str::to_owned),
                cpu: c.cpu().and_then(|v| v.trim().parse().ok()),
                memory: c.memory().and_then(|v| v.trim().parse().ok()),
                memory_reservation: c.memory_reservation().and_then(|v| v.trim().parse().ok()),
                health_status: c.health_status().map(|h| h.as_str().into()),
                ..Container::default()
            })
            .collect(),
    };
    TaskStateChange {
        region,
        time: detail.stopped_at,
        detail,
        ..TaskStateChange::default()
    }
}
