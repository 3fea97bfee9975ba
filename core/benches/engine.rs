//! Engine throughput: diagnoses per second and renders per second on the sample incidents.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ecs_autopsy_core::event::{Incoming, TaskStateChange, parse_event};
use ecs_autopsy_core::report::{
    ConsoleLinks, Record, render_email, render_html, render_sms, render_subject,
};
use ecs_autopsy_core::{Evidence, diagnose};
use std::hint::black_box;

// The function's allocator, so these figures are the function's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn load(event: &str, evidence: &str) -> (TaskStateChange, Evidence) {
    let Ok(Incoming::Stopped(e)) = parse_event(event) else {
        panic!("bench fixture is a stopped task");
    };
    (
        *e,
        serde_json::from_str(evidence).expect("bench evidence parses"),
    )
}

fn engine(c: &mut Criterion) {
    let seed = load(
        include_str!("../../events/cpu_starved_elb_kill_ec2_signup_day.json"),
        include_str!("../../events/cpu_starved_elb_kill_ec2_signup_day.evidence.json"),
    );
    let leak = load(
        include_str!("../../events/oom_killed_reason_fargate_leak.json"),
        include_str!("../../events/oom_killed_reason_fargate_leak.evidence.json"),
    );
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_event", |b| {
        let text = include_str!("../../events/cpu_starved_elb_kill_ec2_signup_day.json");
        b.iter(|| parse_event(black_box(text)))
    });
    g.bench_function("diagnose/seed_cpu_starved", |b| {
        b.iter(|| diagnose(black_box(&seed.0), black_box(&seed.1)))
    });
    g.bench_function("diagnose/oom_leak", |b| {
        b.iter(|| diagnose(black_box(&leak.0), black_box(&leak.1)))
    });
    let d = diagnose(&seed.0, &seed.1);
    let links = ConsoleLinks::for_event(&seed.0);
    g.bench_function("render/subject_sms_email", |b| {
        b.iter(|| {
            (
                render_subject(black_box(&seed.0), &d),
                render_sms(&seed.0, &d, None),
                render_email(&seed.0, &seed.1, &d, &links, None),
            )
        })
    });
    g.bench_function("render/html_report_with_charts", |b| {
        b.iter(|| render_html(black_box(&seed.0), &seed.1, &d))
    });
    g.bench_function("render/record_json", |b| {
        b.iter(|| Record::new(black_box(&seed.0), &seed.1, &d).to_json_line())
    });
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
