//! The container's init, from clone(2) to execve(2). It runs in the child, talks to the
//! runtime over the sync channel, and never returns: it either execs the user program or
//! exits after reporting why it could not.

use super::cgroups::Placement;
use super::descriptors;
use super::hooks::{self, Phase};
use super::lsm;
use super::namespaces::{clone_flag, NamespacePlan};
use super::process::{self, exit_child};
use super::rootfs::{self, Rootfs};
use super::seccomp::Filter;
use super::start_gate::{self, Listener};
use super::sync::{Channel, Message};
use super::trampoline::Trampoline;
use crate::error::{Context, Error, Result};
use crate::fault;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

pub struct InitPlan<'a> {
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub namespaces: &'a NamespacePlan,
    pub placement: &'a Placement,
    pub no_pivot: bool,
    pub new_keyring: bool,
    pub preserve_fds: i32,
    /// The engine's console socket (connected), when the process has a terminal.
    pub console: Option<RawFd>,
    pub terminal: bool,
    /// Whether the init joins its v1 cgroups itself (see `Placement::join_v1_as_self`).
    pub join_v1_cgroups: bool,
    /// The uid allowed to release the container besides root.
    pub owner_uid: u32,
    /// `linux.seccomp`, compiled by the runtime; loaded here (see [`load_seccomp`]).
    pub seccomp: Option<&'a Filter>,
    /// The seccomp agent's connection (`listenerPath`), when the filter notifies.
    pub seccomp_listener: Option<&'a UnixStream>,
    /// The exec trampoline the program is exec'd through; None when the runtime runs
    /// from a read-only view of its binary (see `sealed_binary`).
    pub trampoline: Option<&'a Trampoline>,
}

/// Entry point of the child. `keep` are the descriptors the init needs until exec.
pub fn run(plan: &InitPlan, channel: &Channel, gate: &Listener, keep: &[RawFd]) -> ! {
    super::sealed_binary::hide_from_the_container();
    descriptors::close_inherited_fds(plan.preserve_fds, keep);
    let prepared = match set_up(plan, channel) {
        Ok(prepared) => prepared,
        Err(error) => {
            let _ = channel.send(&Message::Failed(error.to_string()));
            exit_child(1);
        }
    };
    fault::point("init:before-ready");
    if channel.send(&Message::Ready).is_err() || channel.expect(Message::Proceed).is_err() {
        // The runtime died before committing the container: nobody will ever start us.
        exit_child(1);
    }
    exit_on_termination_signals();
    fault::point("init:waiting-for-start");
    let mut connection = match gate.wait_for_start(plan.owner_uid) {
        Ok(connection) => connection,
        Err(_) => exit_child(1),
    };
    let error = start_program(plan, &prepared, &connection);
    start_gate::report_failure(&mut connection, &error);
    exit_child(127);
}

struct Prepared {
    program: process::Program,
    state_json: Vec<u8>,
}

/// The parent's `Begin`: our id maps are written and our cgroups exist, with their
/// limits. Carries the state JSON for the hooks the init runs.
fn wait_for_begin(channel: &Channel) -> Result<Vec<u8>> {
    match channel.receive()? {
        Message::Begin(state) => Ok(state.into_bytes()),
        Message::Failed(text) => Err(Error::new(text)),
        other => Err(Error::new(format!("unexpected sync message {other:?}"))),
    }
}

/// Receives `Begin` and joins the v1 cgroups the parent made (v2: born in it, or moved by
/// the parent).
fn join_cgroups(plan: &InitPlan, channel: &Channel) -> Result<Vec<u8>> {
    let state_json = wait_for_begin(channel)?;
    if plan.join_v1_cgroups {
        plan.placement.join_v1_as_self()?;
    }
    Ok(state_json)
}

