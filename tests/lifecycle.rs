//! The core lifecycle with real containers: `run`, `create` / `start` / `kill` /
//! `delete`, what `state` and `list` print, and what the container process sees
//! of itself (namespaces, mounts, devices, user, limits, capabilities, cgroups).
//!
//! Every test ends with `assert_no_leaks`.

mod common;

use std::fs;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `ocirun run --bundle <bundle> <id>`, asserted successful; its stdout.
fn run_ok(rt: &Runtime, bundle: &Bundle, id: &str) -> String {
    rt.ok(&["run", "--bundle", bundle.path(), id])
}

/// Kills a started container and waits until it reads as stopped.
fn kill_and_wait_stopped(rt: &Runtime, id: &str) {
    rt.ok(&["kill", id, "KILL"]);
    rt.wait_for_status(id, "stopped");
}

/// A marker file the container creates (in its /dev/shm) once its signal
/// traps are installed, read from the host through /proc/<pid>/root.
const READY_SCRIPT: &str =
    "trap 'exit 42' TERM; touch /dev/shm/ready; while true; do sleep 0.1; done";

fn wait_ready(pid: i64) {
    let marker = format!("/proc/{pid}/root/dev/shm/ready");
    wait_until(&format!("{marker} to exist"), || {
        Path::new(&marker).exists()
    });
}

/// The columns' start offsets of a table line, computed the way runc's
/// tabwriter lays them out: each column is max(12, widest cell + 3) wide.
fn runc_column_starts(rows: &[Vec<String>]) -> Vec<usize> {
    let columns = rows[0].len();
    let mut starts = vec![0];
    for c in 0..columns - 1 {
        let widest = rows.iter().map(|r| r[c].chars().count()).max().unwrap();
        starts.push(starts[c] + (widest + 3).max(12));
    }
    starts
}

/// Offsets where the words of `line` start.
fn word_starts(line: &str) -> Vec<usize> {
    let b = line.as_bytes();
    (0..b.len())
        .filter(|&i| b[i] != b' ' && (i == 0 || b[i - 1] == b' '))
        .collect()
}

/// An RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !(b[10] == b'T' || b[10] == b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    if rest == "Z" || rest == "z" {
        return true;
    }
    let r = rest.as_bytes();
    r.len() == 6
        && (r[0] == b'+' || r[0] == b'-')
        && r[1..3].iter().all(u8::is_ascii_digit)
        && r[3] == b':'
        && r[4..6].iter().all(u8::is_ascii_digit)
}

// ---------------------------------------------------------------------------
// run
// ---------------------------------------------------------------------------

