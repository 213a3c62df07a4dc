//! `ocirun pause` / `ocirun resume`: freeze and thaw every process of a container.

use crate::container;
use crate::error::Result;
use ocirun_state_machine::StateRoot;

/// Suspend every process of a running container (the cgroup freezer).
#[derive(clap::Args, Debug)]
pub struct Pause {
    /// The container id.
    pub id: String,
}

/// Resume every process of a paused container.
#[derive(clap::Args, Debug)]
pub struct Resume {
    /// The container id.
    pub id: String,
}

impl Pause {
    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        container::pause(root, &self.id)?;
        Ok(0)
    }
}

impl Resume {
    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        container::resume(root, &self.id)?;
        Ok(0)
    }
}
