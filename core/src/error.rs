//! Error types of the core. Each keeps its source.

use thiserror::Error;

/// Why an incoming payload could not be read as an event.
#[derive(Debug, Error)]
pub enum EventError {
    #[error("malformed event JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("an event must be a JSON object")]
    NotAnObject,
    #[error("an ECS task state change without `{0}`")]
    Missing(&'static str),
}
