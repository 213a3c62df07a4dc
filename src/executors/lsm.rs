//! Linux security modules: the AppArmor profile and the SELinux labels the config asks
//! for. A request the host cannot honour is an error (a container that silently runs
//! unconfined is worse than one that does not start), found before anything is made.

use super::trampoline::ExecLabel;
use crate::bail;
use crate::error::{Context, Result};
use oci_spec::runtime::{Process, Spec};
use std::ffi::CString;
use std::os::fd::AsRawFd;
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
        if !context_valid(label) {
            bail!("{field}.selinuxLabel {label:?}: {NOT_IN_POLICY}");
        }
    }
    Ok(())
}

const NOT_IN_POLICY: &str = "not a valid context in the loaded SELinux policy";

/// Whether the loaded policy accepts `label`, asked as libselinux's security_check_context
/// does: selinuxfs's context file refuses an invalid one with EINVAL. Without this the
/// process label would fail only at the exec, after everything was made, and a mount
/// label at a mount whose error does not say which setting was wrong. Any other outcome
/// (no selinuxfs, a policy that does not let us ask) counts as valid: the kernel still
/// refuses a bad label when it is applied.
fn context_valid(label: &str) -> bool {
    let asked = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/sys/fs/selinux/context")
        .and_then(|mut file| std::io::Write::write(&mut file, label.as_bytes()));
    !is_refused(&asked)
}

fn is_refused(asked: &std::io::Result<usize>) -> bool {
    matches!(asked, Err(e) if e.raw_os_error() == Some(libc::EINVAL))
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
        if !context_valid(label) {
            bail!("linux.mountLabel {label:?}: {NOT_IN_POLICY}");
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
/// the like have fixed labels and refuse it. So does mqueue: the kernel makes its
/// superblock when the IPC namespace is created, and a mount with other security options
/// than that one's fails with EINVAL; its root is labelled after the mount instead
/// (`label_after_mount`), as runc does.
fn takes_context(fs_type: &str) -> bool {
    !matches!(
        fs_type,
        "proc"
            | "sysfs"
            | "cgroup"
            | "cgroup2"
            | "securityfs"
            | "bind"
            | "debugfs"
            | "tracefs"
            | "mqueue"
    )
}

/// Filesystems whose mounted root gets `linux.mountLabel` as its file label, having
/// refused it as a mount option.
pub fn label_after_mount(fs_type: &str) -> bool {
    fs_type == "mqueue"
}

/// After a mount at `root` whose filesystem refused the label as an option
/// (`label_after_mount`): the label on its root. mqueue has no xattr handler: the kernel
/// hands the security.selinux attribute to SELinux, which relabels the inode in memory.
pub fn label_mount_root(fs_type: &str, root: &Path, label: &str) -> Result<()> {
    let path = std::ffi::CString::new(root.as_os_str().as_encoded_bytes())
        .map_err(|_| crate::error::Error::new(format!("{}: a NUL in the path", root.display())))?;
    // SAFETY: both strings are NUL-terminated and live across the call; the value is a
    // byte slice with its length.
    let rc = unsafe {
        libc::setxattr(
            path.as_ptr(),
            c"security.selinux".as_ptr(),
            label.as_ptr().cast(),
            label.len(),
            0,
        )
    };
    if rc != 0 {
        return Err(
            crate::error::Error::from(std::io::Error::last_os_error()).wrap(format!(
                "linux.mountLabel {label:?}: labelling the {fs_type} mount"
            )),
        );
    }
    Ok(())
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

/// The file an AppArmor exec profile is written to: the AppArmor-specific one since
/// Linux 5.8, the shared one before.
fn apparmor_exec_attribute() -> &'static str {
    if Path::new("/proc/self/attr/apparmor/exec").exists() {
        "/proc/self/attr/apparmor/exec"
    } else {
        "/proc/self/attr/exec"
    }
}

/// Whether `process` asks for both an AppArmor profile and an SELinux label (the exec
/// trampoline writes one label only).
pub fn requests_two_labels(process: &Process) -> bool {
    requested(process.apparmor_profile()).is_some() && requested(process.selinux_label()).is_some()
}

/// Whether `process` asks for a label that takes effect at exec.
pub fn exec_label_requested(process: &Process) -> bool {
    requested(process.apparmor_profile()).is_some() || requested(process.selinux_label()).is_some()
}

/// For the exec trampoline: the attr file the process's label goes to, opened (not
/// close-on-exec, the trampoline writes and closes it) with the text to write, or None
/// without a label. The label then takes effect with the program's exec, as with
/// [`prepare_exec`].
pub fn exec_label(process: &Process) -> Result<Option<ExecLabel>> {
    let (attribute, text, field) = if let Some(profile) = requested(process.apparmor_profile()) {
        (
            apparmor_exec_attribute(),
            apparmor_exec_command(profile),
            "process.apparmorProfile",
        )
    } else if let Some(label) = requested(process.selinux_label()) {
        (
            "/proc/self/attr/exec",
            label.to_string(),
            "process.selinuxLabel",
        )
    } else {
        return Ok(None);
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(attribute)
        .with_context(|| format!("{field}: opening {attribute}"))?;
    // SAFETY: F_SETFD with 0 clears close-on-exec on a descriptor we own.
    unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFD, 0) };
    Ok(Some(ExecLabel {
        attr_file: file.into(),
        text: CString::new(text).with_context(|| format!("{field} contains a NUL byte"))?,
    }))
}

/// Right before execve: the process's AppArmor profile and SELinux label take effect
/// with the exec, so hooks run before them are not confined by them.
pub fn prepare_exec(process: &Process) -> Result<()> {
    if let Some(profile) = requested(process.apparmor_profile()) {
        let command = apparmor_exec_command(profile);
        let attribute = apparmor_exec_attribute();
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
            with_mount_label(None, "devpts", label).unwrap(),
            "context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert_eq!(with_mount_label(None, "proc", label), None);
        // mqueue's superblock exists before the mount: its root is labelled instead.
        assert_eq!(with_mount_label(None, "mqueue", label), None);
        assert!(label_after_mount("mqueue"));
        assert!(!label_after_mount("tmpfs"));
        assert_eq!(
            with_mount_label(Some("x".into()), "sysfs", label).as_deref(),
            Some("x")
        );
        assert_eq!(with_mount_label(None, "tmpfs", None), None);
    }

    #[test]
    fn a_mount_root_that_cannot_be_labelled_is_an_error_naming_the_setting() {
        let nowhere = Path::new("/nonexistent/ocirun-lsm-test");
        let err = label_mount_root("mqueue", nowhere, "a:b:c:s0").unwrap_err();
        assert!(err.to_string().contains("linux.mountLabel"), "{err}");
        assert!(err.to_string().contains("mqueue"), "{err}");
    }

    #[test]
    fn only_einval_from_selinuxfs_refuses_a_context() {
        let errno = |n| Err(std::io::Error::from_raw_os_error(n));
        assert!(is_refused(&errno(libc::EINVAL)));
        assert!(!is_refused(&errno(libc::ENOENT)));
        assert!(!is_refused(&errno(libc::EACCES)));
        assert!(!is_refused(&Ok(8)));
    }

    #[test]
    fn apparmor_changes_profile_on_exec() {
        assert_eq!(
            apparmor_exec_command("docker-default"),
            "exec docker-default"
        );
    }
}
