//! ECS, ELB and Application Auto Scaling's enumerated values as open enums: the rules match on
//! variants, never on wire strings, and a value AWS adds later is kept as `Other` with its text.
//! Each serializes as the wire string, so archived records read the same.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An enum of known wire values plus `Other(String)` for the rest, (de)serialized as the string.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this build does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s.as_str(),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($text => Self::$variant,)+
                    _ => Self::Other(s),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                match v {
                    $name::Other(s) => s,
                    known => known.as_str().to_owned(),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

open_enum!(
    /// `detail.stopCode` of the event, `stopCode` of DescribeTasks.
    StopCode {
        TaskFailedToStart => "TaskFailedToStart",
        EssentialContainerExited => "EssentialContainerExited",
        UserInitiated => "UserInitiated",
        ServiceSchedulerInitiated => "ServiceSchedulerInitiated",
        SpotInterruption => "SpotInterruption",
        TerminationNotice => "TerminationNotice",
        InfrastructureHealth => "InfrastructureHealth",
    }
);

open_enum!(
    /// `lastStatus` / `desiredStatus` of a task or a container.
    Status {
        Provisioning => "PROVISIONING",
        Pending => "PENDING",
        Activating => "ACTIVATING",
        Running => "RUNNING",
        Deactivating => "DEACTIVATING",
        Stopping => "STOPPING",
        Deprovisioning => "DEPROVISIONING",
        Stopped => "STOPPED",
        Deleted => "DELETED",
    }
);

open_enum!(
    /// The event's `launchType`, a service's `launchType`.
    LaunchType {
        Ec2 => "EC2",
        Fargate => "FARGATE",
        External => "EXTERNAL",
        ManagedInstances => "MANAGED_INSTANCES",
    }
);

open_enum!(
    /// `detail.connectivity`.
    Connectivity {
        Connected => "CONNECTED",
        Disconnected => "DISCONNECTED",
    }
);

open_enum!(
    /// A container instance's `status` (DescribeContainerInstances).
    HostStatus {
        Registering => "REGISTERING",
        RegistrationFailed => "REGISTRATION_FAILED",
        Active => "ACTIVE",
        Inactive => "INACTIVE",
        Deregistering => "DEREGISTERING",
        Draining => "DRAINING",
    }
);

impl HostStatus {
    /// The instance is leaving the cluster: its tasks are being moved off or lost.
    pub fn is_leaving(&self) -> bool {
        matches!(self, Self::Draining | Self::Deregistering | Self::Inactive)
    }
}

open_enum!(
    /// A service deployment's `status`.
    DeploymentStatus {
        Primary => "PRIMARY",
        Active => "ACTIVE",
        Inactive => "INACTIVE",
    }
);

open_enum!(
    /// A service deployment's `rolloutState` (the deployment circuit breaker's view).
    RolloutState {
        Completed => "COMPLETED",
        Failed => "FAILED",
        InProgress => "IN_PROGRESS",
    }
);

open_enum!(
    /// A task's or a container's `healthStatus`.
    HealthStatus {
        Healthy => "HEALTHY",
        Unhealthy => "UNHEALTHY",
        Unknown => "UNKNOWN",
    }
);

open_enum!(
    /// A target's `TargetHealth.State` (ELBv2 DescribeTargetHealth).
    TargetHealthState {
        Initial => "initial",
        Healthy => "healthy",
        Unhealthy => "unhealthy",
        UnhealthyDraining => "unhealthy.draining",
        Unused => "unused",
        Draining => "draining",
        Unavailable => "unavailable",
    }
);

open_enum!(
    /// A target's `TargetHealth.Reason` (ELBv2 DescribeTargetHealth).
    TargetHealthReason {
        RegistrationInProgress => "Elb.RegistrationInProgress",
        InitialHealthChecking => "Elb.InitialHealthChecking",
        ResponseCodeMismatch => "Target.ResponseCodeMismatch",
        Timeout => "Target.Timeout",
        FailedHealthChecks => "Target.FailedHealthChecks",
        NotRegistered => "Target.NotRegistered",
        NotInUse => "Target.NotInUse",
        DeregistrationInProgress => "Target.DeregistrationInProgress",
        InvalidState => "Target.InvalidState",
        IpUnusable => "Target.IpUnusable",
        HealthCheckDisabled => "Target.HealthCheckDisabled",
        InternalError => "Elb.InternalError",
    }
);

open_enum!(
    /// A container's `logConfiguration.logDriver`.
    LogDriver {
        Awslogs => "awslogs",
        Awsfirelens => "awsfirelens",
        Splunk => "splunk",
        Fluentd => "fluentd",
        Gelf => "gelf",
        JsonFile => "json-file",
        Journald => "journald",
        Syslog => "syslog",
        Logentries => "logentries",
    }
);

open_enum!(
    /// A capacity provider's `managedScaling.status`.
    ManagedScaling {
        Enabled => "ENABLED",
        Disabled => "DISABLED",
    }
);

open_enum!(
    /// An Application Auto Scaling policy's `PolicyType`.
    PolicyType {
        TargetTracking => "TargetTrackingScaling",
        Step => "StepScaling",
        Predictive => "PredictiveScaling",
    }
);

open_enum!(
    /// An Application Auto Scaling activity's `StatusCode`.
    ActivityStatus {
        Pending => "Pending",
        InProgress => "InProgress",
        Successful => "Successful",
        Overridden => "Overridden",
        Unfulfilled => "Unfulfilled",
        Failed => "Failed",
    }
);

open_enum!(
    /// Why an Application Auto Scaling activity did not scale (`NotScaledReasons[].Code`).
    NotScaledCode {
        AtMaxCapacity => "AlreadyAtMaxCapacity",
        AtMinCapacity => "AlreadyAtMinCapacity",
        AtDesiredCapacity => "AlreadyAtDesiredCapacity",
    }
);

/// Fields that are not optional in the evidence default to the empty value, as their strings did.
macro_rules! empty_default {
    ($($name:ident),+) => {
        $(impl Default for $name {
            fn default() -> Self {
                Self::Other(String::new())
            }
        })+
    };
}

empty_default!(LogDriver, PolicyType, ActivityStatus, NotScaledCode);

// Where an API gives text instead of a code, the words are read here too, so rules ask a
// question and never hold the string.

/// Whether a capacity provider is Spot capacity: AWS's `FARGATE_SPOT`, or an EC2 capacity
/// provider named for Spot (the only sign the event carries).
pub fn is_spot_capacity(provider_name: &str) -> bool {
    provider_name.to_uppercase().contains("SPOT")
}

/// Whether a target-tracking metric is a utilization in percent
/// (`ECSServiceAverageCPUUtilization`, `ECSServiceAverageMemoryUtilization`), not a count
/// (`ALBRequestCountPerTarget`) or a custom metric.
pub fn is_utilization_metric(metric: &str) -> bool {
    metric.contains("Utilization")
}

/// Whether an Application Auto Scaling activity's `Cause` names a target-tracking high alarm
/// (`monitor alarm TargetTracking-service/…-AlarmHigh-… in state ALARM triggered policy …`):
/// a scale-out.
pub fn is_scale_out_alarm(cause: &str) -> bool {
    cause.contains("AlarmHigh")
}

/// The count an Application Auto Scaling activity set: `Setting desired count to 4.` → 4.
pub fn desired_count_in(description: &str) -> Option<i64> {
    let rest = description.split("desired count to ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_scaling_activity_words() {
        assert_eq!(desired_count_in("Setting desired count to 12."), Some(12));
        assert_eq!(desired_count_in("Failed to set desired count"), None);
        assert!(is_scale_out_alarm(
            "monitor alarm TargetTracking-service/prod/web-AlarmHigh-1a2b in state ALARM triggered policy cpu75"
        ));
        assert!(!is_scale_out_alarm(
            "monitor alarm TargetTracking-service/prod/web-AlarmLow-1a2b in state ALARM triggered policy cpu75"
        ));
        assert!(is_utilization_metric("ECSServiceAverageCPUUtilization"));
        assert!(!is_utilization_metric("ALBRequestCountPerTarget"));
        assert!(is_spot_capacity("FARGATE_SPOT") && !is_spot_capacity("FARGATE"));
    }

    #[test]
    fn known_values_round_trip_as_their_wire_string() {
        let v: TargetHealthReason = serde_json::from_str("\"Target.Timeout\"").expect("parses");
        assert_eq!(v, TargetHealthReason::Timeout);
        assert_eq!(
            serde_json::to_string(&v).expect("serializes"),
            "\"Target.Timeout\""
        );
    }

    #[test]
    fn ecs_managed_instances_is_a_known_launch_type() {
        assert_eq!(
            LaunchType::from("MANAGED_INSTANCES"),
            LaunchType::ManagedInstances
        );
    }

    #[test]
    fn an_empty_default_serializes_as_the_empty_string() {
        assert_eq!(
            serde_json::to_string(&LogDriver::default()).expect("serializes"),
            "\"\""
        );
    }

    #[test]
    fn unknown_values_are_kept_as_sent() {
        let v: HostStatus = serde_json::from_str("\"RETIRING\"").expect("parses");
        assert_eq!(v, HostStatus::Other("RETIRING".into()));
        assert_eq!(v.as_str(), "RETIRING");
        assert_eq!(
            serde_json::to_string(&v).expect("serializes"),
            "\"RETIRING\""
        );
    }
}
