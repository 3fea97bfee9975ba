//! One integration test binary; each module covers one behaviour area. The engine's rule families
//! have a module each, named as their source file in core/src/diagnose/ (cpu, exit, health,
//! infrastructure, memory, repeats, scheduler, start; scaling, claims and attribution likewise),
//! so the tests of a rule are found beside its name.

mod support;

mod attribution;
mod browser;
mod chat;
mod claims;
mod cli;
mod cpu;
mod errors;
mod event_model;
mod evidence;
mod exit;
mod faults;
mod gather;
mod health;
mod infrastructure;
mod lambda;
mod limits;
mod memory;
mod orgwide;
mod properties;
mod render;
mod repeats;
mod reporting;
mod samples;
mod sandbox;
mod scaling;
mod scheduler;
mod start;
mod templates;
