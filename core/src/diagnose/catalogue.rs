//! ECS's own words as data: what each stop code and each `stoppedReason` / `containers[].reason`
//! wording means, the cause it points to, the key fact, the advice and a confidence.
//!
//! Matching is case-insensitive and by substring, so prefixes such as `Service web: ` and the
//! agent's `… has been retried 5 time(s): …` wrappers are tolerated. A row matches when every one
//! of its groups has at least one word in the text. **Precedence is the table's order**: the
//! first matching row wins, so specific rows come before the general row of their family.
//! Reasons that match no row are never dropped: the diagnosis quotes them as unrecognised.

use crate::event::StopCode;

use super::context::Context;
use super::start::Family;
use super::{Cause, Finding, Verdict};

/// What a stop code says on its own.
pub struct StopCodeRow {
    pub code: StopCode,
    pub meaning: &'static str,
}

/// The seven stop codes ECS sends; an unknown one is kept raw by the event parser.
pub const STOP_CODES: [StopCodeRow; 7] = [
    StopCodeRow {
        code: StopCode::TaskFailedToStart,
        meaning: "the task never reached RUNNING",
    },
    StopCodeRow {
        code: StopCode::EssentialContainerExited,
        meaning: "an essential container exited, so ECS stopped the rest",
    },
    StopCodeRow {
        code: StopCode::UserInitiated,
        meaning: "StopTask was called (a person, a tool, or a scheduler outside ECS)",
    },
    StopCodeRow {
        code: StopCode::ServiceSchedulerInitiated,
        meaning: "the service scheduler stopped it (deployment, scale-in, or a failed health check: the reason says which)",
    },
    StopCodeRow {
        code: StopCode::SpotInterruption,
        meaning: "Spot capacity was reclaimed",
    },
    StopCodeRow {
        code: StopCode::TerminationNotice,
        meaning: "the capacity underneath is going away (Fargate Spot, Fargate retirement, or an EC2 host terminating)",
    },
    StopCodeRow {
        code: StopCode::InfrastructureHealth,
        meaning: "ECS found the infrastructure under the task unhealthy",
    },
];

/// The meaning of a stop code, or `None` for a code ECS added after this table.
pub fn stop_code_meaning(code: &StopCode) -> Option<&'static str> {
    STOP_CODES
        .iter()
        .find(|r| r.code == *code)
        .map(|r| r.meaning)
}

/// One wording ECS uses, and what it means.
#[derive(Debug)]
pub struct ReasonRow {
    /// Stable id, quoted in findings (`pull.not_found`).
    pub id: &'static str,
    /// Every group must have at least one of its (lowercase) words in the text.
    pub groups: &'static [&'static [&'static str]],
    /// The cause this wording decides; `None` for wordings that only describe (the verdict
    /// then comes from the exit codes or other evidence).
    pub cause: Option<Cause>,
    /// For start failures: which step failed (one rule in the registry per step).
    pub family: Option<Family>,
    pub meaning: &'static str,
    pub key_fact: &'static str,
    /// Advice; `{exec_role}`, `{image}`, `{tag}`, `{secret}` and `{region}` are filled in.
    pub advice: &'static [&'static str],
    pub confidence: f64,
}

impl ReasonRow {
    pub fn matches(&self, lowercase_text: &str) -> bool {
        self.groups
            .iter()
            .all(|g| g.iter().any(|w| lowercase_text.contains(w)))
    }
}

// Word groups shared by rows of one family.
const PULL: &[&str] = &[
    "cannotpullcontainererror",
    "cannotpullecrcontainererror",
    "cannotpullcontainerautherror",
    "cannotpullimagemanifesterror",
    "the task can’t pull the image",
    "the task can't pull the image",
];
const SECRETS: &[&str] = &[
    "unable to pull secrets or registry auth",
    "the task can't retrieve the secret",
    "the task can’t retrieve the secret",
    "fetching secret data from",
    "asm fetching secret",
    "unable to retrieve secret",
];
const DENIED: &[&str] = &[
    "accessdenied",
    "access denied",
    "not authorized to perform",
    "is not authorized",
];
const UNREACHABLE: &[&str] = &[
    "i/o timeout",
    "dial tcp",
    "request canceled while waiting for connection",
    "check your network configuration",
    "context deadline exceeded",
    "requesterror: send request failed",
    "send request failed",
    "no such host",
    "tls handshake timeout",
    "connection issue between the task",
];
const LOGGER: &[&str] = &[
    "failed to validate logger args",
    "failed to initialize logging driver",
];
const START_RUNTIME: &[&str] = &[
    "cannotstartcontainererror",
    "cannotcreatecontainererror",
    "containerruntimeerror",
];

const ADVICE_ECR_ENDPOINTS: &str = "The task's subnets have no route to ECR: add a NAT gateway, or the interface VPC endpoints com.amazonaws.{region}.ecr.api and com.amazonaws.{region}.ecr.dkr plus the S3 gateway endpoint (image layers come from S3); on Fargate in a public subnet set assignPublicIp ENABLED, and let the endpoints' security group accept 443 from the task";
const ADVICE_SECRET_ENDPOINTS: &str = "The task's subnets cannot reach Secrets Manager / SSM: add a NAT gateway or the interface VPC endpoints com.amazonaws.{region}.secretsmanager, com.amazonaws.{region}.ssm and com.amazonaws.{region}.kms (for a customer key), with DNS resolution enabled in the VPC";

