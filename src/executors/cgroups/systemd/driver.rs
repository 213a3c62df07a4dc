//! The systemd cgroup driver as the container's lifecycle uses it: a transient scope per
//! container, started with the init's pid (systemd moves it into the scope's cgroup),
//! delegated to us so the limits are written into it as with cgroupfs, and stopped at
//! delete. The limits are also given to systemd as unit properties, so that `systemctl
//! show` tells the truth and a `daemon-reload` does not undo them.

use super::manager::Manager;
use super::properties::{resource_properties, unit_properties};
use super::unit_name::SystemdCgroup;
use super::{driver_unavailable, systemd_is_running};
use crate::error::{Error, Result};
use crate::executors::cgroups::{Hierarchies, Placement};
use oci_spec::runtime::LinuxResources;
use std::path::Path;

/// Where the container's scope goes, checked before anything exists: systemd must run,
/// and `cgroupsPath` must name a scope (`slice:prefix:name`).
pub fn placement(
    cgroups_path: Option<&Path>,
    id: &str,
    hierarchies: Hierarchies,
) -> Result<Placement> {
    if !systemd_is_running() {
        return Err(driver_unavailable());
    }
    let requested = cgroups_path
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cgroup = SystemdCgroup::parse(&requested, id)?;
    if cgroup.is_slice() {
        return Err(Error::new(format!(
            "cgroupsPath {requested:?}: a container in a .slice unit of its own is not supported; name a scope (slice:prefix:name)"
        )));
    }
    let path = cgroup.cgroup_path()?;
    Ok(Placement::for_systemd(
        &path,
        &cgroup.unit,
        &cgroup.slice,
        hierarchies,
    ))
}

/// How starting the scope failed: `Taken` when a unit of that name already existed (it is
/// someone else's, and must not be stopped by our cleanup), `Failed` otherwise.
pub enum ScopeError {
    Taken(Error),
    Failed(Error),
}

impl From<ScopeError> for Error {
    fn from(error: ScopeError) -> Error {
        match error {
            ScopeError::Taken(e) | ScopeError::Failed(e) => e,
        }
    }
}

/// Starts the container's scope around `init_pid`, with `resources` as its properties.
/// Returns once systemd has moved the init into the scope's cgroup.
pub fn start_scope(
    placement: &Placement,
    id: &str,
    init_pid: i32,
    resources: Option<&LinuxResources>,
) -> std::result::Result<(), ScopeError> {
    let Some(scope) = &placement.systemd else {
        return Ok(());
    };
    let mut manager = Manager::connect().map_err(ScopeError::Failed)?;
    let taken = |unit: &str| {
        ScopeError::Taken(Error::new(format!(
            "systemd unit {unit} already exists (another container's cgroupsPath?)"
        )))
    };
    if manager
        .unit_exists(&scope.unit)
        .map_err(ScopeError::Failed)?
    {
        return Err(taken(&scope.unit));
    }
    let cgroup = SystemdCgroup {
        slice: scope.slice.clone(),
        unit: scope.unit.clone(),
    };
    let mut properties = unit_properties(&cgroup, id, u32::try_from(init_pid).ok());
    if let Some(resources) = resources {
        properties.extend(resource_properties(resources).map_err(ScopeError::Failed)?);
    }
    manager
        .start_transient_unit(&scope.unit, "replace", &properties)
        .map_err(|e| {
            // Made by someone else between our look and our request.
            if e.to_string()
                .contains("org.freedesktop.systemd1.UnitExists")
            {
                taken(&scope.unit)
            } else {
                ScopeError::Failed(e)
            }
        })
}

/// Gives systemd the new limits of `update` (the files are written as with cgroupfs).
pub fn update_scope(placement: &Placement, resources: &LinuxResources) -> Result<()> {
    let Some(scope) = &placement.systemd else {
        return Ok(());
    };
    let properties = resource_properties(resources)?;
    if properties.is_empty() {
        return Ok(());
    }
    Manager::connect()?.set_unit_properties(&scope.unit, true, &properties)
}

/// Stops the scope `unit` (already empty: its processes are killed first) and forgets a
/// failed state, so the name can be used again. A unit systemd no longer knows is done.
pub fn stop_scope(unit: &str) -> Result<()> {
    let mut manager = Manager::connect()?;
    manager.stop_unit(unit)?;
    manager.reset_failed_unit(unit)
}
