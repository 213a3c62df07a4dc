//! Arbitrary command sequences against the model runtime, with crashes at arbitrary
//! record boundaries: only legal transitions happen, and the status derived from any
//! journal a crash can leave is one that was legal at that point.

mod common;

use common::simulation::{steps, Simulation, Snapshot, World};
use ocirun_state_machine::{derive_status, plan, ContainerView, Operation, Record, Status};
use proptest::prelude::*;

/// Statuses a container may truthfully report after a crash here: the last committed one,
/// any a transition begun since then passes through (an abort undoes its effects, but not
/// an exec that an earlier, crashed start already did), and stopped once the init may be
/// dead.
fn acceptable_after_crash(journal: &[Record]) -> Vec<Status> {
    let mut since_last_commit = vec![Status::Creating];
    for record in journal {
        match record {
            Record::Commit { status } => since_last_commit = vec![*status],
            Record::Intent { transition, .. } => since_last_commit.extend(
                [
                    transition.from,
                    Some(transition.through),
                    Some(transition.to),
                ]
                .into_iter()
                .flatten(),
            ),
            Record::Acquired { .. } | Record::Released { .. } | Record::Abort { .. } => {}
        }
    }
    since_last_commit.push(Status::Stopped);
    since_last_commit
}

fn init_alive(view: &ContainerView, world: &World) -> bool {
    view.init_process()
        .is_some_and(|init| world.live_processes.contains(&init))
}

/// Position in the lifecycle. Stopped and deleted share the last place: a delete begun
/// again on a container whose delete committed but was not removed reports `stopped`
/// until it commits once more, and nothing runs in either.
fn lifecycle_rank(status: Status) -> u8 {
    match status {
        Status::Creating => 0,
        Status::Created => 1,
        // Pause and resume move between these two and back: neither is further along.
        Status::Running | Status::Paused => 2,
        Status::Stopped | Status::Deleted => 3,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn only_legal_transitions_are_journaled(steps in steps()) {
        let simulation = Simulation::run(&steps);
        for begun in &simulation.begun {
            prop_assert_eq!(Ok(begun.transition), plan(begun.transition.op, begun.current));
            prop_assert_eq!(begun.transition.from, begun.current);
        }
        // Independently of the model: every intent in every journal is a row of the table,
        // and a create intent only ever opens a journal.
        for snapshot in &simulation.snapshots {
            for (position, record) in snapshot.journal.iter().flatten().enumerate() {
                if let Record::Intent { transition, metadata } = record {
                    prop_assert_eq!(Ok(*transition), plan(transition.op, transition.from));
                    let opens = transition.op == Operation::Create;
                    prop_assert_eq!(opens, position == 0);
                    prop_assert_eq!(opens, metadata.is_some());
                }
            }
        }
    }

    #[test]
    fn a_crash_anywhere_derives_a_legal_truthful_status(steps in steps()) {
        let simulation = Simulation::run(&steps);
        for Snapshot { journal, world, .. } in &simulation.snapshots {
            let Some(journal) = journal else { continue };
            let view = ContainerView::replay(journal);
            // The runtime that wrote this journal is dead: nobody holds the lock.
            let status = derive_status(&view, &world.observe(false));
            prop_assert!(
                acceptable_after_crash(journal).contains(&status),
                "{:?} after {:?}", status, journal
            );
            if !init_alive(&view, world) {
                prop_assert!(matches!(status, Status::Stopped | Status::Deleted));
            } else if world.init_waiting {
                prop_assert_ne!(status, Status::Running, "nothing was exec'd yet");
            } else {
                prop_assert_ne!(status, Status::Created, "the user process runs");
            }
            // The next command starts from this status; it must be one plan knows.
            let _ = plan(Operation::Delete { force: true }, Some(status))
                .expect("a forced delete is always possible");
        }
    }

    #[test]
    fn observed_live_the_status_never_moves_backwards(steps in steps()) {
        let simulation = Simulation::run(&steps);
        let mut previous: Option<Status> = None;
        for snapshot in &simulation.snapshots {
            let Some(journal) = &snapshot.journal else {
                previous = None; // removed: a new container may follow
                continue;
            };
            let observer = snapshot.world.observe(snapshot.in_flight);
            let status = derive_status(&ContainerView::replay(journal), &observer);
            if let Some(previous) = previous {
                prop_assert!(
                    lifecycle_rank(previous) <= lifecycle_rank(status),
                    "{:?} -> {:?} at {:?}", previous, status, journal
                );
            }
            previous = Some(status);
        }
    }

    #[test]
    fn replay_is_deterministic_and_incremental(steps in steps()) {
        let simulation = Simulation::run(&steps);
        for journal in simulation.snapshots.iter().filter_map(|s| s.journal.as_ref()) {
            let view = ContainerView::replay(journal);
            prop_assert_eq!(&view, &ContainerView::replay(journal));
            for split in 0..=journal.len() {
                let mut incremental = ContainerView::replay(&journal[..split]);
                journal[split..].iter().for_each(|record| incremental.apply(record));
                prop_assert_eq!(&incremental, &view);
            }
        }
    }

    #[test]
    fn a_completed_delete_leaves_nothing_behind(steps in steps()) {
        let simulation = Simulation::run(&steps);
        let last = simulation.snapshots.last().unwrap();
        if last.journal.is_none() {
            // Whatever was journaled over the container's life has been undone; only a
            // process spawned by a create that died before journaling its pid may linger.
            prop_assert!(last.world.mounts.is_empty());
            prop_assert!(last.world.cgroups.is_empty());
            prop_assert!(last.world.files.is_empty());
        }
    }
}
