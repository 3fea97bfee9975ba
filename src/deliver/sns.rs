//! The notifier on SNS: one `Publish` with `MessageStructure=json` and String attributes for
//! subscription filter policies.

use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{Notifier, code_suffix};
use crate::report::SnsMessage;

#[derive(Debug, thiserror::Error)]
#[error("SNS Publish to {topic} failed{}", code_suffix(.code))]
pub struct PublishError {
    pub topic: String,
    /// The AWS error code (`AuthorizationError`, `KMSAccessDenied`, …), when SNS sent one.
    pub code: Option<String>,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

pub struct SnsNotifier {
    pub client: aws_sdk_sns::Client,
    pub topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, n: &SnsMessage) -> Result<String, PublishError> {
        let topic = &self.topic_arn;
        let err = |code: Option<&str>, e: Box<dyn std::error::Error + Send + Sync>| PublishError {
            topic: topic.clone(),
            code: code.map(str::to_owned),
            source: e,
        };
        let mut req = self
            .client
            .publish()
            .topic_arn(topic)
            .subject(&n.subject)
            .message(&n.message)
            .message_structure("json");
        for (name, value) in &n.attributes {
            let attr = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| err(None, Box::new(e)))?;
            req = req.message_attributes(*name, attr);
        }
        let out = req.send().await.map_err(|e| {
            let code = e.code().map(str::to_owned);
            err(code.as_deref(), Box::new(e))
        })?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}
