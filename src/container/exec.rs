//! `exec`: a new process in a running container. It joins every namespace and the cgroup
//! of the container's init and runs with the container's process config, overridden by
//! the request. It changes nothing in the container's lifecycle, so it journals nothing:
//! its exit is not the container's.

use super::facts::RuntimeFacts;
use super::foreground::{block_signals, take_terminal, wait_for};
use super::observe::current_status;
use super::state::{store_error, ContainerState};
use crate::bail;
use crate::error::{Context, Error, Result};
use crate::executors::cgroups::Placement;
use crate::executors::exec_process::{self, ExecPlan};
use crate::executors::lsm;
use crate::executors::seccomp::Filter;
use crate::executors::spawn::{clone_into_cgroup, Forked};
use nix::sched::CloneFlags;
use nix::sys::wait::waitpid;
use oci_spec::runtime::Process;
use ocirun_state_machine::{StateRoot, Status};
use serde_json::{json, Value};
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// What `exec` was asked to run. Without `process_file`, the container's own process
/// config is the base and the other fields override it, as runc does.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub process_file: Option<PathBuf>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub user: Option<(u32, Option<u32>)>,
    pub additional_gids: Vec<u32>,
    pub capabilities: Vec<String>,
    pub no_new_privileges: bool,
    pub tty: bool,
    pub apparmor_profile: Option<String>,
    pub process_label: Option<String>,
    pub detach: bool,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: i32,
    /// Allow exec into a paused container (the process starts frozen).
    pub ignore_paused: bool,
}

