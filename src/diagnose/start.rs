//! Tasks that never ran: image pulls, secrets and registry auth, log drivers, ENIs, volumes.

use crate::event::StopCode;
use crate::evidence::Source;

use super::context::Context;
use super::{Cause, Finding, Verdict};

/// Error names ECS puts at the start of a reason when a task could not start.
const START_ERRORS: [&str; 9] = [
    "cannotpullcontainererror",
    "resourceinitializationerror",
    "cannotstartcontainererror",
    "cannotcreatevolumeerror",
    "containerruntimetimeouterror",
    "cannotinspectcontainererror",
    "cannotcreatecontainererror",
    "containerruntimeerror",
    "resource:eni",
];

/// The step of the start that failed; each family is one rule in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    ImagePull,
    Secrets,
    LogDriver,
    Network,
    Volume,
    Runtime,
    Other,
}

fn family_of(reason: &str) -> Family {
    let lower = reason.to_lowercase();
    let has = |n: &str| lower.contains(n);
    if has("cannotpullcontainererror") {
        Family::ImagePull
    } else if has("unable to pull secrets")
        || has("registry auth")
        || has("secretsmanager")
        || (has("ssm") && has("parameter"))
    {
        Family::Secrets
    } else if has("logger") || has("log driver") || has("log group") {
        Family::LogDriver
    } else if has(" eni") || has("eni ") || has("eni:") || has("network interface") {
        Family::Network
    } else if has("cannotcreatevolumeerror") || has("efs") || has("mount") {
        Family::Volume
    } else if has("containerruntime") || has("cannotstartcontainer") || has("cannotcreatecontainer")
    {
        Family::Runtime
    } else {
        Family::Other
    }
}

pub fn failed_to_start(ctx: &Context<'_>, family: Family) -> Option<Verdict> {
    let reason = START_ERRORS
        .iter()
        .find_map(|needle| ctx.any_reason_with(needle))
        .map(str::to_owned);
    let stop_code = ctx.stop_code() == Some(&StopCode::TaskFailedToStart);
    if reason.is_none() && !stop_code {
        return None;
    }
    let reason = reason.unwrap_or_else(|| ctx.stopped_reason().to_owned());
    if family_of(&reason) != family {
        return None;
    }
    let container = ctx
        .event
        .detail
        .containers
        .iter()
        .find(|c| c.reason.as_deref() == Some(reason.as_str()))
        .or_else(|| ctx.deciding_container());
    let image = container.and_then(|c| c.image.as_deref()).or_else(|| {
        container
            .and_then(|c| ctx.container_def(&c.name))
            .and_then(|d| d.image.as_deref())
    });

    let (what, confidence, key, recs) = classify(&reason, image, ctx);
    let summary = format!("The task never ran: {what}.");
    let mut v = Verdict::new(Cause::FailedToStart, confidence, summary)
        .key_fact(key)
        .finding(Finding::supports("reason", format!("\"{reason}\"")))
        .relies_on(&[Source::TaskDefinition]);
    if stop_code {
        v = v.finding(Finding::supports("stop code", "TaskFailedToStart"));
    }
    if ctx.event.detail.started_at.is_none() {
        v = v.finding(Finding::supports(
            "task lifecycle",
            "no startedAt: no container ever ran",
        ));
    }
    for rec in recs {
        v = v.recommend(rec);
    }
    if let Some(c) = container {
        v = v.container(&c.name, c.exit_code);
    }
    if let Some(events) = unable_to_start_events(ctx) {
        v = v.finding(Finding::supports("service events", events));
    }
    Some(v)
}

