//! Shared helpers for ocirun's integration tests. Each `tests/*.rs` file does
//! `mod common;`.
//!
//! Tests run as root and start real containers with the `ocirun` binary cargo
//! built for this test run. Tests in one file run in parallel threads and test
//! files run in parallel processes, so everything here is scoped: every bundle
//! gets its own directory, every [`Runtime`] its own `--root`, every container id
//! comes from [`unique_id`], and the leak checks in [`assert_no_leaks`] only look
//! at what belongs to one test, never at global counts.
//!
//! Every command gets a hard timeout ([`command_timeout`], 30 s by default,
//! `OCIRUN_TEST_TIMEOUT=<secs>` to change it): a hanging runtime fails the test
//! instead of hanging CI.
//!
//! Typical use:
//!
//! ```ignore
//! mod common;
//! use common::*;
//!
//! #[test]
//! fn echo() {
//!     let rt = Runtime::new();
//!     let bundle = Bundle::new(&["echo", "hi"]);
//!     let id = unique_id("echo");
//!     let out = rt.ok(&["run", "--bundle", bundle.path(), &id]);
//!     assert_eq!(out, "hi\n");
//!     assert_no_leaks(&rt, &bundle, &[&id]);
//! }
//! ```

#![allow(dead_code)] // not every test file uses every helper

mod output;
#[allow(unused_imports)] // not every test file reads container output
pub use output::*;

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{symlink, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The ocirun binary under test.
pub const OCIRUN: &str = env!("CARGO_BIN_EXE_ocirun");

/// Where busybox-static installs its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Parent of every [`Runtime`]'s `--root`.
pub const RUNTIME_ROOT_PARENT: &str = "/run/ocirun-test";

/// Bundles are created as `<BUNDLE_PREFIX><unique>`.
pub const BUNDLE_PREFIX: &str = "/tmp/ocirun-test-";

/// The hard timeout of every command: 30 s, or `OCIRUN_TEST_TIMEOUT` seconds.
pub fn command_timeout() -> Duration {
    static T: OnceLock<Duration> = OnceLock::new();
    *T.get_or_init(|| {
        let secs = std::env::var("OCIRUN_TEST_TIMEOUT")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&s| s > 0)
            .unwrap_or(30);
        Duration::from_secs(secs)
    })
}

/// A container id unique across threads and test processes:
/// `<prefix>-<pid>-<counter>`, with any character runc would reject in an id
/// (anything but `[A-Za-z0-9_+.-]`) in `prefix` replaced by `-`.
pub fn unique_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = if clean.is_empty() {
        "t".to_string()
    } else {
        clean
    };
    format!("{clean}-{}-{n}", std::process::id())
}

// ---------------------------------------------------------------------------
// Running commands with a hard timeout
// ---------------------------------------------------------------------------

/// Why [`output_with_timeout`] gave no [`Output`].
#[derive(Debug)]
pub enum RunError {
    /// The command could not be started.
    Spawn(std::io::Error),
    /// The command was still running at the deadline; its process group was
    /// killed. Holds what it had written so far.
    TimedOut {
        after: Duration,
        stdout: String,
        stderr: String,
    },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(e) => write!(f, "could not start: {e}"),
            RunError::TimedOut {
                after,
                stdout,
                stderr,
            } => write!(
                f,
                "HUNG: still running after {after:?}, killed\n--- stdout so far ---\n{stdout}\n--- stderr so far ---\n{stderr}"
            ),
        }
    }
}

fn anon_file() -> fs::File {
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "ocirun-test-out-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
    let _ = fs::remove_file(&path);
    f
}

fn read_back(mut f: &fs::File) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = f.seek(SeekFrom::Start(0));
    let _ = f.read_to_end(&mut v);
    v
}