#[test]
fn run_prints_output_and_returns_the_exit_code() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle("echo to-stdout; echo to-stderr >&2; exit 3");
    let id = unique_id("run-exit3");
    let out = rt.run(&["run", "--bundle", bundle.path(), &id]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "run should return the container's exit code; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "to-stdout\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to-stderr\n");
    // run without --keep deletes the container.
    assert!(rt.try_state(&id).is_none(), "run left {id} behind");

    bundle.config["process"]["args"] = json!(["true"]);
    bundle.write_config();
    let id0 = unique_id("run-exit0");
    let out = rt.run(&["run", "--bundle", bundle.path(), &id0]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    assert_no_leaks(&rt, &bundle, &[&id, &id0]);
}

#[test]
fn run_returns_128_plus_the_signal_when_the_container_is_killed() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("run-killed");
    let bg = Background::spawn(rt.cmd(&["run", "--bundle", bundle.path(), &id]));
    let state = rt.wait_for_status(&id, "running");
    assert!(pid_of(&state) > 0, "{state}");
    // `sleep` as PID 1 has no handler for SIGTERM: only SIGKILL from the host
    // kills it (the pid namespace's init ignores unhandled signals).
    rt.ok(&["kill", &id, "KILL"]);
    let out = bg.wait();
    assert_eq!(
        out.status.code(),
        Some(137),
        "run of a SIGKILLed container should return 128+9; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rt.try_state(&id).is_none(), "run left {id} behind");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn run_forwards_signals_to_the_container() {
    let rt = Runtime::new();
    let bundle = sh_bundle(READY_SCRIPT);
    let id = unique_id("run-forward");
    let bg = Background::spawn(rt.cmd(&["run", "--bundle", bundle.path(), &id]));
    let state = rt.wait_for_status(&id, "running");
    wait_ready(pid_of(&state));
    // SIGTERM to `ocirun run` itself reaches the container's trap.
    // SAFETY: kill(2) on our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(bg.pid() as i32, libc::SIGTERM) }, 0);
    let out = bg.wait();
    assert_eq!(
        out.status.code(),
        Some(42),
        "the container's TERM trap exits 42; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// create / state / list / start / kill / delete
// ---------------------------------------------------------------------------

const LIST_HEADER: &str = "ID          PID         STATUS      BUNDLE      CREATED     OWNER";

#[test]
fn create_start_kill_delete_with_state_and_list() {
    let rt = Runtime::new();
    let bundle = sh_bundle(READY_SCRIPT);
    let id = unique_id("lifecycle");
    let bundle_dir = fs::canonicalize(&bundle.dir).unwrap();

    // An empty root lists runc's padded header only.
    assert_eq!(rt.ok(&["list"]), format!("{LIST_HEADER}\n"));
    assert_eq!(rt.ok(&["list", "-q"]), "");

    // create: the init exists and waits.
    assert_eq!(rt.ok(&["create", "--bundle", bundle.path(), &id]), "");
    let state = rt.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["id"], id.as_str());
    let pid = pid_of(&state);
    assert!(pid > 0, "{state}");
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("state says pid {pid} but /proc/{pid} is unreadable: {e}"));
    // In a new pid namespace the init is PID 1.
    let nspid = status_field(&status, "NSpid").unwrap_or_default();
    assert_eq!(
        nspid.split_whitespace().collect::<Vec<_>>(),
        [pid.to_string().as_str(), "1"],
        "NSpid of the init"
    );

    // list: the table, aligned like runc's.
    let table = rt.ok(&["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "header and one row expected:\n{table}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
        "{table}"
    );
    let row: Vec<String> = lines[1].split_whitespace().map(String::from).collect();
    assert_eq!(row.len(), 6, "{table}");
    assert_eq!(row[0], id);
    assert_eq!(row[1], pid.to_string());
    assert_eq!(row[2], "created");
    assert_eq!(Path::new(&row[3]), bundle_dir);
    assert_eq!(row[4], state["created"].as_str().unwrap());
    assert_eq!(row[5], "root");
    let header: Vec<String> = lines[0].split_whitespace().map(String::from).collect();
    let expected = runc_column_starts(&[header, row]);
    assert_eq!(word_starts(lines[0]), expected, "header columns:\n{table}");
    assert_eq!(word_starts(lines[1]), expected, "row columns:\n{table}");

    let json_list: Value = serde_json::from_str(&rt.ok(&["list", "-f", "json"])).unwrap();
    let entries = json_list.as_array().expect("list -f json is an array");
    assert_eq!(entries.len(), 1, "{json_list}");
    assert_eq!(entries[0]["id"], id.as_str());
    assert_eq!(entries[0]["status"], "created");
    assert_eq!(entries[0]["pid"], pid);
    assert_eq!(rt.ok(&["list", "-q"]), format!("{id}\n"));

    // start: the same pid now runs the program.
    assert_eq!(rt.ok(&["start", &id]), "");
    let state = rt.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(pid_of(&state), pid, "start must not change the pid");
    wait_ready(pid);
    let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(
        exe,
        Path::new("/bin/busybox"),
        "the init exec'd the program"
    );
    assert!(rt.ok(&["list"]).contains(" running "));

    // kill (default SIGTERM): the trap exits, the container stops.
    assert_eq!(rt.ok(&["kill", &id]), "");
    let state = rt.wait_for_status(&id, "stopped");
    assert_eq!(state["pid"], 0, "a stopped container has pid 0: {state}");
    let table = rt.ok(&["list"]);
    assert!(
        table.lines().nth(1).is_some_and(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() == 6 && w[0] == id && w[1] == "0" && w[2] == "stopped"
        }),
        "{table}"
    );

    // delete: gone.
    assert_eq!(rt.ok(&["delete", &id]), "");
    let err = rt.fail(&["state", &id]);
    assert_one_line_error(&err, &[&id], "state of a deleted container");
    assert_eq!(rt.ok(&["list", "-q"]), "");
    assert_eq!(rt.ok(&["list"]), format!("{LIST_HEADER}\n"));
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn empty_list_matches_runc() {
    let Ok(out) = Command::new("runc").arg("--version").output() else {
        eprintln!("runc is not installed: skipped");
        return;
    };
    assert!(out.status.success());
    let rt = Runtime::new();
    let runc_root = rt.root.with_extension("runc");
    let runc = Command::new("runc")
        .arg("--root")
        .arg(&runc_root)
        .arg("list")
        .output()
        .unwrap();
    let _ = fs::remove_dir_all(&runc_root);
    assert!(runc.status.success(), "{runc:?}");
    assert_eq!(
        rt.ok(&["list"]),
        String::from_utf8_lossy(&runc.stdout),
        "ocirun list and runc list differ on an empty root"
    );
}

#[test]
fn state_json_has_the_spec_fields_and_runcs_extras() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sleep", "1000"]);
    bundle.config["annotations"] = json!({ "org.ocirun.test": "value 1" });
    bundle.write_config();
    let id = unique_id("state-json");
    rt.ok(&["create", "--bundle", bundle.path(), &id]);
    let state = rt.state(&id);
    let obj = state.as_object().expect("state is an object");
    // Required by schema/state-schema.json, plus pid (runc always prints it).
    for key in ["ociVersion", "id", "status", "bundle", "pid"] {
        assert!(obj.contains_key(key), "state lacks {key}: {state}");
    }
    assert!(
        state["ociVersion"]
            .as_str()
            .is_some_and(|v| v.split('.').count() >= 3),
        "ociVersion is a version: {state}"
    );
    assert_eq!(state["id"], id.as_str());
    assert!(
        ["creating", "created", "running", "stopped"].contains(&state["status"].as_str().unwrap()),
        "{state}"
    );
    assert!(state["pid"].as_i64().is_some_and(|p| p > 0), "{state}");
    let bundle_dir = fs::canonicalize(&bundle.dir).unwrap();
    assert_eq!(
        state["bundle"],
        bundle_dir.to_str().unwrap(),
        "bundle is absolute"
    );
    assert_eq!(
        state["annotations"],
        json!({ "org.ocirun.test": "value 1" }),
        "annotations come from config.json"
    );
    // runc's extras.
    assert_eq!(
        state["rootfs"],
        bundle_dir.join("rootfs").to_str().unwrap(),
        "{state}"
    );
    let created = state["created"].as_str().expect("created is a string");
    assert!(is_rfc3339(created), "created is not RFC 3339: {created:?}");
    assert_eq!(state["owner"], "root");
    // The same object as list -f json prints.
    let listed: Value = serde_json::from_str(&rt.ok(&["list", "-f", "json"])).unwrap();
    assert_eq!(listed[0]["created"], state["created"]);
    assert_eq!(listed[0]["rootfs"], state["rootfs"]);

    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

/// runtime.md: the state's ociVersion is the spec version "with which the
/// state complies", i.e. the runtime's (runc 1.1.5 prints its own, whatever
/// the config says), not the bundle's.
#[test]
fn state_oci_version_is_the_runtimes_spec_version() {
    let version = run_cmd({
        let mut c = Command::new(OCIRUN);
        c.arg("--version");
        c
    });
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let spec_version = version
        .lines()
        .find_map(|l| l.strip_prefix("spec: "))
        .unwrap_or_else(|| panic!("`ocirun --version` prints no spec version:\n{version}"))
        .trim()
        .to_string();
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sleep", "1000"]);
    bundle.config["ociVersion"] = json!("1.0.2");
    bundle.write_config();
    let id = unique_id("state-version");
    rt.ok(&["create", "--bundle", bundle.path(), &id]);
    let state = rt.state(&id);
    rt.ok(&["delete", "--force", &id]);
    assert_eq!(state["ociVersion"], spec_version.as_str(), "{state}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn rfc3339_checker_rejects_garbage() {
    assert!(is_rfc3339("2024-01-02T03:04:05Z"));
    assert!(is_rfc3339("2024-01-02T03:04:05.123456789Z"));
    assert!(is_rfc3339("2024-01-02T03:04:05+01:00"));
    assert!(!is_rfc3339("2024-01-02 03:04:05"));
    assert!(!is_rfc3339("1700000000"));
    assert!(!is_rfc3339("2024-01-02T03:04:05."));
}

#[test]
fn run_detached_writes_the_pid_file_and_leaves_it_running() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("detached");
    let pid_file = bundle.dir.join("init.pid");
    let out = rt.ok(&[
        "run",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--bundle",
        bundle.path(),
        &id,
    ]);
    assert_eq!(out, "", "run -d prints nothing");
    let text = fs::read_to_string(&pid_file).expect("the pid file exists when run -d returns");
    let pid: i64 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("pid file holds {text:?}"));
    let state = rt.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(pid_of(&state), pid, "the pid file holds the init's pid");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(status_field(&status, "Name"), Some("sleep"));

    kill_and_wait_stopped(&rt, &id);
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

/// `args` (create or run -d) with stdout and stderr as pipes nobody reads:
/// the command must exit while the container still holds the pipes' write ends.
fn returns_with_unread_pipes(args: &[&str], expected_status: &str) {
    let rt = Runtime::new();
    // The marker says the echo is done: `start` returns once the program is exec'd, not
    // once it has run anything, so a kill right after it could beat the echo.
    let bundle = sh_bundle("echo hello-through-the-pipe; touch /dev/shm/ready; exec sleep 1000");
    let id = unique_id("pipes");
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--bundle", bundle.path(), &id]);
    let mut child = rt
        .cmd(&full)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ocirun");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let child_pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(status) => status.expect("wait"),
        Err(_) => {
            // SAFETY: kill(2) of our own child, which the waiter has not reaped.
            unsafe { libc::kill(child_pid, libc::SIGKILL) };
            let _ = waiter.join();
            panic!(
                "`ocirun {}` did not return within 30 s while its stdout/stderr pipes were unread",
                full.join(" ")
            );
        }
    };
    waiter.join().unwrap();
    assert!(status.success(), "`ocirun {}`: {status}", full.join(" "));

    let state = rt.state(&id);
    assert_eq!(state["status"], expected_status, "{state}");
    let pid = pid_of(&state);
    // The container holds the very pipe we did not read.
    let pipe_ino = fs::metadata(format!("/proc/self/fd/{}", stdout.as_raw_fd()))
        .unwrap()
        .ino();
    let held = fs::read_link(format!("/proc/{pid}/fd/1")).unwrap();
    assert_eq!(held, Path::new(&format!("pipe:[{pipe_ino}]")));

    if expected_status == "created" {
        rt.ok(&["start", &id]);
    }
    wait_ready(pid);
    kill_and_wait_stopped(&rt, &id);
    rt.ok(&["delete", &id]);

    // With the container gone, every write end is closed: reading ends.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let mut err = String::new();
        let mut stdout = stdout;
        let mut stderr = stderr;
        let _ = stdout.read_to_string(&mut out);
        let _ = stderr.read_to_string(&mut err);
        let _ = tx.send((out, err));
    });
    let (out, err) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the pipes are still held open after delete");
    assert_eq!(out, "hello-through-the-pipe\n", "stderr: {err}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn create_returns_while_the_container_holds_unread_pipes() {
    returns_with_unread_pipes(&["create"], "created");
}

