//! `ocirun run`: create and start; in the foreground, wait and return the exit code.

use super::create::CreateFlags;
use crate::container;
use crate::error::Result;
use ocirun_state_machine::StateRoot;

/// Create and run a container (create + start, then wait unless detached).
#[derive(clap::Args, Debug)]
pub struct Run {
    /// The container id (unique on this host).
    pub id: String,
    #[command(flatten)]
    pub options: CreateFlags,
    /// Detach from the container: return once it has started.
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits (no delete).
    #[arg(long)]
    pub keep: bool,
}

impl Run {
    pub fn run(&self, root: &StateRoot, systemd_cgroup: bool) -> Result<i32> {
        container::run(
            root,
            &self.id,
            &self.options.options(systemd_cgroup),
            self.detach,
            self.keep,
        )
    }
}
