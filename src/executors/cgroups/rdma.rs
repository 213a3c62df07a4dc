//! `linux.resources.rdma`: `rdma.max` (`<device> hca_handle=N hca_object=M`), the same
//! file on v1 and v2.

use super::resources::{missing_controller, write, Target};
use crate::error::Result;
use oci_spec::runtime::LinuxRdma;
use std::collections::HashMap;

const FIELD: &str = "linux.resources.rdma";

/// The line for one device, or `None` when it sets nothing.
pub fn rdma_line(device: &str, limit: &LinuxRdma) -> Option<String> {
    let mut line = device.to_string();
    if let Some(handles) = limit.hca_handles() {
        line.push_str(&format!(" hca_handle={handles}"));
    }
    if let Some(objects) = limit.hca_objects() {
        line.push_str(&format!(" hca_object={objects}"));
    }
    (line.len() > device.len()).then_some(line)
}

pub fn apply(target: Option<Target>, limits: &HashMap<String, LinuxRdma>) -> Result<()> {
    let mut lines: Vec<(String, String)> = limits
        .iter()
        .filter_map(|(device, limit)| Some((device.clone(), rdma_line(device, limit)?)))
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    lines.sort();
    let dir = match target {
        None => return Err(missing_controller(FIELD, "rdma")),
        Some(Target::V1(dir) | Target::V2(dir)) => dir,
    };
    for (device, line) in lines {
        write(&dir, "rdma.max", &line, &format!("{FIELD}[{device:?}]"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resources::testing::*;
    use super::*;
    use oci_spec::runtime::LinuxRdmaBuilder;

    #[test]
    fn lines_and_missing_controller() {
        let both = LinuxRdmaBuilder::default()
            .hca_handles(2u32)
            .hca_objects(10u32)
            .build()
            .unwrap();
        assert_eq!(
            rdma_line("mlx5_0", &both).as_deref(),
            Some("mlx5_0 hca_handle=2 hca_object=10")
        );
        assert_eq!(rdma_line("mlx5_0", &LinuxRdma::default()), None);
        let limits = HashMap::from([("mlx5_0".to_string(), both)]);
        let dir = fake_cgroup(&["rdma.max"]);
        apply(Some(Target::V2(dir.path().into())), &limits).unwrap();
        assert_eq!(
            content(dir.path(), "rdma.max"),
            "mlx5_0 hca_handle=2 hca_object=10"
        );
        assert_eq!(
            apply(None, &limits).unwrap_err().to_string(),
            "linux.resources.rdma: this host has no rdma cgroup controller"
        );
    }
}
