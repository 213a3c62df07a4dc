//! `create`: from a bundle to a container whose init waits for `start`.
//!
//! Order of effects, each journaled before it happens (see docs/lifecycle.md): the state
//! directory with the create intent, cgroup directories, the init (journaled with its
//! start time right after clone; until the commit it dies with us because it reads the
//! sync channel), then the commit. Any failure undoes everything and removes the state
//! directory, so a failed create leaves nothing behind.

use super::cleanup::destroy;
use super::facts::RuntimeFacts;
use super::state::{store_error, ContainerState};
use crate::bail;
use crate::config::Bundle;
use crate::error::{Context, Error, Result};
use crate::executors::cgroups::resources::{self, Stage};
use crate::executors::cgroups::{systemd, Hierarchies, Hierarchy, Placement};
use crate::executors::hooks::{self, Phase};
use crate::executors::init::{self, InitPlan};
use crate::executors::lsm;
use crate::executors::namespaces::{self, NamespacePlan};
use crate::executors::sealed_binary;
use crate::executors::seccomp::Filter;
use crate::executors::spawn::{clone_into_cgroup, write_id_maps, Forked};
use crate::executors::start_gate;
use crate::executors::sync::{self, Channel, Message};
use crate::executors::trampoline::Trampoline;
use crate::fault;
use crate::util::{proc, time};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use ocirun_state_machine::{
    validate_id, ContainerHandle, Metadata, Record, Resource, StateRoot, Status,
};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// Compiled seccomp programs, under the state root (see executors/seccomp.rs).
pub const SECCOMP_CACHE: &str = ".seccomp";

/// `create`'s flags, as runc names them.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    /// `--systemd-cgroup`: the container's cgroup is a transient systemd scope.
    pub systemd_cgroup: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
}

/// A created container: its init's pid, and when `run` serves the terminal itself, our
/// end of the socket the init sends the pty master to.
pub struct Created {
    pub pid: Pid,
    pub terminal: Option<UnixStream>,
    /// The container, still locked: `run` starts it without locking and reading its
    /// journal again.
    pub handle: ContainerHandle,
}

/// Creates container `id`; returns its init's pid (in our pid namespace).
pub fn create(root: &StateRoot, id: &str, options: &CreateOptions) -> Result<Pid> {
    create_serving_terminal(root, id, options, false).map(|c| c.pid)
}

/// `serve_terminal`: with `process.terminal` and no `--console-socket`, hand the
/// terminal to the caller (for foreground `run`) instead of failing as `create` must.
pub fn create_serving_terminal(
    root: &StateRoot,
    id: &str,
    options: &CreateOptions,
    serve_terminal: bool,
) -> Result<Created> {
    validate_id(id).map_err(Error::new)?;
    let mut bundle = Bundle::load(&options.bundle)?;
    tracing::debug!("create {id}: bundle {} loaded", bundle.dir.display());
    let trampoline = sealed_binary::protect_for(&bundle.spec)?;
    let listen_fds = hand_on_socket_activation(&mut bundle);
    let process = bundle.spec.process().as_ref().expect("validated");
    lsm::check_spec(&bundle.spec)?;
    let seccomp_config = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref());
    let seccomp_cache = root.path().join(SECCOMP_CACHE);
    let seccomp = seccomp_config
        .map(|config| Filter::compile_cached(config, Some(&seccomp_cache)))
        .transpose()?;
    let seccomp_listener = match &seccomp {
        Some(filter) => filter.connect_listener()?,
        None => None,
    };
    let terminal = process.terminal().unwrap_or(false);
    let (console, ours) = match (&options.console_socket, terminal) {
        (Some(_), false) => bail!("--console-socket was given but process.terminal is false"),
        (Some(path), true) => {
            let stream = UnixStream::connect(path)
                .with_context(|| format!("--console-socket {}", path.display()))?;
            (Some(stream), None)
        }
        (None, true) if serve_terminal => {
            let (ours, theirs) = UnixStream::pair().context("creating the console socket")?;
            (Some(theirs), Some(ours))
        }
        (None, true) => {
            bail!("process.terminal is true: --console-socket is required to receive the terminal")
        }
        (None, false) => (None, None),
    };
    let namespaces = NamespacePlan::from_spec(&bundle.spec);
    let linux = bundle.spec.linux().as_ref();
    let cgroups_path = linux.and_then(|l| l.cgroups_path().as_deref());
    let placement = if options.systemd_cgroup {
        systemd::driver::placement(cgroups_path, id, Hierarchies::detect())?
    } else {
        Placement::new(cgroups_path, id, Hierarchies::detect())
    };
    let hooks = bundle.spec.hooks().as_ref();
    let facts = RuntimeFacts {
        runtime_executable: proc::executable_identity("self"),
        process: serde_json::to_value(process).ok(),
        seccomp: seccomp_config.and_then(|s| serde_json::to_value(s).ok()),
        cgroups: Some(placement.clone()),
        poststart_hooks: hooks
            .and_then(|h| h.poststart().clone())
            .unwrap_or_default(),
        poststop_hooks: hooks.and_then(|h| h.poststop().clone()).unwrap_or_default(),
    };
    let metadata = Metadata {
        id: id.to_string(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: time::now_rfc3339_nanos(),
        owner: owner_name(),
        oci_version: crate::SPEC_VERSION.to_string(),
        annotations: bundle
            .spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        extra: serde_json::to_value(&facts).expect("facts serialize"),
    };
    let mut handle = root.create(metadata).map_err(store_error)?;
    let mut creation = Creation {
        console,
        bundle: &bundle,
        namespaces: &namespaces,
        placement: &placement,
        options,
        listen_fds,
        init: None,
        born_in_unified: false,
        seccomp: seccomp.as_ref(),
        seccomp_listener,
        trampoline: trampoline.as_ref(),
    };
    match creation.build(&mut handle) {
        Ok(pid) => Ok(Created {
            pid,
            terminal: ours,
            handle,
        }),
        Err(error) => {
            creation.abandon(handle);
            Err(error)
        }
    }
}

