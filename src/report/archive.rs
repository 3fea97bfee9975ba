//! The S3 incident archive and the notify-once protocol, built on S3 conditional writes alone.
//!
//! Keys (Hive-style partitions, so Athena can prune them):
//! `<prefix>cluster=<cluster>/service=<service|none>/date=<YYYY-MM-DD>/<task-id>.json` and
//! `.html` beside it. Storm counters live under `<prefix>_state/` (Athena skips `_` paths), one
//! per account, cluster, service (or task family) and cause.
//!
//! # Notify-once protocol
//!
//! One stopped task gets one record and at most one notification however often its event is
//! delivered, and a crash between archiving and publishing does not lose the notification:
//!
//! 1. `PUT record If-None-Match: *` with `notification` = `pending` and `claimed_at` = now (or,
//!    for a stop that will not be notified, the final state directly).
//!    * Created → this invocation owns the notification.
//!    * 412 → `GET` the record and its ETag. A final state (`sent`, `suppressed_*`) is a
//!      duplicate delivery: acknowledge. A `pending` record whose claim is younger than the
//!      lease belongs to a running invocation: fail, so Lambda retries later. An older claim
//!      was left by a crash: take it over with `PUT If-Match: <etag>` (412 → someone else did;
//!      fail and retry) and notify from the *stored* record, so the verdict stays the same.
//! 2. Storm control (see [`storm_check`]) may turn the notification into `suppressed_storm`.
//! 3. `Publish` to SNS. On failure the claim is released (`claimed_at` cleared) and the error
//!    returned, so the retry can publish at once.
//! 4. `PUT record If-Match: <etag>` with `notification` = `sent`, `notified` = true.
//!
//! The only duplicate left is a crash after step 3 and before step 4: the retry publishes again.

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::result::SdkError;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::notify;
use super::record::{Notification, Record, StormNote};
use crate::config::Config;
use crate::diagnose::Cause;

/// A claim older than this was left by an invocation that died.
pub const CLAIM_LEASE_SECONDS: i64 = 90;
/// Presigned links to the HTML report live this long (S3's maximum for SigV4).
pub const REPORT_LINK_DAYS: u64 = 7;
const CAS_ATTEMPTS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("S3 {op} {key} failed")]
    S3 {
        op: &'static str,
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the archived record {key} is not readable")]
    Corrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("another invocation is notifying for {key} (claimed {claimed_at}); retry later")]
    InProgress {
        key: String,
        claimed_at: DateTime<Utc>,
    },
    #[error("too many concurrent updates of {key}")]
    Contended { key: String },
    #[error(transparent)]
    Publish(#[from] notify::PublishError),
}

/// What happened to one incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Archived; `notification` says whether it was sent or why not.
    Archived {
        key: String,
        notification: Notification,
        message_id: Option<String>,
    },
    /// Already handled by an earlier delivery.
    Duplicate { key: String },
}

/// Keeps S3 key segments to safe characters: ECS names are `[A-Za-z0-9_-]`, but nothing is
/// trusted.
pub fn key_segment(s: &str) -> String {
    let mut cleaned = String::with_capacity(s.len().min(255));
    let mut previous = ' ';
    for c in s.chars().take(255) {
        // No ".." anywhere: some tools treat it as a path step even in flat S3 keys.
        let keep =
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_') || (c == '.' && previous != '.');
        let c = if keep { c } else { '_' };
        cleaned.push(c);
        previous = c;
    }
    match cleaned.as_str() {
        "" => "_".to_owned(),
        "." => "_".to_owned(),
        _ => cleaned,
    }
}

pub struct Archive {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub prefix: String,
}

enum PutResult {
    Written(Option<String>),
    PreconditionFailed,
}

fn status<E, R: HttpStatus>(e: &SdkError<E, R>) -> Option<u16> {
    e.raw_response().map(HttpStatus::status_code)
}

trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

impl Archive {
    pub fn new(s3: aws_sdk_s3::Client, config: &Config) -> Self {
        Self {
            s3,
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
        }
    }