/// Runs the request in container `id`; returns the exit code (0 when detached).
pub fn exec(root: &StateRoot, id: &str, request: &ExecRequest) -> Result<i32> {
    let handle = root.lock(id).map_err(store_error)?;
    let view = handle.view();
    let status = current_status(view, false);
    let allowed = matches!(status, Status::Created | Status::Running)
        || (status == Status::Paused && request.ignore_paused);
    if !allowed {
        let hint = if status == Status::Paused {
            " (--ignore-paused to exec anyway)"
        } else {
            ""
        };
        bail!("cannot exec in container {id:?}: it is {status}{hint}");
    }
    let Some((init, _)) = view.init_process() else {
        bail!("container {id:?} has no init process");
    };
    let facts = RuntimeFacts::from_metadata(view.metadata.as_ref());
    let process = build_process(&facts, request)?;
    lsm::check_process(&process, "exec process")?;
    let seccomp = compile_seccomp(root, &facts)?;
    let seccomp_listener = match &seccomp {
        Some(filter) => filter.connect_listener()?,
        None => None,
    };
    let state_json = ContainerState::from_view(id, view, status).for_hooks();
    let terminal = process.terminal().unwrap_or(false);
    let (console, ours) = match (&request.console_socket, terminal) {
        (Some(_), false) => bail!("--console-socket needs --tty (or process.terminal)"),
        (Some(path), true) => (
            Some(
                UnixStream::connect(path)
                    .with_context(|| format!("--console-socket {}", path.display()))?,
            ),
            None,
        ),
        (None, true) if request.detach => {
            bail!("a detached exec with a terminal needs --console-socket")
        }
        (None, true) => {
            let (ours, theirs) = UnixStream::pair().context("creating the console socket")?;
            (Some(theirs), Some(ours))
        }
        (None, false) => (None, None),
    };
    let placement = facts.cgroups.as_ref();
    let v1_cgroups = placement.map(Placement::v1_dirs).unwrap_or_default();
    let unified = match placement.and_then(Placement::unified_dir) {
        Some(dir) => Some(OwnedFd::from(
            std::fs::File::open(&dir)
                .with_context(|| format!("opening cgroup {}", dir.display()))?,
        )),
        None => None,
    };
    let namespaces = container_namespaces(init)?;
    let (report_read, report_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    let pid_namespace = enter_pid_namespace_for_children(init)?;
    let forked = clone_into_cgroup(CloneFlags::empty(), unified.as_ref().map(|fd| fd.as_fd()));
    let (forked, born_in_unified) = forked?;
    if let (Some(original), Forked::Parent(_)) = (pid_namespace, &forked) {
        nix::sched::setns(original, CloneFlags::CLONE_NEWPID)
            .context("returning to our pid namespace")?;
    }
    let pid = match forked {
        Forked::Child => {
            let console_fd = console.as_ref().map(|c| c.as_raw_fd());
            let mut keep = vec![report_write.as_raw_fd()];
            keep.extend(console_fd);
            keep.extend(crate::logging::log_fd());
            keep.extend(seccomp_listener.as_ref().map(|s| s.as_raw_fd()));
            let plan = ExecPlan {
                process: &process,
                v1_cgroups: &v1_cgroups,
                namespaces,
                console: console_fd,
                preserve_fds: request.preserve_fds,
                seccomp: seccomp.as_ref(),
                seccomp_listener: seccomp_listener.as_ref(),
                state_json,
            };
            exec_process::run(plan, report_write, &keep)
        }
        Forked::Parent(pid) => pid,
    };
    drop(report_write);
    drop(console);
    drop(seccomp_listener);
    drop(handle);
    if let (false, Some(placement)) = (born_in_unified, placement) {
        placement.join(pid.as_raw(), false, true)?;
    }
    let signals = if request.detach {
        None
    } else {
        Some(block_signals()?)
    };
    let mut failure = String::new();
    let _ = std::fs::File::from(report_read).read_to_string(&mut failure);
    if !failure.is_empty() {
        let _ = waitpid(pid, None);
        if let Some(signals) = signals {
            signals.unblock();
        }
        return Err(Error::new(failure));
    }
    if let Some(path) = &request.pid_file {
        super::create::write_pid_file(path, pid)?;
    }
    let Some(signals) = signals else {
        return Ok(0);
    };
    let outcome = take_terminal(ours.as_ref())
        .and_then(|terminal| wait_for(pid, &signals, terminal.as_ref()));
    signals.unblock();
    outcome
}

/// The process to run: the request's process file, or the container's process with the
/// request's overrides.
fn build_process(facts: &RuntimeFacts, request: &ExecRequest) -> Result<Process> {
    if let Some(path) = &request.process_file {
        let bytes = std::fs::read(path).with_context(|| format!("--process {}", path.display()))?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        return serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            Error::new(format!(
                "--process {}: {}: {}",
                path.display(),
                e.path(),
                e.inner()
            ))
        });
    }
    if request.args.is_empty() {
        bail!("exec needs a command to run");
    }
    let mut process = facts
        .process
        .clone()
        .unwrap_or_else(|| json!({"cwd": "/", "user": {"uid": 0, "gid": 0}}));
    process["args"] = json!(request.args);
    process["terminal"] = json!(request.tty);
    process.as_object_mut().map(|p| p.remove("consoleSize"));
    let mut env: Vec<String> = serde_json::from_value(process["env"].clone()).unwrap_or_default();
    for entry in &request.env {
        let key = entry.split('=').next().unwrap_or(entry);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(entry.clone());
    }
    process["env"] = json!(env);
    if let Some(cwd) = &request.cwd {
        process["cwd"] = json!(cwd);
    }
    if let Some((uid, gid)) = request.user {
        process["user"]["uid"] = json!(uid);
        if let Some(gid) = gid {
            process["user"]["gid"] = json!(gid);
        }
    }
    if !request.additional_gids.is_empty() {
        process["user"]["additionalGids"] = json!(request.additional_gids);
    }
    for cap in &request.capabilities {
        let name = if cap.starts_with("CAP_") {
            cap.clone()
        } else {
            format!("CAP_{cap}")
        };
        for set in ["bounding", "effective", "permitted"] {
            let list = &mut process["capabilities"][set];
            if !list.is_array() {
                *list = json!([]);
            }
            if let Some(array) = list.as_array_mut() {
                if !array.iter().any(|c| c == &Value::from(name.as_str())) {
                    array.push(Value::from(name.as_str()));
                }
            }
        }
    }
    if request.no_new_privileges {
        process["noNewPrivileges"] = json!(true);
    }
    if let Some(profile) = &request.apparmor_profile {
        process["apparmorProfile"] = json!(profile);
    }
    if let Some(label) = &request.process_label {
        process["selinuxLabel"] = json!(label);
    }
    serde_path_to_error::deserialize(process)
        .map_err(|e| Error::new(format!("exec process: {}: {}", e.path(), e.inner())))
}

