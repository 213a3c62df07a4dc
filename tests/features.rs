//! Core features beyond the basic lifecycle, with real containers: `--no-pivot`,
//! `linux.devices`, `process.user.umask`, `domainname`, time and cgroup
//! namespaces, `--preserve-fds` and descriptor hygiene, session keyrings, rootfs
//! and mount propagation, bind mount options, `kill --all`, and the configs
//! `spec` writes.
//!
//! (`delete` of a created container and `state` of an init killed behind the
//! runtime's back are in tests/lifecycle.rs.)
//!
//! Every test ends with `assert_no_leaks`.

mod common;

use std::ffi::CString;
use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Replaces the bundle's program with `sh -c <script>` (for scripts that name
/// the bundle's own path).
fn set_script(bundle: &mut Bundle, script: &str) {
    bundle.config["process"]["args"] = json!(["sh", "-c", script]);
    bundle.write_config();
}

/// `ocirun run [extra...] --bundle <bundle> <id>`, asserted successful; its stdout.
fn run_ok(rt: &Runtime, bundle: &Bundle, id: &str, extra: &[&str]) -> String {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--bundle", bundle.path(), id]);
    rt.ok(&args)
}

/// create (output to a log in the bundle), start, wait until stopped, delete;
/// returns what the container printed and what `between`, which runs after
/// create, returned.
fn create_start_logged<T>(
    rt: &Runtime,
    bundle: &Bundle,
    id: &str,
    between: impl FnOnce() -> T,
) -> (String, T) {
    let log = bundle.dir.join(format!("{id}.log"));
    rt.create_logged(bundle, id, &log);
    let value = between();
    rt.ok(&["start", id]);
    rt.wait_for_status(id, "stopped");
    rt.ok(&["delete", id]);
    (fs::read_to_string(&log).unwrap(), value)
}

/// The values of lines `<prefix><value>`, in order.
fn prefixed(out: &str, prefix: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(String::from)
        .collect()
}

/// A mount the test makes in the host's mount namespace (under its bundle),
/// detached with everything below it on drop.
struct HostMount {
    path: PathBuf,
}

impl HostMount {
    /// `path` bind-mounted onto itself, made `shared` (a peer group of its own).
    fn shared_bind(path: &Path) -> HostMount {
        mount(
            Some(path),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
        let guard = HostMount {
            path: path.to_path_buf(),
        };
        mount(
            None::<&str>,
            path,
            None::<&str>,
            MsFlags::MS_SHARED,
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("make-shared {}: {e}", path.display()));
        guard
    }

    /// A small tmpfs at `path` holding a file `marker` with the text `marker`.
    fn tmpfs_with_marker(path: &Path) -> HostMount {
        fs::create_dir_all(path).unwrap();
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=1m"),
        )
        .unwrap_or_else(|e| panic!("tmpfs on {}: {e}", path.display()));
        let guard = HostMount {
            path: path.to_path_buf(),
        };
        fs::write(path.join("marker"), "marker").unwrap();
        guard
    }

    /// The host mount's `shared:N` peer group.
    fn peer_group(&self) -> String {
        let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mounts = parse_mountinfo(&text);
        let m = mount_at(&mounts, self.path.to_str().unwrap(), &text);
        m.tag("shared")
            .unwrap_or_else(|| panic!("the host mount is not shared: {m:?}"))
            .to_string()
    }
}

impl Drop for HostMount {
    fn drop(&mut self) {
        if let Err(e) = umount2(&self.path, MntFlags::MNT_DETACH) {
            eprintln!("warning: umount {}: {e}", self.path.display());
        }
    }
}

/// Makes `cmd`'s child have each file at the given descriptor number (not
/// close-on-exec). Returns duplicates the caller keeps open until the command
/// has been spawned.
fn give_fds(cmd: &mut Command, files: &[(&fs::File, RawFd)]) -> Vec<OwnedFd> {
    let mut keep = Vec::new();
    let mut moves = Vec::new();
    for (file, target) in files {
        // A private copy numbered above every target: dup2 in the child can
        // then never overwrite a source it still needs.
        // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor (or -1) and touches no memory.
        let high = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 200) };
        assert!(high >= 0, "F_DUPFD: {}", std::io::Error::last_os_error());
        // SAFETY: `high` was just created and is owned by nobody else.
        keep.push(unsafe { OwnedFd::from_raw_fd(high) });
        moves.push((high, *target));
    }
    // SAFETY: the closure only calls dup2, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            for (from, to) in &moves {
                if libc::dup2(*from, *to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    keep
}

/// A file in the bundle dir holding `text`, opened for reading.
fn text_file(bundle: &Bundle, name: &str, text: &str) -> fs::File {
    let path = bundle.dir.join(name);
    fs::write(&path, text).unwrap();
    fs::File::open(&path).unwrap()
}

/// The open descriptor numbers of `pid`, sorted.
fn fds_of(pid: i64) -> Vec<i32> {
    let mut fds: Vec<i32> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/fd: {e}"))
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort();
    fds
}

