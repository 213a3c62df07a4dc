//! The state root (`--root`): one directory per container, each holding `lock` (taken with
//! an exclusive fs2 lock by every mutating command) and `journal`.
//!
//! `create` builds the directory under a temporary name `.<id>.<pid>.<nanos>` with the
//! lock held and the intent written, then renames it into place with RENAME_NOREPLACE:
//! exactly one of many concurrent creates of one id wins, and nobody ever sees a
//! container directory without a journal.

use crate::fs_ops::{self, PendingDir};
use crate::journal::{self, JOURNAL_FILE};
use crate::record::{Metadata, Record};
use crate::transition::{plan, IllegalTransition, Operation, Transition};
use crate::view::ContainerView;
use nix::errno::Errno;
use nix::fcntl::{renameat2, RenameFlags};
use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = "lock";

#[derive(Debug)]
pub enum StoreError {
    NotFound {
        id: String,
    },
    AlreadyExists {
        id: String,
    },
    InvalidId(crate::id::InvalidId),
    Illegal {
        id: String,
        error: IllegalTransition,
    },
    Io {
        context: String,
        error: io::Error,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound { id } => write!(f, "container {id:?} does not exist"),
            StoreError::AlreadyExists { id } => {
                write!(f, "container with id {id:?} already exists")
            }
            StoreError::InvalidId(e) => write!(f, "{e}"),
            StoreError::Illegal { id, error } => write!(f, "container {id:?}: {error}"),
            StoreError::Io { context, error } => write!(f, "{context}: {error}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Wraps an io error with the operation and path it concerns, for `map_err`.
fn io_context(context: impl FnOnce() -> String) -> impl FnOnce(io::Error) -> StoreError {
    move |error| StoreError::Io {
        context: context(),
        error,
    }
}

/// The `--root` directory.
pub struct StateRoot {
    path: PathBuf,
}

impl StateRoot {
    /// Opens (creating with mode 0700 if needed) the root directory. A root that is a
    /// symbolic link, or a directory owned by another user, is refused: whoever controls
    /// it controls the journals and locks this runtime trusts (and, through a link, where
    /// it writes them).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let context = || format!("opening state root {}", path.display());
        let refuse = |why: String| StoreError::Io {
            context: context(),
            error: io::Error::new(io::ErrorKind::PermissionDenied, why),
        };
        match fs::symlink_metadata(path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(refuse(
                    "it is a symbolic link; give the real directory".to_string(),
                ))
            }
            Ok(metadata) if metadata.is_dir() => {
                let ours = nix::unistd::geteuid().as_raw();
                if metadata.uid() != ours {
                    return Err(refuse(format!(
                        "it is owned by uid {}, not by this user (uid {ours})",
                        metadata.uid()
                    )));
                }
            }
            Ok(_) => {
                return Err(StoreError::Io {
                    context: context(),
                    error: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
                })
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(path).map_err(io_context(context))?;
                // Only a root we created is made private: an existing one may have been
                // set up deliberately by an administrator.
                fs::set_permissions(path, Permissions::from_mode(0o700))
                    .map_err(io_context(context))?;
            }
            Err(error) => return Err(io_context(context)(error)),
        }
        Ok(StateRoot {
            path: path.to_path_buf(),
        })
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
        let id = metadata.id.clone();
        crate::id::validate_id(&id).map_err(StoreError::InvalidId)?;
        let transition = plan(Operation::Create, None).map_err(|error| StoreError::Illegal {
            id: id.clone(),
            error,
        })?;
        let root = File::open(&self.path).map_err(io_context(|| {
            format!("opening state root {}", self.path.display())
        }))?;

        // Dropping `pending` on any early return removes the half-built directory.
        let pending = PendingDir::create(&self.path, &id).map_err(io_context(|| {
            format!("creating a directory for {id:?} in {}", self.path.display())
        }))?;
        let lock_path = pending.path().join(LOCK_FILE);
        let lock = fs_ops::create_private_file(&lock_path, false)
            .map_err(io_context(|| format!("creating {}", lock_path.display())))?;
        fs_ops::lock_exclusive(&lock)
            .map_err(io_context(|| format!("locking {}", lock_path.display())))?;
        let journal_path = pending.path().join(JOURNAL_FILE);
        let mut journal =
            fs_ops::create_private_file(&journal_path, true).map_err(io_context(|| {
                format!("creating {}", journal_path.display())
            }))?;
        let intent = Record::Intent {
            transition,
            metadata: Some(metadata),
        };
        journal::append(&mut journal, &intent)
            .map_err(io_context(|| format!("writing {}", journal_path.display())))?;
        match renameat2(
            &root,
            pending.name(),
            &root,
            id.as_str(),
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => pending.keep(),
            // ENOTEMPTY is what some filesystems report for an existing target directory.
            Err(Errno::EEXIST | Errno::ENOTEMPTY) => return Err(StoreError::AlreadyExists { id }),
            Err(errno) => {
                return Err(StoreError::Io {
                    context: format!(
                        "renaming {} to {}",
                        pending.path().display(),
                        self.container_dir(&id).display()
                    ),
                    error: errno.into(),
                })
            }
        }

        Ok(ContainerHandle {
            dir: self.container_dir(&id),
            id,
            lock,
            journal,
            view: ContainerView::replay([&intent]),
        })
    }

    /// The container's directory, its lock file's path, and the lock file opened (not
    /// locked). `NotFound` when there is no such container.
    fn open_lock_file(&self, id: &str) -> Result<(PathBuf, PathBuf, File), StoreError> {
        crate::id::validate_id(id).map_err(StoreError::InvalidId)?;
        let dir = self.container_dir(id);
        let lock_path = dir.join(LOCK_FILE);
        match File::open(&lock_path) {
            Ok(lock) => Ok((dir, lock_path, lock)),
            Err(error) if fs_ops::is_missing(&error) => {
                Err(StoreError::NotFound { id: id.to_string() })
            }
            Err(error) => Err(io_context(|| format!("opening {}", lock_path.display()))(
                error,
            )),
        }
    }

    /// Locks an existing container exclusively (waiting for other commands) and replays
    /// its journal. `NotFound` if it does not exist or was deleted while we waited.
    pub fn lock(&self, id: &str) -> Result<ContainerHandle, StoreError> {
        let not_found = || StoreError::NotFound { id: id.to_string() };
        let (dir, lock_path, lock) = self.open_lock_file(id)?;
        fs_ops::lock_exclusive(&lock)
            .map_err(io_context(|| format!("locking {}", lock_path.display())))?;
        // While we waited the holder may have removed the container (and someone may even
        // have created a new one under the same id): our lock then guards nothing.
        let still_ours = fs_ops::same_inode(&lock, &lock_path)
            .map_err(io_context(|| format!("inspecting {}", lock_path.display())))?;
        if !still_ours {
            return Err(not_found());
        }

        let journal_path = dir.join(JOURNAL_FILE);
        let mut journal = match OpenOptions::new()
            .read(true)
            .append(true)
            .open(&journal_path)
        {
            Ok(journal) => journal,
            Err(error) if fs_ops::is_missing(&error) => {
                // Every container directory gets its journal before it is renamed into
                // place, so a missing one means a crash interrupted remove(), which only
                // runs once everything is released: finish it.
                remove_container_dir(&dir)?;
                return Err(not_found());
            }
            Err(error) => {
                return Err(io_context(|| format!("opening {}", journal_path.display()))(error))
            }
        };
        let mut bytes = Vec::new();
        journal
            .read_to_end(&mut bytes)
            .map_err(io_context(|| format!("reading {}", journal_path.display())))?;
        let (records, valid_len) = journal::decode_valid_prefix(&bytes);
        if valid_len < bytes.len() {
            // A crash tore the last line. Readers stop there, so records appended after it
            // would be invisible: cut it off (we hold the lock, nobody else writes).
            journal.set_len(valid_len as u64).map_err(io_context(|| {
                format!("truncating the torn tail of {}", journal_path.display())
            }))?;
        }

        Ok(ContainerHandle {
            id: id.to_string(),
            dir,
            lock,
            journal,
            view: ContainerView::replay(&records),
        })
    }

    /// Reads a container without locking. The bool is true when another process holds
    /// its lock (a transition is in progress).
    pub fn read(&self, id: &str) -> Result<(ContainerView, bool), StoreError> {
        let not_found = || StoreError::NotFound { id: id.to_string() };
        let (dir, lock_path, lock) = self.open_lock_file(id)?;
        let records = match journal::read(&dir) {
            Ok(records) => records,
            Err(error) if fs_ops::is_missing(&error) => return Err(not_found()),
            Err(error) => {
                return Err(io_context(|| {
                    format!("reading {}", dir.join(JOURNAL_FILE).display())
                })(error))
            }
        };
        // A shared lock is refused only while some command holds the exclusive one.
        let in_progress = match fs2::FileExt::try_lock_shared(&lock) {
            Ok(()) => {
                fs2::FileExt::unlock(&lock)
                    .map_err(io_context(|| format!("unlocking {}", lock_path.display())))?;
                false
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => true,
            Err(error) => {
                return Err(io_context(|| {
                    format!("probing the lock {}", lock_path.display())
                })(error))
            }
        };
        Ok((ContainerView::replay(&records), in_progress))
    }

    /// Removes the half-built directories a `create` of `id` left when it was killed
    /// before renaming its directory into place (they hold no resource: nothing is
    /// acquired before the rename). A directory is abandoned when its lock can be taken,
    /// or, if the lock was never made, when the pid in its name is gone. Returns how many
    /// were removed.
    pub fn remove_abandoned(&self, id: &str) -> Result<usize, StoreError> {
        crate::id::validate_id(id).map_err(StoreError::InvalidId)?;
        let context = || format!("listing {}", self.path.display());
        let entries = match fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(error) => return Err(io_context(context)(error)),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(io_context(context))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if fs_ops::pending_dir_of(&name, id)
                .is_some_and(|pid| fs_ops::pending_dir_abandoned(&entry.path(), pid))
            {
                let path = entry.path();
                match fs::remove_dir_all(&path) {
                    Ok(()) => removed += 1,
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(error) => {
                        return Err(io_context(|| format!("removing {}", path.display()))(error))
                    }
                }
            }
        }
        Ok(removed)
    }

    /// The ids of every container directory, sorted; temporary directories are skipped.
    pub fn ids(&self) -> Result<Vec<String>, StoreError> {
        let context = || format!("listing {}", self.path.display());
        let entries = match fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(io_context(context)(error)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_context(context))?;
            let is_dir = entry.file_type().map_err(io_context(context))?.is_dir();
            // Ids are ASCII, so a name that is not UTF-8 is not a container.
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if is_dir && !name.starts_with('.') {
                ids.push(name);
            }
        }
        ids.sort();
        Ok(ids)
    }
}

