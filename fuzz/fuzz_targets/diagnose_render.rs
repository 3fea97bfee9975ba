//! Any bytes as a payload, then everything a stop goes through: diagnose and every renderer.
//! The input may also carry evidence after a NUL byte, so the engine sees hostile evidence too.
#![no_main]

use ecs_autopsy_core::event::Incoming;
use ecs_autopsy_core::report::{ConsoleLinks, Record, message, render_email, render_html, render_sms, render_subject};
use ecs_autopsy_core::{Evidence, diagnose, parse_event};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (event, evidence) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(event) else { return };
    let Ok(Incoming::Stopped(event)) = parse_event(text) else { return };
    let evidence: Evidence = serde_json::from_slice(evidence).unwrap_or_default();
    let d = diagnose(&event, &evidence);
    let subject = render_subject(&event, &d);
    assert!(subject.len() <= 99 && subject.is_ascii());
    let sms = render_sms(&event, &d, None);
    assert!(sms.chars().count() <= 140);
    let _ = render_email(&event, &evidence, &d, &ConsoleLinks::for_event(&event), None);
    let _ = render_html(&event, &evidence, &d);
    let record = Record::new(&event, &evidence, &d);
    let n = message::build(&record, None);
    assert!(n.message.len() <= message::MESSAGE_BUDGET);
});
