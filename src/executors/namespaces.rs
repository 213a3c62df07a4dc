//! Which namespaces the init gets new (clone flags) and which it joins by path.

use crate::error::{Context, Result};
use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct NamespacePlan {
    /// Namespaces created by clone(2) itself.
    pub clone_flags: CloneFlags,
    /// Created by the init with unshare(2) after the parent placed it in its cgroup, so
    /// that the namespace is rooted at the container's cgroup.
    pub new_cgroup: bool,
    /// Created by the init with unshare(2): clone(2) has no bit left for it, and the
    /// init's children (the exec'd program) enter it.
    pub new_time: bool,
    /// Created by the init with unshare(2) as its first act rather than by clone(2): a
    /// network namespace is the costliest part of the clone (about half a millisecond
    /// here), and in the init it is made while the runtime makes the cgroups. Not with a
    /// new user namespace: there the init waits for its id maps first, and clone(2)
    /// makes the network namespace owned by the new user namespace directly.
    pub new_network_in_init: bool,
    /// Joined by the init, user first so it owns the rest.
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    /// A pid namespace to join: set on the parent before clone, as setns(CLONE_NEWPID)
    /// only affects children.
    pub join_pid: Option<PathBuf>,
}

impl NamespacePlan {
    pub fn from_spec(spec: &Spec) -> NamespacePlan {
        let mut plan = NamespacePlan {
            clone_flags: CloneFlags::empty(),
            new_cgroup: false,
            new_time: false,
            new_network_in_init: false,
            join: Vec::new(),
            join_pid: None,
        };
        let namespaces = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_deref())
            .unwrap_or_default();
        for ns in namespaces {
            match (ns.typ(), ns.path()) {
                (LinuxNamespaceType::Pid, Some(path)) => plan.join_pid = Some(path.clone()),
                (typ, Some(path)) => plan.join.push((typ, path.clone())),
                (LinuxNamespaceType::Cgroup, None) => plan.new_cgroup = true,
                (LinuxNamespaceType::Time, None) => plan.new_time = true,
                (typ, None) => plan.clone_flags |= clone_flag(typ),
            }
        }
        plan.join
            .sort_by_key(|(typ, _)| *typ != LinuxNamespaceType::User);
        if plan.clone_flags.contains(CloneFlags::CLONE_NEWNET) && !plan.new_user() {
            plan.clone_flags.remove(CloneFlags::CLONE_NEWNET);
            plan.new_network_in_init = true;
        }
        plan
    }

    /// Whether a namespace of this type is joined by path.
    pub fn joins(&self, typ: LinuxNamespaceType) -> bool {
        self.join.iter().any(|(t, _)| *t == typ)
    }

    pub fn new_user(&self) -> bool {
        self.clone_flags.contains(CloneFlags::CLONE_NEWUSER)
    }

    pub fn new_pid(&self) -> bool {
        self.clone_flags.contains(CloneFlags::CLONE_NEWPID)
    }

    pub fn new_mount(&self) -> bool {
        self.clone_flags.contains(CloneFlags::CLONE_NEWNS)
    }

    /// In the init: joins every namespace given by path.
    pub fn join_paths(&self) -> Result<()> {
        for (typ, path) in &self.join {
            enter(path, clone_flag(*typ))
                .with_context(|| format!("joining {typ} namespace {}", path.display()))?;
        }
        Ok(())
    }
}

pub fn enter(path: &std::path::Path, flag: CloneFlags) -> Result<()> {
    let file = std::fs::File::open(path)?;
    setns(file, flag)?;
    Ok(())
}

pub fn clone_flag(typ: LinuxNamespaceType) -> CloneFlags {
    match typ {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        // CLONE_NEWTIME (0x80) has no CloneFlags constant in nix.
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(0x80),
    }
}