/// The container's filter, from the journal (config.json may have changed since create).
fn compile_seccomp(root: &StateRoot, facts: &RuntimeFacts) -> Result<Option<Filter>> {
    let Some(value) = &facts.seccomp else {
        return Ok(None);
    };
    let config = serde_json::from_value(value.clone())
        .map_err(|e| Error::new(format!("the container's linux.seccomp: {e}")))?;
    let cache = root.path().join(super::create::SECCOMP_CACHE);
    Filter::compile_cached(&config, Some(&cache)).map(Some)
}

/// The container's cgroup directories: the v1 ones, and the cgroup2 one.
/// The init's namespaces that differ from ours, in the order a process must enter them.
fn container_namespaces(init: i32) -> Result<Vec<(CloneFlags, OwnedFd)>> {
    const ORDER: [(&str, CloneFlags); 7] = [
        ("user", CloneFlags::CLONE_NEWUSER),
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
        ("net", CloneFlags::CLONE_NEWNET),
        ("cgroup", CloneFlags::CLONE_NEWCGROUP),
        ("time", CloneFlags::from_bits_retain(0x80)),
        ("mnt", CloneFlags::CLONE_NEWNS),
    ];
    let mut namespaces = Vec::new();
    for (name, flag) in ORDER {
        if let Some(fd) = different_namespace(init, name)? {
            namespaces.push((flag, fd));
        }
    }
    Ok(namespaces)
}

/// The init's namespace `name`, opened, when it is not ours (joining our own user
/// namespace is an error, and joining any other of ours is useless).
fn different_namespace(init: i32, name: &str) -> Result<Option<OwnedFd>> {
    let theirs_path = format!("/proc/{init}/ns/{name}");
    let theirs = match std::fs::metadata(&theirs_path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && name == "time" => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("the container's {name} namespace")),
    };
    let ours = std::fs::metadata(format!("/proc/self/ns/{name}"))
        .with_context(|| format!("our {name} namespace"))?;
    if ours.dev() == theirs.dev() && ours.ino() == theirs.ino() {
        return Ok(None);
    }
    let file =
        std::fs::File::open(&theirs_path).with_context(|| format!("opening {theirs_path}"))?;
    Ok(Some(file.into()))
}

/// Our children are born in the container's pid namespace (setns on a pid namespace only
/// affects children). Returns our own, to go back to after the clone.
fn enter_pid_namespace_for_children(init: i32) -> Result<Option<std::fs::File>> {
    if different_namespace(init, "pid")?.is_none() {
        return Ok(None);
    }
    let ours = std::fs::File::open("/proc/self/ns/pid").context("opening our pid namespace")?;
    let theirs = std::fs::File::open(format!("/proc/{init}/ns/pid"))
        .context("opening the container's pid namespace")?;
    nix::sched::setns(theirs, CloneFlags::CLONE_NEWPID)
        .context("joining the container's pid namespace")?;
    Ok(Some(ours))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_overrides_the_containers_process() {
        let facts = RuntimeFacts {
            process: Some(json!({
                "cwd": "/", "args": ["sh"], "env": ["PATH=/bin", "A=1"],
                "user": {"uid": 0, "gid": 0},
                "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}
            })),
            ..RuntimeFacts::default()
        };
        let request = ExecRequest {
            args: vec!["id".into()],
            env: vec!["A=2".into(), "B=3".into()],
            user: Some((1000, Some(100))),
            capabilities: vec!["NET_ADMIN".into()],
            ..ExecRequest::default()
        };
        let process = build_process(&facts, &request).unwrap();
        assert_eq!(process.args().as_deref().unwrap(), ["id"]);
        assert_eq!(
            process.env().as_deref().unwrap(),
            ["PATH=/bin", "A=2", "B=3"]
        );
        assert_eq!((process.user().uid(), process.user().gid()), (1000, 100));
        let bounding = process
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .as_ref()
            .unwrap();
        assert_eq!(bounding.len(), 2);
    }

    #[test]
    fn an_unknown_capability_is_refused_by_name() {
        let request = ExecRequest {
            args: vec!["id".into()],
            capabilities: vec!["NOPE".into()],
            ..ExecRequest::default()
        };
        let error = build_process(&RuntimeFacts::default(), &request)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("CAP_NOPE") || error.contains("capabilities"),
            "{error}"
        );
    }
}
