//! The function's configuration, read and validated once at init. A missing or invalid value
//! fails init with a message naming the variable.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub topic_arn: String,
    pub bucket: String,
    /// Key prefix in the bucket, always ending in `/` (or empty).
    pub prefix: String,
    pub notify_benign: bool,
    pub lookback_minutes: u32,
    pub storm_window_minutes: u32,
    /// The function's own account and partition, read from `INCIDENT_TOPIC_ARN` (the topic lives
    /// beside the function), so knowing them costs no call.
    pub home_account: String,
    pub partition: String,
    /// Org-wide: the role assumed in an event's account when it is not the function's own.
    pub member_role: Option<MemberRole>,
}

/// `MEMBER_ROLE_NAME` and `MEMBER_EXTERNAL_ID`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRole {
    pub name: String,
    pub external_id: Option<String>,
}

impl MemberRole {
    /// `arn:<partition>:iam::<account>:role/<MEMBER_ROLE_NAME>`.
    pub fn arn(&self, partition: &str, account: &str) -> String {
        format!("arn:{partition}:iam::{account}:role/{}", self.name)
    }
}

/// IAM role names: 1-64 characters of letters, digits and `+=,.@_-`.
fn valid_role_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// STS `ExternalId`: 2-1224 characters of letters, digits and `+=,.@:/-` (and `_`).
fn valid_external_id(s: &str) -> bool {
    (2..=1224).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c))
}

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{var}={value:?} is invalid: expected {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &'static str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let topic_arn =
            get("INCIDENT_TOPIC_ARN").ok_or(ConfigError::Missing("INCIDENT_TOPIC_ARN"))?;
        let arn_parts: Vec<&str> = topic_arn.split(':').collect();
        let account_ok = arn_parts.get(4).is_some_and(|a| !a.is_empty());
        if !topic_arn.starts_with("arn:") || arn_parts.len() < 6 || !account_ok {
            return Err(ConfigError::Invalid {
                var: "INCIDENT_TOPIC_ARN",
                value: topic_arn,
                expected: "an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
            });
        }
        let bucket = get("INCIDENT_BUCKET").ok_or(ConfigError::Missing("INCIDENT_BUCKET"))?;
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !valid_bucket {
            return Err(ConfigError::Invalid {
                var: "INCIDENT_BUCKET",
                value: bucket,
                expected: "an S3 bucket name (3-63 lowercase letters, digits, '-' or '.')",
            });
        }
        let mut prefix = lookup("INCIDENT_PREFIX").unwrap_or_else(|| "incidents/".to_owned());
        let prefix_ok = prefix.len() <= 512
            && !prefix.starts_with('/')
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '='));
        if !prefix_ok {
            return Err(ConfigError::Invalid {
                var: "INCIDENT_PREFIX",
                value: prefix,
                expected: "a key prefix of letters, digits, '-', '_', '.', '=', '/', not starting with '/'",
            });
        }
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        let notify_benign = match get("NOTIFY_BENIGN").as_deref() {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    var: "NOTIFY_BENIGN",
                    value: v.to_owned(),
                    expected: "true or false",
                });
            }
        };
        let minutes = |var: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => match v.parse::<u32>() {
                    Ok(n) if (1..=1440).contains(&n) => Ok(n),
                    _ => Err(ConfigError::Invalid {
                        var,
                        value: v,
                        expected: "whole minutes from 1 to 1440",
                    }),
                },
            }
        };
        let member_role = match (get("MEMBER_ROLE_NAME"), get("MEMBER_EXTERNAL_ID")) {
            (None, None) => None,
            (None, Some(_)) => return Err(ConfigError::Missing("MEMBER_ROLE_NAME")),
            (Some(name), _) if !valid_role_name(&name) => {
                return Err(ConfigError::Invalid {
                    var: "MEMBER_ROLE_NAME",
                    value: name,
                    expected: "an IAM role name (1-64 letters, digits or +=,.@_-)",
                });
            }
            (Some(_), Some(id)) if !valid_external_id(&id) => {
                return Err(ConfigError::Invalid {
                    var: "MEMBER_EXTERNAL_ID",
                    value: id,
                    expected: "an STS external id (2-1224 letters, digits or +=,.@:/-_)",
                });
            }
            (Some(name), external_id) => Some(MemberRole { name, external_id }),
        };
        let home_account = arn_parts[4].to_owned();
        let partition = arn_parts[1].to_owned();
        Ok(Self {
            home_account,
            partition,
            member_role,
            topic_arn,
            bucket,
            prefix,
            notify_benign,
            lookback_minutes: minutes("LOOKBACK_MINUTES", 30)?,
            storm_window_minutes: minutes("STORM_WINDOW_MINUTES", 15)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const OK: [(&str, &str); 2] = [
        (
            "INCIDENT_TOPIC_ARN",
            "arn:aws:sns:eu-west-1:123456789012:incidents",
        ),
        ("INCIDENT_BUCKET", "acme-incidents"),
    ];

    #[test]
    fn defaults_apply() {
        let c = from(&OK).expect("valid");
        assert_eq!(c.prefix, "incidents/");
        assert!(!c.notify_benign);
        assert_eq!((c.lookback_minutes, c.storm_window_minutes), (30, 15));
    }

    #[test]
    fn missing_and_invalid_values_name_the_variable() {
        assert_eq!(from(&[]), Err(ConfigError::Missing("INCIDENT_TOPIC_ARN")));
        let e = from(&[OK[0], OK[1], ("LOOKBACK_MINUTES", "ten")]).expect_err("invalid");
        assert!(
            e.to_string()
                .starts_with("LOOKBACK_MINUTES=\"ten\" is invalid")
        );
        let e = from(&[OK[0], OK[1], ("NOTIFY_BENIGN", "yes")]).expect_err("invalid");
        assert!(e.to_string().contains("NOTIFY_BENIGN"));
        let e = from(&[OK[0], ("INCIDENT_BUCKET", "Bad_Bucket")]).expect_err("invalid");
        assert!(e.to_string().contains("INCIDENT_BUCKET"));
        let e = from(&[("INCIDENT_TOPIC_ARN", "incidents"), OK[1]]).expect_err("invalid");
        assert!(e.to_string().contains("INCIDENT_TOPIC_ARN"));
    }

    #[test]
    fn member_role_is_optional_validated_and_named_in_errors() {
        let single = from(&OK).expect("valid");
        assert_eq!(single.member_role, None);
        assert_eq!(single.home_account, "123456789012");

        let org = from(&[
            OK[0],
            OK[1],
            ("MEMBER_ROLE_NAME", "ecs-autopsy-read"),
            ("MEMBER_EXTERNAL_ID", "acme-ecs-autopsy"),
        ])
        .expect("valid");
        assert_eq!(
            org.member_role
                .as_ref()
                .map(|r| r.arn(&org.partition, "210987654321"))
                .as_deref(),
            Some("arn:aws:iam::210987654321:role/ecs-autopsy-read")
        );
        assert_eq!(
            org.member_role.and_then(|r| r.external_id).as_deref(),
            Some("acme-ecs-autopsy")
        );

        let e = from(&[OK[0], OK[1], ("MEMBER_ROLE_NAME", "a/b")]).expect_err("invalid");
        assert!(
            e.to_string()
                .starts_with("MEMBER_ROLE_NAME=\"a/b\" is invalid")
        );
        let e = from(&[
            OK[0],
            OK[1],
            ("MEMBER_ROLE_NAME", "r"),
            ("MEMBER_EXTERNAL_ID", "x"),
        ])
        .expect_err("too short");
        assert!(e.to_string().contains("MEMBER_EXTERNAL_ID"));
        let e = from(&[OK[0], OK[1], ("MEMBER_EXTERNAL_ID", "abc")]).expect_err("no role");
        assert_eq!(e, ConfigError::Missing("MEMBER_ROLE_NAME"));
    }

    #[test]
    fn prefix_gets_its_slash() {
        let c = from(&[OK[0], OK[1], ("INCIDENT_PREFIX", "ecs/incidents")]).expect("valid");
        assert_eq!(c.prefix, "ecs/incidents/");
    }
}