#[test]
fn run_detached_returns_while_the_container_holds_unread_pipes() {
    returns_with_unread_pipes(&["run", "-d"], "running");
}

#[test]
fn created_status_does_not_depend_on_the_binary_that_created_it() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("upgrade");
    // Two copies of the same runtime, as before and after an upgrade.
    let old = bundle.dir.join("ocirun-old");
    let new = bundle.dir.join("ocirun-new");
    fs::copy(OCIRUN, &old).unwrap();
    fs::copy(OCIRUN, &new).unwrap();
    let with = |binary: &Path, args: &[&str]| {
        let mut c = Command::new(binary);
        c.arg("--root").arg(&rt.root).args(args);
        run_cmd(c)
    };
    let out = with(&old, &["create", "--bundle", bundle.path(), &id]);
    assert!(out.status.success(), "{out:?}");
    let out = with(&new, &["state", &id]);
    let state: Value = serde_json::from_slice(&out.stdout).unwrap();
    let started = with(&new, &["start", &id]);
    rt.run(&["delete", "--force", &id]);
    assert_eq!(
        state["status"], "created",
        "state by another copy of ocirun: {state}"
    );
    assert!(
        started.status.success(),
        "start by another copy of ocirun failed: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn kill_or_delete_of_a_created_container() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    // kill (SIGTERM) stops the waiting init; the program never runs.
    let id = unique_id("kill-created");
    rt.ok(&["create", "--bundle", bundle.path(), &id]);
    rt.ok(&["kill", &id]);
    let state = rt.wait_for_status(&id, "stopped");
    assert_eq!(state["pid"], 0, "{state}");
    let err = rt.fail(&["start", &id]);
    assert_one_line_error(&err, &[&id], "start of a killed created container");
    rt.ok(&["delete", &id]);
    // delete of a created container needs no --force (as in runc).
    let id2 = unique_id("delete-created");
    rt.ok(&["create", "--bundle", bundle.path(), &id2]);
    let pid = pid_of(&rt.state(&id2));
    rt.ok(&["delete", &id2]);
    assert!(rt.try_state(&id2).is_none());
    assert!(
        fs::read(format!("/proc/{pid}/cmdline")).map_or(true, |c| c.is_empty()),
        "the init {pid} survived delete"
    );
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

#[test]
fn an_init_killed_behind_the_runtimes_back_reads_as_stopped() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    for phase in ["created", "running"] {
        let id = unique_id(&format!("killed-outside-{phase}"));
        if phase == "created" {
            rt.ok(&["create", "--bundle", bundle.path(), &id]);
        } else {
            rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
        }
        let state = rt.state(&id);
        assert_eq!(state["status"], phase);
        // SAFETY: kill(2) of the container's init, which the state names.
        assert_eq!(
            unsafe { libc::kill(pid_of(&state) as i32, libc::SIGKILL) },
            0
        );
        let state = rt.wait_for_status(&id, "stopped");
        assert_eq!(state["pid"], 0, "{state}");
        let err = rt.fail(&["start", &id]);
        assert_one_line_error(&err, &[&id], "start of a dead container");
        rt.ok(&["delete", &id]);
        assert_no_leaks(&rt, &bundle, &[&id]);
    }
}

