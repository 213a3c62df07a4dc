//! Device nodes in the container's /dev: the spec's default set plus `linux.devices`, and
//! the standard /dev symlinks.

use crate::error::{Context, Result};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use std::os::unix::fs::symlink;
use std::path::Path;

/// (path, major, minor) of the devices every container gets (runtime spec, "Default Devices").
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

pub fn create(rootfs: &Path, extra: &[LinuxDevice], in_user_namespace: bool) -> Result<()> {
    for (path, major, minor) in DEFAULT_DEVICES {
        if extra.iter().any(|d| d.path() == Path::new(path)) {
            continue;
        }
        make_node(
            rootfs,
            Path::new(path),
            SFlag::S_IFCHR,
            major,
            minor,
            0o666,
            (0, 0),
            in_user_namespace,
        )
        .with_context(|| format!("creating {path}"))?;
    }
    for device in extra {
        let kind = match device.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => crate::bail!(
                "linux.devices: {}: type 'a' is not a device",
                device.path().display()
            ),
        };
        let owner = (device.uid().unwrap_or(0), device.gid().unwrap_or(0));
        make_node(
            rootfs,
            device.path(),
            kind,
            device.major() as u64,
            device.minor() as u64,
            device.file_mode().unwrap_or(0o666),
            owner,
            in_user_namespace,
        )
        .with_context(|| format!("linux.devices: creating {}", device.path().display()))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn make_node(
    rootfs: &Path,
    path: &Path,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    (uid, gid): (u32, u32),
    in_user_namespace: bool,
) -> Result<()> {
    let target = super::resolve::resolve_in_root(rootfs, path)?;
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_file(&target);
    if in_user_namespace {
        // mknod is not allowed in a user namespace: bind the host's node instead.
        std::fs::File::create(&target)?;
        mount(
            Some(path),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )?;
        return Ok(());
    }
    mknod(
        &target,
        kind,
        Mode::from_bits_truncate(mode),
        makedev(major, minor),
    )?;
    // mknod is subject to the umask; the config's mode is not.
    std::fs::set_permissions(
        &target,
        std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777),
    )?;
    nix::unistd::chown(&target, Some(uid.into()), Some(gid.into()))?;
    Ok(())
}

pub fn link_standard(rootfs: &Path) -> Result<()> {
    let mut links = vec![
        ("/proc/self/fd", "dev/fd"),
        ("/proc/self/fd/0", "dev/stdin"),
        ("/proc/self/fd/1", "dev/stdout"),
        ("/proc/self/fd/2", "dev/stderr"),
    ];
    if rootfs.join("dev/pts").is_dir() {
        links.push(("pts/ptmx", "dev/ptmx"));
    }
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "dev/core"));
    }
    for (target, link) in links {
        let link_path = rootfs.join(link);
        match symlink(target, &link_path) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if link == "dev/ptmx" {
                    // A ptmx node from the image would bypass the container's devpts.
                    std::fs::remove_file(&link_path)?;
                    symlink(target, &link_path)?;
                }
            }
            other => other.with_context(|| format!("linking /{link}"))?,
        }
    }
    Ok(())
}
