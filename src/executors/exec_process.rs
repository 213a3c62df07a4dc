//! A process exec'd into a running container, from clone(2) to execve(2): it joins the
//! container's cgroups and namespaces, takes its identity and terminal, and execs. It
//! never returns; a failure is written to `report` (close-on-exec, so the runtime reads
//! EOF exactly when the exec succeeded).

use super::descriptors;
use super::process::{self, exit_child, Program};
use crate::error::{Context, Error, Result};
use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::Process;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
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
}

pub fn run(plan: ExecPlan, report: OwnedFd, keep: &[RawFd]) -> ! {
    let mut keep = keep.to_vec();
    keep.push(report.as_raw_fd());
    keep.extend(plan.namespaces.iter().map(|(_, fd)| fd.as_raw_fd()));
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

fn prepare(plan: ExecPlan) -> Result<Program> {
    let process = plan.process;
    // Before the user namespace: joining a cgroup needs the host's rights.
    for dir in plan.v1_cgroups {
        std::fs::write(dir.join("tasks"), "0")
            .with_context(|| format!("joining cgroup {}", dir.display()))?;
    }
    for (flag, fd) in plan.namespaces {
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
    process::become_user(process)?;
    process::enter_cwd(process)?;
    descriptors::hand_over_fds(plan.preserve_fds)?;
    Ok(program)
}
