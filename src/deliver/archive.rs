//! The incident archive and the notify-once protocol, built on a store's conditional writes
//! alone ([`super::Store`]; S3 in the function). Where each object lives: [`super::keys`].
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

use chrono::{DateTime, Duration, Utc};

use super::keys::{Keys, Layout};
use super::s3::S3Store;
use super::storm::{StormDecision, StormState};
use super::{Condition, Notifier, PublishError, Put, Store, StoreError};
use crate::config::Config;
use crate::event::TaskStateChange;
use crate::evidence::{MissingEvidence, MissingKind, Source};
use crate::report::{NotificationStatus, Record, RecordBody, message};

/// A claim older than this was left by an invocation that died.
pub const CLAIM_LEASE_SECONDS: i64 = 90;
/// Presigned links to the HTML report ask for this long (S3's maximum for SigV4). S3 ends a link
/// sooner when the credentials that signed it expire: with a Lambda role's, within hours, as the
/// email says ([`crate::report::REPORT_LINK_NOTE`]).
pub const REPORT_LINK_DAYS: u64 = 7;
const CAS_ATTEMPTS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Store(#[from] StoreError),
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
    Publish(#[from] PublishError),
}

/// What happened to one incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Archived; `notification` says whether it was sent or why not.
    Archived {
        key: String,
        notification: NotificationStatus,
        message_id: Option<String>,
    },
    /// Already handled by an earlier delivery.
    Duplicate { key: String },
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
    /// The stored state could not be read (it is replaced): why, for the record.
    unreadable: Option<String>,
}

/// What step 3 settles: the incident's keys, the claim's ETag, the verdict and its report, and
/// the storm state step 1 read (`None`: read it now).
#[derive(Debug)]
pub struct Settlement {
    pub keys: Keys,
    pub claim_etag: Option<String>,
    pub record: Record,
    pub html: Option<String>,
    pub storm: Option<StormRead>,
    pub now: DateTime<Utc>,
}

/// The archive on a store, with the policy the protocol applies.
pub struct Archive<S = S3Store> {
    pub store: S,
    pub layout: Layout,
    /// Notify benign stops too (`NOTIFY_BENIGN`).
    pub notify_benign: bool,
    /// Storm control's window (`STORM_WINDOW_MINUTES`).
    pub storm_window: Duration,
}

impl<S: Store> Archive<S> {
    pub fn new(store: S, config: &Config) -> Self {
        Self {
            store,
            layout: Layout::new(config.prefix.clone()),
            notify_benign: config.notify_benign,
            storm_window: Duration::minutes(i64::from(config.storm_window_minutes)),
        }
    }

    /// The incident's keys, from the event alone.
    pub fn keys_for(&self, event: &TaskStateChange) -> Keys {
        self.layout.keys_for(event)
    }

    /// The key a record is archived under.
    pub fn record_key(&self, record: &Record) -> String {
        self.layout.record_key(record)
    }

    async fn get_record(
        &self,
        key: &str,
    ) -> Result<Option<(Record, Option<String>)>, ArchiveError> {
        let Some(stored) = self.store.get(key).await? else {
            return Ok(None);
        };
        let record =
            serde_json::from_slice(&stored.body).map_err(|source| ArchiveError::Corrupt {
                key: key.to_owned(),
                source,
            })?;
        Ok(Some((record, stored.etag)))
    }

    fn line(
        record: &Record,
        body: Option<&RecordBody>,
        key: &str,
    ) -> Result<Vec<u8>, ArchiveError> {
        let line = match body {
            Some(body) => record.to_json_line_with(body),
            None => record.to_json_line(),
        };
        let mut line = line.map_err(|source| ArchiveError::Corrupt {
            key: key.to_owned(),
            source,
        })?;
        line.push('\n');
        Ok(line.into_bytes())
    }

    /// A conditional write of a record; `body` is its unchanging part when it was serialized
    /// before (`Record::body_json`).
    async fn put_record(
        &self,
        key: &str,
        record: &Record,
        body: Option<&RecordBody>,
        condition: Condition<'_>,
    ) -> Result<Put, ArchiveError> {
        let line = Self::line(record, body, key)?;
        Ok(self
            .store
            .put(key, line, "application/json", condition)
            .await?)
    }

