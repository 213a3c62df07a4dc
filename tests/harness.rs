//! Self-tests of the test helpers in tests/common. None of them needs the
//! runtime to be implemented.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique_id(&format!("ocirun-harness-{name}")));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn busybox_rootfs_has_a_shell() {
    let dir = scratch_dir("rootfs");
    busybox_rootfs(&dir);
    let sh = dir.join("bin/sh");
    assert!(sh.exists(), "{} missing", sh.display());
    assert_eq!(
        std::fs::read_link(&sh).unwrap(),
        Path::new("busybox"),
        "bin/sh should be a relative symlink to busybox"
    );
    for d in ["proc", "sys", "dev", "tmp", "etc", "root"] {
        assert!(dir.join(d).is_dir(), "/{d} missing");
    }
    let passwd = std::fs::read_to_string(dir.join("etc/passwd")).unwrap();
    assert!(passwd.starts_with("root:x:0:0:"), "{passwd}");
    assert!(passwd.contains("\nnobody:x:65534:65534:"), "{passwd}");
    let group = std::fs::read_to_string(dir.join("etc/group")).unwrap();
    assert!(group.contains("root:x:0:") && group.contains("nobody:x:65534:"));

    // The rootfs works: run its shell chrooted, without any runtime.
    let out = Command::new("chroot")
        .arg(&dir)
        .args(["/bin/sh", "-c", "echo ok; ls /bin | wc -l"])
        .output()
        .expect("chroot");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ok"));
    let applets: usize = lines.next().unwrap().trim().parse().unwrap();
    assert!(applets > 100, "only {applets} entries in /bin");

    // A second copy comes from the cached template and is independent.
    let dir2 = scratch_dir("rootfs2");
    busybox_rootfs(&dir2);
    assert!(dir2.join("bin/sh").exists());
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&dir2).unwrap();
}

#[test]
fn unique_ids_are_unique_and_valid() {
    let a = unique_id("x");
    let b = unique_id("x");
    assert_ne!(a, b);
    let weird = unique_id("a b/c:d");
    assert!(weird.starts_with("a-b-c-d-"), "{weird}");
    for id in [a, b, weird] {
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c)),
            "{id}"
        );
    }
}

#[test]
fn commands_time_out_instead_of_hanging() {
    let start = Instant::now();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo started; sleep 60"]);
    match output_with_timeout(cmd, Duration::from_millis(500)) {
        Err(RunError::TimedOut { stdout, .. }) => assert_eq!(stdout, "started\n"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The whole process group (sh and its sleep) was killed promptly.
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn output_is_captured_even_if_a_grandchild_keeps_it_open() {
    // Like `ocirun run -d`: the command exits while something it started still
    // holds its stdout. The helper must return at once, not at the grandchild's
    // exit.
    let start = Instant::now();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo out; echo err >&2; (sleep 20 &) ; exit 3"]);
    let out = output_with_timeout(cmd, Duration::from_secs(15)).expect("no timeout");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn mentions_respects_path_boundaries() {
    assert!(mentions(b"a /tmp/b-1 c", b"/tmp/b-1"));
    assert!(mentions(b"/tmp/b-1/rootfs", b"/tmp/b-1"));
    assert!(mentions(b"X=/tmp/b-1\0", b"/tmp/b-1"));
    assert!(!mentions(b"/tmp/b-10/rootfs", b"/tmp/b-1"));
    assert!(!mentions(b"", b"/tmp/b-1"));
}

#[test]
fn leak_checks_pass_for_an_unused_bundle_dir() {
    // No runtime involved: an empty runtime root, a plain directory.
    let dir = scratch_dir("leaks");
    busybox_rootfs(&dir.join("rootfs"));
    let id = unique_id("never-started");
    assert!(mounts_under(&dir).is_empty());
    assert!(cgroups_named(&[&id], None).is_empty());
    assert_eq!(processes_of(&dir, &[]), Vec::<String>::new());

    // A process chrooted into the rootfs is found, by its root.
    let mut child = Command::new("chroot")
        .arg(dir.join("rootfs"))
        .args(["/bin/sleep", "30"])
        .spawn()
        .expect("chroot");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut found = Vec::new();
    while Instant::now() < deadline {
        found = processes_of(&dir, &[]);
        if found.iter().any(|p| p.contains("root is")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        found.iter().any(|p| p.contains("root is")),
        "chrooted process not found: {found:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
