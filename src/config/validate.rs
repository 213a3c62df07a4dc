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
    validate_hooks(spec)?;
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
        bail!("linux: required on Linux (it lists the namespaces)");
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
    if !has(LinuxNamespaceType::Mount) {
        bail!("linux.namespaces: a mount namespace is required (the rootfs is set up inside it)");
    }
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

fn validate_hooks(spec: &Spec) -> Result<()> {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)]
    let lists = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    for (name, list) in lists {
        for (index, hook) in list.iter().flatten().enumerate() {
            if !hook.path().is_absolute() {
                bail!(
                    "hooks.{name}[{index}].path: {:?} must be an absolute path",
                    hook.path().display().to_string()
                );
            }
            if hook.timeout().is_some_and(|t| t <= 0) {
                bail!("hooks.{name}[{index}].timeout: must be greater than zero");
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_from(json: &str) -> Spec {
        crate::config::parse(json.as_bytes()).expect("parses")
    }

    fn error_of(json: &str) -> String {
        let dir = tempfile::Builder::new()
            .prefix("ocirun-validate-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("rootfs")).unwrap();
        validate(&spec_from(json), dir.path())
            .unwrap_err()
            .to_string()
    }

    const BASE: &str = r#""ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0}}"#;

    #[test]
    fn each_violation_names_its_field() {
        let cases = [
            (
                r#"{"linux":{"namespaces":[{"type":"mount"},{"type":"mount"}]}}"#,
                "duplicate namespace",
            ),
            (
                r#"{"linux":{"namespaces":[{"type":"pid"}]}}"#,
                "mount namespace is required",
            ),
            (
                r#"{"linux":{"namespaces":[{"type":"mount"}],"uidMappings":[{"containerID":0,"hostID":1000,"size":1}]}}"#,
                "linux.uidMappings",
            ),
            (
                r#"{"hostname":"x","linux":{"namespaces":[{"type":"mount"}]}}"#,
                "hostname",
            ),
            (
                r#"{"linux":{"namespaces":[{"type":"mount"}]},"hooks":{"prestart":[{"path":"relative"}]}}"#,
                "hooks.prestart[0].path",
            ),
        ];
        for (extra, expected) in cases {
            let json = format!("{{{BASE},{}", &extra[1..]);
            let error = error_of(&json);
            assert!(error.contains(expected), "{json}: {error}");
        }
    }

    #[test]
    fn unknown_namespace_type_names_the_field() {
        let json = format!(
            r#"{{{BASE},"linux":{{"namespaces":[{{"type":"mount"}},{{"type":"bogus"}}]}}}}"#
        );
        let error = crate::config::parse(json.as_bytes())
            .expect_err("fails")
            .to_string();
        assert!(error.contains("linux.namespaces[1].type"), "{error}");
    }
}