/// Waits until `pid` runs busybox (the program was exec'd), then returns its
/// descriptors with what they point to.
fn program_fds(pid: i64) -> Vec<(i32, String)> {
    wait_until(&format!("{pid} to exec busybox"), || {
        fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == Path::new("/bin/busybox"))
    });
    fds_of(pid)
        .into_iter()
        .map(|fd| {
            let target = fs::read_link(format!("/proc/{pid}/fd/{fd}"))
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            (fd, target)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// --no-pivot
// ---------------------------------------------------------------------------

/// The checks of what a --no-pivot container printed (see `no_pivot_script`).
fn check_rootfs_is_root(bundle: &Bundle, out: &str) {
    let p = pairs(out);
    assert_eq!(get(&p, "busybox", out), "yes", "{out}");
    assert_eq!(
        get(&p, "bundle", out),
        "hidden",
        "the bundle's host path is visible in the container:\n{out}"
    );
    let mounts = parse_mountinfo(out);
    let at_root: Vec<&MountInfo> = mounts.iter().filter(|m| m.mount_point == "/").collect();
    assert_eq!(at_root.len(), 1, "exactly one mount at /:\n{out}");
    let rootfs = fs::canonicalize(bundle.rootfs()).unwrap();
    let name = rootfs.strip_prefix(rootfs.parent().unwrap().parent().unwrap());
    let tail = format!("/{}", name.unwrap().display());
    assert!(
        at_root[0].root.ends_with(&tail),
        "the mount at / is the bundle's rootfs (root ending in {tail}): {:?}",
        at_root[0]
    );
    // Nothing of the host's tree is mounted in the container.
    let host: Vec<&MountInfo> = mounts
        .iter()
        .filter(|m| m.mount_point.starts_with("/tmp/") || m.mount_point.starts_with("/run/"))
        .collect();
    assert!(host.is_empty(), "host mounts are visible: {host:?}");
}

fn no_pivot_script(bundle: &Bundle) -> String {
    format!(
        "test -x /bin/busybox && echo busybox=yes || echo busybox=no; \
         test -e {b} && echo bundle=visible || echo bundle=hidden; \
         cat /proc/self/mountinfo",
        b = bundle.path()
    )
}

#[test]
fn no_pivot_run_and_create_see_the_rootfs_as_root() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle("true");
    let script = no_pivot_script(&bundle);
    set_script(&mut bundle, &script);

    let id = unique_id("no-pivot-run");
    let out = run_ok(&rt, &bundle, &id, &["--no-pivot"]);
    check_rootfs_is_root(&bundle, &out);

    let id2 = unique_id("no-pivot-create");
    let log = bundle.dir.join("create.log");
    let file = fs::File::create(&log).unwrap();
    let created = Background::spawn_to(
        rt.cmd(&["create", "--no-pivot", "--bundle", bundle.path(), &id2]),
        Stdio::from(file.try_clone().unwrap()),
        Stdio::from(file),
    )
    .wait();
    assert!(
        created.status.success(),
        "create --no-pivot failed: {}",
        fs::read_to_string(&log).unwrap()
    );
    rt.ok(&["start", &id2]);
    rt.wait_for_status(&id2, "stopped");
    rt.ok(&["delete", &id2]);
    check_rootfs_is_root(&bundle, &fs::read_to_string(&log).unwrap());
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

// ---------------------------------------------------------------------------
// linux.devices, umask, domainname
// ---------------------------------------------------------------------------

#[test]
fn custom_devices_have_their_type_numbers_mode_and_owner() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "echo mydev=$(stat -c '%F %t %T %a %u %g' /dev/mydev); \
         echo nested=$(stat -c '%F %t %T %a %u %g' /dev/sub/dir/myzero); \
         echo fifo=$(stat -c '%F %a %u %g' /dev/myfifo); \
         echo x > /dev/sub/dir/myzero && echo nested-write=ok; \
         echo zero-bytes=$(head -c 4 /dev/sub/dir/myzero | wc -c)",
    );
    bundle.config["linux"]["devices"] = json!([
        { "path": "/dev/mydev", "type": "c", "major": 1, "minor": 3,
          "fileMode": 0o600, "uid": 1, "gid": 2 },
        { "path": "/dev/sub/dir/myzero", "type": "c", "major": 1, "minor": 5,
          "fileMode": 0o640, "uid": 0, "gid": 0 },
        { "path": "/dev/myfifo", "type": "p", "major": 0, "minor": 0,
          "fileMode": 0o620, "uid": 3, "gid": 4 },
    ]);
    bundle.write_config();
    let id = unique_id("devices");
    let out = run_ok(&rt, &bundle, &id, &[]);
    let p = pairs(&out);
    // busybox stat prints the major and minor in hex.
    assert_eq!(get(&p, "mydev", &out), "character special file 1 3 600 1 2");
    assert_eq!(
        get(&p, "nested", &out),
        "character special file 1 5 640 0 0"
    );
    assert_eq!(get(&p, "fifo", &out), "fifo 620 3 4");
    assert_eq!(get(&p, "nested-write", &out), "ok", "root owns it");
    assert_eq!(get(&p, "zero-bytes", &out), "4", "1:5 is /dev/zero");
    // The nodes went into the container's /dev tmpfs, not into the bundle.
    for node in ["dev/mydev", "dev/sub", "dev/myfifo"] {
        assert!(
            fs::symlink_metadata(bundle.rootfs().join(node)).is_err(),
            "{node} was created in the bundle's rootfs on the host"
        );
    }
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn umask_applies_to_the_process() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "echo umask=$(umask); touch /dev/shm/f; mkdir /dev/shm/d; \
         echo file=$(stat -c %A /dev/shm/f); echo dir=$(stat -c %A /dev/shm/d)",
    );
    let mut ids = Vec::new();
    for (umask, printed, file, dir) in [
        (0o077, "0077", "-rw-------", "drwx------"),
        (0o027, "0027", "-rw-r-----", "drwxr-x---"),
    ] {
        bundle.config["process"]["user"]["umask"] = json!(umask);
        bundle.write_config();
        let id = unique_id("umask");
        let out = run_ok(&rt, &bundle, &id, &[]);
        let p = pairs(&out);
        assert_eq!(get(&p, "umask", &out), printed);
        assert_eq!(get(&p, "file", &out), file, "{out}");
        assert_eq!(get(&p, "dir", &out), dir, "{out}");
        ids.push(id);
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_leaks(&rt, &bundle, &ids);
}

