//! Control groups: which hierarchies the host has, where the container's cgroup lives in
//! each, and mounting them inside the container. Resource limits come with the cgroups
//! issue; today the executor places the container and removes what it created.

pub mod hierarchy;
pub mod mount;
pub mod placement;

pub use hierarchy::{Hierarchies, Hierarchy};
pub use placement::Placement;
