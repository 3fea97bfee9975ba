//! Delivery: where a rendered incident goes. The archive and the notify-once protocol
//! ([`archive`]) speak to two small ports, an object store with conditional writes ([`Store`])
//! and a notifier ([`Notifier`]); S3 ([`s3::S3Store`]) and SNS ([`sns::SnsNotifier`]) are their
//! adapters. Everything that decides what a message or a record says lives in `report`, which
//! never calls AWS.

pub mod archive;
pub mod keys;
pub mod s3;
pub mod sns;
mod storm;

use std::future::Future;

use crate::report::SnsMessage;

pub use archive::{Archive, ArchiveError, Claim, Outcome, Settlement, StormRead};
pub use keys::{Keys, Layout, key_segment};
pub use s3::S3Store;
pub use sns::{PublishError, SnsNotifier};

/// When a conditional write may happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition<'a> {
    /// Always.
    None,
    /// Only if no object exists under the key (`If-None-Match: *`).
    Absent,
    /// Only if the stored object still has this ETag (`If-Match`).
    Matches(&'a str),
}

/// What a conditional write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Written; the new object's ETag when the store gave one.
    Written(Option<String>),
    /// The condition did not hold (or a concurrent conditional write won).
    PreconditionFailed,
}

/// An object read from the store, with the ETag a later conditional write names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub body: Vec<u8>,
    pub etag: Option<String>,
}

/// A store call that failed for a reason other than its condition.
#[derive(Debug, thiserror::Error)]
#[error("S3 {op} {key} failed{}", code_suffix(.code))]
pub struct StoreError {
    pub op: &'static str,
    pub key: String,
    /// The AWS error code (`AccessDenied`, `KMS.DisabledException`, …), when the store sent one.
    pub code: Option<String>,
    /// The store's message: a KMS denial is an `AccessDenied` whose message names the `kms:`
    /// action.
    pub message: Option<String>,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// ` (CODE)` when AWS named the error.
pub(crate) fn code_suffix(code: &Option<String>) -> String {
    code.as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default()
}

/// An object store with conditional writes: all the notify-once protocol needs.
pub trait Store {
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: Condition<'_>,
    ) -> impl Future<Output = Result<Put, StoreError>> + Send;

    /// `None` when nothing is stored under the key.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Stored>, StoreError>> + Send;

    /// A link that reads the object without credentials for `expires`, when the store can make
    /// one.
    fn link(
        &self,
        key: &str,
        expires: std::time::Duration,
    ) -> impl Future<Output = Option<String>> + Send;
}

/// Where notifications go.
pub trait Notifier {
    /// Publishes and returns the message id.
    fn publish(
        &self,
        message: &SnsMessage,
    ) -> impl Future<Output = Result<String, PublishError>> + Send;
}
