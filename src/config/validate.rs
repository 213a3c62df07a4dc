//! Checks the spec requires of config.json beyond its JSON types. Each error names the
//! field at fault.

use crate::bail;
use crate::error::Result;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Validates `spec` for a bundle at `bundle_dir`; returns the absolute rootfs path.
pub fn validate(spec: &Spec, bundle_dir: &Path) -> Result<PathBuf> {
    let rootfs = validate_root(spec, bundle_dir)?;
    validate_process(spec)?;
    validate_linux(spec)?;
    validate_mounts(spec)?;
    Ok(rootfs)
}

fn validate_root(spec: &Spec, bundle_dir: &Path) -> Result<PathBuf> {
    let Some(root) = spec.root() else {
        bail!("root: required field is missing");
    };
    let path = root.path();
    if path.as_os_str().is_empty() {
        bail!("root.path: must not be empty");
    }
    let rootfs = bundle_dir.join(path);
    match std::fs::metadata(&rootfs) {
        Ok(meta) if meta.is_dir() => Ok(rootfs),
        Ok(_) => bail!("root.path: {} is not a directory", rootfs.display()),
        Err(e) => bail!("root.path: rootfs {}: {e}", rootfs.display()),
    }
}

fn validate_process(spec: &Spec) -> Result<()> {
    let Some(process) = spec.process() else {
        bail!("process: required to create a container");
    };
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => bail!("process.args: must name the program to run"),
    }
    if !process.cwd().is_absolute() {
        bail!(
            "process.cwd: {:?} must be an absolute path",
            process.cwd().display().to_string()
        );
    }
    for entry in process.env().iter().flatten() {
        if !entry.contains('=') {
            bail!("process.env: {entry:?} is not of the form NAME=VALUE");
        }
    }
    Ok(())
}

fn validate_linux(spec: &Spec) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    let mut seen = HashSet::new();
    for ns in namespaces {
        if !seen.insert(ns.typ()) {
            bail!(
                "linux.namespaces: duplicate namespace type {:?}",
                ns.typ().to_string()
            );
        }
        if let Some(path) = ns.path() {
            if !path.is_absolute() {
                bail!(
                    "linux.namespaces: {} path {:?} must be absolute",
                    ns.typ(),
                    path
                );
            }
            if let Err(e) = std::fs::metadata(path) {
                bail!(
                    "linux.namespaces: {} path {}: {e}",
                    ns.typ(),
                    path.display()
                );
            }
        }
    }
    let has = |t: LinuxNamespaceType| namespaces.iter().any(|n| n.typ() == t);
    let private = |t: LinuxNamespaceType| {
        namespaces
            .iter()
            .any(|n| n.typ() == t && n.path().is_none())
    };
    let mapped = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if mapped && !has(LinuxNamespaceType::User) {
        bail!("linux.uidMappings: id mappings need a user namespace in linux.namespaces");
    }
    if private(LinuxNamespaceType::User) && !mapped {
        bail!("linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !private(LinuxNamespaceType::Uts)
    {
        bail!("hostname: setting the hostname needs a new uts namespace");
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty())
        && !private(LinuxNamespaceType::Uts)
    {
        bail!("domainname: setting the domainname needs a new uts namespace");
    }
    if linux.time_offsets().is_some() && !private(LinuxNamespaceType::Time) {
        bail!("linux.timeOffsets: time offsets need a new time namespace");
    }
    if let Some(sysctl) = linux.sysctl() {
        for key in sysctl.keys() {
            if key.contains("..") || key.starts_with('/') {
                bail!("linux.sysctl: invalid key {key:?}");
            }
        }
    }
    if let Some(propagation) = linux.rootfs_propagation() {
        if crate::executors::mount_options::propagation_flag(propagation).is_none() {
            bail!("linux.rootfsPropagation: unknown propagation {propagation:?}");
        }
    }
    Ok(())
}

fn validate_mounts(spec: &Spec) -> Result<()> {
    for (index, mount) in spec.mounts().iter().flatten().enumerate() {
        let destination = mount.destination();
        if destination.as_os_str().is_empty() {
            bail!("mounts[{index}].destination: must not be empty");
        }
        if !destination.is_absolute() {
            bail!(
                "mounts[{index}].destination: {:?} must be an absolute path",
                destination.display().to_string()
            );
        }
    }
    Ok(())
}