/// Runs `cmd` to completion with a hard deadline and returns its output.
///
/// stdin is /dev/null unless the caller set it. stdout and stderr go to
/// unlinked temporary files rather than pipes: a detached container (`run -d`)
/// inherits them and may keep them open for as long as it lives, which would
/// block a pipe reader forever, while a file can be read back as soon as the
/// command itself exits. The command runs in its own process group; on timeout
/// the whole group gets SIGKILL.
pub fn output_with_timeout(mut cmd: Command, timeout: Duration) -> Result<Output, RunError> {
    let out = anon_file();
    let err = anon_file();
    cmd.stdout(Stdio::from(out.try_clone().expect("dup stdout file")))
        .stderr(Stdio::from(err.try_clone().expect("dup stderr file")))
        .process_group(0);
    let mut child = cmd.spawn().map_err(RunError::Spawn)?;
    // Drop our copies of the write ends held by `cmd` as soon as possible.
    drop(cmd);
    let start = Instant::now();
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => panic!("waiting for child {}: {e}", child.id()),
        }
        if start.elapsed() >= timeout {
            let pid = child.id() as libc::pid_t;
            // SAFETY: plain kill(2) calls. The group is the child's own (it is
            // its leader, see process_group(0)) and the child is not reaped yet,
            // so neither id can have been reused.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
            let _ = child.wait();
            return Err(RunError::TimedOut {
                after: timeout,
                stdout: String::from_utf8_lossy(&read_back(&out)).into_owned(),
                stderr: String::from_utf8_lossy(&read_back(&err)).into_owned(),
            });
        }
        let waited = start.elapsed();
        std::thread::sleep(if waited < Duration::from_millis(100) {
            Duration::from_millis(2)
        } else {
            Duration::from_millis(20)
        });
    };
    Ok(Output {
        status,
        stdout: read_back(&out),
        stderr: read_back(&err),
    })
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn show_output(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// [`output_with_timeout`] with the default timeout, panicking (with the
/// command line) if the command can't start or hangs.
pub fn run_cmd(cmd: Command) -> Output {
    let what = describe(&cmd);
    match output_with_timeout(cmd, command_timeout()) {
        Ok(out) => out,
        Err(e) => panic!("`{what}`: {e}"),
    }
}

// ---------------------------------------------------------------------------
// Busybox rootfs
// ---------------------------------------------------------------------------

fn busybox_applets() -> Vec<String> {
    let out = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .unwrap_or_else(|e| panic!("running `{BUSYBOX} --list`: {e}"));
    assert!(
        out.status.success(),
        "`{BUSYBOX} --list` failed: {}",
        show_output(&out)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && !a.contains('/') && *a != "busybox")
        .map(String::from)
        .collect()
}

fn build_busybox_rootfs(dir: &Path) {
    let meta = fs::metadata(BUSYBOX).unwrap_or_else(|_| {
        panic!(
            "{BUSYBOX} is missing: the integration tests need a static busybox \
             (apt-get install busybox-static)"
        )
    });
    assert!(meta.is_file(), "{BUSYBOX} is not a regular file");
    let mkdir =
        |p: &Path| fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    let bin = dir.join("bin");
    mkdir(&bin);
    fs::copy(BUSYBOX, bin.join("busybox"))
        .unwrap_or_else(|e| panic!("copying {BUSYBOX} into {}: {e}", bin.display()));
    for applet in busybox_applets() {
        let link = bin.join(&applet);
        if fs::symlink_metadata(&link).is_err() {
            symlink("busybox", &link).unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
        }
    }
    for d in ["proc", "sys", "dev", "tmp", "etc", "root"] {
        mkdir(&dir.join(d));
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::set_permissions(dir.join("root"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    fs::write(dir.join("etc/group"), "root:x:0:\nnobody:x:65534:\n").unwrap();
}

/// Removes rootfs templates left behind by test processes that no longer exist.
fn remove_stale_templates(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("ocirun-test-rootfs-template-") else {
            continue;
        };
        if let Ok(pid) = pid.parse::<u32>() {
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

fn rootfs_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let parent = std::env::temp_dir();
        remove_stale_templates(&parent);
        let dir = parent.join(format!(
            "ocirun-test-rootfs-template-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        build_busybox_rootfs(&dir);
        dir
    })
}

/// Fills `dir` (created if missing) with a minimal busybox root filesystem:
/// `/bin/busybox` (a copy of the host's busybox-static) with a symlink in `/bin`
/// for every applet, the directories proc sys dev tmp etc root, and
/// `/etc/passwd` / `/etc/group` with root (0) and nobody (65534).
///
/// The tree is built once per test process into a template under
/// `std::env::temp_dir()` and copied (`cp -a`) from there.
pub fn busybox_rootfs(dir: &Path) {
    let template = rootfs_template();
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let mut cp = Command::new("cp");
    cp.arg("-a")
        .arg(template.join("."))
        .arg(dir)
        .stdin(Stdio::null());
    let out = run_cmd(cp);
    assert!(
        out.status.success(),
        "cp -a {} {}: {}",
        template.display(),
        dir.display(),
        show_output(&out)
    );
}

// ---------------------------------------------------------------------------
// Bundle
// ---------------------------------------------------------------------------

/// A bundle directory (`/tmp/ocirun-test-*`) with a busybox rootfs at `rootfs/`
/// and a `config.json`. The directory is removed on drop.
pub struct Bundle {
    pub dir: PathBuf,
    /// The config; call [`Bundle::write_config`] after changing it.
    pub config: Value,
}

impl Bundle {
    /// A fresh bundle whose config is the one `ocirun spec --bundle <dir>`
    /// writes (so this needs a working `spec` subcommand), with
    /// `process.terminal` false and `process.args` = `args`.
    pub fn new(args: &[&str]) -> Bundle {
        let dir = PathBuf::from(format!("{BUNDLE_PREFIX}{}", unique_id("bundle")));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        // From here on Drop cleans up, even if a step below panics.
        let mut bundle = Bundle {
            dir,
            config: Value::Null,
        };
        busybox_rootfs(&bundle.rootfs());

        let mut spec = Command::new(OCIRUN);
        spec.arg("spec")
            .arg("--bundle")
            .arg(&bundle.dir)
            .stdin(Stdio::null());
        let what = describe(&spec);
        let out = run_cmd(spec);
        assert!(
            out.status.success(),
            "`{what}` failed (Bundle::new needs the `spec` subcommand):\n{}",
            show_output(&out)
        );
        let path = bundle.config_path();
        let text = fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "`{what}` succeeded but {} is unreadable: {e}\n{}",
                path.display(),
                show_output(&out)
            )
        });
        bundle.config = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}\n{text}", path.display()));
        bundle.config["process"]["terminal"] = Value::Bool(false);
        bundle.config["process"]["args"] = args.iter().map(|a| Value::from(*a)).collect();
        bundle.write_config();
        bundle
    }

    /// The bundle directory as a `&str`, for command lines.
    pub fn path(&self) -> &str {
        self.dir.to_str().expect("bundle path is UTF-8")
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// Writes `self.config` to `config.json`.
    pub fn write_config(&self) {
        let text = serde_json::to_string_pretty(&self.config).expect("serialize config");
        fs::write(self.config_path(), text)
            .unwrap_or_else(|e| panic!("writing {}: {e}", self.config_path().display()));
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        // Never unmount anything. But if a mount is still present under the
        // bundle (a leak the test should have reported), do not recurse into it:
        // remove_dir_all would delete through a leaked bind mount into the host.
        if !mounts_under(&self.dir).is_empty() {
            eprintln!(
                "warning: not removing {}: mounts are still present under it",
                self.dir.display()
            );
            return;
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------

/// The ocirun binary with a `--root` of its own (`/run/ocirun-test/<unique>`,
/// not created in advance). On drop every container still in the root is
/// force-deleted and the root removed.
pub struct Runtime {
    pub root: PathBuf,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    pub fn new() -> Runtime {
        let _ = fs::create_dir_all(RUNTIME_ROOT_PARENT);
        let root = Path::new(RUNTIME_ROOT_PARENT).join(unique_id("root"));
        let _ = fs::remove_dir_all(&root);
        Runtime { root }
    }

    /// `ocirun --root <root> args...`, not started. Run it with [`run_cmd`]
    /// (or [`output_with_timeout`]) to keep the hard timeout.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(OCIRUN);
        c.arg("--root").arg(&self.root).args(args);
        c
    }

    /// Runs `ocirun --root <root> args...` (stdin /dev/null) with the hard
    /// timeout; panics if it hangs.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut c = self.cmd(args);
        c.stdin(Stdio::null());
        run_cmd(c)
    }

    /// Like [`Runtime::run`], asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`ocirun --root {} {}` failed:\n{}",
            self.root.display(),
            args.join(" "),
            show_output(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Like [`Runtime::run`], asserting a non-zero exit; returns stderr.
    pub fn fail(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "`ocirun --root {} {}` succeeded but should have failed:\n{}",
            self.root.display(),
            args.join(" "),
            show_output(&out)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `ocirun state <id>`, asserted successful and parsed.
    pub fn state(&self, id: &str) -> Value {
        let out = self.ok(&["state", id]);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("`ocirun state {id}` printed invalid JSON ({e}):\n{out}"))
    }

    /// Names of the entries in the root directory (empty if it doesn't exist).
    /// What the root holds besides the compiled-seccomp cache (`.seccomp`), which is
    /// kept on purpose across containers.
    pub fn root_entries(&self) -> Vec<String> {
        let mut v: Vec<String> = match fs::read_dir(&self.root) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name != ".seccomp")
                .collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Best effort, and never panic here (a panic while unwinding aborts).
        for entry in self.root_entries() {
            let path = self.root.join(&entry);
            if !path.is_dir() {
                continue;
            }
            let mut c = self.cmd(&["delete", "--force", &entry]);
            c.stdin(Stdio::null());
            match output_with_timeout(c, command_timeout()) {
                Ok(out) if !out.status.success() => eprintln!(
                    "warning: cleanup `ocirun --root {} delete --force {entry}` failed:\n{}",
                    self.root.display(),
                    show_output(&out)
                ),
                Ok(_) => {}
                Err(e) => eprintln!(
                    "warning: cleanup `ocirun --root {} delete --force {entry}`: {e}",
                    self.root.display()
                ),
            }
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

// ---------------------------------------------------------------------------
// Leak checks
// ---------------------------------------------------------------------------

/// Whether `hay` contains `needle` as a whole path: the byte after the match is
/// not one that could continue a file name made of id characters, so
/// `/tmp/ocirun-test-bundle-1-1` is not found in `/tmp/ocirun-test-bundle-1-10`.
pub fn mentions(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() || hay.len() < needle.len() {
        return false;
    }
    (0..=hay.len() - needle.len()).any(|i| {
        hay[i..].starts_with(needle)
            && hay.get(i + needle.len()).is_none_or(|&b| {
                !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'))
            })
    })
}

/// Lines of /proc/self/mountinfo that mention `dir` (as a mount point, a
/// mount root or a source).
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    info.lines()
        .filter(|l| mentions(l.as_bytes(), needle))
        .map(String::from)
        .collect()
}

/// This test process's cgroup in the v1 hierarchy of `controller` (`/` at the root), read
/// from /proc/self/cgroup: the runtime it starts inherits it.
pub fn own_cgroup(controller: &str) -> String {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap();
    cgroup_of(&text, controller).unwrap_or_else(|| "/".to_string())
}

/// The cgroup of the v1 `controller` in a /proc/<pid>/cgroup text.
pub fn cgroup_of(text: &str, controller: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let mut fields = l.splitn(3, ':');
        let controllers = fields.nth(1)?;
        let path = fields.next()?;
        controllers
            .split(',')
            .any(|c| c == controller)
            .then(|| path.to_string())
    })
}

/// The cgroup (as /proc/<pid>/cgroup names it) where the runtime puts a container with a
/// relative `cgroupsPath` `rel` (or, with `rel` = the id, an empty one) in the v1
/// hierarchy of `controller`: below the runtime's own cgroup, as runc does.
pub fn relative_cgroup(controller: &str, rel: &str) -> String {
    let own = own_cgroup(controller);
    format!("{}/{rel}", own.trim_end_matches('/'))
}

/// The host directory of `relative_cgroup(controller, rel)`.
pub fn relative_cgroup_dir(controller: &str, rel: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(relative_cgroup(controller, rel).trim_start_matches('/'))
}

/// Directories named `id` (or at `cgroups_path`, if given) anywhere in the
/// cgroup hierarchies under /sys/fs/cgroup: `<ctrl>/<id>` and `<ctrl>/**/<id>`
/// up to three levels below each controller (v1, and the v2 `unified` mount in
/// hybrid mode), and `/sys/fs/cgroup/<id>` and below for a pure v2 host.
pub fn cgroups_named(ids: &[&str], cgroups_path: Option<&str>) -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    let mut found = Vec::new();
    // depth 0 = /sys/fs/cgroup, 1 = a controller (or a v2 child), 2..=4 below it.
    fn walk(dir: &Path, depth: usize, ids: &[&str], found: &mut Vec<PathBuf>) {
        if depth > 4 {
            return;
        }
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            // file_type() does not follow symlinks: cpu -> cpu,cpuacct is
            // walked once, under its real name.
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let path = e.path();
            let name = e.file_name();
            if ids.iter().any(|id| name.as_os_str() == *id) {
                found.push(path.clone());
            }
            walk(&path, depth + 1, ids, found);
        }
    }
    walk(base, 1, ids, &mut found);
    if let Some(cp) = cgroups_path {
        let rel = cp.trim_start_matches('/');
        if !rel.is_empty() && !rel.contains(':') {
            let mut dirs = vec![base.to_path_buf()];
            if let Ok(rd) = fs::read_dir(base) {
                dirs.extend(rd.flatten().map(|e| e.path()));
            }
            for d in dirs {
                let p = d.join(rel);
                if p.is_dir() && !found.contains(&p) {
                    found.push(p);
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Processes that belong to `bundle`: root directory is the bundle's rootfs
/// (same device and inode, which also catches pivoted containers whose
/// /proc/<pid>/root reads as "/"), or that resolves into the bundle's rootfs,
/// or whose cmdline or environ mentions the bundle dir or `extra` (e.g. a
/// runtime root). Returns human-readable descriptions.
pub fn processes_of(bundle: &Path, extra: &[&Path]) -> Vec<String> {
    let me = std::process::id();
    let rootfs = bundle.join("rootfs");
    let rootfs_id = fs::metadata(&rootfs).ok().map(|m| (m.dev(), m.ino()));
    let rootfs_real = fs::canonicalize(&rootfs).unwrap_or(rootfs.clone());
    let mut needles: Vec<Vec<u8>> = vec![bundle.as_os_str().as_encoded_bytes().to_vec()];
    needles.extend(
        extra
            .iter()
            .map(|p| p.as_os_str().as_encoded_bytes().to_vec()),
    );
    let contains = |hay: &[u8]| needles.iter().any(|n| mentions(hay, n));
    let mut found = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return found;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let proc_dir = e.path();
        let cmdline = fs::read(proc_dir.join("cmdline")).unwrap_or_default();
        let shown = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let shown = shown.trim_end();
        let mut why = Vec::new();
        if let Ok(link) = fs::read_link(proc_dir.join("root")) {
            if link.starts_with(&rootfs_real) || link.starts_with(&rootfs) {
                why.push(format!("root is {}", link.display()));
            }
        }
        if let (Some(want), Ok(m)) = (rootfs_id, fs::metadata(proc_dir.join("root"))) {
            if (m.dev(), m.ino()) == want {
                why.push(format!("root is the bundle rootfs {}", rootfs.display()));
            }
        }
        if contains(&cmdline) {
            why.push("cmdline mentions the bundle/runtime root".to_string());
        }
        if let Ok(env) = fs::read(proc_dir.join("environ")) {
            if contains(&env) {
                why.push("environ mentions the bundle/runtime root".to_string());
            }
        }
        if !why.is_empty() {
            // A process that exited meanwhile is not a leak.
            if !proc_dir.exists() {
                continue;
            }
            found.push(format!("pid {pid} `{shown}`: {}", why.join("; ")));
        }
    }
    found
}

/// Asserts that nothing of the containers `ids`, run by `rt` from `bundle`,
/// outlived them: the runtime root is missing or empty; no mount mentions the
/// bundle dir; no cgroup directory named by an id (or at the config's
/// `linux.cgroupsPath`) exists under /sys/fs/cgroup; no process has the
/// bundle's rootfs as its root or mentions the bundle dir or runtime root in
/// its cmdline or environment. Only looks at what belongs to this test, so it
/// is safe while other tests run.
pub fn assert_no_leaks(rt: &Runtime, bundle: &Bundle, ids: &[&str]) {
    let entries = rt.root_entries();
    assert!(
        entries.is_empty(),
        "leak: runtime root {} still has entries: {entries:?}",
        rt.root.display()
    );

    let mounts = mounts_under(&bundle.dir);
    assert!(
        mounts.is_empty(),
        "leak: mounts under bundle {} are still present:\n{}",
        bundle.dir.display(),
        mounts.join("\n")
    );

    let cgroups_path = bundle.config["linux"]["cgroupsPath"].as_str();
    let cgroups = cgroups_named(ids, cgroups_path);
    assert!(
        cgroups.is_empty(),
        "leak: cgroup directories of containers {ids:?} still exist:\n{}",
        cgroups
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );

    let procs = processes_of(&bundle.dir, &[&rt.root]);
    assert!(
        procs.is_empty(),
        "leak: processes of bundle {} are still running:\n{}",
        bundle.dir.display(),
        procs.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Background commands, polling, container output, error checks
// ---------------------------------------------------------------------------

/// A command running in the background (its own process group, stdin
/// /dev/null), e.g. a foreground `ocirun run` the test signals or
/// kills containers under. Dropping it SIGKILLs the group if it still runs.
pub struct Background {
    child: Option<std::process::Child>,
    out: Option<fs::File>,
    err: Option<fs::File>,
    what: String,
}

impl Background {
    /// Starts `cmd` with stdout and stderr going to unlinked temporary files
    /// (read back by [`Background::wait`]).
    pub fn spawn(cmd: Command) -> Background {
        let out = anon_file();
        let err = anon_file();
        let stdout = Stdio::from(out.try_clone().expect("dup stdout file"));
        let stderr = Stdio::from(err.try_clone().expect("dup stderr file"));
        let mut bg = Background::spawn_to(cmd, stdout, stderr);
        bg.out = Some(out);
        bg.err = Some(err);
        bg
    }

    /// Starts `cmd` with the given stdout and stderr (e.g. a log file).
    pub fn spawn_to(mut cmd: Command, stdout: Stdio, stderr: Stdio) -> Background {
        cmd.stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        Background::start(cmd)
    }

    /// Spawns `cmd` as it is set up, with nothing captured.
    fn start(mut cmd: Command) -> Background {
        let what = describe(&cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("`{what}`: could not start: {e}"));
        drop(cmd);
        Background {
            child: Some(child),
            out: None,
            err: None,
            what,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("not waited yet").id()
    }

    /// The exit status if the command has finished.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .expect("not waited yet")
            .try_wait()
            .unwrap_or_else(|e| panic!("waiting for `{}`: {e}", self.what))
    }

    /// Waits (with the hard timeout) and returns the output; stdout and stderr
    /// are empty when they were not captured by [`Background::spawn`].
    /// Panics, after killing the group, if the command hangs.
    pub fn wait(mut self) -> Output {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.try_wait() {
                break status;
            }
            if start.elapsed() >= command_timeout() {
                self.kill_group();
                let stdout = self.out.as_ref().map(read_back).unwrap_or_default();
                let stderr = self.err.as_ref().map(read_back).unwrap_or_default();
                panic!(
                    "`{}`: HUNG: still running after {:?}, killed\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
                    self.what,
                    command_timeout(),
                    String::from_utf8_lossy(&stdout),
                    String::from_utf8_lossy(&stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        self.child = None;
        Output {
            status,
            stdout: self.out.as_ref().map(read_back).unwrap_or_default(),
            stderr: self.err.as_ref().map(read_back).unwrap_or_default(),
        }
    }

    fn kill_group(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let pid = child.id() as libc::pid_t;
            // SAFETY: kill(2) on our own unreaped child's process group / pid.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
            let _ = child.wait();
        }
        self.child = None;
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Polls `cond` every 10 ms until it returns true or the hard timeout
/// ([`command_timeout`]) passes; panics with `what` in the latter case. A
/// bound against hanging, not a timing assertion.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() >= command_timeout() {
            panic!("timed out after {:?} waiting for {what}", command_timeout());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Asserts `stderr` is exactly one non-empty line (a trailing newline is
/// fine) that contains every one of `words`; `context` says what ran.
pub fn assert_one_line_error(stderr: &str, words: &[&str], context: &str) {
    let trimmed = stderr.trim_end_matches('\n');
    assert!(
        !trimmed.trim().is_empty(),
        "{context}: expected an error message on stderr, got nothing"
    );
    assert_eq!(
        trimmed.lines().count(),
        1,
        "{context}: expected a one-line error, got:\n{stderr}"
    );
    for w in words {
        assert!(
            trimmed.contains(w),
            "{context}: error should mention {w:?}, got: {trimmed}"
        );
    }
}

impl Runtime {
    /// `ocirun state <id>` if it succeeds, `None` if the container does not
    /// exist (or state fails for another reason).
    pub fn try_state(&self, id: &str) -> Option<Value> {
        let out = self.run(&["state", id]);
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// Polls `ocirun state <id>` until its status is `status`; returns that
    /// state. Panics after the hard timeout.
    pub fn wait_for_status(&self, id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        let start = Instant::now();
        loop {
            if let Some(state) = self.try_state(id) {
                if state["status"] == status {
                    return state;
                }
                last = state;
            }
            if start.elapsed() >= command_timeout() {
                panic!("container {id} never reached status {status:?}; last state: {last}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `ocirun create --bundle <bundle> <id>` with the command's (and so the
    /// container's) stdout and stderr appended to the host file `log`, so the
    /// container's output can be read after `start`. Asserts that create
    /// succeeds (quoting the log otherwise).
    pub fn create_logged(&self, bundle: &Bundle, id: &str, log: &Path) {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("opening {}: {e}", log.display()));
        let out = Background::spawn_to(
            self.cmd(&["create", "--bundle", bundle.path(), id]),
            Stdio::from(file.try_clone().expect("dup log")),
            Stdio::from(file),
        )
        .wait();
        assert!(
            out.status.success(),
            "`ocirun create {id}` failed ({}); log {}:\n{}",
            out.status,
            log.display(),
            fs::read_to_string(log).unwrap_or_default()
        );
    }
}

/// `readlink /proc/self/ns/<kind>` of the test process (the host's namespace).
pub fn host_ns(kind: &str) -> String {
    let p = format!("/proc/self/ns/{kind}");
    fs::read_link(&p)
        .unwrap_or_else(|e| panic!("readlink {p}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// The value of `key` in a `Key:\tvalue` file like /proc/<pid>/status.
pub fn status_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

impl Background {
    /// Starts `cmd` with the stdin, stdout and stderr the caller set, as the
    /// leader of a new session whose controlling terminal is its stdin (which
    /// must be a terminal's slave side): what a shell does with a command typed
    /// on a terminal. Dropping it SIGKILLs its process group (the session's).
    pub fn spawn_on_terminal(mut cmd: Command) -> Background {
        // SAFETY: setsid(2) and ioctl(2) are async-signal-safe and touch no
        // memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Background::start(cmd)
    }
}
