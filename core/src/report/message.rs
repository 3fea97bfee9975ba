//! The SNS message, rendered here and published by `deliver::sns`: `MessageStructure=json` with
//! a plain `default`, the full `email` report, a ≤ 140-character GSM-7 `sms`, the JSON record for
//! `sqs` and `lambda` (the identifiers and the whole verdict; the event and the evidence stay in
//! the archive under its `archive_key`), and for `https` the Amazon Q Developer custom
//! notification that Slack and Teams channels render ([`super::chat`]); a ≤ 99-character ASCII
//! subject; String attributes for subscription filter policies.
//!
//! The whole message stays under SNS's 256 KB. The chat form is bounded by its own limits
//! (a few tens of KB at most), so when the message would not fit, the email loses log lines,
//! then its tail, and last the JSON form keeps only the verdict's headline (cause, severity,
//! confidence, summary, recommendations) and the identifiers — never less.

use super::text::truncate_bytes;
use super::{ConsoleLinks, Record, chat, render_email, render_sms, render_subject};
use crate::diagnose::Diagnosis;

/// SNS accepts 262,144 bytes for message and attributes together; keep room for attributes.
pub const MESSAGE_BUDGET: usize = 250_000;

#[derive(Debug, Clone, PartialEq)]
pub struct SnsMessage {
    pub subject: String,
    /// The JSON document sent with `MessageStructure=json`.
    pub message: String,
    pub attributes: Vec<(&'static str, String)>,
    pub sms: String,
}

/// Trimming steps, applied in order until the message fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Trim {
    /// Where every message starts: the JSON form is the verdict (`Record::queue_json`); the
    /// event and the evidence stay in the archive under `archive_key`.
    Full,
    ShortEmailLogs,
    CutEmail,
    /// The JSON form keeps only the verdict's headline and the identifiers.
    MinimalJson,
}

fn storm_line(record: &Record) -> Option<String> {
    let s = record.storm.as_ref()?;
    (s.suppressed > 0).then(|| {
        let who = record
            .service
            .as_deref()
            .or(record.family.as_deref())
            .unwrap_or("this task family");
        let minutes = record
            .stopped_at
            .map(|at| (at - s.since).num_minutes().max(1))
            .unwrap_or(0);
        format!(
            "{} {} stops of {who} in {minutes} min ({} archived without a notification).",
            s.suppressed + 1,
            record.diagnosis.cause.label(),
            s.suppressed
        )
    })
}

/// The document `MessageStructure=json` takes: a text per protocol. Borrowed, so the forms (tens
/// of KB) are escaped into the message once and never copied into a `Value` first.
#[derive(serde::Serialize)]
struct Structure<'a> {
    default: &'a str,
    email: &'a str,
    https: &'a str,
    lambda: &'a str,
    sms: &'a str,
    sqs: &'a str,
}

fn json_form(record: &Record, record_key: Option<&str>, trim: Trim) -> String {
    if trim >= Trim::MinimalJson {
        let d = &record.diagnosis;
        return serde_json::json!({
            "schema_version": record.schema_version,
            "task_arn": record.task_arn,
            "cluster": record.cluster,
            "service": record.service,
            "stopped_at": record.stopped_at,
            "notified": record.notified,
            "archive_key": record_key,
            "truncated": true,
            "diagnosis": {
                "cause": d.cause,
                "severity": d.severity,
                "confidence": d.confidence,
                "summary": d.summary,
                "recommendations": d.recommendations,
            },
        })
        .to_string();
    }
    record
        .queue_json(record_key)
        .unwrap_or_else(|_| "{}".to_owned())
}

fn email_form(
    record: &Record,
    links: &ConsoleLinks,
    report_link: Option<&str>,
    trim: Trim,
) -> String {
    // Only a shortened email needs its own copy of the log tails.
    let mut evidence = std::borrow::Cow::Borrowed(&record.evidence);
    if trim >= Trim::ShortEmailLogs
        && let Some(logs) = evidence.to_mut().logs.as_mut()
    {
        for tail in logs.iter_mut() {
            let skip = tail.lines.len().saturating_sub(5);
            tail.lines.drain(..skip);
            for line in tail.lines.iter_mut() {
                if line.message.len() > 200 {
                    line.message = format!("{}…", truncate_bytes(&line.message, 200));
                }
            }
        }
    }
    let mut text = String::new();
    if let Some(line) = storm_line(record) {
        text.push_str(&line);
        text.push_str("\n\n");
    }
    text.push_str(&render_email(
        &record.event,
        &evidence,
        &record.diagnosis,
        links,
        report_link,
    ));
    text
}

fn default_form(record: &Record, d: &Diagnosis, report_link: Option<&str>) -> String {
    let mut s = format!(
        "{} {}: {} (confidence {:.0}%). {}",
        d.severity.tag(),
        super::scope_label(&record.event),
        d.cause.label(),
        d.confidence * 100.0,
        d.summary
    );
    if let Some(first) = d.recommendations.first() {
        s.push_str(" Do: ");
        s.push_str(first);
    }
    if let Some(l) = report_link {
        s.push_str(" Report: ");
        s.push_str(l);
    }
    s
}

