//! What the journal holds: one [`Record`] per line.

use crate::status::Status;
use crate::transition::Transition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Facts about a container fixed at `create`, which `state`, `list` and `delete` need
/// without reading the bundle again (the bundle may be gone by then).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Metadata {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 time of creation, as runc prints it.
    pub created: String,
    /// The user name (or uid) that created the container.
    pub owner: String,
    pub oci_version: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Runtime-owned data the lifecycle does not interpret (for example the poststop
    /// hooks to run at delete). Kept opaque so executors can grow without a journal format
    /// change.
    #[serde(default)]
    pub extra: serde_json::Value,
}

/// A host resource the runtime acquires for a container and must release at delete,
/// even after a crash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resource {
    /// The container's init. `start_time` is field 22 of `/proc/<pid>/stat`, so a reused
    /// pid is told apart from ours.
    Process { pid: i32, start_time: u64 },
    /// A cgroup directory the runtime created (and so may remove). Journaled before mkdir.
    CgroupDir { path: PathBuf },
    /// A mount on the host the runtime made. Journaled before mounting.
    Mount { path: PathBuf },
    /// A file outside the state directory the runtime wrote (a pid file, a socket).
    File { path: PathBuf },
    /// A transient systemd unit the runtime asked for (`--systemd-cgroup`). Journaled
    /// before the request.
    SystemdUnit { name: String },
}

/// One journal line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// A transition begins. For `create` it carries the container's metadata.
    Intent {
        transition: Transition,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<Metadata>,
    },
    /// A resource is (about to be) acquired.
    Acquired { resource: Resource },
    /// A resource was released and need not be undone again.
    Released { resource: Resource },
    /// The pending transition succeeded; the container is now `status`.
    Commit { status: Status },
    /// The pending transition failed and its effects were undone; the container keeps the
    /// status it had before the intent.
    Abort { reason: String },
}
