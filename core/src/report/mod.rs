//! Rendering a diagnosis for people and machines: subject, SMS, plain-text email, and the JSON
//! archive record, the SNS message and the chat card. Everything here is pure: it never calls
//! AWS; `deliver` archives and publishes what it renders.

mod charts;
pub mod chat;
mod email;
mod html;
pub mod message;
mod record;
pub mod text;

use crate::diagnose::Diagnosis;
use crate::event::TaskStateChange;
use crate::evidence::{Allocation, Evidence};

pub use email::{ConsoleLinks, REPORT_LINK_NOTE, TASK_LINK_NOTE, render_email};
pub use html::{HtmlError, render_html};
pub use message::SnsMessage;
pub use record::{NotificationStatus, Record, RecordBody, SCHEMA_VERSION, StormNote};

/// "prod/web" for a service task, "prod/family:batch" for a standalone one.
pub fn scope_label(event: &TaskStateChange) -> String {
    let cluster = event.cluster_name();
    match event.service_name() {
        Some(s) => format!("{cluster}/{s}"),
        None => format!("{cluster}/{}", event.family().unwrap_or("task")),
    }
}

/// What the report's utilization figures are shares of, for its legend: the allocation each
/// figure names, or — on EC2 with no CPU reserved — the host's CPU as Container Insights counts it.
pub fn shares_note(evidence: &Evidence) -> &'static str {
    // `Reserved` is recorded only when the task definition reserves no CPU (`Allocation::of_cpu`).
    match evidence.metrics.as_ref().and_then(|m| m.task_cpu_of) {
        Some(Allocation::Reserved) => {
            "Memory is a share of the limit each figure names; CPU is a share of what Container Insights counts as reserved, which for this task (no CPU reserved) is the host's CPU."
        }
        _ => "CPU and memory are shares of the allocation each figure names, not of the host.",
    }
}

/// A key fact that only repeats the cause label is left out of the subject and the SMS.
fn has_own_key_fact(diagnosis: &Diagnosis) -> bool {
    !diagnosis.key_fact.trim().is_empty() && diagnosis.key_fact != diagnosis.cause.label()
}

/// Email subject: ASCII, one line, at most 99 characters.
pub fn render_subject(event: &TaskStateChange, diagnosis: &Diagnosis) -> String {
    let head = format!(
        "[{}] {}: {}",
        diagnosis.severity.tag(),
        scope_label(event),
        diagnosis.cause.label()
    );
    let full = if has_own_key_fact(diagnosis) {
        format!("{head} - {}", diagnosis.key_fact)
    } else {
        head
    };
    text::truncate_chars(&text::to_ascii_line(&full), text::SUBJECT_MAX)
}

/// SMS: GSM-7 safe, at most 140 characters. The verdict comes first so a cut loses detail only;
/// a link is added only when it fits whole.
pub fn render_sms(event: &TaskStateChange, diagnosis: &Diagnosis, link: Option<&str>) -> String {
    let scope = text::to_gsm7_line(&scope_label(event));
    let head = format!(
        "{} {scope} {}",
        diagnosis.severity.tag(),
        diagnosis.cause.label()
    );
    let body = text::to_gsm7_line(&if has_own_key_fact(diagnosis) {
        format!("{head}: {}", diagnosis.key_fact)
    } else {
        head
    });
    let link = link.map(text::to_gsm7_line).filter(|l| !l.is_empty());
    match link {
        Some(l) if body.chars().count() + 1 + l.chars().count() <= text::SMS_MAX => {
            format!("{body} {l}")
        }
        _ => text::truncate_chars(&body, text::SMS_MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Cause, Severity};

    fn diagnosis(key: &str) -> Diagnosis {
        Diagnosis {
            cause: Cause::OomKilled,
            severity: Severity::Critical,
            confidence: 0.9,
            summary: "s".into(),
            rule: "memory.oom_reason".into(),
            key_fact: key.into(),
            benign: false,
            container: None,
            exit_code: None,
            repeats: 0,
            findings: vec![],
            recommendations: vec![],
            timeline: vec![],
            missing: vec![],
            claims: vec![],
            posture: None,
        }
    }

    fn event(group: &str) -> TaskStateChange {
        let raw = serde_json::json!({
            "detail-type": "ECS Task State Change", "source": "aws.ecs",
            "detail": {"taskArn": "arn:aws:ecs:eu-west-1:1:task/prod/abc", "clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/prod",
                       "group": group, "lastStatus": "STOPPED"}
        });
        match crate::event::from_value(raw) {
            Ok(crate::event::Incoming::Stopped(e)) => *e,
            other => panic!("fixture did not parse: {other:?}"),
        }
    }

    #[test]
    fn subject_is_ascii_one_line_and_short() {
        let long = "x\n".repeat(200) + "—≥日本";
        let s = render_subject(&event("service:web"), &diagnosis(&long));
        assert!(s.len() <= SUBJECT_MAX_FOR_TEST);
        assert!(s.is_ascii());
        assert!(!s.contains('\n') && !s.contains('\r'));
        assert!(s.starts_with("[CRIT] prod/web: OOM-killed - x x"));
    }

    const SUBJECT_MAX_FOR_TEST: usize = 99;

    #[test]
    fn sms_keeps_the_verdict_and_drops_a_link_that_does_not_fit() {
        let d = diagnosis("mem 100% of 512MiB, leak +12.0 MiB/min. 3rd in 1h");
        let e = event("service:web");
        let with_short = render_sms(&e, &d, Some("https://x.io/a"));
        assert!(with_short.ends_with("https://x.io/a"), "{with_short}");
        let long_link = format!("https://example.com/{}", "a".repeat(200));
        let without = render_sms(&e, &d, Some(&long_link));
        assert!(!without.contains("https"));
        assert!(without.starts_with("CRIT prod/web OOM-killed: mem 100% of 512MiB"));
        assert!(without.chars().count() <= 140);
    }

    #[test]
    fn a_key_fact_that_repeats_the_cause_is_said_once() {
        let e = event("service:web");
        let d = diagnosis("OOM-killed");
        assert_eq!(render_sms(&e, &d, None), "CRIT prod/web OOM-killed");
        assert_eq!(render_subject(&e, &d), "[CRIT] prod/web: OOM-killed");
    }
}