#[test]
fn a_missing_cwd_is_created() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["pwd"]);
    bundle.config["process"]["cwd"] = json!("/work/dir");
    bundle.config["root"]["readonly"] = json!(false);
    bundle.write_config();
    let id = unique_id("cwd-created");
    assert_eq!(run_ok(&rt, &bundle, &id), "/work/dir\n");
    assert!(bundle.rootfs().join("work/dir").is_dir());
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn a_missing_cwd_is_created_even_with_a_readonly_root() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["pwd"]);
    bundle.config["process"]["cwd"] = json!("/work/dir");
    bundle.write_config();
    let id = unique_id("cwd-created-ro");
    let out = rt.run(&["run", "--bundle", bundle.path(), &id]);
    assert!(
        out.status.success(),
        "run with a missing cwd and a read-only root failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/work/dir\n");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn mount_destinations_through_symlinks_stay_in_the_rootfs() {
    // rootfs/esc -> <bundle>/outside (an absolute host path): the mount must
    // land in rootfs/<bundle>/outside/sub, never in the host's directory.
    let rt = Runtime::new();
    let mut bundle = sh_bundle("echo > /esc/sub/probe && echo wrote=yes");
    let outside = bundle.dir.join("outside");
    std::os::unix::fs::symlink(&outside, bundle.rootfs().join("esc")).unwrap();
    bundle.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/esc/sub",
        "type": "tmpfs",
        "source": "tmpfs",
    }));
    bundle.write_config();
    let id = unique_id("symlink-dest");
    let out = run_ok(&rt, &bundle, &id);
    assert!(
        out.contains("wrote=yes"),
        "the tmpfs is reachable through /esc:\n{out}"
    );
    assert!(
        !outside.exists(),
        "the runtime created {} on the host",
        outside.display()
    );
    let inside = bundle
        .rootfs()
        .join(outside.strip_prefix("/").unwrap())
        .join("sub");
    assert!(
        inside.is_dir(),
        "{} was not created in the rootfs",
        inside.display()
    );
    assert!(
        !inside.join("probe").exists(),
        "the probe went to the rootfs, not the tmpfs"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn processes_left_without_a_pid_namespace_are_killed_at_delete() {
    // Without its own pid namespace the container's children outlive its init;
    // delete must still remove them (they are in the container's cgroup).
    let rt = Runtime::new();
    let mut bundle = sh_bundle("sleep 1000 & echo child=$!");
    bundle.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
    bundle.write_config();
    let id = unique_id("orphans");
    let log = bundle.dir.join("container.log");
    rt.create_logged(&bundle, &id, &log);
    rt.ok(&["start", &id]);
    rt.wait_for_status(&id, "stopped");
    let out = fs::read_to_string(&log).unwrap();
    let child = pairs(&out)
        .get("child")
        .cloned()
        .unwrap_or_else(|| panic!("no child pid printed:\n{out}"));
    // A zombie has an empty cmdline; a reused pid another one.
    let is_the_orphan =
        || fs::read(format!("/proc/{child}/cmdline")).is_ok_and(|c| c == b"sleep\x001000\x00");
    assert!(
        is_the_orphan(),
        "the orphan {child} should outlive the init"
    );
    rt.ok(&["delete", &id]);
    // SIGKILLed, then reaped by its new parent: poll until it is gone.
    wait_until(&format!("orphan {child} to be gone after delete"), || {
        !is_the_orphan()
    });
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// What the container sees
// ---------------------------------------------------------------------------

#[test]
fn the_program_is_pid_1() {
    let rt = Runtime::new();
    let bundle = sh_bundle("echo pid=$$; echo ppid=$PPID; echo exe=$(readlink /proc/1/exe)");
    let id = unique_id("pid1");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    assert_eq!(get(&p, "pid", &out), "1");
    assert_eq!(
        get(&p, "ppid", &out),
        "0",
        "PID 1 has no parent in its namespace"
    );
    assert_eq!(get(&p, "exe", &out), "/bin/busybox");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn hostname_default_and_custom() {
    let host_before = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let rt = Runtime::new();
    let mut bundle =
        sh_bundle("echo hostname=$(hostname); echo uts=$(cat /proc/sys/kernel/hostname)");
    let id = unique_id("hostname-default");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    assert_eq!(
        get(&p, "hostname", &out),
        "ocirun",
        "the default spec's hostname"
    );
    assert_eq!(get(&p, "uts", &out), "ocirun");

    bundle.config["hostname"] = json!("custom-host-1");
    bundle.write_config();
    let id2 = unique_id("hostname-custom");
    let out = run_ok(&rt, &bundle, &id2);
    let p = pairs(&out);
    assert_eq!(get(&p, "hostname", &out), "custom-host-1");
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_before,
        "the host's hostname changed"
    );
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

#[test]
fn user_and_additional_groups() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "grep -E '^(Uid|Gid|Groups):' /proc/self/status; echo id=$(id -u):$(id -g); echo groups=$(id -G); echo home=$HOME",
    );
    bundle.config["process"]["user"] =
        json!({ "uid": 1000, "gid": 1000, "additionalGids": [10, 20] });
    bundle.write_config();
    let id = unique_id("user");
    let out = run_ok(&rt, &bundle, &id);
    let ws = |s: Option<&str>| {
        s.unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        ws(status_field(&out, "Uid")),
        "1000 1000 1000 1000",
        "{out}"
    );
    assert_eq!(
        ws(status_field(&out, "Gid")),
        "1000 1000 1000 1000",
        "{out}"
    );
    assert_eq!(ws(status_field(&out, "Groups")), "10 20", "{out}");
    let p = pairs(&out);
    assert_eq!(get(&p, "id", &out), "1000:1000");
    assert_eq!(
        get(&p, "home", &out),
        "/",
        "uid 1000 has no passwd entry: HOME=/"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn root_user_gets_home_from_passwd_and_no_supplementary_groups() {
    let rt = Runtime::new();
    let bundle = sh_bundle("grep -E '^(Uid|Groups):' /proc/self/status; echo home=$HOME");
    let id = unique_id("root-user");
    let out = run_ok(&rt, &bundle, &id);
    let ws = |s: Option<&str>| {
        s.unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(ws(status_field(&out, "Uid")), "0 0 0 0", "{out}");
    assert_eq!(ws(status_field(&out, "Groups")), "", "{out}");
    let p = pairs(&out);
    assert_eq!(get(&p, "home", &out), "/root");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn cwd_and_env() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle("echo cwd=$(pwd); echo foo=$FOO; echo path=$PATH; env");
    bundle.config["process"]["cwd"] = json!("/tmp");
    bundle.config["process"]["env"] = json!(["PATH=/bin:/sbin", "FOO=bar baz=qux", "EMPTY="]);
    bundle.write_config();
    let id = unique_id("cwd-env");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    assert_eq!(get(&p, "cwd", &out), "/tmp");
    assert_eq!(get(&p, "foo", &out), "bar baz=qux");
    assert_eq!(get(&p, "path", &out), "/bin:/sbin");
    assert!(out.lines().any(|l| l == "EMPTY="), "{out}");
    // Nothing of the runtime's environment leaks in.
    assert!(
        !out.lines()
            .any(|l| l.starts_with("CARGO") || l.starts_with("RUST")),
        "the test's environment leaked into the container:\n{out}"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn rlimits() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "echo soft=$(ulimit -n); echo hard=$(ulimit -Hn); grep 'Max open files' /proc/self/limits",
    );
    bundle.config["process"]["rlimits"] =
        json!([{ "type": "RLIMIT_NOFILE", "soft": 321, "hard": 654 }]);
    bundle.write_config();
    let id = unique_id("rlimits");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    assert_eq!(get(&p, "soft", &out), "321");
    assert_eq!(get(&p, "hard", &out), "654");
    let line = out
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        ["Max", "open", "files", "321", "654", "files"]
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn capabilities_default_and_custom() {
    let rt = Runtime::new();
    let script = "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status";
    let mut bundle = sh_bundle(script);
    let id = unique_id("caps-default");
    let out = run_ok(&rt, &bundle, &id);
    // CAP_AUDIT_WRITE (29) | CAP_KILL (5) | CAP_NET_BIND_SERVICE (10)
    let default_mask = "0000000020000420";
    for key in ["CapPrm", "CapEff", "CapBnd"] {
        assert_eq!(status_field(&out, key), Some(default_mask), "{key}:\n{out}");
    }
    assert_eq!(
        status_field(&out, "CapInh"),
        Some("0000000000000000"),
        "{out}"
    );

    // A custom set: CAP_CHOWN (0) | CAP_NET_RAW (13).
    let caps = json!(["CAP_CHOWN", "CAP_NET_RAW"]);
    bundle.config["process"]["capabilities"] =
        json!({ "bounding": caps, "effective": caps, "permitted": caps });
    bundle.write_config();
    let id2 = unique_id("caps-custom");
    let out = run_ok(&rt, &bundle, &id2);
    for key in ["CapPrm", "CapEff", "CapBnd"] {
        assert_eq!(
            status_field(&out, key),
            Some("0000000000002001"),
            "{key}:\n{out}"
        );
    }
    assert_eq!(
        status_field(&out, "CapAmb"),
        Some("0000000000000000"),
        "{out}"
    );

    // A non-root user keeps only what is ambient (which needs inheritable).
    bundle.config["process"]["user"] = json!({ "uid": 1000, "gid": 1000 });
    bundle.config["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps,
        "ambient": ["CAP_NET_RAW"],
    });
    bundle.write_config();
    let id3 = unique_id("caps-ambient");
    let out = run_ok(&rt, &bundle, &id3);
    for (key, mask) in [
        ("CapInh", "0000000000002001"),
        ("CapPrm", "0000000000002000"),
        ("CapEff", "0000000000002000"),
        ("CapBnd", "0000000000002001"),
        ("CapAmb", "0000000000002000"),
    ] {
        assert_eq!(status_field(&out, key), Some(mask), "{key}:\n{out}");
    }
    assert_no_leaks(&rt, &bundle, &[&id, &id2, &id3]);
}

#[test]
fn no_new_privileges() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle("grep '^NoNewPrivs:' /proc/self/status");
    let id = unique_id("nnp-on");
    let out = run_ok(&rt, &bundle, &id);
    assert_eq!(status_field(&out, "NoNewPrivs"), Some("1"), "{out}");

    bundle.config["process"]["noNewPrivileges"] = json!(false);
    bundle.write_config();
    let id2 = unique_id("nnp-off");
    let out = run_ok(&rt, &bundle, &id2);
    assert_eq!(status_field(&out, "NoNewPrivs"), Some("0"), "{out}");
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

#[test]
fn readonly_root_and_writable_root() {
    let rt = Runtime::new();
    let script = "touch /written-by-container 2>&1 && echo result=written || echo result=refused";
    let mut bundle = sh_bundle(script);
    let id = unique_id("root-ro");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    assert_eq!(
        get(&p, "result", &out),
        "refused",
        "root.readonly is true:\n{out}"
    );
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!bundle.rootfs().join("written-by-container").exists());

    bundle.config["root"]["readonly"] = json!(false);
    bundle.write_config();
    let id2 = unique_id("root-rw");
    let out = run_ok(&rt, &bundle, &id2);
    let p = pairs(&out);
    assert_eq!(get(&p, "result", &out), "written", "{out}");
    assert!(bundle.rootfs().join("written-by-container").exists());
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

#[test]
fn masked_paths_are_empty() {
    let candidates = [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/acpi",
        "/proc/scsi",
    ];
    // The host side: which of them have content to hide.
    let mut expected = Vec::new();
    for path in candidates {
        let Ok(meta) = fs::metadata(path) else {
            continue;
        };
        if meta.is_dir() {
            if fs::read_dir(path).map(|d| d.count()).unwrap_or(0) > 0 {
                expected.push(path);
            }
        } else if fs::read(path).is_ok_and(|c| !c.is_empty()) {
            expected.push(path);
        }
    }
    assert!(
        expected.len() >= 2,
        "fewer than two masked paths have content on this host: {expected:?}"
    );
    let mut script = String::new();
    for path in candidates {
        script.push_str(&format!(
            "if [ -d {path} ]; then echo {path}=dir:$(ls -A {path} | wc -l); \
             elif [ -e {path} ]; then echo {path}=file:$(cat {path} | wc -c); \
             else echo {path}=missing; fi; "
        ));
    }
    let rt = Runtime::new();
    let bundle = sh_bundle(&script);
    let id = unique_id("masked");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    for path in expected {
        let seen = get(&p, path, &out);
        assert!(
            seen == "dir:0" || seen == "file:0",
            "{path} has content in the container: {seen}\n{out}"
        );
    }
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn readonly_paths_refuse_writes() {
    let rt = Runtime::new();
    let bundle = sh_bundle(
        "cat /proc/self/mountinfo; \
         (echo 1 > /proc/sys/vm/overcommit_memory) 2>&1 && echo sys=written || echo sys=refused",
    );
    let id = unique_id("ro-paths");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    assert_eq!(get(&p, "sys", &out), "refused");
    assert!(
        out.contains("/proc/sys/vm/overcommit_memory: Read-only file system"),
        "writing /proc/sys should fail with EROFS:\n{out}"
    );
    let mounts = parse_mountinfo(&out);
    // The default spec's readonlyPaths that exist on this kernel.
    for path in [
        "/proc/sys",
        "/proc/sysrq-trigger",
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
    ] {
        if path != "/proc/sys" && !Path::new(path).exists() {
            continue;
        }
        let m = mount_at(&mounts, path, &out);
        assert!(
            m.mount_options.iter().any(|o| o == "ro"),
            "{path} is not mounted read-only: {m:?}"
        );
    }
    // /proc itself stays writable.
    let proc_mount = mount_at(&mounts, "/proc", &out);
    assert!(
        proc_mount.mount_options.iter().any(|o| o == "rw"),
        "{proc_mount:?}"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn default_mounts_are_present() {
    let rt = Runtime::new();
    let bundle = sh_bundle("cat /proc/self/mountinfo");
    let id = unique_id("mounts");
    let out = run_ok(&rt, &bundle, &id);
    let mounts = parse_mountinfo(&out);
    for (path, fs_type) in [
        ("/proc", "proc"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
        ("/sys", "sysfs"),
    ] {
        let m = mount_at(&mounts, path, &out);
        assert_eq!(m.fs_type, fs_type, "{path}: {m:?}");
    }
    let root = mount_at(&mounts, "/", &out);
    assert!(
        root.mount_options.iter().any(|o| o == "ro"),
        "root is read-only: {root:?}"
    );
    let rootfs = fs::canonicalize(bundle.rootfs()).unwrap();
    assert!(
        root.root.ends_with(rootfs.to_str().unwrap()) || root.root == "/",
        "the root mount is the bundle's rootfs: {root:?}"
    );
    let sys = mount_at(&mounts, "/sys", &out);
    assert!(sys.mount_options.iter().any(|o| o == "ro"), "{sys:?}");
    let shm = mount_at(&mounts, "/dev/shm", &out);
    assert!(
        shm.super_options.iter().any(|o| o == "size=65536k"),
        "{shm:?}"
    );
    for opt in ["nosuid", "nodev", "noexec"] {
        assert!(
            shm.mount_options.iter().any(|o| o == opt),
            "/dev/shm {opt}: {shm:?}"
        );
    }
    let pts = mount_at(&mounts, "/dev/pts", &out);
    assert!(pts.super_options.iter().any(|o| o == "gid=5"), "{pts:?}");
    // No host mount is visible: everything is at or below the new root.
    let host_only: Vec<&MountInfo> = mounts
        .iter()
        .filter(|m| {
            m.mount_point.starts_with("/run/ocirun-test")
                || m.mount_point.starts_with("/tmp/ocirun-test")
        })
        .collect();
    assert!(host_only.is_empty(), "host mounts leaked in: {host_only:?}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn default_devices() {
    let rt = Runtime::new();
    let mut script = String::new();
    for dev in ["null", "zero", "full", "random", "urandom", "tty"] {
        script.push_str(&format!(
            "echo /dev/{dev}=$(stat -c '%F %t:%T' /dev/{dev}); "
        ));
    }
    for link in ["fd", "stdin", "stdout", "stderr", "ptmx"] {
        script.push_str(&format!("echo /dev/{link}=$(readlink /dev/{link}); "));
    }
    script.push_str(
        "echo zero-bytes=$(head -c 5 /dev/zero | wc -c); \
         echo x > /dev/null && echo null-write=ok; \
         echo urandom-bytes=$(head -c 7 /dev/urandom | wc -c)",
    );
    let bundle = sh_bundle(&script);
    let id = unique_id("devices");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    for (dev, numbers) in [
        ("null", "1:3"),
        ("zero", "1:5"),
        ("full", "1:7"),
        ("random", "1:8"),
        ("urandom", "1:9"),
        ("tty", "5:0"),
    ] {
        assert_eq!(
            get(&p, &format!("/dev/{dev}"), &out),
            format!("character special file {numbers}"),
            "/dev/{dev}"
        );
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        assert_eq!(
            get(&p, &format!("/dev/{link}"), &out),
            target,
            "/dev/{link}"
        );
    }
    assert_eq!(get(&p, "zero-bytes", &out), "5");
    assert_eq!(get(&p, "null-write", &out), "ok");
    assert_eq!(get(&p, "urandom-bytes", &out), "7");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn bind_mounts_read_only_and_read_write() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "echo ro-content=$(cat /data-ro/hello.txt); \
         (touch /data-ro/new) 2>/dev/null && echo ro-write=ok || echo ro-write=refused; \
         echo rw-content=$(cat /data-rw/hello.txt); \
         echo from-container > /data-rw/new && echo rw-write=ok",
    );
    let host_dir = bundle.dir.join("host-data");
    fs::create_dir(&host_dir).unwrap();
    fs::write(host_dir.join("hello.txt"), "hello from the host").unwrap();
    let host = host_dir.to_str().unwrap();
    let mounts = bundle.config["mounts"].as_array_mut().unwrap();
    mounts.push(json!({ "destination": "/data-ro", "type": "bind", "source": host, "options": ["rbind", "ro"] }));
    mounts.push(json!({ "destination": "/data-rw", "type": "bind", "source": host, "options": ["rbind", "rw"] }));
    bundle.write_config();
    let id = unique_id("bind");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    assert_eq!(get(&p, "ro-content", &out), "hello from the host");
    assert_eq!(get(&p, "ro-write", &out), "refused");
    assert_eq!(get(&p, "rw-content", &out), "hello from the host");
    assert_eq!(get(&p, "rw-write", &out), "ok");
    assert_eq!(
        fs::read_to_string(host_dir.join("new")).unwrap(),
        "from-container\n",
        "the read-write bind writes through to the host"
    );
    // The mount points were created inside the rootfs, not on the host.
    assert!(bundle.rootfs().join("data-ro").is_dir());
    assert!(mounts_under(&host_dir).is_empty());
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn tmpfs_mount_with_options() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "grep ' /scratch ' /proc/self/mountinfo; echo mode=$(stat -c %a /scratch); \
         echo small > /scratch/ok && echo small-write=ok; \
         (dd if=/dev/zero of=/scratch/big bs=1024 count=2048) 2>&1 | grep -q 'No space left' && echo big-write=full",
    );
    bundle.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/scratch",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["nosuid", "nodev", "noexec", "mode=1770", "size=1m"]
    }));
    bundle.write_config();
    let id = unique_id("tmpfs");
    let out = run_ok(&rt, &bundle, &id);
    let mounts = parse_mountinfo(&out);
    let m = mount_at(&mounts, "/scratch", &out);
    assert_eq!(m.fs_type, "tmpfs", "{m:?}");
    assert_eq!(m.source, "tmpfs", "{m:?}");
    for opt in ["nosuid", "nodev", "noexec"] {
        assert!(m.mount_options.iter().any(|o| o == opt), "{opt}: {m:?}");
    }
    assert!(m.super_options.iter().any(|o| o == "size=1024k"), "{m:?}");
    assert!(m.super_options.iter().any(|o| o == "mode=1770"), "{m:?}");
    let p = pairs(&out);
    assert_eq!(get(&p, "mode", &out), "1770");
    assert_eq!(get(&p, "small-write", &out), "ok");
    assert_eq!(get(&p, "big-write", &out), "full", "size=1m is enforced");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn namespaces_are_new_except_the_ones_not_asked_for() {
    let kinds = ["pid", "net", "ipc", "uts", "mnt", "user", "cgroup"];
    let mut script = String::new();
    for k in kinds {
        script.push_str(&format!("echo {k}=$(readlink /proc/self/ns/{k}); "));
    }
    let rt = Runtime::new();
    let bundle = sh_bundle(&script);
    let id = unique_id("namespaces");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    // The default spec: pid, network, ipc, uts, mount.
    for k in ["pid", "net", "ipc", "uts", "mnt"] {
        let inside = get(&p, k, &out);
        assert!(inside.starts_with(&format!("{k}:[")), "{k}: {inside}");
        assert_ne!(
            inside,
            host_ns(k),
            "the container shares the host's {k} namespace"
        );
    }
    for k in ["user", "cgroup"] {
        assert_eq!(
            get(&p, k, &out),
            host_ns(k),
            "{k} is not in the config: shared"
        );
    }
    assert_no_leaks(&rt, &bundle, &[&id]);
}

/// lchown -R, without following symlinks.
fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
    let meta = fs::symlink_metadata(path).unwrap();
    if meta.is_dir() {
        for e in fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path(), uid, gid);
        }
    }
}

#[test]
fn user_namespace_with_id_mappings() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "echo uid=$(id -u); echo gid=$(id -g); \
         echo uid_map=$(cat /proc/self/uid_map); echo gid_map=$(cat /proc/self/gid_map); \
         echo owner=$(stat -c %u:%g /bin/busybox); echo userns=$(readlink /proc/self/ns/user)",
    );
    chown_tree(&bundle.rootfs(), 100000, 100000);
    let linux = &mut bundle.config["linux"];
    linux["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "type": "user" }));
    linux["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    linux["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    bundle.write_config();
    let id = unique_id("userns");
    let log = bundle.dir.join("container.log");
    rt.create_logged(&bundle, &id, &log);

    // From the host, the init runs as the mapped ids.
    let pid = pid_of(&rt.state(&id));
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let first = |key: &str| {
        status_field(&status, key)
            .and_then(|v| v.split_whitespace().next())
            .map(String::from)
    };
    assert_eq!(first("Uid").as_deref(), Some("100000"), "{status}");
    assert_eq!(first("Gid").as_deref(), Some("100000"), "{status}");

    rt.ok(&["start", &id]);
    rt.wait_for_status(&id, "stopped");
    rt.ok(&["delete", &id]);
    let out = fs::read_to_string(&log).unwrap();
    let p = pairs(&out);
    let ws = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(get(&p, "uid", &out), "0", "root inside:\n{out}");
    assert_eq!(get(&p, "gid", &out), "0");
    assert_eq!(ws(get(&p, "uid_map", &out)), "0 100000 65536");
    assert_eq!(ws(get(&p, "gid_map", &out)), "0 100000 65536");
    assert_eq!(get(&p, "owner", &out), "0:0", "host 100000 is container 0");
    assert_ne!(get(&p, "userns", &out), host_ns("user"));
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn sysctls_are_set_in_the_containers_namespaces() {
    let keys = [
        ("net.ipv4.ip_forward", "1"),
        ("net.ipv4.ip_default_ttl", "77"),
        ("kernel.shm_rmid_forced", "1"),
    ];
    let host_path = |k: &str| format!("/proc/sys/{}", k.replace('.', "/"));
    let host_before: Vec<String> = keys
        .iter()
        .map(|(k, _)| fs::read_to_string(host_path(k)).unwrap())
        .collect();
    let mut script = String::new();
    for (k, _) in keys {
        script.push_str(&format!("echo {k}=$(cat {}); ", host_path(k)));
    }
    let rt = Runtime::new();
    let mut bundle = sh_bundle(&script);
    bundle.config["linux"]["sysctl"] = keys
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    bundle.write_config();
    let id = unique_id("sysctl");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    for (k, v) in keys {
        assert_eq!(get(&p, k, &out), v, "{k}");
    }
    let host_after: Vec<String> = keys
        .iter()
        .map(|(k, _)| fs::read_to_string(host_path(k)).unwrap())
        .collect();
    assert_eq!(host_before, host_after, "the host's sysctls changed");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn oom_score_adj() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle("echo oom=$(cat /proc/self/oom_score_adj)");
    bundle.config["process"]["oomScoreAdj"] = json!(123);
    bundle.write_config();
    let id = unique_id("oom");
    let out = run_ok(&rt, &bundle, &id);
    let p = pairs(&out);
    assert_eq!(get(&p, "oom", &out), "123");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn joining_another_containers_network_namespace_by_path() {
    let rt = Runtime::new();
    let a = Bundle::new(&["sleep", "1000"]);
    let a_id = unique_id("netns-owner");
    rt.ok(&["create", "--bundle", a.path(), &a_id]);
    let a_pid = pid_of(&rt.state(&a_id));
    let a_net = fs::read_link(format!("/proc/{a_pid}/ns/net")).unwrap();
    let a_uts = fs::read_link(format!("/proc/{a_pid}/ns/uts")).unwrap();
    assert_ne!(a_net.to_str().unwrap(), host_ns("net"));

    let mut b =
        sh_bundle("echo net=$(readlink /proc/self/ns/net); echo uts=$(readlink /proc/self/ns/uts)");
    for ns in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == "network" {
            ns["path"] = json!(format!("/proc/{a_pid}/ns/net"));
        }
    }
    b.write_config();
    let b_id = unique_id("netns-joiner");
    let out = run_ok(&rt, &b, &b_id);
    let p = pairs(&out);
    assert_eq!(
        get(&p, "net", &out),
        a_net.to_str().unwrap(),
        "B joined A's netns"
    );
    assert_ne!(
        get(&p, "uts", &out),
        a_uts.to_str().unwrap(),
        "B's uts is its own"
    );
    assert_ne!(get(&p, "uts", &out), host_ns("uts"));

    rt.ok(&["delete", "--force", &a_id]);
    assert_no_leaks(&rt, &a, &[&a_id]);
    assert_no_leaks(&rt, &b, &[&b_id]);
}

// ---------------------------------------------------------------------------
// cgroups
// ---------------------------------------------------------------------------

/// Runs a container that prints its /proc/self/cgroup, checking the host's
/// cgroup directories (`cgroup(controller)`, the path /proc/self/cgroup shows on the
/// host) while it lives and after delete.
fn check_cgroup_placement(
    rt: &Runtime,
    bundle: &Bundle,
    id: &str,
    cgroup: impl Fn(&str) -> String,
) -> String {
    let log = bundle.dir.join("container.log");
    let dir_of = |ctrl: &str| {
        Path::new("/sys/fs/cgroup")
            .join(ctrl)
            .join(cgroup(ctrl).trim_start_matches('/'))
    };
    rt.create_logged(bundle, id, &log);
    let pid = pid_of(&rt.state(id));
    for ctrl in ["memory", "pids"] {
        let dir = dir_of(ctrl);
        assert!(
            dir.is_dir(),
            "{} missing while the container exists",
            dir.display()
        );
        let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        assert!(
            procs.lines().any(|l| l.trim() == pid.to_string()),
            "the init {pid} is not in {}: {procs:?}",
            dir.display()
        );
    }
    rt.ok(&["start", id]);
    rt.wait_for_status(id, "stopped");
    let out = fs::read_to_string(&log).unwrap();
    for ctrl in ["memory", "pids"] {
        assert_eq!(
            cgroup_of(&out, ctrl),
            Some(cgroup(ctrl)),
            "{ctrl} in the container's /proc/self/cgroup:\n{out}"
        );
    }
    rt.ok(&["delete", id]);
    for ctrl in ["memory", "pids"] {
        let dir = dir_of(ctrl);
        assert!(!dir.exists(), "{} left after delete", dir.display());
    }
    out
}

#[test]
fn default_cgroup_is_named_after_the_id() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["cat", "/proc/self/cgroup"]);
    let id = unique_id("cgroup-default");
    check_cgroup_placement(&rt, &bundle, &id, |ctrl| relative_cgroup(ctrl, &id));
    assert_no_leaks(&rt, &bundle, &[&id]);
}

/// runc's rule: a relative `cgroupsPath` is below the runtime's own cgroup in each
/// hierarchy (here the memory one is not the root), and only what the runtime made is
/// removed: its own cgroup stays.
#[test]
fn relative_cgroups_path_is_below_the_runtimes_cgroup() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["cat", "/proc/self/cgroup"]);
    let id = unique_id("cgroup-relative");
    let parent = format!("ocirun-test-{}", unique_id("cg"));
    let rel = format!("{parent}/{id}");
    bundle.config["linux"]["cgroupsPath"] = json!(rel);
    bundle.write_config();
    check_cgroup_placement(&rt, &bundle, &id, |ctrl| relative_cgroup(ctrl, &rel));
    for ctrl in ["memory", "pids"] {
        let parent_dir = relative_cgroup_dir(ctrl, &parent);
        assert!(!parent_dir.exists(), "{} left", parent_dir.display());
        let own = relative_cgroup_dir(ctrl, "");
        assert!(
            own.is_dir(),
            "the runtime's own cgroup {} was removed",
            own.display()
        );
    }
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn custom_cgroups_path_and_its_parent_are_removed() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["cat", "/proc/self/cgroup"]);
    let id = unique_id("cgroup-custom");
    let parent = format!("ocirun-test-{}", unique_id("cg"));
    let rel = format!("{parent}/{id}");
    bundle.config["linux"]["cgroupsPath"] = json!(format!("/{rel}"));
    bundle.write_config();
    check_cgroup_placement(&rt, &bundle, &id, |_| format!("/{rel}"));
    let left: Vec<PathBuf> = fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.path().join(&parent))
        .filter(|p| p.exists())
        .collect();
    assert!(
        left.is_empty(),
        "the parent cgroup the runtime created is left: {left:?}"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn a_program_the_kernel_cannot_exec_fails_start_with_the_reason() {
    // The program exists and is executable, so create succeeds; only its execve fails,
    // after the init left the runtime's code (through the exec trampoline), so the
    // reason has to travel back to `start`.
    let rt = Runtime::new();
    for (name, content, reason) in [
        ("bad-interpreter", "#!/no/such/interpreter\n", "ENOENT"),
        ("not-a-program", "just text, no #! line\n", "ENOEXEC"),
    ] {
        let program = format!("/bin/{name}");
        let bundle = Bundle::new(&[&program]);
        let file = bundle.rootfs().join(program.trim_start_matches('/'));
        fs::write(&file, content).unwrap();
        fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let id = unique_id(name);
        rt.ok(&["create", "--bundle", bundle.path(), &id]);
        let stderr = rt.fail(&["start", &id]);
        assert_one_line_error(&stderr, &[&id, &format!("exec {program}: {reason}")], name);
        assert_eq!(rt.wait_for_status(&id, "stopped")["status"], "stopped");
        rt.ok(&["delete", &id]);
        assert_no_leaks(&rt, &bundle, &[&id]);
    }
}
