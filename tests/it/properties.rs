//! The parser and the engine never panic, whatever arrives.

use ecs_autopsy::event::{Incoming, parse_event};
use ecs_autopsy::report::{ConsoleLinks, render_email, render_sms, render_subject};
use ecs_autopsy::{Evidence, diagnose};
use proptest::prelude::*;

use crate::event_text;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "\\PC{0,40}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("2026-10-01T12:00:00Z")),
        Just(serde_json::Value::from("STOPPED")),
        Just(serde_json::Value::from(137)),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-zA-Z]{1,12}",
                    Just("taskArn".to_owned()),
                    Just("exitCode".to_owned()),
                    Just("containers".to_owned()),
                    Just("stoppedReason".to_owned()),
                    Just("stoppedAt".to_owned()),
                    Just("reason".to_owned()),
                    Just("name".to_owned()),
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn run_everything(text: &str, evidence: &Evidence) {
    if let Ok(Incoming::Stopped(event)) = parse_event(text) {
        let d = diagnose(&event, evidence);
        let _ = render_subject(&event, &d);
        let _ = render_sms(&event, &d, None);
        let _ = render_email(&event, evidence, &d, &ConsoleLinks::for_event(&event), None);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        run_everything(&text, &Evidence::default());
    }

    #[test]
    fn arbitrary_detail_never_panics(detail in json_value()) {
        let envelope = serde_json::json!({
            "source": "aws.ecs", "detail-type": "ECS Task State Change", "detail": detail
        });
        run_everything(&envelope.to_string(), &Evidence::default());
    }

    #[test]
    fn arbitrary_stop_fields_on_a_real_event_never_panic(
        reason in "\\PC{0,200}",
        container_reason in "\\PC{0,200}",
        exit in prop::option::of(any::<i64>()),
        code in prop_oneof![Just("EssentialContainerExited".to_owned()), Just("TaskFailedToStart".to_owned()), Just("UserInitiated".to_owned()), "\\PC{0,20}"],
    ) {
        let mut v: serde_json::Value = serde_json::from_str(event_text!("cpu_starved_elb_kill_ec2_signup_day")).expect("fixture");
        v["detail"]["stoppedReason"] = reason.into();
        v["detail"]["stopCode"] = code.into();
        v["detail"]["containers"][0]["reason"] = container_reason.into();
        v["detail"]["containers"][0]["exitCode"] = exit.into();
        let evidence: Evidence = serde_json::from_str(crate::evidence_text!("cpu_starved_elb_kill_ec2_signup_day")).expect("fixture");
        run_everything(&v.to_string(), &evidence);
    }

    #[test]
    fn arbitrary_evidence_never_panics(evidence in json_value()) {
        // Evidence that does not parse is rejected before the engine; what parses must not panic.
        if let Ok(e) = serde_json::from_value::<Evidence>(evidence) {
            run_everything(event_text!("oom_killed_reason_fargate_leak"), &e);
        }
    }

    #[test]
    fn extreme_metric_values_never_panic(values in prop::collection::vec(prop_oneof![any::<f64>(), -1e12f64..1e12f64], 0..40)) {
        let mut evidence: Evidence = serde_json::from_str(crate::evidence_text!("cpu_starved_elb_kill_ec2_signup_day")).expect("fixture");
        if let Some(m) = evidence.metrics.as_mut() {
            let end = chrono::DateTime::parse_from_rfc3339("2026-09-14T18:42:00Z").expect("time").to_utc();
            let s = crate::support::series_ending(end, &values);
            m.task_cpu_pct = Some(s.clone());
            m.task_memory_pct = Some(s.clone());
            m.service_cpu_max_pct = Some(s.clone());
            m.alb_target_response_time_s = Some(s);
        }
        run_everything(event_text!("cpu_starved_elb_kill_ec2_signup_day"), &evidence);
    }
}

/// The fuzzers' corpora (seeded from events/, grown by fuzzing) replayed on stable in every test
/// run: whatever the fuzzers found interesting stays covered.
#[test]
fn every_fuzz_corpus_input_runs_clean() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut count = 0;
    for target in ["parse_event", "diagnose_render"] {
        for entry in std::fs::read_dir(root.join(target)).expect("corpus dir") {
            let data = match std::fs::read(entry.expect("entry").path()) {
                Ok(data) => data,
                // A fuzzer running beside the tests may reduce (delete) an input meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("corpus file: {e}"),
            };
            let (event, evidence) = match data.iter().position(|b| *b == 0) {
                Some(i) => (&data[..i], &data[i + 1..]),
                None => (&data[..], &[][..]),
            };
            let evidence: Evidence = serde_json::from_slice(evidence).unwrap_or_default();
            run_everything(&String::from_utf8_lossy(event), &evidence);
            count += 1;
        }
    }
    assert!(count >= 40, "corpus too small: {count}");
}
