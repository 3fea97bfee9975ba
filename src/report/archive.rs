//! The S3 incident archive and the notify-once protocol, built on S3 conditional writes alone.
//!
//! Keys (Hive-style partitions, so Athena can prune them):
//! `<prefix>cluster=<cluster>/service=<service|none>/date=<YYYY-MM-DD>/<task-id>.json` and
//! `.html` beside it, both named from the event alone ([`Archive::keys_for`]). Storm state lives
//! under `<prefix>_state/` (Athena skips `_` paths), one object per account, cluster and service.
//!
//! # Notify-once protocol
//!
//! One stopped task gets one record and at most one notification however often its event is
//! delivered, and a crash at any step does not lose the notification. Each step is one round
//! trip; the calls on one step run together:
//!
//! 1. [`Archive::claim`]: `PUT record If-None-Match: *` — a placeholder with the event's
//!    first-look verdict, `notification` = `pending`, `claimed_at` = now — while gathering's
//!    first round and the service's storm state are read beside it.
//!    * Created → [`Claim::Owned`]: this invocation owns the notification.
//!    * 412 → `GET` the record and its ETag. A final state (`sent`, `suppressed_*`) is a
//!      duplicate delivery ([`Claim::Duplicate`]): acknowledge. A `pending` record whose claim is
//!      younger than the lease belongs to a running invocation: fail, so Lambda retries later. An
//!      older claim was left by a crash: take it over with `PUT If-Match: <etag>` (412 → someone
//!      else did; fail and retry) — [`Claim::TakenOver`]. A stored verdict is notified as it was
//!      (so it stays the same); a placeholder means the crash came before the verdict, and the
//!      evidence is gathered again.
//! 2. Gathering's later rounds, then the diagnosis (no S3 call).
//! 3. [`Archive::settle`]: `PUT record If-Match: <claim etag>` with the verdict, still `pending`
//!    · `PUT html` · `PUT storm state If-Match/If-None-Match` (compare-and-swap on what step 1
//!    read; a lost race re-reads and tries again). Storm control may turn the notification into
//!    `suppressed_storm`; a stop that will not be notified is written final here and ends.
//! 4. `Publish` to SNS. On failure the claim is released (`claimed_at` cleared) and the error
//!    returned, so the retry can publish at once.
//! 5. `PUT record If-Match: <etag>` with `notification` = `sent`, `notified` = true.
//!
//! The only duplicate left is a crash after step 4 and before step 5: the retry publishes again.
//! A failure inside step 3 after the storm state was written can count one suppressed stop twice
//! on the retry: a count in a notification, never a lost or repeated notification.

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::notify;
use super::record::{Notification, Record, StormNote};
use crate::config::Config;
use crate::diagnose::Cause;
use crate::event::TaskStateChange;

