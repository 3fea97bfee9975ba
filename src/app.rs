//! One incident from payload to archive: parse → filter → claim while gathering → diagnose →
//! archive and notify (the round structure is in BENCHMARKS.md). Every SDK client is built once
//! from one `SdkConfig` and reused across invocations; those for other accounts and regions on
//! first use (`gather::accounts`). S3 and SNS are always the function's own.

use std::time::Duration;

use aws_config::SdkConfig;
use chrono::Utc;
use tracing::Instrument;

use crate::config::Config;
use crate::deliver::s3::s3_client;
use crate::deliver::{Archive, ArchiveError, Claim, Outcome, S3Store, Settlement, SnsNotifier};
use crate::diagnose::diagnose;
use crate::error::EventError;
use crate::event::{self, Incoming};
use crate::evidence::Evidence;
use crate::gather::accounts::{AccountClients, Scoped};
use crate::gather::{Clients, Scope, Settings};
use crate::report::{Record, render_html};

/// Time kept back from the invocation's deadline for diagnosing, archiving and publishing.
pub const REPORT_RESERVE: Duration = Duration::from_secs(8);

pub struct App {
    /// The function's own account and region.
    pub clients: Clients,
    /// Every other account and region (org-wide).
    pub accounts: AccountClients,
    pub notifier: SnsNotifier,
    pub archive: Archive<S3Store>,
    pub config: Config,
}

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Malformed input: returned so Lambda's retries and the on-failure destination keep it.
    #[error("malformed event")]
    Event(#[from] EventError),
    #[error("archiving or notifying failed")]
    Archive(#[from] ArchiveError),
}

impl HandleError {
    /// Why, in one word an alarm, the failed-events queue or a log query can key on: the
    /// Lambda `errorType` of a failed invocation.
    pub fn error_type(&self) -> &'static str {
        let denied = |code: Option<&str>| code.is_some_and(crate::error::is_access_denied);
        // A KMS code, or S3's `AccessDenied` naming a `kms:` action in its message.
        let kms = |code: Option<&str>| code.is_some_and(crate::error::is_kms_code);
        let kms_message = |m: Option<&str>| m.is_some_and(|m| m.contains("kms:"));
        match self {
            HandleError::Event(_) => "MalformedEvent",
            HandleError::Archive(e) => match e {
                ArchiveError::Store(s)
                    if kms(s.code.as_deref()) || kms_message(s.message.as_deref()) =>
                {
                    "KmsDenied"
                }
                ArchiveError::Store(s) if denied(s.code.as_deref()) => "S3AccessDenied",
                ArchiveError::Store(s) if s.code.as_deref() == Some("NoSuchBucket") => {
                    "S3NoSuchBucket"
                }
                ArchiveError::Store(_) => "S3Failed",
                ArchiveError::Corrupt { .. } => "ArchiveCorrupt",
                ArchiveError::InProgress { .. } => "ArchiveInProgress",
                ArchiveError::Contended { .. } => "ArchiveContended",
                ArchiveError::Publish(p) if kms(p.code.as_deref()) => "KmsDenied",
                ArchiveError::Publish(p) if denied(p.code.as_deref()) => "SnsAccessDenied",
                ArchiveError::Publish(p) if p.code.as_deref() == Some("NotFound") => {
                    "SnsTopicNotFound"
                }
                ArchiveError::Publish(_) => "SnsPublishFailed",
            },
        }
    }

    /// The whole chain, outermost first: what the error says and every cause under it.
    pub fn chain(&self) -> String {
        crate::error::chain(self)
    }
}

/// What the Lambda runtime reports for a failed invocation: the typed `errorType` and the chain.
impl From<HandleError> for lambda_runtime::Diagnostic {
    fn from(e: HandleError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.chain(),
        }
    }
}

/// What the handler did with one payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    Ignored(String),
    Done(Outcome),
}

impl App {
    pub fn new(sdk: &SdkConfig, config: Config) -> Self {
        Self {
            clients: Clients::new(sdk),
            accounts: AccountClients::new(sdk, &config),
            notifier: SnsNotifier::new(aws_sdk_sns::Client::new(sdk), config.topic_arn.clone()),
            archive: Archive::new(S3Store::new(s3_client(sdk), config.bucket.clone()), &config),
            config,
        }
    }

    /// The gathering clients for the event's account and region.
    pub async fn clients_for(&self, event: &event::TaskStateChange) -> Scoped {
        self.accounts.for_event(&self.clients, event).await
    }

