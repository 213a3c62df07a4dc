//! A `--root` on a full filesystem: create fails with one clear line and leaves nothing;
//! a container created before the disk filled still deletes with --force.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// A small tmpfs mounted for one test, unmounted when dropped.
struct SmallTmpfs {
    path: std::path::PathBuf,
}

impl SmallTmpfs {
    fn mount(name: &str) -> SmallTmpfs {
        let path =
            Path::new(RUNTIME_ROOT_PARENT).join(format!("full-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success(), "mounting a tmpfs at {}", path.display());
        SmallTmpfs { path }
    }

    /// Writes a file until the filesystem refuses more.
    fn fill(&self) {
        let filler = self.path.join("filler");
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=4096"])
            .arg(format!("of={}", filler.display()))
            .stderr(std::process::Stdio::null())
            .status();
        let again = std::fs::write(self.path.join("one-more"), vec![0u8; 4096]);
        assert!(again.is_err(), "the tmpfs is not full");
    }

    fn root(&self) -> String {
        self.path.join("root").to_string_lossy().into_owned()
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

fn ocirun(root: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(OCIRUN);
    cmd.arg("--root").arg(root).args(args);
    run_cmd(cmd)
}

#[test]
fn create_on_a_full_root_fails_clearly_and_leaves_nothing() {
    let disk = SmallTmpfs::mount("create");
    std::fs::create_dir_all(disk.root()).unwrap();
    disk.fill();
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("full-create");
    let out = ocirun(&disk.root(), &["create", "--bundle", bundle.path(), &id]);
    assert!(!out.status.success());
    assert_one_line_error(
        &String::from_utf8_lossy(&out.stderr),
        &["No space left"],
        "create on a full root",
    );
    let left: Vec<_> = std::fs::read_dir(disk.root())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "the full root keeps {left:?}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn a_container_on_a_root_that_filled_up_still_deletes() {
    let disk = SmallTmpfs::mount("delete");
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("full-delete");
    let created = ocirun(&disk.root(), &["run", "-d", "--bundle", bundle.path(), &id]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    disk.fill();
    let state = ocirun(&disk.root(), &["state", &id]);
    assert!(
        state.status.success(),
        "state on a full root: {}",
        String::from_utf8_lossy(&state.stderr)
    );
    let deleted = ocirun(&disk.root(), &["delete", "--force", &id]);
    assert!(
        deleted.status.success(),
        "delete --force on a full root: {}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(disk.root())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "the full root keeps {left:?}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}
