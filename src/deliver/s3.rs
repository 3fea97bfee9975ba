//! The archive's store on S3: conditional `PutObject`, `GetObject`, and presigned links.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{Condition, Put, Store, StoreError, Stored};

pub struct S3Store {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
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

fn status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

fn failed<E>(op: &'static str, key: &str, e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    StoreError {
        op,
        key: key.to_owned(),
        code: e.code().map(str::to_owned),
        message: e.message().map(str::to_owned),
        source: Box::new(e),
    }
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

impl Store for S3Store {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: Condition<'_>,
    ) -> Result<Put, StoreError> {
        let mut req = self
            .client
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
            Ok(out) => Ok(Put::Written(out.e_tag().map(str::to_owned))),
            // 412: the condition failed; 409: a concurrent conditional write won.
            Err(e) if matches!(status(&e), Some(412 | 409)) => Ok(Put::PreconditionFailed),
            Err(e) => Err(failed("PutObject", key, e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Stored>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let etag = out.e_tag().map(str::to_owned);
                let body = out.body.collect().await.map_err(|e| StoreError {
                    op: "GetObject",
                    key: key.to_owned(),
                    code: None,
                    message: None,
                    source: Box::new(e),
                })?;
                Ok(Some(Stored {
                    body: body.into_bytes().to_vec(),
                    etag,
                }))
            }
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(failed("GetObject", key, e)),
        }
    }

    async fn link(&self, key: &str, expires: Duration) -> Option<String> {
        let cfg = match aws_sdk_s3::presigning::PresigningConfig::expires_in(expires) {
            Ok(cfg) => cfg,
            Err(e) => {
                tracing::warn!(error = %e, "could not configure the report link; sending none");
                return None;
            }
        };
        match self
            .client
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
}
