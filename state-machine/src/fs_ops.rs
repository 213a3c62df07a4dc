//! The filesystem steps [`crate::store`] composes: owner-only files and directories,
//! flock that survives signals, and the temporary directory a `create`
//! builds before renaming it into place.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Linux's NAME_MAX: the longest single path component.
const NAME_MAX: usize = 255;

/// Creates a new file readable and writable by its owner only (mode 0600). With `append`
/// every write lands at the end of the file, as the journal requires.
pub(crate) fn create_private_file(path: &Path, append: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create_new(true).mode(0o600);
    if append {
        options.append(true);
    } else {
        options.write(true);
    }
    options.open(path)
}

/// Blocks until the exclusive flock is ours. A signal delivered while waiting is not a
/// reason to give up, so EINTR is retried.
pub(crate) fn lock_exclusive(file: &File) -> io::Result<()> {
    loop {
        match fs2::FileExt::lock_exclusive(file) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

/// True when `path` still names the inode `file` has open.
pub(crate) fn same_inode(file: &File, path: &Path) -> io::Result<bool> {
    let open = file.metadata()?;
    match fs::metadata(path) {
        Ok(named) => Ok(named.dev() == open.dev() && named.ino() == open.ino()),
        Err(error) if is_missing(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

/// A path that does not exist, including one whose parent is not a directory.
pub(crate) fn is_missing(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Removes a file or directory tree; one that is already gone is fine, so an interrupted
/// removal can simply be run again.
pub(crate) fn remove_if_present(path: &Path) -> io::Result<()> {
    let result = match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(error) => Err(error),
    };
    match result {
        Err(error) if is_missing(&error) => Ok(()),
        result => result,
    }
}

/// A directory named `.<id>.<pid>.<nanos>` under the state root, removed again when
/// dropped unless [`PendingDir::keep`] says it was renamed into place.
pub(crate) struct PendingDir {
    name: String,
    path: PathBuf,
    keep: bool,
}

impl PendingDir {
    /// Creates the directory with mode 0700. The leading dot keeps it out of
    /// [`crate::store::StateRoot::ids`] and cannot collide with a container, whose ids
    /// never start with a dot.
    pub(crate) fn create(root: &Path, id: &str) -> io::Result<Self> {
        loop {
            let name = pending_name(id);
            let path = root.join(&name);
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    return Ok(PendingDir {
                        name,
                        path,
                        keep: false,
                    })
                }
                // Two creates in one process read the same clock tick: take another.
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(error),
            }
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The directory now lives under another name; there is nothing to clean up.
    pub(crate) fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for PendingDir {
    fn drop(&mut self) {
        if !self.keep {
            // Best effort: a leftover is hidden from ids() and harmless beyond disk space.
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// The creator's pid when `name` is a pending directory of a `create` of `id`.
pub(crate) fn pending_dir_of(name: &str, id: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let mut parts = rest.rsplitn(3, '.');
    let _nanos: u128 = parts.next()?.parse().ok()?;
    let pid: u32 = parts.next()?.parse().ok()?;
    let id_part = parts.next()?;
    (!id_part.is_empty() && id.starts_with(id_part)).then_some(pid)
}

/// True when nobody builds the pending directory any more: its creator holds the lock
/// for as long as it works on it.
pub(crate) fn pending_dir_abandoned(dir: &Path, creator: u32) -> bool {
    use fs2::FileExt;
    match File::open(dir.join(crate::store::LOCK_FILE)) {
        Ok(lock) => lock.try_lock_exclusive().is_ok(),
        // Killed between mkdir and creating the lock: only the creator's pid can tell.
        Err(error) if is_missing(&error) => !Path::new(&format!("/proc/{creator}")).exists(),
        Err(_) => false,
    }
}

fn pending_name(id: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let suffix = format!(".{}.{nanos}", std::process::id());
    // A long id would push the name past NAME_MAX; the pid and time alone keep it unique,
    // so the id part is shortened (ids are ASCII, so any byte is a char boundary).
    let id_room = NAME_MAX - 1 - suffix.len();
    let id_part = &id[..id.len().min(id_room)];
    format!(".{id_part}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_names_are_recognised_for_their_id_only() {
        let name = pending_name("web.1");
        assert_eq!(pending_dir_of(&name, "web.1"), Some(std::process::id()));
        assert_eq!(pending_dir_of(&name, "db"), None);
        assert_eq!(pending_dir_of(".web.1", "web.1"), None);
        assert_eq!(pending_dir_of("web.1.2.3", "web.1"), None);
    }

    #[test]
    fn a_locked_pending_dir_is_not_abandoned() {
        use fs2::FileExt;
        let root = tempfile::tempdir().unwrap();
        let pending = PendingDir::create(root.path(), "x").unwrap();
        let lock =
            create_private_file(&pending.path().join(crate::store::LOCK_FILE), false).unwrap();
        lock.lock_exclusive().unwrap();
        let pid = pending_dir_of(pending.name(), "x").unwrap();
        assert!(!pending_dir_abandoned(pending.path(), pid));
        drop(lock);
        assert!(pending_dir_abandoned(pending.path(), pid));
    }

    #[test]
    fn pending_names_fit_in_a_path_component() {
        let long_id = "a".repeat(1024);
        let name = pending_name(&long_id);
        assert!(name.len() <= NAME_MAX);
        assert!(name.starts_with(".aaaa"));
        assert!(pending_name("c1").starts_with(&format!(".c1.{}.", std::process::id())));
    }

    #[test]
    fn a_pending_dir_is_removed_unless_kept() {
        let root = tempfile::tempdir().unwrap();
        let dropped = PendingDir::create(root.path(), "c1").unwrap();
        let dropped_path = dropped.path().to_path_buf();
        fs::write(dropped_path.join("file"), b"x").unwrap();
        drop(dropped);
        assert!(!dropped_path.exists());

        let kept = PendingDir::create(root.path(), "c1").unwrap();
        let kept_path = kept.path().to_path_buf();
        assert_eq!(
            fs::metadata(&kept_path).unwrap().mode() & 0o777,
            0o700,
            "owner-only"
        );
        kept.keep();
        assert!(kept_path.exists());
    }

    #[test]
    fn removing_what_is_gone_succeeds() {
        let root = tempfile::tempdir().unwrap();
        remove_if_present(&root.path().join("nothing")).unwrap();
        remove_if_present(&root.path().join("nothing/below")).unwrap();
    }
}
