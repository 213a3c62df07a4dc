//! The live side of status: /proc answers whether the init lives and whether it is
//! still the runtime waiting for `start`.

use super::facts::RuntimeFacts;
use crate::executors::cgroups::Freezer;
use crate::util::proc;
use ocirun_state_machine::{derive_status, ContainerView, Observer, Status};

pub struct LiveObserver {
    pub lock_held_elsewhere: bool,
    pub init: Option<(i32, u64)>,
    /// The binary the init runs until it execs the program (see `RuntimeFacts`).
    pub runtime_executable: Option<(u64, u64)>,
    /// The container's freezer, from the journaled placement.
    pub freezer: Option<Freezer>,
}

impl Observer for LiveObserver {
    fn process_alive(&self, pid: i32, start_time: u64) -> bool {
        proc::is_alive(pid, start_time)
    }

    fn transition_in_progress(&self) -> bool {
        self.lock_held_elsewhere
    }

    fn init_waiting_for_start(&self) -> bool {
        let Some((pid, _)) = self.init else {
            return false;
        };
        let runtime = self
            .runtime_executable
            .or_else(|| proc::executable_identity("self"));
        runtime.is_some() && proc::executable_identity(&pid.to_string()) == runtime
    }

    fn cgroup_frozen(&self) -> Option<bool> {
        self.freezer.as_ref()?.is_frozen()
    }
}

/// The status of a container whose lock we hold (or that we read while `busy` tells
/// whether someone else holds it).
pub fn current_status(view: &ContainerView, lock_held_elsewhere: bool) -> Status {
    let facts = RuntimeFacts::from_metadata(view.metadata.as_ref());
    let observer = LiveObserver {
        lock_held_elsewhere,
        init: view.init_process(),
        runtime_executable: facts.runtime_executable,
        freezer: facts.cgroups.as_ref().and_then(Freezer::of),
    };
    derive_status(view, &observer)
}
