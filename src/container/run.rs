//! `run`: create and start in one command. In the foreground it waits for the container,
//! forwards signals to it, returns its exit code (128 + N for a death by signal N) and
//! deletes it.

use super::{create, delete, start, CreateOptions};
use crate::error::{Context, Result};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use ocirun_state_machine::StateRoot;

pub fn run(
    root: &StateRoot,
    id: &str,
    options: &CreateOptions,
    detach: bool,
    keep: bool,
) -> Result<i32> {
    let pid = create(root, id, options)?;
    if detach {
        start(root, id)?;
        return Ok(0);
    }
    // Blocked before the program starts, so no signal meant for it is lost; the init was
    // cloned earlier and does not inherit the mask.
    let forwarded = SigSet::all();
    forwarded.thread_block().context("blocking signals")?;
    let outcome = start(root, id).and_then(|()| wait_forwarding(pid, &forwarded));
    let _ = forwarded.thread_unblock();
    if !keep {
        let deleted = delete(root, id, true);
        if outcome.is_ok() {
            deleted?;
        }
    }
    outcome
}

fn wait_forwarding(pid: Pid, signals: &SigSet) -> Result<i32> {
    loop {
        if let Some(code) = reap(pid)? {
            return Ok(code);
        }
        match signals.wait().context("waiting for signals")? {
            Signal::SIGCHLD | Signal::SIGURG => {}
            Signal::SIGWINCH => {}
            signal => {
                let _ = kill(pid, signal);
            }
        }
    }
}

/// Reaps every exited child; the init's exit code when it is among them.
fn reap(pid: Pid) -> Result<Option<i32>> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(child, code)) if child == pid => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(child, signal, _)) if child == pid => {
                return Ok(Some(128 + signal as i32))
            }
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(_) => continue,
            Err(nix::errno::Errno::ECHILD) => return Ok(Some(0)),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container"),
        }
    }
}
