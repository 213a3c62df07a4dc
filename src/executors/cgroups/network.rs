//! `linux.resources.network`: v1 `net_cls.classid` and `net_prio.ifpriomap`. cgroup v2
//! has neither (its replacement is eBPF on the socket), so setting them there is an error.

use super::resources::{missing_controller, write, Controllers, Target};
use crate::error::{Error, Result};
use oci_spec::runtime::LinuxNetwork;

const FIELD: &str = "linux.resources.network";

pub fn apply(controllers: &Controllers, network: &LinuxNetwork) -> Result<()> {
    if let Some(class_id) = network.class_id() {
        let dir = v1_only(controllers.locate("net_cls", ""), "classID", "net_cls")?;
        write(
            &dir,
            "net_cls.classid",
            &class_id.to_string(),
            &format!("{FIELD}.classID"),
        )?;
    }
    let priorities = network.priorities().as_deref().unwrap_or_default();
    if !priorities.is_empty() {
        let dir = v1_only(controllers.locate("net_prio", ""), "priorities", "net_prio")?;
        for (i, priority) in priorities.iter().enumerate() {
            let line = format!("{} {}", priority.name(), priority.priority());
            write(
                &dir,
                "net_prio.ifpriomap",
                &line,
                &format!("{FIELD}.priorities[{i}]"),
            )?;
        }
    }
    Ok(())
}

fn v1_only(target: Option<Target>, field: &str, controller: &str) -> Result<std::path::PathBuf> {
    match target {
        Some(Target::V1(dir)) => Ok(dir),
        Some(Target::V2(_)) => Err(Error::new(format!(
            "{FIELD}.{field}: cgroup v2 has no {controller} controller"
        ))),
        None => Err(missing_controller(&format!("{FIELD}.{field}"), controller)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executors::cgroups::{Hierarchies, Hierarchy, Placement};
    use oci_spec::runtime::{LinuxInterfacePriorityBuilder, LinuxNetworkBuilder};

    fn placement_with(mount: &std::path::Path, controllers: &[&str]) -> Placement {
        Placement {
            dirs: vec![mount.join("c")],
            hierarchies: Hierarchies {
                all: vec![Hierarchy {
                    mount_point: mount.into(),
                    root: "/".into(),
                    controllers: controllers.iter().map(|c| c.to_string()).collect(),
                    unified: false,
                }],
            },
            systemd: None,
        }
    }

    #[test]
    fn classid_and_priorities_on_v1() {
        let mount = tempfile::tempdir().unwrap();
        std::fs::create_dir(mount.path().join("c")).unwrap();
        for file in ["net_cls.classid", "net_prio.ifpriomap"] {
            std::fs::write(mount.path().join("c").join(file), "").unwrap();
        }
        let placement = placement_with(mount.path(), &["net_cls", "net_prio"]);
        let network = LinuxNetworkBuilder::default()
            .class_id(0x100001u32)
            .priorities(vec![LinuxInterfacePriorityBuilder::default()
                .name("eth0")
                .priority(5u32)
                .build()
                .unwrap()])
            .build()
            .unwrap();
        apply(&Controllers::new(&placement), &network).unwrap();
        let read = |f: &str| std::fs::read_to_string(mount.path().join("c").join(f)).unwrap();
        assert_eq!(read("net_cls.classid"), "1048577");
        assert_eq!(read("net_prio.ifpriomap"), "eth0 5");
    }

    #[test]
    fn a_host_without_net_cls_names_the_field() {
        let mount = tempfile::tempdir().unwrap();
        let placement = placement_with(mount.path(), &["memory"]);
        let network = LinuxNetworkBuilder::default()
            .class_id(1u32)
            .build()
            .unwrap();
        assert_eq!(
            apply(&Controllers::new(&placement), &network)
                .unwrap_err()
                .to_string(),
            "linux.resources.network.classID: this host has no net_cls cgroup controller"
        );
        apply(&Controllers::new(&placement), &LinuxNetwork::default()).unwrap();
    }
}