struct Creation<'a> {
    bundle: &'a Bundle,
    namespaces: &'a NamespacePlan,
    placement: &'a Placement,
    options: &'a CreateOptions,
    console: Option<UnixStream>,
    /// Socket-activation descriptors handed on to the container (before the preserved ones).
    listen_fds: i32,
    init: Option<Pid>,
    /// The kernel placed the init in the cgroup2 directory at clone (CLONE_INTO_CGROUP).
    born_in_unified: bool,
    /// The compiled `linux.seccomp`, loaded by the init.
    seccomp: Option<&'a Filter>,
    /// The connection to the seccomp agent, handed to the init (which sends it the notify
    /// descriptor) and closed here once the init is cloned.
    seccomp_listener: Option<UnixStream>,
    /// What the init execs the program through (see `sealed_binary::protect_for`).
    trampoline: Option<&'a Trampoline>,
}

impl Creation<'_> {
    fn build(&mut self, handle: &mut ContainerHandle) -> Result<Pid> {
        fault::point("create:after-intent");
        // Only the cgroup2 directory before the clone: the init is born in it
        // (CLONE_INTO_CGROUP). The rest is made while the init builds its rootfs. (A
        // systemd scope's directory is made by systemd, once it has the init's pid.)
        if self.placement.systemd.is_none() {
            self.make_cgroups(handle, |h| h.unified)?;
        }
        fault::point("create:after-unified-cgroup");
        let gate = start_gate::listen_in(handle.dir())?;
        let console = self.console.take();
        let (parent_end, child_end) = sync::pair()?;
        let pid = self.clone_init(&gate, &child_end, console.as_ref().map(|c| c.as_raw_fd()))?;
        self.init = Some(pid);
        tracing::debug!("create {}: init cloned, pid {pid}", handle.id());
        fault::point("create:after-clone");
        drop(child_end);
        drop(gate);
        drop(console);
        self.seccomp_listener = None;
        let start_time = proc::start_time(pid.as_raw())
            .ok_or_else(|| Error::new("the container's init vanished"))?;
        handle
            .record(Record::Acquired {
                resource: Resource::Process {
                    pid: pid.as_raw(),
                    start_time,
                },
            })
            .map_err(store_error)?;
        fault::point("create:after-init-recorded");
        if let Some(scope) = &self.placement.systemd {
            let unit = Resource::SystemdUnit {
                name: scope.unit.clone(),
            };
            handle
                .record(Record::Acquired {
                    resource: unit.clone(),
                })
                .map_err(store_error)?;
            let started = systemd::driver::start_scope(
                self.placement,
                handle.id(),
                pid.as_raw(),
                self.resources(),
            );
            if let Err(systemd::driver::ScopeError::Taken(_)) = &started {
                // Not ours: the cleanup must leave it alone.
                handle
                    .record(Record::Released { resource: unit })
                    .map_err(store_error)?;
            }
            started?;
        }
        self.make_cgroups(handle, |_| true)?;
        // Before the init joins them (it waits for our Begin), so every limit holds
        // before any program of the container runs.
        if let Some(resources) = self.resources() {
            let devices = self
                .bundle
                .spec
                .linux()
                .as_ref()
                .and_then(|l| l.devices().as_deref())
                .unwrap_or_default();
            resources::apply(self.placement, resources, Stage::Create { devices })?;
        }
        tracing::debug!("create {}: cgroups ready", handle.id());
        fault::point("create:after-cgroups");
        self.prepare_init(pid, &parent_end, handle)?;
        tracing::debug!("create {}: init ready", handle.id());
        if let Some(path) = &self.options.pid_file {
            write_pid_file(path, pid)?;
        }
        fault::point("create:before-commit");
        handle
            .record(Record::Commit {
                status: Status::Created,
            })
            .map_err(store_error)?;
        fault::point("create:after-commit");
        parent_end.send(&Message::Proceed)?;
        Ok(pid)
    }

    fn resources(&self) -> Option<&oci_spec::runtime::LinuxResources> {
        self.bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().as_ref())
    }

    /// Makes the container's missing cgroup directories in the hierarchies `wanted`
    /// selects, each journaled before it exists.
    fn make_cgroups(
        &self,
        handle: &mut ContainerHandle,
        wanted: impl Fn(&Hierarchy) -> bool,
    ) -> Result<()> {
        self.placement.create_in(wanted, |dirs| {
            let records: Vec<Record> = dirs
                .iter()
                .map(|dir| Record::Acquired {
                    resource: Resource::CgroupDir { path: dir.clone() },
                })
                .collect();
            handle.record_all(&records).map_err(store_error)
        })?;
        Ok(())
    }

    fn clone_init(
        &mut self,
        gate: &start_gate::Listener,
        child_end: &Channel,
        console: Option<i32>,
    ) -> Result<Pid> {
        let original_pid_ns = match &self.namespaces.join_pid {
            Some(path) => {
                let original = std::fs::File::open("/proc/self/ns/pid")
                    .context("opening our pid namespace")?;
                namespaces::enter(path, CloneFlags::CLONE_NEWPID)
                    .with_context(|| format!("joining pid namespace {}", path.display()))?;
                Some(original)
            }
            None => None,
        };
        let unified = self.placement.open_unified();
        let forked = clone_into_cgroup(
            self.namespaces.clone_flags,
            unified.as_ref().map(|fd| fd.as_fd()),
        );
        if let Some(original) = original_pid_ns {
            if let Ok((Forked::Parent(_), _)) = forked {
                nix::sched::setns(original, CloneFlags::CLONE_NEWPID)
                    .context("returning to our pid namespace")?;
            }
        }
        let (forked, born_in_unified) = forked?;
        match forked {
            Forked::Parent(pid) => {
                self.born_in_unified = born_in_unified;
                Ok(pid)
            }
            Forked::Child => {
                let process = self.bundle.spec.process().as_ref().expect("validated");
                let plan = InitPlan {
                    spec: &self.bundle.spec,
                    bundle: &self.bundle.dir,
                    rootfs: &self.bundle.rootfs,
                    namespaces: self.namespaces,
                    placement: self.placement,
                    no_pivot: self.options.no_pivot,
                    new_keyring: !self.options.no_new_keyring,
                    preserve_fds: self.listen_fds + self.options.preserve_fds,
                    owner_uid: nix::unistd::geteuid().as_raw(),
                    console,
                    terminal: process.terminal().unwrap_or(false),
                    join_v1_cgroups: self.init_joins_v1(),
                    seccomp: self.seccomp,
                    seccomp_listener: self.seccomp_listener.as_ref(),
                    trampoline: self.trampoline,
                };
                let mut keep = vec![child_end.raw_fd(), gate.raw_fd()];
                keep.extend(self.trampoline.map(Trampoline::raw_fd));
                keep.extend(console);
                keep.extend(self.seccomp_listener.as_ref().map(|s| s.as_raw_fd()));
                keep.extend(crate::logging::log_fd());
                init::run(&plan, child_end, gate, &keep)
            }
        }
    }

    /// The init moves itself into the v1 hierarchies (cheap, see
    /// `Placement::join_v1_as_self`) unless it is in a new user namespace, where it has no
    /// right to write the host's cgroupfs.
    fn init_joins_v1(&self) -> bool {
        !self.namespaces.new_user()
    }

    /// The parent's half of the init's setup: id maps, cgroup, then the hooks that run in
    /// the runtime namespace while the init waits.
    ///
    /// Moving a task between cgroups waits for an RCU grace period (several ms): the init
    /// sets its rootfs up meanwhile. It waits for us only where it must: before a cgroup
    /// namespace is made (it would be rooted in the wrong cgroup) and before exec (it
    /// waits for our final Proceed, sent after the join).
    fn prepare_init(&self, pid: Pid, channel: &Channel, handle: &ContainerHandle) -> Result<()> {
        if self.namespaces.new_user() {
            write_id_maps(pid, &self.bundle.spec)?;
        }
        let mut state = ContainerState::from_view(handle.id(), handle.view(), Status::Creating);
        state.pid = pid.as_raw();
        let begin = Message::Begin(String::from_utf8_lossy(&state.for_hooks()).into_owned());
        // systemd moved the init into its scope already.
        let join_unified = !self.born_in_unified && self.placement.systemd.is_none();
        let join = || {
            self.placement
                .join(pid.as_raw(), !self.init_joins_v1(), join_unified)
        };
        // The init builds its rootfs before it reads Begin: if it died meanwhile, the send
        // fails, and what it said before dying (if anything) is still to be read.
        let send_begin = || {
            channel
                .send(&begin)
                .map_err(|error| match channel.receive() {
                    Ok(Message::Failed(text)) => {
                        Error::new(text).wrap("the container's init failed")
                    }
                    _ => error.wrap("the container's init failed"),
                })
        };
        if self.namespaces.new_cgroup {
            join()?;
            send_begin()?;
        } else {
            send_begin()?;
            join()?;
        }
        loop {
            match channel
                .receive()
                .map_err(|e| e.wrap("the container's init failed"))?
            {
                Message::Ready => return Ok(()),
                Message::RunRuntimeHooks => {
                    let result = self.run_runtime_hooks(&state.for_hooks());
                    let reply = match &result {
                        Ok(()) => Message::Proceed,
                        Err(e) => Message::Failed(e.to_string()),
                    };
                    channel.send(&reply)?;
                    result?;
                }
                Message::Failed(text) => return Err(Error::new(text)),
                other => bail!("unexpected message from the container's init: {other:?}"),
            }
        }
    }

    #[allow(deprecated)]
    fn run_runtime_hooks(&self, state_json: &[u8]) -> Result<()> {
        let Some(hooks) = self.bundle.spec.hooks() else {
            return Ok(());
        };
        hooks::run_all(
            Phase::Prestart,
            hooks.prestart().as_deref().unwrap_or_default(),
            state_json,
        )?;
        hooks::run_all(
            Phase::CreateRuntime,
            hooks.create_runtime().as_deref().unwrap_or_default(),
            state_json,
        )
    }

    /// Undoes a failed create: the init (reaped, as we are its parent), then what the
    /// journal names. Once the init existed, the lifecycle continues at destroy, so the
    /// poststop hooks run too (spec lifecycle steps 3 to 5, as runc does).
    fn abandon(&self, handle: ContainerHandle) {
        if let Some(pid) = self.init {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        if let Err(e) = destroy(handle, self.init.is_some()) {
            tracing::warn!("cleaning up after a failed create: {e}");
        }
    }
}

