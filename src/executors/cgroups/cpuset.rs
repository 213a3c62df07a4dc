//! `linux.resources.cpu.cpus` / `.mems`: `cpuset.cpus` and `cpuset.mems`, the same files
//! on v1 (the cpuset hierarchy) and v2 (the cpuset controller).

use super::resources::{missing_controller, write, Target};
use crate::error::Result;
use oci_spec::runtime::LinuxCpu;

const FIELD: &str = "linux.resources.cpu";

pub fn apply(target: Option<Target>, cpu: &LinuxCpu) -> Result<()> {
    let cpus = cpu.cpus().as_deref().filter(|c| !c.is_empty());
    let mems = cpu.mems().as_deref().filter(|m| !m.is_empty());
    if cpus.is_none() && mems.is_none() {
        return Ok(());
    }
    let dir = match target {
        None => {
            let first = if cpus.is_some() { "cpus" } else { "mems" };
            return Err(missing_controller(&format!("{FIELD}.{first}"), "cpuset"));
        }
        Some(Target::V1(dir) | Target::V2(dir)) => dir,
    };
    if let Some(cpus) = cpus {
        write(&dir, "cpuset.cpus", cpus, &format!("{FIELD}.cpus"))?;
    }
    if let Some(mems) = mems {
        write(&dir, "cpuset.mems", mems, &format!("{FIELD}.mems"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resources::testing::*;
    use super::*;
    use oci_spec::runtime::LinuxCpuBuilder;

    #[test]
    fn cpus_and_mems_on_v1_and_v2() {
        for v2 in [false, true] {
            let dir = fake_cgroup(&["cpuset.cpus", "cpuset.mems"]);
            let target = if v2 {
                Target::V2(dir.path().into())
            } else {
                Target::V1(dir.path().into())
            };
            let cpu = LinuxCpuBuilder::default()
                .cpus("0")
                .mems("0")
                .build()
                .unwrap();
            apply(Some(target), &cpu).unwrap();
            assert_eq!(content(dir.path(), "cpuset.cpus"), "0");
            assert_eq!(content(dir.path(), "cpuset.mems"), "0");
        }
    }

    #[test]
    fn empty_strings_are_unset() {
        let cpu = LinuxCpuBuilder::default().cpus("").build().unwrap();
        apply(None, &cpu).unwrap();
        let cpu = LinuxCpuBuilder::default().mems("0").build().unwrap();
        assert_eq!(
            apply(None, &cpu).unwrap_err().to_string(),
            "linux.resources.cpu.mems: this host has no cpuset cgroup controller"
        );
    }
}