/// Removes a container directory: everything but the lock first, so that a crash midway
/// leaves a lock to serialize the next attempt, then the lock, the directory itself, and
/// makes that durable in the root.
fn remove_container_dir(dir: &Path) -> Result<(), StoreError> {
    let entries = fs::read_dir(dir).map_err(io_context(|| format!("listing {}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(io_context(|| format!("listing {}", dir.display())))?;
        if entry.file_name() != LOCK_FILE {
            let path = entry.path();
            fs_ops::remove_if_present(&path)
                .map_err(io_context(|| format!("removing {}", path.display())))?;
        }
    }
    let lock_path = dir.join(LOCK_FILE);
    fs_ops::remove_if_present(&lock_path)
        .map_err(io_context(|| format!("removing {}", lock_path.display())))?;
    fs::remove_dir(dir).map_err(io_context(|| format!("removing {}", dir.display())))?;
    Ok(())
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
    pub fn begin(
        &mut self,
        op: Operation,
        current: crate::Status,
    ) -> Result<Transition, StoreError> {
        // The container exists, so even `create` is planned from its status (and refused).
        let transition = plan(op, Some(current)).map_err(|error| StoreError::Illegal {
            id: self.id.clone(),
            error,
        })?;
        self.record(Record::Intent {
            transition,
            metadata: None,
        })?;
        Ok(transition)
    }

    /// Appends a record and applies it to the view.
    pub fn record(&mut self, record: Record) -> Result<(), StoreError> {
        journal::append(&mut self.journal, &record).map_err(io_context(|| {
            format!("writing {}", self.dir.join(JOURNAL_FILE).display())
        }))?;
        self.view.apply(&record);
        Ok(())
    }

    /// Appends several records in one write and applies them in order.
    pub fn record_all(&mut self, records: &[Record]) -> Result<(), StoreError> {
        journal::append_all(&mut self.journal, records).map_err(io_context(|| {
            format!("writing {}", self.dir.join(JOURNAL_FILE).display())
        }))?;
        for record in records {
            self.view.apply(record);
        }
        Ok(())
    }

    /// Removes the state directory (journal, lock and anything else in it). Call after
    /// every resource is released. Waiters on the lock then find the container gone.
    pub fn remove(self) -> Result<(), StoreError> {
        remove_container_dir(&self.dir)?;
        // Only now may waiters proceed; they find the lock path gone and report NotFound.
        drop(self.lock);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Resource;
    use crate::status::Status;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;
    use std::sync::mpsc;
    use std::time::Duration;

    fn metadata(id: &str) -> Metadata {
        Metadata {
            id: id.into(),
            bundle: "/bundles/b".into(),
            rootfs: "/bundles/b/rootfs".into(),
            created: "2024-01-01T00:00:00Z".into(),
            owner: "root".into(),
            oci_version: "1.2.0".into(),
            ..Metadata::default()
        }
    }

    fn new_root() -> (tempfile::TempDir, StateRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = StateRoot::open(&dir.path().join("state")).unwrap();
        (dir, root)
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o777
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn open_creates_a_private_root() {
        let (_dir, root) = new_root();
        assert!(root.path().is_dir());
        assert_eq!(mode(root.path()), 0o700);
    }

    #[test]
    fn open_refuses_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        let error = StateRoot::open(&dir.path().join("link"))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("symbolic link"), "{error}");
    }

    #[test]
    fn open_refuses_a_root_owned_by_another_user() {
        let dir = tempfile::tempdir().unwrap();
        let other = nix::unistd::geteuid().as_raw() + 1;
        if nix::unistd::chown(dir.path(), Some(other.into()), None).is_err() {
            return; // not root: cannot make another user's directory
        }
        let error = StateRoot::open(dir.path()).err().unwrap().to_string();
        assert!(error.contains(&format!("owned by uid {other}")), "{error}");
    }

    #[test]
    fn open_leaves_an_existing_root_alone() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), Permissions::from_mode(0o755)).unwrap();
        StateRoot::open(dir.path()).unwrap();
        assert_eq!(mode(dir.path()), 0o755);
    }

    #[test]
    fn open_refuses_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, b"").unwrap();
        assert!(matches!(StateRoot::open(&file), Err(StoreError::Io { .. })));
    }

    #[test]
    fn create_writes_a_locked_private_container() {
        let (_dir, root) = new_root();
        let handle = root.create(metadata("c1")).unwrap();
        assert_eq!(handle.id(), "c1");
        assert_eq!(handle.dir(), root.container_dir("c1"));
        assert_eq!(handle.view().metadata, Some(metadata("c1")));
        assert_eq!(
            handle.view().pending,
            Some(plan(Operation::Create, None).unwrap())
        );
        assert_eq!(entries(root.path()), ["c1"]);
        assert_eq!(entries(handle.dir()), [JOURNAL_FILE, LOCK_FILE]);
        assert_eq!(mode(handle.dir()), 0o700);
        assert_eq!(mode(&handle.dir().join(LOCK_FILE)), 0o600);
        assert_eq!(mode(&handle.dir().join(JOURNAL_FILE)), 0o600);

        let (view, in_progress) = root.read("c1").unwrap();
        assert_eq!(&view, handle.view());
        assert!(in_progress, "the creator still holds the lock");
        drop(handle);
        assert!(!root.read("c1").unwrap().1);
    }

    #[test]
    fn create_refuses_a_taken_id_and_leaves_nothing_behind() {
        let (_dir, root) = new_root();
        drop(root.create(metadata("c1")).unwrap());
        assert!(matches!(
            root.create(metadata("c1")),
            Err(StoreError::AlreadyExists { id }) if id == "c1"
        ));
        assert_eq!(entries(root.path()), ["c1"]);
        // The original is untouched.
        assert_eq!(root.read("c1").unwrap().0.metadata, Some(metadata("c1")));
    }

    #[test]
    fn create_never_replaces_an_existing_directory() {
        // A plain rename would replace an empty directory; RENAME_NOREPLACE must not.
        let (_dir, root) = new_root();
        fs::create_dir(root.container_dir("c1")).unwrap();
        assert!(matches!(
            root.create(metadata("c1")),
            Err(StoreError::AlreadyExists { .. })
        ));
        assert_eq!(entries(root.path()), ["c1"]);
        assert!(entries(&root.container_dir("c1")).is_empty());
    }

    #[test]
    fn invalid_ids_are_refused_everywhere() {
        let (_dir, root) = new_root();
        for id in ["", ".hidden", "../escape", "a/b"] {
            assert!(matches!(
                root.create(metadata(id)),
                Err(StoreError::InvalidId(_))
            ));
            assert!(matches!(root.lock(id), Err(StoreError::InvalidId(_))));
            assert!(matches!(root.read(id), Err(StoreError::InvalidId(_))));
        }
        assert!(entries(root.path()).is_empty());
    }

    #[test]
    fn a_missing_container_is_not_found() {
        let (_dir, root) = new_root();
        assert!(matches!(root.lock("nope"), Err(StoreError::NotFound { id }) if id == "nope"));
        assert!(matches!(
            root.read("nope"),
            Err(StoreError::NotFound { .. })
        ));
        fs::write(root.path().join("file"), b"").unwrap();
        assert!(matches!(
            root.lock("file"),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn records_survive_reopening() {
        let (_dir, root) = new_root();
        let mut handle = root.create(metadata("c1")).unwrap();
        let init = Resource::Process {
            pid: 10,
            start_time: 20,
        };
        handle
            .record(Record::Acquired {
                resource: init.clone(),
            })
            .unwrap();
        handle
            .record(Record::Commit {
                status: Status::Created,
            })
            .unwrap();
        let written = handle.view().clone();
        drop(handle);

        let mut handle = root.lock("c1").unwrap();
        assert_eq!(handle.view(), &written);
        let start = handle.begin(Operation::Start, Status::Created).unwrap();
        assert_eq!(
            start,
            plan(Operation::Start, Some(Status::Created)).unwrap()
        );
        assert_eq!(handle.view().pending, Some(start));
        drop(handle);
        let (view, _) = root.read("c1").unwrap();
        assert_eq!(view.pending, Some(start));
        assert_eq!(view.resources, [init]);
    }

    #[test]
    fn an_illegal_begin_writes_nothing() {
        let (_dir, root) = new_root();
        let mut handle = root.create(metadata("c1")).unwrap();
        let journal_path = handle.dir().join(JOURNAL_FILE);
        let before = fs::read(&journal_path).unwrap();
        for (op, current) in [
            (Operation::Start, Status::Running),
            (Operation::Create, Status::Stopped),
            (Operation::Delete { force: false }, Status::Running),
        ] {
            let error = handle.begin(op, current).unwrap_err();
            assert!(
                matches!(&error, StoreError::Illegal { error, .. } if error.op == op),
                "{error}"
            );
        }
        assert_eq!(fs::read(&journal_path).unwrap(), before);
    }

    #[test]
    fn remove_deletes_the_directory() {
        let (_dir, root) = new_root();
        let handle = root.create(metadata("c1")).unwrap();
        fs::write(handle.dir().join("extra"), b"runtime data").unwrap();
        fs::create_dir(handle.dir().join("subdir")).unwrap();
        handle.remove().unwrap();
        assert!(entries(root.path()).is_empty());
        assert!(root.ids().unwrap().is_empty());
        assert!(matches!(root.lock("c1"), Err(StoreError::NotFound { .. })));
        // The id is free again.
        root.create(metadata("c1")).unwrap();
    }

    #[test]
    fn a_waiter_finds_the_container_removed() {
        let (_dir, root) = new_root();
        let handle = root.create(metadata("c1")).unwrap();
        let (started, waiting) = mpsc::channel();
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                started.send(()).unwrap();
                root.lock("c1").map(|_| ())
            });
            waiting.recv().unwrap();
            // Give the waiter time to block on the lock (if it has not, it finds the
            // container gone anyway).
            std::thread::sleep(Duration::from_millis(50));
            handle.remove().unwrap();
            assert!(matches!(
                waiter.join().unwrap(),
                Err(StoreError::NotFound { .. })
            ));
        });
    }

    #[test]
    fn a_waiter_does_not_take_a_recreated_container_for_its_own() {
        let (_dir, root) = new_root();
        let first = root.create(metadata("c1")).unwrap();
        // Opened before the removal, as a waiter that lost the race would have.
        let stale_lock = File::open(first.dir().join(LOCK_FILE)).unwrap();
        first.remove().unwrap();
        let second = root.create(metadata("c1")).unwrap();
        assert!(!fs_ops::same_inode(&stale_lock, &second.dir().join(LOCK_FILE)).unwrap());
    }

    #[test]
    fn locking_cuts_a_torn_tail_so_new_records_are_visible() {
        let (_dir, root) = new_root();
        drop(root.create(metadata("c1")).unwrap());
        let journal_path = root.container_dir("c1").join(JOURNAL_FILE);
        let torn = journal::encode(&Record::Commit {
            status: Status::Created,
        });
        OpenOptions::new()
            .append(true)
            .open(&journal_path)
            .unwrap()
            .write_all(&torn[..torn.len() / 2])
            .unwrap();

        let mut handle = root.lock("c1").unwrap();
        assert_eq!(handle.view().committed, None);
        handle
            .record(Record::Abort {
                reason: "init died".into(),
            })
            .unwrap();
        drop(handle);
        let (view, _) = root.read("c1").unwrap();
        assert_eq!(view.pending, None, "the abort after the torn line is read");
        assert_eq!(journal::read(&root.container_dir("c1")).unwrap().len(), 2);
    }

    #[test]
    fn locking_finishes_an_interrupted_remove() {
        let (_dir, root) = new_root();
        drop(root.create(metadata("c1")).unwrap());
        // remove() deletes the journal before the lock; a crash in between leaves this.
        fs::remove_file(root.container_dir("c1").join(JOURNAL_FILE)).unwrap();
        assert!(matches!(root.read("c1"), Err(StoreError::NotFound { .. })));
        assert!(matches!(root.lock("c1"), Err(StoreError::NotFound { .. })));
        assert!(entries(root.path()).is_empty());
    }

    #[test]
    fn ids_lists_container_directories_only() {
        let (_dir, root) = new_root();
        for id in ["b", "a", "c.1"] {
            drop(root.create(metadata(id)).unwrap());
        }
        fs::create_dir(root.path().join(".a.123.456")).unwrap();
        fs::write(root.path().join("stray-file"), b"").unwrap();
        assert_eq!(root.ids().unwrap(), ["a", "b", "c.1"]);
    }

    #[test]
    fn ids_of_a_missing_root_is_empty() {
        let (_dir, root) = new_root();
        fs::remove_dir(root.path()).unwrap();
        assert!(root.ids().unwrap().is_empty());
    }
}
