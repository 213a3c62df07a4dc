//! A process exec'd into a running container, from clone(2) to execve(2): it joins the
//! container's cgroups and namespaces, takes its identity and terminal, and execs. It
//! never returns; a failure is written to `report` (close-on-exec, so the runtime reads
//! EOF exactly when the exec succeeded).

use super::descriptors;
use super::lsm;
use super::process::{self, exit_child, Program};
use super::seccomp::Filter;
use crate::error::{Context, Error, Result};
use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::Process;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

pub struct ExecPlan<'a> {
    pub process: &'a Process,
    /// The container's v1 cgroup directories, joined by writing "0" to `tasks`.
    pub v1_cgroups: &'a [PathBuf],
    /// Namespaces to enter, in order: user first (it owns the others), mount last (it
    /// changes our root).
    pub namespaces: Vec<(CloneFlags, OwnedFd)>,
    pub console: Option<RawFd>,
    pub preserve_fds: i32,
    /// The container's seccomp filter, compiled by the runtime.
    pub seccomp: Option<&'a Filter>,
    pub seccomp_listener: Option<&'a UnixStream>,
    /// The container's state for the seccomp agent (its pid is replaced by ours).
    pub state_json: Vec<u8>,
}

pub fn run(plan: ExecPlan, report: OwnedFd, keep: &[RawFd]) -> ! {
    super::sealed_binary::hide_from_the_container();
    let mut keep = keep.to_vec();
    keep.push(report.as_raw_fd());
    keep.extend(plan.namespaces.iter().map(|(_, fd)| fd.as_raw_fd()));
    keep.extend(plan.seccomp_listener.map(|s| s.as_raw_fd()));
    descriptors::close_inherited_fds(plan.preserve_fds, &keep);
    let error = enter_and_exec(plan);
    let _ = File::from(report).write_all(error.to_string().as_bytes());
    exit_child(127)
}

fn enter_and_exec(plan: ExecPlan) -> Error {
    match prepare(plan) {
        Ok(program) => program.exec(),
        Err(error) => error,
    }
}

/// Loads the container's filter into this process, telling the agent our host pid.
fn load_seccomp(plan: &ExecPlan, host_pid: i32) -> Result<()> {
    let Some(filter) = plan.seccomp else {
        return Ok(());
    };
    let mut state: serde_json::Value = serde_json::from_slice(&plan.state_json).unwrap_or_default();
    state["pid"] = serde_json::Value::from(host_pid);
    let state = serde_json::to_vec(&state).unwrap_or_default();
    filter.load(plan.seccomp_listener, &state, host_pid)
}

fn prepare(mut plan: ExecPlan) -> Result<Program> {
    let process = plan.process;
    // Before joining the container's mount namespace, whose /proc counts pids in the
    // container's pid namespace.
    let host_pid = super::seccomp::host_pid();
    // Before the user namespace: joining a cgroup needs the host's rights.
    for dir in plan.v1_cgroups {
        std::fs::write(dir.join("tasks"), "0")
            .with_context(|| format!("joining cgroup {}", dir.display()))?;
    }
    for (flag, fd) in std::mem::take(&mut plan.namespaces) {
        setns(fd, flag).with_context(|| format!("joining the container's namespace {flag:?}"))?;
    }
    if process.terminal().unwrap_or(false) {
        nix::unistd::setsid().context("setsid")?;
        if let Some(socket) = plan.console {
            let size = process
                .console_size()
                .as_ref()
                .map(|b| (b.height() as u16, b.width() as u16));
            super::console::attach_terminal(socket, size, false)?;
        }
    }
    process::apply_limits(process)?;
    let program = Program::resolve(process)?;
    let no_new_privileges = process.no_new_privileges().unwrap_or(false);
    if !no_new_privileges {
        // Needs CAP_SYS_ADMIN without no_new_privs: before the capabilities go.
        load_seccomp(&plan, host_pid)?;
    }
    process::become_user(process)?;
    process::enter_cwd(process)?;
    lsm::prepare_exec(process)?;
    // Before the filter, which may not allow close_range.
    descriptors::hand_over_fds(plan.preserve_fds)?;
    if no_new_privileges {
        load_seccomp(&plan, host_pid)?;
    }
    Ok(program)
}