fn classify(
    reason: &str,
    image: Option<&str>,
    ctx: &Context<'_>,
) -> (String, f64, String, Vec<String>) {
    let lower = reason.to_lowercase();
    let lower = lower.as_str();
    let image_text = image.unwrap_or("the image");
    let exec_role = ctx
        .evidence
        .task_definition
        .as_ref()
        .and_then(|t| t.execution_role_arn.as_deref())
        .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_owned())
        .unwrap_or_else(|| "the task execution role".to_owned());

    if lower.contains("cannotpullcontainererror") {
        if lower.contains("not found") || lower.contains("manifest unknown") {
            let tag = image.map(image_tag).unwrap_or_default();
            return (
                format!("image {image_text} was not found in the registry"),
                0.95,
                format!("image {} not found", short_image(image_text)),
                vec![format!(
                    "Image tag {tag} not found in the registry: push it, or fix the tag in the task definition (prefer immutable tags or digests in deployments)"
                )],
            );
        }
        if lower.contains("toomanyrequests") || lower.contains("rate limit") {
            return (
                "the registry rate-limited the image pull".to_owned(),
                0.9,
                "image pull rate-limited".to_owned(),
                vec!["Docker Hub limits anonymous pulls: mirror the image into ECR (an ECR pull-through cache rule) or authenticate with repositoryCredentials".to_owned()],
            );
        }
        if lower.contains("accessdenied")
            || lower.contains("access denied")
            || lower.contains("403")
            || lower.contains("unauthorized")
            || lower.contains("denied")
        {
            return (
                format!("pulling {image_text} was denied"),
                0.9,
                "image pull denied".to_owned(),
                vec![format!(
                    "{exec_role} needs ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer (AmazonECSTaskExecutionRolePolicy), and a cross-account repository needs a repository policy that allows this account"
                )],
            );
        }
        if lower.contains("timeout")
            || lower.contains("dial tcp")
            || lower.contains("context canceled")
            || lower.contains("i/o timeout")
        {
            return (
                format!("the registry could not be reached to pull {image_text}"),
                0.85,
                "registry unreachable".to_owned(),
                vec!["The task's subnets have no route to the registry: add a NAT gateway, or VPC endpoints for ecr.api, ecr.dkr and an S3 gateway endpoint; on Fargate in a public subnet set assignPublicIp ENABLED".to_owned()],
            );
        }
        return (
            format!("pulling {image_text} failed"),
            0.8,
            "image pull failed".to_owned(),
            vec![format!(
                "Check that {image_text} exists and {exec_role} may pull it"
            )],
        );
    }
    if lower.contains("unable to pull secrets")
        || lower.contains("registry auth")
        || lower.contains("secretsmanager")
        || (lower.contains("ssm") && lower.contains("parameter"))
    {
        let arn = first_arn(reason);
        let target = arn.as_deref().unwrap_or("the referenced secret");
        let mut recs = Vec::new();
        if lower.contains("accessdenied") || lower.contains("not authorized") {
            if lower.contains("kms") {
                recs.push(format!(
                    "{exec_role} lacks kms:Decrypt on the key that encrypts {target}"
                ));
            } else if lower.contains("ssm") {
                recs.push(format!("{exec_role} lacks ssm:GetParameters on {target}"));
            } else {
                recs.push(format!(
                    "{exec_role} lacks secretsmanager:GetSecretValue on {target}"
                ));
            }
        } else if lower.contains("resourcenotfound")
            || lower.contains("not found")
            || lower.contains("parametersnotfound")
            || lower.contains("invalid parameters")
        {
            recs.push(format!("{target} does not exist in this account and Region: fix the valueFrom in the task definition"));
        } else if lower.contains("timeout")
            || lower.contains("dial tcp")
            || lower.contains("context deadline")
        {
            recs.push("The task's subnets cannot reach Secrets Manager / SSM: add a NAT gateway or interface VPC endpoints (secretsmanager, ssm, kms)".to_owned());
        } else {
            recs.push(format!("Check that {exec_role} can read {target} (secretsmanager:GetSecretValue or ssm:GetParameters, and kms:Decrypt for a customer key)"));
        }
        return (
            "ECS could not fetch its secrets or registry credentials".to_owned(),
            0.9,
            "secrets not readable".to_owned(),
            recs,
        );
    }
    if lower.contains("logger") || lower.contains("log driver") || lower.contains("log group") {
        return (
            "the log driver could not be set up".to_owned(),
            0.9,
            "log driver failed".to_owned(),
            vec![format!(
                "Create the log group named in the task definition (or set awslogs-create-group true and allow logs:CreateLogGroup), and let {exec_role} call logs:CreateLogStream and logs:PutLogEvents"
            )],
        );
    }
    if lower.contains(" eni")
        || lower.contains("eni ")
        || lower.contains("eni:")
        || lower.contains("network interface")
        || lower.contains("free addresses")
        || lower.contains("ip address")
    {
        return (
            "no network interface could be attached".to_owned(),
            0.85,
            "ENI not attached".to_owned(),
            vec!["The subnets ran out of free IP addresses or the account hit its ENI quota: add subnets or larger CIDRs, or enable awsvpcTrunking on EC2 hosts".to_owned()],
        );
    }
    if lower.contains("cannotcreatevolumeerror") || lower.contains("efs") || lower.contains("mount")
    {
        return (
            "a volume could not be created or mounted".to_owned(),
            0.85,
            "volume mount failed".to_owned(),
            vec!["Check the EFS file system has a mount target in each task subnet, its security group allows NFS (2049) from the task, and the task role may mount it when IAM authorization is on".to_owned()],
        );
    }
    if lower.contains("containerruntimetimeouterror") {
        return (
            "the container runtime timed out starting the container".to_owned(),
            0.8,
            "runtime timeout".to_owned(),
            vec!["The host's container runtime was overloaded or unhealthy: check the container instance (disk, docker/containerd) and replace it if it repeats".to_owned()],
        );
    }
    if lower.contains("cannotstartcontainererror") || lower.contains("cannotcreatecontainererror") {
        let mut recs = vec!["Check the entrypoint and command exist in the image, the user can run them, and port and volume settings are valid".to_owned()];
        if lower.contains("exec format") {
            recs.insert(0, "The image was built for another CPU architecture than the task's runtimePlatform: build a multi-arch image or set cpuArchitecture to match".to_owned());
        }
        return (
            "the container runtime could not start the container".to_owned(),
            0.85,
            "container could not start".to_owned(),
            recs,
        );
    }
    (
        "ECS reports it failed to start".to_owned(),
        0.75,
        "failed to start".to_owned(),
        vec![
            "Read the stopped reason and the service events: they name the step that failed"
                .to_owned(),
        ],
    )
}

