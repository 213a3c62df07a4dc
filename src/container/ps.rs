//! `ps`: the processes in the container's cgroup, found through the journaled placement.

use super::facts::RuntimeFacts;
use super::observe::current_status;
use super::state::store_error;
use crate::bail;
use crate::error::Result;
use ocirun_state_machine::{StateRoot, Status};

/// The pids (in our pid namespace) of every process in the container's cgroup.
pub fn pids(root: &StateRoot, id: &str) -> Result<Vec<i32>> {
    let (view, busy) = root.read(id).map_err(store_error)?;
    let status = current_status(&view, busy);
    if matches!(status, Status::Stopped | Status::Deleted) {
        bail!("container {id:?} is not running");
    }
    let facts = RuntimeFacts::from_metadata(view.metadata.as_ref());
    let mut pids = facts.placement(id)?.pids();
    pids.sort_unstable();
    Ok(pids)
}
