//! systemd socket activation: descriptors passed to ocirun with LISTEN_FDS/LISTEN_PID
//! reach the container as fds 3.., announced for the container's own pid 1.

mod common;
use common::*;
use std::process::Command;

/// `ocirun run` started by a shell that opened `fd3_file` as fd 3 and exported
/// LISTEN_FDS=1 LISTEN_PID=`listen_pid`; asserted successful, its stdout.
fn run_with_fd3(
    rt: &Runtime,
    bundle: &Bundle,
    id: &str,
    fd3_file: &str,
    listen_pid: &str,
) -> String {
    let script = format!(
        "exec 3<{fd3_file}; export LISTEN_FDS=1 LISTEN_PID={listen_pid}; exec {OCIRUN} --root {} run --bundle {} {id}",
        rt.root.display(),
        bundle.path()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]);
    let out = run_cmd(cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn listen_fds_reach_the_container_with_its_own_pid() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3"]);
    let id = unique_id("socket-activation");
    let marker = bundle.dir.join("passed");
    std::fs::write(&marker, "through fd 3\n").unwrap();
    // The shell becomes ocirun, so LISTEN_PID=$$ names ocirun's own pid.
    let fd3 = marker.display().to_string();
    let stdout = run_with_fd3(&rt, &bundle, &id, &fd3, "$$");
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
    let stdout = run_with_fd3(&rt, &bundle, &id, "/dev/null", "1");
    assert_eq!(stdout, "[]\nno-3\n");
    assert_no_leaks(&rt, &bundle, &[&id]);
}
