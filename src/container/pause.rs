//! `pause` and `resume`: journaled transitions (running <-> paused) whose effect is the
//! container's freezer. `state` reads the freezer back (see `observe.rs`), so a pause
//! interrupted between freezing and committing still reads as paused.

use super::conclude::conclude;
use super::facts::RuntimeFacts;
use super::observe::current_status;
use super::state::store_error;
use crate::error::Result;
use crate::executors::cgroups::Freezer;
use ocirun_state_machine::{Operation, StateRoot};

pub fn pause(root: &StateRoot, id: &str) -> Result<()> {
    freeze_or_thaw(root, id, Operation::Pause)
}

pub fn resume(root: &StateRoot, id: &str) -> Result<()> {
    freeze_or_thaw(root, id, Operation::Resume)
}

fn freeze_or_thaw(root: &StateRoot, id: &str, op: Operation) -> Result<()> {
    let mut handle = root.lock(id).map_err(store_error)?;
    let status = current_status(handle.view(), false);
    let facts = RuntimeFacts::from_metadata(handle.view().metadata.as_ref());
    let freezer = facts.placement(id).map(Freezer::of)?;
    let transition = handle.begin(op, status).map_err(store_error)?;
    let outcome = match (&freezer, op) {
        (None, _) => Err(crate::error::Error::new("this host has no freezer")),
        (Some(freezer), Operation::Pause) => freezer.freeze().inspect_err(|_| {
            // Half-frozen is worse than not paused: undo.
            let _ = freezer.thaw();
        }),
        (Some(freezer), _) => freezer.thaw(),
    };
    conclude(
        &mut handle,
        transition,
        outcome,
        format!("{} container {id:?}", op.name()),
    )
}
