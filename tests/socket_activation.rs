//! systemd socket activation: descriptors passed to ocirun with LISTEN_FDS/LISTEN_PID
//! reach the container as fds 3.., announced for the container's own pid 1.

mod common;
use common::*;
use std::process::Command;

#[test]
fn listen_fds_reach_the_container_with_its_own_pid() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3"]);
    let id = unique_id("socket-activation");
    let marker = bundle.dir.join("passed");
    std::fs::write(&marker, "through fd 3\n").unwrap();
    // The shell opens fd 3 and becomes ocirun, so LISTEN_PID names ocirun's own pid.
    let script = format!(
        "exec 3<{}; export LISTEN_FDS=1 LISTEN_PID=$$; exec {OCIRUN} --root {} run --bundle {} {id}",
        marker.display(),
        rt.root.display(),
        bundle.path()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]);
    let out = run_cmd(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "1 1\nthrough fd 3\n");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn listen_fds_for_another_process_are_ignored() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&[
        "sh",
        "-c",
        "echo [$LISTEN_FDS]; if { true <&3; } 2>/dev/null; then echo has-3; else echo no-3; fi",
    ]);
    let id = unique_id("socket-activation-other");
    let script = format!(
        "exec 3</dev/null; export LISTEN_FDS=1 LISTEN_PID=1; exec {OCIRUN} --root {} run --bundle {} {id}",
        rt.root.display(),
        bundle.path()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]);
    let out = run_cmd(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "[]\nno-3\n");
    assert_no_leaks(&rt, &bundle, &[&id]);
}