/// systemd socket activation: when systemd passed us listening sockets (fds 3.. with
/// LISTEN_FDS, for our pid in LISTEN_PID), the container gets them, and its environment
/// says so for its own pid 1, as runc does. Returns how many.
fn hand_on_socket_activation(bundle: &mut Bundle) -> i32 {
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<i32>().ok())
        .unwrap_or(0);
    if !for_us || count <= 0 {
        return 0;
    }
    if let Some(process) = bundle.spec.process_mut().as_mut() {
        let env = process.env_mut().get_or_insert_with(Vec::new);
        env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_FDS={count}"));
        env.push("LISTEN_PID=1".to_string());
    }
    count
}

/// Written atomically, as engines read it the moment `create` returns.
pub(super) fn write_pid_file(path: &Path, pid: Pid) -> Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::new(format!("--pid-file {}: not a file path", path.display())))?;
    let temporary = path.with_file_name(format!(".{}.tmp", file_name.to_string_lossy()));
    std::fs::write(&temporary, pid.to_string())
        .with_context(|| format!("--pid-file {}", path.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("--pid-file {}", path.display()))
}

fn owner_name() -> String {
    let uid = nix::unistd::geteuid().as_raw();
    crate::util::passwd::lookup("/etc/passwd", uid)
        .map(|(name, _)| name)
        .unwrap_or_else(|| uid.to_string())
}
