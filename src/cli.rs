//! The operator CLI's commands. The binary only parses arguments and prints.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use serde::de::DeserializeOwned;

use crate::error::{EventError, InputError};
use crate::event::{Incoming, TaskStateChange, parse_event};
use std::time::Duration;

use crate::evidence::{Evidence, Source};
use crate::gather::{Clients, Settings, fetch_task_event, gather};
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
    /// Gather evidence from AWS (or an emulator via AWS_ENDPOINT_URL) for an event and diagnose it.
    Diagnose {
        /// An EventBridge "ECS Task State Change" event (JSON).
        #[arg(long)]
        event: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        gather: GatherArgs,
    },
    /// Re-diagnose an archived record with today's rules and show what changed.
    Replay {
        /// A record file, or s3://bucket/key of an archived record.
        record: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write the HTML report of an archived record.
    Report {
        /// A record file, or s3://bucket/key of an archived record.
        record: String,
        /// Where to write the report (default: beside a local record, as .html).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Diagnose a task that stopped within the last hour, by cluster and task id or ARN.
    Task {
        #[arg(long)]
        cluster: String,
        #[arg(long)]
        task: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        gather: GatherArgs,
    },
}

#[derive(Debug, Clone, Copy, clap::Args)]
/// Gathering limits shared by `diagnose` and `task`.
pub struct GatherArgs {
    /// Minutes of evidence before the stop.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub lookback_minutes: u32,
    /// Seconds gathering may take before a partial diagnosis is printed.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=900))]
    pub timeout_seconds: u64,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Gather(#[from] crate::error::GatherError),
    #[error("reading {uri} from S3")]
    S3 {
        uri: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Html(#[from] crate::report::HtmlError),
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
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
pub async fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Explain {
            event,
            evidence,
            format,
        } => Ok(explain(&event, evidence.as_deref(), format)?),
        Command::Diagnose {
            event,
            format,
            gather,
        } => {
            let event = read_stopped_event(&event)?;
            let clients = Clients::new(&load_aws_config().await);
            Ok(gather_and_render(&clients, &event, gather, format).await)
        }
        Command::Replay { record, format } => {
            let old = load_record(&record).await?;
            Ok(replay(&old, format))
        }
        Command::Report { record, out } => {
            let r = load_record(&record).await?;
            let html = crate::report::render_html(&r.event, &r.evidence, &r.diagnosis)?;
            let path = out.unwrap_or_else(|| {
                if record.starts_with("s3://") {
                    PathBuf::from(format!("{}.html", r.task_id))
                } else {
                    Path::new(&record).with_extension("html")
                }
            });
            std::fs::write(&path, html).map_err(|source| CliError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(format!("wrote {}", path.display()))
        }
        Command::Task {
            cluster,
            task,
            format,
            gather,
        } => {
            let clients = Clients::new(&load_aws_config().await);
            let settings = Settings::new(
                gather.lookback_minutes,
                Duration::from_secs(gather.timeout_seconds),
            );
            let event = fetch_task_event(&clients, &cluster, &task, &settings).await?;
            Ok(gather_and_render(&clients, &event, gather, format).await)
        }
    }
}

/// Reads an archive record from a file or `s3://bucket/key`.
pub async fn load_record(source: &str) -> Result<Record, CliError> {
    let Some(rest) = source.strip_prefix("s3://") else {
        return Ok(read_json(Path::new(source), "an archive record")?);
    };
    let (bucket, key) = rest.split_once('/').ok_or_else(|| CliError::S3 {
        uri: source.to_owned(),
        source: "expected s3://bucket/key".into(),
    })?;
    let s3 = crate::deliver::s3::s3_client(&load_aws_config().await);
    let s3_err = |e: Box<dyn std::error::Error + Send + Sync>| CliError::S3 {
        uri: source.to_owned(),
        source: e,
    };
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| s3_err(Box::new(e)))?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| s3_err(Box::new(e)))?
        .into_bytes();
    serde_json::from_slice(&bytes).map_err(|e| s3_err(Box::new(e)))
}

/// Today's rules on an archived incident, and what changed.
pub fn replay(old: &Record, format: Format) -> String {
    let new = diagnose(&old.event, &old.evidence);
    if format == Format::Json {
        let was = &old.diagnosis;
        return serde_json::json!({
            "task_arn": old.task_arn,
            "changed": was.cause != new.cause || was.severity != new.severity,
            "was": {"cause": was.cause, "severity": was.severity, "confidence": was.confidence, "summary": was.summary},
            "now": new,
        })
        .to_string();
    }
    let was = &old.diagnosis;
    let mut out = format!("Replay of {}\n", old.task_arn);
    let line = |label: &str, a: String, b: String| {
        if a == b {
            format!("  {label:<11} {a} (unchanged)\n")
        } else {
            format!("  {label:<11} {a} → {b}\n")
        }
    };
    out.push_str(&line("cause", was.cause.to_string(), new.cause.to_string()));
    out.push_str(&line(
        "severity",
        was.severity.to_string(),
        new.severity.to_string(),
    ));
    out.push_str(&line(
        "confidence",
        format!("{:.2}", was.confidence),
        format!("{:.2}", new.confidence),
    ));
    if was.summary != new.summary {
        out.push_str(&format!(
            "  summary was: {}\n  summary now: {}\n",
            was.summary, new.summary
        ));
    }
    for r in new
        .recommendations
        .iter()
        .filter(|r| !was.recommendations.contains(r))
    {
        out.push_str(&format!("  + {r}\n"));
    }
    for r in was
        .recommendations
        .iter()
        .filter(|r| !new.recommendations.contains(r))
    {
        out.push_str(&format!("  - {r}\n"));
    }
    out
}

/// The SDK's own configuration chain: AWS_REGION, AWS_ENDPOINT_URL, profiles, credentials.
pub async fn load_aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

async fn gather_and_render(
    clients: &Clients,
    event: &TaskStateChange,
    args: GatherArgs,
    format: Format,
) -> String {
    let settings = Settings::new(
        args.lookback_minutes,
        Duration::from_secs(args.timeout_seconds),
    );
    let evidence = gather(clients, event, &settings).await;
    report_progress(&evidence);
    let diagnosis = diagnose(event, &evidence);
    render(event, &evidence, &diagnosis, format)
}

/// One line per evidence source on a terminal; nothing when stderr is piped.
fn report_progress(evidence: &Evidence) {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return;
    }
    let present = [
        (Source::TaskDefinition, evidence.task_definition.is_some()),
        (Source::Service, evidence.service.is_some()),
        (Source::TargetHealth, evidence.target_groups.is_some()),
        (Source::Task, evidence.task.is_some()),
        (Source::Host, evidence.host.is_some()),
        (Source::Metrics, evidence.metrics.is_some()),
        (Source::Logs, evidence.logs.is_some()),
        (Source::RecentStops, evidence.recent_stops.is_some()),
        (Source::Scaling, evidence.scaling.is_some()),
        (
            Source::ScalingActivities,
            evidence.scaling_activities.is_some(),
        ),
        (Source::Capacity, evidence.capacity.is_some()),
    ];
    for (source, got) in present {
        match evidence.missing.iter().find(|m| m.source == source) {
            Some(m) => eprintln!("  ✗ {:<20} {}", source.label(), m.reason),
            None if got => eprintln!("  ✓ {}", source.label()),
            None => eprintln!("  · {:<20} not applicable", source.label()),
        }
    }
}
