//! The container's cgroup in every hierarchy: created (journaling each directory before
//! it exists, so a crash never hides one), joined by the init, and removed at delete.

use super::hierarchy::Hierarchies;
use crate::error::{Context, Result};
use serde::{Deserialize, Serialize};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

/// Journaled (in `RuntimeFacts`) at create, so `update`, `pause`, `ps` and `delete` find
/// the container's cgroup from the journal rather than from today's mounts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Placement {
    /// The cgroup path inside each hierarchy, absolute (`/mycontainer`).
    pub path: PathBuf,
    pub hierarchies: Hierarchies,
}

impl Placement {
    /// `cgroupsPath` from the config, or `/<id>` as runc does when it is empty. A relative
    /// path is taken from the root of each hierarchy.
    pub fn new(cgroups_path: Option<&Path>, id: &str, hierarchies: Hierarchies) -> Placement {
        let path = match cgroups_path {
            Some(p) if !p.as_os_str().is_empty() => Path::new("/").join(p),
            _ => Path::new("/").join(id),
        };
        let normalised: PathBuf = path
            .components()
            .filter(|c| matches!(c, Component::RootDir | Component::Normal(_)))
            .collect();
        Placement {
            path: normalised,
            hierarchies,
        }
    }

    /// The container's directory in each hierarchy.
    pub fn directories(&self) -> Vec<PathBuf> {
        let relative = self.path.strip_prefix("/").unwrap_or(&self.path);
        self.hierarchies
            .all
            .iter()
            .map(|h| h.mount_point.join(relative))
            .collect()
    }

    /// Creates the missing directories, calling `before_mkdir` for each one (to journal
    /// it) before it is made. Returns the directories created, parents first.
    pub fn create(
        &self,
        before_mkdir: impl FnOnce(&[PathBuf]) -> Result<()>,
    ) -> Result<Vec<PathBuf>> {
        // Every directory to make is journaled (in one write) before the first exists.
        let mut missing = Vec::new();
        for hierarchy in &self.hierarchies.all {
            let mut dir = hierarchy.mount_point.clone();
            for component in self.path.components().skip(1) {
                dir.push(component);
                if !dir.exists() {
                    missing.push(dir.clone());
                }
            }
        }
        before_mkdir(&missing)?;
        let mut created = Vec::new();
        for hierarchy in &self.hierarchies.all {
            let mut dir = hierarchy.mount_point.clone();
            for component in self.path.components().skip(1) {
                if hierarchy.unified && self.hierarchies.is_pure_v2() {
                    enable_v2_controllers(&dir);
                }
                dir.push(component);
                if !missing.contains(&dir) {
                    continue;
                }
                match std::fs::create_dir(&dir) {
                    Ok(()) => {
                        created.push(dir.clone());
                        if hierarchy.controllers.iter().any(|c| c == "cpuset") {
                            inherit_cpuset(&dir)?;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e).context(format!("creating cgroup {}", dir.display())),
                }
            }
        }
        Ok(created)
    }

    /// The container's directory in the v1 hierarchy holding `controller`.
    pub fn v1_dir(&self, controller: &str) -> Option<PathBuf> {
        let relative = self.path.strip_prefix("/").unwrap_or(&self.path);
        Some(self.hierarchies.v1(controller)?.mount_point.join(relative))
    }

    /// The container's directory in the cgroup2 hierarchy.
    pub fn unified_dir(&self) -> Option<PathBuf> {
        let relative = self.path.strip_prefix("/").unwrap_or(&self.path);
        Some(self.hierarchies.unified()?.mount_point.join(relative))
    }

    /// The container's directory in the cgroup2 hierarchy, opened for CLONE_INTO_CGROUP.
    pub fn open_unified(&self) -> Option<OwnedFd> {
        let relative = self.path.strip_prefix("/").unwrap_or(&self.path);
        let unified = self.hierarchies.all.iter().find(|h| h.unified)?;
        let dir = std::fs::File::open(unified.mount_point.join(relative)).ok()?;
        Some(dir.into())
    }

    /// In the init, right after clone: moves this single-threaded process into every v1
    /// hierarchy by writing "0" to `tasks`. Moving oneself as a thread skips the global
    /// lock that a move by pid takes (and its RCU grace period, several ms).
    pub fn join_v1_as_self(&self) -> Result<()> {
        let relative = self.path.strip_prefix("/").unwrap_or(&self.path);
        for hierarchy in self.hierarchies.all.iter().filter(|h| !h.unified) {
            let dir = hierarchy.mount_point.join(relative);
            std::fs::write(dir.join("tasks"), "0")
                .with_context(|| format!("joining cgroup {}", dir.display()))?;
        }
        Ok(())
    }

    /// Moves `pid` into the container's cgroup in the v1 hierarchies (`v1`) and/or the
    /// cgroup2 one (`unified`).
    pub fn join(&self, pid: i32, v1: bool, unified: bool) -> Result<()> {
        let relative = self.path.strip_prefix("/").unwrap_or(&self.path);
        for hierarchy in &self.hierarchies.all {
            if (hierarchy.unified && !unified) || (!hierarchy.unified && !v1) {
                continue;
            }
            let dir = hierarchy.mount_point.join(relative);
            std::fs::write(dir.join("cgroup.procs"), pid.to_string())
                .with_context(|| format!("joining cgroup {}", dir.display()))?;
        }
        Ok(())
    }

    /// The pids in the container's cgroup (from the first hierarchy that answers).
    pub fn pids(&self) -> Vec<i32> {
        self.directories()
            .iter()
            .find_map(|d| read_pids(d).ok())
            .unwrap_or_default()
    }
}

/// cgroup2 hands a controller to a child only when the parent lists it in
/// `cgroup.subtree_control`: on a pure v2 host, enable everything the parent has, as runc
/// does. A hybrid host's cgroup2 tree is left as its admin configured it (enabling a
/// controller there is a host-wide change). Best effort: a
/// controller that cannot be enabled (a parent with processes of its own, say) is simply
/// missing below, and setting its resource then fails with a message naming it.
fn enable_v2_controllers(parent: &Path) {
    let available = std::fs::read_to_string(parent.join("cgroup.controllers")).unwrap_or_default();
    for controller in available.split_whitespace() {
        if let Err(e) = std::fs::write(
            parent.join("cgroup.subtree_control"),
            format!("+{controller}"),
        ) {
            tracing::debug!(
                "enabling {controller} in {}: {e}",
                parent.join("cgroup.subtree_control").display()
            );
        }
    }
}

/// A new v1 cpuset starts with no cpus and no memory nodes, and joining it fails with
/// ENOSPC: give it its parent's.
fn inherit_cpuset(dir: &Path) -> Result<()> {
    let parent = dir.parent().unwrap_or(dir);
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let current = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        if current.trim().is_empty() {
            let inherited = std::fs::read_to_string(parent.join(file))
                .with_context(|| format!("reading {}", parent.join(file).display()))?;
            std::fs::write(dir.join(file), inherited.trim())
                .with_context(|| format!("writing {}", dir.join(file).display()))?;
        }
    }
    Ok(())
}

