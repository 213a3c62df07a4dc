//! Turning a journal (possibly cut short by a crash) plus observations of the live system
//! into a truthful status, and into the list of things `delete --force` must undo.

use crate::record::Resource;
use crate::status::Status;
use crate::transition::Operation;
use crate::view::ContainerView;
use std::path::PathBuf;

/// What the runtime can see of the live system. Implemented over /proc in the runtime and
/// by plain values in tests.
pub trait Observer {
    /// True when `pid` exists, is not a zombie, and started at `start_time`.
    fn process_alive(&self, pid: i32, start_time: u64) -> bool;
    /// True when another runtime process holds the container's lock (a transition is
    /// genuinely in progress rather than interrupted by a crash).
    fn transition_in_progress(&self) -> bool;
    /// True when the init is still waiting for `start` (it has not exec'd the user process).
    fn init_waiting_for_start(&self) -> bool;
    /// Whether the container's cgroup is frozen right now: `None` when the runtime cannot
    /// tell (no freezer, or the cgroup is gone), and then the journal decides.
    fn cgroup_frozen(&self) -> Option<bool> {
        None
    }
}

/// The status `state` reports.
///
/// Rules: no live init => `stopped` (once metadata exists). A pending `create` reports
/// `creating` while in progress or while its init lives. A pending `start` reports
/// `created` while the init waits, else `running`. A pending delete reports `stopped` when
/// the init is dead. Otherwise the committed status, with `created`/`running` demoted to
/// `stopped` once the init is dead, and `created` reported as `running` once the init no
/// longer waits for start (a start interrupted after exec never committed `running`).
pub fn derive_status(view: &ContainerView, observer: &dyn Observer) -> Status {
    if view.metadata.is_none() {
        // Not even the create intent is journaled: the directory is being built.
        return Status::Creating;
    }
    let init_alive = view
        .init_process()
        .is_some_and(|(pid, start_time)| observer.process_alive(pid, start_time));
    match view.pending.map(|transition| transition.op) {
        Some(Operation::Create) => {
            if observer.transition_in_progress() || init_alive {
                Status::Creating
            } else {
                // The create crashed and its init is gone: nothing can make it created.
                Status::Stopped
            }
        }
        Some(Operation::Start) if init_alive => started_or_not(observer),
        Some(Operation::Start) => Status::Stopped,
        // A delete that has not killed the init yet has not changed what is running; once
        // the init is dead the container is stopped, whatever the delete got to.
        Some(Operation::Delete { .. }) if !init_alive => Status::Stopped,
        Some(
            Operation::Delete { .. }
            | Operation::Kill
            | Operation::Pause
            | Operation::Resume
            | Operation::Update,
        )
        | None => {
            match (view.committed, init_alive) {
                // The journal cannot tell a start that crashed after exec'ing the user
                // process (and was then superseded by another intent or an abort) from
                // one that never began; only the init can.
                (Some(Status::Created), true) => started_or_not(observer),
                // The freezer is the truth (as for runc): a pause or resume interrupted
                // between its effect and its commit, or a freeze made by hand, reads as
                // it is. Without a readable freezer, the journal's last commit decides.
                (Some(committed @ (Status::Running | Status::Paused)), true) => {
                    match observer.cgroup_frozen() {
                        Some(true) => Status::Paused,
                        Some(false) => Status::Running,
                        None => committed,
                    }
                }
                (Some(Status::Deleted), _) => Status::Deleted,
                // Created or running with a dead init; an explicit stopped; or (only after
                // an aborted create) no commit at all: nothing runs in it.
                (
                    Some(
                        Status::Creating
                        | Status::Created
                        | Status::Running
                        | Status::Paused
                        | Status::Stopped,
                    ),
                    _,
                )
                | (None, _) => Status::Stopped,
            }
        }
    }
}

/// A live init is `created` until it execs the user process, `running` after.
fn started_or_not(observer: &dyn Observer) -> Status {
    if observer.init_waiting_for_start() {
        Status::Created
    } else {
        Status::Running
    }
}

/// One step of undoing a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undo {
    /// SIGKILL the process if it is still ours (same start time), then wait for it to go.
    KillProcess {
        pid: i32,
        start_time: u64,
    },
    Unmount {
        path: PathBuf,
    },
    /// Remove a cgroup directory (after its processes are gone).
    RemoveCgroup {
        path: PathBuf,
    },
    RemoveFile {
        path: PathBuf,
    },
    /// Stop a systemd unit (after its processes are gone); systemd removes its cgroup.
    StopSystemdUnit {
        name: String,
    },
}

