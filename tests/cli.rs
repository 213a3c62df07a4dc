//! The command line, with real containers: flag placement (before or after the
//! id, global flags before or after the subcommand), `--log` and
//! `--log-format`, `--version` and `--help`, clap's errors, the commands that
//! are not implemented yet, `kill`'s signal forms, and `list -q` /
//! `list --format json` / the `ls` alias.
//!
//! Every test that starts containers ends with `assert_no_leaks`.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::Value;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `ocirun args...` exactly as given (no `--root` added), stdin /dev/null,
/// with the hard timeout.
fn ocirun(args: &[&str]) -> Output {
    let mut cmd = Command::new(OCIRUN);
    cmd.args(args).stdin(Stdio::null());
    run_cmd(cmd)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ocirun_ok(args: &[&str]) -> String {
    let out = ocirun(args);
    assert!(
        out.status.success(),
        "`ocirun {}` failed: {out:?}",
        args.join(" ")
    );
    stdout(&out)
}

fn pid_of(state: &Value) -> i64 {
    state["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("state has no integer pid: {state}"))
}

/// The default `--root`, which no test may touch.
const DEFAULT_ROOT: &str = "/run/ocirun";

// ---------------------------------------------------------------------------
// Flag placement
// ---------------------------------------------------------------------------

#[test]
fn flags_before_and_after_the_id_and_root_before_and_after_the_subcommand() {
    let rt = Runtime::new();
    let root = rt.root.to_str().unwrap().to_string();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let b = bundle.path();
    let a = unique_id("flags-after");
    let c = unique_id("flags-before");
    let d = unique_id("flags-detached");

    // --root after the subcommand; --bundle after / before the id.
    assert_eq!(
        ocirun_ok(&["create", "--root", &root, &a, "--bundle", b]),
        ""
    );
    assert_eq!(
        ocirun_ok(&["create", "--root", &root, "--bundle", b, &c]),
        ""
    );
    // --root before the subcommand; run's flags after the id.
    assert_eq!(
        ocirun_ok(&["--root", &root, "run", &d, "-d", "--bundle", b]),
        ""
    );

    for (id, status) in [(&a, "created"), (&c, "created"), (&d, "running")] {
        // Both placements of --root see the same containers.
        let before: Value =
            serde_json::from_str(&ocirun_ok(&["--root", &root, "state", id])).unwrap();
        let after: Value =
            serde_json::from_str(&ocirun_ok(&["state", id, "--root", &root])).unwrap();
        assert_eq!(before["status"], status, "{before}");
        assert_eq!(before, after);
        assert_eq!(
            Path::new(before["bundle"].as_str().unwrap()),
            fs::canonicalize(&bundle.dir).unwrap()
        );
        assert!(
            !Path::new(DEFAULT_ROOT).join(id).exists(),
            "{id} went to the default root"
        );
    }
    let mut listed: Vec<String> = ocirun_ok(&["list", "-q", "--root", &root])
        .lines()
        .map(String::from)
        .collect();
    listed.sort();
    let mut expected = vec![a.clone(), c.clone(), d.clone()];
    expected.sort();
    assert_eq!(listed, expected);

    // kill and delete with their flags on either side of the id.
    ocirun_ok(&["kill", "--root", &root, &d, "KILL", "--all"]);
    ocirun_ok(&["--root", &root, "kill", "--all", &a, "KILL"]);
    rt.wait_for_status(&d, "stopped");
    rt.wait_for_status(&a, "stopped");
    ocirun_ok(&["delete", &d, "--root", &root]);
    ocirun_ok(&["delete", "--root", &root, &a]);
    ocirun_ok(&["delete", &c, "--force", "--root", &root]);
    assert_eq!(rt.ok(&["list", "-q"]), "");
    assert_no_leaks(&rt, &bundle, &[&a, &c, &d]);
}

// ---------------------------------------------------------------------------
// --log, --log-format
// ---------------------------------------------------------------------------

/// An RFC 3339 timestamp in UTC with a fraction: `YYYY-MM-DDTHH:MM:SS.f+Z`.
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && (s.ends_with('Z') || s[19..].contains(['+', '-']))
        && s[..4].bytes().all(|c| c.is_ascii_digit())
}

#[test]
fn log_file_in_json_and_text() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let unknown = unique_id("no-such-container");

    // JSON: every line is an object with level, msg and time.
    let json_log = bundle.dir.join("log.json");
    let jl = json_log.to_str().unwrap();
    let err = rt.fail(&["--log", jl, "--log-format", "json", "state", &unknown]);
    assert_one_line_error(&err, &[&unknown], "state of an unknown id");
    let text = fs::read_to_string(&json_log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "nothing logged");
    for l in &lines {
        assert!(l["level"].is_string() && l["msg"].is_string(), "{l}");
        assert!(
            looks_like_rfc3339(l["time"].as_str().unwrap_or_default()),
            "{l}"
        );
    }
    let errors: Vec<&Value> = lines.iter().filter(|l| l["level"] == "error").collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(
        errors[0]["msg"].as_str().unwrap().contains(&unknown),
        "the error names the id: {text}"
    );

    // The same file with a real container: still only JSON lines, and --log
    // after the subcommand works too.
    let id = unique_id("logged");
    rt.ok(&[
        "create",
        "--log",
        jl,
        "--log-format",
        "json",
        "--debug",
        "--bundle",
        bundle.path(),
        &id,
    ]);
    rt.ok(&[
        "--log",
        jl,
        "--log-format",
        "json",
        "delete",
        "--force",
        &id,
    ]);
    let text = fs::read_to_string(&json_log).unwrap();
    let count = text.lines().count();
    assert!(
        count > lines.len(),
        "--debug create logged nothing:\n{text}"
    );
    for l in text.lines() {
        let v: Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{text}"));
        assert!(v["level"].is_string() && v["msg"].is_string() && v["time"].is_string());
    }

    // Text: logfmt like runc's.
    let text_log = bundle.dir.join("log.txt");
    let tl = text_log.to_str().unwrap();
    rt.fail(&["--log", tl, "--log-format", "text", "state", &unknown]);
    let text = fs::read_to_string(&text_log).unwrap();
    let error_lines: Vec<&str> = text.lines().filter(|l| l.contains("level=error")).collect();
    assert_eq!(error_lines.len(), 1, "{text}");
    let line = error_lines[0];
    assert!(line.starts_with("time=\""), "{line}");
    assert!(line.contains(" msg=\""), "{line}");
    assert!(line.contains(&unknown), "{line}");

    // An unknown format is refused by the parser.
    let err = rt.fail(&["--log-format", "xml", "list"]);
    assert!(err.contains("xml"), "{err}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// --version, --help, clap errors
// ---------------------------------------------------------------------------

#[test]
fn version_and_help_print_and_run_nothing() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("help");
    for flag in ["--version", "-v"] {
        let out = ocirun_ok(&[flag]);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines
                .first()
                .is_some_and(|l| l.starts_with("ocirun version ")),
            "{out}"
        );
        assert!(lines.contains(&"spec: 1.3.0"), "{out}");
        // With a command after it, only the version is printed.
        let out = rt.ok(&[flag, "create", "--bundle", bundle.path(), &id]);
        assert!(out.starts_with("ocirun version "), "{out}");
        assert!(rt.try_state(&id).is_none(), "{flag} create created {id}");
    }
    let help = ocirun_ok(&["--help"]);
    for command in [
        "create", "start", "run", "state", "list", "kill", "delete", "spec",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "--help does not list {command}:\n{help}"
        );
    }
    assert!(help.contains("--root"), "{help}");
    // Help for a command, even with everything it needs, runs nothing.
    let create_help = rt.ok(&["create", "--bundle", bundle.path(), &id, "--help"]);
    for flag in [
        "--bundle",
        "--console-socket",
        "--pid-file",
        "--no-pivot",
        "--no-new-keyring",
        "--preserve-fds",
    ] {
        assert!(create_help.contains(flag), "create --help lacks {flag}");
    }
    assert!(rt.try_state(&id).is_none(), "create --help created {id}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn unknown_commands_and_flags_are_refused_and_create_nothing() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("clap-errors");
    for (args, words) in [
        (
            vec!["frobnicate", id.as_str()],
            vec!["unrecognized subcommand 'frobnicate'"],
        ),
        (
            vec!["create", "--bogus", "--bundle", bundle.path(), &id],
            vec!["unexpected argument '--bogus'"],
        ),
        (
            vec!["--bogus-global", "create", "--bundle", bundle.path(), &id],
            vec!["unexpected argument '--bogus-global'"],
        ),
        (
            vec!["create", "--bundle", bundle.path()],
            vec!["required arguments were not provided", "<ID>"],
        ),
        (
            vec!["list", "--format", "yaml"],
            vec!["invalid value 'yaml' for '--format"],
        ),
        (
            vec![
                "create",
                "--preserve-fds",
                "many",
                "--bundle",
                bundle.path(),
                &id,
            ],
            vec!["invalid value 'many' for '--preserve-fds"],
        ),
    ] {
        let out = rt.run(&args);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "`ocirun {}` should fail with 1: {out:?}",
            args.join(" ")
        );
        for w in words {
            assert!(
                err.contains(w),
                "`{}`: {w:?} not in:\n{err}",
                args.join(" ")
            );
        }
        assert!(stdout(&out).is_empty());
    }
    assert!(rt.try_state(&id).is_none());
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// Commands that are not implemented yet
// ---------------------------------------------------------------------------

