//! The container process's identity and limits: rlimits, oom score, user and groups,
//! capabilities, no_new_privs, cwd, and finding the program to exec.

use super::capabilities;
use super::trampoline::{ExecLabel, Trampoline};
use crate::bail;
use crate::error::{Context, Result};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::{PosixRlimitType, Process};
use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Limits that must be set while still privileged (raising a hard limit needs
/// CAP_SYS_RESOURCE).
pub fn apply_limits(process: &Process) -> Result<()> {
    for rlimit in process.rlimits().iter().flatten() {
        let resource = rlimit_resource(rlimit.typ());
        let limit = libc::rlimit {
            rlim_cur: rlimit.soft(),
            rlim_max: rlimit.hard(),
        };
        // SAFETY: setrlimit reads one valid rlimit struct.
        if unsafe { libc::setrlimit(resource, &limit) } != 0 {
            return Err(std::io::Error::last_os_error())
                .context(format!("process.rlimits: setting {:?}", rlimit.typ()));
        }
    }
    if let Some(score) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", score.to_string())
            .context("process.oomScoreAdj")?;
    }
    Ok(())
}

fn rlimit_resource(typ: PosixRlimitType) -> libc::__rlimit_resource_t {
    match typ {
        PosixRlimitType::RlimitCpu => libc::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => libc::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => libc::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => libc::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => libc::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => libc::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => libc::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => libc::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => libc::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => libc::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => libc::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => libc::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Switches to the configured user and capability sets. Order matters: the bounding set
/// shrinks while we hold CAP_SETPCAP, KEEPCAPS carries the permitted set across setuid,
/// and the final sets are applied after it.
pub fn become_user(process: &Process) -> Result<()> {
    let user = process.user();
    if let Some(caps) = process.capabilities() {
        capabilities::limit_bounding(caps).context("process.capabilities.bounding")?;
    }
    // runc's default when the config says nothing, whatever the caller's umask is.
    let umask = user.umask().unwrap_or(0o022);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
    // SAFETY: prctl(PR_SET_KEEPCAPS) takes plain integers.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    let groups: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    if let Err(e) = setgroups(&groups) {
        // setgroups is denied in a user namespace with setgroups=deny; only fatal if asked.
        if !groups.is_empty() {
            return Err(e).context("process.user.additionalGids");
        }
    }
    let gid = Gid::from_raw(user.gid());
    setresgid(gid, gid, gid)
        .with_context(|| format!("process.user.gid: setting gid {}", user.gid()))?;
    let uid = Uid::from_raw(user.uid());
    setresuid(uid, uid, uid)
        .with_context(|| format!("process.user.uid: setting uid {}", user.uid()))?;
    // SAFETY: as above.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) };
    if let Some(caps) = process.capabilities() {
        capabilities::apply(caps).context("process.capabilities")?;
    }
    if process.no_new_privileges().unwrap_or(false) {
        // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes plain integers.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error()).context("process.noNewPrivileges");
        }
    }
    Ok(())
}

/// Enters `cwd`, creating it if the image lacks it (as runc does).
pub fn enter_cwd(process: &Process) -> Result<()> {
    let cwd = process.cwd();
    if !cwd.exists() {
        std::fs::create_dir_all(cwd)
            .with_context(|| format!("process.cwd: creating {}", cwd.display()))?;
    }
    nix::unistd::chdir(cwd).with_context(|| format!("process.cwd: {}", cwd.display()))?;
    check_cwd_inside_root(cwd)
}

