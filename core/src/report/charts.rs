//! SVG charts for the HTML report: utilization as a share of the allocation with the limit line
//! and the stop marked (with the log rate on a second axis, on the same time axis), ALB latency,
//! unhealthy hosts. Rendered with plotters' SVG backend.

use chrono::{DateTime, Utc};
use plotters::prelude::*;

use crate::evidence::{Allocation, Metrics, Series};

const WIDTH: u32 = 720;
const HEIGHT: u32 = 260;
/// Labelled ticks (and grid lines) on the time axis and on the value axis.
const X_LABELS: usize = 7;
const Y_LABELS: usize = 5;

/// One line on a chart.
struct Line<'a> {
    label: &'a str,
    series: &'a Series,
    color: RGBColor,
}

/// Minutes relative to the stop, for the x axis.
fn minutes(at: DateTime<Utc>, stop: DateTime<Utc>) -> f64 {
    (at - stop).num_seconds() as f64 / 60.0
}

/// A line on the right-hand axis, in its own unit, over the same minutes.
struct Secondary<'a> {
    line: Line<'a>,
    y_label: &'a str,
}

fn chart(
    title: &str,
    y_label: &str,
    lines: &[Line<'_>],
    stop: DateTime<Utc>,
    limit: Option<(f64, &str)>,
    y_floor_max: f64,
    secondary: Option<&Secondary<'_>>,
) -> Option<String> {
    let points: Vec<(f64, f64)> = lines
        .iter()
        .flat_map(|l| {
            l.series
                .points()
                .iter()
                .map(|p| (minutes(p.at, stop), p.value))
        })
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if points.is_empty() {
        return None;
    }
    let x_min = points
        .iter()
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min)
        .min(-1.0);
    let x_max = points
        .iter()
        .map(|p| p.0)
        .fold(f64::NEG_INFINITY, f64::max)
        .max(1.0);
    let y_max = points
        .iter()
        .map(|p| p.1)
        .fold(y_floor_max, f64::max)
        .max(limit.map_or(0.0, |l| l.0))
        * 1.1;
    let y2_max = secondary
        .and_then(|s| {
            s.line
                .series
                .points()
                .iter()
                .map(|p| p.value)
                .filter(|v| v.is_finite())
                .reduce(f64::max)
        })
        .unwrap_or(1.0)
        .max(1.0)
        * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut ctx = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .right_y_label_area_size(if secondary.is_some() { 56 } else { 0 })
            .build_cartesian_2d(x_min..x_max, 0.0..y_max)
            .ok()?
            .set_secondary_coord(x_min..x_max, 0.0..y2_max);
        ctx.configure_mesh()
            .x_desc("minutes relative to the stop")
            .y_desc(y_label)
            // A grid line per labelled tick and no light lines between them: plotters' default
            // (ten labels an axis, ten light lines per tick) is ~200 SVG elements per chart, most
            // of a report's size and of its rendering CPU, for a grid nobody reads that finely.
            .x_labels(X_LABELS)
            .y_labels(Y_LABELS)
            .bold_line_style(RGBColor(230, 230, 230))
            .max_light_lines(0)
            .draw()
            .ok()?;
        if let Some((value, label)) = limit {
            ctx.draw_series(LineSeries::new(
                vec![(x_min, value), (x_max, value)],
                RED.stroke_width(1),
            ))
            .ok()?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
        }
        ctx.draw_series(LineSeries::new(
            vec![(0.0, 0.0), (0.0, y_max)],
            BLACK.stroke_width(1),
        ))
        .ok()?
        .label("task stopped")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
        for line in lines {
            let color = line.color;
            let data: Vec<(f64, f64)> = line
                .series
                .points()
                .iter()
                .map(|p| (minutes(p.at, stop), p.value))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            ctx.draw_series(LineSeries::new(data, color.stroke_width(2)))
                .ok()?
                .label(line.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        if let Some(sec) = secondary {
            ctx.configure_secondary_axes()
                .y_desc(sec.y_label)
                .draw()
                .ok()?;
            let color = sec.line.color;
            let data: Vec<(f64, f64)> = sec
                .line
                .series
                .points()
                .iter()
                .map(|p| (minutes(p.at, stop), p.value))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            ctx.draw_secondary_series(LineSeries::new(data, color.stroke_width(1)))
                .ok()?
                .label(sec.line.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        ctx.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}

const BLUE_: RGBColor = RGBColor(31, 119, 180);
const ORANGE_: RGBColor = RGBColor(255, 127, 14);
const GREEN_: RGBColor = RGBColor(44, 160, 44);
const PURPLE_: RGBColor = RGBColor(148, 103, 189);
const GREY_: RGBColor = RGBColor(127, 127, 127);

/// Every chart the metrics allow, as (title, SVG) pairs.
pub fn render_all(
    metrics: &Metrics,
    stop: DateTime<Utc>,
    hc_timeout_s: Option<u32>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cpu = Vec::new();
    if let Some(s) = metrics.task_cpu_pct.as_ref() {
        cpu.push(Line {
            label: "task",
            series: s,
            color: BLUE_,
        });
    }
    if let Some(s) = metrics.service_cpu_max_pct.as_ref() {
        cpu.push(Line {
            label: "service Maximum",
            series: s,
            color: ORANGE_,
        });
    }
    if let Some(s) = metrics.service_cpu_avg_pct.as_ref() {
        cpu.push(Line {
            label: "service Average",
            series: s,
            color: GREEN_,
        });
    }
    let log_rate = metrics.log_events.as_ref().map(|s| Secondary {
        line: Line {
            label: "log events/min (right axis)",
            series: s,
            color: GREY_,
        },
        y_label: "log events/min",
    });
    // Titles say what the shares are of, as gathering recorded it.
    let cpu_title = match metrics.task_cpu_of {
        Some(Allocation::Reserved) => "CPU, % of the CPU reserved (none set: the host's)",
        Some(Allocation::ContainerShares) => "CPU, % of the containers' cpu units",
        _ => "CPU, % of the task's allocation",
    };
    if let Some(svg) = chart(
        cpu_title,
        "% of allocation",
        &cpu,
        stop,
        Some((100.0, "allocation (100%)")),
        100.0,
        log_rate.as_ref(),
    ) {
        out.push(("CPU".to_owned(), svg));
    }
    let mut mem = Vec::new();
    if let Some(s) = metrics.task_memory_pct.as_ref() {
        mem.push(Line {
            label: "task",
            series: s,
            color: BLUE_,
        });
    }
    if let Some(s) = metrics.service_memory_max_pct.as_ref() {
        mem.push(Line {
            label: "service Maximum",
            series: s,
            color: ORANGE_,
        });
    }
    if let Some(s) = metrics.service_memory_avg_pct.as_ref() {
        mem.push(Line {
            label: "service Average",
            series: s,
            color: GREEN_,
        });
    }
    let memory_title = match metrics.task_memory_of {
        Some(Allocation::Reserved) => "Memory, % of the soft reservation",
        Some(Allocation::ContainerLimits) => "Memory, % of the containers' hard limits",
        _ => "Memory, % of the limit",
    };
    if let Some(svg) = chart(
        memory_title,
        "% of limit",
        &mem,
        stop,
        Some((100.0, "hard limit (100%)")),
        100.0,
        None,
    ) {
        out.push(("Memory".to_owned(), svg));
    }
    if let Some(s) = metrics.alb_target_response_time_s.as_ref() {
        let lines = [Line {
            label: "TargetResponseTime",
            series: s,
            color: PURPLE_,
        }];
        let limit = hc_timeout_s.map(|t| (f64::from(t), "health-check timeout"));
        if let Some(svg) = chart(
            "ALB target response time",
            "seconds",
            &lines,
            stop,
            limit,
            0.5,
            None,
        ) {
            out.push(("ALB latency".to_owned(), svg));
        }
    }
    if let Some(s) = metrics.alb_unhealthy_hosts.as_ref() {
        let lines = [Line {
            label: "UnHealthyHostCount",
            series: s,
            color: RED,
        }];
        if let Some(svg) = chart(
            "ALB unhealthy targets",
            "targets",
            &lines,
            stop,
            None,
            1.0,
            None,
        ) {
            out.push(("ALB unhealthy targets".to_owned(), svg));
        }
    }
    if let Some(s) = metrics.host_cpu_credit_balance.as_ref() {
        let lines = [Line {
            label: "CPUCreditBalance",
            series: s,
            color: BLUE_,
        }];
        if let Some(svg) = chart(
            "Host CPU credit balance",
            "credits",
            &lines,
            stop,
            None,
            1.0,
            None,
        ) {
            out.push(("Host CPU credits".to_owned(), svg));
        }
    }
    out
}
