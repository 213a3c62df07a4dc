//! Bad bundles, bad ids and commands in the wrong state: each must fail with a
//! clear one-line error naming the problem, a non-zero exit, and leave nothing
//! behind (no state directory, mount, cgroup or process).

mod common;

use std::fs;
use std::os::unix::net::UnixListener;
use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// `create` and `run` of a bundle changed by `mutate` fail with a one-line
/// error containing `words`; nothing is left.
fn config_error(mutate: impl FnOnce(&mut Bundle), words: &[&str]) {
    config_error_of(&["create", "run"], mutate, words)
}

fn config_error_of(commands: &[&str], mutate: impl FnOnce(&mut Bundle), words: &[&str]) {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sleep", "1000"]);
    mutate(&mut bundle);
    for &command in commands {
        let id = unique_id(&format!("bad-{command}"));
        let mut args: Vec<&str> = command.split(' ').collect();
        args.extend(["--bundle", bundle.path(), &id]);
        let err = rt.fail(&args);
        assert_one_line_error(&err, words, &format!("`{command}` of a bad bundle"));
        assert!(
            rt.try_state(&id).is_none(),
            "{id} exists after a failed {command}"
        );
        assert_no_leaks(&rt, &bundle, &[&id]);
    }
}

fn edit(bundle: &mut Bundle, f: impl FnOnce(&mut Value)) {
    f(&mut bundle.config);
    bundle.write_config();
}

// ---------------------------------------------------------------------------
// Bad bundles
// ---------------------------------------------------------------------------

#[test]
fn no_config_json() {
    config_error(
        |b| fs::remove_file(b.config_path()).unwrap(),
        &["config.json"],
    );
}

#[test]
fn config_json_is_not_json() {
    config_error(
        |b| fs::write(b.config_path(), "{ this is not json").unwrap(),
        &["config.json"],
    );
}

#[test]
fn config_json_is_truncated() {
    config_error(
        |b| fs::write(b.config_path(), r#"{"ociVersion": "1.0.2", "process": {"#).unwrap(),
        &["config.json"],
    );
}

#[test]
fn root_path_missing() {
    config_error(
        |b| {
            edit(b, |c| {
                c["root"]
                    .as_object_mut()
                    .unwrap()
                    .retain(|k, _| k != "path")
            })
        },
        &["root"],
    );
}

#[test]
fn root_missing() {
    config_error(
        |b| edit(b, |c| c.as_object_mut().unwrap().retain(|k, _| k != "root")),
        &["root"],
    );
}

#[test]
fn root_path_is_a_missing_directory() {
    config_error(
        |b| edit(b, |c| c["root"]["path"] = json!("no-such-rootfs")),
        &["root.path", "no-such-rootfs"],
    );
}

#[test]
fn process_missing() {
    config_error(
        |b| {
            edit(b, |c| {
                c.as_object_mut().unwrap().retain(|k, _| k != "process")
            })
        },
        &["process"],
    );
}

#[test]
fn unknown_namespace_type() {
    config_error(
        |b| {
            edit(b, |c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "type": "bogusns" }))
            })
        },
        &["namespaces", "bogusns"],
    );
}

#[test]
fn duplicate_namespace() {
    config_error(
        |b| {
            edit(b, |c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "type": "ipc" }))
            })
        },
        &["namespaces", "ipc"],
    );
}

#[test]
fn uid_mappings_without_a_user_namespace() {
    config_error(
        |b| {
            edit(b, |c| {
                c["linux"]["uidMappings"] =
                    json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
                c["linux"]["gidMappings"] =
                    json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
            })
        },
        &["uidMappings"],
    );
}

#[test]
fn program_missing_in_the_rootfs() {
    config_error(
        |b| edit(b, |c| c["process"]["args"] = json!(["/nonexistent"])),
        &["/nonexistent"],
    );
}

#[test]
fn program_not_found_in_path() {
    config_error(
        |b| edit(b, |c| c["process"]["args"] = json!(["no-such-program"])),
        &["no-such-program"],
    );
}

