//! `update`: new resource limits for a live container, written to the cgroup the journal
//! names. Journaled as a transition that keeps the status, so `update` serialises with
//! the other commands through the lock.

use super::conclude::conclude;
use super::facts::RuntimeFacts;
use super::observe::current_status;
use super::state::store_error;
use crate::error::Result;
use crate::executors::cgroups::resources::{self, Stage};
use crate::executors::cgroups::systemd;
use oci_spec::runtime::LinuxResources;
use ocirun_state_machine::{Operation, StateRoot};

pub fn update(root: &StateRoot, id: &str, new: &LinuxResources) -> Result<()> {
    let mut handle = root.lock(id).map_err(store_error)?;
    let status = current_status(handle.view(), false);
    let facts = RuntimeFacts::from_metadata(handle.view().metadata.as_ref());
    let placement = facts.placement(id)?.clone();
    let transition = handle
        .begin(Operation::Update, status)
        .map_err(store_error)?;
    let outcome = resources::apply(&placement, new, Stage::Update)
        .and_then(|()| systemd::driver::update_scope(&placement, new));
    conclude(
        &mut handle,
        transition,
        outcome,
        format!("updating container {id:?}"),
    )
}
