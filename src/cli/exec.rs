//! `ocirun exec`: run a new process inside a running container.

use crate::container::{self, ExecRequest};
use crate::error::{Error, Result};
use ocirun_state_machine::StateRoot;
use std::path::PathBuf;

/// Execute a new process inside the container.
#[derive(clap::Args, Debug)]
pub struct Exec {
    /// The container id.
    pub id: String,
    /// The command and its arguments (not needed with --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// A JSON process config (the spec's `process`) to run instead of the flags.
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Do not wait for the process: return once it runs.
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid to this file.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// A unix socket to send the pseudoterminal master to.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Set an environment variable (NAME=VALUE); may be repeated.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// The working directory inside the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// The user: UID[:GID].
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional group ids; may be repeated.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Add a capability to the bounding, effective and permitted sets; may be repeated.
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process.
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Pass N extra file descriptors (3 .. 3+N-1) to the process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
    /// The SELinux label of the process.
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// The AppArmor profile of the process.
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Allow exec into a paused container.
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
}

fn parse_user(text: &str) -> Result<(u32, Option<u32>)> {
    let bad = || Error::new(format!("--user {text:?}: expected UID[:GID] as numbers"));
    match text.split_once(':') {
        Some((uid, gid)) => Ok((
            uid.parse().map_err(|_| bad())?,
            Some(gid.parse().map_err(|_| bad())?),
        )),
        None => Ok((text.parse().map_err(|_| bad())?, None)),
    }
}

impl Exec {
    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        let request = ExecRequest {
            process_file: self.process.clone(),
            args: self.command.clone(),
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            user: self.user.as_deref().map(parse_user).transpose()?,
            additional_gids: self.additional_gids.clone(),
            capabilities: self.cap.clone(),
            no_new_privileges: self.no_new_privs,
            tty: self.tty,
            apparmor_profile: self.apparmor.clone(),
            process_label: self.process_label.clone(),
            detach: self.detach,
            console_socket: self.console_socket.clone(),
            pid_file: self
                .pid_file
                .as_ref()
                .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
            preserve_fds: self.preserve_fds,
            ignore_paused: self.ignore_paused,
        };
        container::exec(root, &self.id, &request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_is_uid_and_optional_gid() {
        assert_eq!(parse_user("1000").unwrap(), (1000, None));
        assert_eq!(parse_user("1000:100").unwrap(), (1000, Some(100)));
        assert!(parse_user("bob").is_err());
    }
}