#[test]
fn args_empty() {
    config_error(|b| edit(b, |c| c["process"]["args"] = json!([])), &["args"]);
}

#[test]
fn unknown_capability() {
    config_error(
        |b| {
            edit(b, |c| {
                c["process"]["capabilities"]["bounding"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("CAP_BOGUS"))
            })
        },
        &["CAP_BOGUS"],
    );
}

#[test]
fn relative_cwd() {
    config_error(
        |b| edit(b, |c| c["process"]["cwd"] = json!("tmp")),
        &["cwd"],
    );
}

#[test]
fn hostname_without_a_uts_namespace() {
    config_error(
        |b| {
            edit(b, |c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "uts")
            })
        },
        &["hostname"],
    );
}

#[test]
fn bind_mount_of_a_missing_source() {
    config_error(
        |b| {
            edit(b, |c| {
                c["mounts"].as_array_mut().unwrap().push(json!({
                    "destination": "/data",
                    "type": "bind",
                    "source": "/nonexistent-bind-source",
                    "options": ["rbind"],
                }))
            })
        },
        &["/nonexistent-bind-source"],
    );
}

#[test]
fn terminal_without_console_socket() {
    // Not `run` in the foreground: it gives the container a terminal of its
    // own, as runc does.
    config_error_of(
        &["create", "run -d"],
        |b| edit(b, |c| c["process"]["terminal"] = json!(true)),
        &["console-socket"],
    );
}

#[test]
fn console_socket_with_terminal_false() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let socket = bundle.dir.join("console.sock");
    let _listener = UnixListener::bind(&socket).unwrap();
    let id = unique_id("console-no-terminal");
    let err = rt.fail(&[
        "create",
        "--console-socket",
        socket.to_str().unwrap(),
        "--bundle",
        bundle.path(),
        &id,
    ]);
    assert_one_line_error(
        &err,
        &["console-socket", "terminal"],
        "create --console-socket",
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------

#[test]
fn duplicate_id_fails_and_keeps_the_first_container_intact() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("dup");
    rt.ok(&["create", "--bundle", bundle.path(), &id]);
    let first = rt.state(&id);
    let pid = first["pid"].as_i64().unwrap();

    for command in ["create", "run"] {
        let err = rt.fail(&[command, "--bundle", bundle.path(), &id]);
        assert_one_line_error(&err, &[&id], &format!("{command} with a duplicate id"));
    }
    // The first container is untouched: same state, process and cgroup.
    let now = rt.state(&id);
    assert_eq!(now, first, "the first container's state changed");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    let procs = fs::read_to_string(relative_cgroup_dir("pids", &id).join("cgroup.procs"))
        .expect("the first container's cgroup is gone");
    assert!(
        procs.lines().any(|l| l.trim() == pid.to_string()),
        "{procs:?}"
    );
    // ...and still works.
    rt.ok(&["start", &id]);
    assert_eq!(rt.state(&id)["status"], "running");
    rt.ok(&["kill", &id, "KILL"]);
    rt.wait_for_status(&id, "stopped");
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn concurrent_creates_of_one_id_make_exactly_one_container() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("race");
    let racers: Vec<Background> = (0..4)
        .map(|_| Background::spawn(rt.cmd(&["create", "--bundle", bundle.path(), &id])))
        .collect();
    let outputs: Vec<_> = racers.into_iter().map(Background::wait).collect();
    let winners = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(winners, 1, "exactly one create must win: {outputs:#?}");
    for o in outputs.iter().filter(|o| !o.status.success()) {
        assert_one_line_error(&String::from_utf8_lossy(&o.stderr), &[&id], "losing create");
    }
    let state = rt.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn invalid_ids_are_refused() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let escape = unique_id("escape");
    let escape_id = format!("../{escape}");
    let long_id = "x".repeat(300);
    for id in [
        "a/b",
        "..",
        ".",
        "",
        ".hidden",
        "a b",
        escape_id.as_str(),
        long_id.as_str(),
    ] {
        let err = rt.fail(&["create", "--bundle", bundle.path(), id]);
        let words: &[&str] = if id.is_empty() {
            &["id"]
        } else if id.len() > 255 {
            &["too long"]
        } else {
            &[id]
        };
        assert_one_line_error(&err, words, &format!("create with id {id:?}"));
        assert!(
            rt.root_entries().is_empty(),
            "id {id:?} left {:?}",
            rt.root_entries()
        );
    }
    // Nothing was made outside the root either.
    let outside = rt.root.parent().unwrap().join(&escape);
    assert!(!outside.exists(), "{} was created", outside.display());
    assert_no_leaks(&rt, &bundle, &[&escape]);
}

