//! ocirun: an OCI container runtime. Data flows CLI -> container -> state machine ->
//! executors; see docs/architecture.md.

pub mod cli;
