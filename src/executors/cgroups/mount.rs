//! The `cgroup` mount type inside the container: each hierarchy at
//! `<destination>/<name>` on a tmpfs (v1 and hybrid), or the cgroup2 filesystem itself at
//! `<destination>` (pure v2). With a cgroup namespace the real filesystem is mounted (the
//! kernel roots it at the container's cgroup); without one, the container's own
//! directory is bind-mounted so the host tree stays hidden.
//!
//! Everything happens by descriptor (CVE-2021-30465 class): the destination arrives
//! opened inside the rootfs (openat2, RESOLVE_IN_ROOT); the tmpfs is made detached
//! (fsopen/fsmount) and attached onto it; each hierarchy's directory is made and opened
//! inside that tmpfs, which only this mount namespace sees; the binds are detached clones
//! of the host's directories attached onto those. Nothing is looked up again by path in a
//! tree the container could change.

use super::hierarchy::Hierarchy;
use super::placement::Placement;
use crate::error::{Context, Result};
use crate::executors::mount_api::{self, MOUNT_ATTR_RDONLY};
use crate::executors::mount_options::MountOptions;
use nix::fcntl::{openat, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{mkdirat, Mode};
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Mounts the cgroup hierarchies on `destination`, an opened directory of the container.
pub fn mount_cgroups(
    destination: BorrowedFd,
    options: &MountOptions,
    placement: &Placement,
    new_namespace: bool,
) -> Result<()> {
    let flags = options.flags - MsFlags::MS_BIND - MsFlags::MS_REC;
    let attributes = mount_api::attributes_of(flags);
    if placement.hierarchies.is_pure_v2() {
        let hierarchy = &placement.hierarchies.all[0];
        return attach_hierarchy(
            hierarchy,
            &placement.dirs[0],
            destination,
            flags,
            attributes,
            new_namespace,
        );
    }
    let tmpfs = mount_api::new_filesystem(
        c"tmpfs",
        &[(c"source", c"tmpfs"), (c"mode", c"755")],
        attributes & !MOUNT_ATTR_RDONLY,
    )
    .context("making the tmpfs for the cgroup hierarchies")?;
    mount_api::attach(&tmpfs, destination).context("attaching the cgroup tmpfs")?;
    for (hierarchy, host_dir) in placement.hierarchies.all.iter().zip(&placement.dirs) {
        let name = hierarchy.name();
        mkdirat(
            tmpfs.as_fd(),
            name.as_str(),
            Mode::from_bits_truncate(0o755),
        )
        .with_context(|| format!("creating {name} in the cgroup tmpfs"))?;
        let target = openat(
            tmpfs.as_fd(),
            name.as_str(),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("opening {name} in the cgroup tmpfs"))?;
        // The flags go on the whole tree at the end, in one call.
        attach_hierarchy(hierarchy, host_dir, target.as_fd(), flags, 0, new_namespace)?;
    }
    mount_api::set_attributes(tmpfs.as_fd(), attributes, true)
        .context("setting the cgroup mount's flags")
}

/// Puts one hierarchy on `target`: its filesystem (in a cgroup namespace, where the
/// kernel roots it at our cgroup) or a clone of the container's directory `host_dir`,
/// taking the `MOUNT_ATTR_*` bits `attributes` (0: set later by the caller).
fn attach_hierarchy(
    hierarchy: &Hierarchy,
    host_dir: &Path,
    target: BorrowedFd,
    flags: MsFlags,
    attributes: u64,
    new_namespace: bool,
) -> Result<()> {
    if new_namespace {
        let (fs_type, data) = if hierarchy.unified {
            ("cgroup2", None)
        } else {
            ("cgroup", Some(hierarchy.controllers.join(",")))
        };
        return mount(
            Some(fs_type),
            &fd_path(target),
            Some(fs_type),
            flags,
            data.as_deref(),
        )
        .with_context(|| format!("mounting {fs_type} ({})", hierarchy.name()));
    }
    let source = CString::new(host_dir.as_os_str().as_bytes())
        .with_context(|| format!("{}: contains a NUL byte", host_dir.display()))?;
    let clone = mount_api::clone_tree(None, &source, libc::AT_RECURSIVE as libc::c_uint)
        .with_context(|| format!("cloning {}", host_dir.display()))?;
    if attributes != 0 {
        mount_api::set_attributes(clone.as_fd(), attributes, true)
            .with_context(|| format!("setting the flags of {}", host_dir.display()))?;
    }
    mount_api::attach(&clone, target).with_context(|| format!("binding {}", host_dir.display()))
}

fn fd_path(fd: BorrowedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `destination` opened without following a final link, for kernels without openat2
/// (the rest of the rootfs falls back to paths there too).
pub fn open_destination(destination: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        destination,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", destination.display()))
}