fn assemble(
    record: &Record,
    record_key: Option<&str>,
    links: &ConsoleLinks,
    report_link: Option<&str>,
    sms: &str,
    chat: &str,
    trim: Trim,
) -> String {
    let json = json_form(record, record_key, trim);
    let mut email = email_form(record, links, report_link, trim);
    let default = default_form(record, &record.diagnosis, report_link);
    let build = |email: &str| {
        serde_json::to_string(&Structure {
            default: &default,
            email,
            https: chat,
            lambda: &json,
            sms,
            sqs: &json,
        })
        .unwrap_or_else(|_| "{}".to_owned())
    };
    let mut message = build(&email);
    if trim >= Trim::CutEmail && message.len() > MESSAGE_BUDGET {
        // The verdict comes first in the email, so cutting its end loses only detail.
        let over = message.len() - MESSAGE_BUDGET;
        let keep = email.len().saturating_sub(over + 64);
        email = format!(
            "{}\n[report shortened to fit SNS's size limit]",
            truncate_bytes(&email, keep)
        );
        message = build(&email);
    }
    message
}

/// Builds the notification for a record that is not (yet) archived: the chat form then carries
/// no record key.
pub fn build(record: &Record, report_link: Option<&str>) -> SnsMessage {
    build_archived(record, None, report_link)
}

/// Builds the notification for the record archived under `record_key`.
pub fn build_archived(
    record: &Record,
    record_key: Option<&str>,
    report_link: Option<&str>,
) -> SnsMessage {
    let links = ConsoleLinks::for_event(&record.event);
    let d = &record.diagnosis;
    let mut sms = render_sms(&record.event, d, None);
    if let Some(s) = record.storm.as_ref().filter(|s| s.suppressed > 0) {
        let with = format!("{sms}. +{} more", s.suppressed);
        if with.chars().count() <= super::text::SMS_MAX {
            sms = with;
        }
    }
    let storm = storm_line(record);
    let chat = serde_json::to_string(&chat::render(
        record,
        record_key,
        report_link,
        storm.as_deref(),
    ))
    .unwrap_or_else(|_| "{}".to_owned());
    let mut message = String::new();
    // The event and the evidence are most of a record and what a queue consumer least needs (it
    // reads the archive under `archive_key`, and replay reads the archive): leaving them out of
    // the queue form, which SNS carries twice (`sqs`, `lambda`), cuts what Publish's request
    // signing hashes and what its form encoding escapes (BENCHMARKS.md).
    for trim in [
        Trim::Full,
        Trim::ShortEmailLogs,
        Trim::CutEmail,
        Trim::MinimalJson,
    ] {
        message = assemble(record, record_key, &links, report_link, &sms, &chat, trim);
        if message.len() <= MESSAGE_BUDGET {
            break;
        }
    }
    let service = record.service.clone().unwrap_or_else(|| "none".to_owned());
    SnsMessage {
        subject: render_subject(&record.event, d),
        message,
        attributes: vec![
            ("cause", d.cause.as_str().to_owned()),
            ("severity", d.severity.as_str().to_owned()),
            ("cluster", non_empty(&record.cluster)),
            ("service", non_empty(&service)),
        ],
        sms,
    }
}

/// SNS rejects empty attribute values.
fn non_empty(s: &str) -> String {
    if s.trim().is_empty() {
        "none".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{ContainerLogTail, Evidence, LogLine};

    fn oversized_record() -> Record {
        let raw = serde_json::json!({
            "detail-type": "ECS Task State Change", "source": "aws.ecs",
            "account": "123456789012", "region": "eu-west-1",
            "detail": {"taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/abc",
                       "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                       "group": "service:web", "lastStatus": "STOPPED",
                       "stoppedReason": "é".repeat(5000)}
        });
        let event = match crate::event::from_value(raw) {
            Ok(crate::event::Incoming::Stopped(e)) => *e,
            other => panic!("fixture did not parse: {other:?}"),
        };
        let evidence = Evidence {
            logs: Some(vec![ContainerLogTail {
                container: "web".into(),
                lines: (0..2000)
                    .map(|_| LogLine {
                        at: None,
                        message: "x".repeat(2000),
                    })
                    .collect(),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let diagnosis = crate::diagnose(&event, &evidence);
        Record::new(&event, &evidence, &diagnosis)
    }

    #[test]
    fn the_chat_form_survives_every_trim_and_the_message_fits() {
        let record = oversized_record();

        let n = build_archived(&record, Some("incidents/k.json"), Some("https://x/r"));

        assert!(n.message.len() <= MESSAGE_BUDGET, "{}", n.message.len());
        let v: serde_json::Value = serde_json::from_str(&n.message).expect("JSON structure");
        let chat: serde_json::Value =
            serde_json::from_str(v["https"].as_str().expect("https is a string")).expect("JSON");
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        assert_eq!(
            chat["metadata"]["additionalContext"]["record"],
            "incidents/k.json"
        );
        let record_form: serde_json::Value =
            serde_json::from_str(v["sqs"].as_str().expect("sqs is a string")).expect("JSON");
        assert_eq!(record_form["task_arn"], record.task_arn);
        assert_eq!(v["sqs"], v["lambda"]);
    }
}
