//! The container's seccomp filter (`linux.seccomp`), built with libseccomp.
//!
//! The filter is compiled by the runtime before it clones the process that will load it
//! (a bad profile fails `create` or `exec` before anything exists), and loaded in that
//! process as late as the kernel allows: right before execve with `noNewPrivileges`, and
//! before the capabilities are dropped without it (loading a filter without no_new_privs
//! needs CAP_SYS_ADMIN). docs/security.md has the whole order.
//!
//! With `SCMP_ACT_NOTIFY` rules and a `listenerPath`, the notify descriptor goes to the
//! seccomp agent listening there, with the container process state (runtime-spec
//! config-linux.md, "The Container Process State"), and is closed in the container
//! process: the program must not be able to answer its own trapped calls.
//!
//! Compiling a profile the size of docker's default takes libseccomp about 15 ms, paid by
//! every container (runc pays it too). Engines use one profile for thousands of
//! containers, so the compiled BPF program is cached in the state root, keyed by the
//! profile itself (the cache file starts with the profile's JSON, compared in full on
//! every hit), and loaded with seccomp(2) directly.

use crate::bail;
use crate::error::{Context, Error, Result};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// A compiled filter, not yet loaded.
pub struct Filter {
    /// The BPF program (an array of struct sock_filter), as libseccomp exported it.
    program: Vec<u8>,
    /// SECCOMP_FILTER_FLAG_* from `linux.seccomp.flags`.
    kernel_flags: u32,
    /// Some rule (or the default) is SCMP_ACT_NOTIFY: loading yields a notify descriptor.
    notifies: bool,
    listener_path: Option<PathBuf>,
    listener_metadata: Option<String>,
}

impl Filter {
    /// Compiles `linux.seccomp`. Syscall names this libseccomp does not know are skipped
    /// (with a debug message, as runc does): profiles list syscalls of newer kernels.
    pub fn compile(config: &LinuxSeccomp) -> Result<Filter> {
        Filter::compile_cached(config, None)
    }

    /// Like [`Filter::compile`], reusing (and filling) the cache in `cache_dir`.
    pub fn compile_cached(config: &LinuxSeccomp, cache_dir: Option<&Path>) -> Result<Filter> {
        let key = serde_json::to_string(config).context("linux.seccomp")?;
        let notifies = config.default_action() == LinuxSeccompAction::ScmpActNotify
            || config
                .syscalls()
                .iter()
                .flatten()
                .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify);
        if notifies && config.listener_path().is_none() {
            bail!("linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
        }
        if config.listener_metadata().is_some() && config.listener_path().is_none() {
            bail!("linux.seccomp.listenerMetadata is set without linux.seccomp.listenerPath");
        }
        let cached = cache_dir.and_then(|dir| cache::lookup(dir, &key));
        let program = match cached {
            Some(program) => program,
            None => {
                let program = compile_program(config)?;
                if let Some(dir) = cache_dir {
                    cache::store(dir, &key, &program);
                }
                program
            }
        };
        Ok(Filter {
            program,
            kernel_flags: kernel_flags(config)?,
            notifies,
            listener_path: config.listener_path().clone(),
            listener_metadata: config.listener_metadata().clone(),
        })
    }

    /// Where the notify descriptor goes, when the filter makes one.
    pub fn listener_path(&self) -> Option<&Path> {
        self.listener_path.as_deref().filter(|_| self.notifies)
    }

    /// Connects to the seccomp agent. Done by the runtime before the process that loads
    /// the filter changes its root, so the path is the host's, as the engine wrote it.
    pub fn connect_listener(&self) -> Result<Option<UnixStream>> {
        let Some(path) = self.listener_path() else {
            return Ok(None);
        };
        UnixStream::connect(path)
            .map(Some)
            .with_context(|| format!("linux.seccomp.listenerPath {}", path.display()))
    }

