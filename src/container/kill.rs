//! `kill`: signal the init (or with `--all` every process of the container's cgroup).
//! It changes no status, so it journals nothing; it only checks the table.

use super::facts::RuntimeFacts;
use super::observe::current_status;
use super::state::store_error;
use crate::error::{Context, Result};
use crate::executors::cgroups::placement::read_pids;
use crate::executors::cgroups::Freezer;
use crate::fault;
use crate::util::proc;
use ocirun_state_machine::{plan, Operation, StateRoot, Status, StoreError};

/// Sends signal number `signal` (real-time ones included).
pub fn kill(root: &StateRoot, id: &str, signal: i32, all: bool) -> Result<()> {
    let handle = root.lock(id).map_err(store_error)?;
    let view = handle.view();
    let status = current_status(view, false);
    plan(Operation::Kill, Some(status)).map_err(|error| {
        store_error(StoreError::Illegal {
            id: id.to_string(),
            error,
        })
    })?;
    let Some((pid, _)) = view.init_process() else {
        crate::bail!("container {id:?} has no init process");
    };
    if all {
        let facts = RuntimeFacts::from_metadata(view.metadata.as_ref());
        let pids = facts
            .cgroup_dirs
            .iter()
            .find_map(|dir| read_pids(dir).ok())
            .unwrap_or_default();
        for member in pids {
            let _ = proc::send_signal(member, signal);
        }
    }
    fault::point("kill:before-signal");
    proc::send_signal(pid, signal)
        .with_context(|| format!("sending signal {signal} to container {id:?}"))?;
    // A frozen task acts on SIGKILL only once thawed (v1 freezer): thaw it so the kill
    // happens now, as runc does. Other signals wait for `resume`.
    if status == Status::Paused && signal == libc::SIGKILL {
        let facts = RuntimeFacts::from_metadata(view.metadata.as_ref());
        if let Some(freezer) = facts.cgroups.as_ref().and_then(Freezer::of) {
            freezer.thaw()?;
        }
    }
    Ok(())
}
