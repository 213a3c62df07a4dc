//! Linux security modules: the AppArmor profile and the SELinux labels the config asks
//! for. A request the host cannot honour is an error (a container that silently runs
//! unconfined is worse than one that does not start), found before anything is made.

use crate::bail;
use crate::error::{Context, Result};
use oci_spec::runtime::{Process, Spec};
use std::path::Path;

/// Whether AppArmor is enabled on this host.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim_start().starts_with('Y'))
}

/// Whether the kernel has `profile` loaded, from securityfs's list (`name (mode)` per
/// line); None when the list cannot be read (securityfs not mounted): the exec will tell.
fn apparmor_profile_loaded(profile: &str) -> Option<bool> {
    if profile == "unconfined" {
        return Some(true);
    }
    let loaded = std::fs::read_to_string("/sys/kernel/security/apparmor/profiles").ok()?;
    Some(is_listed(&loaded, profile))
}

fn is_listed(profiles: &str, profile: &str) -> bool {
    profiles.lines().any(|line| {
        line.strip_prefix(profile)
            .is_some_and(|rest| rest.starts_with(" ("))
    })
}

/// Whether SELinux is enabled on this host (its filesystem is mounted).
pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

fn requested(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// Refuses a process whose LSM settings this host cannot apply. `field` names the
/// process's origin in messages ("process" for config.json).
pub fn check_process(process: &Process, field: &str) -> Result<()> {
    if let Some(profile) = requested(process.apparmor_profile()) {
        if !apparmor_enabled() {
            bail!("{field}.apparmorProfile {profile:?}: AppArmor is not enabled on this host");
        }
        if apparmor_profile_loaded(profile) == Some(false) {
            bail!("{field}.apparmorProfile {profile:?}: no such profile is loaded in the kernel");
        }
    }
    if let Some(label) = requested(process.selinux_label()) {
        if !selinux_enabled() {
            bail!("{field}.selinuxLabel {label:?}: SELinux is not enabled on this host");
        }
    }
    Ok(())
}

/// Refuses a config whose LSM settings this host cannot apply.
pub fn check_spec(spec: &Spec) -> Result<()> {
    if let Some(process) = spec.process() {
        check_process(process, "process")?;
    }
    if let Some(label) = mount_label(spec) {
        if !selinux_enabled() {
            bail!("linux.mountLabel {label:?}: SELinux is not enabled on this host");
        }
    }
    Ok(())
}

/// `linux.mountLabel`, when set.
pub fn mount_label(spec: &Spec) -> Option<&str> {
    spec.linux()
        .as_ref()
        .and_then(|l| requested(l.mount_label()))
}

/// Filesystems whose mount takes an SELinux `context=` option; proc, sysfs, cgroups and
/// the like have fixed labels and refuse it.
fn takes_context(fs_type: &str) -> bool {
    !matches!(
        fs_type,
        "proc" | "sysfs" | "cgroup" | "cgroup2" | "securityfs" | "bind" | "debugfs" | "tracefs"
    )
}

/// The mount data with `context="<label>"` added where the filesystem takes it.
pub fn with_mount_label(
    data: Option<String>,
    fs_type: &str,
    label: Option<&str>,
) -> Option<String> {
    let Some(label) = label.filter(|_| takes_context(fs_type)) else {
        return data;
    };
    let context = format!("context=\"{label}\"");
    Some(match data {
        Some(data) if !data.is_empty() => format!("{data},{context}"),
        _ => context,
    })
}

/// The text written to the AppArmor exec attribute: the profile applies at execve.
pub fn apparmor_exec_command(profile: &str) -> String {
    format!("exec {profile}")
}

/// Right before execve: the process's AppArmor profile and SELinux label take effect
/// with the exec, so hooks run before them are not confined by them.
pub fn prepare_exec(process: &Process) -> Result<()> {
    if let Some(profile) = requested(process.apparmor_profile()) {
        let command = apparmor_exec_command(profile);
        // The AppArmor-specific file since Linux 5.8; the shared one before.
        let attribute = if Path::new("/proc/self/attr/apparmor/exec").exists() {
            "/proc/self/attr/apparmor/exec"
        } else {
            "/proc/self/attr/exec"
        };
        std::fs::write(attribute, &command).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => crate::error::Error::new(format!(
                "process.apparmorProfile {profile:?}: no such profile is loaded in the kernel"
            )),
            _ => crate::error::Error::from(e)
                .wrap(format!("process.apparmorProfile {profile:?}: applying it")),
        })?;
    }
    if let Some(label) = requested(process.selinux_label()) {
        std::fs::write("/proc/self/attr/exec", label)
            .with_context(|| format!("process.selinuxLabel: applying {label}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_loaded_when_securityfs_lists_it_by_its_whole_name() {
        let list = "docker-default (enforce)\nocirun-lane (complain)\n/usr/bin/man (enforce)\n";
        assert!(is_listed(list, "ocirun-lane"));
        assert!(is_listed(list, "/usr/bin/man"));
        assert!(!is_listed(list, "ocirun"));
        assert!(!is_listed(list, "docker"));
        assert!(!is_listed("", "docker-default"));
    }

    #[test]
    fn mount_label_goes_into_the_data_of_filesystems_that_take_it() {
        let label = Some("system_u:object_r:container_file_t:s0:c1,c2");
        assert_eq!(
            with_mount_label(Some("mode=755".into()), "tmpfs", label).unwrap(),
            "mode=755,context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert_eq!(
            with_mount_label(None, "mqueue", label).unwrap(),
            "context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert_eq!(with_mount_label(None, "proc", label), None);
        assert_eq!(
            with_mount_label(Some("x".into()), "sysfs", label).as_deref(),
            Some("x")
        );
        assert_eq!(with_mount_label(None, "tmpfs", None), None);
    }

    #[test]
    fn apparmor_changes_profile_on_exec() {
        assert_eq!(
            apparmor_exec_command("docker-default"),
            "exec docker-default"
        );
    }
}
