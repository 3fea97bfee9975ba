//! Failures keep their cause to the edge: a denied archive write, a denied publish and a KMS
//! denial each reach the Lambda runtime as a typed `errorType` with the AWS error code in the
//! message, and are logged once, inside the incident's span, with the whole chain.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use aws_smithy_types::error::ErrorMetadata;
use ecs_autopsy::deliver::s3::s3_client;
use serde_json::Value;

use crate::reporting::{Target, target};
use crate::sandbox::sandbox;

/// Log lines written while a test runs, for reading back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures this thread's log lines until the guard is dropped.
    fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        self.0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    }
}

fn denied(code: &'static str, message: &'static str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn interceptor(rule: &Rule) -> aws_smithy_mocks::MockResponseInterceptor {
    aws_smithy_mocks::MockResponseInterceptor::new()
        .rule_mode(RuleMode::MatchAny)
        .allow_passthrough()
        .with_rule(rule)
}

async fn with_s3_put_failing(t: &mut Target, code: &'static str, message: &'static str) {
    let sdk = sandbox().sdk_config().await;
    let rule = mock!(aws_sdk_s3::Client::put_object)
        .sequence()
        .error(move || {
            aws_sdk_s3::operation::put_object::PutObjectError::generic(denied(code, message))
        })
        .repeatedly()
        .build();
    let client = s3_client(&sdk);
    t.app.archive.store.client = aws_sdk_s3::Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .interceptor(interceptor(&rule))
            .build(),
    );
}

async fn with_publish_failing(t: &mut Target, code: &'static str, message: &'static str) {
    let sdk = sandbox().sdk_config().await;
    let rule = mock!(aws_sdk_sns::Client::publish)
        .sequence()
        .error(move || {
            aws_sdk_sns::operation::publish::PublishError::generic(denied(code, message))
        })
        .repeatedly()
        .build();
    t.app.notifier.client = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&sdk)
            .retry_config(RetryConfig::disabled())
            .interceptor(interceptor(&rule))
            .build(),
    );
}

fn payload(scenario: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(sandbox().event_path(scenario)).expect("event"))
        .expect("json")
}

/// Runs one invocation as the runtime does and returns its failure and the log it wrote.
async fn invoke_failing(t: &Target, scenario: &str) -> (lambda_runtime::Diagnostic, String) {
    let (log, _guard) = Captured::start();
    let failure = t
        .app
        .invoke(payload(scenario), Duration::from_secs(30))
        .await
        .expect_err("the invocation fails");
    (failure, log.text())
}

#[tokio::test]
async fn a_denied_archive_write_is_s3_access_denied_with_its_code() {
    // Arrange
    let mut t = target(false).await;
    with_s3_put_failing(&mut t, "AccessDenied", "Access Denied").await;

    // Act
    let (failure, log) = invoke_failing(&t, "oom-leak").await;

    // Assert
    assert_eq!(failure.error_type, "S3AccessDenied");
    assert!(
        failure.error_message.contains("PutObject"),
        "{}",
        failure.error_message
    );
    assert!(
        failure.error_message.contains("(AccessDenied)"),
        "{}",
        failure.error_message
    );
    let line = log
        .lines()
        .find(|l| l.contains("incident failed"))
        .unwrap_or_else(|| panic!("no failure line in {log}"));
    assert!(
        line.contains("S3AccessDenied") && line.contains("AccessDenied"),
        "{line}"
    );
    assert!(
        line.contains("incident{task_arn="),
        "logged inside the incident's span: {line}"
    );
}

#[tokio::test]
async fn a_denied_publish_is_sns_access_denied_and_nothing_is_lost() {
    // Arrange
    let mut t = target(false).await;
    with_publish_failing(
        &mut t,
        "AuthorizationError",
        "User is not authorized to perform: SNS:Publish",
    )
    .await;

    // Act
    let (failure, log) = invoke_failing(&t, "oom-leak").await;

    // Assert: typed, coded, logged; the record is archived for the retry.
    assert_eq!(failure.error_type, "SnsAccessDenied");
    assert!(
        failure.error_message.contains("(AuthorizationError)"),
        "{}",
        failure.error_message
    );
    assert!(
        log.contains("SnsAccessDenied") && log.contains("AuthorizationError"),
        "{log}"
    );
    let records = t.records().await;
    assert_eq!(records.len(), 1, "{records:?}");
}

#[tokio::test]
async fn a_kms_denial_is_kms_denied_from_sns_and_from_s3() {
    // Arrange: SNS names KMS in its code; S3 says AccessDenied and names the kms: action.
    let mut sns_side = target(false).await;
    with_publish_failing(
        &mut sns_side,
        "KMSAccessDenied",
        "User is not authorized to perform kms:GenerateDataKey",
    )
    .await;
    let mut s3_side = target(false).await;
    with_s3_put_failing(
        &mut s3_side,
        "AccessDenied",
        "User: arn:aws:sts::123456789012:assumed-role/fn/x is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:eu-west-1:123456789012:key/1",
    )
    .await;

    // Act
    let (from_sns, sns_log) = invoke_failing(&sns_side, "oom-leak").await;
    let (from_s3, s3_log) = invoke_failing(&s3_side, "oom-leak").await;

    // Assert
    assert_eq!(from_sns.error_type, "KmsDenied");
    assert!(
        from_sns.error_message.contains("(KMSAccessDenied)"),
        "{}",
        from_sns.error_message
    );
    assert!(
        sns_log.contains("KmsDenied") && sns_log.contains("KMSAccessDenied"),
        "{sns_log}"
    );
    assert_eq!(from_s3.error_type, "KmsDenied");
    assert!(
        from_s3.error_message.contains("(AccessDenied)"),
        "{}",
        from_s3.error_message
    );
    assert!(s3_log.contains("KmsDenied"), "{s3_log}");
}

#[tokio::test]
async fn a_malformed_event_is_typed_and_logged() {
    let t = target(false).await;
    let (log, _guard) = Captured::start();

    let failure = t
        .app
        .invoke(serde_json::json!([1, 2]), Duration::from_secs(5))
        .await
        .expect_err("an array is not an event");

    assert_eq!(failure.error_type, "MalformedEvent");
    assert!(
        failure.error_message.contains("JSON object"),
        "{}",
        failure.error_message
    );
    assert!(log.text().contains("MalformedEvent"), "{}", log.text());
}
