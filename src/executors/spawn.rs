//! Creating the container's init with clone(2): it starts in its new namespaces (so with
//! a new pid namespace it is PID 1), as a copy of this process, with no re-exec of the
//! runtime binary and no intermediate process.

use crate::error::{Context, Result};
use nix::sched::CloneFlags;
use nix::unistd::Pid;

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