    /// Loads the filter into this process. With notify rules, sends the descriptor and
    /// `state` (the container's state, runtime.md) over `listener`, then closes it here.
    /// `pid` is the process's pid as the runtime sees it.
    pub fn load(&self, listener: Option<&UnixStream>, state: &[u8], pid: i32) -> Result<()> {
        let mut flags = self.kernel_flags;
        if self.notifies {
            flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
            if flags & SECCOMP_FILTER_FLAG_TSYNC != 0 {
                // The kernel refuses TSYNC with a listener unless TSYNC failures say ESRCH.
                flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
            }
        }
        #[repr(C)]
        struct SockFprog {
            len: u16,
            filter: *const u8,
        }
        let program = SockFprog {
            len: (self.program.len() / 8) as u16,
            filter: self.program.as_ptr(),
        };
        // SAFETY: `program` points at `len` whole sock_filter entries that outlive the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                flags as libc::c_ulong,
                &program as *const SockFprog,
            )
        };
        if ret < 0 {
            return Err(std::io::Error::last_os_error()).context("loading the seccomp filter");
        }
        if !self.notifies {
            return Ok(());
        }
        // SAFETY: with NEW_LISTENER the kernel returned a new descriptor that nobody else
        // owns, and it must not survive into the container.
        let notify = unsafe { OwnedFd::from_raw_fd(ret as i32) };
        let Some(listener) = listener else {
            bail!("linux.seccomp: no connection to listenerPath for the notify descriptor");
        };
        let message = process_state(state, pid, self.listener_metadata.as_deref());
        super::console::send_fd(listener.as_raw_fd(), notify.as_raw_fd(), &message)
            .context("linux.seccomp.listenerPath: sending the notify descriptor")?;
        // One state per connection, closed after sending (the spec's rule).
        let _ = listener.shutdown(std::net::Shutdown::Both);
        Ok(())
    }
}

/// Builds the filter with libseccomp and exports its BPF program.
fn compile_program(config: &LinuxSeccomp) -> Result<Vec<u8>> {
    let default_action = action(
        config.default_action(),
        config.default_errno_ret(),
        "linux.seccomp.defaultAction",
    )?;
    let mut context =
        ScmpFilterContext::new(default_action).context("linux.seccomp: creating a filter")?;
    // libseccomp sets no_new_privs on load unless told not to; whether the process
    // gets it is process.noNewPrivileges's decision alone.
    context
        .set_ctl_nnp(false)
        .context("linux.seccomp: leaving no_new_privs to process.noNewPrivileges")?;
    for (i, arch) in config.architectures().iter().flatten().enumerate() {
        context
            .add_arch(scmp_arch(*arch))
            .with_context(|| format!("linux.seccomp.architectures[{i}]: {arch}"))?;
    }
    // `flags` change how the kernel loads the program, not the program: they go to our own
    // seccomp(2) call (`kernel_flags`), and libseccomp (2.5 lacks WAIT_KILLABLE_RECV)
    // never needs to know them.
    for (i, syscall) in config.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let rule_action = action(syscall.action(), syscall.errno_ret(), &field)?;
        // libseccomp refuses a rule whose action is the default one; it would change
        // nothing anyway (runc skips it too).
        if rule_action == default_action {
            continue;
        }
        add_rules(&mut context, syscall, rule_action, &field)?;
    }
    let mut exported: std::fs::File =
        nix::sys::memfd::memfd_create("ocirun-seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .context("memfd")?
            .into();
    context
        .export_bpf(&exported)
        .context("linux.seccomp: exporting the filter")?;
    let mut program = Vec::new();
    std::io::Seek::rewind(&mut exported)
        .and_then(|()| std::io::Read::read_to_end(&mut exported, &mut program))
        .context("reading the exported filter")?;
    Ok(program)
}

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_FILTER_FLAG_TSYNC: u32 = 1;
const SECCOMP_FILTER_FLAG_LOG: u32 = 2;
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u32 = 4;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 8;
const SECCOMP_FILTER_FLAG_TSYNC_ESRCH: u32 = 16;
const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// The seccomp(2) flags `linux.seccomp.flags` asks for.
fn kernel_flags(config: &LinuxSeccomp) -> Result<u32> {
    let notifies = config
        .syscalls()
        .iter()
        .flatten()
        .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify);
    let mut flags = 0;
    for flag in config.flags().iter().flatten() {
        flags |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv if !notifies => bail!(
                "linux.seccomp.flags: {flag} applies to SCMP_ACT_NOTIFY rules, and there is none"
            ),
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
            }
        };
    }
    Ok(flags)
}