#[test]
fn default_umask_is_0022_whatever_the_callers_umask() {
    let rt = Runtime::new();
    let bundle = sh_bundle("echo umask=$(umask)");
    let id = unique_id("umask-default");
    let mut cmd = rt.cmd(&["run", "--bundle", bundle.path(), &id]);
    cmd.stdin(Stdio::null());
    // SAFETY: umask(2) is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o007);
            Ok(())
        });
    }
    let out = run_cmd(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let p = pairs(&stdout);
    assert_eq!(
        get(&p, "umask", &stdout),
        "0022",
        "runc 1.1.5 sets umask 0022 when process.user.umask is unset"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn domainname_is_set_in_the_uts_namespace() {
    let host_before = fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "echo domainname=$(cat /proc/sys/kernel/domainname); \
         echo hostname=$(hostname); echo uts=$(readlink /proc/self/ns/uts)",
    );
    bundle.config["domainname"] = json!("containers.example");
    bundle.config["hostname"] = json!("box");
    bundle.write_config();
    let id = unique_id("domainname");
    let out = run_ok(&rt, &bundle, &id, &[]);
    let p = pairs(&out);
    assert_eq!(get(&p, "domainname", &out), "containers.example");
    assert_eq!(get(&p, "hostname", &out), "box");
    assert_ne!(get(&p, "uts", &out), host_ns("uts"));
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/domainname").unwrap(),
        host_before,
        "the host's domainname changed"
    );

    // Without a uts namespace of its own, a domainname is refused.
    bundle.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "uts");
    bundle.config["hostname"] = json!("");
    bundle.write_config();
    let id2 = unique_id("domainname-no-uts");
    let err = rt.fail(&["run", "--bundle", bundle.path(), &id2]);
    assert_one_line_error(&err, &["domainname"], "domainname without a uts namespace");
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

// ---------------------------------------------------------------------------
// Time and cgroup namespaces
// ---------------------------------------------------------------------------

/// /proc/uptime's first field in hundredths of a second.
fn uptime_centis(text: &str) -> u64 {
    let first = text.split_whitespace().next().unwrap_or_default();
    let (secs, frac) = first.split_once('.').unwrap_or((first, "0"));
    secs.parse::<u64>().unwrap() * 100 + format!("{frac:0<2}")[..2].parse::<u64>().unwrap()
}

#[test]
fn time_namespace_with_offsets() {
    const BOOT_OFFSET: u64 = 86_400 * 3;
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "echo uptime=$(cat /proc/uptime); echo timens=$(readlink /proc/self/ns/time); \
         cat /proc/self/timens_offsets | sed 's/^/offset:/'",
    );
    bundle.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "type": "time" }));
    bundle.config["linux"]["timeOffsets"] = json!({
        "monotonic": { "secs": 1000, "nanosecs": 500_000_000 },
        "boottime": { "secs": BOOT_OFFSET },
    });
    bundle.write_config();
    let id = unique_id("timens");
    let before = uptime_centis(&fs::read_to_string("/proc/uptime").unwrap());
    let out = run_ok(&rt, &bundle, &id, &[]);
    let after = uptime_centis(&fs::read_to_string("/proc/uptime").unwrap());
    let p = pairs(&out);
    let inside = uptime_centis(get(&p, "uptime", &out));
    // The container read its uptime between our two reads, shifted by the offset.
    assert!(
        before + BOOT_OFFSET * 100 <= inside && inside <= after + BOOT_OFFSET * 100,
        "uptime inside {inside} should be the host's ({before}..{after}) + {BOOT_OFFSET} s:\n{out}"
    );
    assert_ne!(get(&p, "timens", &out), host_ns("time"));
    let offsets: Vec<Vec<String>> = prefixed(&out, "offset:")
        .iter()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    assert!(
        offsets.contains(&vec!["monotonic".into(), "1000".into(), "500000000".into()]),
        "{out}"
    );
    assert!(
        offsets.contains(&vec![
            "boottime".into(),
            BOOT_OFFSET.to_string(),
            "0".into()
        ]),
        "{out}"
    );

    // Offsets without a time namespace are refused, naming the field.
    bundle.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "time");
    bundle.write_config();
    let id2 = unique_id("timens-missing");
    let err = rt.fail(&["run", "--bundle", bundle.path(), &id2]);
    assert_one_line_error(
        &err,
        &["linux.timeOffsets"],
        "timeOffsets without a time namespace",
    );
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

const CGROUP_SCRIPT: &str = "echo cgroupns=$(readlink /proc/self/ns/cgroup); \
     sed 's/^/cgroup:/' /proc/self/cgroup; \
     ls /sys/fs/cgroup | sed 's/^/hierarchy:/'; \
     ls /sys/fs/cgroup/pids | sed 's/^/pids-entry:/'; \
     sed 's/^/pids-proc:/' /sys/fs/cgroup/pids/cgroup.procs; \
     cat /proc/self/mountinfo";

/// Runs `CGROUP_SCRIPT` in a container whose pids cgroup gets a marker child
/// directory (made on the host between create and start), so the container can
/// show whose cgroup it sees.
fn run_cgroup_script(rt: &Runtime, bundle: &Bundle, id: &str) -> String {
    let marker = relative_cgroup_dir("pids", id).join("ocirun-test-marker");
    let log = bundle.dir.join(format!("{id}.log"));
    rt.create_logged(bundle, id, &log);
    fs::create_dir(&marker).unwrap_or_else(|e| panic!("mkdir {}: {e}", marker.display()));
    rt.ok(&["start", id]);
    rt.wait_for_status(id, "stopped");
    fs::remove_dir(&marker).unwrap();
    rt.ok(&["delete", id]);
    fs::read_to_string(&log).unwrap()
}

/// What both cgroup tests expect of /sys/fs/cgroup/pids in the container: it is
/// the container's own directory (with the host's marker and pids.max, which a
/// root cgroup lacks) and lists the container's processes.
fn check_own_pids_cgroup(out: &str) {
    let entries = prefixed(out, "pids-entry:");
    assert!(
        entries.iter().any(|e| e == "ocirun-test-marker"),
        "/sys/fs/cgroup/pids is not the container's cgroup (no marker): {entries:?}\n{out}"
    );
    assert!(
        entries.iter().any(|e| e == "pids.max") && !entries.iter().any(|e| e == "release_agent"),
        "/sys/fs/cgroup/pids looks like a root cgroup: {entries:?}"
    );
    let procs = prefixed(out, "pids-proc:");
    assert!(
        procs.iter().any(|p| p == "1"),
        "cgroup.procs lacks the container's pid 1: {procs:?}\n{out}"
    );
    let hierarchies = prefixed(out, "hierarchy:");
    for h in ["memory", "pids", "unified"] {
        assert!(
            hierarchies.iter().any(|x| x == h),
            "/sys/fs/cgroup lacks {h}: {hierarchies:?}"
        );
    }
}

