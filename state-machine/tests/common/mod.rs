//! Shared by the integration tests. Each test binary uses only part of it, so unused
//! items are expected here rather than dead code.
#![allow(dead_code)]

pub mod simulation;
pub mod strategies;
