//! The systemd cgroup driver (`--systemd-cgroup`): a transient scope per container, made
//! over D-Bus. `driver` is what the lifecycle calls; under it the D-Bus client (`wire`,
//! `connection`), systemd's Manager API (`manager`), `cgroupsPath` parsing (`unit_name`)
//! and the unit properties (`properties`). See docs/cgroups.md.

pub mod connection;
pub mod driver;
pub mod manager;
pub mod properties;
pub mod unit_name;
pub mod wire;

use crate::error::Error;
use std::path::Path;

/// True when systemd is the init system (sd_booted's test).
pub fn systemd_is_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// The error for `--systemd-cgroup` on a host without systemd.
pub fn driver_unavailable() -> Error {
    Error::new("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system), so there is no systemd to manage cgroups; run without --systemd-cgroup")
}
