//! Running OCI hooks: the state JSON on stdin, the hook's own args and env, and its
//! timeout. Output is captured (in a memfd, so a chatty hook never blocks on a pipe) and
//! quoted in the error when the hook fails.

use crate::bail;
use crate::error::{Context, Result};
use nix::sys::memfd::{memfd_create, MFdFlags};
use oci_spec::runtime::Hook;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Which hook list is running; used in messages.
#[derive(Debug, Clone, Copy)]
pub enum Phase {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Prestart => "prestart",
            Phase::CreateRuntime => "createRuntime",
            Phase::CreateContainer => "createContainer",
            Phase::StartContainer => "startContainer",
            Phase::Poststart => "poststart",
            Phase::Poststop => "poststop",
        }
    }
}

/// Runs each hook in order; the first failure stops the list.
pub fn run_all(phase: Phase, hooks: &[Hook], state_json: &[u8]) -> Result<()> {
    for (index, hook) in hooks.iter().enumerate() {
        run_one(hook, state_json).map_err(|e| {
            e.wrap(format!(
                "{} hook #{index} ({})",
                phase.name(),
                hook.path().display()
            ))
        })?;
    }
    Ok(())
}

fn run_one(hook: &Hook, state_json: &[u8]) -> Result<()> {
    let output: File = memfd_create("ocirun-hook", MFdFlags::MFD_CLOEXEC)
        .context("memfd")?
        .into();
    let mut command = Command::new(hook.path());
    if let Some((arg0, rest)) = hook.args().as_deref().and_then(|a| a.split_first()) {
        command.arg0(arg0).args(rest);
    }
    command.env_clear();
    for entry in hook.env().iter().flatten() {
        if let Some((key, value)) = entry.split_once('=') {
            command.env(key, value);
        }
    }
    command
        .stdin(Stdio::piped())
        .stdout(output.try_clone().context("dup")?)
        .stderr(output.try_clone().context("dup")?);
    let mut child = command.spawn().context("starting")?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that exits without reading its stdin is fine.
        let _ = stdin.write_all(state_json);
    }
    let timeout = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting")? {
            break status;
        }
        if timeout.is_some_and(|t| started.elapsed() >= t) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {}s", timeout.unwrap_or_default().as_secs());
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    if !status.success() {
        let mut text = String::new();
        let mut output = output;
        let _ = output.rewind();
        let _ = output.take(4096).read_to_string(&mut text);
        bail!("{status}: {}", text.trim());
    }
    Ok(())
}
