//! What the runtime keeps in the journal's opaque metadata: everything a later command
//! needs that the lifecycle itself does not interpret.

use crate::executors::cgroups::Placement;
use oci_spec::runtime::Hook;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuntimeFacts {
    /// (device, inode) of the runtime binary that created the container. The init runs
    /// it until it execs the program, whatever binary later commands are (an upgrade
    /// replaces the file, not the inode the init runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_executable: Option<(u64, u64)>,
    /// The container's process config, the base of every `exec` (config.json may change
    /// after create, which must not matter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<serde_json::Value>,
    /// The container's cgroup: its directory in each hierarchy, and which hierarchy (so
    /// which controllers) each belongs to; what `exec`, `update`, `pause`, `resume`,
    /// `kill --all` and `ps` work on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroups: Option<Placement>,
    /// The container's `linux.seccomp`: `exec` applies it to every process it adds, as
    /// runc does (a process file has no filter of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<serde_json::Value>,
    /// Run by `start`: config.json may have changed since create, which must not matter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart_hooks: Vec<Hook>,
    /// Run at delete, when the bundle may be gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop_hooks: Vec<Hook>,
}

impl RuntimeFacts {
    /// The container's cgroup placement, as journaled at create.
    pub fn placement(&self, id: &str) -> crate::error::Result<&Placement> {
        self.cgroups.as_ref().ok_or_else(|| {
            crate::error::Error::new(format!(
                "container {id:?} was created by an ocirun that did not journal its cgroups"
            ))
        })
    }

    pub fn from_metadata(metadata: Option<&ocirun_state_machine::Metadata>) -> RuntimeFacts {
        metadata
            .and_then(|m| serde_json::from_value(m.extra.clone()).ok())
            .unwrap_or_default()
    }
}