    fn base_key(
        &self,
        cluster: &str,
        service: Option<&str>,
        date: DateTime<Utc>,
        task_id: &str,
    ) -> String {
        format!(
            "{}cluster={}/service={}/date={}/{}",
            self.prefix,
            key_segment(cluster),
            key_segment(service.unwrap_or("none")),
            date.format("%Y-%m-%d"),
            key_segment(task_id)
        )
    }

    pub fn record_key(&self, record: &Record) -> String {
        let date = record.stopped_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        format!(
            "{}.json",
            self.base_key(
                &record.cluster,
                record.service.as_deref(),
                date,
                &record.task_id
            )
        )
    }

    pub fn html_key(&self, record: &Record) -> String {
        let json = self.record_key(record);
        format!("{}.html", json.trim_end_matches(".json"))
    }

    fn storm_key(&self, record: &Record) -> String {
        let scope = record
            .service
            .clone()
            .or_else(|| record.family.clone().map(|f| format!("family-{f}")))
            .unwrap_or_else(|| "none".to_owned());
        // Scoped by account too: two accounts' "prod/web" are two services. State written before
        // the account was part of the key is simply not found again: it lives one storm window,
        // so an upgrade costs at most one extra notification per service and cause.
        format!(
            "{}_state/storm/account={}/cluster={}/scope={}/cause={}.json",
            self.prefix,
            key_segment(record.account.as_deref().unwrap_or("none")),
            key_segment(&record.cluster),
            key_segment(&scope),
            record.diagnosis.cause.as_str()
        )
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: Condition<'_>,
    ) -> Result<PutResult, ArchiveError> {
        let mut req = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body));
        req = match condition {
            Condition::None => req,
            Condition::Absent => req.if_none_match("*"),
            Condition::Matches(etag) => req.if_match(etag),
        };
        match req.send().await {
            Ok(out) => Ok(PutResult::Written(out.e_tag().map(str::to_owned))),
            // 412: the condition failed; 409: a concurrent conditional write won.
            Err(e) if matches!(status(&e), Some(412 | 409)) => Ok(PutResult::PreconditionFailed),
            Err(e) => Err(ArchiveError::S3 {
                op: "PutObject",
                key: key.to_owned(),
                source: Box::new(e),
            }),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Option<String>)>, ArchiveError> {
        match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let etag = out.e_tag().map(str::to_owned);
                let body = out.body.collect().await.map_err(|e| ArchiveError::S3 {
                    op: "GetObject",
                    key: key.to_owned(),
                    source: Box::new(e),
                })?;
                Ok(Some((body.into_bytes().to_vec(), etag)))
            }
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(ArchiveError::S3 {
                op: "GetObject",
                key: key.to_owned(),
                source: Box::new(e),
            }),
        }
    }

    async fn get_record(
        &self,
        key: &str,
    ) -> Result<Option<(Record, Option<String>)>, ArchiveError> {
        let Some((body, etag)) = self.get(key).await? else {
            return Ok(None);
        };
        let record = serde_json::from_slice(&body).map_err(|source| ArchiveError::Corrupt {
            key: key.to_owned(),
            source,
        })?;
        Ok(Some((record, etag)))
    }

    /// Whether an earlier delivery already finished this task: checked before gathering, so a
    /// duplicate costs one GET.
    pub async fn already_final(&self, record_key: &str) -> Result<bool, ArchiveError> {
        Ok(self
            .get_record(record_key)
            .await?
            .is_some_and(|(r, _)| r.notification.is_final()))
    }

    fn body(record: &Record, key: &str) -> Result<Vec<u8>, ArchiveError> {
        let mut line = record
            .to_json_line()
            .map_err(|source| ArchiveError::Corrupt {
                key: key.to_owned(),
                source,
            })?;
        line.push('\n');
        Ok(line.into_bytes())
    }

    /// A presigned GET for the HTML report.
    pub async fn report_link(&self, key: &str) -> Option<String> {
        let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(
            std::time::Duration::from_secs(REPORT_LINK_DAYS * 24 * 3600),
        )
        .ok()?;
        match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(cfg)
            .await
        {
            Ok(p) => Some(p.uri().to_owned()),
            Err(e) => {
                tracing::warn!(error = %e, "could not presign the report link");
                None
            }
        }
    }

    /// Archives the record and its HTML report and notifies at most once (module docs).
    pub async fn archive_and_notify(
        &self,
        sns: &aws_sdk_sns::Client,
        config: &Config,
        mut record: Record,
        html: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, ArchiveError> {
        let key = self.record_key(&record);
        let html_key = self.html_key(&record);
        let wants_notification = !record.diagnosis.benign || config.notify_benign;
        record.notification = if wants_notification {
            Notification::Pending
        } else {
            Notification::SuppressedBenign
        };
        record.claimed_at = wants_notification.then_some(now);
        record.notified = false;

        let etag = match self
            .put(
                &key,
                Self::body(&record, &key)?,
                "application/json",
                Condition::Absent,
            )
            .await?
        {
            PutResult::Written(etag) => {
                if let Some(html) = html {
                    self.put(
                        &html_key,
                        html.into_bytes(),
                        "text/html; charset=utf-8",
                        Condition::None,
                    )
                    .await?;
                }
                if !wants_notification {
                    return Ok(Outcome::Archived {
                        key,
                        notification: Notification::SuppressedBenign,
                        message_id: None,
                    });
                }
                etag
            }
            PutResult::PreconditionFailed => {
                let Some((stored, stored_etag)) = self.get_record(&key).await? else {
                    return Err(ArchiveError::Contended { key });
                };
                if stored.notification.is_final() {
                    return Ok(Outcome::Duplicate { key });
                }
                if let Some(claimed_at) = stored.claimed_at
                    && now - claimed_at < Duration::seconds(CLAIM_LEASE_SECONDS)
                {
                    return Err(ArchiveError::InProgress { key, claimed_at });
                }
                // A crashed (or failed) invocation left the claim: take it over.
                record = stored;
                record.claimed_at = Some(now);
                let Some(tag) = stored_etag else {
                    return Err(ArchiveError::Contended { key });
                };
                match self
                    .put(
                        &key,
                        Self::body(&record, &key)?,
                        "application/json",
                        Condition::Matches(&tag),
                    )
                    .await?
                {
                    PutResult::Written(etag) => {
                        if let Some(html) = html {
                            self.put(
                                &html_key,
                                html.into_bytes(),
                                "text/html; charset=utf-8",
                                Condition::None,
                            )
                            .await?;
                        }
                        etag
                    }
                    PutResult::PreconditionFailed => {
                        return Err(ArchiveError::InProgress {
                            key,
                            claimed_at: now,
                        });
                    }
                }
            }
        };

        // Storm control.
        let window = Duration::minutes(i64::from(config.storm_window_minutes));
        let at = record.stopped_at.unwrap_or(now);
        match self.storm_check(&record, at, window).await? {
            StormDecision::Suppress => {
                record.notification = Notification::SuppressedStorm;
                record.claimed_at = None;
                self.finish(&key, &record, etag.as_deref()).await?;
                return Ok(Outcome::Archived {
                    key,
                    notification: Notification::SuppressedStorm,
                    message_id: None,
                });
            }
            StormDecision::Notify(note) => {
                record.storm = note;
            }
        }

        let link = self.report_link(&html_key).await;
        let message = notify::build_archived(&record, Some(&key), link.as_deref());
        let message_id = match notify::publish(sns, &config.topic_arn, &message).await {
            Ok(id) => id,
            Err(e) => {
                // Release the claim so the retry publishes without waiting for the lease.
                record.claimed_at = None;
                if let Err(release) = self.finish(&key, &record, etag.as_deref()).await {
                    tracing::warn!(error = %release, "could not release the notification claim");
                }
                return Err(ArchiveError::Publish(e));
            }
        };
        record.notification = Notification::Sent;
        record.notified = true;
        record.claimed_at = None;
        self.finish(&key, &record, etag.as_deref()).await?;
        Ok(Outcome::Archived {
            key,
            notification: Notification::Sent,
            message_id: Some(message_id),
        })
    }

    /// Final write of the record, conditional on the ETag this invocation wrote.
    async fn finish(
        &self,
        key: &str,
        record: &Record,
        etag: Option<&str>,
    ) -> Result<Option<String>, ArchiveError> {
        let condition = etag.map_or(Condition::None, Condition::Matches);
        match self
            .put(key, Self::body(record, key)?, "application/json", condition)
            .await?
        {
            PutResult::Written(tag) => Ok(tag),
            // Someone else moved the record on; their write is as good as ours.
            PutResult::PreconditionFailed => Ok(None),
        }
    }

    /// Storm control: the first notifiable stop of a service and cause notifies; the next ones
    /// within the window are counted in a state object (compare-and-swap on its ETag) and the
    /// first notification after the window says how many were held back.
    async fn storm_check(
        &self,
        record: &Record,
        at: DateTime<Utc>,
        window: Duration,
    ) -> Result<StormDecision, ArchiveError> {
        let key = self.storm_key(record);
        for _ in 0..CAS_ATTEMPTS {
            let current = self.get(&key).await?;
            let (state, etag) = match current {
                Some((body, etag)) => (serde_json::from_slice::<StormState>(&body).ok(), etag),
                None => (None, None),
            };
            let (next, decision) = match state {
                // A retry of the stop that opened the window (its publish failed) still notifies.
                Some(s) if s.task_arn == record.task_arn => {
                    (s.clone(), StormDecision::Notify(None))
                }
                Some(s) if at >= s.window_start && at - s.window_start < window => (
                    StormState {
                        suppressed: s.suppressed + 1,
                        ..s
                    },
                    StormDecision::Suppress,
                ),
                Some(s) => {
                    let note = (s.suppressed > 0).then_some(StormNote {
                        suppressed: s.suppressed,
                        since: s.window_start,
                    });
                    (StormState::open(record, at), StormDecision::Notify(note))
                }
                None => (StormState::open(record, at), StormDecision::Notify(None)),
            };
            let body = serde_json::to_vec(&next).map_err(|source| ArchiveError::Corrupt {
                key: key.clone(),
                source,
            })?;
            let condition = match etag.as_deref() {
                Some(tag) => Condition::Matches(tag),
                None => Condition::Absent,
            };
            if let PutResult::Written(_) =
                self.put(&key, body, "application/json", condition).await?
            {
                return Ok(decision);
            }
        }
        Err(ArchiveError::Contended { key })
    }
}

