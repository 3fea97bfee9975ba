//! One integration test binary; each module covers one behaviour area.

mod support;

mod attribution;
mod browser;
mod chat;
mod claims;
mod cli;
mod errors;
mod event_model;
mod faults;
mod gather;
mod lambda;
mod limits;
mod orgwide;
mod properties;
mod render;
mod reporting;
mod rules;
mod samples;
mod sandbox;
mod scaling;
mod templates;
