//! The container's cgroup in every hierarchy: created (journaling each directory before
//! it exists, so a crash never hides one), joined by the init, and removed at delete.

use super::hierarchy::{Hierarchies, Hierarchy};
use crate::error::{Context, Result};
use serde::{Deserialize, Serialize};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

/// Journaled (in `RuntimeFacts`) at create, so `update`, `pause`, `ps` and `delete` find
/// the container's cgroup from the journal rather than from today's mounts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Placement {
    /// The container's directory in each hierarchy, in the order of `hierarchies.all`.
    pub dirs: Vec<PathBuf>,
    pub hierarchies: Hierarchies,
    /// With `--systemd-cgroup`: the transient scope whose cgroup the container is in
    /// (systemd makes and removes that directory, not us).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<SystemdScope>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemdScope {
    pub unit: String,
    pub slice: String,
}

impl Placement {
    /// Where the container goes, with runc's rules: an absolute `cgroupsPath` is taken
    /// from the root of every hierarchy; a relative one from the runtime's own cgroup in
    /// each v1 hierarchy and from the parent of its own cgroup in cgroup2 (a v2 cgroup
    /// with processes cannot hand controllers to children); an empty one is the relative
    /// path `<id>`.
    pub fn new(cgroups_path: Option<&Path>, id: &str, hierarchies: Hierarchies) -> Placement {
        let own = crate::util::proc::read_text("/proc/self/cgroup").unwrap_or_default();
        Self::resolve(cgroups_path, id, hierarchies, &own)
    }

    /// `new` with the runtime's /proc/self/cgroup given.
    pub fn resolve(
        cgroups_path: Option<&Path>,
        id: &str,
        hierarchies: Hierarchies,
        own_cgroups: &str,
    ) -> Placement {
        let requested = match cgroups_path {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new(id),
        };
        let dirs = hierarchies
            .all
            .iter()
            .map(|hierarchy| {
                let path = if requested.has_root() {
                    lexically_clean(requested)
                } else {
                    let own = own_cgroup(own_cgroups, hierarchy);
                    let base = if hierarchy.unified {
                        own.parent().unwrap_or(&own).to_path_buf()
                    } else {
                        own
                    };
                    let under_mount = base.strip_prefix(&hierarchy.root).unwrap_or(&base);
                    lexically_clean(&Path::new("/").join(under_mount).join(requested))
                };
                hierarchy
                    .mount_point
                    .join(path.strip_prefix("/").unwrap_or(&path))
            })
            .collect();
        Placement {
            dirs,
            hierarchies,
            systemd: None,
        }
    }

    /// The placement of a systemd scope whose cgroup is `path` (from the cgroup2 root,
    /// `/system.slice/ocirun-x.scope`): the same path in every hierarchy, as systemd
    /// names it in the v1 hierarchies it manages too.
    pub fn for_systemd(path: &str, unit: &str, slice: &str, hierarchies: Hierarchies) -> Placement {
        let relative = lexically_clean(Path::new(path));
        let relative = relative
            .strip_prefix("/")
            .unwrap_or(&relative)
            .to_path_buf();
        Placement {
            dirs: hierarchies
                .all
                .iter()
                .map(|h| h.mount_point.join(&relative))
                .collect(),
            hierarchies,
            systemd: Some(SystemdScope {
                unit: unit.to_string(),
                slice: slice.to_string(),
            }),
        }
    }

    /// The hierarchies with the container's directory in each.
    fn each(&self) -> impl Iterator<Item = (&Hierarchy, &PathBuf)> {
        self.hierarchies.all.iter().zip(&self.dirs)
    }

    /// Creates the missing directories, calling `before_mkdir` for each one (to journal
    /// it) before it is made. Returns the directories created, parents first.
    pub fn create(
        &self,
        before_mkdir: impl FnOnce(&[PathBuf]) -> Result<()>,
    ) -> Result<Vec<PathBuf>> {
        self.create_in(|_| true, before_mkdir)
    }

