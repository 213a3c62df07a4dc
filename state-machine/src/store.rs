//! The state root (`--root`): one directory per container, each holding `lock` (taken with
//! an exclusive fs2 lock by every mutating command) and `journal`.
//!
//! `create` builds the directory under a temporary name `.<id>.<pid>.<nanos>` with the
//! lock held and the intent written, then renames it into place with RENAME_NOREPLACE:
//! exactly one of many concurrent creates of one id wins, and nobody ever sees a
//! container directory without a journal.

use crate::record::{Metadata, Record};
use crate::transition::{IllegalTransition, Operation, Transition};
use crate::view::ContainerView;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = "lock";

#[derive(Debug)]
pub enum StoreError {
    NotFound { id: String },
    AlreadyExists { id: String },
    InvalidId(crate::id::InvalidId),
    Illegal { id: String, error: IllegalTransition },
    Io { context: String, error: io::Error },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound { id } => write!(f, "container {id:?} does not exist"),
            StoreError::AlreadyExists { id } => write!(f, "container with id {id:?} already exists"),
            StoreError::InvalidId(e) => write!(f, "{e}"),
            StoreError::Illegal { id, error } => write!(f, "container {id:?}: {error}"),
            StoreError::Io { context, error } => write!(f, "{context}: {error}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The `--root` directory.
pub struct StateRoot {
    path: PathBuf,
}

impl StateRoot {
    /// Opens (creating with mode 0700 if needed) the root directory.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        todo!("{path:?}")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.path.join(id)
    }

    /// Creates the container's directory with its lock held and a `create` intent
    /// (carrying `metadata`) journaled. `AlreadyExists` when the id is taken.
    pub fn create(&self, metadata: Metadata) -> Result<ContainerHandle, StoreError> {
        todo!("{metadata:?}")
    }

    /// Locks an existing container exclusively (waiting for other commands) and replays
    /// its journal. `NotFound` if it does not exist or was deleted while we waited.
    pub fn lock(&self, id: &str) -> Result<ContainerHandle, StoreError> {
        todo!("{id}")
    }

    /// Reads a container without locking. The bool is true when another process holds
    /// its lock (a transition is in progress).
    pub fn read(&self, id: &str) -> Result<(ContainerView, bool), StoreError> {
        todo!("{id}")
    }

    /// The ids of every container directory, sorted; temporary directories are skipped.
    pub fn ids(&self) -> Result<Vec<String>, StoreError> {
        todo!()
    }
}

/// An exclusively locked container. Dropping it releases the lock.
pub struct ContainerHandle {
    id: String,
    dir: PathBuf,
    lock: File,
    journal: File,
    view: ContainerView,
}

impl ContainerHandle {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn view(&self) -> &ContainerView {
        &self.view
    }

    /// Consults the transition table with the caller's derived `current` status and, if
    /// legal, journals the intent. Nothing is written when it is illegal.
    pub fn begin(&mut self, op: Operation, current: crate::Status) -> Result<Transition, StoreError> {
        todo!("{op:?} {current:?} {:?} {:?}", self.lock, self.journal)
    }

    /// Appends a record (fsynced) and applies it to the view.
    pub fn record(&mut self, record: Record) -> Result<(), StoreError> {
        todo!("{record:?}")
    }

    /// Removes the state directory (journal, lock and anything else in it). Call after
    /// every resource is released. Waiters on the lock then find the container gone.
    pub fn remove(self) -> Result<(), StoreError> {
        todo!()
    }
}
