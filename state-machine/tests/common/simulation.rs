//! A model runtime driving one container id through the library the way ocirun does:
//! derive the status, consult `plan`, journal an intent, acquire resources (journaling
//! each one), commit. A step may fail (undo, abort) or crash after any number of its
//! actions; the next step then starts from whatever the crash left.
//!
//! Every action leaves a [`Snapshot`] of the journal and the host, so a test can pretend
//! the machine died at any record boundary.

use ocirun_state_machine::{
    cleanup_plan, derive_status, plan, ContainerView, Metadata, Observer, Operation, Record,
    Resource, Status, Transition, Undo,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

pub const ID: &str = "sim";

/// The metadata every simulated create journals.
pub fn metadata() -> Metadata {
    Metadata {
        id: ID.into(),
        bundle: "/bundles/sim".into(),
        rootfs: "/bundles/sim/rootfs".into(),
        created: "2024-01-01T00:00:00Z".into(),
        owner: "root".into(),
        oci_version: "1.2.0".into(),
        ..Metadata::default()
    }
}

/// The host: which resources exist right now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct World {
    pub live_processes: BTreeSet<(i32, u64)>,
    /// The init has not exec'd the user process yet.
    pub init_waiting: bool,
    pub mounts: BTreeSet<PathBuf>,
    pub cgroups: BTreeSet<PathBuf>,
    pub files: BTreeSet<PathBuf>,
    pub units: BTreeSet<String>,
}

impl World {
    /// What a runtime observes; `in_progress` says whether another runtime holds the lock.
    pub fn observe(&self, in_progress: bool) -> Observation<'_> {
        Observation {
            world: self,
            in_progress,
        }
    }

    /// Carries out one cleanup step. Like the real ones, doing it twice is harmless.
    pub fn undo(&mut self, undo: &Undo) {
        match undo {
            Undo::KillProcess { pid, start_time } => {
                self.live_processes.remove(&(*pid, *start_time));
            }
            Undo::Unmount { path } => {
                self.mounts.remove(path);
            }
            Undo::RemoveCgroup { path } => {
                self.cgroups.remove(path);
            }
            Undo::RemoveFile { path } => {
                self.files.remove(path);
            }
            Undo::StopSystemdUnit { name } => {
                self.units.remove(name);
            }
        }
    }

    /// True while `resource` still exists on the host.
    pub fn holds(&self, resource: &Resource) -> bool {
        match resource {
            Resource::Process { pid, start_time } => {
                self.live_processes.contains(&(*pid, *start_time))
            }
            Resource::CgroupDir { path } => self.cgroups.contains(path),
            Resource::Mount { path } => self.mounts.contains(path),
            Resource::File { path } => self.files.contains(path),
            Resource::SystemdUnit { name } => self.units.contains(name),
        }
    }
}

pub struct Observation<'a> {
    world: &'a World,
    in_progress: bool,
}

impl Observer for Observation<'_> {
    fn process_alive(&self, pid: i32, start_time: u64) -> bool {
        self.world.live_processes.contains(&(pid, start_time))
    }
    fn transition_in_progress(&self) -> bool {
        self.in_progress
    }
    fn init_waiting_for_start(&self) -> bool {
        self.world.init_waiting
    }
}

/// The resource a cleanup step releases, for its `Released` record.
pub fn released_resource(undo: &Undo) -> Resource {
    match undo.clone() {
        Undo::KillProcess { pid, start_time } => Resource::Process { pid, start_time },
        Undo::Unmount { path } => Resource::Mount { path },
        Undo::RemoveCgroup { path } => Resource::CgroupDir { path },
        Undo::RemoveFile { path } => Resource::File { path },
        Undo::StopSystemdUnit { name } => Resource::SystemdUnit { name },
    }
}

/// One command: `fail` makes it undo and abort instead of committing; `crash_after`
/// kills the runtime after that many of its actions.
#[derive(Clone, Debug)]
pub struct Step {
    pub op: Operation,
    pub fail: bool,
    pub crash_after: Option<usize>,
}

