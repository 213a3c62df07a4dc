//! `state` and `list`: read-only views built from the journal plus /proc. They take no
//! lock and never parse the bundle.

use super::observe::current_status;
use crate::error::{Error, Result};
use ocirun_state_machine::{ContainerView, StateRoot, Status, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The state JSON runc prints: the spec's fields plus `rootfs`, `created` and `owner`,
/// in runc's order.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerState {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub owner: String,
}

impl ContainerState {
    pub fn from_view(id: &str, view: &ContainerView, status: Status) -> ContainerState {
        let metadata = view.metadata.clone().unwrap_or_default();
        let pid = match status {
            Status::Stopped | Status::Deleted => 0,
            _ => view.init_process().map(|(pid, _)| pid).unwrap_or(0),
        };
        ContainerState {
            oci_version: metadata.oci_version,
            id: id.to_string(),
            pid,
            status,
            bundle: metadata.bundle,
            rootfs: metadata.rootfs,
            created: metadata.created,
            annotations: metadata.annotations,
            owner: metadata.owner,
        }
    }

    /// The spec's state, as hooks receive it on stdin.
    pub fn for_hooks(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct SpecState<'a> {
            #[serde(rename = "ociVersion")]
            oci_version: &'a str,
            id: &'a str,
            status: Status,
            #[serde(skip_serializing_if = "Option::is_none")]
            pid: Option<i32>,
            bundle: &'a PathBuf,
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            annotations: &'a BTreeMap<String, String>,
        }
        serde_json::to_vec(&SpecState {
            oci_version: &self.oci_version,
            id: &self.id,
            status: self.status,
            pid: (self.pid > 0).then_some(self.pid),
            bundle: &self.bundle,
            annotations: &self.annotations,
        })
        .expect("state serializes")
    }
}

pub fn state(root: &StateRoot, id: &str) -> Result<ContainerState> {
    let (view, busy) = root.read(id).map_err(store_error)?;
    let status = current_status(&view, busy);
    Ok(ContainerState::from_view(id, &view, status))
}

/// Every container, by id. One that vanishes while we list is skipped.
pub fn list(root: &StateRoot) -> Result<Vec<ContainerState>> {
    let mut states = Vec::new();
    for id in root.ids().map_err(store_error)? {
        match state(root, &id) {
            Ok(state) => states.push(state),
            Err(_) if !root.container_dir(&id).exists() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(states)
}

pub fn store_error(error: StoreError) -> Error {
    Error::new(error)
}
