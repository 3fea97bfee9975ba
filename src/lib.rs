//! ecs-autopsy: explains why an Amazon ECS task stopped.
//!
//! Flow is one-way: [`gather`] turns AWS calls into plain [`evidence`]; the pure core
//! (`ecs-autopsy-core`, re-exported here as [`event`], [`evidence`], [`diagnose`], [`report`] and
//! [`vocab`]) decides and renders; [`deliver`] archives and publishes. [`app`] wires one incident
//! through them; the binaries only read configuration and start the runtime.

pub use ecs_autopsy_core::{
    Cause, Diagnosis, Evidence, Incoming, Severity, TaskStateChange, diagnose, event, evidence,
    parse_event, report, vocab,
};

pub mod app;
pub mod cli;
pub mod config;
pub mod deliver;
pub mod error;
pub mod gather;
pub mod tls;