/// A claim older than this was left by an invocation that died.
pub const CLAIM_LEASE_SECONDS: i64 = 90;
/// Presigned links to the HTML report live this long (S3's maximum for SigV4).
pub const REPORT_LINK_DAYS: u64 = 7;
const CAS_ATTEMPTS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("S3 {op} {key} failed{}", code_suffix(.code))]
    S3 {
        op: &'static str,
        key: String,
        /// The AWS error code (`AccessDenied`, `KMS.DisabledException`, …), when S3 sent one.
        code: Option<String>,
        /// S3's message: a KMS denial is an `AccessDenied` whose message names the `kms:` action.
        message: Option<String>,
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

/// ` (CODE)` when AWS named the error.
pub(crate) fn code_suffix(code: &Option<String>) -> String {
    code.as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default()
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

/// Where one incident lives in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub record: String,
    pub html: String,
}

/// What [`Archive::claim`] found.
#[derive(Debug)]
pub enum Claim {
    /// This invocation wrote the claim; `etag` is the claim's.
    Owned { etag: Option<String> },
    /// A crashed invocation's claim, now this one's. `stored` is its record when it had reached
    /// a verdict (notify that, unchanged), `None` when it was still a placeholder.
    TakenOver {
        etag: Option<String>,
        stored: Option<Box<Record>>,
    },
    /// An earlier delivery finished this task.
    Duplicate,
}

/// The storm state of one service as step 1 read it, for step 3's compare-and-swap.
#[derive(Debug, Clone, Default)]
pub struct StormRead {
    state: Option<StormState>,
    etag: Option<String>,
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

    fn keys(&self, base: String) -> Keys {
        Keys {
            record: format!("{base}.json"),
            html: format!("{base}.html"),
        }
    }

    /// The incident's keys, from the event alone (the same as its record's).
    pub fn keys_for(&self, event: &TaskStateChange) -> Keys {
        let date = event.stopped_at().unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        self.keys(self.base_key(
            event.cluster_name(),
            event.service_name(),
            date,
            event.task_id(),
        ))
    }

    pub fn record_key(&self, record: &Record) -> String {
        let date = record.stopped_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        self.keys(self.base_key(
            &record.cluster,
            record.service.as_deref(),
            date,
            &record.task_id,
        ))
        .record
    }

    /// One storm state per account, cluster and service (or task family), holding a window per
    /// cause, so it can be read before the cause is known.
    fn storm_key(&self, event: &TaskStateChange) -> String {
        let scope = event
            .service_name()
            .map(str::to_owned)
            .or_else(|| event.family().map(|f| format!("family-{f}")))
            .unwrap_or_else(|| "none".to_owned());
        // Scoped by account too: two accounts' "prod/web" are two services. State written before
        // the account was part of the key is simply not found again: it lives one storm window,
        // so an upgrade costs at most one extra notification per service and cause.
        format!(
            "{}_state/storms/account={}/cluster={}/scope={}.json",
            self.prefix,
            key_segment(event.account.as_deref().unwrap_or("unknown")),
            key_segment(event.cluster_name()),
            key_segment(&scope),
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
        // S3 accepts an unsigned payload over TLS (the request itself is still signed), which
        // spares hashing every record and report body (BENCHMARKS.md).
        match req.customize().disable_payload_signing().send().await {
            Ok(out) => Ok(PutResult::Written(out.e_tag().map(str::to_owned))),
            // 412: the condition failed; 409: a concurrent conditional write won.
            Err(e) if matches!(status(&e), Some(412 | 409)) => Ok(PutResult::PreconditionFailed),
            Err(e) => Err(ArchiveError::S3 {
                op: "PutObject",
                key: key.to_owned(),
                code: e.code().map(str::to_owned),
                message: e.message().map(str::to_owned),
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
                    code: None,
                    message: None,
                    source: Box::new(e),
                })?;
                Ok(Some((body.into_bytes().to_vec(), etag)))
            }
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(ArchiveError::S3 {
                op: "GetObject",
                key: key.to_owned(),
                code: e.code().map(str::to_owned),
                message: e.message().map(str::to_owned),
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

    /// Step 1: claims the incident for this invocation (module docs).
    pub async fn claim(
        &self,
        keys: &Keys,
        placeholder: &Record,
        now: DateTime<Utc>,
    ) -> Result<Claim, ArchiveError> {
        let key = &keys.record;
        let written = self
            .put(
                key,
                Self::body(placeholder, key)?,
                "application/json",
                Condition::Absent,
            )
            .await?;
        if let PutResult::Written(etag) = written {
            return Ok(Claim::Owned { etag });
        }
        let Some((mut stored, stored_etag)) = self.get_record(key).await? else {
            return Err(ArchiveError::Contended { key: key.clone() });
        };
        if stored.notification.is_final() {
            return Ok(Claim::Duplicate);
        }
        if let Some(claimed_at) = stored.claimed_at
            && now - claimed_at < Duration::seconds(CLAIM_LEASE_SECONDS)
        {
            return Err(ArchiveError::InProgress {
                key: key.clone(),
                claimed_at,
            });
        }
        // A crashed (or failed) invocation left the claim: take it over.
        let Some(tag) = stored_etag else {
            return Err(ArchiveError::Contended { key: key.clone() });
        };
        stored.claimed_at = Some(now);
        match self
            .put(
                key,
                Self::body(&stored, key)?,
                "application/json",
                Condition::Matches(&tag),
            )
            .await?
        {
            PutResult::Written(etag) => Ok(Claim::TakenOver {
                etag,
                stored: (!stored.placeholder).then(|| Box::new(stored)),
            }),
            PutResult::PreconditionFailed => Err(ArchiveError::InProgress {
                key: key.clone(),
                claimed_at: now,
            }),
        }
    }

    /// The storm state of the event's service, read beside the claim so step 3 needs no read.
    pub async fn read_storm(&self, event: &TaskStateChange) -> Result<StormRead, ArchiveError> {
        let key = self.storm_key(event);
        Ok(match self.get(&key).await? {
            Some((body, etag)) => StormRead {
                // A state that no longer parses is replaced: it only ever holds back messages.
                state: serde_json::from_slice::<StormState>(&body).ok(),
                etag,
            },
            None => StormRead::default(),
        })
    }

    /// Steps 3–5: archives the verdict and its HTML report, applies storm control, publishes
    /// and records that it did (module docs). `claim_etag` is the ETag [`Archive::claim`] wrote;
    /// `storm` what [`Archive::read_storm`] read, or `None` to read it now.
    #[allow(clippy::too_many_arguments)]
    pub async fn settle(
        &self,
        sns: &aws_sdk_sns::Client,
        config: &Config,
        keys: &Keys,
        claim_etag: Option<String>,
        mut record: Record,
        html: Option<String>,
        storm: Option<StormRead>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, ArchiveError> {
        let key = keys.record.clone();
        let wants_notification = !record.diagnosis.benign || config.notify_benign;
        record.placeholder = false;
        record.notified = false;
        record.storm = None;
        let html_put = async {
            match html {
                Some(html) => self
                    .put(
                        &keys.html,
                        html.into_bytes(),
                        "text/html; charset=utf-8",
                        Condition::None,
                    )
                    .await
                    .map(|_| ()),
                None => Ok(()),
            }
        };
        if !wants_notification {
            record.notification = Notification::SuppressedBenign;
            record.claimed_at = None;
            let (written, html) =
                tokio::join!(self.finish(&key, &record, claim_etag.as_deref()), html_put);
            written?;
            html?;
            return Ok(Outcome::Archived {
                key,
                notification: Notification::SuppressedBenign,
                message_id: None,
            });
        }
        record.notification = Notification::Pending;
        record.claimed_at = Some(now);

        let storm = match storm {
            Some(read) => read,
            None => self.read_storm(&record.event).await?,
        };
        let window = Duration::minutes(i64::from(config.storm_window_minutes));
        let at = record.stopped_at.unwrap_or(now);
        let (written, html, decision) = tokio::join!(
            self.put(
                &key,
                Self::body(&record, &key)?,
                "application/json",
                claim_etag
                    .as_deref()
                    .map_or(Condition::None, Condition::Matches),
            ),
            html_put,
            self.storm_check(&record, at, window, storm),
        );
        let etag = match written? {
            PutResult::Written(etag) => etag,
            // Another invocation took the claim over: the notification is theirs.
            PutResult::PreconditionFailed => {
                return Err(ArchiveError::InProgress {
                    key,
                    claimed_at: now,
                });
            }
        };
        html?;
        match decision? {
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

        let link = self.report_link(&keys.html).await;
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

    /// A conditional write of the record on the ETag this invocation wrote last.
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
    /// within the window are counted in the service's state object (compare-and-swap on its
    /// ETag, starting from what step 1 read) and the first notification after the window says
    /// how many were held back.
    async fn storm_check(
        &self,
        record: &Record,
        at: DateTime<Utc>,
        window: Duration,
        mut read: StormRead,
    ) -> Result<StormDecision, ArchiveError> {
        let key = self.storm_key(&record.event);
        let cause = record.diagnosis.cause;
        for attempt in 0..CAS_ATTEMPTS {
            if attempt > 0 {
                read = self.read_storm(&record.event).await?;
            }
            let mut state = read.state.clone().unwrap_or_default();
            let current = state.windows.iter().position(|w| w.cause == cause);
            let decision = match current.map(|i| &mut state.windows[i]) {
                // A retry of the stop that opened the window (its publish failed) still notifies.
                Some(w) if w.task_arn == record.task_arn => StormDecision::Notify(None),
                Some(w) if at >= w.window_start && at - w.window_start < window => {
                    w.suppressed += 1;
                    StormDecision::Suppress
                }
                Some(w) => {
                    let note = (w.suppressed > 0).then_some(StormNote {
                        suppressed: w.suppressed,
                        since: w.window_start,
                    });
                    *w = StormWindow::open(record, at);
                    StormDecision::Notify(note)
                }
                None => {
                    state.windows.push(StormWindow::open(record, at));
                    StormDecision::Notify(None)
                }
            };
            let body = serde_json::to_vec(&state).map_err(|source| ArchiveError::Corrupt {
                key: key.clone(),
                source,
            })?;
            let condition = match read.etag.as_deref() {
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

/// One service's storm windows, one per cause.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StormState {
    #[serde(default)]
    windows: Vec<StormWindow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StormWindow {
    cause: Cause,
    window_start: DateTime<Utc>,
    suppressed: u32,
    /// The stop that opened the window.
    task_arn: String,
}

impl StormWindow {
    /// A new window opened by `record`'s stop.
    fn open(record: &Record, at: DateTime<Utc>) -> Self {
        Self {
            cause: record.diagnosis.cause,
            window_start: at,
            suppressed: 0,
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
