//! `start`: release a created container's init to exec the user program, then run the
//! poststart hooks. A poststart failure stops the container (spec lifecycle step 9).

use super::cleanup::kill_and_wait;
use super::conclude::conclude;
use super::facts::RuntimeFacts;
use super::observe::current_status;
use super::state::{store_error, ContainerState};
use crate::error::Result;
use crate::executors::hooks::{self, Phase};
use crate::executors::start_gate;
use crate::fault;
use ocirun_state_machine::{ContainerHandle, Operation, StateRoot, Status};

pub fn start(root: &StateRoot, id: &str) -> Result<()> {
    start_locked(root.lock(id).map_err(store_error)?)
}

/// `start` of a container whose lock we already hold (`run` keeps it from `create`).
pub fn start_locked(mut handle: ContainerHandle) -> Result<()> {
    let id = handle.id().to_string();
    let status = current_status(handle.view(), false);
    let transition = handle
        .begin(Operation::Start, status)
        .map_err(store_error)?;
    fault::point("start:after-intent");
    let facts = RuntimeFacts::from_metadata(handle.view().metadata.as_ref());
    let program = facts
        .process
        .as_ref()
        .and_then(|p| p["args"][0].as_str())
        .unwrap_or("the container's program")
        .to_string();
    let released = start_gate::release(handle.dir(), &program);
    if released.is_ok() {
        tracing::debug!("start {id}: the program runs");
        fault::point("start:after-release");
    }
    conclude(
        &mut handle,
        transition,
        released,
        format!("starting container {id:?}"),
    )?;
    fault::point("start:after-commit");
    let _ = std::fs::remove_file(handle.dir().join(start_gate::SOCKET_NAME));
    if !facts.poststart_hooks.is_empty() {
        let state = ContainerState::from_view(&id, handle.view(), Status::Running);
        if let Err(error) =
            hooks::run_all(Phase::Poststart, &facts.poststart_hooks, &state.for_hooks())
        {
            if let Some((pid, start_time)) = handle.view().init_process() {
                kill_and_wait(pid, start_time);
            }
            return Err(error);
        }
    }
    Ok(())
}
