//! The pure core of ecs-autopsy: the ECS event, the evidence gathered around a stop, the
//! diagnosis, and every rendering of it. Nothing here calls AWS or depends on the AWS SDK: the
//! `ecs-autopsy` crate gathers evidence, archives and publishes; this crate decides and words.
//!
//! Flow is one-way: an [`event`] and its [`evidence`] go into [`diagnose()`], a pure function, and
//! its [`Diagnosis`] goes to [`report`] for rendering.

pub mod diagnose;
pub mod error;
pub mod event;
pub mod evidence;
pub mod report;
pub mod vocab;

pub use diagnose::{Cause, Diagnosis, Severity, diagnose};
pub use event::{Incoming, TaskStateChange, parse_event};
pub use evidence::Evidence;
