//! `run`: create and start in one command. In the foreground it waits for the container,
//! forwards signals to it, returns its exit code (128 + N for a death by signal N) and
//! deletes it. With `process.terminal` and no `--console-socket`, it also serves the
//! container's terminal on the caller's.

use super::foreground::{block_signals, take_terminal, wait_for};
use super::start::start_locked;
use super::{create_serving_terminal, delete, CreateOptions, Created};
use crate::error::Result;
use ocirun_state_machine::StateRoot;

pub fn run(
    root: &StateRoot,
    id: &str,
    options: &CreateOptions,
    detach: bool,
    keep: bool,
) -> Result<i32> {
    let Created {
        pid,
        terminal,
        handle,
    } = create_serving_terminal(root, id, options, !detach)?;
    if detach {
        start_locked(handle)?;
        return Ok(0);
    }
    // Blocked before the program starts, so no signal meant for it is lost; the init was
    // cloned earlier and does not inherit the mask.
    let signals = block_signals()?;
    let outcome = take_terminal(terminal.as_ref()).and_then(|terminal| {
        start_locked(handle)?;
        wait_for(pid, &signals, terminal.as_ref())
    });
    signals.unblock();
    if !keep {
        let deleted = delete(root, id, true);
        if outcome.is_ok() {
            deleted?;
        }
    }
    outcome
}