#[test]
fn cgroup_namespace_roots_the_container_at_its_cgroup() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(CGROUP_SCRIPT);
    bundle.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "type": "cgroup" }));
    bundle.write_config();
    let id = unique_id("cgroupns");
    let out = run_cgroup_script(&rt, &bundle, &id);
    let p = pairs(&out);
    assert_ne!(get(&p, "cgroupns", &out), host_ns("cgroup"));
    let cgroups = prefixed(&out, "cgroup:");
    assert!(!cgroups.is_empty(), "{out}");
    for line in &cgroups {
        assert!(
            line.ends_with(":/"),
            "in a cgroup namespace every path is /: {line}\n{out}"
        );
    }
    check_own_pids_cgroup(&out);
    let mounts = parse_mountinfo(&out);
    let pids = mount_at(&mounts, "/sys/fs/cgroup/pids", &out);
    assert_eq!(pids.fs_type, "cgroup", "{pids:?}");
    assert_eq!(pids.root, "/", "{pids:?}");
    assert!(pids.mount_options.iter().any(|o| o == "ro"), "{pids:?}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn without_a_cgroup_namespace_the_cgroup_mount_is_the_containers_subtree() {
    let rt = Runtime::new();
    let bundle = sh_bundle(CGROUP_SCRIPT);
    let id = unique_id("no-cgroupns");
    let out = run_cgroup_script(&rt, &bundle, &id);
    let p = pairs(&out);
    assert_eq!(get(&p, "cgroupns", &out), host_ns("cgroup"));
    let cgroups = prefixed(&out, "cgroup:");
    assert!(
        cgroups.iter().any(|l| l.ends_with(&format!(":pids:/{id}"))),
        "{out}"
    );
    check_own_pids_cgroup(&out);
    let mounts = parse_mountinfo(&out);
    let pids = mount_at(&mounts, "/sys/fs/cgroup/pids", &out);
    assert_eq!(
        pids.root,
        format!("/{id}"),
        "a bind of the container's dir: {pids:?}"
    );
    // Every bind takes the mount's flags, not only the tmpfs above them.
    for hierarchy in ["pids", "memory", "unified"] {
        let mount = mount_at(&mounts, &format!("/sys/fs/cgroup/{hierarchy}"), &out);
        for flag in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(
                mount.mount_options.iter().any(|o| o == flag),
                "{hierarchy} lacks {flag}: {mount:?}"
            );
        }
    }
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// Descriptors: --preserve-fds, and nothing of the runtime's leaks in
// ---------------------------------------------------------------------------

const FD_SCRIPT: &str = "ls /proc/self/fd | sed 's/^/fd:/'; \
     echo three=$(cat <&3 2>/dev/null || echo closed); \
     echo four=$(cat <&4 2>/dev/null || echo closed); \
     echo five=$(cat <&5 2>/dev/null || echo closed)";

/// The fd numbers `ls /proc/self/fd` printed.
fn listed_fds(out: &str) -> Vec<i32> {
    let mut fds: Vec<i32> = prefixed(out, "fd:")
        .iter()
        .map(|f| f.parse().unwrap())
        .collect();
    fds.sort();
    fds
}

