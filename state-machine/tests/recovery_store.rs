//! Recovery against a real state root: whatever journal a crash left, `delete --force`
//! (derive, plan, undo every journaled resource, commit, remove) leaves neither the
//! container directory nor any journaled resource behind, even when it crashes itself
//! and is run again.

mod common;

use common::simulation::{self, released_resource, steps, Simulation, World};
use ocirun_state_machine::{
    cleanup_plan, derive_status, Operation, Record, StateRoot, Status, StoreError,
};
use proptest::prelude::*;
use proptest::sample::Index;

/// Writes `journal` through the store as the crashed runtime did, and drops the handle.
fn replay_into_store(root: &StateRoot, journal: &[Record]) -> Result<(), StoreError> {
    let mut handle = root.create(simulation::metadata())?;
    assert_eq!(
        journal.first(),
        handle
            .view()
            .pending
            .map(|transition| Record::Intent {
                transition,
                metadata: Some(simulation::metadata()),
            })
            .as_ref(),
        "the store journals the same create intent"
    );
    for record in &journal[1..] {
        handle.record(record.clone())?;
    }
    Ok(())
}

/// `delete --force`, crashing after `crash_after` cleanup steps when given. Returns
/// whether it ran to the end.
fn force_delete(
    root: &StateRoot,
    world: &mut World,
    crash_after: Option<usize>,
) -> Result<bool, StoreError> {
    let mut handle = match root.lock(simulation::ID) {
        Ok(handle) => handle,
        Err(StoreError::NotFound { .. }) => return Ok(true),
        Err(error) => return Err(error),
    };
    let status = derive_status(handle.view(), &world.observe(false));
    handle.begin(Operation::Delete { force: true }, status)?;
    for (done, undo) in cleanup_plan(handle.view()).into_iter().enumerate() {
        if crash_after == Some(done) {
            return Ok(false);
        }
        world.undo(&undo);
        handle.record(Record::Released {
            resource: released_resource(&undo),
        })?;
    }
    handle.record(Record::Commit {
        status: Status::Deleted,
    })?;
    handle.remove()?;
    Ok(true)
}

proptest! {
    // Each case writes and fsyncs real files; a few dozen cover the crash points well.
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn recovery_after_any_crash_removes_the_container(
        steps in steps(),
        crash_point in any::<Index>(),
        recovery_crash in proptest::option::of(0..8usize),
    ) {
        let simulation = Simulation::run(&steps);
        let crashed: Vec<_> = simulation
            .snapshots
            .iter()
            .filter(|snapshot| snapshot.journal.is_some())
            .collect();
        prop_assume!(!crashed.is_empty());
        let snapshot = crash_point.get(&crashed);
        let journal = snapshot.journal.as_ref().unwrap();
        let mut world = snapshot.world.clone();

        let dir = tempfile::tempdir().unwrap();
        let root = StateRoot::open(dir.path()).unwrap();
        replay_into_store(&root, journal).unwrap();
        prop_assert_eq!(root.ids().unwrap(), [simulation::ID]);

        let finished = force_delete(&root, &mut world, recovery_crash).unwrap();
        if !finished {
            // The interrupted delete is simply run again.
            prop_assert!(force_delete(&root, &mut world, None).unwrap());
        }

        prop_assert!(!root.container_dir(simulation::ID).exists());
        prop_assert!(root.ids().unwrap().is_empty());
        prop_assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
        let journaled: Vec<_> = journal
            .iter()
            .filter_map(|record| match record {
                Record::Acquired { resource } => Some(resource),
                _ => None,
            })
            .collect();
        for resource in journaled {
            prop_assert!(!world.holds(resource), "{:?} survived recovery", resource);
        }
    }
}
