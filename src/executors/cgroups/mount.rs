//! The `cgroup` mount type inside the container: each hierarchy at
//! `<destination>/<name>` on a tmpfs (v1 and hybrid), or the cgroup2 filesystem itself at
//! `<destination>` (pure v2). With a cgroup namespace the real filesystem is mounted (the
//! kernel roots it at the container's cgroup); without one, the container's own
//! directory is bind-mounted so the host tree stays hidden.

use super::placement::Placement;
use crate::error::{Context, Result};
use crate::executors::mount_api;
use crate::executors::mount_options::MountOptions;
use nix::mount::{mount, MsFlags};
use std::os::fd::AsFd;
use std::path::Path;

pub fn mount_cgroups(
    destination: &Path,
    options: &MountOptions,
    placement: &Placement,
    new_namespace: bool,
) -> Result<()> {
    let flags = options.flags - MsFlags::MS_BIND - MsFlags::MS_REC;
    std::fs::create_dir_all(destination)
        .with_context(|| format!("creating {}", destination.display()))?;
    if placement.hierarchies.is_pure_v2() {
        return mount_one(
            &placement.dirs[0],
            destination,
            "cgroup2",
            flags,
            new_namespace,
        );
    }
    mount(
        Some("tmpfs"),
        destination,
        Some("tmpfs"),
        flags - MsFlags::MS_RDONLY,
        Some("mode=755"),
    )
    .with_context(|| format!("mounting tmpfs on {}", destination.display()))?;
    let mut targets = Vec::new();
    for (hierarchy, host_dir) in placement.hierarchies.all.iter().zip(&placement.dirs) {
        let target = destination.join(hierarchy.name());
        std::fs::create_dir_all(&target)
            .with_context(|| format!("creating {}", target.display()))?;
        if new_namespace {
            let (fs_type, data) = if hierarchy.unified {
                ("cgroup2", None)
            } else {
                ("cgroup", Some(hierarchy.controllers.join(",")))
            };
            mount(
                Some(fs_type),
                &target,
                Some(fs_type),
                flags,
                data.as_deref(),
            )
            .with_context(|| format!("mounting {fs_type} on {}", target.display()))?;
        } else {
            bind(host_dir, &target)?;
            targets.push(target);
        }
    }
    // A bind mount takes its flags only from a remount: one call for the whole tree
    // (tmpfs and every bind) instead of one remount per hierarchy, where the kernel can.
    if !targets.is_empty() {
        let tree = std::fs::File::open(destination)
            .with_context(|| format!("opening {}", destination.display()))?;
        let attributes = mount_api::attributes_of(flags);
        match mount_api::set_attributes(tree.as_fd(), attributes, true) {
            Ok(()) => return Ok(()),
            Err(error) => {
                tracing::debug!(
                    "mount_setattr on {}: {error}; remounting each",
                    destination.display()
                );
                for target in &targets {
                    remount_bind(target, flags)?;
                }
            }
        }
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        mount(
            None::<&str>,
            destination,
            None::<&str>,
            flags | MsFlags::MS_REMOUNT,
            Some("mode=755"),
        )
        .with_context(|| format!("remounting {} read-only", destination.display()))?;
    }
    Ok(())
}

fn mount_one(
    host_dir: &Path,
    target: &Path,
    fs_type: &str,
    flags: MsFlags,
    new_namespace: bool,
) -> Result<()> {
    if new_namespace {
        mount(Some(fs_type), target, Some(fs_type), flags, None::<&str>)
            .with_context(|| format!("mounting {fs_type} on {}", target.display()))
    } else {
        bind(host_dir, target)?;
        remount_bind(target, flags)
    }
}

fn bind(host_dir: &Path, target: &Path) -> Result<()> {
    mount(
        Some(host_dir),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("binding {} on {}", host_dir.display(), target.display()))
}

fn remount_bind(target: &Path, flags: MsFlags) -> Result<()> {
    mount(
        None::<&str>,
        target,
        None::<&str>,
        flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT,
        None::<&str>,
    )
    .with_context(|| format!("remounting {}", target.display()))
}