    /// Step 1: claims the incident for this invocation (module docs).
    pub async fn claim(
        &self,
        keys: &Keys,
        placeholder: &Record,
        now: DateTime<Utc>,
    ) -> Result<Claim, ArchiveError> {
        let key = &keys.record;
        if let Put::Written(etag) = self
            .put_record(key, placeholder, None, Condition::Absent)
            .await?
        {
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
            .put_record(key, &stored, None, Condition::Matches(&tag))
            .await?
        {
            Put::Written(etag) => Ok(Claim::TakenOver {
                etag,
                stored: (!stored.placeholder).then(|| Box::new(stored)),
            }),
            Put::PreconditionFailed => Err(ArchiveError::InProgress {
                key: key.clone(),
                claimed_at: now,
            }),
        }
    }

    /// The storm state of the event's service, read beside the claim so step 3 needs no read.
    pub async fn read_storm(&self, event: &TaskStateChange) -> Result<StormRead, ArchiveError> {
        let key = self.layout.storm_key(event);
        Ok(match self.store.get(&key).await? {
            // A state that no longer parses is replaced (it only ever holds back messages), and
            // the record says so.
            Some(stored) => match serde_json::from_slice::<StormState>(&stored.body) {
                Ok(state) => StormRead {
                    state: Some(state),
                    etag: stored.etag,
                    unreadable: None,
                },
                Err(e) => {
                    tracing::warn!(%key, error = %e, "storm state unreadable; replacing it");
                    StormRead {
                        state: None,
                        etag: stored.etag,
                        unreadable: Some(format!("{key}: {e}")),
                    }
                }
            },
            None => StormRead::default(),
        })
    }

    /// Steps 3–5: archives the verdict and its HTML report, applies storm control, publishes
    /// and records that it did (module docs).
    pub async fn settle<N: Notifier>(
        &self,
        notifier: &N,
        settlement: Settlement,
    ) -> Result<Outcome, ArchiveError> {
        let Settlement {
            keys,
            claim_etag,
            mut record,
            html,
            storm,
            now,
        } = settlement;
        let key = keys.record.clone();
        let wants_notification = !record.diagnosis.benign || self.notify_benign;
        record.placeholder = false;
        record.notified = false;
        record.storm = None;
        // A link only to a report that is stored: when rendering failed there is none.
        let has_report = html.is_some();
        let html_put = async {
            match html {
                Some(html) => self
                    .store
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
            record.notification = NotificationStatus::SuppressedBenign;
            record.claimed_at = None;
            let (written, html) = tokio::join!(
                self.finish(&key, &record, None, claim_etag.as_deref()),
                html_put
            );
            written?;
            html?;
            return Ok(Outcome::Archived {
                key,
                notification: NotificationStatus::SuppressedBenign,
                message_id: None,
            });
        }
        record.notification = NotificationStatus::Pending;
        record.claimed_at = Some(now);

        let storm = match storm {
            Some(read) => read,
            None => self.read_storm(&record.event).await?,
        };
        if let Some(why) = &storm.unreadable {
            let m = MissingEvidence::new(
                Source::StormState,
                MissingKind::Unreadable,
                format!("{why}; replaced, so this stop opens a new storm window"),
            );
            record.diagnosis.missing.push(m.label());
            record.evidence.missing.push(m);
        }
        // From here only the protocol's own fields change: the rest is serialized once for the
        // two or three writes that follow.
        let body = record.body_json().map_err(|source| ArchiveError::Corrupt {
            key: key.clone(),
            source,
        })?;
        let body = Some(&body);
        let at = record.stopped_at.unwrap_or(now);
        let (written, html, decision) = tokio::join!(
            self.put_record(
                &key,
                &record,
                body,
                claim_etag
                    .as_deref()
                    .map_or(Condition::None, Condition::Matches),
            ),
            html_put,
            self.storm_check(&record, at, storm),
        );
        let etag = match written? {
            Put::Written(etag) => etag,
            // Another invocation took the claim over: the notification is theirs.
            Put::PreconditionFailed => {
                return Err(ArchiveError::InProgress {
                    key,
                    claimed_at: now,
                });
            }
        };
        html?;
        match decision? {
            StormDecision::Suppress => {
                record.notification = NotificationStatus::SuppressedStorm;
                record.claimed_at = None;
                self.finish(&key, &record, body, etag.as_deref()).await?;
                return Ok(Outcome::Archived {
                    key,
                    notification: NotificationStatus::SuppressedStorm,
                    message_id: None,
                });
            }
            StormDecision::Notify(note) => {
                record.storm = note;
            }
        }

        let link = if has_report {
            self.store
                .link(
                    &keys.html,
                    std::time::Duration::from_secs(REPORT_LINK_DAYS * 24 * 3600),
                )
                .await
        } else {
            None
        };
        let message = message::build_archived(&record, Some(&key), link.as_deref());
        let message_id = match notifier.publish(&message).await {
            Ok(id) => id,
            Err(e) => {
                // Release the claim so the retry publishes without waiting for the lease.
                record.claimed_at = None;
                if let Err(release) = self.finish(&key, &record, body, etag.as_deref()).await {
                    tracing::warn!(error = %release, "could not release the notification claim");
                }
                return Err(ArchiveError::Publish(e));
            }
        };
        record.notification = NotificationStatus::Sent;
        record.notified = true;
        record.claimed_at = None;
        self.finish(&key, &record, body, etag.as_deref()).await?;
        Ok(Outcome::Archived {
            key,
            notification: NotificationStatus::Sent,
            message_id: Some(message_id),
        })
    }

    /// A conditional write of the record on the ETag this invocation wrote last.
    async fn finish(
        &self,
        key: &str,
        record: &Record,
        body: Option<&RecordBody>,
        etag: Option<&str>,
    ) -> Result<Option<String>, ArchiveError> {
        let condition = etag.map_or(Condition::None, Condition::Matches);
        match self.put_record(key, record, body, condition).await? {
            Put::Written(tag) => Ok(tag),
            // Someone else moved the record on; their write is as good as ours.
            Put::PreconditionFailed => Ok(None),
        }
    }

    /// Storm control (`super::storm`), written back by compare-and-swap on the state's ETag,
    /// starting from what step 1 read.
    async fn storm_check(
        &self,
        record: &Record,
        at: DateTime<Utc>,
        mut read: StormRead,
    ) -> Result<StormDecision, ArchiveError> {
        let key = self.layout.storm_key(&record.event);
        for attempt in 0..CAS_ATTEMPTS {
            if attempt > 0 {
                read = self.read_storm(&record.event).await?;
            }
            let mut state = read.state.clone().unwrap_or_default();
            let decision = state.decide(record, at, self.storm_window);
            let body = serde_json::to_vec(&state).map_err(|source| ArchiveError::Corrupt {
                key: key.clone(),
                source,
            })?;
            let condition = match read.etag.as_deref() {
                Some(tag) => Condition::Matches(tag),
                None => Condition::Absent,
            };
            if let Put::Written(_) = self
                .store
                .put(&key, body, "application/json", condition)
                .await?
            {
                return Ok(decision);
            }
        }
        Err(ArchiveError::Contended { key })
    }
}
