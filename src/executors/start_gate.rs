//! How `start` releases a created container. The runtime binds a listening socket
//! `exec.sock` in the state directory before cloning the init; the init inherits it and,
//! once set up, blocks in accept(2). `start` connects: the init runs the startContainer
//! hooks and execs. Its end of the connection is close-on-exec, so `start` reads EOF
//! exactly when the exec succeeded, or an error message when it did not.
//!
//! Unlike runc's fifo this needs no /proc inside the container, a dead init refuses the
//! connection at once instead of blocking `start`, and peer credentials can be checked.

use super::trampoline::{self, Step};
use crate::error::{Context, Error, Result};
use nix::sys::socket::{
    accept4, bind, connect, getsockopt, listen, socket, sockopt, AddressFamily, Backlog, SockFlag,
    SockType, UnixAddr,
};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

pub const SOCKET_NAME: &str = "exec.sock";

/// sun_path holds 108 bytes; a deep `--root` or a long id goes through /proc/self/fd.
fn with_address<T>(state_dir: &Path, action: impl FnOnce(&UnixAddr) -> Result<T>) -> Result<T> {
    let direct = state_dir.join(SOCKET_NAME);
    if direct.as_os_str().len() < 100 {
        return action(&UnixAddr::new(&direct).context("socket address")?);
    }
    let dir = File::open(state_dir).with_context(|| format!("opening {}", state_dir.display()))?;
    let short = PathBuf::from(format!("/proc/self/fd/{}/{SOCKET_NAME}", dir.as_raw_fd()));
    action(&UnixAddr::new(&short).context("socket address")?)
}

pub struct Listener {
    fd: OwnedFd,
}

pub fn listen_in(state_dir: &Path) -> Result<Listener> {
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .context("creating the start socket")?;
    with_address(state_dir, |address| {
        bind(fd.as_raw_fd(), address).context("binding the start socket")
    })?;
    listen(&fd, Backlog::new(4).expect("valid backlog"))
        .context("listening on the start socket")?;
    Ok(Listener { fd })
}

impl Listener {
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// In the init: blocks until a runtime as privileged as our creator connects.
    pub fn wait_for_start(&self, allowed_uid: u32) -> Result<File> {
        loop {
            let connection = match accept4(&self.fd, SockFlag::SOCK_CLOEXEC) {
                Ok(connection) => connection,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::new(format!("waiting for start: {e}"))),
            };
            let peer =
                getsockopt(&connection, sockopt::PeerCredentials).context("peer credentials")?;
            if peer.uid() == 0 || peer.uid() == allowed_uid {
                return Ok(File::from(connection));
            }
        }
    }
}

/// In `start`: releases the init and returns once it has exec'd the user program
/// (`program`, its `args[0]`, names it in errors).
pub fn release(state_dir: &Path, program: &str) -> Result<()> {
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .context("creating a socket")?;
    with_address(state_dir, |address| {
        connect(fd.as_raw_fd(), address).map_err(|e| match e {
            nix::errno::Errno::ECONNREFUSED | nix::errno::Errno::ENOENT => {
                Error::new("the container's init is no longer waiting for start")
            }
            e => Error::new(format!("connecting to the container's init: {e}")),
        })
    })?;
    let mut connection = File::from(fd);
    let mut report = Vec::new();
    connection
        .read_to_end(&mut report)
        .context("waiting for the container's program to start")?;
    if report.is_empty() {
        return Ok(());
    }
    Err(Error::new(match trampoline::parse_report(&report) {
        Some((Step::Exec, errno)) => format!("exec {program}: {errno}"),
        Some((Step::Label, errno)) => format!("applying the process's LSM label: {errno}"),
        Some((Step::CloseOnExec, errno)) => {
            format!("exec {program}: the exec trampoline could not close its report: {errno}")
        }
        None => String::from_utf8_lossy(&report).into_owned(),
    }))
}

/// In the init: tells `start` why the program did not start.
pub fn report_failure(connection: &mut File, error: &Error) {
    let _ = connection.write_all(error.to_string().as_bytes());
}
