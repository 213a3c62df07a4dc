//! CVE-2019-5736: the runtime must never run inside a container from the host's binary.
//!
//! ocirun's init is a clone of the runtime, and an exec'd process is one too: until they
//! execve the container's program they run the runtime's code, inside the container's
//! namespaces, and `/proc/<pid>/exe` of each names the file they run. A container process
//! that opens it (or execs `/proc/self/exe` as its entrypoint, or through a `#!` line)
//! holds the runtime's file; once the runtime stops running it (no more ETXTBSY), a write
//! through that descriptor would replace the host's ocirun.
//!
//! `create` and `run` avoid that with the exec trampoline (`trampoline.rs`): the init
//! execs a tiny sealed program of ours that execs the container's program, so the host's
//! binary is never the executable of a process the container can reach. Where the
//! trampoline does not protect enough or cannot work ([`trampoline_unsuitable`]), and for
//! `exec` (whose process joins a container that may hold anything an earlier `exec`
//! granted), the runtime re-executes itself, once, from a read-only view of its binary: a detached, read-only bind
//! mount of the file (open_tree + mount_setattr), attached to no mount namespace, so that
//! `/proc/<pid>/exe` names the file on a mount where every open for writing fails with
//! EROFS. It copies nothing. Where the kernel cannot make one (before 5.12, or without
//! CAP_SYS_ADMIN), a sealed memfd copy does the same job (F_SEAL_WRITE, F_SEAL_SHRINK,
//! F_SEAL_GROW, F_SEAL_SEAL) at the price of copying the binary. A binary already on a
//! read-only mount needs neither. docs/security.md compares the options and their cost.

use super::trampoline::Trampoline;
use super::{lsm, mount_api, seccomp};
use crate::error::{Context, Error, Result};
use oci_spec::runtime::{Capability, Spec};
use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// Set in the environment of the re-executed runtime, so that a copy that somehow does
/// not look sealed fails instead of re-executing forever.
const REEXECUTED: &str = "_OCIRUN_SEALED_COPY";

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether `file` is a memfd with every seal we set.
fn is_sealed(file: &File) -> bool {
    // SAFETY: F_GET_SEALS only reads the descriptor's seals; it fails on other files.
    let seals = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & SEALS == SEALS
}

/// Whether nothing can open `file` (our executable) for writing: a sealed copy, or a file
/// on a read-only mount.
fn is_protected(file: &File) -> bool {
    is_sealed(file)
        || nix::sys::statvfs::fstatvfs(file)
            .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
}

/// A detached read-only bind mount of our executable; the descriptor names the file.
fn read_only_view() -> Result<OwnedFd> {
    let view = mount_api::clone_tree(None, c"/proc/self/exe", 0).context("open_tree")?;
    mount_api::set_attributes(view.as_fd(), mount_api::MOUNT_ATTR_RDONLY, false)
        .context("mount_setattr read-only")?;
    Ok(view)
}

/// Whether this process already runs from a binary nothing can open for writing.
pub fn running_protected() -> bool {
    File::open("/proc/self/exe").is_ok_and(|exe| is_protected(&exe))
}

/// Re-executes this process from a sealed copy of its binary, with the same arguments and
/// environment, unless it already runs from one. Returns only when it already does.
pub fn ensure_running_sealed() -> Result<()> {
    let marked = std::env::var_os(REEXECUTED).is_some();
    let current = File::open("/proc/self/exe").context("opening /proc/self/exe")?;
    if is_protected(&current) {
        // Not inherited by what we run: hooks and the container see a clean environment.
        std::env::remove_var(REEXECUTED);
        return Ok(());
    }
    if marked {
        return Err(Error::new(
            "re-executing from a read-only view of the runtime failed: /proc/self/exe is still writable",
        ));
    }
    let image = match read_only_view() {
        Ok(view) => view,
        Err(error) => {
            tracing::debug!("no read-only view of the runtime ({error}): using a sealed copy");
            sealed_copy(&current)?
        }
    };
    drop(current);
    let args: Vec<CString> = std::env::args_os().map(c_string).collect::<Result<_>>()?;
    let mut env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut pair = k;
            pair.push("=");
            pair.push(v);
            c_string(pair)
        })
        .collect::<Result<_>>()?;
    env.push(CString::new(format!("{REEXECUTED}=1")).expect("no NUL"));
    // The image is close-on-exec: it is gone from our descriptors once the exec succeeds,
    // while the kernel keeps it as our executable.
    let error = nix::unistd::fexecve(&image, &args, &env).unwrap_err();
    Err(Error::new(format!(
        "re-executing from a read-only view of the runtime: {error}"
    )))
}

