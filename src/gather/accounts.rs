//! Org-wide gathering: clients for the event's own account and region.
//!
//! An event from the function's own account and region uses the clients built at init. One from
//! another region of the same account gets clients for that region. One from another account is
//! read through `sts:AssumeRole` into `arn:<partition>:iam::<account>:role/<MEMBER_ROLE_NAME>`
//! (with `MEMBER_EXTERNAL_ID` when set): aws-config's `AssumeRoleProvider` behind the SDK's lazy
//! identity cache, which keeps the credentials until shortly before they expire and shares them
//! between the regions of that account (ECS, ELB, CloudWatch, Logs and Application Auto Scaling
//! alike). Clients are built on first use per (account, region)
//! and kept for the life of the execution environment.
//!
//! A role that cannot be assumed (missing, trust policy or external id wrong, denied) does not
//! lose the incident: every source is recorded as missing with the account and the role ARN.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::{
    ProvideCredentials, SharedCredentialsProvider, future::ProvideCredentials as CredentialsFuture,
};

use super::{Clients, EcsRound, Scope, Settings, gather_ecs, gather_rest};
use crate::config::{Config, MemberRole};
use crate::event::TaskStateChange;
use crate::evidence::{Evidence, MissingEvidence, MissingKind, Source};

/// Session name of the assumed role, as it shows in the member account's CloudTrail.
pub const SESSION_NAME: &str = "ecs-autopsy";

/// The sources a gathering of `scope` reads (and so reports missing when it cannot).
fn sources(scope: Scope) -> &'static [Source] {
    const ECS: [Source; 4] = [
        Source::TaskDefinition,
        Source::Service,
        Source::Task,
        Source::Host,
    ];
    const FULL: [Source; 10] = [
        Source::TaskDefinition,
        Source::Service,
        Source::Task,
        Source::Host,
        Source::RecentStops,
        Source::TargetHealth,
        Source::Logs,
        Source::Metrics,
        Source::Scaling,
        Source::ScalingActivities,
    ];
    match scope {
        Scope::EcsOnly => &ECS,
        Scope::Full => &FULL,
    }
}

/// Longest failure text kept: the chain ends in STS's own code and message.
const FAILURE_MAX: usize = 600;

/// Each level of an error chain once, without the debug dump `DisplayErrorContext` appends.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = err.source();
    }
    crate::report::text::truncate_chars(&parts.join(": "), FAILURE_MAX)
}

/// Lets the assumed-role credentials provider report why it failed: the SDK calls it through
/// its identity cache, and a call that fails for want of credentials says only that.
#[derive(Debug)]
struct Observed {
    inner: AssumeRoleProvider,
    failure: Mutex<Option<String>>,
}

impl Observed {
    fn set(&self, failure: Option<String>) {
        if let Ok(mut f) = self.failure.lock() {
            *f = failure;
        }
    }

    fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }
}

impl ProvideCredentials for Observed {
    fn provide_credentials<'a>(&'a self) -> CredentialsFuture<'a>
    where
        Self: 'a,
    {
        CredentialsFuture::new(async move {
            let result = self.inner.provide_credentials().await;
            self.set(result.as_ref().err().map(|e| chain(e)));
            result
        })
    }
}

/// The role an account's clients act through.
#[derive(Debug, Clone)]
struct Member {
    role_arn: String,
    sdk: SdkConfig,
    observed: Arc<Observed>,
}

/// How an event's account is reached.
#[derive(Debug, Clone)]
enum Reach {
    /// The function's own credentials (its own account, any region).
    Direct,
    /// Through the member role.
    Role(Arc<Member>),
    /// Another account, and MEMBER_ROLE_NAME is not set.
    Unreachable,
}

/// Clients for one event, and how they reach its account.
#[derive(Debug, Clone)]
pub struct Scoped {
    pub clients: Clients,
    pub account: Option<String>,
    reach: Reach,
}

impl Scoped {
    /// The role ARN these clients assume, when they assume one.
    pub fn role_arn(&self) -> Option<&str> {
        match &self.reach {
            Reach::Role(m) => Some(m.role_arn.as_str()),
            Reach::Direct | Reach::Unreachable => None,
        }
    }

    fn account_text(&self) -> &str {
        self.account.as_deref().unwrap_or("?")
    }

    /// Round 1 through these clients (no call at all for an account that cannot be reached).
    pub async fn gather_ecs(&self, event: &TaskStateChange, settings: &Settings) -> EcsRound {
        match &self.reach {
            Reach::Unreachable => EcsRound {
                evidence: Evidence::default(),
                stopped_arns: None,
            },
            Reach::Role(m) => {
                m.observed.set(None);
                Box::pin(gather_ecs(&self.clients, event, settings)).await
            }
            Reach::Direct => Box::pin(gather_ecs(&self.clients, event, settings)).await,
        }
    }

