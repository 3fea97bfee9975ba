//! The plain-text report: what happened, why, the evidence, what to do, the timeline, the log
//! tail, and what could not be read.

use std::fmt::Write as _;

use crate::diagnose::{Bearing, Diagnosis};
use crate::event::TaskStateChange;
use crate::evidence::Evidence;

/// Log lines shown in the email, per container.
const EMAIL_LOG_LINES: usize = 20;
/// Longest log line shown, in characters.
const EMAIL_LOG_LINE_CHARS: usize = 300;

/// AWS console deep links for the task, its service events and its metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsoleLinks {
    pub task: Option<String>,
    pub service_events: Option<String>,
    pub service_metrics: Option<String>,
}

impl ConsoleLinks {
    pub fn for_event(event: &TaskStateChange) -> Self {
        let Some(region) = event.region_name() else {
            return Self::default();
        };
        let base = format!("https://{region}.console.aws.amazon.com/ecs/v2/clusters");
        let cluster = url_segment(event.cluster_name());
        let task = Some(format!(
            "{base}/{cluster}/tasks/{}/configuration?region={region}",
            url_segment(event.task_id())
        ));
        let (events, metrics) = match event.service_name() {
            Some(s) => {
                let s = url_segment(s);
                (
                    Some(format!(
                        "{base}/{cluster}/services/{s}/events?region={region}"
                    )),
                    Some(format!(
                        "{base}/{cluster}/services/{s}/health?region={region}"
                    )),
                )
            }
            None => (None, None),
        };
        Self {
            task,
            service_events: events,
            service_metrics: metrics,
        }
    }
}