pub fn read_pids(dir: &Path) -> std::io::Result<Vec<i32>> {
    let text = std::fs::read_to_string(dir.join("cgroup.procs"))?;
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Removes a cgroup directory the runtime created: kills what is left in it, then retries
/// rmdir while the kernel finishes tearing the tasks down. A missing directory is done.
pub fn remove(dir: &Path) -> Result<()> {
    for attempt in 0..200 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 199 => {
                for pid in read_pids(dir).unwrap_or_default() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => return Err(e).context(format!("removing cgroup {}", dir.display())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executors::cgroups::Hierarchy;

    fn hybrid() -> Hierarchies {
        Hierarchies {
            all: vec![
                Hierarchy {
                    mount_point: "/sys/fs/cgroup/memory".into(),
                    controllers: vec!["memory".into()],
                    unified: false,
                },
                Hierarchy {
                    mount_point: "/sys/fs/cgroup/unified".into(),
                    controllers: vec![],
                    unified: true,
                },
            ],
        }
    }

    #[test]
    fn default_path_is_named_after_the_id() {
        let p = Placement::new(None, "abc", hybrid());
        assert_eq!(
            p.directories(),
            [
                PathBuf::from("/sys/fs/cgroup/memory/abc"),
                PathBuf::from("/sys/fs/cgroup/unified/abc")
            ]
        );
    }

    #[test]
    fn dot_dot_cannot_leave_the_hierarchy() {
        let p = Placement::new(Some(Path::new("/../../etc/x")), "abc", hybrid());
        assert_eq!(p.path, PathBuf::from("/etc/x"));
    }
}
