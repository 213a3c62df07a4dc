//! Crash consistency: the runtime is killed (SIGKILL, by the `fault-injection` build's
//! named points) at every journaled step. Afterwards `state` and `list` tell the truth,
//! `delete --force` succeeds, and nothing is left on the host.

#![cfg(feature = "fault-injection")]

mod common;
use common::*;
use std::os::unix::process::ExitStatusExt;

/// The commands that lead to a crash point: what to run normally first, and which
/// command carries the fault.
fn scenario(point: &str) -> (Vec<&'static str>, &'static str) {
    match point.split(':').next().unwrap() {
        "create" => (vec![], "create"),
        "start" => (vec!["create"], "start"),
        "kill" => (vec!["create", "start"], "kill"),
        "delete" => (vec!["create", "start"], "delete"),
        other => panic!("no scenario for {other}"),
    }
}

fn command_args<'a>(command: &str, id: &'a str, bundle: &'a str) -> Vec<&'a str> {
    match command {
        "create" => vec!["create", "--bundle", bundle, id],
        "start" => vec!["start", id],
        "kill" => vec!["kill", id, "KILL"],
        "delete" => vec!["delete", "--force", id],
        other => panic!("unknown command {other}"),
    }
}

/// After a crash: `state` either says the container is gone or prints a status that
/// matches what runs; `list` answers and agrees.
fn assert_truthful(rt: &Runtime, id: &str, point: &str) {
    assert_state_truthful(rt, id, point, true);
    let listed = rt.ok(&["list", "-q"]);
    assert!(
        listed.lines().any(|l| l == id),
        "{point}: list does not show {id}: {listed}"
    );
}

/// `state` against /proc. An init orphaned by the killed runtime exits on its own, so it
/// may die between `state` and our look at /proc: then (`may_retry`) `state` is asked
/// again and must say so now.
fn assert_state_truthful(rt: &Runtime, id: &str, point: &str, may_retry: bool) {
    let out = rt.run(&["state", id]);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("does not exist"),
            "{point}: state failed oddly: {stderr}"
        );
        return;
    }
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{point}: state is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let status = state["status"].as_str().unwrap_or_default();
    let pid = state["pid"].as_i64().unwrap_or(-1);
    match status {
        "creating" | "created" | "running" => {
            assert!(pid > 0, "{point}: {status} with pid {pid}");
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| !s.contains(") Z "));
            if !alive && may_retry {
                return assert_state_truthful(rt, id, point, false);
            }
            assert!(
                alive,
                "{point}: state says {status} but pid {pid} is not alive"
            );
        }
        "stopped" => assert_eq!(pid, 0, "{point}: stopped with a pid"),
        other => panic!("{point}: unexpected status {other:?}"),
    }
}

#[test]
fn every_crash_point_recovers_with_delete_force() {
    for point in ocirun::fault::POINTS {
        let rt = Runtime::new();
        let bundle = Bundle::new(&["sleep", "1000"]);
        let id = unique_id("crash");
        let (before, faulty) = scenario(point);
        for command in before {
            rt.ok(&command_args(command, &id, bundle.path()));
        }
        let mut cmd = rt.cmd(&command_args(faulty, &id, bundle.path()));
        cmd.env("OCIRUN_FAULT", point);
        let out = run_cmd(cmd);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGKILL),
            "{point}: the runtime was not killed there ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_truthful(&rt, &id, point);
        let deleted = rt.run(&["delete", "--force", &id]);
        assert!(
            deleted.status.success(),
            "{point}: delete --force failed: {}",
            String::from_utf8_lossy(&deleted.stderr)
        );
        assert!(
            rt.try_state(&id).is_none(),
            "{point}: the container survived delete --force"
        );
        assert_no_leaks(&rt, &bundle, &[&id]);
        println!("{point}: recovered, nothing left");
    }
}

#[test]
fn a_crashed_create_never_starts() {
    for point in [
        "create:after-clone",
        "create:after-init-recorded",
        "create:before-commit",
    ] {
        let rt = Runtime::new();
        let bundle = Bundle::new(&["sleep", "1000"]);
        let id = unique_id("crash-start");
        let mut cmd = rt.cmd(&["create", "--bundle", bundle.path(), &id]);
        cmd.env("OCIRUN_FAULT", point);
        run_cmd(cmd);
        let err = rt.fail(&["start", &id]);
        assert!(err.contains(&id), "{point}: {err}");
        rt.ok(&["delete", "--force", &id]);
        assert_no_leaks(&rt, &bundle, &[&id]);
    }
}

#[test]
fn an_init_dying_during_setup_fails_create_cleanly() {
    for point in ocirun::fault::INIT_POINTS
        .iter()
        .filter(|p| **p != "init:waiting-for-start")
    {
        let rt = Runtime::new();
        let bundle = Bundle::new(&["sleep", "1000"]);
        let id = unique_id("init-dies");
        let mut cmd = rt.cmd(&["create", "--bundle", bundle.path(), &id]);
        cmd.env("OCIRUN_FAULT", point);
        let out = run_cmd(cmd);
        assert!(!out.status.success(), "{point}: create succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_one_line_error(&stderr, &["init"], point);
        assert!(
            rt.try_state(&id).is_none(),
            "{point}: a failed create left a container"
        );
        assert_no_leaks(&rt, &bundle, &[&id]);
    }
}

#[test]
fn an_init_dying_while_created_reads_as_stopped_and_deletes() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("init-dies-created");
    let mut cmd = rt.cmd(&["create", "--bundle", bundle.path(), &id]);
    cmd.env("OCIRUN_FAULT", "init:waiting-for-start");
    let out = run_cmd(cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rt.wait_for_status(&id, "stopped");
    let err = rt.fail(&["start", &id]);
    assert!(err.contains(&id), "{err}");
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}