/// Every wording, in precedence order.
pub const REASONS: &[ReasonRow] = &[
    // --- Image pulls (CannotPullContainerError; older agents CannotPullECRContainerError; the
    // 2024 agent prefixes "The task can’t pull the image. Check …").
    ReasonRow {
        id: "pull.rate_limited",
        groups: &[
            PULL,
            &["toomanyrequests", "pull rate limit", "too many requests"],
        ],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::ImagePull),
        meaning: "the registry rate-limited the image pull",
        key_fact: "image pull rate-limited",
        advice: &[
            "Docker Hub limits anonymous pulls per IP (a NAT gateway shares one): mirror the image into ECR with a pull-through cache rule, or authenticate with repositoryCredentials",
        ],
        confidence: 0.92,
    },
    ReasonRow {
        id: "pull.disk_full",
        groups: &[PULL, &["no space left on device"]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::ImagePull),
        meaning: "the host or the task's ephemeral storage ran out of disk while pulling {image}",
        key_fact: "disk full while pulling",
        advice: &[
            "Free or enlarge the storage the image is unpacked into: on Fargate raise ephemeralStorage (21–200 GiB) or slim the image; on EC2 grow the instance's data volume and let the agent clean old images (ECS_IMAGE_CLEANUP_INTERVAL)",
        ],
        confidence: 0.9,
    },
    ReasonRow {
        id: "pull.access_denied",
        groups: &[
            PULL,
            &[
                "not authorized to perform",
                "check that the role has the permissions",
                "accessdenied",
                "403 forbidden",
                "no basic auth credentials",
                "unauthorized",
            ],
        ],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::ImagePull),
        meaning: "pulling {image} was denied",
        key_fact: "image pull denied",
        advice: &[
            "{exec_role} needs ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer (AmazonECSTaskExecutionRolePolicy); a repository in another account needs a repository policy that allows this account",
        ],
        confidence: 0.9,
    },
    ReasonRow {
        id: "pull.not_found",
        groups: &[
            PULL,
            &[
                "check whether the image exists",
                "requested access to the resource is denied",
                "manifest unknown",
                "not found",
                "name unknown",
            ],
        ],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::ImagePull),
        meaning: "image {image} was not found in the registry",
        key_fact: "image {short_image} not found",
        advice: &[
            "Image tag {tag} not found in the registry: push it, or fix the image in the task definition (prefer immutable tags or digests in deployments)",
        ],
        confidence: 0.95,
    },
    // Docker's answer without the registry's detail: the agent itself cannot tell the two apart.
    ReasonRow {
        id: "pull.missing_or_denied",
        groups: &[PULL, &["repository does not exist", "pull access denied"]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::ImagePull),
        meaning: "pulling {image} was refused: the repository does not exist or may not be read",
        key_fact: "image missing or pull denied",
        advice: &[
            "{exec_role} needs ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer (AmazonECSTaskExecutionRolePolicy)",
            "Check that the repository and tag {tag} exist in the registry the task definition names",
        ],
        confidence: 0.8,
    },
    ReasonRow {
        id: "pull.wrong_platform",
        groups: &[PULL, &["no matching manifest"]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::ImagePull),
        meaning: "{image} has no build for the task's CPU architecture",
        key_fact: "image lacks this architecture",
        advice: &[
            "Publish {image} for the task's runtimePlatform (linux/amd64 or linux/arm64), or a multi-arch manifest",
        ],
        confidence: 0.9,
    },
    ReasonRow {
        id: "pull.unreachable",
        groups: &[PULL, UNREACHABLE],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::ImagePull),
        meaning: "the registry could not be reached to pull {image}",
        key_fact: "registry unreachable",
        advice: &[ADVICE_ECR_ENDPOINTS],
        confidence: 0.88,
    },
    ReasonRow {
        id: "pull.other",
        groups: &[PULL],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::ImagePull),
        meaning: "pulling {image} failed",
        key_fact: "image pull failed",
        advice: &[
            "Check that {image} exists and {exec_role} may pull it; the reason above names the registry's answer",
        ],
        confidence: 0.8,
    },
    // --- Secrets and registry credentials (Fargate: ResourceInitializationError: unable to pull
    // secrets or registry auth …; EC2 agent: fetching secret data from SSM Parameter Store …).
    ReasonRow {
        id: "secrets.ecr_auth_unreachable",
        groups: &[
            SECRETS,
            &["ecr registry auth", "registry auth from ecr"],
            UNREACHABLE,
        ],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Secrets),
        meaning: "ECS could not reach ECR for the registry credentials",
        key_fact: "ECR unreachable",
        advice: &[ADVICE_ECR_ENDPOINTS],
        confidence: 0.88,
    },
    ReasonRow {
        id: "secrets.unreachable",
        groups: &[SECRETS, UNREACHABLE],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Secrets),
        meaning: "ECS could not reach Secrets Manager / SSM for the task's secrets",
        key_fact: "secrets endpoint unreachable",
        advice: &[ADVICE_SECRET_ENDPOINTS],
        confidence: 0.88,
    },
    ReasonRow {
        id: "secrets.kms_denied",
        groups: &[SECRETS, &["kms"], DENIED],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Secrets),
        meaning: "ECS may not decrypt the task's secrets",
        key_fact: "secret's KMS key denied",
        advice: &["{exec_role} lacks kms:Decrypt on the key that encrypts {secret}"],
        confidence: 0.9,
    },
    ReasonRow {
        id: "secrets.ssm_denied",
        groups: &[SECRETS, &["ssm", "parameter store"], DENIED],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Secrets),
        meaning: "ECS may not read the task's SSM parameters",
        key_fact: "SSM parameter denied",
        advice: &["{exec_role} lacks ssm:GetParameters on {secret}"],
        confidence: 0.9,
    },
    ReasonRow {
        id: "secrets.denied",
        groups: &[SECRETS, DENIED],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Secrets),
        meaning: "ECS may not read the task's secrets",
        key_fact: "secrets not readable",
        advice: &["{exec_role} lacks secretsmanager:GetSecretValue on {secret}"],
        confidence: 0.9,
    },
    ReasonRow {
        id: "secrets.not_found",
        groups: &[
            SECRETS,
            &[
                "resourcenotfoundexception",
                "parameternotfound",
                "invalidparameters",
                "invalid parameters",
                "can't retrieve the secret",
                "can’t retrieve the secret",
            ],
        ],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Secrets),
        meaning: "a secret the task references does not exist",
        key_fact: "secret not found",
        advice: &[
            "{secret} does not exist in this account and Region: fix the valueFrom in the task definition",
        ],
        confidence: 0.9,
    },
    ReasonRow {
        id: "secrets.other",
        groups: &[SECRETS],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Secrets),
        meaning: "ECS could not fetch its secrets or registry credentials",
        key_fact: "secrets not readable",
        advice: &[
            "Check that {exec_role} can read {secret} (secretsmanager:GetSecretValue or ssm:GetParameters, and kms:Decrypt for a customer key)",
        ],
        confidence: 0.85,
    },
    // --- Log driver (ResourceInitializationError: failed to validate logger args …).
    ReasonRow {
        id: "log.group_missing",
        groups: &[
            LOGGER,
            &[
                "log group does not exist",
                "cannot find the amazon cloudwatch log group",
            ],
        ],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::LogDriver),
        meaning: "the log group in the task definition does not exist",
        key_fact: "log group missing",
        advice: &[
            "Create the log group named in the task definition, or set awslogs-create-group true and allow {exec_role} logs:CreateLogGroup",
        ],
        confidence: 0.92,
    },
    ReasonRow {
        id: "log.denied",
        groups: &[LOGGER, DENIED],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::LogDriver),
        meaning: "ECS may not write the task's logs",
        key_fact: "log driver denied",
        advice: &[
            "Let {exec_role} call logs:CreateLogStream and logs:PutLogEvents (and logs:CreateLogGroup with awslogs-create-group)",
        ],
        confidence: 0.9,
    },
    ReasonRow {
        id: "log.unreachable",
        groups: &[LOGGER, UNREACHABLE],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::LogDriver),
        meaning: "ECS could not reach CloudWatch Logs",
        key_fact: "CloudWatch Logs unreachable",
        advice: &[
            "The task's subnets cannot reach CloudWatch Logs: add a NAT gateway or the interface VPC endpoint com.amazonaws.{region}.logs",
        ],
        confidence: 0.88,
    },
    ReasonRow {
        id: "log.other",
        groups: &[LOGGER],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::LogDriver),
        meaning: "the log driver could not be set up",
        key_fact: "log driver failed",
        advice: &[
            "Check the logConfiguration options (awslogs-group, awslogs-region, awslogs-stream-prefix) and that {exec_role} may write to the group",
        ],
        confidence: 0.85,
    },
    // --- Volumes: EFS mounts, before the network rows (an EFS mount that times out is a
    // volume problem, not an ENI one).
    ReasonRow {
        id: "volume.efs",
        groups: &[&[
            "efs utils",
            "efs volume",
            "mount.nfs4",
            "efs.",
            "amazon-efs",
        ]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Volume),
        meaning: "the EFS volume could not be mounted",
        key_fact: "EFS mount failed",
        advice: &[
            "Check the EFS file system has a mount target in each task subnet's Availability Zone, its security group accepts NFS (TCP 2049) from the task, the access point's path exists, and the task role may mount it (elasticfilesystem:ClientMount) when IAM authorization is on",
        ],
        confidence: 0.88,
    },
    ReasonRow {
        id: "volume.other",
        groups: &[&["cannotcreatevolumeerror"]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Volume),
        meaning: "a volume could not be created",
        key_fact: "volume not created",
        advice: &[
            "Check the task definition's volume (driver, driverOpts, the host path or the Docker volume plugin on the instance)",
        ],
        confidence: 0.85,
    },
    // --- Network interfaces.
    ReasonRow {
        id: "network.eni_timeout",
        groups: &[&[
            "timeout waiting for network interface provisioning",
            "network interface provision complete error",
        ]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Network),
        meaning: "the task's network interface was not provisioned in time",
        key_fact: "ENI provisioning timed out",
        advice: &[
            "Usually transient on the AWS side: the scheduler retries; if it repeats, check the subnets' free IP addresses and the account's ENI quota, or spread the service over more subnets",
        ],
        confidence: 0.85,
    },
    ReasonRow {
        id: "network.eni",
        groups: &[&[
            "invoke eni plugin failed",
            "eni attachment timeout",
            "resource:eni",
            "failed to configure eni",
            "free addresses",
        ]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Network),
        meaning: "no network interface could be attached",
        key_fact: "ENI not attached",
        advice: &[
            "The subnets ran out of free IP addresses or the account hit its ENI quota: add subnets or larger CIDRs, or enable awsvpcTrunking on EC2 hosts",
        ],
        confidence: 0.85,
    },
    // --- The container runtime (Docker / containerd).
    ReasonRow {
        id: "runtime.timeout",
        groups: &[&[
            "containerruntimetimeouterror",
            "dockertimeouterror",
            "could not transition to",
        ]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Runtime),
        meaning: "the container runtime timed out moving the container to its next state",
        key_fact: "runtime timed out",
        advice: &[
            "The host's container runtime was overloaded or unhealthy: check the container instance (disk, CPU, docker/containerd) and replace it if it repeats; on EC2 the agent's ECS_CONTAINER_START_TIMEOUT sets how long it waits",
        ],
        confidence: 0.8,
    },
    ReasonRow {
        id: "runtime.disk_full",
        groups: &[START_RUNTIME, &["no space left on device", "thin pool"]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Runtime),
        meaning: "the host ran out of disk creating the container",
        key_fact: "host disk full",
        advice: &[
            "Free or enlarge the host's container storage (the data volume, or Fargate ephemeralStorage) and let the agent clean stopped containers and old images",
        ],
        confidence: 0.88,
    },
    ReasonRow {
        id: "runtime.exec_format",
        groups: &[START_RUNTIME, &["exec format error"]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Runtime),
        meaning: "the image was built for another CPU architecture",
        key_fact: "wrong CPU architecture",
        advice: &[
            "The image was built for another CPU architecture than the task's runtimePlatform: build a multi-arch image or set cpuArchitecture to match",
        ],
        confidence: 0.9,
    },
    ReasonRow {
        id: "runtime.entrypoint_missing",
        groups: &[
            START_RUNTIME,
            &["executable file not found", "no such file or directory"],
        ],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Runtime),
        meaning: "the entrypoint or command does not exist in the image",
        key_fact: "entrypoint not found",
        advice: &[
            "The entrypoint or command was not found in the image: check the path, the exec form of ENTRYPOINT/CMD, and the task definition's command override",
        ],
        confidence: 0.9,
    },
    ReasonRow {
        id: "runtime.start",
        groups: &[START_RUNTIME],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Runtime),
        meaning: "the container runtime could not create or start the container",
        key_fact: "container could not start",
        advice: &[
            "Check the entrypoint and command exist in the image, the user can run them, and port, volume and Linux-parameter settings are valid",
        ],
        confidence: 0.85,
    },
    ReasonRow {
        id: "runtime.inspect",
        groups: &[&["cannotinspectcontainererror"]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Runtime),
        meaning: "the agent could not describe the container through the runtime",
        key_fact: "container not inspectable",
        advice: &[
            "The host's container runtime did not answer: check docker/containerd on the container instance; replace the instance if it repeats",
        ],
        confidence: 0.75,
    },
    // --- Other start failures.
    ReasonRow {
        id: "start.resource_init",
        groups: &[&["resourceinitializationerror"]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Other),
        meaning: "Fargate could not set up a resource the task needs",
        key_fact: "resource initialization failed",
        advice: &[
            "A resource the task needs could not be created: check the VPC has DNS resolution and DNS hostnames enabled, and the step named in the reason",
        ],
        confidence: 0.8,
    },
    ReasonRow {
        id: "start.resource_not_found",
        groups: &[&["resourcenotfoundexception"]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Other),
        meaning: "a resource the task references does not exist",
        key_fact: "resource not found",
        advice: &[
            "A resource named in the task definition (secret, parameter, log group, file system) does not exist in this account and Region: the reason names it",
        ],
        confidence: 0.8,
    },
    ReasonRow {
        id: "start.internal",
        groups: &[&["internalerror"]],
        cause: Some(Cause::FailedToStart),
        family: Some(Family::Other),
        meaning: "the agent hit an unexpected internal error",
        key_fact: "ECS internal error",
        advice: &[
            "An internal error on the AWS side: the scheduler retries; open a support case with the task ARN if it repeats",
        ],
        confidence: 0.6,
    },
    // --- Capacity underneath.
    ReasonRow {
        id: "spot.interrupted",
        groups: &[&[
            "your spot task was interrupted",
            "spotinterruptionerror",
            "spot interruption",
        ]],
        cause: Some(Cause::SpotInterrupted),
        family: None,
        meaning: "Spot capacity was reclaimed",
        key_fact: "Spot capacity reclaimed",
        advice: &[],
        confidence: 0.97,
    },
    ReasonRow {
        id: "host.terminated",
        groups: &[&["host ec2"], &["terminated", "shutting-down"]],
        cause: Some(Cause::HostLost),
        family: None,
        meaning: "the EC2 host was terminated",
        key_fact: "{instance} terminated",
        advice: &[],
        confidence: 0.95,
    },
    ReasonRow {
        id: "host.stopped",
        groups: &[&["host ec2"], &["stopped", "stopping"]],
        cause: Some(Cause::HostLost),
        family: None,
        meaning: "the EC2 host was stopped",
        key_fact: "{instance} stopped",
        advice: &[],
        confidence: 0.95,
    },
    ReasonRow {
        id: "host.deregistered",
        groups: &[&[
            "deregistration forced",
            "container instance deregistration",
            "instance was deregistered",
        ]],
        cause: Some(Cause::HostLost),
        family: None,
        meaning: "the container instance was deregistered from the cluster",
        key_fact: "{instance} deregistered",
        advice: &[],
        confidence: 0.9,
    },
    ReasonRow {
        id: "host.draining",
        groups: &[&["task stopped during instance draining", "instance draining"]],
        cause: Some(Cause::HostLost),
        family: None,
        meaning: "the instance under the task was drained; ECS Managed Instances drain each instance at day 14",
        key_fact: "instance drained",
        advice: &[],
        confidence: 0.9,
    },
    ReasonRow {
        id: "maintenance",
        groups: &[&[
            "performing maintenance",
            "scheduled for retirement",
            "task retirement",
        ]],
        cause: Some(Cause::PlatformMaintenance),
        family: None,
        meaning: "AWS retired the task for maintenance of the infrastructure",
        key_fact: "AWS maintenance",
        advice: &[],
        confidence: 0.95,
    },
    // --- What the task did.
    ReasonRow {
        id: "health.elb",
        groups: &[&["failed elb health checks", "failed alb health checks"]],
        cause: Some(Cause::ElbHealthCheckFailed),
        family: None,
        meaning: "the load balancer's health checks failed and ECS replaced the task",
        key_fact: "failed ALB health checks",
        advice: &[],
        confidence: 0.8,
    },
    ReasonRow {
        id: "health.container",
        groups: &[&["failed container health checks"]],
        cause: Some(Cause::ContainerHealthCheckFailed),
        family: None,
        meaning: "the task definition's container health check failed",
        key_fact: "failed container health check",
        advice: &[],
        confidence: 0.8,
    },
    ReasonRow {
        id: "oom",
        groups: &[&["outofmemoryerror", "container killed due to memory usage"]],
        cause: Some(Cause::OomKilled),
        family: None,
        meaning: "the kernel OOM killer ended the container at its memory limit",
        key_fact: "OOM-killed",
        advice: &[],
        confidence: 0.9,
    },
    ReasonRow {
        id: "scheduler.scaling",
        groups: &[&["scaling activity initiated by"]],
        cause: Some(Cause::Deployment),
        family: None,
        meaning: "the service scheduler replaced or scaled in the task",
        key_fact: "scheduler stop",
        advice: &[],
        confidence: 0.9,
    },
    ReasonRow {
        id: "user.stop_task",
        groups: &[&["task stopped by user", "stopped by user"]],
        cause: Some(Cause::UserStopped),
        family: None,
        meaning: "StopTask was called",
        key_fact: "StopTask",
        advice: &[],
        confidence: 0.9,
    },
    ReasonRow {
        id: "essential.exited",
        groups: &[&["essential container in task exited"]],
        cause: None,
        family: None,
        meaning: "an essential container exited; its exit code and reason tell why",
        key_fact: "essential container exited",
        advice: &[],
        confidence: 0.5,
    },
    ReasonRow {
        id: "runtime.cannot_stop",
        groups: &[&["cannotstopcontainererror"]],
        cause: None,
        family: None,
        meaning: "the runtime could not stop the container (it did not answer SIGTERM/SIGKILL in time); the stop itself was ordered for another reason",
        key_fact: "container could not be stopped",
        advice: &[],
        confidence: 0.5,
    },
];

