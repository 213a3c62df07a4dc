//! `ocirun create`: set a container up and leave its init waiting for `start`.

use crate::container::{self, CreateOptions};
use crate::error::Result;
use ocirun_state_machine::StateRoot;
use std::path::PathBuf;

/// Create a container from a bundle; its program runs at `start`.
#[derive(clap::Args, Debug, Clone)]
pub struct Create {
    /// The container id (unique on this host).
    pub id: String,
    #[command(flatten)]
    pub options: CreateFlags,
}

/// The flags `create` and `run` share.
#[derive(clap::Args, Debug, Clone)]
pub struct CreateFlags {
    /// Path to the bundle (the directory holding config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A unix socket to send the pseudoterminal master to (when process.terminal is true).
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Write the container's init pid to this file.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Use chroot instead of pivot_root (for a rootfs on a ramdisk).
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring for the container.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra file descriptors (3 .. 3+N-1) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
}

impl CreateFlags {
    pub fn options(&self, systemd_cgroup: bool) -> CreateOptions {
        let absolute = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
        CreateOptions {
            bundle: self.bundle.clone(),
            systemd_cgroup,
            pid_file: self.pid_file.as_ref().map(absolute),
            console_socket: self.console_socket.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
        }
    }
}

impl Create {
    pub fn run(&self, root: &StateRoot, systemd_cgroup: bool) -> Result<i32> {
        container::create(root, &self.id, &self.options.options(systemd_cgroup))?;
        Ok(0)
    }
}
