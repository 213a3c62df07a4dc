//! `delete`: journal the intent, stop what is left of the container, undo every resource
//! the journal names, run the poststop hooks, and remove the state directory.

use super::cleanup::undo_all;
use super::facts::RuntimeFacts;
use super::observe::current_status;
use super::state::{store_error, ContainerState};
use crate::error::Result;
use crate::executors::hooks::{self, Phase};
use ocirun_state_machine::{Operation, StateRoot, Status};

pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<()> {
    let mut handle = root.lock(id).map_err(store_error)?;
    let status = current_status(handle.view(), false);
    handle
        .begin(Operation::Delete { force }, status)
        .map_err(store_error)?;
    let view = handle.view().clone();
    undo_all(&view)?;
    let facts = RuntimeFacts::from_metadata(view.metadata.as_ref());
    if !facts.poststop_hooks.is_empty() {
        let state = ContainerState::from_view(id, &view, Status::Stopped);
        if let Err(e) = hooks::run_all(Phase::Poststop, &facts.poststop_hooks, &state.for_hooks()) {
            // The spec: a failing poststop hook is a warning, and delete goes on.
            tracing::warn!("{e}");
        }
    }
    handle.remove().map_err(store_error)
}