/// The first row that matches `text`, in table order.
pub fn lookup(text: &str) -> Option<&'static ReasonRow> {
    let lower = text.to_lowercase();
    REASONS.iter().find(|r| r.matches(&lower))
}

/// The row the task's stoppedReason matches.
pub fn stopped_reason_row(ctx: &Context<'_>) -> Option<&'static ReasonRow> {
    ctx.reason_row()
}

/// Whether the task's stoppedReason is a wording of `cause`.
pub fn reason_says(ctx: &Context<'_>, cause: Cause) -> bool {
    stopped_reason_row(ctx).is_some_and(|r| r.cause == Some(cause))
}

/// The stoppedReason in quotes, with what the catalogue says it means.
pub fn quoted_reason(ctx: &Context<'_>) -> String {
    let reason = ctx.stopped_reason();
    match stopped_reason_row(ctx) {
        Some(r) => format!("\"{reason}\" — {} ({})", r.meaning, r.id),
        None => format!("\"{reason}\""),
    }
}

/// Whether the task's stoppedReason is the wording of row `id` (the look-up `Context` made).
pub fn reason_is(ctx: &Context<'_>, id: &str) -> bool {
    stopped_reason_row(ctx).is_some_and(|r| r.id == id)
}

/// Whether a container's reason is ECS's OOM wording (`OutOfMemoryError: Container killed due
/// to memory usage`).
pub fn is_oom_reason(text: &str) -> bool {
    lookup(text).is_some_and(|r| r.cause == Some(Cause::OomKilled))
}

/// What a service event (DescribeServices `events[].message`) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSignal {
    /// Any health-check wording: `… is unhealthy in (target-group …)`, `… failed container
    /// health checks`.
    HealthCheck,
    /// `(service web) (port 8080) is unhealthy in (target-group …) due to (reason …)`.
    Unhealthy,
    /// `… (reason Request timed out).`
    TimedOut,
    /// The target refused or reset the health check's connection.
    ConnectionFailed,
    /// `(deployment ecs-svc/…) deployment failed: tasks failed to start.`
    DeploymentFailed,
    /// The circuit breaker's `… rolling back to deployment …`.
    RollingBack,
    /// `(service web) is unable to consistently start tasks successfully.`
    UnableToStart,
    /// Any `unable to …` of the scheduler: place a task, start tasks, register targets.
    UnableTo,
}

