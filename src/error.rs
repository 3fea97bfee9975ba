//! Error types of the library. Each keeps its source; binaries turn them into `anyhow` at the edge.

use std::path::PathBuf;

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

/// Why an input file could not be used by the CLI.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {what}: {source}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Event {
        path: PathBuf,
        #[source]
        source: EventError,
    },
    #[error("{path}: {reason}")]
    NotActionable { path: PathBuf, reason: String },
}