#[test]
fn unimplemented_commands_fail_clearly_and_leave_the_container_alone() {
    // exec, ps, pause, resume, update, events and features are implemented (tests/exec.rs,
    // tests/cgroups.rs, tests/events.rs); these are not yet.
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("unimplemented");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let before = rt.state(&id);
    let pid = pid_of(&before);
    for args in [vec!["checkpoint", id.as_str()], vec!["restore", &id]] {
        let err = rt.fail(&args);
        assert_one_line_error(
            &err,
            &[args[0], "not implemented"],
            &format!("ocirun {}", args.join(" ")),
        );
    }
    // Still running, unfrozen, and unchanged.
    let after = rt.state(&id);
    assert_eq!(after, before);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(
        status_field(&status, "State").map(|s| &s[..1]),
        Some("S"),
        "{status}"
    );
    let freezer = relative_cgroup_dir("freezer", &id).join("freezer.state");
    if let Ok(state) = fs::read_to_string(&freezer) {
        assert_eq!(state.trim(), "THAWED", "{}", freezer.display());
    }
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// kill's signal forms
// ---------------------------------------------------------------------------

#[test]
fn kill_accepts_numbers_and_names_with_or_without_sig_in_any_case() {
    let rt = Runtime::new();
    let mut traps = String::new();
    for sig in ["USR1", "USR2", "HUP", "WINCH", "INT", "QUIT"] {
        traps.push_str(&format!("trap 'echo {sig} >> /dev/shm/got' {sig}; "));
    }
    let bundle = Bundle::new(&[
        "sh",
        "-c",
        &format!("{traps} touch /dev/shm/ready; while true; do sleep 0.1; done"),
    ]);
    let id = unique_id("kill-forms");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let pid = pid_of(&rt.state(&id));
    let shm = format!("/proc/{pid}/root/dev/shm");
    wait_until("the traps to be installed", || {
        Path::new(&format!("{shm}/ready")).exists()
    });
    let got = || fs::read_to_string(format!("{shm}/got")).unwrap_or_default();
    let mut expected = Vec::new();
    for (given, received) in [
        ("10", "USR1"),
        ("USR2", "USR2"),
        ("SIGHUP", "HUP"),
        ("winch", "WINCH"),
        ("sigint", "INT"),
        ("SigQuit", "QUIT"),
    ] {
        assert_eq!(rt.ok(&["kill", &id, given]), "", "kill {given}");
        expected.push(received);
        wait_until(
            &format!("the container to trap {received} (kill {given})"),
            || got().lines().count() == expected.len(),
        );
        assert_eq!(
            got().lines().collect::<Vec<_>>(),
            expected,
            "after kill {given}"
        );
    }
    // (SIGBOGUS and 999 are in tests/bad_input.rs.)
    for bad in ["SIG", "KILLL", "usr3", "SIG9"] {
        let err = rt.fail(&["kill", &id, bad]);
        assert_one_line_error(&err, &[bad, "signal"], &format!("kill {bad}"));
    }
    assert_eq!(rt.state(&id)["status"], "running");
    // 9 by number ends it.
    rt.ok(&["kill", &id, "9"]);
    rt.wait_for_status(&id, "stopped");
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn kill_by_number_sends_real_time_signals() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&[
        "sh",
        "-c",
        "trap 'echo RT3 >> /dev/shm/got' 37; touch /dev/shm/ready; while true; do sleep 0.1; done",
    ]);
    let id = unique_id("kill-rt");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let pid = pid_of(&rt.state(&id));
    let shm = format!("/proc/{pid}/root/dev/shm");
    wait_until("the trap to be installed", || {
        Path::new(&format!("{shm}/ready")).exists()
    });
    // SIGRTMIN+3 is 37 for the kernel (glibc reserves 32 and 33).
    rt.ok(&["kill", &id, "37"]);
    wait_until("the container to trap signal 37", || {
        fs::read_to_string(format!("{shm}/got")).is_ok_and(|g| g == "RT3\n")
    });
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// list
// ---------------------------------------------------------------------------

#[test]
fn list_quiet_json_and_the_ls_alias_with_two_containers() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let created = unique_id("list-created");
    let running = unique_id("list-running");
    rt.ok(&["create", "--bundle", bundle.path(), &created]);
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &running]);
    let mut ids = vec![created.clone(), running.clone()];
    ids.sort();

    for command in ["list", "ls"] {
        let mut quiet: Vec<String> = rt.ok(&[command, "-q"]).lines().map(String::from).collect();
        quiet.sort();
        assert_eq!(quiet, ids, "{command} -q");
        let mut long: Vec<String> = rt
            .ok(&[command, "--quiet"])
            .lines()
            .map(String::from)
            .collect();
        long.sort();
        assert_eq!(long, ids, "{command} --quiet");

        for format in [
            vec!["--format", "json"],
            vec!["-f", "json"],
            vec!["--format=json"],
        ] {
            let mut args = vec![command];
            args.extend(format.iter().copied());
            let text = rt.ok(&args);
            let listed: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{args:?} is not JSON ({e}):\n{text}"));
            let entries = listed.as_array().expect("an array");
            assert_eq!(entries.len(), 2, "{text}");
            for (id, status) in [(&created, "created"), (&running, "running")] {
                let e = entries
                    .iter()
                    .find(|e| e["id"] == id.as_str())
                    .unwrap_or_else(|| panic!("{id} not in {text}"));
                assert_eq!(e["status"], status, "{e}");
                let state = rt.state(id);
                assert_eq!(e["pid"], state["pid"], "{e}");
                assert_eq!(e["bundle"], state["bundle"], "{e}");
                assert_eq!(e["created"], state["created"], "{e}");
                assert_eq!(e["owner"], "root", "{e}");
            }
        }

        let table = rt.ok(&[command]);
        let rows: Vec<Vec<&str>> = table
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows.len(), 2, "{table}");
        for (id, status) in [(&created, "created"), (&running, "running")] {
            assert!(
                rows.iter().any(|r| r[0] == id.as_str() && r[2] == status),
                "{command}: no row for {id} {status}:\n{table}"
            );
        }
    }
    assert_eq!(rt.ok(&["ls"]), rt.ok(&["list"]));

    rt.ok(&["delete", "--force", &created]);
    rt.ok(&["delete", "--force", &running]);
    assert_eq!(rt.ok(&["ls", "-q"]), "");
    assert_eq!(rt.ok(&["list", "--format", "json"]).trim(), "null");
    assert_no_leaks(&rt, &bundle, &[&created, &running]);
}