/// Compiled programs under `<state root>/.seccomp/`: `<hash>.bpf` holds the profile's
/// JSON, a newline, then the program. A hit needs the whole profile to match, so a hash
/// collision is only a miss. Failures to write are ignored: the cache only saves time.
mod cache {
    use std::hash::{Hash, Hasher};
    use std::path::{Path, PathBuf};

    fn file(dir: &Path, key: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let version = libseccomp::ScmpVersion::current()
            .map(|v| (v.major, v.minor, v.micro))
            .unwrap_or_default();
        version.hash(&mut hasher);
        dir.join(format!("{:016x}.bpf", hasher.finish()))
    }

    pub fn lookup(dir: &Path, key: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(file(dir, key)).ok()?;
        let program = bytes.strip_prefix(key.as_bytes())?.strip_prefix(b"\n")?;
        (!program.is_empty() && program.len() % 8 == 0).then(|| program.to_vec())
    }

    pub fn store(dir: &Path, key: &str, program: &[u8]) {
        use std::os::unix::fs::DirBuilderExt;
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
        let target = file(dir, key);
        let temporary = target.with_extension(format!("tmp{}", std::process::id()));
        let mut contents = key.as_bytes().to_vec();
        contents.push(b'\n');
        contents.extend_from_slice(program);
        if std::fs::write(&temporary, contents).is_ok()
            && std::fs::rename(&temporary, &target).is_err()
        {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}

/// The container process state sent to the seccomp agent.
pub fn process_state(state: &[u8], pid: i32, metadata: Option<&str>) -> Vec<u8> {
    let state: serde_json::Value = serde_json::from_slice(state).unwrap_or_default();
    let mut message = serde_json::json!({
        "ociVersion": crate::SPEC_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "state": state,
    });
    if let Some(metadata) = metadata {
        message["metadata"] = serde_json::Value::from(metadata);
    }
    serde_json::to_vec(&message).expect("a JSON value serializes")
}

/// The spec's action with its errno. `errnoRet` only means something for ERRNO (the
/// errno returned) and TRACE (the value the tracer sees); elsewhere the spec says to fail.
fn action(kind: LinuxSeccompAction, errno_ret: Option<u32>, field: &str) -> Result<ScmpAction> {
    let errno = || -> Result<i32> {
        let value = errno_ret.unwrap_or(libc::EPERM as u32);
        u16::try_from(value)
            .map(i32::from)
            .map_err(|_| Error::new(format!("{field}: errnoRet {value} is out of range")))
    };
    Ok(match kind {
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno()?),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno()? as u16),
        _ if errno_ret.is_some() => {
            bail!("{field}: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not {kind}")
        }
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
    })
}

fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

fn comparison(arg: &LinuxSeccompArg) -> ScmpArgCompare {
    let index = arg.index() as u32;
    let op = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        // (argument & value) == valueTwo
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            return ScmpArgCompare::new(
                index,
                ScmpCompareOp::MaskedEqual(arg.value()),
                arg.value_two().unwrap_or(0),
            )
        }
    };
    ScmpArgCompare::new(index, op, arg.value())
}

/// One syscall entry's rules. The conditions of one rule are ANDed, and libseccomp
/// cannot AND two conditions on one argument: when an argument index repeats, each
/// condition becomes a rule of its own (ORed), which is how runc reads such entries.
fn add_rules(
    context: &mut ScmpFilterContext,
    syscall: &LinuxSyscall,
    rule_action: ScmpAction,
    field: &str,
) -> Result<()> {
    let args = syscall.args().as_deref().unwrap_or_default();
    for (i, arg) in args.iter().enumerate() {
        if arg.index() >= 6 {
            bail!(
                "{field}.args[{i}].index: {} (a syscall has 6 arguments)",
                arg.index()
            );
        }
    }
    let repeats = args
        .iter()
        .enumerate()
        .any(|(i, a)| args[..i].iter().any(|b| b.index() == a.index()));
    let conditions: Vec<ScmpArgCompare> = args.iter().map(comparison).collect();
    for name in syscall.names() {
        let number = match ScmpSyscall::from_name(name) {
            Ok(number) => number,
            Err(_) => {
                tracing::debug!("seccomp: skipping unknown syscall {name:?}");
                continue;
            }
        };
        let added = if conditions.is_empty() {
            context.add_rule(rule_action, number).map(drop)
        } else if repeats {
            conditions.iter().try_for_each(|condition| {
                context
                    .add_rule_conditional(rule_action, number, std::slice::from_ref(condition))
                    .map(drop)
            })
        } else {
            context
                .add_rule_conditional(rule_action, number, &conditions)
                .map(drop)
        };
        added.with_context(|| format!("{field}: adding a rule for {name}"))?;
    }
    Ok(())
}

