//! One incident from payload to archive: parse → filter → gather → diagnose → archive and
//! notify. Every SDK client is built once from one `SdkConfig` and reused across invocations;
//! those for other accounts and regions on first use (`gather::accounts`). S3 and SNS are always
//! the function's own.

use std::time::Duration;

use aws_config::SdkConfig;
use chrono::Utc;

use crate::config::Config;
use crate::diagnose::diagnose;
use crate::error::EventError;
use crate::event::{self, Incoming};
use crate::evidence::Evidence;
use crate::gather::accounts::{AccountClients, Scoped, Unreachable};
use crate::gather::{Clients, Scope, Settings};
use crate::report::archive::{Archive, ArchiveError, Outcome};
use crate::report::{Record, render_html};

/// Time kept back from the invocation's deadline for diagnosing, archiving and publishing.
pub const REPORT_RESERVE: Duration = Duration::from_secs(8);

pub struct App {
    /// The function's own account and region.
    pub clients: Clients,
    /// Every other account and region (org-wide).
    pub accounts: AccountClients,
    pub sns: aws_sdk_sns::Client,
    pub archive: Archive,
    pub config: Config,
}

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Malformed input: returned so Lambda's retries and the on-failure destination keep it.
    #[error("malformed event: {0}")]
    Event(#[from] EventError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// What the handler did with one payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    Ignored(String),
    Done(Outcome),
}

/// S3 uses path-style addressing when a custom endpoint is set (emulators, VPC endpoints).
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let custom = sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(custom)
            .build(),
    )
}

impl App {
    /// The gathering clients for the event's account and region.
    pub async fn clients_for(&self, event: &event::TaskStateChange) -> Result<Scoped, Unreachable> {
        self.accounts.for_event(&self.clients, event).await
    }

    async fn gather(&self, event: &event::TaskStateChange, settings: &Settings) -> Evidence {
        match self.clients_for(event).await {
            Ok(scoped) => scoped.gather(event, settings).await,
            Err(unreachable) => unreachable.evidence(settings.scope),
        }
    }

    pub fn new(sdk: &SdkConfig, config: Config) -> Self {
        Self {
            clients: Clients::new(sdk),
            accounts: AccountClients::new(sdk, &config),
            sns: aws_sdk_sns::Client::new(sdk),
            archive: Archive::new(s3_client(sdk), &config),
            config,
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
        let task_arn = event.detail.task_arn.clone();

        // A redelivered event whose incident is finished costs one GET, not a gathering.
        let first_look = diagnose(&event, &Default::default());
        let probe = Record::new(&event, &Default::default(), &first_look);
        let key = self.archive.record_key(&probe);
        if self.archive.already_final(&key).await? {
            tracing::info!(%task_arn, %key, "duplicate delivery acknowledged");
            return Ok(Handled::Done(Outcome::Duplicate { key }));
        }

        // A stop the event alone shows to be benign, and that nobody will be told about, needs
        // only ECS's view (which can still turn it into a lost host or a failed rollout).
        let scope = if first_look.benign && !self.config.notify_benign {
            Scope::EcsOnly
        } else {
            Scope::Full
        };
        let settings = Settings::new(
            self.config.lookback_minutes,
            budget.saturating_sub(REPORT_RESERVE),
        )
        .with_scope(scope);
        let evidence = self.gather(&event, &settings).await;
        let diagnosis = diagnose(&event, &evidence);
        tracing::info!(
            %task_arn,
            cause = diagnosis.cause.as_str(),
            severity = diagnosis.severity.as_str(),
            confidence = diagnosis.confidence,
            missing = evidence.missing.len(),
            "diagnosed"
        );
        let html = match render_html(&event, &evidence, &diagnosis) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "HTML report not rendered");
                None
            }
        };
        let record = Record::new(&event, &evidence, &diagnosis);
        let outcome = self
            .archive
            .archive_and_notify(&self.sns, &self.config, record, html, Utc::now())
            .await?;
        tracing::info!(%task_arn, outcome = ?outcome, "handled");
        Ok(Handled::Done(outcome))
    }
}