/// What `delete --force` must do, in order: processes first, then mounts, systemd units,
/// cgroups (the deepest first, reverse acquisition order) and files. Every step is idempotent, so a
/// delete interrupted halfway is simply run again. The state directory itself is removed
/// last by [`crate::store::ContainerHandle::remove`].
pub fn cleanup_plan(view: &ContainerView) -> Vec<Undo> {
    let processes = view.resources.iter().filter_map(|resource| match resource {
        Resource::Process { pid, start_time } => Some(Undo::KillProcess {
            pid: *pid,
            start_time: *start_time,
        }),
        _ => None,
    });
    // Reverse acquisition order: a mount made on top of an earlier one comes off first.
    let mounts = view
        .resources
        .iter()
        .rev()
        .filter_map(|resource| match resource {
            Resource::Mount { path } => Some(Undo::Unmount { path: path.clone() }),
            _ => None,
        });
    let units = view.resources.iter().filter_map(|resource| match resource {
        Resource::SystemdUnit { name } => Some(Undo::StopSystemdUnit { name: name.clone() }),
        _ => None,
    });
    // Reverse acquisition order: child cgroups are created after, and removed before,
    // their parents.
    let cgroups = view
        .resources
        .iter()
        .rev()
        .filter_map(|resource| match resource {
            Resource::CgroupDir { path } => Some(Undo::RemoveCgroup { path: path.clone() }),
            _ => None,
        });
    let files = view.resources.iter().filter_map(|resource| match resource {
        Resource::File { path } => Some(Undo::RemoveFile { path: path.clone() }),
        _ => None,
    });
    processes
        .chain(mounts)
        .chain(units)
        .chain(cgroups)
        .chain(files)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Metadata, Record};
    use crate::transition::plan;

    const INIT: Resource = Resource::Process {
        pid: 100,
        start_time: 5,
    };

    /// The live system as plain answers.
    #[derive(Clone, Copy, Default)]
    struct Seen {
        alive: bool,
        in_progress: bool,
        waiting: bool,
    }

    impl Observer for Seen {
        fn process_alive(&self, pid: i32, start_time: u64) -> bool {
            self.alive && (pid, start_time) == (100, 5)
        }
        fn transition_in_progress(&self) -> bool {
            self.in_progress
        }
        fn init_waiting_for_start(&self) -> bool {
            self.waiting
        }
    }

    /// The init lives and waits for `start`.
    const WAITING: Seen = Seen {
        alive: true,
        in_progress: false,
        waiting: true,
    };
    /// The init lives and has exec'd the user process.
    const EXECED: Seen = Seen {
        alive: true,
        in_progress: false,
        waiting: false,
    };
    const DEAD: Seen = Seen {
        alive: false,
        in_progress: false,
        waiting: false,
    };

    fn created_view() -> ContainerView {
        ContainerView::replay(&[
            Record::Intent {
                transition: plan(Operation::Create, None).unwrap(),
                metadata: Some(Metadata::default()),
            },
            Record::Acquired { resource: INIT },
        ])
    }

    fn with(mut view: ContainerView, records: &[Record]) -> ContainerView {
        records.iter().for_each(|record| view.apply(record));
        view
    }

    fn commit(status: Status) -> Record {
        Record::Commit { status }
    }

    fn intent(op: Operation, from: Status) -> Record {
        Record::Intent {
            transition: plan(op, Some(from)).unwrap(),
            metadata: None,
        }
    }

    #[test]
    fn nothing_journaled_is_creating() {
        assert_eq!(
            derive_status(&ContainerView::default(), &DEAD),
            Status::Creating
        );
    }

    #[test]
    fn pending_create() {
        let view = created_view();
        let in_progress = Seen {
            in_progress: true,
            ..DEAD
        };
        assert_eq!(derive_status(&view, &in_progress), Status::Creating);
        assert_eq!(derive_status(&view, &WAITING), Status::Creating);
        assert_eq!(derive_status(&view, &DEAD), Status::Stopped);
    }

    #[test]
    fn pending_create_before_the_init_is_journaled() {
        let view = ContainerView::replay(&[Record::Intent {
            transition: plan(Operation::Create, None).unwrap(),
            metadata: Some(Metadata::default()),
        }]);
        let in_progress = Seen {
            in_progress: true,
            ..DEAD
        };
        assert_eq!(derive_status(&view, &in_progress), Status::Creating);
        assert_eq!(derive_status(&view, &WAITING), Status::Stopped);
    }

    #[test]
    fn committed_created_follows_the_init() {
        let view = with(created_view(), &[commit(Status::Created)]);
        assert_eq!(derive_status(&view, &WAITING), Status::Created);
        assert_eq!(derive_status(&view, &DEAD), Status::Stopped);
    }

    #[test]
    fn committed_running_follows_the_init() {
        let view = with(
            created_view(),
            &[
                commit(Status::Created),
                intent(Operation::Start, Status::Created),
                commit(Status::Running),
            ],
        );
        assert_eq!(derive_status(&view, &EXECED), Status::Running);
        assert_eq!(derive_status(&view, &DEAD), Status::Stopped);
    }

    #[test]
    fn pending_start() {
        let view = with(
            created_view(),
            &[
                commit(Status::Created),
                intent(Operation::Start, Status::Created),
            ],
        );
        assert_eq!(derive_status(&view, &WAITING), Status::Created);
        assert_eq!(derive_status(&view, &EXECED), Status::Running);
        assert_eq!(derive_status(&view, &DEAD), Status::Stopped);
    }

    #[test]
    fn pending_kill_keeps_the_committed_status_while_the_init_lives() {
        let view = with(
            created_view(),
            &[
                commit(Status::Created),
                intent(Operation::Start, Status::Created),
                commit(Status::Running),
                intent(Operation::Kill, Status::Running),
            ],
        );
        assert_eq!(derive_status(&view, &EXECED), Status::Running);
        assert_eq!(derive_status(&view, &DEAD), Status::Stopped);
    }

    /// An observer that also reads a freezer.
    struct Frozen(Option<bool>);

    impl Observer for Frozen {
        fn process_alive(&self, pid: i32, start_time: u64) -> bool {
            (pid, start_time) == (100, 5)
        }
        fn transition_in_progress(&self) -> bool {
            false
        }
        fn init_waiting_for_start(&self) -> bool {
            false
        }
        fn cgroup_frozen(&self) -> Option<bool> {
            self.0
        }
    }

    fn running_view() -> ContainerView {
        with(
            created_view(),
            &[
                commit(Status::Created),
                intent(Operation::Start, Status::Created),
                commit(Status::Running),
            ],
        )
    }

    #[test]
    fn committed_paused_follows_the_freezer_then_the_journal() {
        let view = with(
            running_view(),
            &[
                intent(Operation::Pause, Status::Running),
                commit(Status::Paused),
            ],
        );
        assert_eq!(derive_status(&view, &Frozen(None)), Status::Paused);
        assert_eq!(derive_status(&view, &Frozen(Some(true))), Status::Paused);
        // Thawed behind our back: the freezer wins.
        assert_eq!(derive_status(&view, &Frozen(Some(false))), Status::Running);
        assert_eq!(derive_status(&view, &DEAD), Status::Stopped);
    }

    #[test]
    fn a_pause_interrupted_before_its_commit_reads_the_freezer() {
        let view = with(running_view(), &[intent(Operation::Pause, Status::Running)]);
        assert_eq!(derive_status(&view, &Frozen(None)), Status::Running);
        assert_eq!(derive_status(&view, &Frozen(Some(true))), Status::Paused);
        let resuming = with(
            running_view(),
            &[
                intent(Operation::Pause, Status::Running),
                commit(Status::Paused),
                intent(Operation::Resume, Status::Paused),
            ],
        );
        assert_eq!(derive_status(&resuming, &Frozen(None)), Status::Paused);
        assert_eq!(
            derive_status(&resuming, &Frozen(Some(false))),
            Status::Running
        );
        assert_eq!(derive_status(&resuming, &DEAD), Status::Stopped);
    }

    #[test]
    fn pending_delete() {
        let view = with(
            created_view(),
            &[
                commit(Status::Created),
                intent(Operation::Delete { force: true }, Status::Created),
            ],
        );
        assert_eq!(derive_status(&view, &WAITING), Status::Created);
        assert_eq!(derive_status(&view, &DEAD), Status::Stopped);
    }

    #[test]
    fn a_start_that_crashed_past_exec_stays_running() {
        // The start never committed and a later intent (or abort) hides it, but its user
        // process runs: the container must not look `created`, and so startable, again.
        for later in [
            intent(Operation::Kill, Status::Running),
            intent(Operation::Delete { force: true }, Status::Running),
            Record::Abort {
                reason: "kill failed".into(),
            },
        ] {
            let view = with(
                created_view(),
                &[
                    commit(Status::Created),
                    intent(Operation::Start, Status::Created),
                    later.clone(),
                ],
            );
            assert_eq!(derive_status(&view, &EXECED), Status::Running, "{later:?}");
            assert_eq!(derive_status(&view, &DEAD), Status::Stopped, "{later:?}");
        }
    }

    #[test]
    fn a_forced_delete_of_a_crashed_create_is_stopped() {
        let view = with(
            created_view(),
            &[intent(Operation::Delete { force: true }, Status::Creating)],
        );
        assert_eq!(derive_status(&view, &WAITING), Status::Stopped);
        assert_eq!(derive_status(&view, &DEAD), Status::Stopped);
    }

    #[test]
    fn a_released_init_is_dead() {
        let view = with(
            created_view(),
            &[commit(Status::Created), Record::Released { resource: INIT }],
        );
        assert_eq!(derive_status(&view, &WAITING), Status::Stopped);
    }

    #[test]
    fn a_reused_pid_is_not_our_init() {
        let view = ContainerView::replay(&[
            Record::Intent {
                transition: plan(Operation::Create, None).unwrap(),
                metadata: Some(Metadata::default()),
            },
            Record::Acquired {
                resource: Resource::Process {
                    pid: 100,
                    start_time: 6,
                },
            },
            commit(Status::Created),
        ]);
        assert_eq!(derive_status(&view, &WAITING), Status::Stopped);
    }

    #[test]
    fn committed_deleted_stays_deleted() {
        let view = with(
            created_view(),
            &[
                commit(Status::Created),
                intent(Operation::Delete { force: false }, Status::Created),
                commit(Status::Deleted),
            ],
        );
        assert_eq!(derive_status(&view, &DEAD), Status::Deleted);
        assert_eq!(derive_status(&view, &WAITING), Status::Deleted);
    }

    #[test]
    fn an_aborted_create_is_stopped() {
        let view = with(
            created_view(),
            &[Record::Abort {
                reason: "no rootfs".into(),
            }],
        );
        assert_eq!(derive_status(&view, &WAITING), Status::Stopped);
    }

    #[test]
    fn cleanup_kills_first_then_unmounts_and_removes_in_reverse() {
        let path = |p: &str| PathBuf::from(p);
        let acquired = |resource| Record::Acquired { resource };
        let view = ContainerView::replay(&[
            acquired(Resource::File {
                path: path("/run/pid1"),
            }),
            acquired(Resource::CgroupDir {
                path: path("/sys/fs/cgroup/a"),
            }),
            acquired(Resource::Mount { path: path("/m1") }),
            acquired(Resource::CgroupDir {
                path: path("/sys/fs/cgroup/a/b"),
            }),
            acquired(Resource::Mount {
                path: path("/m1/m2"),
            }),
            acquired(INIT),
            acquired(Resource::SystemdUnit {
                name: "ocirun-c.scope".into(),
            }),
            acquired(Resource::File {
                path: path("/run/pid2"),
            }),
        ]);
        assert_eq!(
            cleanup_plan(&view),
            [
                Undo::KillProcess {
                    pid: 100,
                    start_time: 5
                },
                Undo::Unmount {
                    path: path("/m1/m2")
                },
                Undo::Unmount { path: path("/m1") },
                // Once its processes are dead; before the cgroups systemd does not own.
                Undo::StopSystemdUnit {
                    name: "ocirun-c.scope".into()
                },
                Undo::RemoveCgroup {
                    path: path("/sys/fs/cgroup/a/b")
                },
                Undo::RemoveCgroup {
                    path: path("/sys/fs/cgroup/a")
                },
                Undo::RemoveFile {
                    path: path("/run/pid1")
                },
                Undo::RemoveFile {
                    path: path("/run/pid2")
                },
            ]
        );
    }

    #[test]
    fn nothing_to_clean_up() {
        assert!(cleanup_plan(&ContainerView::default()).is_empty());
    }
}
