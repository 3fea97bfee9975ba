//! The `https` form of the SNS message: an Amazon Q Developer in chat applications (formerly
//! AWS Chatbot) custom notification, which is what a Slack or Microsoft Teams channel subscribed
//! to the topic renders. Anything else on that endpoint is dropped without a word.
//!
//! Schema (custom notifications, "Event schema" and "Parameter details"): `version` "1.0" and
//! `source` "custom" are required; `content` carries `textType` ("client-markdown" is the only
//! one), `title`, `description`, `nextSteps`, `keywords`; `metadata` carries `threadId`,
//! `summary`, `eventType`, `relatedResources`, `additionalContext`. The documented lengths are
//! enforced here (title 250, description 8,000, each next step 350, each keyword 75 characters);
//! the counts and the bounds of the other fields are ours, chosen so a card stays readable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Record;
use super::text::truncate_chars;
use crate::diagnose::Bearing;

/// Documented limits of the custom notification, in characters.
pub const TITLE_MAX: usize = 250;
pub const DESCRIPTION_MAX: usize = 8_000;
pub const NEXT_STEP_MAX: usize = 350;
pub const KEYWORD_MAX: usize = 75;

/// Our bounds: a card with more than this many steps or tags is not read.
pub const NEXT_STEPS_COUNT: usize = 5;
pub const KEYWORDS_COUNT: usize = 6;
pub const RELATED_RESOURCES_COUNT: usize = 5;
/// Our bounds for fields the documentation gives no length: a thread id, the one-line summary
/// shown on a thread's top message, and custom-action-friendly identifiers.
pub const THREAD_ID_MAX: usize = 128;
pub const SUMMARY_MAX: usize = 250;
pub const ID_MAX: usize = 128;
/// Custom action attachments match `NotificationType` against `[a-zA-Z0-9-]{1,100}`, so the
/// event type is kept to that alphabet and length for buttons to attach to it.
pub const EVENT_TYPE_MAX: usize = 100;
/// A presigned link longer than this is left out rather than cut (a cut link is a broken one).
pub const CONTEXT_VALUE_MAX: usize = 4_096;

/// Findings quoted in the description.
const TOP_FINDINGS: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatNotification {
    pub version: String,
    pub source: String,
    pub id: String,
    pub content: ChatContent,
    pub metadata: ChatMetadata,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatContent {
    pub text_type: String,
    pub title: String,
    pub description: String,
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMetadata {
    pub thread_id: String,
    pub summary: String,
    pub event_type: String,
    pub related_resources: Vec<String>,
    pub additional_context: BTreeMap<String, String>,
}

/// Text from the event or the evidence, made inert in chat markdown: `<…>` would be a link or a
/// `<!channel>` broadcast, `@` a mention. Line breaks fold to spaces.
fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last_space = false;
    for c in text.chars() {
        let piece = match c {
            '<' => '‹',
            '>' => '›',
            '@' => '＠',
            '`' => '\'',
            c if c.is_whitespace() || c.is_control() => ' ',
            c => c,
        };
        if piece == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(piece);
            last_space = false;
        }
    }
    out.trim().to_owned()
}

