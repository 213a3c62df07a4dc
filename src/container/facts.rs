//! What the runtime keeps in the journal's opaque metadata: everything a later command
//! needs that the lifecycle itself does not interpret.

use oci_spec::runtime::Hook;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuntimeFacts {
    /// The container's cgroup directory in each hierarchy.
    #[serde(default)]
    pub cgroup_dirs: Vec<PathBuf>,
    /// Run by `start`: config.json may have changed since create, which must not matter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart_hooks: Vec<Hook>,
    /// Run at delete, when the bundle may be gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop_hooks: Vec<Hook>,
}

impl RuntimeFacts {
    pub fn from_metadata(metadata: Option<&ocirun_state_machine::Metadata>) -> RuntimeFacts {
        metadata
            .and_then(|m| serde_json::from_value(m.extra.clone()).ok())
            .unwrap_or_default()
    }
}
