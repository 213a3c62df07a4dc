//! How a journaled transition ends: a commit when its side effects succeeded, an abort
//! naming the error otherwise (the container keeps the status it had).

use super::state::store_error;
use crate::error::Result;
use ocirun_state_machine::{ContainerHandle, Record, Transition};
use std::fmt::Display;

/// Journals the outcome of `transition`; on failure returns the error, prefixed with
/// `attempt` ("starting container x").
pub fn conclude(
    handle: &mut ContainerHandle,
    transition: Transition,
    outcome: Result<()>,
    attempt: impl Display,
) -> Result<()> {
    match outcome {
        Ok(()) => handle
            .record(Record::Commit {
                status: transition.to,
            })
            .map_err(store_error),
        Err(error) => {
            let _ = handle.record(Record::Abort {
                reason: error.to_string(),
            });
            Err(error.wrap(attempt))
        }
    }
}