/// "repo:tag" → "tag"; a digest reference stays whole.
fn image_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if !last.contains('@') => tag.to_owned(),
        _ => last.to_owned(),
    }
}

/// "123.dkr.ecr.eu-west-1.amazonaws.com/shop/api:v2.3.1" → "shop/api:v2.3.1".
fn short_image(image: &str) -> &str {
    match image.split_once('/') {
        Some((host, rest)) if host.contains('.') => rest,
        _ => image,
    }
}

fn first_arn(text: &str) -> Option<String> {
    let at = text.find("arn:aws")?;
    let arn: String = text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | ',' | ')' | '('))
        .collect();
    Some(arn.trim_end_matches('.').to_owned())
}

fn unable_to_start_events(ctx: &Context<'_>) -> Option<String> {
    let events = ctx.service_events_near(60);
    let e = events.iter().rev().find(|e| {
        let m = e.message.to_lowercase();
        m.contains("unable to consistently start")
            || m.contains("deployment failed")
            || m.contains("rolling back")
    })?;
    Some(format!("\"{}\"", e.message))
}

#[cfg(test)]
mod tests {
    use super::{first_arn, image_tag, short_image};

    #[test]
    fn image_tag_is_read_from_the_reference() {
        assert_eq!(
            image_tag("123.dkr.ecr.eu-west-1.amazonaws.com/shop/api:v2.3.1"),
            "v2.3.1"
        );
        assert_eq!(image_tag("nginx"), "nginx");
        assert_eq!(
            short_image("123.dkr.ecr.eu-west-1.amazonaws.com/shop/api:v2"),
            "shop/api:v2"
        );
        assert_eq!(short_image("library/nginx:1"), "library/nginx:1");
    }

    #[test]
    fn secret_arn_is_found_in_the_reason() {
        let r = "... getsecretvalue on resource: arn:aws:secretsmanager:eu-west-1:1:secret:db-abc because ...";
        assert_eq!(
            first_arn(r).as_deref(),
            Some("arn:aws:secretsmanager:eu-west-1:1:secret:db-abc")
        );
    }
}
