//! A foreground `run` or `exec`: the runtime stays until the process exits, forwarding
//! every signal to it, serving its terminal when it has one, and returning its exit code
//! (128 + N for a death by signal N).

use crate::error::{Context, Result};
use crate::executors::{console, tty};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// Every signal, blocked (and read from a signalfd) while we wait. Block before the
/// process can run, so that no signal meant for it is lost; a child cloned earlier does
/// not inherit the mask.
pub struct BlockedSignals {
    set: SigSet,
}

pub fn block_signals() -> Result<BlockedSignals> {
    let set = SigSet::all();
    set.thread_block().context("blocking signals")?;
    Ok(BlockedSignals { set })
}

impl BlockedSignals {
    pub fn unblock(self) {
        let _ = self.set.thread_unblock();
    }
}

/// The container side of a terminal we serve: its pty master, with the caller's
/// terminal in raw mode until this is dropped.
pub struct Terminal {
    master: OwnedFd,
    _raw_mode: tty::RawMode,
}

/// Receives the pty master the process sends over `socket` (when we serve its terminal).
pub fn take_terminal(socket: Option<&UnixStream>) -> Result<Option<Terminal>> {
    let Some(socket) = socket else {
        return Ok(None);
    };
    let master = console::receive_fd(socket.as_raw_fd())?;
    tty::copy_window_size(master.as_fd());
    Ok(Some(Terminal {
        master,
        _raw_mode: tty::RawMode::enter(),
    }))
}

/// Forwards signals and copies terminal bytes until `pid` exits; returns its exit code.
pub fn wait_for(pid: Pid, signals: &BlockedSignals, terminal: Option<&Terminal>) -> Result<i32> {
    let signal_fd =
        SignalFd::with_flags(&signals.set, SfdFlags::SFD_CLOEXEC).context("signalfd")?;
    let master = terminal.map(|t| &t.master);
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
        // Once the process is gone, drain what the pty still holds, then stop.
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
