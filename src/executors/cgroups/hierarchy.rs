//! Discovering the host's cgroup hierarchies from /proc/self/mountinfo: v1 controllers,
//! the cgroup2 mount (at /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a
//! hybrid one), or both.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    pub mount_point: PathBuf,
    /// The cgroup this mount shows at its top (mountinfo's root field): `/` on a host,
    /// a subtree when a container bind-mounted part of the hierarchy without a cgroup
    /// namespace. Paths from /proc/self/cgroup are relative to the hierarchy's real root.
    #[serde(default = "top_of_hierarchy")]
    pub root: PathBuf,
    /// v1: the controllers (and `name=` options) of this hierarchy; empty for cgroup2.
    pub controllers: Vec<String>,
    pub unified: bool,
}

fn top_of_hierarchy() -> PathBuf {
    PathBuf::from("/")
}

impl Hierarchy {
    /// The directory name under the container's /sys/fs/cgroup.
    pub fn name(&self) -> String {
        if self.unified {
            "unified".to_string()
        } else {
            self.mount_point
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.controllers.join(","))
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Hierarchies {
    pub all: Vec<Hierarchy>,
}

impl Hierarchies {
    pub fn detect() -> Hierarchies {
        let text = crate::util::proc::read_text("/proc/self/mountinfo").unwrap_or_default();
        Self::parse(&text)
    }

    pub fn parse(mountinfo: &str) -> Hierarchies {
        let mut all: Vec<Hierarchy> = Vec::new();
        for line in mountinfo.lines() {
            let Some((before, after)) = line.split_once(" - ") else {
                continue;
            };
            let mut before_fields = before.split_whitespace();
            let root = before_fields.nth(3).map(PathBuf::from);
            let mount_point = before_fields.next();
            let mut after_fields = after.split_whitespace();
            let fs_type = after_fields.next();
            let super_options = after_fields.nth(1).unwrap_or("");
            let (Some(mount_point), Some(root)) = (mount_point.map(PathBuf::from), root) else {
                continue;
            };
            // A hierarchy mounted twice (bind mounts of it) counts once.
            if all.iter().any(|h| h.mount_point == mount_point) {
                continue;
            }
            match fs_type {
                Some("cgroup2") => all.push(Hierarchy {
                    mount_point,
                    root,
                    controllers: Vec::new(),
                    unified: true,
                }),
                Some("cgroup") => {
                    let controllers: Vec<String> = super_options
                        .split(',')
                        .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("release_agent"))
                        .filter(|o| *o != "clone_children" && *o != "noprefix" && *o != "xattr")
                        .map(str::to_string)
                        .collect();
                    if all
                        .iter()
                        .any(|h| !h.unified && h.controllers == controllers)
                    {
                        continue;
                    }
                    all.push(Hierarchy {
                        mount_point,
                        root,
                        controllers,
                        unified: false,
                    });
                }
                _ => {}
            }
        }
        Hierarchies { all }
    }

    pub fn is_pure_v2(&self) -> bool {
        self.all.len() == 1 && self.all[0].unified
    }

    /// The v1 hierarchy that holds `controller` (`memory`, `cpu`, `name=systemd`...).
    pub fn v1(&self, controller: &str) -> Option<&Hierarchy> {
        self.all
            .iter()
            .find(|h| !h.unified && h.controllers.iter().any(|c| c == controller))
    }

    /// The cgroup2 hierarchy, on a pure v2 or a hybrid host.
    pub fn unified(&self) -> Option<&Hierarchy> {
        self.all.iter().find(|h| h.unified)
    }

    /// What kind of host this is, for messages and docs.
    pub fn mode(&self) -> &'static str {
        match (
            self.unified().is_some(),
            self.all.iter().any(|h| !h.unified),
        ) {
            (true, false) => "cgroup v2",
            (true, true) => "hybrid (cgroup v1 controllers plus a cgroup2 mount)",
            (false, true) => "cgroup v1",
            (false, false) => "no cgroups",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
36 31 0:33 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_host_has_v1_controllers_and_unified() {
        let found = Hierarchies::parse(HYBRID);
        let names: Vec<String> = found.all.iter().map(Hierarchy::name).collect();
        assert_eq!(names, ["cpu", "memory", "systemd", "unified"]);
        assert_eq!(found.all[2].controllers, ["name=systemd"]);
        assert!(!found.is_pure_v2());
    }

    #[test]
    fn pure_v2_host() {
        let found =
            Hierarchies::parse("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
        assert!(found.is_pure_v2());
    }
}
