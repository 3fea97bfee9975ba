//! What every rule needs to read: the event, the evidence, and measurements computed once.

use chrono::{DateTime, Duration, Utc};

use crate::event::{Container, StopCode, TaskStateChange};
use crate::evidence::{ContainerDefinitionFacts, Evidence, ServiceEvent};

use std::cell::OnceCell;

use super::catalogue::{self, ReasonRow};
use super::cpu::{self, CpuPressure};

/// A start-failure wording found in the stoppedReason or a container's reason: its row, the text
/// it matched, and the container that carried it.
pub type StartHit<'a> = (&'static ReasonRow, &'a str, Option<&'a Container>);

/// ECS waits this long between SIGTERM and SIGKILL when a container sets no `stopTimeout`.
pub const DEFAULT_STOP_TIMEOUT_S: u32 = 30;

/// How far before the kill resource pressure is judged.
pub const PRESSURE_WINDOW_MIN: i64 = 15;

pub struct Context<'a> {
    pub event: &'a TaskStateChange,
    pub evidence: &'a Evidence,
    /// When the task stopped ([`TaskStateChange::stopped_at`]).
    pub stop_at: Option<DateTime<Utc>>,
    /// When ECS decided to stop it ([`TaskStateChange::kill_at`]).
    pub kill_at: Option<DateTime<Utc>>,
    pub cpu: CpuPressure,
    /// Catalogue look-ups many rules ask for, made once (each scans every row).
    reason_row: OnceCell<Option<&'static ReasonRow>>,
    start_hit: OnceCell<Option<StartHit<'a>>>,
}

impl<'a> Context<'a> {
    pub fn new(event: &'a TaskStateChange, evidence: &'a Evidence) -> Self {
        let mut ctx = Context {
            event,
            evidence,
            stop_at: event.stopped_at(),
            kill_at: event.kill_at(),
            cpu: CpuPressure::default(),
            reason_row: OnceCell::new(),
            start_hit: OnceCell::new(),
        };
        ctx.cpu = cpu::assess(&ctx);
        ctx
    }

    pub fn stop_code(&self) -> Option<&StopCode> {
        self.event.detail.stop_code.as_ref()
    }

    pub fn stopped_reason(&self) -> &str {
        self.event.detail.stopped_reason.as_deref().unwrap_or("")
    }

