//! `ocirun state`: print a container's state JSON.

use crate::container;
use crate::error::Result;
use ocirun_state_machine::StateRoot;

/// Output the state of a container.
#[derive(clap::Args, Debug)]
pub struct State {
    /// The container id.
    pub id: String,
}

impl State {
    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        let state = container::state(root, &self.id)?;
        println!(
            "{}",
            serde_json::to_string_pretty(&state).expect("state serializes")
        );
        Ok(0)
    }
}
