//! Descriptor hygiene for processes entering a container: what they inherited from the
//! runtime is closed, and only stdio plus the preserved fds survive exec.

use crate::error::{Context, Result};
use std::os::fd::RawFd;

/// A child of the runtime inherited every descriptor (the state lock among them, which
/// would block every later command on this container). Keep stdio, the preserved fds
/// and `keep`; close the rest, with one close_range per gap between the kept ones (no
/// listing of /proc/self/fd).
pub fn close_inherited_fds(preserve_fds: i32, keep: &[RawFd]) {
    let first = 3 + preserve_fds.max(0);
    let mut kept: Vec<RawFd> = keep.iter().copied().filter(|&fd| fd >= first).collect();
    kept.sort_unstable();
    kept.dedup();
    let mut from = first;
    for fd in kept.into_iter().chain([RawFd::MAX]) {
        if fd > from {
            close_range(from, fd - 1);
        }
        from = fd.saturating_add(1);
    }
}

fn close_range(first: RawFd, last: RawFd) {
    // SAFETY: close_range only closes descriptors of this process; none in the range is
    // in use by anything we still need.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            last as libc::c_uint,
            0,
        )
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn is_open(fd: RawFd) -> bool {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
    }

    #[test]
    fn every_inherited_descriptor_closes_but_stdio_the_preserved_and_the_kept() {
        // In a child: closing descriptors of the test process would break the harness.
        // SAFETY: the child opens files, closes descriptors and _exits; no locks are taken
        // between fork and exit that the parent could hold.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let files: Vec<std::fs::File> = (0..8)
                    .map(|_| std::fs::File::open("/dev/null").unwrap())
                    .collect();
                let fds: Vec<RawFd> = files.iter().map(|f| f.as_raw_fd()).collect();
                let (preserved, keep) = (fds[0], [fds[3], fds[5]]);
                // Preserve exactly up to the first file's number.
                close_inherited_fds(preserved - 2, &keep);
                let expected: Vec<bool> = fds
                    .iter()
                    .map(|fd| *fd <= preserved || keep.contains(fd))
                    .collect();
                let actual: Vec<bool> = fds.iter().map(|&fd| is_open(fd)).collect();
                std::mem::forget(files);
                // SAFETY: leave the forked test process at once.
                unsafe {
                    libc::_exit(if actual == expected && is_open(2) {
                        0
                    } else {
                        1
                    })
                }
            }
            nix::unistd::ForkResult::Parent { child } => {
                let status = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
            }
        }
    }
}
