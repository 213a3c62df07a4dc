//! Applying `linux.resources` to the container's cgroup, at `create` (after the
//! directories exist and before the init joins them, so the limits hold from its first
//! instruction) and at `update`.
//!
//! Each controller is written where the host has it: its v1 hierarchy when there is one
//! (v1 and hybrid hosts), otherwise the cgroup2 directory when its `cgroup.controllers`
//! lists it. A resource that is set but has nowhere to go is an error naming the config
//! field; a resource that is not set is never touched. See docs/cgroups.md.

use super::placement::Placement;
use super::{blkio, cpu, cpuset, devices, hugetlb, memory, network, pids, rdma, unified};
use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxDevice, LinuxResources};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where one controller's files are for this container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    V1(PathBuf),
    V2(PathBuf),
}

/// Why `apply` is called: `create` also installs the default device allow-list, `update`
/// checks `memory.checkBeforeUpdate` and leaves device rules alone (as runc does).
#[derive(Debug, Clone, Copy)]
pub enum Stage<'a> {
    Create { devices: &'a [LinuxDevice] },
    Update,
}

impl Stage<'_> {
    pub fn is_update(&self) -> bool {
        matches!(self, Stage::Update)
    }
}

/// The container's controllers, located once.
pub struct Controllers<'a> {
    placement: &'a Placement,
    /// What the container's cgroup2 directory may use (`cgroup.controllers`).
    unified_controllers: Vec<String>,
}

impl<'a> Controllers<'a> {
    pub fn new(placement: &'a Placement) -> Controllers<'a> {
        let unified_controllers = placement
            .unified_dir()
            .and_then(|dir| std::fs::read_to_string(dir.join("cgroup.controllers")).ok())
            .map(|text| text.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        Controllers {
            placement,
            unified_controllers,
        }
    }

    /// The v1 hierarchy named `v1` if the host has one, else the cgroup2 directory if it
    /// offers controller `v2`.
    pub fn locate(&self, v1: &str, v2: &str) -> Option<Target> {
        if let Some(dir) = self.placement.v1_dir(v1) {
            return Some(Target::V1(dir));
        }
        let dir = self.placement.unified_dir()?;
        self.unified_controllers
            .iter()
            .any(|c| c == v2)
            .then_some(Target::V2(dir))
    }

    /// The cgroup2 directory, whatever controllers it has (for `unified`).
    pub fn unified_dir(&self) -> Option<PathBuf> {
        self.placement.unified_dir()
    }

    pub fn unified_controllers(&self) -> &[String] {
        &self.unified_controllers
    }

    /// Whether there is a v1 hierarchy at all (a v1 or hybrid host).
    pub fn has_v1(&self) -> bool {
        self.placement.hierarchies.all.iter().any(|h| !h.unified)
    }
}

/// Applies every set resource; stops at the first failure (the caller undoes create).
pub fn apply(placement: &Placement, resources: &LinuxResources, stage: Stage) -> Result<()> {
    let controllers = Controllers::new(placement);
    if let Some(memory) = resources.memory() {
        memory::apply(controllers.locate("memory", "memory"), memory, stage)?;
    }
    if let Some(cpu) = resources.cpu() {
        cpuset::apply(controllers.locate("cpuset", "cpuset"), cpu)?;
        cpu::apply(controllers.locate("cpu", "cpu"), cpu)?;
    }
    if let Some(pids) = resources.pids() {
        pids::apply(controllers.locate("pids", "pids"), pids)?;
    }
    if let Some(block_io) = resources.block_io() {
        blkio::apply(controllers.locate("blkio", "io"), block_io)?;
    }
    if let Some(limits) = resources.hugepage_limits() {
        hugetlb::apply(controllers.locate("hugetlb", "hugetlb"), limits)?;
    }
    if let Some(network) = resources.network() {
        network::apply(&controllers, network)?;
    }
    if let Some(rdma) = resources.rdma() {
        rdma::apply(controllers.locate("rdma", "rdma"), rdma)?;
    }
    if let Some(values) = resources.unified() {
        unified::apply(&controllers, values)?;
    }
    let rules = resources.devices().as_deref().unwrap_or_default();
    match stage {
        Stage::Create { devices } => {
            devices::apply(
                placement.v1_dir("devices"),
                placement.unified_dir(),
                rules,
                devices,
            )?;
        }
        Stage::Update if !rules.is_empty() => {
            tracing::warn!(
                "linux.resources.devices: device rules are fixed at create and not updated"
            );
        }
        Stage::Update => {}
    }
    Ok(())
}

/// The error for a resource set on a host without its controller.
pub fn missing_controller(field: &str, controller: &str) -> Error {
    Error::new(format!(
        "{field}: this host has no {controller} cgroup controller"
    ))
}

/// Writes `value` to `dir/file` for config field `field`. The file must exist: cgroupfs
/// never creates files, and a missing one means the kernel lacks that knob, which is
/// reported as such rather than as ENOENT.
pub fn write(dir: &Path, file: &str, value: &str, field: &str) -> Result<()> {
    let path = dir.join(file);
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path);
    let mut handle = match opened {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.exists() => {
            return Err(Error::new(format!(
                "{field}: this host's cgroup has no {file} (the kernel does not offer it)"
            )))
        }
        Err(e) => {
            return Err(Error::new(format!(
                "{field}: opening {}: {e}",
                path.display()
            )))
        }
    };
    handle.write_all(value.as_bytes()).map_err(|e| {
        Error::new(format!(
            "{field}: writing {value:?} to {}: {e}",
            path.display()
        ))
    })
}

/// Reads a cgroup file, trimmed.
pub fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path)
        .map(|text| text.trim().to_string())
        .map_err(|e| Error::new(format!("reading {}: {e}", path.display())))
}

/// `dir/file` exists.
pub fn has(dir: &Path, file: &str) -> bool {
    dir.join(file).exists()
}

/// A v2 limit: negative is unlimited.
pub fn v2_limit(value: i64) -> String {
    if value < 0 {
        "max".to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
pub mod testing {
    //! A temporary directory laid out like a cgroup: the given files, empty.

    use std::path::Path;

    pub fn fake_cgroup(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in files {
            std::fs::write(dir.path().join(file), "").expect("creating a fake cgroup file");
        }
        dir
    }

    pub fn content(dir: &Path, file: &str) -> String {
        std::fs::read_to_string(dir.join(file)).expect("reading a fake cgroup file")
    }

    /// Seeds a fake file with the value the kernel would show.
    pub fn set(dir: &Path, file: &str, value: &str) {
        std::fs::write(dir.join(file), value).expect("seeding a fake cgroup file");
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn a_missing_knob_names_the_field_and_the_file() {
        let dir = fake_cgroup(&[]);
        let error = write(
            dir.path(),
            "blkio.leaf_weight",
            "10",
            "linux.resources.blockIO.leafWeight",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "linux.resources.blockIO.leafWeight: this host's cgroup has no blkio.leaf_weight (the kernel does not offer it)"
        );
    }

    #[test]
    fn writes_replace_the_content() {
        let dir = fake_cgroup(&["pids.max"]);
        write(dir.path(), "pids.max", "12345", "f").unwrap();
        write(dir.path(), "pids.max", "7", "f").unwrap();
        assert_eq!(content(dir.path(), "pids.max"), "7");
    }

    #[test]
    fn negative_v2_limits_are_max() {
        assert_eq!(v2_limit(-1), "max");
        assert_eq!(v2_limit(4096), "4096");
    }
}