    /// The catalogue row the stoppedReason matches.
    pub fn reason_row(&self) -> Option<&'static ReasonRow> {
        *self
            .reason_row
            .get_or_init(|| catalogue::lookup(self.stopped_reason()))
    }

    /// The start failure the reasons name, computed by `find` on first use.
    pub fn start_hit(&self, find: impl FnOnce() -> Option<StartHit<'a>>) -> Option<StartHit<'a>> {
        *self.start_hit.get_or_init(find)
    }

    /// The stoppedReason or an essential container's reason of which `says` holds; returns the
    /// text. A non-essential container's death does not stop the task, so it never decides.
    pub fn any_reason_with(&self, says: impl Fn(&str) -> bool) -> Option<&str> {
        if says(self.stopped_reason()) {
            return Some(self.stopped_reason());
        }
        self.essential_containers()
            .filter_map(|c| c.reason.as_deref())
            .find(|r| says(r))
    }

    /// Whether a container is essential: the task definition says so; without it, every
    /// container is taken as essential (the default in ECS).
    pub fn is_essential(&self, name: &str) -> bool {
        self.evidence
            .container_def(name)
            .is_none_or(|c| c.essential)
    }

    pub fn essential_containers(&self) -> impl Iterator<Item = &'a Container> + '_ {
        self.event
            .detail
            .containers
            .iter()
            .filter(|c| self.is_essential(&c.name))
    }

    /// The essential container whose exit explains the stop: one with a reason first, then one
    /// that failed on its own (non-zero, not the 137/143 of being stopped by ECS after another
    /// essential container ended), then any non-zero exit, then one that exited at all.
    pub fn deciding_container(&self) -> Option<&'a Container> {
        let essential: Vec<&Container> = self.essential_containers().collect();
        let with_reason = essential
            .iter()
            .find(|c| c.reason.as_deref().is_some_and(|r| !r.trim().is_empty()));
        let own_failure = essential.iter().find(|c| {
            c.exit_code
                .is_some_and(|code| !matches!(code, 0 | 137 | 143))
        });
        let nonzero = essential
            .iter()
            .find(|c| c.exit_code.is_some_and(|code| code != 0));
        let exited = essential.iter().find(|c| c.exit_code.is_some());
        with_reason
            .or(own_failure)
            .or(nonzero)
            .or(exited)
            .or(essential.first())
            .copied()
    }

    pub fn container_def(&self, name: &str) -> Option<&'a ContainerDefinitionFacts> {
        self.evidence.container_def(name)
    }

    /// The memory limit that applies to a container, in MiB, and what sets it.
    pub fn memory_limit(&self, container: &str) -> Option<(u32, LimitScope)> {
        let from_def = self.container_def(container).and_then(|c| c.memory);
        let from_event = self
            .event
            .detail
            .containers
            .iter()
            .find(|c| c.name == container)
            .and_then(|c| c.memory);
        if let Some(m) = from_def.or(from_event).filter(|m| *m > 0) {
            return Some((m, LimitScope::Container));
        }
        self.task_memory().map(|m| (m, LimitScope::Task))
    }

    pub fn task_memory(&self) -> Option<u32> {
        self.evidence
            .task_definition
            .as_ref()
            .and_then(|t| t.memory)
            .or(self.event.detail.memory)
            .filter(|m| *m > 0)
    }

    /// The task's CPU allocation in units (1024 = 1 vCPU).
    pub fn task_cpu(&self) -> Option<u32> {
        self.evidence
            .task_definition
            .as_ref()
            .and_then(|t| t.cpu)
            .or(self.event.detail.cpu)
            .filter(|c| *c > 0)
    }

    pub fn memory_reservation(&self, container: &str) -> Option<u32> {
        let from_def = self
            .container_def(container)
            .and_then(|c| c.memory_reservation);
        from_def.or_else(|| {
            self.event
                .detail
                .containers
                .iter()
                .find(|c| c.name == container)
                .and_then(|c| c.memory_reservation)
        })
    }

    pub fn stop_timeout(&self, container: &str) -> u32 {
        self.container_def(container)
            .and_then(|c| c.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT_S)
    }

    /// Service events from `minutes` before the kill up to the stop.
    pub fn service_events_near(&self, minutes: i64) -> Vec<&'a ServiceEvent> {
        let Some(service) = self.evidence.service.as_ref() else {
            return Vec::new();
        };
        let (from, to) = match (self.kill_at, self.stop_at) {
            (Some(k), Some(s)) => (k - Duration::minutes(minutes), s + Duration::minutes(2)),
            _ => return service.events.iter().collect(),
        };
        service
            .events
            .iter()
            .filter(|e| e.at >= from && e.at <= to)
            .collect()
    }

    /// The window in which resource pressure before the kill is judged.
    pub fn pressure_window(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let kill = self.kill_at?;
        Some((kill - Duration::minutes(PRESSURE_WINDOW_MIN), kill))
    }

    /// Minutes the task ran before ECS began stopping it.
    pub fn minutes_running(&self) -> Option<f64> {
        let started = self.event.detail.started_at?;
        let kill = self.kill_at?;
        Some((kill - started).num_seconds() as f64 / 60.0)
    }

    pub fn service_label(&self) -> String {
        match self.event.service_name() {
            Some(s) => format!("service {s}"),
            None => format!(
                "standalone task of {}",
                self.event.family().unwrap_or("an unknown family")
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    Container,
    Task,
}

impl LimitScope {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitScope::Container => "container",
            LimitScope::Task => "task",
        }
    }
}

/// "512 MiB", "1.5 GiB".
pub fn mib(value: f64) -> String {
    if value >= 1024.0 {
        let gib = value / 1024.0;
        if (gib - gib.round()).abs() < 0.05 {
            format!("{:.0} GiB", gib)
        } else {
            format!("{:.1} GiB", gib)
        }
    } else {
        format!("{:.0} MiB", value)
    }
}

/// "512 units (0.5 vCPU)".
pub fn cpu_units(units: u32) -> String {
    let vcpu = f64::from(units) / 1024.0;
    let text = format!("{vcpu:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{units} units ({text} vCPU)")
}

/// "8 min", "45 s".
pub fn duration_text(minutes: f64) -> String {
    if minutes < 1.0 {
        format!("{:.0} s", (minutes * 60.0).max(0.0))
    } else if minutes < 120.0 {
        format!("{:.0} min", minutes)
    } else {
        format!("{:.1} h", minutes / 60.0)
    }
}

/// Rounds a memory size up to the next multiple of 256 MiB.
pub fn round_up_256(value: f64) -> u32 {
    let steps = (value / 256.0).ceil().max(1.0);
    // Bounded: task memory is at most 120 GiB, far below u32::MAX.
    (steps * 256.0).min(f64::from(u32::MAX)) as u32
}