fn set_up(plan: &InitPlan, channel: &Channel) -> Result<Prepared> {
    let spec = plan.spec;
    if plan.namespaces.new_network_in_init {
        nix::sched::unshare(clone_flag(LinuxNamespaceType::Network))
            .context("creating the network namespace")?;
    }
    // In a new user namespace nothing works before the parent wrote our id maps, and in
    // one joined by path we could no longer join the host's cgroups. Otherwise the parent
    // makes our cgroups while we build the rootfs, and we wait for it only where a cgroup
    // is first needed (the cgroup mount, or the end of the rootfs).
    let mut state_json = None;
    if plan.namespaces.new_user() || plan.namespaces.joins(LinuxNamespaceType::User) {
        state_json = Some(join_cgroups(plan, channel)?);
    }
    if plan.namespaces.new_user() {
        nix::unistd::setresgid(0.into(), 0.into(), 0.into())
            .context("becoming root in the user namespace")?;
        nix::unistd::setresuid(0.into(), 0.into(), 0.into())
            .context("becoming root in the user namespace")?;
    }
    plan.namespaces.join_paths()?;
    if plan.namespaces.new_time {
        enter_time_namespace(spec)?;
    }
    nix::unistd::setsid().context("setsid")?;
    if plan.new_keyring {
        join_new_session_keyring();
    }
    if let Some(hostname) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(hostname).context("hostname")?;
    }
    if let Some(domainname) = spec.domainname().as_deref().filter(|h| !h.is_empty()) {
        set_domainname(domainname)?;
    }
    let rootfs = Rootfs {
        spec,
        bundle: plan.bundle,
        rootfs: plan.rootfs,
        placement: plan.placement,
        new_cgroup_namespace: plan.namespaces.new_cgroup,
        new_user_namespace: plan.namespaces.new_user(),
    };
    tracing::debug!("init: namespaces joined");
    fault::point("init:after-namespaces");
    let mut cgroup_namespace_made = false;
    let mut cgroups_ready = || -> Result<()> {
        if state_json.is_none() {
            state_json = Some(join_cgroups(plan, channel)?);
            tracing::debug!("init: cgroups joined");
        }
        // Rooted at the cgroup we are in now.
        if plan.namespaces.new_cgroup && !cgroup_namespace_made {
            nix::sched::unshare(clone_flag(LinuxNamespaceType::Cgroup))
                .context("creating the cgroup namespace")?;
            cgroup_namespace_made = true;
        }
        Ok(())
    };
    rootfs.prepare(&mut cgroups_ready)?;
    cgroups_ready()?;
    let state_json = state_json.expect("set by cgroups_ready");
    tracing::debug!("init: rootfs mounted");
    fault::point("init:after-rootfs");
    let hooks = spec.hooks().as_ref();
    #[allow(deprecated)]
    let runtime_hooks =
        hooks.is_some_and(|h| h.prestart().is_some() || h.create_runtime().is_some());
    if runtime_hooks {
        channel.send(&Message::RunRuntimeHooks)?;
        channel.expect(Message::Proceed)?;
    }
    if let Some(list) = hooks.and_then(|h| h.create_container().as_deref()) {
        hooks::run_all(
            Phase::CreateContainer,
            list,
            &as_seen_inside(&state_json, "creating"),
        )?;
    }
    let shared_root = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(super::mount_options::propagation_flag)
        .is_some_and(|flag| flag.contains(nix::mount::MsFlags::MS_SHARED));
    // The host's null device, before the container's /dev (which the bundle may have
    // made anything) replaces it: masking binds this one.
    let mut null_device = rootfs::NullDevice::open_host(spec, plan.rootfs)?;
    rootfs::enter(plan.rootfs, plan.no_pivot, shared_root)?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::new("process: missing"))?;
    if let (true, Some(socket)) = (plan.terminal, plan.console) {
        let size = process
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16));
        super::console::attach_terminal(socket, size, true)?;
    }
    // Before the root turns read-only: runc creates a missing cwd too.
    let cwd = process.cwd();
    if !cwd.exists() {
        std::fs::create_dir_all(cwd)
            .with_context(|| format!("process.cwd: creating {}", cwd.display()))?;
    }
    rootfs::finish(spec, &mut null_device)?;
    drop(null_device);
    process::apply_limits(process)?;
    let prepared = Prepared {
        program: process::Program::resolve(process)?,
        state_json,
    };
    tracing::debug!("init: root filesystem entered and finished");
    if !no_new_privileges(plan) {
        // Loading a filter without no_new_privs needs CAP_SYS_ADMIN: before the
        // capabilities are dropped (runc's order too).
        load_seccomp(plan, &prepared.state_json, "creating")?;
    }
    process::become_user(process)?;
    process::enter_cwd(process)?;
    Ok(prepared)
}

fn no_new_privileges(plan: &InitPlan) -> bool {
    plan.spec
        .process()
        .as_ref()
        .and_then(|p| p.no_new_privileges())
        .unwrap_or(false)
}

/// Loads the container's filter into the init; `status` is the container's at that point,
/// for the seccomp agent.
fn load_seccomp(plan: &InitPlan, state_json: &[u8], status: &str) -> Result<()> {
    let Some(filter) = plan.seccomp else {
        return Ok(());
    };
    // The agent sees the pid as the runtime does (the host's), which the state carries.
    let state = with_status(state_json, status);
    let pid = serde_json::from_slice::<serde_json::Value>(&state)
        .ok()
        .and_then(|s| s["pid"].as_i64())
        .unwrap_or(0) as i32;
    filter.load(plan.seccomp_listener, &state, pid)
}

