//! ocirun's container lifecycle, independent of any container syscall.
//!
//! A container moves `Creating -> Created -> Running -> Stopped -> Deleted`. Every
//! transition is journaled in the container's state directory: an intent record before
//! the runtime performs side effects, records naming each host resource before (or, for
//! a process, right after) it is acquired, and a commit or abort record afterwards. A
//! runtime killed between any two records leaves a journal from which [`recovery`]
//! derives a truthful status and the list of resources to undo.
//!
//! Data flow: the runtime asks [`store::StateRoot`] for a locked [`store::ContainerHandle`],
//! consults [`transition::plan`] through it, appends [`record::Record`]s, and reads
//! containers back as [`view::ContainerView`]s.

pub mod crc;
mod fs_ops;
pub mod id;
pub mod journal;
pub mod record;
pub mod recovery;
pub mod status;
pub mod store;
pub mod transition;
pub mod view;

pub use id::{validate_id, InvalidId};
pub use record::{Metadata, Record, Resource};
pub use recovery::{cleanup_plan, derive_status, Observer, Undo};
pub use status::Status;
pub use store::{ContainerHandle, StateRoot, StoreError};
pub use transition::{plan, IllegalTransition, Operation, Transition};
pub use view::ContainerView;