/// Percent-encodes everything but unreserved characters.
fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Renders the full plain-text report. `report_link` is the archived HTML report, when there is one.
pub fn render_email(
    event: &TaskStateChange,
    evidence: &Evidence,
    diagnosis: &Diagnosis,
    links: &ConsoleLinks,
    report_link: Option<&str>,
) -> String {
    let d = &event.detail;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} — {} ({}), confidence {:.0}%",
        diagnosis.severity.as_str().to_uppercase(),
        diagnosis.cause.label(),
        diagnosis.cause.as_str(),
        diagnosis.confidence * 100.0
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "Cluster:   {}", event.cluster_name());
    match event.service_name() {
        Some(svc) => {
            let _ = writeln!(s, "Service:   {svc}");
        }
        None => {
            let _ = writeln!(
                s,
                "Task:      standalone ({})",
                d.group.as_deref().unwrap_or("no group")
            );
        }
    }
    let _ = writeln!(s, "Task ARN:  {}", d.task_arn);
    if let Some(td) = d.task_definition_arn.as_deref() {
        let _ = writeln!(s, "Task def:  {}", td.rsplit('/').next().unwrap_or(td));
    }
    let launch = d
        .capacity_provider_name
        .as_deref()
        .or(d.launch_type.as_ref().map(|l| l.as_str()))
        .unwrap_or("unknown");
    let _ = writeln!(s, "Launch:    {launch}");
    if let Some(at) = d.stopped_at {
        let ran = d
            .started_at
            .map(|st| format!(" after running {}", human_duration((at - st).num_seconds())))
            .unwrap_or_default();
        let _ = writeln!(s, "Stopped:   {}{ran}", at.format("%Y-%m-%d %H:%M:%S UTC"));
    }
    if !diagnosis.rule.is_empty() {
        let _ = writeln!(s, "Rule:      {}", diagnosis.rule);
    }
    if diagnosis.repeats > 0 {
        let _ = writeln!(
            s,
            "Repeats:   {} earlier stop(s) of this service with a related cause in the last hour",
            diagnosis.repeats
        );
    }

    section(&mut s, "WHAT HAPPENED");
    let _ = writeln!(s, "{}", diagnosis.summary);

    section(&mut s, "EVIDENCE");
    for f in &diagnosis.findings {
        let mark = match f.bearing {
            Bearing::Supports => "+",
            Bearing::RulesOut => "-",
            Bearing::Context => "·",
        };
        let _ = write!(s, " {mark} {}: {}", f.signal, f.observed);
        if let Some(t) = f.threshold.as_deref() {
            let _ = write!(s, "  [{t}]");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "   (+ points to the verdict, - rules a reading out, · context. {})",
        super::shares_note(evidence)
    );

    section(&mut s, "WHAT TO DO");
    if diagnosis.recommendations.is_empty() {
        let _ = writeln!(s, "Nothing: this stop needs no action.");
    }
    for (i, r) in diagnosis.recommendations.iter().enumerate() {
        let _ = writeln!(s, "{}. {r}", i + 1);
    }

    let posture = diagnosis
        .posture
        .as_ref()
        .map(|p| p.rows())
        .unwrap_or_default();
    if !posture.is_empty() {
        section(&mut s, "SCALING AND LOG VOLUME");
        for (label, value) in &posture {
            let _ = writeln!(s, "{label}: {value}");
        }
    }

    if !diagnosis.timeline.is_empty() {
        section(&mut s, "TIMELINE (UTC)");
        for e in &diagnosis.timeline {
            let _ = writeln!(s, "{}  {:<8} {}", e.at.format("%H:%M:%S"), e.source, e.text);
        }
    }

    for tail in evidence.logs.iter().flatten() {
        if tail.lines.is_empty() {
            continue;
        }
        section(&mut s, &format!("LAST LOG LINES ({})", tail.container));
        let skip = tail.lines.len().saturating_sub(EMAIL_LOG_LINES);
        for line in tail.lines.iter().skip(skip) {
            let at = line
                .at
                .map(|t| t.format("%H:%M:%S ").to_string())
                .unwrap_or_default();
            let msg: String = line
                .message
                .chars()
                .filter(|c| !c.is_control() || *c == '\t')
                .take(EMAIL_LOG_LINE_CHARS)
                .collect();
            let _ = writeln!(s, "{at}{msg}");
        }
    }

    if !diagnosis.missing.is_empty() {
        section(&mut s, "EVIDENCE THAT COULD NOT BE READ");
        for m in &diagnosis.missing {
            let _ = writeln!(s, " - {m}");
        }
    }

    let link_lines: Vec<(&str, &str)> = [
        ("Full report", report_link),
        ("Task", links.task.as_deref()),
        ("Service events", links.service_events.as_deref()),
        ("Service metrics", links.service_metrics.as_deref()),
    ]
    .into_iter()
    .filter_map(|(label, url)| url.map(|u| (label, u)))
    .collect();
    if !link_lines.is_empty() {
        section(&mut s, "LINKS");
        for (label, url) in link_lines {
            let _ = writeln!(s, "{label}: {url}");
        }
        if report_link.is_some() {
            // S3 ends a presigned link when the credentials that signed it expire, whatever
            // expiry it asks for; a Lambda role's credentials last hours.
            s.push_str(REPORT_LINK_NOTE);
            s.push('\n');
        }
        if links.task.is_some() {
            s.push_str(TASK_LINK_NOTE);
            s.push('\n');
        }
    }
    s
}

/// How long the console's task page lasts: ECS lists a stopped task "for at least one hour"
/// (AWS knowledge center, "troubleshoot Amazon ECS tasks stopping"), then DescribeTasks and the
/// console no longer find it.
pub const TASK_LINK_NOTE: &str = "(ECS keeps a stopped task for at least an hour, not for good: later the Task link finds nothing, and this report is what is left of it.)";

/// What the report link's lifetime really is.
pub const REPORT_LINK_NOTE: &str = "(The report link is presigned: it works for at most 7 days and no longer than the credentials that signed it, which for the function's role is usually a few hours. The report itself stays in the archive beside the record.)";

fn section(s: &mut String, title: &str) {
    let _ = writeln!(s);
    let _ = writeln!(s, "{title}");
    let _ = writeln!(s, "{}", "-".repeat(title.chars().count()));
}

fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    if seconds < 60 {
        format!("{seconds} s")
    } else if seconds < 3600 {
        format!("{} min", seconds / 60)
    } else if seconds < 86_400 {
        format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60)
    } else {
        format!("{} d {} h", seconds / 86_400, (seconds % 86_400) / 3600)
    }
}
