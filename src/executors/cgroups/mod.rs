//! Control groups: which hierarchies the host has, where the container's cgroup lives in
//! each, its resource limits (one file per controller, each with its v1 and v2 writer),
//! the freezer, and mounting them inside the container. See docs/cgroups.md.

pub mod blkio;
pub mod cpu;
pub mod cpuset;
pub mod device_program;
pub mod devices;
pub mod freezer;
pub mod hierarchy;
pub mod hugetlb;
pub mod memory;
pub mod mount;
pub mod network;
pub mod pids;
pub mod placement;
pub mod rdma;
pub mod resources;
pub mod stats;
pub mod systemd;
pub mod unified;

pub use freezer::Freezer;
pub use hierarchy::{Hierarchies, Hierarchy};
pub use placement::Placement;