    /// `create` in the hierarchies `wanted` selects.
    pub fn create_in(
        &self,
        wanted: impl Fn(&Hierarchy) -> bool,
        before_mkdir: impl FnOnce(&[PathBuf]) -> Result<()>,
    ) -> Result<Vec<PathBuf>> {
        // Every directory to make is journaled (in one write) before the first exists.
        let mut missing = Vec::new();
        for (hierarchy, target) in self.each().filter(|(h, _)| wanted(h)) {
            let mut dir = hierarchy.mount_point.clone();
            for component in target
                .strip_prefix(&hierarchy.mount_point)
                .unwrap_or(target)
                .components()
            {
                dir.push(component);
                if !dir.exists() {
                    missing.push(dir.clone());
                }
            }
        }
        before_mkdir(&missing)?;
        let mut created = Vec::new();
        for (hierarchy, target) in self.each().filter(|(h, _)| wanted(h)) {
            let mut dir = hierarchy.mount_point.clone();
            for component in target
                .strip_prefix(&hierarchy.mount_point)
                .unwrap_or(target)
                .components()
            {
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
        self.each()
            .find(|(h, _)| !h.unified && h.controllers.iter().any(|c| c == controller))
            .map(|(_, dir)| dir.clone())
    }

    /// The container's directories in the v1 hierarchies.
    pub fn v1_dirs(&self) -> Vec<PathBuf> {
        self.each()
            .filter(|(h, _)| !h.unified)
            .map(|(_, dir)| dir.clone())
            .collect()
    }

    /// The container's directory in the cgroup2 hierarchy.
    pub fn unified_dir(&self) -> Option<PathBuf> {
        self.each()
            .find(|(h, _)| h.unified)
            .map(|(_, dir)| dir.clone())
    }

    /// The container's directory in the cgroup2 hierarchy, opened for CLONE_INTO_CGROUP;
    /// never a systemd scope's, which exists only once systemd has the init's pid.
    pub fn open_unified(&self) -> Option<OwnedFd> {
        if self.systemd.is_some() {
            return None;
        }
        let dir = std::fs::File::open(self.unified_dir()?).ok()?;
        Some(dir.into())
    }

    /// In the init, right after clone: moves this single-threaded process into every v1
    /// hierarchy by writing "0" to `tasks`. Moving oneself as a thread skips the global
    /// lock that a move by pid takes (and its RCU grace period, several ms).
    pub fn join_v1_as_self(&self) -> Result<()> {
        for (_, dir) in self.each().filter(|(h, _)| !h.unified) {
            std::fs::write(dir.join("tasks"), "0")
                .with_context(|| format!("joining cgroup {}", dir.display()))?;
        }
        Ok(())
    }

    /// Moves `pid` into the container's cgroup in the v1 hierarchies (`v1`) and/or the
    /// cgroup2 one (`unified`).
    pub fn join(&self, pid: i32, v1: bool, unified: bool) -> Result<()> {
        for (hierarchy, dir) in self.each() {
            if (hierarchy.unified && !unified) || (!hierarchy.unified && !v1) {
                continue;
            }
            std::fs::write(dir.join("cgroup.procs"), pid.to_string())
                .with_context(|| format!("joining cgroup {}", dir.display()))?;
        }
        Ok(())
    }

    /// The pids in the container's cgroup (from the first hierarchy that answers).
    pub fn pids(&self) -> Vec<i32> {
        self.dirs
            .iter()
            .find_map(|d| read_pids(d).ok())
            .unwrap_or_default()
    }
}

/// The runtime's own cgroup in `hierarchy`, from /proc/self/cgroup (`/` when it is not
/// listed: a hierarchy mounted after the runtime started has everyone at its root).
fn own_cgroup(proc_self_cgroup: &str, hierarchy: &Hierarchy) -> PathBuf {
    proc_self_cgroup
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            Some((controllers, path))
        })
        .find(|(controllers, _)| {
            if hierarchy.unified {
                controllers.is_empty()
            } else {
                let mut listed: Vec<&str> = controllers.split(',').collect();
                let mut mounted: Vec<&str> =
                    hierarchy.controllers.iter().map(String::as_str).collect();
                listed.sort_unstable();
                mounted.sort_unstable();
                !controllers.is_empty() && listed == mounted
            }
        })
        .map(|(_, path)| PathBuf::from(path))
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// `path` with `.` and `..` resolved by name, never above `/`: a `cgroupsPath` cannot
/// leave its hierarchy.
fn lexically_clean(path: &Path) -> PathBuf {
    let mut clean = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(name) => clean.push(name),
            Component::ParentDir => {
                clean.pop();
            }
            _ => {}
        }
    }
    clean
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

    fn hierarchy(mount_point: &str, controllers: &[&str], root: &str) -> Hierarchy {
        Hierarchy {
            mount_point: mount_point.into(),
            root: root.into(),
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
            unified: controllers.is_empty(),
        }
    }

    fn hybrid() -> Hierarchies {
        Hierarchies {
            all: vec![
                hierarchy("/sys/fs/cgroup/memory", &["memory"], "/"),
                hierarchy("/sys/fs/cgroup/cpu,cpuacct", &["cpu", "cpuacct"], "/"),
                hierarchy("/sys/fs/cgroup/unified", &[], "/"),
            ],
        }
    }

    const RUNTIME_AT_ROOT: &str = "4:memory:/\n1:cpu,cpuacct:/\n0::/\n";
    const RUNTIME_IN_A_SERVICE: &str =
        "4:memory:/system.slice/engine.service\n1:cpuacct,cpu:/engine\n0::/system.slice/engine.service\n";

    fn dirs(cgroups_path: Option<&str>, own: &str) -> Vec<PathBuf> {
        Placement::resolve(cgroups_path.map(Path::new), "abc", hybrid(), own).dirs
    }

    #[test]
    fn default_path_is_the_id_below_the_runtimes_own_cgroup() {
        assert_eq!(
            dirs(None, RUNTIME_AT_ROOT),
            [
                PathBuf::from("/sys/fs/cgroup/memory/abc"),
                PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/abc"),
                PathBuf::from("/sys/fs/cgroup/unified/abc"),
            ]
        );
        assert_eq!(
            dirs(Some(""), RUNTIME_IN_A_SERVICE),
            [
                PathBuf::from("/sys/fs/cgroup/memory/system.slice/engine.service/abc"),
                PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/engine/abc"),
                // cgroup2: beside the runtime's cgroup, not inside it.
                PathBuf::from("/sys/fs/cgroup/unified/system.slice/abc"),
            ]
        );
    }

    #[test]
    fn relative_path_is_below_the_runtimes_own_cgroup() {
        assert_eq!(
            dirs(Some("pods/x"), RUNTIME_IN_A_SERVICE)[0],
            PathBuf::from("/sys/fs/cgroup/memory/system.slice/engine.service/pods/x")
        );
    }

    #[test]
    fn absolute_path_is_from_every_hierarchys_root() {
        assert_eq!(
            dirs(Some("/pods/x"), RUNTIME_IN_A_SERVICE),
            [
                PathBuf::from("/sys/fs/cgroup/memory/pods/x"),
                PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/pods/x"),
                PathBuf::from("/sys/fs/cgroup/unified/pods/x"),
            ]
        );
    }

    #[test]
    fn dot_dot_cannot_leave_the_hierarchy() {
        assert_eq!(
            dirs(Some("/../../etc/x"), RUNTIME_AT_ROOT)[0],
            PathBuf::from("/sys/fs/cgroup/memory/etc/x")
        );
        assert_eq!(
            dirs(Some("../../../../x"), RUNTIME_IN_A_SERVICE)[0],
            PathBuf::from("/sys/fs/cgroup/memory/x")
        );
    }

    #[test]
    fn a_mount_of_a_subtree_is_followed_from_its_root() {
        let hierarchies = Hierarchies {
            all: vec![hierarchy("/sys/fs/cgroup/memory", &["memory"], "/outer")],
        };
        let own = "4:memory:/outer/runtime\n";
        let placement = Placement::resolve(None, "abc", hierarchies, own);
        assert_eq!(
            placement.dirs,
            [PathBuf::from("/sys/fs/cgroup/memory/runtime/abc")]
        );
    }
}
