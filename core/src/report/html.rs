//! The self-contained HTML report archived beside the record. A template engine with HTML
//! auto-escaping renders it: every string that came from AWS is untrusted.

use std::sync::LazyLock;

use minijinja::{Environment, Value, context};

use crate::diagnose::Diagnosis;
use crate::event::TaskStateChange;
use crate::evidence::Evidence;

use super::charts;

const TEMPLATE: &str = include_str!("../../templates/report.html");

#[derive(Debug, thiserror::Error)]
#[error("rendering the HTML report")]
pub struct HtmlError(#[from] minijinja::Error);

fn compile() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // The ".html" name turns on HTML auto-escaping for every interpolated value.
    env.add_template("report.html", TEMPLATE)?;
    Ok(env)
}

/// The template is parsed once per process, not once per incident.
static ENVIRONMENT: LazyLock<Option<Environment<'static>>> = LazyLock::new(|| compile().ok());

pub fn render_html(
    event: &TaskStateChange,
    evidence: &Evidence,
    diagnosis: &Diagnosis,
) -> Result<String, HtmlError> {
    let fresh;
    let env = match ENVIRONMENT.as_ref() {
        Some(env) => env,
        // Unreachable with the shipped template; compiling again surfaces the error itself.
        None => {
            fresh = compile()?;
            &fresh
        }
    };
    let d = &event.detail;
    let stop = event.stopped_at();
    let hc_timeout = evidence
        .target_groups
        .as_ref()
        .and_then(|t| t.first())
        .and_then(|t| t.health_check.as_ref())
        .and_then(|h| h.timeout_seconds);
    let charts: Vec<Value> = match (evidence.metrics.as_ref(), stop) {
        (Some(m), Some(stop)) => charts::render_all(m, stop, hc_timeout)
            .into_iter()
            .map(|(title, svg)| {
                // Our own SVG, built from numbers and fixed labels only.
                context! { title => title, svg => Value::from_safe_string(svg) }
            })
            .collect(),
        _ => Vec::new(),
    };
    let findings: Vec<Value> = diagnosis
        .findings
        .iter()
        .map(|f| {
            let bearing = match f.bearing {
                crate::diagnose::Bearing::Supports => "supports",
                crate::diagnose::Bearing::RulesOut => "rules_out",
                crate::diagnose::Bearing::Context => "context",
            };
            context! { signal => &f.signal, observed => &f.observed, threshold => &f.threshold, bearing => bearing }
        })
        .collect();
    let timeline: Vec<Value> = diagnosis
        .timeline
        .iter()
        .map(|e| context! { at => e.at.format("%H:%M:%S").to_string(), source => e.source.as_str(), text => &e.text })
        .collect();
    let logs: Vec<Value> = evidence
        .logs
        .iter()
        .flatten()
        .filter(|t| !t.lines.is_empty())
        .map(|t| {
            let lines: Vec<String> = t
                .lines
                .iter()
                .map(|l| {
                    let at =
                        l.at.map(|a| a.format("%H:%M:%S ").to_string())
                            .unwrap_or_default();
                    format!("{at}{}", l.message)
                })
                .collect();
            context! { container => &t.container, lines => lines }
        })
        .collect();
    let scaling: Vec<Value> = diagnosis
        .posture
        .as_ref()
        .map(|p| p.rows())
        .unwrap_or_default()
        .into_iter()
        .map(|(label, value)| context! { label => label, value => value })
        .collect();
    let tmpl = env.get_template("report.html")?;
    Ok(tmpl.render(context! {
        subject => super::render_subject(event, diagnosis),
        cause => diagnosis.cause.as_str(),
        cause_label => diagnosis.cause.label(),
        severity => diagnosis.severity.as_str(),
        confidence => format!("{:.0}", diagnosis.confidence * 100.0),
        rule => &diagnosis.rule,
        summary => &diagnosis.summary,
        cluster => event.cluster_name(),
        service => event.service_name(),
        task_arn => &d.task_arn,
        task_definition => d.task_definition_arn.as_deref().map(|a| a.rsplit('/').next().unwrap_or(a)),
        stopped_at => stop.map(|s| s.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        stopped_reason => &d.stopped_reason,
        repeats => diagnosis.repeats,
        recommendations => &diagnosis.recommendations,
        findings => findings,
        scaling => scaling,
        charts => charts,
        timeline => timeline,
        logs => logs,
        missing => &diagnosis.missing,
        shares_note => super::shares_note(evidence),
    })?)
}
