//! The operator CLI's commands. The binary only parses arguments and prints.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use serde::de::DeserializeOwned;

use crate::error::{EventError, InputError};
use crate::event::{Incoming, TaskStateChange, parse_event};
use crate::evidence::Evidence;
use crate::report::{ConsoleLinks, Record, render_email, render_sms, render_subject};
use crate::{Diagnosis, diagnose};

#[derive(Debug, Parser)]
#[command(
    name = "ecs-autopsy",
    version,
    about = "Explains why an Amazon ECS task stopped"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Diagnose a stop offline from an event file (and optional evidence), with no AWS calls.
    Explain {
        /// An EventBridge "ECS Task State Change" event (JSON).
        #[arg(long)]
        event: PathBuf,
        /// Gathered evidence (JSON, the `evidence` object of an archive record).
        #[arg(long)]
        evidence: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The email report, with its subject and SMS first.
    Text,
    /// The archive record, one line of JSON.
    Json,
}

/// Reads a JSON file, reporting the file, line and column of a mistake.
pub fn read_json<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, InputError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|source| InputError::Json {
        path: path.to_owned(),
        line: source.line(),
        column: source.column(),
        what,
        source,
    })
}

fn read_text(path: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads an event file that must hold a stopped task.
pub fn read_stopped_event(path: &Path) -> Result<TaskStateChange, InputError> {
    let text = read_text(path)?;
    match parse_event(&text) {
        Ok(Incoming::Stopped(e)) => Ok(*e),
        Ok(Incoming::Ignored(reason)) => Err(InputError::NotActionable {
            path: path.to_owned(),
            reason: format!("nothing to diagnose: {reason}"),
        }),
        Err(EventError::Json(source)) => Err(InputError::Json {
            path: path.to_owned(),
            line: source.line(),
            column: source.column(),
            what: "an EventBridge ECS Task State Change event",
            source,
        }),
        Err(source) => Err(InputError::Event {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `explain`: the rendered report for an event and its evidence.
pub fn explain(
    event_path: &Path,
    evidence_path: Option<&Path>,
    format: Format,
) -> Result<String, InputError> {
    let event = read_stopped_event(event_path)?;
    let evidence: Evidence = match evidence_path {
        Some(p) => read_json(p, "an evidence object")?,
        None => Evidence::default(),
    };
    let diagnosis = diagnose(&event, &evidence);
    Ok(render(&event, &evidence, &diagnosis, format))
}

pub fn render(
    event: &TaskStateChange,
    evidence: &Evidence,
    diagnosis: &Diagnosis,
    format: Format,
) -> String {
    match format {
        Format::Json => Record::new(event, evidence, diagnosis)
            .to_json_line()
            // Serializing plain data with string keys cannot fail; keep a readable fallback.
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
        Format::Text => {
            let links = ConsoleLinks::for_event(event);
            format!(
                "Subject: {}\nSMS:     {}\n\n{}",
                render_subject(event, diagnosis),
                render_sms(event, diagnosis, None),
                render_email(event, evidence, diagnosis, &links, None)
            )
        }
    }
}

/// Runs a parsed command line and returns what to print.
pub fn run(cli: Cli) -> Result<String, InputError> {
    match cli.command {
        Command::Explain {
            event,
            evidence,
            format,
        } => explain(&event, evidence.as_deref(), format),
    }
}