    /// Rounds 2 and 3. A failure to assume the role replaces every failed source's vague
    /// credentials error with one that names the account and the role.
    pub async fn gather_rest(
        &self,
        event: &TaskStateChange,
        settings: &Settings,
        first: EcsRound,
    ) -> Evidence {
        if let Reach::Unreachable = self.reach {
            let mut evidence = Evidence::default();
            let reason = format!(
                "the event is from account {}, and MEMBER_ROLE_NAME is not set: only the \
                 function's own account is read",
                self.account_text()
            );
            for source in sources(settings.scope) {
                evidence.missing.push(MissingEvidence::new(
                    *source,
                    MissingKind::NotConfigured,
                    reason.clone(),
                ));
            }
            return evidence;
        }
        // Boxed: the rounds' futures are large, and a caller polling on a thread's stack (a test's
        // runtime) should not hold them there.
        let mut evidence = Box::pin(gather_rest(&self.clients, event, settings, first)).await;
        if let Reach::Role(m) = &self.reach
            && let Some(failure) = m.observed.failure()
        {
            let reason = format!(
                "could not assume {} in account {}: {failure}",
                m.role_arn,
                self.account_text()
            );
            tracing::warn!(role = %m.role_arn, error = %failure, "member role not assumed");
            // Only sources that were tried and failed: one never asked for stays unmentioned.
            for missing in evidence.missing.iter_mut() {
                missing.reason = reason.clone();
                missing.kind = MissingKind::Denied;
                missing.iam_action = Some("sts:AssumeRole".to_owned());
            }
        }
        evidence
    }
}

/// Clients for other regions and accounts, built lazily and kept across invocations.
pub struct AccountClients {
    base: SdkConfig,
    config: Config,
    home_region: Option<String>,
    members: Mutex<HashMap<String, Arc<Member>>>,
    clients: Mutex<HashMap<(String, String), Clients>>,
}

impl AccountClients {
    pub fn new(base: &SdkConfig, config: &Config) -> Self {
        Self {
            base: base.clone(),
            config: config.clone(),
            home_region: base.region().map(|r| r.as_ref().to_owned()),
            members: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The clients for `event`'s account and region; `home` serves the function's own.
    pub async fn for_event(&self, home: &Clients, event: &TaskStateChange) -> Scoped {
        let account = event.account.clone().filter(|a| !a.is_empty()).or_else(|| {
            event
                .detail
                .task_arn
                .split(':')
                .nth(4)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
        });
        let region = event.region_name().map(str::to_owned);
        let foreign = account
            .as_deref()
            .is_some_and(|a| *a != self.config.home_account);
        let elsewhere = region.is_some() && region != self.home_region;
        if !foreign && !elsewhere {
            return Scoped {
                clients: home.clone(),
                account,
                reach: Reach::Direct,
            };
        }
        let reach = match (foreign, &self.config.member_role) {
            (false, _) => Reach::Direct,
            (true, None) => {
                return Scoped {
                    clients: home.clone(),
                    account,
                    reach: Reach::Unreachable,
                };
            }
            (true, Some(role)) => Reach::Role(
                self.member(account.as_deref().unwrap_or_default(), role)
                    .await,
            ),
        };
        let region = region
            .or_else(|| self.home_region.clone())
            .unwrap_or_default();
        let key = (account.clone().unwrap_or_default(), region.clone());
        if let Some(c) = self.clients.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Scoped {
                clients: c,
                account,
                reach,
            };
        }
        let base = match &reach {
            Reach::Role(m) => &m.sdk,
            Reach::Direct | Reach::Unreachable => &self.base,
        };
        let sdk = base.to_builder().region(Region::new(region)).build();
        let clients = Clients::new(&sdk);
        if let Ok(mut m) = self.clients.lock() {
            m.insert(key, clients.clone());
        }
        Scoped {
            clients,
            account,
            reach,
        }
    }

    /// The assumed-role configuration of `account`, built once.
    async fn member(&self, account: &str, role: &MemberRole) -> Arc<Member> {
        if let Some(m) = self
            .members
            .lock()
            .ok()
            .and_then(|m| m.get(account).cloned())
        {
            return m;
        }
        let role_arn = role.arn(&self.config.partition, account);
        let mut builder = AssumeRoleProvider::builder(role_arn.clone())
            .configure(&self.base)
            .session_name(SESSION_NAME);
        if let Some(id) = &role.external_id {
            builder = builder.external_id(id.clone());
        }
        let observed = Arc::new(Observed {
            inner: builder.build().await,
            failure: Mutex::new(None),
        });
        let sdk = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(SharedObserved(Arc::clone(
                &observed,
            ))))
            .identity_cache(IdentityCache::lazy().build())
            .build();
        let member = Arc::new(Member {
            role_arn,
            sdk,
            observed,
        });
        if let Ok(mut m) = self.members.lock() {
            m.insert(account.to_owned(), Arc::clone(&member));
        }
        member
    }
}