/// After `start` connected: descriptors, LSM labels, seccomp (with noNewPrivileges),
/// startContainer hooks, then exec. Returns only on failure.
///
/// The descriptors and labels come before the filter, which may not allow the calls they
/// make. As in runc, the startContainer hooks run under the filter (and the labels): they
/// run in the container, and a filter loaded after them would leave a window where code
/// the container can influence runs unfiltered.
///
/// Through the exec trampoline, `start_connection` stays open until the program's own
/// execve (the trampoline reports a failure of it there) and the label is written by the
/// trampoline, right before that execve.
fn start_program(plan: &InitPlan, prepared: &Prepared, start_connection: &File) -> Error {
    if let Err(e) = descriptors::hand_over_fds(plan.preserve_fds) {
        return e;
    }
    let mut label = None;
    if let Some(process) = plan.spec.process() {
        let prepared_label = match plan.trampoline {
            Some(_) => lsm::exec_label(process).map(|l| label = l),
            None => lsm::prepare_exec(process),
        };
        if let Err(e) = prepared_label {
            return e;
        }
    }
    if plan.trampoline.is_some() {
        // SAFETY: F_SETFD with 0 clears close-on-exec on a descriptor we own.
        unsafe { libc::fcntl(start_connection.as_raw_fd(), libc::F_SETFD, 0) };
    }
    if no_new_privileges(plan) {
        if let Err(e) = load_seccomp(plan, &prepared.state_json, "created") {
            return e;
        }
    }
    if let Some(list) = plan
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().as_deref())
    {
        let state = as_seen_inside(&prepared.state_json, "created");
        if let Err(e) = hooks::run_all(Phase::StartContainer, list, &state) {
            return e;
        }
    }
    reset_signal_handlers();
    match plan.trampoline {
        Some(trampoline) => {
            prepared
                .program
                .exec_through(trampoline, start_connection.as_raw_fd(), label.as_ref())
        }
        None => prepared.program.exec(),
    }
}

/// The state for hooks that run in the container: the pid as the container sees it (1
/// with a new pid namespace) and the status at that point, as runc passes them.
/// The state with another status (the pid stays the runtime's view of it).
fn with_status(state_json: &[u8], status: &str) -> Vec<u8> {
    let Ok(mut state) = serde_json::from_slice::<serde_json::Value>(state_json) else {
        return state_json.to_vec();
    };
    state["status"] = serde_json::Value::from(status);
    serde_json::to_vec(&state).unwrap_or_else(|_| state_json.to_vec())
}

fn as_seen_inside(state_json: &[u8], status: &str) -> Vec<u8> {
    let Ok(mut state) = serde_json::from_slice::<serde_json::Value>(state_json) else {
        return state_json.to_vec();
    };
    state["pid"] = serde_json::Value::from(std::process::id());
    state["status"] = serde_json::Value::from(status);
    serde_json::to_vec(&state).unwrap_or_else(|_| state_json.to_vec())
}

fn enter_time_namespace(spec: &Spec) -> Result<()> {
    nix::sched::unshare(clone_flag(LinuxNamespaceType::Time))
        .context("creating the time namespace")?;
    let offsets = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref());
    let mut text = String::new();
    for (clock, offset) in offsets.into_iter().flatten() {
        text.push_str(&format!(
            "{clock} {} {}\n",
            offset.secs().unwrap_or(0),
            offset.nanosecs().unwrap_or(0)
        ));
    }
    if !text.is_empty() {
        std::fs::write("/proc/self/timens_offsets", text).context("linux.timeOffsets")?;
    }
    Ok(())
}

/// A fresh session keyring, so the container does not share the host's keys (runc's
/// default; `--no-new-keyring` skips it). Best effort: some kernels deny keyrings.
fn join_new_session_keyring() {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl(JOIN_SESSION_KEYRING, NULL) reads no memory of ours.
    unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0usize) };
}

fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: setdomainname reads `len` bytes from a valid buffer.
    let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("domainname");
    }
    Ok(())
}

const TERMINATION_SIGNALS: [libc::c_int; 7] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
];

extern "C" fn exit_with_signal(signal: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + signal) }
}

/// As PID 1 of its namespace, the waiting init would ignore `kill` without handlers;
/// runc's init dies on them, and so does ours, until exec resets them.
fn exit_on_termination_signals() {
    for signal in TERMINATION_SIGNALS {
        // SAFETY: installs an async-signal-safe handler that only calls _exit.
        unsafe {
            libc::signal(
                signal,
                exit_with_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
    }
}

fn reset_signal_handlers() {
    for signal in TERMINATION_SIGNALS {
        // SAFETY: restores the default disposition.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
    }
}
