//! `exec`: a new process joins every namespace and the cgroup of a running container,
//! takes the requested identity, returns its own exit code, and leaves the container's
//! lifecycle alone.

mod common;
use common::*;
use serde_json::json;
use std::fs;

/// A running container (`sleep 1000`) and what a test needs of it.
struct Running {
    rt: Runtime,
    bundle: Bundle,
    id: String,
    pid: i64,
}

impl Running {
    fn start(prefix: &str) -> Running {
        let rt = Runtime::new();
        let bundle = Bundle::new(&["sleep", "1000"]);
        let id = unique_id(prefix);
        rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
        let pid = rt.state(&id)["pid"].as_i64().expect("pid");
        Running {
            rt,
            bundle,
            id,
            pid,
        }
    }

    /// `exec FLAGS ID COMMAND...`: flags before the id, as runc requires.
    fn exec_with(&self, flags: &[&str], command: &[&str]) -> std::process::Output {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.push(&self.id);
        args.extend_from_slice(command);
        self.rt.run(&args)
    }

    fn exec(&self, command: &[&str]) -> std::process::Output {
        self.exec_with(&[], command)
    }

    fn exec_ok_with(&self, flags: &[&str], command: &[&str]) -> String {
        let out = self.exec_with(flags, command);
        assert!(
            out.status.success(),
            "exec {flags:?} {command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn exec_ok(&self, command: &[&str]) -> String {
        self.exec_ok_with(&[], command)
    }

    fn finish(self) {
        self.rt.ok(&["delete", "--force", &self.id]);
        assert_no_leaks(&self.rt, &self.bundle, &[&self.id]);
    }
}

#[test]
fn exec_joins_every_namespace_and_the_cgroup_of_the_container() {
    let c = Running::start("exec-ns");
    let kinds = ["pid", "net", "ipc", "uts", "mnt"];
    let script = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}"))
        .collect::<Vec<_>>()
        .join("; ");
    let inside = c.exec_ok(&["sh", "-c", &script]);
    let expected: Vec<String> = kinds
        .iter()
        .map(|k| {
            fs::read_link(format!("/proc/{}/ns/{k}", c.pid))
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(inside.lines().collect::<Vec<_>>(), expected);
    for k in kinds {
        assert_ne!(
            host_ns(k),
            fs::read_link(format!("/proc/{}/ns/{k}", c.pid))
                .unwrap()
                .to_string_lossy()
        );
    }
    let cgroup = c.exec_ok(&["cat", "/proc/self/cgroup"]);
    let init_cgroup = fs::read_to_string(format!("/proc/{}/cgroup", c.pid)).unwrap();
    assert_eq!(cgroup, init_cgroup);
    assert!(cgroup.contains(&format!(":/{}", c.id)), "{cgroup}");
    c.finish();
}

#[test]
fn exec_is_not_pid_1_and_sees_the_containers_root() {
    let c = Running::start("exec-root");
    let out = c.exec_ok(&[
        "sh",
        "-c",
        "echo $$; ls /bin/busybox; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    let mut lines = out.lines();
    let pid: i64 = lines.next().unwrap().parse().unwrap();
    assert!(pid > 1, "{out}");
    assert_eq!(lines.next(), Some("/bin/busybox"));
    assert_eq!(lines.next().map(str::trim), Some("sleep 1000"));
    c.finish();
}

#[test]
fn exit_code_and_death_by_signal() {
    let c = Running::start("exec-exit");
    let out = c.exec(&["sh", "-c", "exit 42"]);
    assert_eq!(out.status.code(), Some(42));
    let mut background = Background::spawn(c.rt.cmd(&["exec", &c.id, "sleep", "1000"]));
    // Found on the host: a sleep in the container's pid namespace that is not the init.
    let mut sleeper = None;
    wait_until("the exec'd sleep to appear", || {
        sleeper = fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let pid: i64 = e.file_name().to_str()?.parse().ok()?;
            let cmd = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let parent_ns = fs::read_link(format!("/proc/{pid}/ns/pid")).ok()?;
            let ours = fs::read_link(format!("/proc/{}/ns/pid", c.pid)).ok()?;
            (cmd == b"sleep\x001000\x00" && pid != c.pid && parent_ns == ours).then_some(pid)
        });
        sleeper.is_some()
    });
    // SAFETY: SIGKILL to the exec'd process we just found.
    unsafe { libc::kill(sleeper.unwrap() as i32, libc::SIGKILL) };
    let _ = background.try_wait();
    let out = background.wait();
    assert_eq!(
        out.status.code(),
        Some(137),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        c.rt.state(&c.id)["status"],
        "running",
        "the exec'd process is not the container"
    );
    c.finish();
}

#[test]
fn user_groups_env_and_cwd() {
    let c = Running::start("exec-user");
    let out = c.exec_ok_with(
        &[
            "-u",
            "1000:1001",
            "-g",
            "10",
            "-g",
            "20",
            "-e",
            "FOO=bar",
            "-e",
            "PATH=/bin",
            "--cwd",
            "/tmp",
        ],
        &[
            "sh",
            "-c",
            "id -u; id -g; id -G; echo $FOO; echo $PATH; pwd",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1000");
    assert_eq!(lines[1], "1001");
    let groups: Vec<&str> = lines[2].split_whitespace().collect();
    assert!(groups.contains(&"10") && groups.contains(&"20"), "{out}");
    assert_eq!(lines[3], "bar");
    assert_eq!(lines[4], "/bin", "-e overrides the container's variable");
    assert_eq!(lines[5], "/tmp");
    c.finish();
}

#[test]
fn capabilities_and_no_new_privs() {
    let c = Running::start("exec-caps");
    let default = c.exec_ok(&["cat", "/proc/self/status"]);
    assert_eq!(status_field(&default, "CapEff"), Some("0000000020000420"));
    let added = c.exec_ok_with(
        &["--cap", "CAP_NET_ADMIN", "--no-new-privs"],
        &["cat", "/proc/self/status"],
    );
    assert_eq!(
        status_field(&added, "CapEff"),
        Some("0000000020001420"),
        "NET_ADMIN is bit 12"
    );
    assert_eq!(status_field(&added, "NoNewPrivs"), Some("1"));
    let out = c.exec_with(&["--cap", "CAP_NOPE"], &["true"]);
    assert!(!out.status.success());
    assert_one_line_error(
        &String::from_utf8_lossy(&out.stderr),
        &["CAP_NOPE"],
        "unknown capability",
    );
    c.finish();
}

#[test]
fn no_descriptor_of_the_runtime_reaches_the_process() {
    let c = Running::start("exec-fds");
    let out = c.exec_ok(&["ls", "/proc/self/fd"]);
    let fds: Vec<&str> = out.split_whitespace().collect();
    // 0, 1, 2, and the directory ls itself opened.
    assert!(
        fds.len() <= 4 && fds.starts_with(&["0", "1", "2"]),
        "{fds:?}"
    );
    c.finish();
}

#[test]
fn process_file_replaces_the_flags() {
    let c = Running::start("exec-process-file");
    let file = c.bundle.dir.join("process.json");
    let process = json!({
        "args": ["sh", "-c", "id -u; echo $ONLY; pwd"],
        "env": ["ONLY=from-file", "PATH=/bin"],
        "cwd": "/proc",
        "user": {"uid": 7, "gid": 7}
    });
    fs::write(&file, process.to_string()).unwrap();
    let out = c.exec_ok_with(&["--process", file.to_str().unwrap()], &[]);
    assert_eq!(out, "7\nfrom-file\n/proc\n");
    fs::write(&file, "{\"args\": 3}").unwrap();
    let bad = c.exec_with(&["--process", file.to_str().unwrap()], &[]);
    assert!(!bad.status.success());
    assert_one_line_error(
        &String::from_utf8_lossy(&bad.stderr),
        &["--process", "args"],
        "bad process file",
    );
    c.finish();
}

#[test]
fn detached_exec_writes_its_pid_and_dies_with_the_container() {
    let c = Running::start("exec-detach");
    let pid_file = c.bundle.dir.join("exec.pid");
    c.exec_ok_with(
        &["-d", "--pid-file", pid_file.to_str().unwrap()],
        &["sleep", "1000"],
    );
    let pid: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let ns = fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    assert_eq!(
        ns,
        fs::read_link(format!("/proc/{}/ns/pid", c.pid)).unwrap()
    );
    assert_eq!(c.rt.state(&c.id)["status"], "running");
    c.rt.ok(&["delete", "--force", &c.id]);
    wait_until("the exec'd process to die with the container", || {
        fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z"))
    });
    assert_no_leaks(&c.rt, &c.bundle, &[&c.id]);
}

#[test]
fn exec_into_a_missing_program_unknown_or_stopped_container_fails_clearly() {
    let c = Running::start("exec-errors");
    let out = c.exec(&["/nonexistent"]);
    assert!(!out.status.success());
    assert_one_line_error(
        &String::from_utf8_lossy(&out.stderr),
        &["/nonexistent"],
        "missing program",
    );
    let unknown = c.rt.run(&["exec", "no-such-container", "true"]);
    assert!(!unknown.status.success());
    assert_one_line_error(
        &String::from_utf8_lossy(&unknown.stderr),
        &["no-such-container"],
        "unknown id",
    );
    c.rt.ok(&["kill", &c.id, "KILL"]);
    c.rt.wait_for_status(&c.id, "stopped");
    let stopped = c.exec(&["true"]);
    assert!(!stopped.status.success());
    assert_one_line_error(
        &String::from_utf8_lossy(&stopped.stderr),
        &["stopped"],
        "stopped container",
    );
    c.finish();
}

#[test]
fn foreground_exec_forwards_signals_to_the_process() {
    let c = Running::start("exec-signals");
    let exec = Background::spawn(c.rt.cmd(&[
        "exec",
        &c.id,
        "sh",
        "-c",
        "trap 'exit 3' TERM; echo ready; while true; do sleep 0.1; done",
    ]));
    wait_until("the exec'd shell to trap TERM", || {
        fs::read_dir("/proc").unwrap().flatten().any(|e| {
            fs::read(e.path().join("cmdline")).is_ok_and(|c| c.starts_with(b"sh\x00-c\x00trap"))
        })
    });
    // Give the shell time to install its trap after it started.
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: SIGTERM to our own child, the foreground exec.
    unsafe { libc::kill(exec.pid() as i32, libc::SIGTERM) };
    let out = exec.wait();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.finish();
}

#[test]
fn exec_into_a_paused_container_needs_ignore_paused() {
    let c = Running::start("exec-paused");
    c.rt.ok(&["pause", &c.id]);
    let refused = c.exec(&["true"]);
    assert!(!refused.status.success());
    assert_one_line_error(
        &String::from_utf8_lossy(&refused.stderr),
        &["paused", "--ignore-paused"],
        "exec into a paused container",
    );
    // Allowed with --ignore-paused: the process starts frozen and runs once resumed.
    let exec =
        Background::spawn(c.rt.cmd(&["exec", "--ignore-paused", &c.id, "sh", "-c", "exit 4"]));
    std::thread::sleep(std::time::Duration::from_millis(200));
    c.rt.ok(&["resume", &c.id]);
    let out = exec.wait();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.finish();
}
