//! `run`: create and start in one command. In the foreground it waits for the container,
//! forwards signals to it, returns its exit code (128 + N for a death by signal N) and
//! deletes it. With `process.terminal` and no `--console-socket`, it also serves the
//! container's terminal on the caller's.

use super::{create_serving_terminal, delete, start, CreateOptions, Created};
use crate::error::{Context, Result};
use crate::executors::{console, tty};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use ocirun_state_machine::StateRoot;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

pub fn run(
    root: &StateRoot,
    id: &str,
    options: &CreateOptions,
    detach: bool,
    keep: bool,
) -> Result<i32> {
    let Created { pid, terminal } = create_serving_terminal(root, id, options, !detach)?;
    if detach {
        start(root, id)?;
        return Ok(0);
    }
    // Blocked before the program starts, so no signal meant for it is lost; the init was
    // cloned earlier and does not inherit the mask.
    let signals = SigSet::all();
    signals.thread_block().context("blocking signals")?;
    let outcome = serve(root, id, pid, &signals, terminal);
    let _ = signals.thread_unblock();
    if !keep {
        let deleted = delete(root, id, true);
        if outcome.is_ok() {
            deleted?;
        }
    }
    outcome
}

fn serve(
    root: &StateRoot,
    id: &str,
    pid: Pid,
    signals: &SigSet,
    console_socket: Option<UnixStream>,
) -> Result<i32> {
    let master = match &console_socket {
        Some(socket) => Some(console::receive_fd(socket.as_raw_fd())?),
        None => None,
    };
    let _raw_mode = master.as_ref().map(|m| {
        tty::copy_window_size(m.as_fd());
        tty::RawMode::enter()
    });
    start(root, id)?;
    let signal_fd = SignalFd::with_flags(signals, SfdFlags::SFD_CLOEXEC).context("signalfd")?;
    wait_serving(pid, &signal_fd, master.as_ref())
}

/// Forwards signals and copies terminal bytes until the init exits; returns its code.
fn wait_serving(pid: Pid, signal_fd: &SignalFd, master: Option<&OwnedFd>) -> Result<i32> {
    let stdin = std::io::stdin();
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    let mut exit_code = None;
    loop {
        if exit_code.is_none() {
            exit_code = reap(pid)?;
        }
        if let Some(code) = exit_code {
            if !master_open {
                return Ok(code);
            }
        }
        let mut fds = vec![PollFd::new(signal_fd.as_fd(), PollFlags::POLLIN)];
        if let Some(master) = master.filter(|_| master_open) {
            fds.push(PollFd::new(master.as_fd(), PollFlags::POLLIN));
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
        }
        // Once the init is gone, drain what the pty still holds, then stop.
        let timeout = if exit_code.is_some() {
            PollTimeout::from(50u16)
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(0) => return Ok(exit_code.unwrap_or(0)),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("poll"),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            if let Some(info) = signal_fd.read_signal().context("reading signals")? {
                forward(pid, info.ssi_signo as i32, master);
            }
        }
        if let Some(master) = master {
            if ready.get(1) == Some(&true) {
                master_open = tty::pump(master, &mut std::io::stdout())?;
            }
            if ready.get(2) == Some(&true) {
                let mut to_master = std::fs::File::from(master.try_clone().context("dup")?);
                stdin_open = tty::pump(
                    &stdin.as_fd().try_clone_to_owned().context("dup")?,
                    &mut to_master,
                )?;
            }
        }
    }
}

fn forward(pid: Pid, signal: i32, master: Option<&OwnedFd>) {
    match Signal::try_from(signal) {
        Ok(Signal::SIGCHLD) | Ok(Signal::SIGURG) => {}
        Ok(Signal::SIGWINCH) => {
            if let Some(master) = master {
                tty::copy_window_size(master.as_fd());
            }
        }
        Ok(signal) => {
            let _ = kill(pid, signal);
        }
        Err(_) => {}
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
