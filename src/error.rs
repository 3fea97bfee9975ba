//! Error types of the library. Each keeps its source; binaries turn them into `anyhow` at the edge.

use std::path::PathBuf;

use thiserror::Error;

pub use ecs_autopsy_core::error::EventError;

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

/// Why one evidence source could not be read. The SDK error stays the source.
#[derive(Debug, Error)]
pub enum GatherError {
    #[error("{op}: {}", code_and_message(.code, .message))]
    Aws {
        op: &'static str,
        code: Option<String>,
        message: Option<String>,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{op}: timed out after {:.1} s", after.as_secs_f64())]
    Timeout {
        op: &'static str,
        after: std::time::Duration,
    },
    #[error("{op}: skipped, the deadline had passed")]
    Deadline { op: &'static str },
    #[error("{op}: {what} not found")]
    NotFound { op: &'static str, what: String },
}

fn code_and_message(code: &Option<String>, message: &Option<String>) -> String {
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.clone(),
        (None, Some(m)) => m.clone(),
        (None, None) => "request failed".to_owned(),
    }
}

impl GatherError {
    pub fn aws<E, R>(
        op: &'static str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        let code = err.code().map(str::to_owned);
        let message = err.message().map(str::to_owned).or_else(|| {
            // Dispatch and timeout failures carry no metadata; their chain says what happened.
            code.is_none()
                .then(|| aws_smithy_types::error::display::DisplayErrorContext(&err).to_string())
        });
        Self::Aws {
            op,
            code,
            message,
            source: Box::new(err),
        }
    }

    /// The reason recorded in `Evidence::missing`.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}
