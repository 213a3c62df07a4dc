//! Undoing a container's host resources, for delete and for a failed create. Each step is
//! idempotent, so an interrupted cleanup is finished by running it again.

use super::facts::RuntimeFacts;
use super::state::{store_error, ContainerState};
use crate::error::Result;
use crate::executors::cgroups::{placement, systemd, Freezer};
use crate::executors::hooks::{self, Phase};
use crate::fault;
use crate::util::proc;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use ocirun_state_machine::{cleanup_plan, ContainerHandle, ContainerView, Status, Undo};
use std::time::{Duration, Instant};

/// Undoes every resource, runs the poststop hooks (spec lifecycle steps 12 and 13) when
/// asked, and removes the state directory.
pub fn destroy(handle: ContainerHandle, run_poststop: bool) -> Result<()> {
    let view = handle.view().clone();
    let facts = RuntimeFacts::from_metadata(view.metadata.as_ref());
    kill_if_frozen(&facts);
    undo_all(&view)?;
    fault::point("delete:after-undo");
    if run_poststop && !facts.poststop_hooks.is_empty() {
        let state = ContainerState::from_view(handle.id(), &view, Status::Stopped);
        if let Err(e) = hooks::run_all(Phase::Poststop, &facts.poststop_hooks, &state.for_hooks()) {
            // The spec: a failing poststop hook is a warning, and the lifecycle goes on.
            tracing::warn!("{e}");
        }
    }
    fault::point("delete:before-remove");
    handle.remove().map_err(store_error)
}

/// A frozen (paused) container would keep its SIGKILLed tasks until thawed, and its
/// cgroups busy: kill every task, then thaw, so they die at once.
fn kill_if_frozen(facts: &RuntimeFacts) {
    let Some(placement) = &facts.cgroups else {
        return;
    };
    let Some(freezer) = Freezer::of(placement) else {
        return;
    };
    if freezer.is_frozen() != Some(true) {
        return;
    }
    for pid in placement.pids() {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    if let Err(e) = freezer.thaw() {
        tracing::warn!("thawing a paused container to delete it: {e}");
    }
}

pub fn undo_all(view: &ContainerView) -> Result<()> {
    let facts = RuntimeFacts::from_metadata(view.metadata.as_ref());
    for step in cleanup_plan(view) {
        match step {
            Undo::KillProcess { pid, start_time } => kill_and_wait(pid, start_time),
            Undo::Unmount { path } => {
                let _ = nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH);
            }
            Undo::RemoveCgroup { path } => placement::remove(&path)?,
            Undo::RemoveFile { path } => {
                let _ = std::fs::remove_file(&path);
            }
            Undo::StopSystemdUnit { name } => {
                // Stopping a scope that still has processes would wait for them (a
                // SIGTERM, then up to its stop timeout): they go first.
                if let Some(placement) = &facts.cgroups {
                    for pid in placement.pids() {
                        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                    }
                }
                if systemd::systemd_is_running() {
                    systemd::driver::stop_scope(&name)?;
                }
            }
        }
    }
    Ok(())
}

/// SIGKILL the init if it is still ours, and wait until it has exited (a zombie counts:
/// its parent, not us, reaps it).
pub fn kill_and_wait(pid: i32, start_time: u64) {
    if !proc::is_alive(pid, start_time) {
        return;
    }
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc::is_alive(pid, start_time) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(200));
    }
}
