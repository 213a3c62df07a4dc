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

    pub fn apply(&mut self, record: &Record) {
        todo!("fold one record: {record:?}")
    }

    /// The container's init, if one was ever started and not released.
    pub fn init_process(&self) -> Option<(i32, u64)> {
        self.resources.iter().find_map(|r| match r {
            Resource::Process { pid, start_time } => Some((*pid, *start_time)),
            _ => None,
        })
    }
}