    fn html(
        &self,
        event: &event::TaskStateChange,
        evidence: &Evidence,
        diagnosis: &crate::diagnose::Diagnosis,
    ) -> Option<String> {
        match render_html(event, evidence, diagnosis) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "HTML report not rendered");
                None
            }
        }
    }

    /// Handles one EventBridge payload. `budget` is the time this invocation may take.
    pub async fn handle(
        &self,
        payload: serde_json::Value,
        budget: Duration,
    ) -> Result<Handled, HandleError> {
        let event = match event::from_value(payload)? {
            Incoming::Ignored(why) => {
                tracing::info!(reason = %why, "event acknowledged and ignored");
                return Ok(Handled::Ignored(why));
            }
            Incoming::Stopped(e) => *e,
        };
        // One span per incident: every line it logs, gathering's warnings included, carries the
        // task, so a log query by task ARN finds the whole story.
        let span = tracing::info_span!(
            "incident",
            task_arn = %event.detail.task_arn,
            cluster = event.cluster_name(),
            service = event.service_name().unwrap_or("none"),
            account = event.account.as_deref().unwrap_or("unknown"),
            region = event.region.as_deref().unwrap_or("unknown"),
        );
        // Boxed: the incident's future is deep, and the runtime's own futures nest it further.
        let result = Box::pin(self.handle_stop(event, budget))
            .instrument(span.clone())
            .await;
        if let Err(e) = &result {
            span.in_scope(|| {
                tracing::error!(error_type = e.error_type(), error = %e.chain(), "incident failed");
            });
        }
        result
    }

    /// One invocation as the Lambda runtime sees it: the response, or the failure with its typed
    /// `errorType` and whole chain (logged as well).
    pub async fn invoke(
        &self,
        payload: serde_json::Value,
        budget: Duration,
    ) -> Result<serde_json::Value, lambda_runtime::Diagnostic> {
        match self.handle(payload, budget).await {
            Ok(Handled::Ignored(reason)) => {
                Ok(serde_json::json!({"status": "ignored", "reason": reason}))
            }
            Ok(Handled::Done(outcome)) => {
                Ok(serde_json::json!({"status": "done", "outcome": format!("{outcome:?}")}))
            }
            Err(e) => {
                if matches!(e, HandleError::Event(_)) {
                    tracing::error!(error_type = e.error_type(), error = %e.chain(), "event rejected");
                }
                Err(e.into())
            }
        }
    }

    async fn handle_stop(
        &self,
        event: event::TaskStateChange,
        budget: Duration,
    ) -> Result<Handled, HandleError> {
        let task_arn = event.detail.task_arn.clone();
        let now = Utc::now();
        let keys = self.archive.keys_for(&event);

        // What the event alone says. A stop it shows to be benign, and that nobody will be told
        // about, needs only ECS's view (which can still turn it into a lost host or a failed
        // rollout), and no storm state.
        let first_look = diagnose(&event, &Evidence::default());
        let quiet = first_look.benign && !self.config.notify_benign;
        let scope = if quiet { Scope::EcsOnly } else { Scope::Full };
        let settings = Settings::new(
            self.config.lookback_minutes,
            budget.saturating_sub(REPORT_RESERVE),
        )
        .with_scope(scope);

        // Round 1: the claim (which is also the duplicate check), ECS's describes and the storm
        // state all need only the event, so they share one round trip.
        let placeholder = Record::placeholder(&event, &first_look, now);
        let scoped = self.clients_for(&event).await;
        let storm_read = async {
            if quiet {
                None
            } else {
                Some(self.archive.read_storm(&event).await)
            }
        };
        let (claim, first, storm) = tokio::join!(
            self.archive.claim(&keys, &placeholder, now),
            scoped.gather_ecs(&event, &settings),
            storm_read,
        );
        // A failed storm read is tried again when it is needed.
        let storm = storm.and_then(Result::ok);
        let (etag, record, html) = match claim? {
            Claim::Duplicate => {
                tracing::info!(%task_arn, key = %keys.record, "duplicate delivery acknowledged");
                return Ok(Handled::Done(Outcome::Duplicate { key: keys.record }));
            }
            // A crashed invocation reached a verdict: notify that one, unchanged.
            Claim::TakenOver {
                etag,
                stored: Some(stored),
            } => {
                tracing::info!(%task_arn, key = %keys.record, "notifying a claim left by a crashed invocation");
                let html = self.html(&stored.event, &stored.evidence, &stored.diagnosis);
                (etag, *stored, html)
            }
            Claim::Owned { etag } | Claim::TakenOver { etag, stored: None } => {
                let evidence = scoped.gather_rest(&event, &settings, first).await;
                let diagnosis = diagnose(&event, &evidence);
                tracing::info!(
                    %task_arn,
                    cause = diagnosis.cause.as_str(),
                    severity = diagnosis.severity.as_str(),
                    confidence = diagnosis.confidence,
                    missing = evidence.missing.len(),
                    "diagnosed"
                );
                let html = self.html(&event, &evidence, &diagnosis);
                (etag, Record::new(&event, &evidence, &diagnosis), html)
            }
        };
        let settlement = Settlement {
            keys,
            claim_etag: etag,
            record,
            html,
            storm,
            now: Utc::now(),
        };
        let outcome = self.archive.settle(&self.notifier, settlement).await?;
        tracing::info!(%task_arn, outcome = ?outcome, "handled");
        Ok(Handled::Done(outcome))
    }
}
