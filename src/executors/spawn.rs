//! Creating the container's init with clone(2): it starts in its new namespaces (so with
//! a new pid namespace it is PID 1), as a copy of this process, with no re-exec of the
//! runtime binary and no intermediate process.

use crate::error::{Context, Result};
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, BorrowedFd};

pub enum Forked {
    Parent(Pid),
    Child,
}

/// fork(2) with namespace flags. The runtime is single-threaded, so the child may go on
/// to allocate and run ordinary Rust code.
pub fn clone_with(flags: CloneFlags) -> Result<Forked> {
    // SAFETY: SYS_clone with a null stack behaves like fork(2): the child continues on a
    // copy-on-write copy of this stack. We have one thread, so no lock can be held by a
    // thread that does not exist in the child.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags.bits() | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match ret {
        -1 => Err(std::io::Error::last_os_error()).context("clone"),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
    }
}

/// clone3's argument block (linux/sched.h), up to the `cgroup` field (kernel 5.7).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Like [`clone_with`], but the child is born in the cgroup2 directory `cgroup`
/// (CLONE_INTO_CGROUP): no migration, so no wait for an RCU grace period. The bool says
/// whether that happened; on kernels without clone3 or CLONE_INTO_CGROUP it falls back to
/// a plain clone and the caller joins the cgroup by pid.
pub fn clone_into_cgroup(flags: CloneFlags, cgroup: Option<BorrowedFd>) -> Result<(Forked, bool)> {
    if let Some(cgroup) = cgroup {
        let args = CloneArgs {
            flags: u64::from(flags.bits() as u32) | CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: cgroup.as_raw_fd() as u64,
            ..CloneArgs::default()
        };
        // SAFETY: `args` is a valid clone_args of the size passed. A zero stack gives
        // fork(2) semantics, as in clone_with; we are single-threaded.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        match ret {
            0 => return Ok((Forked::Child, true)),
            pid if pid > 0 => return Ok((Forked::Parent(Pid::from_raw(pid as i32)), true)),
            _ => tracing::debug!(
                "clone3 into a cgroup: {}; falling back to clone",
                std::io::Error::last_os_error()
            ),
        }
    }
    clone_with(flags).map(|forked| (forked, false))
}

/// Writes the container's id mappings for a child in a new user namespace.
pub fn write_id_maps(pid: Pid, spec: &oci_spec::runtime::Spec) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let format = |maps: &[oci_spec::runtime::LinuxIdMapping]| {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    if let Some(maps) = linux.gid_mappings() {
        std::fs::write(format!("/proc/{pid}/gid_map"), format(maps))
            .context("linux.gidMappings: writing gid_map")?;
    }
    if let Some(maps) = linux.uid_mappings() {
        std::fs::write(format!("/proc/{pid}/uid_map"), format(maps))
            .context("linux.uidMappings: writing uid_map")?;
    }
    Ok(())
}
