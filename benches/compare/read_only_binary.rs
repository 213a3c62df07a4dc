//! What the CVE-2019-5736 protection costs: ocirun's init execs the program through the
//! exec trampoline (or, for some configs, the runtime re-execs from a read-only view of
//! its binary), unless the binary already sits on a read-only mount
//! (src/executors/sealed_binary.rs). A copy of the binary under a read-only bind mount
//! therefore runs the same code without either; the difference between the two `run`s,
//! in the same iterations, is the protection's price.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A read-only bind mount holding a copy of the binary; unmounted when dropped.
pub struct ReadOnlyBinary {
    dir: PathBuf,
    pub bin: PathBuf,
}

fn mount(args: &[&str]) -> Result<(), String> {
    let out = Command::new("mount")
        .args(args)
        .output()
        .map_err(|e| format!("mount: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mount {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl ReadOnlyBinary {
    /// Copies `binary` into `dir` and makes `dir` a read-only bind mount of itself.
    pub fn new(binary: &Path, dir: &Path) -> Result<ReadOnlyBinary, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let bin = dir.join("ocirun");
        std::fs::copy(binary, &bin).map_err(|e| format!("copying the binary: {e}"))?;
        let path = dir.to_str().ok_or("a non-UTF-8 bench directory")?;
        mount(&["--bind", path, path])?;
        let made = ReadOnlyBinary {
            dir: dir.to_path_buf(),
            bin,
        };
        mount(&["-o", "remount,bind,ro", path])?;
        Ok(made)
    }
}

impl Drop for ReadOnlyBinary {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}