#[test]
fn unknown_id_for_state_start_kill_delete() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("unknown");
    for args in [
        vec!["state", id.as_str()],
        vec!["start", &id],
        vec!["kill", &id],
        vec!["kill", &id, "KILL"],
        vec!["delete", &id],
    ] {
        let err = rt.fail(&args);
        assert_one_line_error(
            &err,
            &[&id],
            &format!("`{}` of an unknown id", args.join(" ")),
        );
        assert!(
            rt.root_entries().is_empty(),
            "`{}` created {:?}",
            args.join(" "),
            rt.root_entries()
        );
    }
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn delete_force_of_an_unknown_id_succeeds_like_runc() {
    let rt = Runtime::new();
    let id = unique_id("unknown-force");
    let out = rt.run(&["delete", "--force", &id]);
    assert!(
        out.status.success(),
        "runc 1.1.5 returns 0 for `delete --force` of a missing container; ocirun: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------
// Commands in the wrong state
// ---------------------------------------------------------------------------

#[test]
fn start_of_a_running_container() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("start-running");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let before = rt.state(&id);
    assert_eq!(before["status"], "running");
    let err = rt.fail(&["start", &id]);
    assert_one_line_error(&err, &[&id, "running"], "start of a running container");
    assert_eq!(
        rt.state(&id),
        before,
        "a refused start changed the container"
    );
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn start_and_kill_of_a_stopped_container() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["true"]);
    let id = unique_id("stopped");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    rt.wait_for_status(&id, "stopped");
    let err = rt.fail(&["start", &id]);
    assert_one_line_error(&err, &[&id, "stopped"], "start of a stopped container");
    for args in [vec!["kill", id.as_str()], vec!["kill", &id, "KILL"]] {
        let err = rt.fail(&args);
        assert_one_line_error(&err, &[&id, "stopped"], "kill of a stopped container");
    }
    assert_eq!(rt.state(&id)["status"], "stopped");
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn delete_of_a_running_container_needs_force() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("delete-running");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let state = rt.state(&id);
    let pid = state["pid"].as_i64().unwrap();
    let err = rt.fail(&["delete", &id]);
    assert_one_line_error(&err, &[&id, "running"], "delete of a running container");
    let after = rt.state(&id);
    assert_eq!(after, state, "a refused delete changed the container");
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the refused delete killed it"
    );
    assert!(relative_cgroup_dir("memory", &id).is_dir());

    assert_eq!(rt.ok(&["delete", "--force", &id]), "");
    assert!(rt.try_state(&id).is_none());
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn kill_with_an_unknown_signal() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("bad-signal");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    for signal in ["SIGBOGUS", "999"] {
        let err = rt.fail(&["kill", &id, signal]);
        assert_one_line_error(&err, &[signal], "kill with an unknown signal");
    }
    assert_eq!(rt.state(&id)["status"], "running");
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn program_removed_between_create_and_start() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["/tmp/prog", "true"]);
    let prog = bundle.rootfs().join("tmp/prog");
    fs::copy(BUSYBOX, &prog).unwrap();
    let id = unique_id("prog-removed");
    rt.ok(&["create", "--bundle", bundle.path(), &id]);
    fs::remove_file(&prog).unwrap();
    let err = rt.fail(&["start", &id]);
    assert_one_line_error(&err, &["/tmp/prog"], "start after the program was removed");
    let state = rt.wait_for_status(&id, "stopped");
    assert_eq!(state["pid"], 0);
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}