#[test]
fn preserve_fds_passes_exactly_n_extra_descriptors() {
    let rt = Runtime::new();
    let bundle = sh_bundle(FD_SCRIPT);
    let f3 = text_file(&bundle, "three.txt", "content-of-three");
    let f4 = text_file(&bundle, "four.txt", "content-of-four");
    let f5 = text_file(&bundle, "five.txt", "content-of-five");

    // run: fds 3 and 4 preserved, 5 (open in the caller too) not.
    let id = unique_id("preserve-run");
    let mut cmd = rt.cmd(&["run", "--preserve-fds", "2", "--bundle", bundle.path(), &id]);
    cmd.stdin(Stdio::null());
    let keep = give_fds(&mut cmd, &[(&f3, 3), (&f4, 4), (&f5, 5)]);
    let out = run_cmd(cmd);
    drop(keep);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    let p = pairs(&stdout);
    assert_eq!(get(&p, "three", &stdout), "content-of-three");
    assert_eq!(get(&p, "four", &stdout), "content-of-four");
    assert_eq!(
        get(&p, "five", &stdout),
        "closed",
        "fd 5 was not to be passed"
    );
    // 0-2, the two preserved ones, and the directory ls is reading (5).
    assert_eq!(listed_fds(&stdout), [0, 1, 2, 3, 4, 5], "{stdout}");

    // create keeps them in the waiting init; start (from a process without
    // them) hands them to the program. (Fresh files: the run above read to
    // the end of these.)
    let f3 = text_file(&bundle, "three.txt", "content-of-three");
    let f4 = text_file(&bundle, "four.txt", "content-of-four");
    let f5 = text_file(&bundle, "five.txt", "content-of-five");
    let id2 = unique_id("preserve-create");
    let log = bundle.dir.join("create.log");
    let logf = fs::File::create(&log).unwrap();
    let mut cmd = rt.cmd(&[
        "create",
        "--preserve-fds",
        "2",
        "--bundle",
        bundle.path(),
        &id2,
    ]);
    let keep = give_fds(&mut cmd, &[(&f3, 3), (&f4, 4), (&f5, 5)]);
    let created = Background::spawn_to(
        cmd,
        Stdio::from(logf.try_clone().unwrap()),
        Stdio::from(logf),
    )
    .wait();
    drop(keep);
    assert!(
        created.status.success(),
        "{}",
        fs::read_to_string(&log).unwrap()
    );
    rt.ok(&["start", &id2]);
    rt.wait_for_status(&id2, "stopped");
    rt.ok(&["delete", &id2]);
    let out = fs::read_to_string(&log).unwrap();
    let p = pairs(&out);
    assert_eq!(get(&p, "three", &out), "content-of-three");
    assert_eq!(get(&p, "four", &out), "content-of-four");
    assert_eq!(get(&p, "five", &out), "closed");
    assert_eq!(listed_fds(&out), [0, 1, 2, 3, 4, 5], "{out}");
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

#[test]
fn without_preserve_fds_the_container_gets_only_stdio() {
    let rt = Runtime::new();
    let bundle = sh_bundle(FD_SCRIPT);
    let f3 = text_file(&bundle, "three.txt", "content-of-three");
    let f4 = text_file(&bundle, "four.txt", "content-of-four");
    let id = unique_id("no-preserve");
    let log = bundle.dir.join("ocirun.log");
    let mut cmd = rt.cmd(&[
        "--log",
        log.to_str().unwrap(),
        "run",
        "--bundle",
        bundle.path(),
        &id,
    ]);
    cmd.stdin(Stdio::null());
    let keep = give_fds(&mut cmd, &[(&f3, 3), (&f4, 4)]);
    let out = run_cmd(cmd);
    drop(keep);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    let p = pairs(&stdout);
    assert_eq!(get(&p, "three", &stdout), "closed");
    assert_eq!(get(&p, "four", &stdout), "closed");
    // 0-2 and ls's own directory descriptor (3): nothing else.
    assert_eq!(listed_fds(&stdout), [0, 1, 2, 3], "{stdout}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn the_program_has_no_descriptor_of_the_runtime() {
    // Checked from the host on the running program: /proc/<pid>/fd is exactly
    // 0, 1, 2 however the container was started, even with --log and with
    // descriptors the caller left open.
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let stray = text_file(&bundle, "stray.txt", "stray");
    let log = bundle.dir.join("ocirun.log");
    let log = log.to_str().unwrap();
    let mut ids = Vec::new();
    for how in ["run -d", "create+start", "foreground run"] {
        let id = unique_id("fd-hygiene");
        let mut foreground = None;
        match how {
            "run -d" => {
                let mut cmd = rt.cmd(&["--log", log, "run", "-d", "--bundle", bundle.path(), &id]);
                cmd.stdin(Stdio::null());
                let keep = give_fds(&mut cmd, &[(&stray, 3), (&stray, 7)]);
                let out = run_cmd(cmd);
                drop(keep);
                assert!(out.status.success(), "{out:?}");
            }
            "create+start" => {
                let mut cmd = rt.cmd(&["--log", log, "create", "--bundle", bundle.path(), &id]);
                cmd.stdin(Stdio::null());
                let keep = give_fds(&mut cmd, &[(&stray, 3), (&stray, 7)]);
                let out = run_cmd(cmd);
                drop(keep);
                assert!(out.status.success(), "{out:?}");
                rt.ok(&["--log", log, "start", &id]);
            }
            _ => {
                let mut cmd = rt.cmd(&["--log", log, "run", "--bundle", bundle.path(), &id]);
                let keep = give_fds(&mut cmd, &[(&stray, 3), (&stray, 7)]);
                foreground = Some(Background::spawn(cmd));
                drop(keep);
                rt.wait_for_status(&id, "running");
            }
        }
        let pid = pid_of(&rt.state(&id));
        let fds = program_fds(pid);
        assert_eq!(
            fds.iter().map(|(fd, _)| *fd).collect::<Vec<_>>(),
            [0, 1, 2],
            "{how}: the program has descriptors besides stdio: {fds:?}"
        );
        assert_eq!(fds[0].1, "/dev/null", "{how}: stdin {fds:?}");
        rt.ok(&["kill", &id, "KILL"]);
        match foreground {
            Some(bg) => {
                let out = bg.wait();
                assert_eq!(out.status.code(), Some(137), "{out:?}");
            }
            None => {
                rt.wait_for_status(&id, "stopped");
                rt.ok(&["delete", &id]);
            }
        }
        ids.push(id);
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_leaks(&rt, &bundle, &ids);
}

// ---------------------------------------------------------------------------
// Session keyring
// ---------------------------------------------------------------------------

/// `ocirun run` whose own session keyring is a new one named `name` that only
/// its possessors can see (perm 0x3f000000): /proc/keys in the container lists
/// it if and only if the container still has that session keyring.
fn run_with_named_session_keyring(
    rt: &Runtime,
    bundle: &Bundle,
    id: &str,
    name: &str,
    extra: &[&str],
) -> String {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--bundle", bundle.path(), id]);
    let mut cmd = rt.cmd(&args);
    cmd.stdin(Stdio::null());
    let name = CString::new(name).unwrap();
    // SAFETY: the closure only makes keyctl(2) system calls.
    unsafe {
        cmd.pre_exec(move || {
            const JOIN_SESSION_KEYRING: libc::c_long = 1;
            const SETPERM: libc::c_long = 5;
            let serial = libc::syscall(libc::SYS_keyctl, JOIN_SESSION_KEYRING, name.as_ptr());
            if serial < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(libc::SYS_keyctl, SETPERM, serial, 0x3f00_0000u32) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run_cmd(cmd);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The descriptions (last column) of /proc/keys lines.
fn key_descriptions(out: &str) -> Vec<String> {
    prefixed(out, "key:")
        .iter()
        .filter_map(|l| l.split_whitespace().nth(8))
        .map(|d| d.trim_end_matches(':').to_string())
        .collect()
}

#[test]
fn a_new_session_keyring_unless_no_new_keyring() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle("sed 's/^/key:/' /proc/keys");
    bundle.config["linux"]["maskedPaths"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p != "/proc/keys");
    bundle.write_config();

    let id = unique_id("keyring-new");
    let name = format!("ocirun-test-{id}");
    let out = run_with_named_session_keyring(&rt, &bundle, &id, &name, &[]);
    let keys = key_descriptions(&out);
    assert!(
        !keys.contains(&name),
        "the container still has the caller's session keyring {name}:\n{out}"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("_ses")),
        "no session keyring of the container's own:\n{out}"
    );

    let id2 = unique_id("keyring-inherited");
    let name2 = format!("ocirun-test-{id2}");
    let out = run_with_named_session_keyring(&rt, &bundle, &id2, &name2, &["--no-new-keyring"]);
    assert!(
        key_descriptions(&out).contains(&name2),
        "with --no-new-keyring the container keeps the caller's session keyring {name2}:\n{out}"
    );
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

// ---------------------------------------------------------------------------
// Propagation
// ---------------------------------------------------------------------------

/// With the bundle's rootfs a shared mount on the host (peer group N): slave
/// propagation makes the container's root `master:N` and a mount the host makes
/// under the rootfs after create shows up inside; private makes it neither.
#[test]
fn rootfs_propagation_private_and_slave() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle("cat /proc/self/mountinfo; ls /from-host | sed 's/^/from-host:/'");
    fs::create_dir(bundle.rootfs().join("from-host")).unwrap();
    let mut ids = Vec::new();
    for propagation in ["private", "rprivate", "slave", "rslave"] {
        bundle.config["linux"]["rootfsPropagation"] = json!(propagation);
        bundle.write_config();
        let host_bind = HostMount::shared_bind(&bundle.rootfs());
        let group = host_bind.peer_group();
        let id = unique_id(&format!("rootfs-{propagation}"));
        let log = bundle.dir.join(format!("{id}.log"));
        rt.create_logged(&bundle, &id, &log);
        let host_tmpfs = HostMount::tmpfs_with_marker(&bundle.rootfs().join("from-host"));
        // The container's mounts never reach the host: only our two are there.
        let host_mounts = mounts_under(&bundle.dir);
        assert_eq!(host_mounts.len(), 2, "{propagation}: {host_mounts:#?}");
        rt.ok(&["start", &id]);
        rt.wait_for_status(&id, "stopped");
        rt.ok(&["delete", &id]);
        drop(host_tmpfs);
        drop(host_bind);
        let out = fs::read_to_string(&log).unwrap();
        let mounts = parse_mountinfo(&out);
        let root = mount_at(&mounts, "/", &out);
        let seen_from_host = prefixed(&out, "from-host:");
        if propagation.ends_with("slave") {
            assert_eq!(
                root.tag("master"),
                Some(group.as_str()),
                "{propagation}: the root is a slave of the host's peer group {group}: {root:?}"
            );
            assert_eq!(root.tag("shared"), None, "{root:?}");
            assert_eq!(
                seen_from_host,
                ["marker"],
                "{propagation}: the host's mount should propagate in:\n{out}"
            );
        } else {
            assert!(
                root.optional.is_empty(),
                "{propagation}: the root mount is private: {root:?}"
            );
            assert!(
                seen_from_host.is_empty(),
                "{propagation}: the host's mount propagated in:\n{out}"
            );
        }
        ids.push(id);
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_leaks(&rt, &bundle, &ids);
}

#[test]
fn rootfs_propagation_shared() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle("cat /proc/self/mountinfo");
    bundle.config["linux"]["rootfsPropagation"] = json!("shared");
    bundle.write_config();
    let id = unique_id("rootfs-shared");
    let out = rt.run(&["run", "--bundle", bundle.path(), &id]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "rootfsPropagation shared: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mounts = parse_mountinfo(&stdout);
    let root = mount_at(&mounts, "/", &stdout);
    assert!(
        root.tag("shared").is_some(),
        "the rootfs mount belongs to a peer group: {root:?}"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn invalid_rootfs_propagation_is_a_one_line_error() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle("true");
    bundle.config["linux"]["rootfsPropagation"] = json!("sideways");
    bundle.write_config();
    let id = unique_id("rootfs-bad-propagation");
    for command in ["create", "run"] {
        let err = rt.fail(&[command, "--bundle", bundle.path(), &id]);
        assert_one_line_error(
            &err,
            &["linux.rootfsPropagation", "sideways"],
            &format!("{command} with rootfsPropagation sideways"),
        );
        assert!(rt.try_state(&id).is_none());
    }
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn bind_mount_propagation_options() {
    // A shared host directory bound three times: by default and with rslave the
    // container's bind is a slave of the host's peer group and sees a mount the
    // host makes afterwards; with rprivate it is private and does not.
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "cat /proc/self/mountinfo; \
         for d in default rprivate rslave; do echo $d=$(cat /$d/sub/marker 2>/dev/null || echo none); done",
    );
    let source = bundle.dir.join("shared-source");
    fs::create_dir_all(source.join("sub")).unwrap();
    let src = source.to_str().unwrap();
    let mounts = bundle.config["mounts"].as_array_mut().unwrap();
    mounts.push(
        json!({ "destination": "/default", "type": "bind", "source": src, "options": ["rbind"] }),
    );
    mounts.push(json!({ "destination": "/rprivate", "type": "bind", "source": src, "options": ["rbind", "rprivate"] }));
    mounts.push(json!({ "destination": "/rslave", "type": "bind", "source": src, "options": ["rbind", "rslave"] }));
    bundle.write_config();
    let host_bind = HostMount::shared_bind(&source);
    let group = host_bind.peer_group();
    let id = unique_id("bind-propagation");
    // After create, the host mounts below the shared source.
    let (out, tmpfs) = create_start_logged(&rt, &bundle, &id, || {
        HostMount::tmpfs_with_marker(&source.join("sub"))
    });
    drop(tmpfs);
    drop(host_bind);
    let p = pairs(&out);
    assert_eq!(get(&p, "default", &out), "marker", "{out}");
    assert_eq!(get(&p, "rslave", &out), "marker", "{out}");
    assert_eq!(get(&p, "rprivate", &out), "none", "{out}");
    let parsed = parse_mountinfo(&out);
    for (dest, master) in [("/default", true), ("/rslave", true), ("/rprivate", false)] {
        let m = mount_at(&parsed, dest, &out);
        if master {
            assert_eq!(m.tag("master"), Some(group.as_str()), "{dest}: {m:?}");
        } else {
            assert!(m.optional.is_empty(), "{dest} should be private: {m:?}");
        }
        assert_eq!(m.tag("shared"), None, "{dest}: {m:?}");
    }
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// Bind mounts: recursion, single files
// ---------------------------------------------------------------------------

#[test]
fn rbind_carries_submounts_and_bind_does_not() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "echo rbind=$(cat /r/sub/marker 2>/dev/null || echo none); \
         echo bind=$(cat /b/sub/marker 2>/dev/null || echo none); \
         echo rbind-ro=$(cat /rro/sub/marker 2>/dev/null || echo none); \
         (touch /rro/new) 2>/dev/null && echo rro-write=ok || echo rro-write=refused; \
         echo top=$(cat /b/top.txt)",
    );
    let source = bundle.dir.join("tree");
    fs::create_dir_all(source.join("sub")).unwrap();
    fs::write(source.join("top.txt"), "top-level file").unwrap();
    let src = source.to_str().unwrap();
    let mounts = bundle.config["mounts"].as_array_mut().unwrap();
    mounts
        .push(json!({ "destination": "/r", "type": "bind", "source": src, "options": ["rbind"] }));
    mounts.push(json!({ "destination": "/b", "type": "bind", "source": src, "options": ["bind"] }));
    mounts.push(
        json!({ "destination": "/rro", "type": "bind", "source": src, "options": ["rbind", "ro"] }),
    );
    bundle.write_config();
    let submount = HostMount::tmpfs_with_marker(&source.join("sub"));
    let id = unique_id("rbind");
    let out = run_ok(&rt, &bundle, &id, &[]);
    drop(submount);
    let p = pairs(&out);
    assert_eq!(
        get(&p, "rbind", &out),
        "marker",
        "rbind includes the submount"
    );
    assert_eq!(get(&p, "rbind-ro", &out), "marker");
    assert_eq!(get(&p, "bind", &out), "none", "bind is not recursive");
    assert_eq!(get(&p, "top", &out), "top-level file");
    assert_eq!(get(&p, "rro-write", &out), "refused");
    assert!(!source.join("new").exists());
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn bind_mounts_of_single_files() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "echo ro-type=$(stat -c %F /etc/app.conf); echo ro-content=$(cat /etc/app.conf); \
         (echo x >> /etc/app.conf) 2>/dev/null && echo ro-write=ok || echo ro-write=refused; \
         echo rw-type=$(stat -c %F /data/out.txt); echo from-container >> /data/out.txt && echo rw-write=ok; \
         echo passwd=$(grep -c alice /etc/passwd); \
         echo rel=$(cat /relative.txt)",
    );
    fs::write(bundle.dir.join("app.conf"), "setting=1").unwrap();
    fs::write(bundle.dir.join("out.txt"), "from-host\n").unwrap();
    fs::write(
        bundle.dir.join("passwd"),
        "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n",
    )
    .unwrap();
    fs::write(bundle.dir.join("relative.txt"), "relative source").unwrap();
    let d = bundle.dir.clone();
    let mounts = bundle.config["mounts"].as_array_mut().unwrap();
    mounts.push(json!({ "destination": "/etc/app.conf", "type": "bind",
        "source": d.join("app.conf"), "options": ["bind", "ro"] }));
    mounts.push(json!({ "destination": "/data/out.txt", "type": "bind",
        "source": d.join("out.txt"), "options": ["rbind", "rw"] }));
    // Over a file the rootfs already has.
    mounts.push(json!({ "destination": "/etc/passwd", "type": "bind",
        "source": d.join("passwd"), "options": ["bind", "ro"] }));
    // A relative source is relative to the bundle, as in runc.
    mounts.push(json!({ "destination": "/relative.txt", "type": "bind",
        "source": "relative.txt", "options": ["bind", "ro"] }));
    bundle.write_config();
    let rootfs_passwd = fs::read_to_string(bundle.rootfs().join("etc/passwd")).unwrap();
    let id = unique_id("file-bind");
    let out = run_ok(&rt, &bundle, &id, &[]);
    let p = pairs(&out);
    assert_eq!(get(&p, "ro-type", &out), "regular file");
    assert_eq!(get(&p, "ro-content", &out), "setting=1");
    assert_eq!(get(&p, "ro-write", &out), "refused");
    assert_eq!(get(&p, "rw-type", &out), "regular file");
    assert_eq!(get(&p, "rw-write", &out), "ok");
    assert_eq!(get(&p, "passwd", &out), "1", "the bound passwd is visible");
    assert_eq!(get(&p, "rel", &out), "relative source");
    assert_eq!(
        fs::read_to_string(bundle.dir.join("out.txt")).unwrap(),
        "from-host\nfrom-container\n"
    );
    assert_eq!(
        fs::read_to_string(bundle.dir.join("app.conf")).unwrap(),
        "setting=1"
    );
    // The mount points are empty files in the rootfs; the rootfs's own passwd is untouched.
    assert_eq!(fs::read(bundle.rootfs().join("etc/app.conf")).unwrap(), b"");
    assert!(bundle.rootfs().join("data/out.txt").is_file());
    assert_eq!(
        fs::read_to_string(bundle.rootfs().join("etc/passwd")).unwrap(),
        rootfs_passwd
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// kill --all
// ---------------------------------------------------------------------------

fn cgroup_procs(id: &str) -> Vec<i32> {
    let path = relative_cgroup_dir("pids", id).join("cgroup.procs");
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[test]
fn kill_all_signals_every_process_of_the_container() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle("sleep 1000 & sleep 1000 & wait");
    bundle.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
    bundle.write_config();
    let id = unique_id("kill-all");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let init = pid_of(&rt.state(&id)) as i32;
    wait_until("the shell and both sleeps in the cgroup", || {
        cgroup_procs(&id).len() == 3
    });
    let procs = cgroup_procs(&id);
    assert!(procs.contains(&init), "{procs:?} lacks the init {init}");
    let sleeps: Vec<i32> = procs.iter().copied().filter(|p| *p != init).collect();
    for pid in &sleeps {
        assert_eq!(
            fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default(),
            b"sleep\x001000\x00",
            "{pid}"
        );
    }

    rt.ok(&["kill", "--all", &id, "KILL"]);
    wait_until("the container's cgroup to be empty", || {
        cgroup_procs(&id).is_empty()
    });
    for pid in &sleeps {
        wait_until(&format!("sleep {pid} to be gone"), || {
            fs::read(format!("/proc/{pid}/cmdline")).map_or(true, |c| c != b"sleep\x001000\x00")
        });
    }
    let state = rt.wait_for_status(&id, "stopped");
    assert_eq!(state["pid"], 0, "{state}");
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// spec
// ---------------------------------------------------------------------------

fn namespace_types(config: &Value) -> Vec<String> {
    let mut types: Vec<String> = config["linux"]["namespaces"]
        .as_array()
        .expect("linux.namespaces is an array")
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    types
}

/// A bundle with a busybox rootfs and no config.json.
fn bundle_without_config() -> Bundle {
    let bundle = Bundle::new(&["true"]);
    fs::remove_file(bundle.config_path()).unwrap();
    bundle
}

fn read_config(bundle: &Bundle) -> Value {
    let text = fs::read_to_string(bundle.config_path()).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("config.json is not JSON ({e}):\n{text}"))
}

#[test]
fn spec_writes_runcs_default_config() {
    let rt = Runtime::new();
    let mut bundle = bundle_without_config();
    let out = rt.ok(&["spec", "--bundle", bundle.path()]);
    assert_eq!(out, "");
    let config = read_config(&bundle);
    assert_eq!(config["ociVersion"], "1.3.0");
    assert_eq!(config["process"]["terminal"], true);
    assert_eq!(config["process"]["args"], json!(["sh"]));
    assert_eq!(config["root"]["path"], "rootfs");
    assert_eq!(
        namespace_types(&config),
        ["ipc", "mount", "network", "pid", "uts"]
    );
    assert!(config["linux"]["uidMappings"].is_null(), "{config}");

    // It never overwrites a config.
    fs::write(bundle.config_path(), "{\"mine\": true}").unwrap();
    let err = rt.fail(&["spec", "--bundle", bundle.path()]);
    let path = bundle.config_path();
    assert_one_line_error(
        &err,
        &[path.to_str().unwrap(), "exists"],
        "spec over a config",
    );
    assert_eq!(
        fs::read_to_string(bundle.config_path()).unwrap(),
        "{\"mine\": true}"
    );

    // The config runs as written (without a terminal).
    bundle.config = config;
    bundle.config["process"]["terminal"] = json!(false);
    bundle.config["process"]["args"] = json!([
        "sh",
        "-c",
        "echo net=$(readlink /proc/self/ns/net); echo pid=$$"
    ]);
    bundle.write_config();
    let id = unique_id("spec-default");
    let out = run_ok(&rt, &bundle, &id, &[]);
    let p = pairs(&out);
    assert_ne!(get(&p, "net", &out), host_ns("net"));
    assert_eq!(get(&p, "pid", &out), "1");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn spec_rootless_maps_the_current_user_and_drops_the_network_namespace() {
    let rt = Runtime::new();
    let mut bundle = bundle_without_config();
    // Without --bundle: the current directory.
    let mut cmd = rt.cmd(&["spec", "--rootless"]);
    cmd.current_dir(&bundle.dir).stdin(Stdio::null());
    let out = run_cmd(cmd);
    assert!(out.status.success(), "{out:?}");
    let config = read_config(&bundle);
    assert_eq!(config["ociVersion"], "1.3.0");
    assert_eq!(config["process"]["terminal"], true);
    assert_eq!(config["process"]["args"], json!(["sh"]));
    let types = namespace_types(&config);
    assert_eq!(types, ["ipc", "mount", "pid", "user", "uts"]);
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    assert_eq!(
        config["linux"]["uidMappings"],
        json!([{ "containerID": 0, "hostID": uid, "size": 1 }])
    );
    assert_eq!(
        config["linux"]["gidMappings"],
        json!([{ "containerID": 0, "hostID": gid, "size": 1 }])
    );

    let err = rt.fail(&["spec", "--rootless", "--bundle", bundle.path()]);
    assert_one_line_error(
        &err,
        &["config.json", "exists"],
        "spec --rootless over a config",
    );

    // The rootless config runs (here as root, mapped to itself).
    bundle.config = config;
    bundle.config["process"]["terminal"] = json!(false);
    bundle.config["process"]["args"] = json!([
        "sh",
        "-c",
        "echo net=$(readlink /proc/self/ns/net); echo user=$(readlink /proc/self/ns/user); \
         echo uid_map=$(cat /proc/self/uid_map); echo id=$(id -u)"
    ]);
    bundle.write_config();
    let id = unique_id("spec-rootless");
    let out = run_ok(&rt, &bundle, &id, &[]);
    let p = pairs(&out);
    assert_eq!(get(&p, "net", &out), host_ns("net"), "no network namespace");
    assert_ne!(get(&p, "user", &out), host_ns("user"));
    let uid_map: Vec<&str> = get(&p, "uid_map", &out).split_whitespace().collect();
    assert_eq!(uid_map, ["0", &uid.to_string(), "1"]);
    assert_eq!(get(&p, "id", &out), "0");
    assert_no_leaks(&rt, &bundle, &[&id]);
}