/// What `create` does against CVE-2019-5736 for a container with `spec`, before anything
/// exists: the exec trampoline for the init to exec the program through; or None, when
/// this process already runs from a protected binary, or after re-executing from a
/// read-only view because the trampoline does not suit `spec` (the re-executed runtime
/// arrives here again, protected).
pub fn protect_for(spec: &Spec) -> Result<Option<Trampoline>> {
    if running_protected() {
        // Not inherited by what we run: hooks and the container see a clean environment.
        std::env::remove_var(REEXECUTED);
        return Ok(None);
    }
    let reason = match trampoline_unsuitable(spec) {
        None => match Trampoline::load() {
            Ok(trampoline) => return Ok(Some(trampoline)),
            Err(error) => error.to_string(),
        },
        Some(reason) => reason,
    };
    tracing::debug!("no exec trampoline ({reason}): re-executing from a read-only view");
    ensure_running_sealed()?;
    Ok(None)
}

/// Why the exec trampoline is not enough for a container with `spec`, if it is not; the
/// runtime then re-executes from a read-only view before it creates anything.
///
/// - CAP_SYS_PTRACE in any of the process's sets: a process of the container could then
///   open the waiting init's `/proc/<pid>/exe` (non-dumpable stops only processes
///   without it), and keep the host's binary open until it can write to it.
/// - createContainer and startContainer hooks: the init forks and execs them inside the
///   container without the trampoline.
/// - an AppArmor profile and an SELinux label at once: the trampoline writes one label.
/// - a seccomp profile that does not plainly allow what the trampoline calls after the
///   filter is loaded: execveat, fcntl, and with a label write and close.
pub fn trampoline_unsuitable(spec: &Spec) -> Option<String> {
    let process = spec.process().as_ref()?;
    if let Some(caps) = process.capabilities() {
        let sets = [
            caps.bounding(),
            caps.effective(),
            caps.permitted(),
            caps.inheritable(),
            caps.ambient(),
        ];
        if sets.iter().any(|set| {
            set.as_ref()
                .is_some_and(|s| s.contains(&Capability::SysPtrace))
        }) {
            return Some("process.capabilities grants CAP_SYS_PTRACE".into());
        }
    }
    let hooks = spec.hooks().as_ref();
    let in_container_hooks = hooks.is_some_and(|h| {
        h.create_container().as_ref().is_some_and(|l| !l.is_empty())
            || h.start_container().as_ref().is_some_and(|l| !l.is_empty())
    });
    if in_container_hooks {
        return Some("hooks run inside the container".into());
    }
    if lsm::requests_two_labels(process) {
        return Some("both an AppArmor profile and an SELinux label".into());
    }
    if let Some(filter) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        let labelled = lsm::exec_label_requested(process);
        let needed: &[&str] = if labelled {
            &["execveat", "fcntl", "write", "close"]
        } else {
            &["execveat", "fcntl"]
        };
        if let Some(refused) = needed
            .iter()
            .find(|name| !seccomp::plainly_allows(filter, name))
        {
            return Some(format!("linux.seccomp does not plainly allow {refused}"));
        }
    }
    None
}

/// A sealed in-memory copy of `binary`.
fn sealed_copy(binary: &File) -> Result<OwnedFd> {
    let name = CString::new("ocirun").expect("no NUL");
    // SAFETY: memfd_create reads a NUL-terminated name and returns a new descriptor.
    let raw =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error()).context("memfd_create");
    }
    // SAFETY: memfd_create just returned this descriptor to us alone.
    let copy = unsafe { OwnedFd::from_raw_fd(raw) };
    let size = binary
        .metadata()
        .context("reading the runtime's size")?
        .len() as usize;
    let mut copied = 0usize;
    while copied < size {
        // SAFETY: sendfile copies between two descriptors we own, advancing the source's
        // file offset (a null offset pointer).
        let n = unsafe {
            libc::sendfile(
                copy.as_raw_fd(),
                binary.as_raw_fd(),
                std::ptr::null_mut(),
                size - copied,
            )
        };
        match n {
            n if n > 0 => copied += n as usize,
            0 => break,
            _ => {
                let error = std::io::Error::last_os_error();
                if error.kind() != std::io::ErrorKind::Interrupted {
                    return Err(error).context("copying the runtime into memory");
                }
            }
        }
    }
    if copied != size {
        return Err(Error::new(
            "copying the runtime into memory: the binary changed size",
        ));
    }
    // SAFETY: F_ADD_SEALS takes an integer bitmask.
    if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } != 0 {
        return Err(std::io::Error::last_os_error()).context("sealing the runtime's copy");
    }
    Ok(copy)
}

fn c_string(value: OsString) -> Result<CString> {
    CString::new(value.as_bytes()).context("argument contains a NUL byte")
}

/// Makes this process non-dumpable: other processes of the container (same uid, even
/// root in it) can then no longer open its /proc/<pid>/{exe,fd,cwd,root,environ,mem},
/// which would reach the runtime's descriptors before exec. execve of the program resets
/// it, as the kernel does for every exec.
pub fn hide_from_the_container() {
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
}
