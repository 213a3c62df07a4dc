//! The systemd cgroup driver (`--systemd-cgroup`): a transient scope per container, made
//! over D-Bus. The D-Bus client (`wire`, `connection`), systemd's Manager API (`manager`),
//! `cgroupsPath` parsing (`unit_name`) and the unit properties (`properties`) exist; the
//! driver is not wired into create/delete yet, so asking for it fails with a message that
//! says whether this host could use it at all. See docs/cgroups.md.

pub mod connection;
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

/// The error for `--systemd-cgroup` on create and run.
pub fn driver_unavailable() -> Error {
    if systemd_is_running() {
        Error::new("--systemd-cgroup: the systemd cgroup driver is not implemented yet; run without it to use cgroupfs")
    } else {
        Error::new("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system), so there is no systemd to manage cgroups; run without --systemd-cgroup")
    }
}