/// ECS's service-event wordings (AWS docs, "Amazon ECS service event messages"), lowercase,
/// matched by substring: a signal holds when any of its words is in the message.
const EVENT_WORDS: &[(EventSignal, &[&str])] = &[
    (EventSignal::HealthCheck, &["unhealthy", "health check"]),
    (EventSignal::Unhealthy, &["unhealthy"]),
    (EventSignal::TimedOut, &["timed out"]),
    (
        EventSignal::ConnectionFailed,
        &["connection refused", "connection reset"],
    ),
    (EventSignal::DeploymentFailed, &["deployment failed"]),
    (EventSignal::RollingBack, &["rolling back"]),
    (
        EventSignal::UnableToStart,
        &["unable to consistently start"],
    ),
    (EventSignal::UnableTo, &["unable to"]),
];

/// The signals a service event's message carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSays(Vec<EventSignal>);

impl EventSays {
    pub fn of(message: &str) -> Self {
        let lower = message.to_lowercase();
        Self(
            EVENT_WORDS
                .iter()
                .filter(|(_, words)| words.iter().any(|w| lower.contains(w)))
                .map(|(signal, _)| *signal)
                .collect(),
        )
    }

    pub fn has(&self, signal: EventSignal) -> bool {
        self.0.contains(&signal)
    }

