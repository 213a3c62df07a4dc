//! The kernel's descriptor-based mount calls (open_tree, move_mount: Linux 5.2;
//! mount_setattr: 5.12), which nix does not wrap. They make detached mounts that belong to
//! no namespace, attach a mount to a file named by a descriptor, and change the flags of a
//! whole mount tree in one call.

use nix::mount::MsFlags;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;

/// struct mount_attr (linux/mount.h).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A detached copy of the mount at `path` (relative to `dir`, or the current directory
/// when `dir` is None): `OPEN_TREE_CLONE` plus `extra_flags` (`AT_RECURSIVE`,
/// `AT_SYMLINK_NOFOLLOW`...). Close-on-exec.
pub fn clone_tree(
    dir: Option<BorrowedFd>,
    path: &CStr,
    extra_flags: libc::c_uint,
) -> std::io::Result<OwnedFd> {
    let dirfd: RawFd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: open_tree reads a NUL-terminated path and returns a new descriptor.
    let raw = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            dirfd,
            path.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | extra_flags,
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: open_tree just returned this descriptor to us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(raw as RawFd) })
}

/// Attaches the detached mount `mount` on the file or directory `target` is open on.
pub fn attach(mount: &OwnedFd, target: BorrowedFd) -> std::io::Result<()> {
    let empty = c"";
    // SAFETY: move_mount reads two NUL-terminated (empty) paths; both descriptors are
    // open for the duration of the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mount.as_raw_fd(),
            empty.as_ptr(),
            target.as_raw_fd(),
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the `MOUNT_ATTR_*` bits `set` on the mount `mount` is open on (an `open_tree`
/// descriptor, or any descriptor with `AT_EMPTY_PATH`), and with `recursive` on every
/// mount below it too, in one call.
pub fn set_attributes(mount: BorrowedFd, set: u64, recursive: bool) -> std::io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let empty = c"";
    // SAFETY: mount_setattr reads an empty path and one mount_attr of the size passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mount.as_raw_fd(),
            empty.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;

/// A new, detached filesystem of type `fs_type` with the string options `options`
/// (fsopen, fsconfig, fsmount), its mount taking the `MOUNT_ATTR_*` bits `attributes`.
/// The descriptor is the root of the new mount, before and after it is attached.
pub fn new_filesystem(
    fs_type: &CStr,
    options: &[(&CStr, &CStr)],
    attributes: u64,
) -> std::io::Result<OwnedFd> {
    // SAFETY: fsopen reads a NUL-terminated name and returns a new descriptor.
    let raw = unsafe { libc::syscall(libc::SYS_fsopen, fs_type.as_ptr(), FSOPEN_CLOEXEC) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fsopen just returned this descriptor to us alone.
    let context = unsafe { OwnedFd::from_raw_fd(raw as RawFd) };
    for (key, value) in options {
        // SAFETY: fsconfig reads two NUL-terminated strings; the context is ours.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                context.as_raw_fd(),
                FSCONFIG_SET_STRING,
                key.as_ptr(),
                value.as_ptr(),
                0,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    // SAFETY: FSCONFIG_CMD_CREATE takes no key nor value.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            context.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fsmount turns the configured context into a detached mount descriptor.
    let raw = unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            context.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            attributes as libc::c_uint,
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fsmount just returned this descriptor to us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(raw as RawFd) })
}

/// The `MOUNT_ATTR_*` bits for the per-mount flags among `flags` (read-only, nosuid,
/// nodev, noexec). Access-time flags are left to each mount.
pub fn attributes_of(flags: MsFlags) -> u64 {
    [
        (MsFlags::MS_RDONLY, MOUNT_ATTR_RDONLY),
        (MsFlags::MS_NOSUID, MOUNT_ATTR_NOSUID),
        (MsFlags::MS_NODEV, MOUNT_ATTR_NODEV),
        (MsFlags::MS_NOEXEC, MOUNT_ATTR_NOEXEC),
    ]
    .into_iter()
    .filter(|(flag, _)| flags.contains(*flag))
    .fold(0, |bits, (_, attr)| bits | attr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_mount_flags_map_to_attributes() {
        let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOEXEC | MsFlags::MS_RELATIME;
        assert_eq!(attributes_of(flags), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC);
        assert_eq!(attributes_of(MsFlags::MS_BIND), 0);
    }
}