#[derive(Debug, Clone, Copy)]
enum Condition<'a> {
    None,
    Absent,
    Matches(&'a str),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StormState {
    window_start: DateTime<Utc>,
    suppressed: u32,
    cause: Cause,
    /// The stop that opened the window.
    #[serde(default)]
    task_arn: String,
}

impl StormState {
    /// A new window opened by `record`'s stop.
    fn open(record: &Record, at: DateTime<Utc>) -> Self {
        Self {
            window_start: at,
            suppressed: 0,
            cause: record.diagnosis.cause,
            task_arn: record.task_arn.clone(),
        }
    }
}

#[derive(Debug)]
enum StormDecision {
    Notify(Option<StormNote>),
    Suppress,
}

#[cfg(test)]
mod tests {
    use super::key_segment;

    #[test]
    fn key_segments_are_safe() {
        assert_eq!(key_segment("prod-eu_1"), "prod-eu_1");
        assert_eq!(key_segment("a/b c"), "a_b_c");
        assert_eq!(key_segment(".."), "._");
        assert_eq!(key_segment("a...b"), "a._.b");
        assert_eq!(key_segment(""), "_");
        assert_eq!(key_segment(&"x".repeat(400)).len(), 255);
        assert_eq!(key_segment("café"), "caf_");
    }
}
