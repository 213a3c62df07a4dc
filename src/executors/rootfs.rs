//! The container's root filesystem: config mounts in order, devices, pivot_root (or
//! chroot), then read-only and masked paths. Runs in the init, inside its mount namespace.

use super::cgroups::mount::{mount_cgroups, open_destination};
use super::cgroups::Placement;
use super::devices;
use super::mount_api;
use super::mount_options::{propagation_flag, MountOptions};
use super::resolve::{mount_target, resolve_in_root};
use crate::error::{Context, Result};
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::fstat;
use nix::sys::stat::Mode;
use nix::sys::statfs::{fstatfs, TMPFS_MAGIC};
use nix::sys::statvfs::{fstatvfs, statvfs, FsFlags};
use nix::unistd::{chdir, chroot, fchdir, pivot_root};
use oci_spec::runtime::{Mount, Spec};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

pub struct Rootfs<'a> {
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub placement: &'a Placement,
    pub new_cgroup_namespace: bool,
    pub new_user_namespace: bool,
}

impl Rootfs<'_> {
    /// Everything before pivot_root: propagation, the rootfs as a mount point, config
    /// mounts, devices and /dev links.
    /// Mounts the rootfs and the config's mounts and makes the devices. `cgroups_ready`
    /// is called before the first `cgroup` mount: the container must be in its cgroups by
    /// then (the caller calls it again, idempotently, when there is none).
    pub fn prepare(&self, cgroups_ready: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let linux = self.spec.linux().as_ref();
        let propagation = linux
            .and_then(|l| l.rootfs_propagation().as_deref())
            .and_then(propagation_flag)
            .unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
        // Our mounts must not travel back to the host, whatever "/" is on the host.
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            propagation | MsFlags::MS_REC,
            None::<&str>,
        )
        .context("setting the propagation of /")?;
        if propagation.contains(MsFlags::MS_SHARED) {
            // pivot_root refuses a new root whose parent mount is shared; the rootfs is
            // shared again once it is "/" (see `enter`).
            let parent = self.rootfs.parent().unwrap_or(Path::new("/"));
            let parent_mount = mount_point_containing(parent);
            mount(
                None::<&str>,
                &parent_mount,
                None::<&str>,
                MsFlags::MS_PRIVATE,
                None::<&str>,
            )
            .with_context(|| format!("making {} private", parent_mount.display()))?;
        }
        mount(
            Some(self.rootfs),
            self.rootfs,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .with_context(|| format!("bind-mounting rootfs {}", self.rootfs.display()))?;
        let mounts = self.spec.mounts().as_deref().unwrap_or_default();
        for config_mount in mounts {
            if config_mount.typ().as_deref() == Some("cgroup") {
                cgroups_ready()?;
            }
            self.mount_one(config_mount)
                .with_context(|| format!("mounting {}", config_mount.destination().display()))?;
        }
        let dev_from_host = mounts.iter().any(|m| {
            m.destination() == Path::new("/dev")
                && MountOptions::parse(m.options().as_deref().unwrap_or_default()).is_bind()
        });
        if !dev_from_host {
            let extra = linux
                .and_then(|l| l.devices().as_deref())
                .unwrap_or_default();
            devices::create(self.rootfs, extra, self.new_user_namespace)?;
            devices::link_standard(self.rootfs)?;
        }
        Ok(())
    }

    fn mount_one(&self, config_mount: &Mount) -> Result<()> {
        let options = MountOptions::parse(config_mount.options().as_deref().unwrap_or_default());
        let target = resolve_in_root(self.rootfs, config_mount.destination())?;
        let fs_type = config_mount.typ().as_deref().unwrap_or("");
        if fs_type == "cgroup" {
            std::fs::create_dir_all(&target)
                .with_context(|| format!("creating {}", target.display()))?;
            let (pinned, at) = mount_target(self.rootfs, config_mount.destination(), &target)?;
            let opened;
            let destination = match &pinned {
                Some(pinned) => pinned.as_fd(),
                None => {
                    opened = open_destination(&at)?;
                    opened.as_fd()
                }
            };
            return mount_cgroups(
                destination,
                &options,
                self.placement,
                self.new_cgroup_namespace,
            );
        }
        if options.is_bind() || fs_type == "bind" {
            return self.bind(config_mount, &options, &target);
        }
        std::fs::create_dir_all(&target)
            .with_context(|| format!("creating {}", target.display()))?;
        let source = config_mount
            .source()
            .as_ref()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| fs_type.to_string());
        let data = super::lsm::with_mount_label(
            options.data_string(),
            fs_type,
            super::lsm::mount_label(self.spec),
        );
        let destination = config_mount.destination();
        let (_pinned, at) = mount_target(self.rootfs, destination, &target)?;
        mount(
            Some(source.as_str()),
            &at,
            Some(fs_type),
            options.flags,
            data.as_deref(),
        )?;
        let label_after =
            super::lsm::mount_label(self.spec).filter(|_| super::lsm::label_after_mount(fs_type));
        if let Some(label) = label_after {
            // Pinned again: the first descriptor is the directory under the new mount.
            let (_root, root) = mount_target(self.rootfs, destination, &target)?;
            super::lsm::label_mount_root(fs_type, &root, label)?;
        }
        self.apply_propagation(destination, &target, &options)
    }

    fn bind(&self, config_mount: &Mount, options: &MountOptions, target: &Path) -> Result<()> {
        let Some(source) = config_mount.source() else {
            crate::bail!("a bind mount needs a source");
        };
        let source = if source.is_absolute() {
            source.clone()
        } else {
            self.bundle.join(source)
        };
        let meta = std::fs::metadata(&source)
            .with_context(|| format!("bind source {}", source.display()))?;
        if meta.is_dir() {
            std::fs::create_dir_all(target)
        } else {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(target)
                .map(drop)
        }
        .with_context(|| format!("creating {}", target.display()))?;
        let recursive = options.flags & MsFlags::MS_REC;
        let destination = config_mount.destination();
        let (_pinned, at) = mount_target(self.rootfs, destination, target)?;
        mount(
            Some(&source),
            &at,
            None::<&str>,
            MsFlags::MS_BIND | recursive,
            None::<&str>,
        )?;
        if options.needs_remount() {
            // Pinned again: the path now leads to the root of the new mount.
            let (_mounted, at) = mount_target(self.rootfs, destination, target)?;
            let flags = options.flags | MsFlags::MS_REMOUNT | locked_flags(&at);
            mount(
                None::<&str>,
                &at,
                None::<&str>,
                flags - options.cleared,
                None::<&str>,
            )
            .context("remounting with the bind's options")?;
        }
        self.apply_propagation(destination, target, options)
    }

    fn apply_propagation(
        &self,
        destination: &Path,
        resolved: &Path,
        options: &MountOptions,
    ) -> Result<()> {
        if options.propagation.is_empty() {
            return Ok(());
        }
        let (_mounted, at) = mount_target(self.rootfs, destination, resolved)?;
        for flag in &options.propagation {
            mount(None::<&str>, &at, None::<&str>, *flag, None::<&str>)
                .context("setting propagation")?;
        }
        Ok(())
    }
}