/// The observed provider, shared between the SDK (which calls it) and [`Scoped`] (which reads
/// its failure).
#[derive(Debug)]
struct SharedObserved(Arc<Observed>);

impl ProvideCredentials for SharedObserved {
    fn provide_credentials<'a>(&'a self) -> CredentialsFuture<'a>
    where
        Self: 'a,
    {
        self.0.provide_credentials()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::BehaviorVersion;

    fn config(role: Option<&str>) -> Config {
        Config::from_lookup(|k| match k {
            "INCIDENT_TOPIC_ARN" => Some("arn:aws:sns:eu-west-1:123456789012:incidents".into()),
            "INCIDENT_BUCKET" => Some("acme-incidents".into()),
            "MEMBER_ROLE_NAME" => role.map(str::to_owned),
            _ => None,
        })
        .expect("valid")
    }

    /// As the function loads it (a time source included, which AssumeRoleProvider needs).
    async fn sdk() -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await
    }

    fn event(account: &str, region: &str) -> TaskStateChange {
        let raw = serde_json::json!({
            "detail-type": "ECS Task State Change", "source": "aws.ecs",
            "account": account, "region": region,
            "detail": {"taskArn": format!("arn:aws:ecs:{region}:{account}:task/prod/abc"),
                       "lastStatus": "STOPPED"}
        });
        match crate::event::from_value(raw) {
            Ok(crate::event::Incoming::Stopped(e)) => *e,
            other => panic!("fixture did not parse: {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_own_account_and_region_use_the_init_clients_and_build_nothing() {
        let sdk = sdk().await;
        let pool = AccountClients::new(&sdk, &config(Some("ecs-autopsy-read")));
        let home = Clients::new(&sdk);

        let scoped = pool
            .for_event(&home, &event("123456789012", "eu-west-1"))
            .await;

        assert!(matches!(scoped.reach, Reach::Direct));
        assert_eq!(scoped.role_arn(), None);
        assert_eq!(pool.clients.lock().map(|m| m.len()).unwrap_or(99), 0);
    }

    #[tokio::test]
    async fn another_region_of_the_own_account_gets_its_own_clients_without_a_role() {
        let sdk = sdk().await;
        let pool = AccountClients::new(&sdk, &config(None));
        let home = Clients::new(&sdk);

        let scoped = pool
            .for_event(&home, &event("123456789012", "us-east-1"))
            .await;

        assert!(matches!(scoped.reach, Reach::Direct));
        assert_eq!(
            scoped
                .clients
                .ecs
                .config()
                .region()
                .map(|r| r.as_ref().to_owned()),
            Some("us-east-1".to_owned())
        );
    }

    #[tokio::test]
    async fn another_account_without_member_role_name_is_unreachable_and_says_why() {
        let sdk = sdk().await;
        let pool = AccountClients::new(&sdk, &config(None));
        let home = Clients::new(&sdk);
        let e = event("210987654321", "eu-west-1");
        let settings = Settings::new(30, std::time::Duration::from_secs(5));

        let scoped = pool.for_event(&home, &e).await;
        let first = scoped.gather_ecs(&e, &settings).await;
        let evidence = scoped.gather_rest(&e, &settings, first).await;

        assert!(matches!(scoped.reach, Reach::Unreachable));
        assert_eq!(evidence.missing.len(), sources(Scope::Full).len());
        assert!(
            evidence.missing[0]
                .reason
                .contains("account 210987654321, and MEMBER_ROLE_NAME is not set")
        );
    }

    #[tokio::test]
    async fn member_clients_are_built_once_per_account_and_region_and_share_the_role() {
        let sdk = sdk().await;
        let pool = AccountClients::new(&sdk, &config(Some("ecs-autopsy-read")));
        let home = Clients::new(&sdk);

        let a = pool
            .for_event(&home, &event("210987654321", "us-east-1"))
            .await;
        let again = pool
            .for_event(&home, &event("210987654321", "us-east-1"))
            .await;
        let other_region = pool
            .for_event(&home, &event("210987654321", "eu-west-1"))
            .await;

        assert_eq!(
            a.role_arn(),
            Some("arn:aws:iam::210987654321:role/ecs-autopsy-read")
        );
        assert_eq!(again.role_arn(), a.role_arn());
        assert_eq!(other_region.role_arn(), a.role_arn());
        assert_eq!(pool.clients.lock().map(|m| m.len()).unwrap_or(0), 2);
        assert_eq!(pool.members.lock().map(|m| m.len()).unwrap_or(0), 1);
    }
}