/// CVE-2024-21626: a cwd reached through a magic link (`/proc/self/fd/N` of a descriptor
/// that leaked from the host) lands outside the container's root. The kernel's getcwd
/// says so: it prefixes a path outside our root with "(unreachable)" (glibc's getcwd turns
/// that into ENOENT, so ask the kernel directly).
fn check_cwd_inside_root(cwd: &Path) -> Result<()> {
    let mut buffer = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: the kernel writes at most `buffer.len()` bytes into our buffer.
    let length = unsafe {
        libc::syscall(
            libc::SYS_getcwd,
            buffer.as_mut_ptr(),
            buffer.len() as libc::c_ulong,
        )
    };
    if length < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("process.cwd: {}: getcwd", cwd.display()));
    }
    if !buffer.starts_with(b"/") {
        bail!(
            "process.cwd: {} resolves outside the container's root filesystem",
            cwd.display()
        );
    }
    Ok(())
}

/// Finds `args[0]` the way execvp would, with the container's PATH; done before the init
/// waits for `start`, so a missing program fails `create`.
pub fn find_program(process: &Process) -> Result<PathBuf> {
    let args = process.args().as_deref().unwrap_or_default();
    let Some(program) = args.first() else {
        bail!("process.args: empty");
    };
    if program.contains('/') {
        return check_executable(Path::new(program));
    }
    let path_var = process
        .env()
        .iter()
        .flatten()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(program);
        if check_executable(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    bail!("process.args[0]: executable {program:?} not found in $PATH of the container")
}

fn check_executable(path: &Path) -> Result<PathBuf> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => {
            Ok(path.to_path_buf())
        }
        Ok(_) => bail!(
            "process.args[0]: {} is not an executable file",
            path.display()
        ),
        Err(e) => bail!("process.args[0]: {} in the container: {e}", path.display()),
    }
}

/// The program a process execs, resolved inside the container before the process
/// gives up its privileges (so a missing program is reported by create or exec).
pub struct Program {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

impl Program {
    /// Finds `args[0]` and fixes the environment (HOME from the container's /etc/passwd
    /// when unset, as runc does). Call inside the container's mount namespace.
    pub fn resolve(process: &Process) -> Result<Program> {
        let path = find_program(process)?;
        let args = process.args().as_deref().unwrap_or_default();
        let mut env: Vec<String> = process.env().clone().unwrap_or_default();
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!("HOME={}", home_of(process.user().uid())));
        }
        Ok(Program {
            path: c_path(&path)?,
            argv: c_strings(args)?,
            envp: c_strings(&env)?,
        })
    }

    /// execve through the exec trampoline (see `trampoline`), which writes `label` first
    /// and reports a failure of its own execve on `report`; returns only the reason the
    /// trampoline could not be started.
    pub fn exec_through(
        &self,
        trampoline: &Trampoline,
        report: RawFd,
        label: Option<&ExecLabel>,
    ) -> crate::error::Error {
        let errno = trampoline.exec(report, label, &self.path, &self.argv, &self.envp);
        crate::error::Error::new(format!(
            "exec {}: starting the exec trampoline: {errno}",
            self.path.to_string_lossy()
        ))
    }

    /// execve; returns only the reason it failed.
    pub fn exec(&self) -> crate::error::Error {
        let err = nix::unistd::execve(&self.path, &self.argv, &self.envp).unwrap_err();
        crate::error::Error::new(format!("exec {}: {err}", self.path.to_string_lossy()))
    }
}

/// The home directory of `uid` from the container's /etc/passwd, or "/" as runc does.
fn home_of(uid: u32) -> String {
    crate::util::passwd::lookup("/etc/passwd", uid)
        .map(|(_, home)| home)
        .unwrap_or_else(|| "/".to_string())
}

/// Ends a child of the runtime without running exit handlers or flushing buffers that
/// belong to the parent.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: _exit ends this process at once; nothing of ours needs to run.
    unsafe { libc::_exit(code) }
}

fn c_strings<S: AsRef<[u8]>>(items: impl IntoIterator<Item = S>) -> Result<Vec<CString>> {
    items
        .into_iter()
        .map(|s| CString::new(s.as_ref().to_vec()).context("argument contains a NUL byte"))
        .collect()
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).context("path contains a NUL byte")
}
