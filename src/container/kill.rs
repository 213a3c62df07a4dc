//! `kill`: signal the init (or with `--all` every process of the container's cgroup).
//! It changes no status, so it journals nothing; it only checks the table.

use super::facts::RuntimeFacts;
use super::observe::current_status;
use super::state::store_error;
use crate::error::{Context, Result};
use crate::executors::cgroups::{Freezer, Placement};
use crate::fault;
use crate::util::proc;
use ocirun_state_machine::{plan, Operation, StateRoot, Status, StoreError};

/// Sends signal number `signal` (real-time ones included).
pub fn kill(root: &StateRoot, id: &str, signal: i32, all: bool) -> Result<()> {
    let handle = root.lock(id).map_err(store_error)?;
    let view = handle.view();
    let status = current_status(view, false);
    if all && status == Status::Stopped {
        // As runc 1.1.5: the init is gone, but what it left in the cgroup (a container
        // without a pid namespace) is still signalled; the init's pid, maybe reused, is not.
        let facts = RuntimeFacts::from_metadata(view.metadata.as_ref());
        return signal_cgroup(&facts, signal, false);
    }
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
        signal_cgroup(&facts, signal, status == Status::Paused)?;
    }
    fault::point("kill:before-signal");
    match proc::send_signal(pid, signal) {
        Ok(()) => {}
        // cgroup.kill already killed the init, and its parent may have reaped it.
        Err(e) if all && e.raw_os_error() == Some(libc::ESRCH) => {}
        Err(e) => {
            return Err(e).with_context(|| format!("sending signal {signal} to container {id:?}"))
        }
    }
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

/// `kill --all`: every process of the container's cgroup. Signalling the pids one by one
/// races with processes that fork meanwhile, so: SIGKILL goes through cgroup2's
/// `cgroup.kill` where the kernel has it (5.14+; pure v2 and hybrid hosts), one atomic
/// write; otherwise, as runc does, the cgroup is frozen while its pids are read and
/// signalled, then thawed (unless the container was paused already).
fn signal_cgroup(facts: &RuntimeFacts, signal: i32, paused: bool) -> Result<()> {
    let placement = facts.cgroups.as_ref();
    if signal == libc::SIGKILL {
        if let Some(kill) = placement
            .and_then(|p| p.unified_dir())
            .map(|dir| dir.join("cgroup.kill"))
            .filter(|file| file.exists())
        {
            return std::fs::write(&kill, "1")
                .with_context(|| format!("writing 1 to {}", kill.display()));
        }
    }
    let freezer = placement.and_then(Freezer::of).filter(|_| !paused);
    if let Some(freezer) = &freezer {
        // Best effort: a cgroup that does not freeze in time is signalled all the same.
        if let Err(e) = freezer.freeze() {
            tracing::warn!("kill --all: {e}; signalling without freezing");
        }
    }
    let pids = placement.map(Placement::pids).unwrap_or_default();
    for member in pids {
        let _ = proc::send_signal(member, signal);
    }
    match freezer {
        Some(freezer) => freezer.thaw(),
        None => Ok(()),
    }
}
