//! `linux.resources.pids.limit`: `pids.max` on v1 and v2 alike.

use super::resources::{missing_controller, v2_limit, write, Target};
use crate::error::Result;
use oci_spec::runtime::LinuxPids;

const FIELD: &str = "linux.resources.pids.limit";

/// As runc: a positive limit is written, a negative one is `max`, and 0 means "not set".
pub fn apply(target: Option<Target>, pids: &LinuxPids) -> Result<()> {
    let limit = pids.limit();
    if limit == 0 {
        return Ok(());
    }
    match target {
        None => Err(missing_controller(FIELD, "pids")),
        Some(Target::V1(dir) | Target::V2(dir)) => write(&dir, "pids.max", &v2_limit(limit), FIELD),
    }
}

#[cfg(test)]
mod tests {
    use super::super::resources::testing::*;
    use super::*;
    use oci_spec::runtime::LinuxPidsBuilder;

    #[test]
    fn limit_max_and_unset() {
        let dir = fake_cgroup(&["pids.max"]);
        let target = || Some(Target::V2(dir.path().into()));
        apply(
            target(),
            &LinuxPidsBuilder::default().limit(4).build().unwrap(),
        )
        .unwrap();
        assert_eq!(content(dir.path(), "pids.max"), "4");
        apply(
            target(),
            &LinuxPidsBuilder::default().limit(-1).build().unwrap(),
        )
        .unwrap();
        assert_eq!(content(dir.path(), "pids.max"), "max");
        set(dir.path(), "pids.max", "9");
        apply(target(), &LinuxPids::default()).unwrap();
        assert_eq!(content(dir.path(), "pids.max"), "9");
        assert_eq!(
            apply(None, &LinuxPidsBuilder::default().limit(4).build().unwrap())
                .unwrap_err()
                .to_string(),
            "linux.resources.pids.limit: this host has no pids cgroup controller"
        );
    }
}
