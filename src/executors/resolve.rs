//! Resolving a path inside the container's rootfs the way the container will see it:
//! symlinks are followed relative to the rootfs, and `..` never climbs above it, so a
//! hostile rootfs cannot point a mount at the host.

use crate::bail;
use crate::error::Result;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

const MAX_SYMLINKS: usize = 255;

/// `root` joined with `unsafe_path` after resolving every symlink within `root`. Missing
/// components are kept as they are (the caller creates them).
pub fn resolve_in_root(root: &Path, unsafe_path: &Path) -> Result<PathBuf> {
    let mut pending: Vec<OsString> = components(unsafe_path);
    pending.reverse();
    let mut resolved: Vec<OsString> = Vec::new();
    let mut links_followed = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = join(root, &resolved).join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links_followed += 1;
                if links_followed > MAX_SYMLINKS {
                    bail!(
                        "too many levels of symbolic links in {}",
                        unsafe_path.display()
                    );
                }
                let target = std::fs::read_link(&candidate)?;
                if target.is_absolute() {
                    resolved.clear();
                }
                let mut expanded = components(&target);
                expanded.reverse();
                pending.extend(expanded);
            }
            _ => resolved.push(part),
        }
    }
    Ok(join(root, &resolved))
}

fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

fn join(root: &Path, parts: &[OsString]) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(parts);
    path
}

/// A path inside the rootfs held open (O_PATH) after resolving it with openat2's
/// RESOLVE_IN_ROOT: mounting onto [`Pinned::path`] mounts exactly there, even if a
/// process swaps a component of the path for a symlink meanwhile (CVE-2021-30465).
pub struct Pinned {
    fd: std::os::fd::OwnedFd,
}

impl std::os::fd::AsFd for Pinned {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Pinned {
    /// The magic link naming the opened file; mount(2) follows it to that very inode.
    pub fn path(&self) -> PathBuf {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

/// Opens `inside` (a path as the container sees it) within `root`. `None` when the
/// kernel has no openat2 (before 5.6): the caller then uses the resolved path.
pub fn pin_in_root(root: &Path, inside: &Path) -> Result<Option<Pinned>> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let root_dir = std::fs::File::open(root)?;
    let relative = inside.strip_prefix("/").unwrap_or(inside);
    let relative = if relative.as_os_str().is_empty() {
        Path::new(".")
    } else {
        relative
    };
    let name = std::ffi::CString::new(relative.as_os_str().as_bytes()).map_err(|_| {
        crate::error::Error::new(format!("{}: contains a NUL byte", inside.display()))
    })?;
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: `name` is a valid C string and `how` a valid open_how of the size passed;
    // the kernel keeps neither pointer.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root_dir.as_raw_fd(),
            name.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::ENOSYS) {
            return Ok(None);
        }
        return Err(crate::error::Error::new(format!(
            "opening {} inside the rootfs: {error}",
            inside.display()
        )));
    }
    // SAFETY: openat2 returned a new descriptor that nothing else owns.
    Ok(Some(Pinned {
        fd: unsafe { OwnedFd::from_raw_fd(fd as i32) },
    }))
}

/// Where to mount for `inside`: the pinned descriptor's path, or on an old kernel the
/// path `resolve_in_root` gave.
pub fn mount_target(
    root: &Path,
    inside: &Path,
    resolved: &Path,
) -> Result<(Option<Pinned>, PathBuf)> {
    let pinned = pin_in_root(root, inside)?;
    let path = pinned
        .as_ref()
        .map_or_else(|| resolved.to_path_buf(), Pinned::path);
    Ok((pinned, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let dir = std::env::temp_dir().join(format!("ocirun-resolve-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("real")).unwrap();
        symlink("/", root.join("escape")).unwrap();
        symlink("../../../../etc", root.join("climb")).unwrap();
        symlink("real", root.join("relative")).unwrap();
        assert_eq!(
            resolve_in_root(&root, Path::new("/escape/x")).unwrap(),
            root.join("x")
        );
        assert_eq!(
            resolve_in_root(&root, Path::new("/climb")).unwrap(),
            root.join("etc")
        );
        assert_eq!(
            resolve_in_root(&root, Path::new("/relative/y")).unwrap(),
            root.join("real/y")
        );
        assert_eq!(
            resolve_in_root(&root, Path::new("/../../z")).unwrap(),
            root.join("z")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_pinned_path_cannot_leave_the_root_even_through_a_symlink_swapped_in_later() {
        let dir = std::env::temp_dir().join(format!("ocirun-pin-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        // Resolved while it did not exist, then made a link to the host's /.
        let resolved = resolve_in_root(&root, Path::new("/target")).unwrap();
        std::os::unix::fs::symlink("/", root.join("target")).unwrap();
        let (pinned, at) = mount_target(&root, Path::new("/target/etc"), &resolved).unwrap();
        assert!(pinned.is_some(), "openat2 is available on this kernel");
        let opened = std::fs::read_link(&at).unwrap();
        assert_eq!(
            opened,
            root.join("etc"),
            "the link to / is taken inside the root"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
