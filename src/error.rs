//! Error types of the library. Each keeps its source, and no `Display` repeats its source's text:
//! the edge prints the whole chain ([`chain`]).

use std::path::PathBuf;

use thiserror::Error;

pub use ecs_autopsy_core::error::EventError;

/// An error and every cause under it, outermost first: `cannot read x.json: No such file…`.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

use crate::evidence::{MissingEvidence, MissingKind, Source};

/// Why an input file could not be used by the CLI.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {what}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}")]
    Event {
        path: PathBuf,
        #[source]
        source: EventError,
    },
    #[error("{path}: {reason}")]
    NotActionable { path: PathBuf, reason: String },
}

/// Why one evidence source could not be read. The SDK error stays the source.
#[derive(Debug, Error)]
pub enum GatherError {
    #[error("{op}: {}", code_and_message(.code, .message))]
    Aws {
        op: &'static str,
        code: Option<String>,
        message: Option<String>,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{op}: timed out after {:.1} s", after.as_secs_f64())]
    Timeout {
        op: &'static str,
        after: std::time::Duration,
    },
    #[error("{op}: skipped, the deadline had passed")]
    Deadline { op: &'static str },
    #[error("{op}: {what} not found")]
    NotFound { op: &'static str, what: String },
}

fn code_and_message(code: &Option<String>, message: &Option<String>) -> String {
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.clone(),
        (None, Some(m)) => m.clone(),
        (None, None) => "request failed".to_owned(),
    }
}

impl GatherError {
    pub fn aws<E, R>(
        op: &'static str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        let code = err.code().map(str::to_owned);
        let message = err.message().map(str::to_owned).or_else(|| {
            // Dispatch and timeout failures carry no metadata; their chain says what happened.
            code.is_none()
                .then(|| aws_smithy_types::error::display::DisplayErrorContext(&err).to_string())
        });
        Self::Aws {
            op,
            code,
            message,
            source: Box::new(err),
        }
    }

    /// The reason recorded in `Evidence::missing`.
    pub fn reason(&self) -> String {
        self.to_string()
    }

    /// The AWS error code, when AWS sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// What kind of failure this is, for `Evidence::missing`.
    pub fn kind(&self) -> MissingKind {
        match self {
            Self::Timeout { .. } => MissingKind::Timeout,
            Self::Deadline { .. } => MissingKind::Deadline,
            Self::NotFound { .. } => MissingKind::NotFound,
            Self::Aws { code, .. } => code.as_deref().map_or(MissingKind::Failed, kind_of_code),
        }
    }

    /// The IAM action the call needed (`ecs:DescribeServices`), when the call is one gathering
    /// makes.
    pub fn iam_action(&self) -> Option<String> {
        let op = match self {
            Self::Aws { op, .. }
            | Self::Timeout { op, .. }
            | Self::Deadline { op }
            | Self::NotFound { op, .. } => *op,
        };
        iam_action(op)
    }

    /// The `missing` entry for `source`: reason, kind and, when denied, the action to grant.
    pub fn missing(&self, source: Source) -> MissingEvidence {
        let entry = MissingEvidence::new(source, self.kind(), self.reason());
        match (self.kind(), self.iam_action()) {
            (MissingKind::Denied, Some(action)) => entry.with_iam_action(action),
            _ => entry,
        }
    }
}

/// An AWS code that refuses the caller: `AccessDenied`, `AccessDeniedException` (and the
/// services' own `…AccessDenied…`), SNS's `AuthorizationError`.
pub fn is_access_denied(code: &str) -> bool {
    code.contains("AccessDenied") || code == "AuthorizationError"
}

/// A KMS refusal: SNS says `KMSAccessDenied`, `KMSDisabled`, …; S3 `KMS.*`.
pub fn is_kms_code(code: &str) -> bool {
    code.starts_with("KMS") || code.starts_with("Kms")
}

/// AWS's error codes, by what they mean for a read that failed.
fn kind_of_code(code: &str) -> MissingKind {
    match code {
        c if is_access_denied(c) || is_kms_code(c) => MissingKind::Denied,
        "UnauthorizedOperation"
        | "UnrecognizedClientException"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId" => MissingKind::Denied,
        "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "SlowDown"
        | "ProvisionedThroughputExceededException" => MissingKind::Throttled,
        "ResourceNotFoundException"
        | "ServiceNotFoundException"
        | "ClusterNotFoundException"
        | "TargetGroupNotFound"
        | "TargetGroupNotFoundException"
        | "NoSuchKey"
        | "ObjectNotFoundException" => MissingKind::NotFound,
        _ => MissingKind::Failed,
    }
}

/// Every call gathering makes, with the IAM service prefix that authorizes it.
const CALLS: &[(&str, &str)] = &[
    ("DescribeTaskDefinition", "ecs"),
    ("DescribeServices", "ecs"),
    ("DescribeTasks", "ecs"),
    ("DescribeContainerInstances", "ecs"),
    ("ListTasks", "ecs"),
    ("DescribeClusters", "ecs"),
    ("DescribeCapacityProviders", "ecs"),
    ("DescribeTargetGroups", "elasticloadbalancing"),
    ("DescribeTargetHealth", "elasticloadbalancing"),
    ("GetMetricData", "cloudwatch"),
    ("GetLogEvents", "logs"),
    ("FilterLogEvents", "logs"),
    ("DescribeScalableTargets", "application-autoscaling"),
    ("DescribeScalingPolicies", "application-autoscaling"),
    ("DescribeScalingActivities", "application-autoscaling"),
];

/// `ecs:DescribeServices` for `DescribeServices`.
pub fn iam_action(op: &str) -> Option<String> {
    CALLS
        .iter()
        .find(|(name, _)| *name == op)
        .map(|(name, service)| format!("{service}:{name}"))
}
