use crate::record::{Metadata, Record, Resource};
use crate::status::Status;
use crate::transition::Transition;

/// A container as its journal describes it: the replay of every record, with no
/// reference to the live system. [`crate::recovery`] combines it with observations.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ContainerView {
    pub metadata: Option<Metadata>,
    /// The status of the last committed transition (`None` before `create` commits).
    pub committed: Option<Status>,
    /// A transition whose intent is journaled without a commit or abort.
    pub pending: Option<Transition>,
    /// Acquired and not yet released, in acquisition order.
    pub resources: Vec<Resource>,
}

impl ContainerView {
    /// Folds records in order. Replaying the same records always gives the same view.
    pub fn replay<'a>(records: impl IntoIterator<Item = &'a Record>) -> Self {
        let mut view = ContainerView::default();
        for record in records {
            view.apply(record);
        }
        view
    }

    /// Folds one record into the view.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Intent {
                transition,
                metadata,
            } => {
                // An intent replaces any pending one: a later command only begins after
                // deriving the status of an interrupted transition, so the new intent is
                // what is in flight now.
                self.pending = Some(*transition);
                if let Some(metadata) = metadata {
                    self.metadata = Some(metadata.clone());
                }
            }
            Record::Acquired { resource } => {
                // A retried step journals the same resource again; it is still one
                // resource to undo.
                if !self.resources.contains(resource) {
                    self.resources.push(resource.clone());
                }
            }
            Record::Released { resource } => self.resources.retain(|held| held != resource),
            Record::Commit { status } => {
                self.committed = Some(*status);
                self.pending = None;
            }
            Record::Abort { .. } => self.pending = None,
        }
    }

    /// The container's init, if one was ever started and not released.
    pub fn init_process(&self) -> Option<(i32, u64)> {
        self.resources.iter().find_map(|r| match r {
            Resource::Process { pid, start_time } => Some((*pid, *start_time)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transition::{plan, Operation};
    use std::path::PathBuf;

    fn cgroup(path: &str) -> Resource {
        Resource::CgroupDir {
            path: PathBuf::from(path),
        }
    }

    fn intent(op: Operation, from: Option<Status>) -> Record {
        Record::Intent {
            transition: plan(op, from).unwrap(),
            metadata: None,
        }
    }

    #[test]
    fn intent_sets_pending_and_metadata() {
        let metadata = Metadata {
            id: "c1".into(),
            ..Metadata::default()
        };
        let transition = plan(Operation::Create, None).unwrap();
        let view = ContainerView::replay(&[Record::Intent {
            transition,
            metadata: Some(metadata.clone()),
        }]);
        assert_eq!(view.pending, Some(transition));
        assert_eq!(view.metadata, Some(metadata));
        assert_eq!(view.committed, None);
    }

    #[test]
    fn an_intent_without_metadata_keeps_the_metadata() {
        let metadata = Metadata {
            id: "c1".into(),
            ..Metadata::default()
        };
        let view = ContainerView::replay(&[
            Record::Intent {
                transition: plan(Operation::Create, None).unwrap(),
                metadata: Some(metadata.clone()),
            },
            Record::Commit {
                status: Status::Created,
            },
            intent(Operation::Start, Some(Status::Created)),
        ]);
        assert_eq!(view.metadata, Some(metadata));
    }

    #[test]
    fn resources_are_a_set_in_acquisition_order() {
        let view = ContainerView::replay(&[
            Record::Acquired {
                resource: cgroup("/a"),
            },
            Record::Acquired {
                resource: cgroup("/b"),
            },
            Record::Acquired {
                resource: cgroup("/a"),
            },
            Record::Acquired {
                resource: cgroup("/c"),
            },
            Record::Released {
                resource: cgroup("/b"),
            },
            Record::Released {
                resource: cgroup("/never-acquired"),
            },
        ]);
        assert_eq!(view.resources, [cgroup("/a"), cgroup("/c")]);
    }

    #[test]
    fn commit_sets_status_and_clears_pending() {
        let view = ContainerView::replay(&[
            intent(Operation::Start, Some(Status::Created)),
            Record::Commit {
                status: Status::Running,
            },
        ]);
        assert_eq!(view.committed, Some(Status::Running));
        assert_eq!(view.pending, None);
    }

    #[test]
    fn abort_keeps_the_committed_status() {
        let view = ContainerView::replay(&[
            Record::Commit {
                status: Status::Created,
            },
            intent(Operation::Start, Some(Status::Created)),
            Record::Abort {
                reason: "exec failed".into(),
            },
        ]);
        assert_eq!(view.committed, Some(Status::Created));
        assert_eq!(view.pending, None);
    }

    #[test]
    fn init_process_is_the_first_process_resource() {
        let view = ContainerView::replay(&[
            Record::Acquired {
                resource: cgroup("/a"),
            },
            Record::Acquired {
                resource: Resource::Process {
                    pid: 42,
                    start_time: 7,
                },
            },
        ]);
        assert_eq!(view.init_process(), Some((42, 7)));
    }
}
