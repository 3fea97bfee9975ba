//! ecs-autopsy: explains why an Amazon ECS task stopped.
//!
//! Flow is one-way: an [`event`] and gathered [`evidence`] go into [`diagnose`], a pure function,
//! and its [`diagnose::Diagnosis`] goes to [`report`] for rendering, then to [`deliver`] to be
//! archived and published.

pub mod diagnose;
pub mod error;
pub mod event;
pub mod evidence;

pub use diagnose::{Cause, Diagnosis, Severity, diagnose};
pub use event::{Incoming, TaskStateChange, parse_event};
pub use evidence::Evidence;
pub mod app;
pub mod cli;
pub mod config;
pub mod deliver;
pub mod gather;
pub mod report;
pub mod tls;
