//! Renderers keep the channels' limits whatever the diagnosis says.

use ecs_autopsy::report::text::{SMS_MAX, SUBJECT_MAX, is_gsm7_safe};
use ecs_autopsy::report::{ConsoleLinks, Record, render_email, render_sms, render_subject};
use ecs_autopsy::{Evidence, diagnose};
use proptest::prelude::*;

use crate::support::{event_with, evidence, stopped};
use crate::{event_text, evidence_text};

#[test]
fn seed_subject_and_sms_carry_the_verdict_and_the_numbers() {
    let event = stopped(event_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let ev = evidence(evidence_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let d = diagnose(&event, &ev);
    let subject = render_subject(&event, &d);
    assert_eq!(
        subject,
        "[CRIT] prod/judge-api: CPU-starved - CPU 93-100% of 512u 11 min"
    );
    let sms = render_sms(&event, &d, None);
    assert_eq!(
        sms,
        "CRIT prod/judge-api CPU-starved: CPU 93-100% of 512u 11 min"
    );
}

#[test]
fn email_has_every_section_and_the_allocation_note() {
    let event = stopped(event_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let ev = evidence(evidence_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let d = diagnose(&event, &ev);
    let email = render_email(
        &event,
        &ev,
        &d,
        &ConsoleLinks::for_event(&event),
        Some("https://report"),
    );
    for section in [
        "WHAT HAPPENED",
        "EVIDENCE",
        "WHAT TO DO",
        "TIMELINE (UTC)",
        "LAST LOG LINES (api)",
        "LINKS",
    ] {
        assert!(email.contains(section), "missing {section}");
    }
    assert!(email.contains("not of the host"));
    assert!(email.contains("Full report: https://report"));
    // The link's real lifetime is said next to it: S3 ends a presigned link with the
    // credentials that signed it.
    assert!(email.contains(ecs_autopsy::report::REPORT_LINK_NOTE));
    // So is the task page's: ECS forgets a stopped task after about an hour.
    assert!(email.contains(ecs_autopsy::report::TASK_LINK_NOTE));
    assert!(email.contains("https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/judge-api/events?region=eu-west-1"));
}

#[test]
fn record_is_one_line_with_the_contract_fields() {
    let event = stopped(event_text!("oom_killed_reason_fargate_leak"));
    let ev = evidence(evidence_text!("oom_killed_reason_fargate_leak"));
    let d = diagnose(&event, &ev);
    let line = Record::new(&event, &ev, &d)
        .to_json_line()
        .expect("serializes");
    assert!(!line.contains('\n'));
    let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["cluster"], "prod");
    assert_eq!(v["service"], "judge-api");
    assert_eq!(v["notified"], false);
    assert_eq!(v["diagnosis"]["cause"], "oom_killed");
    assert_eq!(v["diagnosis"]["severity"], "critical");
    assert!(
        v["diagnosis"]["confidence"]
            .as_f64()
            .is_some_and(|c| (0.0..=1.0).contains(&c))
    );
    assert!(v["diagnosis"]["summary"].is_string());
    assert!(v["diagnosis"]["evidence"].is_array());
    assert!(v["diagnosis"]["recommendations"].is_array());
    assert!(
        v["task_arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:ecs:"))
    );
    assert!(v["stopped_at"].is_string());
    assert!(v["evidence"]["metrics"]["task_memory_pct"]["points"].is_array());
    let back: Record = serde_json::from_str(&line).expect("a record reads back for replay");
    // Claims are derived from the archived evidence again on replay, not archived themselves.
    let mut expected = d.clone();
    expected.claims.clear();
    for f in &mut expected.findings {
        f.claims.clear();
    }
    assert_eq!(back.diagnosis, expected);
}

#[test]
fn standalone_record_has_null_service() {
    let event = stopped(event_text!("app_exited_standalone_job_exit_0"));
    let d = diagnose(&event, &Evidence::default());
    let v =
        serde_json::to_value(Record::new(&event, &Evidence::default(), &d)).expect("serializes");
    assert!(v["service"].is_null());
    assert_eq!(v["family"], "nightly-report");
}

proptest! {
    #[test]
    fn subject_and_sms_hold_their_limits_for_any_names_and_reasons(
        cluster in "\\PC{0,120}",
        service in "\\PC{0,120}",
        reason in "\\PC{0,400}",
    ) {
        let event = event_with(serde_json::json!({
            "clusterArn": format!("arn:aws:ecs:eu-west-1:1:cluster/{cluster}"),
            "group": format!("service:{service}"),
            "stopCode": "UserInitiated",
            "stoppedReason": reason,
        }));
        let d = diagnose(&event, &Evidence::default());
        let subject = render_subject(&event, &d);
        prop_assert!(subject.len() <= SUBJECT_MAX);
        prop_assert!(subject.is_ascii());
        prop_assert!(!subject.contains(['\n', '\r']));
        let sms = render_sms(&event, &d, Some("https://x.example/a"));
        prop_assert!(sms.chars().count() <= SMS_MAX);
        prop_assert!(sms.chars().all(is_gsm7_safe), "{}", sms);
    }
}

#[test]
fn a_script_in_aws_strings_is_inert_in_the_html_report() {
    let event = event_with(serde_json::json!({
        "stopCode": "UserInitiated",
        "stoppedReason": "<script>alert('x')</script> & \"quotes\"",
        "group": "service:<img src=x onerror=alert(1)>",
    }));
    let mut ev = evidence(evidence_text!("cpu_starved_elb_kill_ec2_signup_day"));
    if let Some(logs) = ev.logs.as_mut() {
        logs[0].lines[0].message = "</pre><script>steal()</script>".into();
    }
    let d = diagnose(&event, &ev);
    let html = ecs_autopsy::report::render_html(&event, &ev, &d).expect("renders");
    assert!(!html.contains("<script>"), "raw script tag in the report");
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("&lt;script&gt;alert("));
    assert!(
        html.contains("&lt;&#x2f;pre&gt;&lt;script&gt;steal()")
            || html.contains("&lt;/pre&gt;&lt;script&gt;steal()")
    );
}

#[test]
fn html_report_embeds_charts_with_the_limit_and_the_stop() {
    let event = stopped(event_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let ev = evidence(evidence_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let d = diagnose(&event, &ev);
    let html = ecs_autopsy::report::render_html(&event, &ev, &d).expect("renders");
    assert_eq!(
        html.matches("<svg").count(),
        4,
        "CPU, memory, ALB latency, unhealthy targets"
    );
    assert!(html.contains("allocation (100%)") && html.contains("task stopped"));
}

#[test]
fn a_2_mb_log_tail_still_fits_in_one_sns_message() {
    let event = stopped(event_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let mut ev = evidence(evidence_text!("cpu_starved_elb_kill_ec2_signup_day"));
    let line = "x".repeat(2000);
    if let Some(logs) = ev.logs.as_mut() {
        logs[0].lines = (0..1000)
            .map(|_| ecs_autopsy::evidence::LogLine {
                at: None,
                message: line.clone(),
            })
            .collect();
    }
    let d = diagnose(&event, &ev);
    let record = Record::new(&event, &ev, &d);
    let n = ecs_autopsy::report::message::build(&record, Some("https://example.com/report"));
    assert!(
        n.message.len() <= ecs_autopsy::report::message::MESSAGE_BUDGET,
        "{}",
        n.message.len()
    );
    let v: serde_json::Value = serde_json::from_str(&n.message).expect("JSON structure");
    for key in ["default", "email", "sms", "sqs", "lambda", "https"] {
        assert!(v[key].is_string(), "missing {key}");
    }
    let email = v["email"].as_str().unwrap_or_default();
    assert!(
        email.contains("CPU-starved") && email.contains("WHAT TO DO"),
        "the verdict survives trimming"
    );
    assert!(n.sms.chars().count() <= 140);
}