/// Whether `config` lets every call of `syscall` through, whatever its arguments: no rule
/// naming it does anything but allow (or log), and where none names it, the default
/// action allows. Conservative: a rule with argument conditions counts as a refusal.
pub fn plainly_allows(config: &LinuxSeccomp, syscall: &str) -> bool {
    let allows = |action: LinuxSeccompAction| {
        matches!(
            action,
            LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
        )
    };
    let mut rules = config
        .syscalls()
        .iter()
        .flatten()
        .filter(|rule| rule.names().iter().any(|name| name == syscall))
        .peekable();
    if rules.peek().is_none() {
        return allows(config.default_action());
    }
    rules.all(|rule| allows(rule.action()) && rule.args().as_ref().is_none_or(Vec::is_empty))
}

/// The host pid of this process, read before it changes its root (the host's /proc counts
/// pids in the host's pid namespace, which getpid() in the container's does not).
pub fn host_pid() -> i32 {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str()?.parse().ok())
        .unwrap_or_else(|| std::process::id() as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_syscall_is_plainly_allowed_only_without_a_refusing_or_conditional_rule() {
        let deny_by_default = parse(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {"names": ["execveat", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["fcntl"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
                {"names": ["close"], "action": "SCMP_ACT_LOG"},
            ]
        }));
        assert!(plainly_allows(&deny_by_default, "execveat"));
        assert!(plainly_allows(&deny_by_default, "close"));
        assert!(!plainly_allows(&deny_by_default, "fcntl"));
        assert!(!plainly_allows(&deny_by_default, "mount"));

        let allow_by_default = parse(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]
        }));
        assert!(!plainly_allows(&allow_by_default, "execveat"));
        assert!(plainly_allows(&allow_by_default, "fcntl"));
    }

    #[test]
    fn a_full_profile_compiles() {
        let config = parse(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [
                {"names": ["read", "write", "no_such_syscall_anywhere"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                          {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["mmap"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_GE"},
                          {"index": 2, "value": 9, "op": "SCMP_CMP_LT"},
                          {"index": 3, "value": 9, "op": "SCMP_CMP_LE"},
                          {"index": 4, "value": 9, "op": "SCMP_CMP_GT"},
                          {"index": 5, "value": 9, "op": "SCMP_CMP_NE"}]},
                {"names": ["kill"], "action": "SCMP_ACT_KILL"},
                {"names": ["tkill"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["tgkill"], "action": "SCMP_ACT_KILL_THREAD"},
                {"names": ["uname"], "action": "SCMP_ACT_TRAP"},
                {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 3},
                {"names": ["chdir"], "action": "SCMP_ACT_LOG"},
                {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}
            ]
        }));
        let filter = Filter::compile(&config).unwrap();
        assert!(filter.listener_path().is_none());
    }

    #[test]
    fn errno_ret_on_an_action_without_errno_is_refused() {
        let config = parse(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_KILL", "errnoRet": 5}]
        }));
        let error = Filter::compile(&config).err().unwrap().to_string();
        assert!(error.contains("linux.seccomp.syscalls[0]"), "{error}");
        assert!(error.contains("errnoRet"), "{error}");
    }

    #[test]
    fn notify_needs_a_listener() {
        let config = parse(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        }));
        let error = Filter::compile(&config).err().unwrap().to_string();
        assert!(error.contains("listenerPath"), "{error}");
    }

    #[test]
    fn the_agent_gets_the_spec_process_state() {
        let message = process_state(br#"{"id":"c1","status":"created"}"#, 42, Some("meta"));
        let value: serde_json::Value = serde_json::from_slice(&message).unwrap();
        assert_eq!(value["fds"], serde_json::json!(["seccompFd"]));
        assert_eq!(value["pid"], 42);
        assert_eq!(value["metadata"], "meta");
        assert_eq!(value["state"]["id"], "c1");
        assert!(value["ociVersion"].is_string());
    }
}