/// Flags a remount must keep: the kernel refuses to drop nosuid/nodev/noexec that came
/// from the source mount when the mount is locked (user namespaces).
fn locked_flags(path: &Path) -> MsFlags {
    let Ok(stat) = statvfs(path) else {
        return MsFlags::empty();
    };
    let mut flags = MsFlags::empty();
    for (fs_flag, ms_flag) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if stat.flags().contains(fs_flag) {
            flags |= ms_flag;
        }
    }
    flags
}

/// Makes `rootfs` the root: pivot_root with the old root detached, or with `--no-pivot`
/// a move of the rootfs over "/" and a chroot (for ramdisk roots where pivot_root fails).
/// `shared`: `linux.rootfsPropagation` asks for a shared root, which joins a new peer
/// group once it is "/".
pub fn enter(rootfs: &Path, no_pivot: bool, shared: bool) -> Result<()> {
    enter_root(rootfs, no_pivot)?;
    if shared {
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
        .context("making the root shared (linux.rootfsPropagation)")?;
    }
    Ok(())
}

/// The mount point of the filesystem `path` is on: the longest mount point that
/// contains it.
fn mount_point_containing(path: &Path) -> PathBuf {
    let mountinfo = crate::util::proc::read_text("/proc/self/mountinfo").unwrap_or_default();
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4).map(unescape_mountinfo))
        .map(PathBuf::from)
        .filter(|mount_point| path.starts_with(mount_point))
        .max_by_key(|mount_point| mount_point.as_os_str().len())
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// mountinfo writes space, tab, newline and backslash as \ooo octal escapes.
fn unescape_mountinfo(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(index) = rest.find('\\') {
        out.push_str(&rest[..index]);
        let code = rest
            .get(index + 1..index + 4)
            .and_then(|octal| u8::from_str_radix(octal, 8).ok());
        match code {
            Some(byte) => {
                out.push(byte as char);
                rest = &rest[index + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[index + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn enter_root(rootfs: &Path, no_pivot: bool) -> Result<()> {
    if no_pivot {
        chdir(rootfs).context("entering the rootfs")?;
        mount(
            Some(rootfs),
            "/",
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .context("moving the rootfs to /")?;
        chroot(".").context("chroot into the rootfs")?;
        return chdir("/").context("chdir to /");
    }
    let old_root = open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening /")?;
    let new_root = open(
        rootfs,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", rootfs.display()))?;
    fchdir(&new_root).context("entering the rootfs")?;
    // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "."
    // afterwards removes it without needing a directory inside the rootfs to put it in.
    pivot_root(".", ".").context("pivot_root")?;
    fchdir(&old_root).context("entering the old root")?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("making the old root a slave")?;
    umount2(".", MntFlags::MNT_DETACH).context("detaching the old root")?;
    chdir("/").context("chdir to /")
}

/// Detached bind mounts of the host's /dev/null, made before pivot_root, one per masked
/// path: masking attaches exactly these, whatever the container's /dev holds. (A plain
/// bind from a descriptor is not possible after pivot_root: the host's mount is no longer
/// in our namespace; a detached clone (open_tree) belongs to none and can be attached.)
pub struct NullDevice {
    clones: Vec<OwnedFd>,
}

impl NullDevice {
    /// Clones the host's /dev/null (checked to be the null device 1:3) once per masked
    /// path of `spec` that is a file in `rootfs` (its mounts made): a missing path is not
    /// masked and a directory gets a tmpfs. Only a count: masking itself opens each
    /// target again, and a file that appears meanwhile finds no clone left, an error.
    pub fn open_host(spec: &Spec, rootfs: &Path) -> Result<NullDevice> {
        let count = spec
            .linux()
            .as_ref()
            .and_then(|l| l.masked_paths().as_ref())
            .map_or(0, |paths| {
                paths
                    .iter()
                    .filter(|path| {
                        let inside = rootfs.join(path.trim_start_matches('/'));
                        std::fs::symlink_metadata(inside).is_ok_and(|m| !m.is_dir())
                    })
                    .count()
            });
        let mut clones = Vec::with_capacity(count);
        for _ in 0..count {
            let clone = mount_api::clone_tree(
                None,
                c"/dev/null",
                libc::AT_SYMLINK_NOFOLLOW as libc::c_uint,
            )
            .context("cloning the host's /dev/null for maskedPaths")?;
            if !is_null_device(&clone) {
                crate::bail!("maskedPaths: the host's /dev/null is not the null device (1:3)");
            }
            clones.push(clone);
        }
        Ok(NullDevice { clones })
    }

    /// Attaches one clone onto the file `target` names.
    fn attach(&mut self, target: &OwnedFd) -> Result<()> {
        let Some(clone) = self.clones.pop() else {
            crate::bail!("no clone of /dev/null left");
        };
        mount_api::attach(&clone, target.as_fd()).context("attaching /dev/null")?;
        Ok(())
    }
}

/// An O_PATH descriptor of `path` itself (a final symlink is not followed).
fn open_path(path: &Path) -> nix::Result<OwnedFd> {
    open(
        path,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

fn is_null_device(fd: &OwnedFd) -> bool {
    fstat(fd).is_ok_and(|st| {
        st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == libc::makedev(1, 3)
    })
}

/// The path through which a mount reaches exactly the file `fd` names.
fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// After pivot_root: sysctls, read-only paths, masked paths, and a read-only root.
pub fn finish(spec: &Spec, null_device: &mut NullDevice) -> Result<()> {
    let linux = spec.linux().as_ref();
    if let Some(sysctl) = linux.and_then(|l| l.sysctl().as_ref()) {
        for (key, value) in sysctl {
            let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
            std::fs::write(&path, value).with_context(|| format!("setting sysctl {key}"))?;
        }
    }
    for path in linux
        .and_then(|l| l.readonly_paths().as_deref())
        .unwrap_or_default()
    {
        make_read_only(Path::new(path)).with_context(|| format!("readonlyPaths: {path}"))?;
    }
    for path in linux
        .and_then(|l| l.masked_paths().as_deref())
        .unwrap_or_default()
    {
        mask(Path::new(path), null_device).with_context(|| format!("maskedPaths: {path}"))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        let flags = MsFlags::MS_BIND
            | MsFlags::MS_REMOUNT
            | MsFlags::MS_RDONLY
            | locked_flags(Path::new("/"));
        mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
            .context("remounting / read-only")?;
    }
    Ok(())
}

/// Makes `path` (and everything mounted below it) read-only: a detached recursive clone of
/// it, made read-only, attached onto it, all by descriptor, so a symlink swapped in
/// cannot redirect the mount; checked by descriptor after it. Kernels before 5.12 (no
/// mount_setattr) get the bind and remount by path.
fn make_read_only(path: &Path) -> Result<()> {
    let target = match open_path(path) {
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        other => other.context("opening")?,
    };
    if fstat(&target).context("stat")?.st_mode & libc::S_IFMT == libc::S_IFLNK {
        crate::bail!("is a symbolic link; refusing to mount through it");
    }
    let clone = mount_api::clone_tree(
        Some(target.as_fd()),
        c"",
        (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
    )
    .context("cloning")?;
    match mount_api::set_attributes(clone.as_fd(), mount_api::MOUNT_ATTR_RDONLY, true) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => return make_read_only_by_path(path),
        Err(e) => return Err(e).context("making the clone read-only"),
    }
    mount_api::attach(&clone, target.as_fd()).context("attaching")?;
    let result = open_path(path).context("reopening")?;
    if !fstatvfs(&result)
        .context("statvfs")?
        .flags()
        .contains(FsFlags::ST_RDONLY)
    {
        crate::bail!("after the mount it is not read-only");
    }
    Ok(())
}

fn make_read_only_by_path(path: &Path) -> Result<()> {
    match mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    ) {
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        other => other.context("bind")?,
    }
    let flags = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | MsFlags::MS_REC
        | locked_flags(path);
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>).context("remount read-only")?;
    Ok(())
}

/// Hides `path`: a file under the host's null device, a directory under a fresh read-only
/// tmpfs. Both the target and the source are held by descriptor, so a symlink swapped in
/// (runc's 2025 advisories: /dev/null made a link to a procfs file) cannot redirect the
/// mount; the result is checked by descriptor after it.
fn mask(path: &Path, null_device: &mut NullDevice) -> Result<()> {
    let target = match open_path(path) {
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        other => other.context("opening")?,
    };
    let stat = fstat(&target).context("stat")?;
    match stat.st_mode & libc::S_IFMT {
        libc::S_IFLNK => crate::bail!("is a symbolic link; refusing to mask through it"),
        libc::S_IFDIR => {
            mount(
                Some("tmpfs"),
                &fd_path(&target),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
            .context("mounting tmpfs")?;
            let masked = open_path(path).context("reopening")?;
            let fs = fstatfs(&masked).context("statfs")?;
            let flags = fstatvfs(&masked).context("statvfs")?.flags();
            if fs.filesystem_type() != TMPFS_MAGIC || !flags.contains(FsFlags::ST_RDONLY) {
                crate::bail!("after masking it is not a read-only tmpfs");
            }
        }
        _ => {
            null_device.attach(&target)?;
            let masked = open_path(path).context("reopening")?;
            if !is_null_device(&masked) {
                crate::bail!("after masking it is not the null device");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
    }

    #[test]
    fn the_root_contains_everything() {
        assert!(Path::new("/tmp/x").starts_with(mount_point_containing(Path::new("/tmp/x"))));
    }
}