/// FNV-1a: a stable 64-bit digest (std's hasher may change between releases, and thread ids must
/// not).
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn id_segment(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The scope a storm and a crash loop share: the service, or the family of a standalone task.
fn scope(record: &Record) -> String {
    record
        .service
        .clone()
        .or_else(|| record.family.clone().map(|f| format!("family:{f}")))
        .unwrap_or_else(|| "none".to_owned())
}

/// One thread per account, cluster, service and cause: every message of a storm or a crash loop
/// lands in it. Readable when it fits, else its head and a digest of the whole (still stable).
pub fn thread_id(record: &Record) -> String {
    let full = format!(
        "ecs-autopsy/{}/{}/{}/{}",
        id_segment(record.account.as_deref().unwrap_or("-")),
        id_segment(&record.cluster),
        id_segment(&scope(record)),
        record.diagnosis.cause.as_str()
    );
    if full.len() <= THREAD_ID_MAX {
        return full;
    }
    let digest = format!("-{:016x}", fnv1a(&full));
    format!("{}{digest}", &full[..THREAD_ID_MAX - digest.len()])
}

fn event_type(record: &Record) -> String {
    let t = format!(
        "ecs-task-stopped-{}",
        record.diagnosis.cause.as_str().replace('_', "-")
    );
    t.chars().take(EVENT_TYPE_MAX).collect()
}

fn service_arn(record: &Record) -> Option<String> {
    let cluster_arn = record.event.detail.cluster_arn.as_deref()?;
    let (head, cluster) = cluster_arn.split_once(":cluster/")?;
    Some(format!(
        "{head}:service/{cluster}/{}",
        record.service.as_deref()?
    ))
}

/// "source: reason" entries with one reason said once for all its sources (a role that cannot be
/// assumed fails every source alike).
fn missing_line(missing: &[String]) -> String {
    let mut groups: Vec<(Vec<&str>, &str)> = Vec::new();
    for m in missing {
        let (source, reason) = m.split_once(": ").unwrap_or((m.as_str(), ""));
        match groups.iter_mut().find(|(_, r)| *r == reason) {
            Some((sources, _)) => sources.push(source),
            None => groups.push((vec![source], reason)),
        }
    }
    groups
        .iter()
        .map(|(sources, reason)| {
            let who = sources.join(", ");
            if reason.is_empty() {
                inert(&who)
            } else {
                inert(&format!("{who}: {reason}"))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn description(record: &Record, storm_line: Option<&str>) -> String {
    let d = &record.diagnosis;
    let mut lines = Vec::new();
    if let Some(storm) = storm_line {
        lines.push(format!("*{}*", inert(storm)));
    }
    lines.push(inert(&d.summary));
    let mut facts = vec![format!("confidence {:.0}%", d.confidence * 100.0)];
    if !d.key_fact.trim().is_empty() && d.key_fact != d.cause.label() {
        facts.insert(0, inert(&d.key_fact));
    }
    if let Some(c) = d.container.as_deref() {
        facts.push(format!("container {}", inert(c)));
    }
    if let Some(code) = d.exit_code {
        facts.push(format!("exit code {code}"));
    }
    if d.repeats > 0 {
        facts.push(format!(
            "{} earlier stops like it within the hour",
            d.repeats
        ));
    }
    lines.push(format!("*Key numbers:* {}", facts.join(" · ")));
    let mut findings = d
        .findings
        .iter()
        .filter(|f| f.bearing != Bearing::Context)
        .chain(d.findings.iter().filter(|f| f.bearing == Bearing::Context))
        .take(TOP_FINDINGS)
        .peekable();
    if findings.peek().is_some() {
        lines.push("*Evidence:*".to_owned());
        for f in findings {
            let mark = match f.bearing {
                Bearing::Supports => "supports",
                Bearing::RulesOut => "rules out",
                Bearing::Context => "context",
            };
            let threshold = f
                .threshold
                .as_deref()
                .map(|t| format!(" (threshold {})", inert(t)))
                .unwrap_or_default();
            lines.push(format!(
                "• {}: {}{threshold} — {mark}",
                inert(&f.signal),
                inert(&f.observed)
            ));
        }
    }
    if !d.missing.is_empty() {
        lines.push(format!("*Not read:* {}", missing_line(&d.missing)));
    }
    let mut where_ = vec![format!("task {}", inert(&record.task_id))];
    if let Some(a) = record.account.as_deref() {
        where_.push(format!("account {}", inert(a)));
    }
    if let Some(r) = record.region.as_deref() {
        where_.push(format!("region {}", inert(r)));
    }
    lines.push(where_.join(" · "));
    truncate_chars(&lines.join("\n"), DESCRIPTION_MAX)
}

/// The custom notification for an archived record. `record_key` is the S3 key of the record,
/// `report_link` the presigned link of its HTML report.
pub fn render(
    record: &Record,
    record_key: Option<&str>,
    report_link: Option<&str>,
    storm_line: Option<&str>,
) -> ChatNotification {
    let d = &record.diagnosis;
    let scope_label = super::scope_label(&record.event);
    let head = format!(
        "[{}] {}: {}",
        d.severity.tag(),
        scope_label,
        d.cause.label()
    );
    let title = if !d.key_fact.trim().is_empty() && d.key_fact != d.cause.label() {
        format!("{head} — {}", d.key_fact)
    } else {
        head.clone()
    };
    let next_steps = d
        .recommendations
        .iter()
        .map(|r| truncate_chars(&inert(r), NEXT_STEP_MAX))
        .filter(|r| !r.is_empty())
        .take(NEXT_STEPS_COUNT)
        .collect();
    let mut keywords = vec![
        d.cause.as_str().to_owned(),
        d.severity.as_str().to_owned(),
        record.cluster.clone(),
        scope(record),
    ];
    if let Some(a) = record.account.as_deref() {
        keywords.push(a.to_owned());
    }
    let keywords = keywords
        .iter()
        .map(|k| truncate_chars(&inert(k), KEYWORD_MAX))
        .filter(|k| !k.is_empty())
        .take(KEYWORDS_COUNT)
        .collect();
    let related_resources = [
        Some(record.task_arn.clone()),
        service_arn(record),
        record.event.detail.task_definition_arn.clone(),
        record.event.detail.cluster_arn.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|arn| !arn.is_empty())
    .take(RELATED_RESOURCES_COUNT)
    .collect();
    let mut context = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() && v.chars().count() <= CONTEXT_VALUE_MAX {
            context.insert(k.to_owned(), v.to_owned());
        }
    };
    if let Some(key) = record_key {
        put("record", key);
    }
    if let Some(link) = report_link {
        put("report", link);
    }
    put("cause", d.cause.as_str());
    put("severity", d.severity.as_str());
    put("confidence", &format!("{:.2}", d.confidence));
    if let Some(a) = record.account.as_deref() {
        put("account", a);
    }
    if let Some(r) = record.region.as_deref() {
        put("region", r);
    }
    let mut description = description(record, storm_line);
    if let Some(link) = report_link.filter(|l| l.chars().count() <= CONTEXT_VALUE_MAX) {
        // The link syntax of the documentation's own samples; it fits only when whole.
        let with = format!("{description}\n<{link}|Full report>");
        if with.chars().count() <= DESCRIPTION_MAX {
            description = with;
        }
    }
    ChatNotification {
        version: "1.0".to_owned(),
        source: "custom".to_owned(),
        id: truncate_chars(&id_segment(&record.task_id), ID_MAX),
        content: ChatContent {
            text_type: "client-markdown".to_owned(),
            title: truncate_chars(&inert(&title), TITLE_MAX),
            description,
            next_steps,
            keywords,
        },
        metadata: ChatMetadata {
            thread_id: thread_id(record),
            summary: truncate_chars(&inert(&head), SUMMARY_MAX),
            event_type: event_type(record),
            related_resources,
            additional_context: context,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Cause, Diagnosis, Finding, Severity};

    fn record(service: &str, cause: Cause) -> Record {
        let raw = serde_json::json!({
            "detail-type": "ECS Task State Change", "source": "aws.ecs",
            "account": "210987654321", "region": "us-east-1",
            "detail": {"taskArn": "arn:aws:ecs:us-east-1:210987654321:task/prod/abc123",
                       "clusterArn": "arn:aws:ecs:us-east-1:210987654321:cluster/prod",
                       "taskDefinitionArn": "arn:aws:ecs:us-east-1:210987654321:task-definition/web:3",
                       "group": format!("service:{service}"), "lastStatus": "STOPPED"}
        });
        let event = match crate::event::from_value(raw) {
            Ok(crate::event::Incoming::Stopped(e)) => *e,
            other => panic!("fixture did not parse: {other:?}"),
        };
        let diagnosis = Diagnosis {
            cause,
            severity: Severity::Critical,
            confidence: 0.9,
            summary: "The container <web> hit its limit @here".into(),
            key_fact: "mem 100% of 512MiB".into(),
            benign: false,
            container: Some("web".into()),
            exit_code: Some(137),
            repeats: 2,
            findings: vec![Finding::supports("memory", "100% of 512 MiB")],
            recommendations: vec!["Raise the memory limit".into(); 9],
            timeline: vec![],
            missing: vec![],
            rule: "memory.oom_reason".into(),
            posture: None,
            claims: vec![],
        };
        Record::new(&event, &Default::default(), &diagnosis)
    }

    #[test]
    fn chat_form_carries_the_required_fields_and_the_verdict() {
        let r = record("web", Cause::OomKilled);

        let n = render(&r, Some("incidents/k.json"), Some("https://x/r"), None);

        assert_eq!((n.version.as_str(), n.source.as_str()), ("1.0", "custom"));
        assert_eq!(n.content.text_type, "client-markdown");
        assert!(n.content.title.starts_with("[CRIT] prod/web: OOM-killed"));
        assert!(n.content.description.contains("exit code 137"));
        assert!(n.content.description.contains("<https://x/r|Full report>"));
        assert_eq!(n.content.next_steps.len(), NEXT_STEPS_COUNT);
        assert_eq!(
            n.content.keywords,
            ["oom_killed", "critical", "prod", "web", "210987654321"]
        );
        assert_eq!(
            n.metadata
                .additional_context
                .get("record")
                .map(String::as_str),
            Some("incidents/k.json")
        );
        assert!(
            n.metadata
                .related_resources
                .contains(&"arn:aws:ecs:us-east-1:210987654321:service/prod/web".to_owned())
        );
        assert_eq!(n.metadata.event_type, "ecs-task-stopped-oom-killed");
    }

    #[test]
    fn text_from_the_evidence_cannot_mention_or_link() {
        let r = record("web", Cause::OomKilled);

        let n = render(&r, None, None, None);

        assert!(!n.content.description.contains("@here"));
        assert!(!n.content.description.contains("<web>"));
        assert!(n.content.description.contains("‹web›"));
    }

    #[test]
    fn every_documented_length_holds_for_oversized_input() {
        let long = "é".repeat(20_000);
        let mut r = record(&"s".repeat(300), Cause::AppCrashed);
        r.diagnosis.summary = long.clone();
        r.diagnosis.key_fact = long.clone();
        r.diagnosis.recommendations = vec![long.clone(); 3];
        r.cluster = "c".repeat(300);

        let n = render(&r, Some(&long), Some(&long), Some(&long));

        assert!(n.content.title.chars().count() <= TITLE_MAX);
        assert!(n.content.description.chars().count() <= DESCRIPTION_MAX);
        assert!(
            n.content
                .next_steps
                .iter()
                .all(|s| s.chars().count() <= NEXT_STEP_MAX)
        );
        assert!(
            n.content
                .keywords
                .iter()
                .all(|k| k.chars().count() <= KEYWORD_MAX)
        );
        assert!(n.metadata.thread_id.len() <= THREAD_ID_MAX);
        assert!(n.metadata.summary.chars().count() <= SUMMARY_MAX);
        // A link too long to keep whole is left out, never cut.
        assert!(!n.metadata.additional_context.contains_key("report"));
    }

    #[test]
    fn one_reason_for_many_sources_is_said_once() {
        let missing = [
            "task definition: could not assume R".to_owned(),
            "service events: could not assume R".to_owned(),
            "container logs: timed out".to_owned(),
        ];

        assert_eq!(
            missing_line(&missing),
            "task definition, service events: could not assume R; container logs: timed out"
        );
    }

    #[test]
    fn thread_id_is_one_per_account_cluster_service_and_cause() {
        let a = record("web", Cause::OomKilled);
        let mut other_task = record("web", Cause::OomKilled);
        other_task.task_arn = "arn:aws:ecs:us-east-1:210987654321:task/prod/zzz".into();
        let mut other_account = record("web", Cause::OomKilled);
        other_account.account = Some("111111111111".into());

        assert_eq!(
            thread_id(&a),
            "ecs-autopsy/210987654321/prod/web/oom_killed"
        );
        assert_eq!(thread_id(&a), thread_id(&other_task));
        assert_ne!(thread_id(&a), thread_id(&record("web", Cause::AppCrashed)));
        assert_ne!(thread_id(&a), thread_id(&other_account));
    }

    #[test]
    fn a_long_thread_id_stays_bounded_distinct_and_stable() {
        let a = record(&"a".repeat(200), Cause::OomKilled);
        let b = record(&format!("{}b", "a".repeat(199)), Cause::OomKilled);

        assert_eq!(thread_id(&a).len(), THREAD_ID_MAX);
        assert_ne!(thread_id(&a), thread_id(&b));
        assert_eq!(thread_id(&a), thread_id(&a.clone()));
    }
}
