//! `ocirun delete`: remove a stopped (or, with --force, any) container.

use crate::container;
use crate::error::Result;
use ocirun_state_machine::StateRoot;

/// Delete a container and everything the runtime made for it.
#[derive(clap::Args, Debug)]
pub struct Delete {
    /// The container id.
    pub id: String,
    /// Kill the container first if it is still running (SIGKILL).
    #[arg(short, long)]
    pub force: bool,
}

impl Delete {
    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        container::delete(root, &self.id, self.force)?;
        Ok(0)
    }
}
