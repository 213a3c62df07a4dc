//! Turning a journal (possibly cut short by a crash) plus observations of the live system
//! into a truthful status, and into the list of things `delete --force` must undo.

use crate::record::Resource;
use crate::status::Status;
use crate::view::ContainerView;
use std::path::PathBuf;

/// What the runtime can see of the live system. Implemented over /proc in the runtime and
/// by plain values in tests.
pub trait Observer {
    /// True when `pid` exists, is not a zombie, and started at `start_time`.
    fn process_alive(&self, pid: i32, start_time: u64) -> bool;
    /// True when another runtime process holds the container's lock (a transition is
    /// genuinely in progress rather than interrupted by a crash).
    fn transition_in_progress(&self) -> bool;
    /// True when the init is still waiting for `start` (it has not exec'd the user process).
    fn init_waiting_for_start(&self) -> bool;
}

/// The status `state` reports.
///
/// Rules: no live init => `stopped` (once metadata exists). A pending `create` reports
/// `creating` while in progress or while its init lives. A pending `start` reports
/// `created` while the init waits, else `running`. A pending delete reports `stopped` when
/// the init is dead. Otherwise the committed status, with `created`/`running` demoted to
/// `stopped` once the init is dead.
pub fn derive_status(view: &ContainerView, observer: &dyn Observer) -> Status {
    todo!("{view:?} {}", observer.transition_in_progress())
}

/// One step of undoing a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undo {
    /// SIGKILL the process if it is still ours (same start time), then wait for it to go.
    KillProcess { pid: i32, start_time: u64 },
    Unmount { path: PathBuf },
    /// Remove a cgroup directory (after its processes are gone).
    RemoveCgroup { path: PathBuf },
    RemoveFile { path: PathBuf },
}

/// What `delete --force` must do, in order: processes first, then mounts, cgroups (the
/// deepest first, reverse acquisition order) and files. Every step is idempotent, so a
/// delete interrupted halfway is simply run again. The state directory itself is removed
/// last by [`crate::store::ContainerHandle::remove`].
pub fn cleanup_plan(view: &ContainerView) -> Vec<Undo> {
    todo!("{:?}", view.resources.first().map(|r: &Resource| r.clone()))
}