/// Where systemd is not PID 1 the driver refuses, saying so; where it is, the driver is
/// tested by the systemd lane (tests/systemd-lane), in a guest booted with systemd.
#[test]
fn systemd_cgroup_driver_without_systemd_fails_clearly_and_leaves_nothing() {
    if std::path::Path::new("/run/systemd/system").is_dir() {
        println!("skipped: systemd runs here; tests/systemd-lane tests the driver");
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["true"]);
    let id = unique_id("systemd-cgroup");
    for command in ["run", "create"] {
        let err = rt.fail(&["--systemd-cgroup", command, "--bundle", bundle.path(), &id]);
        assert_one_line_error(
            &err,
            &["--systemd-cgroup", "systemd is not running"],
            "systemd driver",
        );
    }
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn features_describe_what_the_runtime_implements() {
    let rt = Runtime::new();
    let out = rt.ok(&["features"]);
    let features: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(features["ociVersionMin"], "1.0.0");
    assert_eq!(features["ociVersionMax"], "1.3.0");
    assert_eq!(features["hooks"].as_array().map(Vec::len), Some(6));
    let options: Vec<&str> = features["mountOptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o.as_str())
        .collect();
    for option in ["ro", "rbind", "rslave", "nosuid", "tmpcopyup"] {
        assert!(
            options.contains(&option),
            "{option} missing from {options:?}"
        );
    }
    assert_eq!(features["linux"]["seccomp"]["enabled"], true);
    assert!(features["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "time"));
}
