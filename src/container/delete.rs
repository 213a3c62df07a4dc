//! `delete`: journal the intent, then destroy the container (see `cleanup::destroy`).

use super::cleanup::destroy;
use super::observe::current_status;
use super::state::store_error;
use crate::error::Result;
use crate::fault;
use ocirun_state_machine::{Operation, StateRoot, StoreError};

pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<()> {
    let mut handle = match root.lock(id) {
        Ok(handle) => handle,
        // runc: deleting what is not there with --force succeeds, so engines may repeat it.
        Err(StoreError::NotFound { .. }) if force => {
            // A create killed before its directory was in place leaves only a hidden one.
            root.remove_abandoned(id).map_err(store_error)?;
            return Ok(());
        }
        Err(error) => return Err(store_error(error)),
    };
    let status = current_status(handle.view(), false);
    match handle.begin(Operation::Delete { force }, status) {
        Ok(_) => {}
        // A full --root must not keep a container alive: every undo step is idempotent
        // and the directory goes last, so a forced delete may go on without its intent.
        Err(StoreError::Io { context, error }) if force => {
            tracing::warn!(
                "delete --force {id}: journaling the intent failed ({context}: {error}); going on"
            );
        }
        Err(error) => return Err(store_error(error)),
    }
    fault::point("delete:after-intent");
    destroy(handle, true)
}
