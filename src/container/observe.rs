//! The live side of status: /proc answers whether the init lives and whether it is
//! still the runtime waiting for `start`.

use crate::util::proc;
use ocirun_state_machine::{derive_status, ContainerView, Observer, Status};

pub struct LiveObserver {
    pub lock_held_elsewhere: bool,
    pub init: Option<(i32, u64)>,
}

impl Observer for LiveObserver {
    fn process_alive(&self, pid: i32, start_time: u64) -> bool {
        proc::is_alive(pid, start_time)
    }

    fn transition_in_progress(&self) -> bool {
        self.lock_held_elsewhere
    }

    fn init_waiting_for_start(&self) -> bool {
        self.init.is_some_and(|(pid, _)| proc::runs_our_binary(pid))
    }
}

/// The status of a container whose lock we hold (or that we read while `busy` tells
/// whether someone else holds it).
pub fn current_status(view: &ContainerView, lock_held_elsewhere: bool) -> Status {
    let observer = LiveObserver {
        lock_held_elsewhere,
        init: view.init_process(),
    };
    derive_status(view, &observer)
}