pub fn step() -> impl Strategy<Value = Step> {
    let op = prop_oneof![
        3 => Just(Operation::Create),
        3 => Just(Operation::Start),
        2 => Just(Operation::Kill),
        1 => Just(Operation::Delete { force: false }),
        1 => Just(Operation::Delete { force: true }),
        1 => Just(Operation::Pause),
        1 => Just(Operation::Resume),
        1 => Just(Operation::Update),
    ];
    (
        op,
        proptest::bool::weighted(0.15),
        option::weighted(0.3, 0..16usize),
    )
        .prop_map(|(op, fail, crash_after)| Step {
            op,
            fail,
            crash_after,
        })
}

/// A create (which may itself fail or crash) followed by arbitrary commands.
pub fn steps() -> impl Strategy<Value = Vec<Step>> {
    (step(), vec(step(), 0..10)).prop_map(|(mut first, rest)| {
        first.op = Operation::Create;
        std::iter::once(first).chain(rest).collect()
    })
}

/// The journal (`None` while no container directory exists) and host after one action.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub journal: Option<Vec<Record>>,
    pub world: World,
    /// A runtime is still inside the transition (holding the lock).
    pub in_flight: bool,
}

/// A transition the model runtime began: the status it derived, and what `plan` said.
#[derive(Clone, Debug)]
pub struct Begun {
    pub current: Option<Status>,
    pub transition: Transition,
}

enum Action {
    Journal(Record),
    Spawn { pid: i32, start_time: u64 },
    Exec,
    Acquire(Resource),
    Undo(Undo),
    RemoveStateDir,
}

#[derive(Default)]
pub struct Simulation {
    journal: Option<Vec<Record>>,
    world: World,
    spawned: i32,
    pub snapshots: Vec<Snapshot>,
    pub begun: Vec<Begun>,
}

impl Simulation {
    pub fn run(steps: &[Step]) -> Self {
        let mut simulation = Simulation::default();
        simulation.snapshot(false);
        for step in steps {
            simulation.step(step);
        }
        simulation
    }

    fn step(&mut self, step: &Step) {
        let current = self.journal.as_ref().map(|records| {
            // The previous runtime finished or died: nobody holds the lock now.
            derive_status(&ContainerView::replay(records), &self.world.observe(false))
        });
        let Ok(transition) = plan(step.op, current) else {
            return;
        };
        self.begun.push(Begun {
            current,
            transition,
        });
        let actions = self.actions(transition, step.fail);
        for action in actions
            .into_iter()
            .take(step.crash_after.unwrap_or(usize::MAX))
        {
            self.perform(action);
            self.snapshot(true);
        }
        self.snapshot(false);
    }

    fn actions(&mut self, transition: Transition, fail: bool) -> Vec<Action> {
        let view = ContainerView::replay(self.journal.iter().flatten());
        let mut actions = vec![Action::Journal(Record::Intent {
            transition,
            metadata: (transition.op == Operation::Create).then(metadata),
        })];
        match transition.op {
            Operation::Create => self.create_actions(&mut actions, fail),
            Operation::Start if fail => actions.push(abort("exec failed")),
            Operation::Start => {
                actions.push(Action::Exec);
                actions.push(commit(transition.to));
            }
            Operation::Kill if fail => actions.push(abort("signal refused")),
            Operation::Kill => {
                if let Some((pid, start_time)) = view.init_process() {
                    actions.push(Action::Undo(Undo::KillProcess { pid, start_time }));
                }
                actions.push(commit(transition.to));
            }
            // The freezer and the limits are cgroup files: nothing to journal as a
            // resource, only the move itself.
            Operation::Pause | Operation::Resume | Operation::Update if fail => {
                actions.push(abort("cgroup write failed"))
            }
            Operation::Pause | Operation::Resume | Operation::Update => {
                actions.push(commit(transition.to))
            }
            Operation::Delete { .. } if fail => actions.push(abort("cgroup busy")),
            Operation::Delete { .. } => {
                undo_all(&mut actions, &view);
                actions.push(commit(Status::Deleted));
                actions.push(Action::RemoveStateDir);
            }
        }
        actions
    }