    /// The circuit breaker failed the deployment or is rolling it back.
    pub fn rollback(&self) -> bool {
        self.has(EventSignal::RollingBack) || self.has(EventSignal::DeploymentFailed)
    }
}

/// Whether an ELB target-health description (`Target.FailedHealthChecks`) says the check timed
/// out rather than failed on the connection.
pub fn target_check_timed_out(description: &str) -> bool {
    description.to_lowercase().contains("timed out")
}

/// Reasons and stop codes this table does not know are quoted as ECS gave them, so a new
/// wording is seen in the report the first time it appears.
pub fn quote_unrecognised(ctx: &Context<'_>, verdict: &mut Verdict) {
    let d = &ctx.event.detail;
    // The stoppedReason's row is the one the context already looked up.
    let task = d
        .stopped_reason
        .as_deref()
        .map(|r| ("stoppedReason".to_owned(), r, ctx.reason_row().is_some()));
    let containers = d.containers.iter().filter_map(|c| {
        c.reason
            .as_deref()
            .map(|r| (format!("reason of {}", c.name), r, lookup(r).is_some()))
    });
    for (whose, text, known) in task.into_iter().chain(containers) {
        if text.trim().is_empty() || known {
            continue;
        }
        verdict.findings.push(Finding::context(
            "unrecognised reason",
            format!("{whose}: \"{text}\" (not in the catalogue of ECS wordings; quoted as given)"),
        ));
    }
    if let Some(code) = ctx.stop_code()
        && stop_code_meaning(code).is_none()
    {
        verdict.findings.push(Finding::context(
            "unrecognised stop code",
            format!(
                "{} (newer than this catalogue; quoted as given)",
                code.as_str()
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::{
        EventSays, EventSignal, REASONS, STOP_CODES, is_oom_reason, lookup, stop_code_meaning,
    };
    use crate::event::StopCode;

    fn id(text: &str) -> &'static str {
        lookup(text).map_or("none", |r| r.id)
    }

    #[test]
    fn every_stop_code_has_a_meaning_and_unknown_codes_are_kept_raw() {
        for raw in [
            "TaskFailedToStart",
            "EssentialContainerExited",
            "UserInitiated",
            "ServiceSchedulerInitiated",
            "SpotInterruption",
            "TerminationNotice",
            "InfrastructureHealth",
        ] {
            let code = StopCode::from(raw);
            assert!(!matches!(code, StopCode::Other(_)), "{raw} is not decoded");
            assert!(stop_code_meaning(&code).is_some(), "{raw} has no meaning");
        }
        let future = StopCode::from("CapacityRebalance");
        assert_eq!(future.as_str(), "CapacityRebalance");
        assert_eq!(stop_code_meaning(&future), None);
        assert_eq!(STOP_CODES.len(), 7);
    }

    /// Every row is exercised by a test below with a real string: its id must appear quoted in
    /// this test module.
    #[test]
    fn every_row_has_a_test() {
        let source = include_str!("catalogue.rs");
        // Split so that this line does not itself match the marker.
        let marker = concat!("#[cfg(", "test)]");
        let tests = source.split(marker).nth(1).unwrap_or_default();
        for r in REASONS {
            let quoted = format!("\"{}\"", r.id);
            let uses = tests.matches(&quoted).count();
            assert!(uses >= 1, "row {} has no test", r.id);
        }
    }

    #[test]
    fn row_ids_are_unique_and_every_row_is_reachable() {
        for (i, r) in REASONS.iter().enumerate() {
            assert!(
                REASONS[i + 1..].iter().all(|o| o.id != r.id),
                "duplicate row id {}",
                r.id
            );
            assert!((0.0..=1.0).contains(&r.confidence), "{}", r.id);
            for g in r.groups {
                for w in *g {
                    assert_eq!(*w, w.to_lowercase(), "{}: words are lowercase", r.id);
                }
            }
            assert!(
                r.cause == Some(super::Cause::FailedToStart) || r.family.is_none(),
                "{}: only start failures name a family",
                r.id
            );
        }
    }

    // Image pulls.
    #[test]
    fn docker_hub_rate_limit_is_its_own_row() {
        // repost.aws knowledge-center "ecs-pull-container-error-rate-limit".
        let r = "CannotPullContainerError: inspect image has been retried 5 time(s): httpReaderSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/manifests/sha256:2bb501e6429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit";
        assert_eq!(id(r), "pull.rate_limited");
    }

    #[test]
    fn missing_ecr_permission_is_denied_not_missing_image() {
        // amazon-ecs-agent agent/api/errormessages/error_messages.go (parser examples).
        let r = "CannotPullContainerError: Error response from daemon: pull access denied for 123123123123.dkr.ecr.us-east-1.amazonaws.com/test_image, repository does not exist or may require 'docker login': denied: User: arn:aws:sts::123123123123:assumed-role/BrokenRole/xyz is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:region:123123123123:repository/test_image because no identity-based policy allows the ecr:BatchGetImage action";
        assert_eq!(id(r), "pull.access_denied");
        // The 2024 agent wording of the same failure (error_messages.go formatter).
        assert_eq!(
            id(
                "CannotPullContainerError: The task can’t pull the image. Check that the role has the permissions to pull images from the registry. denied: User: … is not authorized to perform: ecr:BatchGetImage"
            ),
            "pull.access_denied"
        );
    }

    #[test]
    fn missing_repository_or_tag_is_not_found() {
        // amazon-ecs-agent error_messages.go: "denied: requested access to the resource is
        // denied" means the repository does not exist (or a typo in its URL).
        let r = "CannotPullContainerError: Error response from daemon: pull access denied for 123123123123.dkr.ecr.us-east-1.amazonaws.com/test_image, repository does not exist or may require 'docker login': denied: requested access to the resource is denied";
        assert_eq!(id(r), "pull.not_found");
        // Without the registry's detail the agent cannot tell a missing repository from a denial.
        assert_eq!(
            id(
                "CannotPullContainerError: pull access denied for web, repository does not exist or may require 'docker login'"
            ),
            "pull.missing_or_denied"
        );
        // Fargate 1.4 wording, as in this repository's sample (containerd's "not found").
        assert_eq!(
            id(
                "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref 1.dkr.ecr.eu-west-1.amazonaws.com/api:v2: 1.dkr.ecr.eu-west-1.amazonaws.com/api:v2: not found"
            ),
            "pull.not_found"
        );
        // Older EC2 agents named the error CannotPullECRContainerError (dockerapi/errors.go).
        assert_eq!(
            id("CannotPullECRContainerError: manifest unknown: Requested image not found"),
            "pull.not_found"
        );
    }

    #[test]
    fn no_route_to_ecr_is_unreachable() {
        // devopsaitoolkit "CannotPullContainerError" guide, quoting a stoppedReason.
        let r = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref \"123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v42\": failed to do request: Head \"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/api/manifests/v42\": dial tcp 10.0.3.17:443: i/o timeout";
        assert_eq!(id(r), "pull.unreachable");
        // amazon-ecs-agent error_messages.go: PatternNetworkConfigurationError.
        assert_eq!(
            id(
                "CannotPullContainerError: Error response from daemon: Get https://1.dkr.ecr.us-east-1.amazonaws.com/v2/: net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)"
            ),
            "pull.unreachable"
        );
    }

    #[test]
    fn other_pull_failures_keep_their_family() {
        // vrnithinkumar.github.io 2025-02-17 "AWS ECS Task failure due to CannotPullContainerError"
        // (mixed gzip/zstd layers).
        assert_eq!(
            id(
                "CannotPullContainerError: ref pull has been retried 1 time(s): number of layers and diffIDs don't match: 3 != 15"
            ),
            "pull.other"
        );
    }

    #[test]
    fn image_without_the_tasks_architecture_is_its_own_row() {
        // Docker's wording for a manifest list without the platform (quoted in many READMEs).
        assert_eq!(
            id(
                "CannotPullContainerError: no matching manifest for linux/arm64/v8 in the manifest list entries"
            ),
            "pull.wrong_platform"
        );
    }

    #[test]
    fn disk_full_while_pulling_is_its_own_row() {
        // AWS docs "CannotPullContainer task errors": "failed to register layer … no space left on device".
        let r = "CannotPullContainerError: failed to register layer: Error processing tar file(exit status 1): write /usr/lib/x86_64-linux-gnu/libLLVM.so.1: no space left on device";
        assert_eq!(id(r), "pull.disk_full");
    }

    // Secrets and registry auth.
    #[test]
    fn denied_secret_names_secrets_manager() {
        // This repository's sample, after the Fargate 1.4 wording.
        let r = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret arn:aws:secretsmanager:eu-west-1:1:secret:db from secrets manager: AccessDeniedException: User: arn:aws:sts::1:assumed-role/exec/abc is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:eu-west-1:1:secret:db";
        assert_eq!(id(r), "secrets.denied");
    }

    #[test]
    fn no_route_to_secrets_manager_or_ecr_auth_is_unreachable() {
        // dev-solve / repost threads quoting Fargate 1.4.0.
        let asm = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to get registry auth from asm: service call has been retried 1 time(s): asm fetching secret from the service for my/secret: RequestError: send request failed caused by: Post \"https://secretsmanager.eu-west-1.amazonaws.com/\": dial tcp 10.0.0.1:443: i/o timeout";
        assert_eq!(id(asm), "secrets.unreachable");
        // errornotes.dev "unable to retrieve ecr registry auth".
        let ecr = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed";
        assert_eq!(id(ecr), "secrets.ecr_auth_unreachable");
    }

    #[test]
    fn missing_secret_old_and_new_wordings() {
        // amazon-ecs-agent agent/asm/asm.go resourceInitializationErrMsg (2024 wording).
        let r = "ResourceInitializationError: unable to pull secrets or registry auth: ResourceNotFoundException: The task can't retrieve the secret with ARN 'arn:aws:secretsmanager:eu-west-1:1:secret:gone' from AWS Secrets Manager. Check whether the secret exists in the specified Region";
        assert_eq!(id(r), "secrets.not_found");
        // amazon-ecs-agent agent/taskresource/ssmsecret/ssmsecret.go (EC2 agent).
        let ssm = "ResourceInitializationError: resource cannot be initialized for task arn:aws:ecs:eu-west-1:1:task/prod/abc: fetching secret data from SSM Parameter Store in eu-west-1: invalid parameters: /prod/db/password";
        assert_eq!(id(ssm), "secrets.not_found");
        let ssm_denied = "ResourceInitializationError: resource cannot be initialized for task arn:aws:ecs:eu-west-1:1:task/prod/abc: fetching secret data from SSM Parameter Store in eu-west-1: AccessDeniedException: User: arn:aws:sts::1:assumed-role/exec/x is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:eu-west-1:1:parameter/prod/db";
        assert_eq!(id(ssm_denied), "secrets.ssm_denied");
        let kms = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: failed to fetch secret arn:aws:secretsmanager:eu-west-1:1:secret:db from secrets manager: AccessDeniedException: Access to KMS is not allowed";
        assert_eq!(id(kms), "secrets.kms_denied");
    }

    #[test]
    fn malformed_registry_credentials_are_other_secret_failures() {
        // amazon-ecs-agent agent/asm/asm.go extractASMValue, under the Fargate prefix.
        assert_eq!(
            id(
                "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to get registry auth from asm: asm fetching authorization data: unable to unmarshal secret value, invalid schema"
            ),
            "secrets.other"
        );
    }

    // Log driver.
    #[test]
    fn no_route_to_cloudwatch_logs() {
        // The real logger-args prefix with the SDK's network error as the agent wraps it.
        assert_eq!(
            id(
                "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: RequestError: send request failed caused by: Post \"https://logs.eu-west-1.amazonaws.com/\": dial tcp 10.0.0.5:443: i/o timeout"
            ),
            "log.unreachable"
        );
    }

    #[test]
    fn logger_args_wordings() {
        // Public READMEs quoting stoppedReason (found with find_string "failed to validate logger args").
        assert_eq!(
            id(
                "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist."
            ),
            "log.group_missing"
        );
        assert_eq!(
            id(
                "ResourceInitializationError: failed to validate logger args: The task cannot find the Amazon CloudWatch log group defined in the task definition. There is a connection issue between the task and Amazon CloudWatch. Check your network configuration. : signal: killed"
            ),
            "log.group_missing"
        );
        assert_eq!(
            id(
                "ResourceInitializationError: failed to validate logger args: unable to get awslogs driver arguments: awslogs-region is required"
            ),
            "log.other"
        );
        // AWS docs "Stopped tasks error codes" example prefix "failed to initialize logging driver",
        // with the CloudWatch Logs denial a README quotes (find_string "failed to validate logger args").
        assert_eq!(
            id(
                "ResourceInitializationError: failed to initialize logging driver: AccessDeniedException: not authorized to perform: logs:CreateLogStream"
            ),
            "log.denied"
        );
    }

    // Volumes and network interfaces.
    #[test]
    fn efs_mount_failures_are_volume_errors_not_network_errors() {
        // Public READMEs quoting stoppedReason (find_string "failed to invoke EFS utils commands").
        assert_eq!(
            id(
                "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: stderr: Mount attempt 1/3 failed due to timeout after 15 sec, wait 0 sec before next attempt. b'mount.nfs4: mount system call failed'"
            ),
            "volume.efs"
        );
        assert_eq!(
            id(
                "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: stderr: b'mount.nfs4: access denied by server while mounting 127.0.0.1:/'"
            ),
            "volume.efs"
        );
        // amazon-ecs-agent dockerapi/errors.go wraps Docker's own answer in CannotCreateVolumeError.
        assert_eq!(
            id(
                "CannotCreateVolumeError: Error response from daemon: error looking up volume plugin rexray/ebs: plugin \"rexray/ebs\" not found"
            ),
            "volume.other"
        );
    }

    #[test]
    fn eni_failures_are_network() {
        // repost.aws "Fargate network interface provisioning errors" (quoted by zenn.dev), and
        // amazon-ecs-agent issue #4825 on EC2.
        assert_eq!(
            id("Timeout waiting for network interface provisioning to complete."),
            "network.eni_timeout"
        );
        // amazon-ecs-cni-plugins issue #93 (awsvpc on EC2).
        assert_eq!(
            id(
                "CannotStartContainerError: container resource provisioning: failed to setup network namespace: cni setup: invoke eni plugin failed: getInterfaceDeviceName engine: unable to get device with hardware address '02:62:5b:0f:db:fa': engine: device with mac address not found"
            ),
            "network.eni"
        );
    }

    // Runtime.
    #[test]
    fn runtime_timeouts_old_and_new_prefix() {
        // AWS docs "Stopped tasks error codes" example, and the agent's DockerTimeoutError.Error().
        assert_eq!(
            id(
                "ContainerRuntimeTimeoutError: Could not transition to running; timed out after waiting 1m: context deadline exceeded"
            ),
            "runtime.timeout"
        );
        assert_eq!(
            id("DockerTimeoutError: Could not transition to created; timed out after waiting 4m0s"),
            "runtime.timeout"
        );
    }

    #[test]
    fn start_inspect_and_stop_errors() {
        // AWS docs "Stopped tasks error codes" examples.
        assert_eq!(
            id("CannotStartContainerError: failed to get container status: context canceled"),
            "runtime.start"
        );
        assert_eq!(
            id(
                "CannotInspectContainerError: Could not transition to inspecting; timed out after waiting 30s"
            ),
            "runtime.timeout"
        );
        assert_eq!(
            id("CannotInspectContainerError: Error response from daemon: No such container: abc"),
            "runtime.inspect"
        );
        assert_eq!(
            id(
                "CannotStopContainerError: failed sending SIGTERM to container: context deadline exceeded"
            ),
            "runtime.cannot_stop"
        );
        // errorcanon "ecs-task-stopped-cannotstartcontainererror" (devicemapper thin pool).
        assert_eq!(
            id(
                "CannotStartContainerError: API error (500): devmapper: Thin pool has 4186 free data blocks which is less than minimum required 4449 free data blocks"
            ),
            "runtime.disk_full"
        );
        assert_eq!(
            id(
                "CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/app/server\": stat /app/server: no such file or directory: unknown"
            ),
            "runtime.entrypoint_missing"
        );
        // Docker/runc's wording for an image of the wrong architecture, under the agent's prefix.
        assert_eq!(
            id(
                "CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec format error: unknown"
            ),
            "runtime.exec_format"
        );
        // AWS docs "Stopped tasks error codes": ContainerRuntimeError: <reason> (containerd's words).
        assert_eq!(
            id(
                "ContainerRuntimeError: failed to create containerd task: failed to create shim task: OCI runtime create failed"
            ),
            "runtime.start"
        );
    }

    #[test]
    fn internal_and_not_found_errors() {
        // AWS docs "Stopped tasks error codes" list the prefixes InternalError: <reason> and
        // ResourceNotFoundException: <reason>; the second text is CloudWatch Logs' own answer.
        assert_eq!(
            id("InternalError: unexpected internal error"),
            "start.internal"
        );
        assert_eq!(
            id("ResourceNotFoundException: The specified log group does not exist."),
            "start.resource_not_found"
        );
        // ecs-agent/api/errors/errors.go ResourceInitError: "resource cannot be initialized for task …".
        assert_eq!(
            id(
                "ResourceInitializationError: resource cannot be initialized for task arn:aws:ecs:eu-west-1:1:task/prod/abc: cgroup resource: unable to set up cgroup root"
            ),
            "start.resource_init"
        );
    }

    // Infrastructure and the scheduler.
    #[test]
    fn capacity_underneath_wordings() {
        // Field guide / EventBridge samples.
        assert_eq!(id("Your Spot Task was interrupted."), "spot.interrupted");
        assert_eq!(
            id("Host EC2 (instance i-0f1e2d3c4b5a69788) terminated."),
            "host.terminated"
        );
        assert_eq!(
            id("Host EC2 (instance i-0f1e2d3c4b5a69788) stopped."),
            "host.stopped"
        );
        assert_eq!(
            id("Container instance deregistration forced by user"),
            "host.deregistered"
        );
        // AWS Batch user guide "ecs-managed-instances-instance-draining".
        assert_eq!(id("Task stopped during instance draining"), "host.draining");
        // A service prefix is tolerated.
        assert_eq!(
            id(
                "Service web: ECS is performing maintenance on the underlying infrastructure hosting the task"
            ),
            "maintenance"
        );
    }

    #[test]
    fn what_the_task_did_wordings() {
        // Field guide: both ELB wordings, container health checks, OOM, scaling, user stop.
        assert_eq!(
            id(
                "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web/abc)"
            ),
            "health.elb"
        );
        assert_eq!(
            id("Task failed ELB health checks in (elb web-classic)"),
            "health.elb"
        );
        assert_eq!(
            id("Task failed container health checks"),
            "health.container"
        );
        // amazon-ecs-agent dockerapi/errors.go OutOfMemoryError.
        assert_eq!(
            id("OutOfMemoryError: Container killed due to memory usage"),
            "oom"
        );
        assert_eq!(
            id("Scaling activity initiated by (deployment ecs-svc/8120147203598361032)"),
            "scheduler.scaling"
        );
        assert_eq!(id("Task stopped by user"), "user.stop_task");
        assert_eq!(id("Essential container in task exited"), "essential.exited");
    }

    #[test]
    fn unknown_wordings_match_no_row() {
        assert_eq!(id("Something ECS will say next year"), "none");
        assert_eq!(id(""), "none");
    }

    // Service event wordings from the AWS docs' "Amazon ECS service event messages" page.
    #[test]
    fn an_elb_timeout_event_is_a_timed_out_health_check() {
        let says = EventSays::of(
            "(service judge-api) (port 8080) is unhealthy in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/judge/abc) due to (reason Request timed out).",
        );
        assert!(says.has(EventSignal::HealthCheck) && says.has(EventSignal::Unhealthy));
        assert!(says.has(EventSignal::TimedOut));
        assert!(!says.rollback());
    }

    #[test]
    fn an_elb_code_event_is_unhealthy_without_a_timeout() {
        let says = EventSays::of(
            "(service web) (port 80) is unhealthy in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web/abc) due to (reason Health checks failed with these codes: [502]).",
        );
        assert!(says.has(EventSignal::Unhealthy));
        assert!(!says.has(EventSignal::TimedOut));
    }

    #[test]
    fn circuit_breaker_events_are_a_rollback() {
        assert!(
            EventSays::of(
                "(service web) (deployment ecs-svc/1234) deployment failed: tasks failed to start."
            )
            .rollback()
        );
        assert!(EventSays::of("(service web) rolling back to deployment ecs-svc/1233.").rollback());
    }

    #[test]
    fn unable_to_start_is_its_own_signal() {
        let says =
            EventSays::of("(service web) is unable to consistently start tasks successfully.");
        assert!(says.has(EventSignal::UnableToStart) && says.has(EventSignal::UnableTo));
        let place = EventSays::of(
            "(service web) was unable to place a task because no container instance met all of its requirements.",
        );
        assert!(place.has(EventSignal::UnableTo) && !place.has(EventSignal::UnableToStart));
    }

    #[test]
    fn a_steady_state_event_says_nothing() {
        assert_eq!(
            EventSays::of("(service web) has reached a steady state."),
            EventSays::default()
        );
    }

    #[test]
    fn the_agents_oom_reason_is_oom_and_a_heap_error_is_not() {
        // amazon-ecs-agent dockerapi/errors.go OutOfMemoryError.
        assert!(is_oom_reason(
            "OutOfMemoryError: Container killed due to memory usage"
        ));
        assert!(!is_oom_reason("Essential container in task exited"));
    }
}
