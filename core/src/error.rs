//! Error types of the core. Each keeps its source, and its `Display` never repeats the source's
//! text: the edge walks `source()` (`ecs_autopsy::error::chain`).

use thiserror::Error;

/// Why an incoming payload could not be read as an event.
#[derive(Debug, Error)]
pub enum EventError {
    #[error("malformed event JSON")]
    Json(#[source] serde_json::Error),
    #[error("an event must be a JSON object")]
    NotAnObject,
    #[error("an ECS task state change without `{0}`")]
    Missing(&'static str),
}