    fn create_actions(&mut self, actions: &mut Vec<Action>, fail: bool) {
        self.spawned += 1;
        let pid = 1000 + self.spawned;
        let start_time = 7 * pid as u64;
        let init = Resource::Process { pid, start_time };
        let mut acquired = Vec::new();
        // Journaled before acquiring, so a crash can leave a record without the resource
        // but never the resource without a record.
        for resource in [
            Resource::CgroupDir {
                path: "/sys/fs/cgroup/sim".into(),
            },
            Resource::CgroupDir {
                path: "/sys/fs/cgroup/sim/init".into(),
            },
            Resource::Mount {
                path: "/run/sim/rootfs".into(),
            },
            Resource::Mount {
                path: "/run/sim/rootfs/proc".into(),
            },
        ] {
            actions.push(Action::Journal(Record::Acquired {
                resource: resource.clone(),
            }));
            actions.push(Action::Acquire(resource.clone()));
            acquired.push(resource);
        }
        // A process has no pid before it exists, so it is journaled right after.
        actions.push(Action::Spawn { pid, start_time });
        actions.push(Action::Journal(Record::Acquired {
            resource: init.clone(),
        }));
        acquired.push(init);
        // As with --systemd-cgroup: the scope needs the init's pid.
        let unit = Resource::SystemdUnit {
            name: format!("sim-{pid}.scope"),
        };
        actions.push(Action::Journal(Record::Acquired {
            resource: unit.clone(),
        }));
        actions.push(Action::Acquire(unit.clone()));
        acquired.push(unit);
        let pid_file = Resource::File {
            path: "/run/sim.pid".into(),
        };
        actions.push(Action::Journal(Record::Acquired {
            resource: pid_file.clone(),
        }));
        actions.push(Action::Acquire(pid_file.clone()));
        acquired.push(pid_file);
        if fail {
            let acquired_records: Vec<Record> = acquired
                .into_iter()
                .map(|resource| Record::Acquired { resource })
                .collect();
            undo_all(actions, &ContainerView::replay(&acquired_records));
            actions.push(abort("hook failed"));
            actions.push(Action::RemoveStateDir);
        } else {
            actions.push(commit(Status::Created));
        }
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Journal(record) => self.journal.get_or_insert_with(Vec::new).push(record),
            Action::Spawn { pid, start_time } => {
                self.world.live_processes.insert((pid, start_time));
                self.world.init_waiting = true;
            }
            Action::Exec => self.world.init_waiting = false,
            Action::Acquire(resource) => {
                let _ = match resource {
                    Resource::Process { pid, start_time } => {
                        self.world.live_processes.insert((pid, start_time))
                    }
                    Resource::CgroupDir { path } => self.world.cgroups.insert(path),
                    Resource::Mount { path } => self.world.mounts.insert(path),
                    Resource::File { path } => self.world.files.insert(path),
                    Resource::SystemdUnit { name } => self.world.units.insert(name),
                };
            }
            Action::Undo(undo) => self.world.undo(&undo),
            Action::RemoveStateDir => {
                self.journal = None;
                self.world.init_waiting = false;
            }
        }
    }

    fn snapshot(&mut self, in_flight: bool) {
        self.snapshots.push(Snapshot {
            journal: self.journal.clone(),
            world: self.world.clone(),
            in_flight,
        });
    }
}

fn commit(status: Status) -> Action {
    Action::Journal(Record::Commit { status })
}

fn abort(reason: &str) -> Action {
    Action::Journal(Record::Abort {
        reason: reason.into(),
    })
}

/// Each cleanup step, then its `Released` record (released only once it is gone).
fn undo_all(actions: &mut Vec<Action>, view: &ContainerView) {
    for undo in cleanup_plan(view) {
        let resource = released_resource(&undo);
        actions.push(Action::Undo(undo));
        actions.push(Action::Journal(Record::Released { resource }));
    }
}
