//! Descriptor hygiene for processes entering a container: what they inherited from the
//! runtime is closed, and only stdio plus the preserved fds survive exec.

use crate::error::{Context, Result};
use std::os::fd::RawFd;

/// A child of the runtime inherited every descriptor (the state lock among them, which
/// would block every later command on this container). Keep stdio, the preserved fds
/// and `keep`; close the rest.
pub fn close_inherited_fds(preserve_fds: i32, keep: &[RawFd]) {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if fd > 2 + preserve_fds && !keep.contains(&fd) {
            let _ = nix::unistd::close(fd);
        }
    }
}

/// Right before exec: preserved fds stay open across it, every other descriptor closes.
pub fn hand_over_fds(preserve_fds: i32) -> Result<()> {
    for fd in 3..3 + preserve_fds {
        // SAFETY: F_SETFD on a descriptor number changes only its flags; a closed one
        // just fails with EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
    // SAFETY: close_range only changes descriptor flags in this process.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            (3 + preserve_fds) as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("marking descriptors close-on-exec");
    }
    Ok(())
}
