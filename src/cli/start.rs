//! `ocirun start`: run the program of a created container.

use crate::container;
use crate::error::Result;
use ocirun_state_machine::StateRoot;

/// Execute the user-defined process in a created container.
#[derive(clap::Args, Debug)]
pub struct Start {
    /// The container id.
    pub id: String,
}

impl Start {
    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        container::start(root, &self.id)?;
        Ok(0)
    }
}
