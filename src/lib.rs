//! ocirun: an OCI container runtime. Data flows CLI -> container -> state machine ->
//! executors; see docs/architecture.md.

/// The runtime-spec version ocirun implements (and reports in `state`).
pub const SPEC_VERSION: &str = "1.3.0";

pub mod cli;
pub mod config;
pub mod container;
pub mod error;
pub mod executors;
pub mod fault;
pub mod fuzzing;
pub mod logging;
pub mod spec_template;
pub mod util;
