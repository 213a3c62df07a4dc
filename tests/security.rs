//! Security features and the known escapes of runc's history, on real containers:
//! seccomp (every path: with and without noNewPrivileges, exec'd processes, the notify
//! agent), capability names, LSM requests the host cannot honour, and the attacks of
//! CVE-2019-5736, CVE-2021-30465, CVE-2024-21626, masked-path races and a hostile
//! `--root`. Each attack test is one a naive runtime fails.
//!
//! Every test ends with `assert_no_leaks`.

mod common;

use std::fs;
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A bundle whose root the container can write (its /tmp is where it reports).
fn writable_bundle(args: &[&str]) -> Bundle {
    let mut bundle = Bundle::new(args);
    bundle.config["root"]["readonly"] = json!(false);
    bundle.write_config();
    bundle
}

/// Copies the shared libraries `binary` needs (and its loader) into `rootfs`, so the
/// container can run it.
fn install_libraries_of(binary: &str, rootfs: &Path) {
    let out = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .unwrap();
    for word in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if word.starts_with('/') {
            let target = rootfs.join(word.trim_start_matches('/'));
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::copy(fs::canonicalize(word).unwrap(), &target).unwrap();
        }
    }
}

fn set_seccomp(bundle: &mut Bundle, seccomp: Value) {
    bundle.config["linux"]["seccomp"] = seccomp;
    bundle.write_config();
}

/// `run` of `bundle`, returning (exit code, stdout, stderr).
fn run_bundle(rt: &Runtime, bundle: &Bundle, id: &str) -> (Option<i32>, String, String) {
    let out = rt.run(&["run", "--bundle", bundle.path(), id]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A profile that allows everything but answers `mkdir` with `errno` and `kill` of
/// signal 0 with EPERM, of signals with bit 4 set (16..31) with EACCES.
fn denying_profile(errno: u32) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat", "a_syscall_no_kernel_has"],
             "action": "SCMP_ACT_ERRNO", "errnoRet": errno},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 1, "value": 16, "valueTwo": 16, "op": "SCMP_CMP_MASKED_EQ"}]}
        ]
    })
}

/// What the container reports about the denying profile.
const PROBE: &str = "mkdir /tmp/d 2>&1; echo mkdir=$?; \
    kill -0 $$ 2>&1; echo kill0=$?; \
    kill -CONT $$ 2>&1; echo kill18=$?; \
    kill -WINCH $$ 2>&1; echo kill28=$?";

fn assert_denied(out: &str, errno_text: &str) {
    assert!(
        out.contains(errno_text) && out.contains("mkdir=1"),
        "mkdir should fail with {errno_text:?}: {out}"
    );
    assert!(
        out.contains("kill0=1") && out.contains("Operation not permitted"),
        "kill -0 should fail with EPERM: {out}"
    );
    assert!(
        out.contains("kill18=1") && out.contains("Permission denied"),
        "kill -CONT (18 & 16) should fail with EACCES: {out}"
    );
    // SIGWINCH is 28 = 0b11100: bit 4 set too.
    assert!(out.contains("kill28=1"), "kill -WINCH should fail: {out}");
}

// ---------------------------------------------------------------------------
// seccomp
// ---------------------------------------------------------------------------

#[test]
fn seccomp_errno_rules_and_argument_conditions_apply_with_and_without_no_new_privileges() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(&format!("{PROBE}; echo done"));
    let mut ids = Vec::new();
    for no_new_privileges in [false, true] {
        bundle.config["process"]["noNewPrivileges"] = json!(no_new_privileges);
        set_seccomp(&mut bundle, denying_profile(38));
        let id = unique_id("seccomp-errno");
        let (code, out, err) = run_bundle(&rt, &bundle, &id);
        assert!(
            out.contains("Function not implemented"),
            "nnp={no_new_privileges}: mkdir should fail with ENOSYS (errnoRet 38): {out} {err} {code:?}"
        );
        assert_denied(&out, "Function not implemented");
        // The process must see its own no_new_privs as configured, not libseccomp's.
        ids.push(id);
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_leaks(&rt, &bundle, &ids);
}

#[test]
fn seccomp_does_not_set_no_new_privs_by_itself() {
    let rt = Runtime::new();
    let mut bundle =
        sh_bundle("grep NoNewPrivs /proc/self/status; grep Seccomp: /proc/self/status");
    bundle.config["process"]["noNewPrivileges"] = json!(false);
    set_seccomp(&mut bundle, denying_profile(1));
    let id = unique_id("seccomp-nnp");
    let out = rt.ok(&["run", "--bundle", bundle.path(), &id]);
    assert!(out.contains("NoNewPrivs:\t0"), "{out}");
    assert!(
        out.contains("Seccomp:\t2"),
        "a filter should be loaded: {out}"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn seccomp_kill_process_ends_the_container_with_sigsys() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["uname"]);
    set_seccomp(
        &mut bundle,
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["uname"], "action": "SCMP_ACT_KILL_PROCESS"}]
        }),
    );
    let id = unique_id("seccomp-kill");
    let (code, out, _) = run_bundle(&rt, &bundle, &id);
    assert_eq!(
        code,
        Some(128 + libc::SIGSYS),
        "uname should die of SIGSYS: {out}"
    );
    assert!(out.is_empty(), "uname printed {out:?}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn seccomp_default_errno_with_an_allow_list() {
    let rt = Runtime::new();
    // Everything is ENOSYS (defaultErrnoRet) except what busybox sh and echo need:
    // a run that prints proves the allow list is applied and the default is not KILL.
    let mut bundle = sh_bundle("echo allowed; mkdir /tmp/x 2>&1; exit 0");
    let allowed = [
        "read",
        "write",
        "writev",
        "exit",
        "exit_group",
        "brk",
        "mmap",
        "munmap",
        "mprotect",
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "execve",
        "arch_prctl",
        "set_tid_address",
        "getpid",
        "getppid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "fcntl",
        "close",
        "openat",
        "newfstatat",
        "fstat",
        "stat",
        "lstat",
        "ioctl",
        "uname",
        "prlimit64",
        "getcwd",
        "dup2",
        "wait4",
        "fork",
        "vfork",
        "clone",
        "clone3",
        "set_robust_list",
        "rseq",
        "getrandom",
        "access",
        "faccessat",
        "faccessat2",
        "lseek",
        "readlink",
        "sigaltstack",
        "futex",
        "statx",
        "pipe",
        "pipe2",
        "getpgid",
        "setpgid",
        "getpgrp",
        "poll",
        "ppoll",
    ];
    set_seccomp(
        &mut bundle,
        json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "syscalls": [{"names": allowed.to_vec(), "action": "SCMP_ACT_ALLOW"}]
        }),
    );
    bundle.config["process"]["noNewPrivileges"] = json!(true);
    bundle.write_config();
    let id = unique_id("seccomp-allowlist");
    let (code, out, err) = run_bundle(&rt, &bundle, &id);
    assert_eq!(code, Some(0), "{out} {err}");
    assert!(out.contains("allowed"), "{out}");
    assert!(
        out.contains("Function not implemented"),
        "mkdir is not allowed: {out}"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn exec_applies_the_containers_filter_even_after_config_json_changed() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sleep", "1000"]);
    set_seccomp(&mut bundle, denying_profile(38));
    let id = unique_id("seccomp-exec");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    // What exec applies is what create journaled.
    bundle.config["linux"]
        .as_object_mut()
        .unwrap()
        .remove("seccomp");
    bundle.write_config();
    let out = rt.ok(&["exec", &id, "sh", "-c", PROBE]);
    assert_denied(&out, "Function not implemented");
    let out = rt.ok(&["exec", "--no-new-privs", &id, "sh", "-c", PROBE]);
    assert_denied(&out, "Function not implemented");
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn seccomp_errno_ret_on_kill_is_refused_naming_the_rule() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["true"]);
    set_seccomp(
        &mut bundle,
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]
        }),
    );
    let id = unique_id("seccomp-bad");
    let err = rt.fail(&["create", "--bundle", bundle.path(), &id]);
    assert_one_line_error(&err, &["linux.seccomp.syscalls[0]", "errnoRet"], "create");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

/// Receives the seccomp agent's message: the notify descriptor and the JSON state.
fn receive_notify_fd(socket: &std::os::unix::net::UnixStream) -> (OwnedFd, Value) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buffer = vec![0u8; 64 * 1024];
    let mut iov = [IoSliceMut::new(&mut buffer)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let message = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .expect("recvmsg from the runtime");
    let mut fd = None;
    for cmsg in message.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: the kernel installed these descriptors in this process for us.
            fd = fds.first().map(|fd| unsafe { OwnedFd::from_raw_fd(*fd) });
        }
    }
    let length = message.bytes;
    let mut text = buffer[..length].to_vec();
    // The runtime may send the rest of the JSON in later writes; it closes after.
    let mut rest = Vec::new();
    let mut reader = socket;
    let _ = reader.read_to_end(&mut rest);
    text.extend(rest);
    let state: Value = serde_json::from_slice(&text).unwrap_or_else(|e| {
        panic!(
            "agent got invalid JSON ({e}): {}",
            String::from_utf8_lossy(&text)
        )
    });
    (fd.expect("no descriptor came with SCM_RIGHTS"), state)
}

/// A seccomp agent: answers the first trapped syscall with success without running it.
fn answer_one_with_success(notify: &OwnedFd) -> String {
    use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
    let request = ScmpNotifReq::receive(notify.as_raw_fd()).expect("a notification");
    let name = request
        .data
        .syscall
        .get_name()
        .unwrap_or_else(|_| "?".into());
    ScmpNotifResp::new_val(request.id, 0, ScmpNotifRespFlags::empty())
        .respond(notify.as_raw_fd())
        .expect("responding");
    name
}

#[test]
fn seccomp_notify_sends_the_descriptor_and_state_to_the_agent_which_answers() {
    for no_new_privileges in [false, true] {
        let rt = Runtime::new();
        let mut bundle = sh_bundle(
            "mkdir /tmp/agent-said-yes && echo mkdir-ok; \
             [ -d /tmp/agent-said-yes ] && echo made || echo not-made",
        );
        let socket_path = bundle.dir.join("agent.sock");
        let listener = UnixListener::bind(&socket_path).unwrap();
        bundle.config["process"]["noNewPrivileges"] = json!(no_new_privileges);
        set_seccomp(
            &mut bundle,
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": socket_path,
                "listenerMetadata": "agent-metadata",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
            }),
        );
        let agent = std::thread::spawn(move || {
            let (connection, _) = listener.accept().unwrap();
            let (notify, state) = receive_notify_fd(&connection);
            let syscall = answer_one_with_success(&notify);
            (state, syscall)
        });
        let id = unique_id("seccomp-notify");
        let (code, out, err) = run_bundle(&rt, &bundle, &id);
        let (state, syscall) = agent.join().expect("agent thread");
        assert_eq!(code, Some(0), "nnp={no_new_privileges}: {out} {err}");
        assert!(
            out.contains("mkdir-ok") && out.contains("not-made"),
            "the agent answered success without making the directory: {out}"
        );
        assert!(syscall.starts_with("mkdir"), "{syscall}");
        assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
        assert_eq!(state["metadata"], "agent-metadata", "{state}");
        assert_eq!(state["state"]["id"], id.as_str(), "{state}");
        assert!(
            state["pid"].as_i64().unwrap_or(0) > 1,
            "the host pid: {state}"
        );
        assert_eq!(state["pid"], state["state"]["pid"], "{state}");
        assert!(state["ociVersion"].is_string(), "{state}");
        assert_no_leaks(&rt, &bundle, &[&id]);
    }
}

/// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: once the agent has received a notification, a
/// non-fatal signal (here SIGSTOP) no longer interrupts the trapped syscall, so the
/// agent's answer still counts. Without the flag the stop interrupts it, the answer finds
/// no notification (ENOENT), and the restarted syscall traps again.
#[test]
fn seccomp_wait_killable_recv_keeps_a_received_notification_through_a_stop() {
    use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
    for wait_killable in [true, false] {
        let rt = Runtime::new();
        let mut bundle = sh_bundle("mkdir /tmp/stopped-in-mkdir; echo rc=$?");
        let socket_path = bundle.dir.join("agent.sock");
        let listener = UnixListener::bind(&socket_path).unwrap();
        let flags = if wait_killable {
            json!(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])
        } else {
            json!([])
        };
        set_seccomp(
            &mut bundle,
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": socket_path,
                "flags": flags,
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
            }),
        );
        let agent = std::thread::spawn(move || {
            let (connection, _) = listener.accept().unwrap();
            let (notify, _) = receive_notify_fd(&connection);
            let first = ScmpNotifReq::receive(notify.as_raw_fd()).expect("a notification");
            let pid = nix::unistd::Pid::from_raw(first.pid as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
            let answered = ScmpNotifResp::new_val(first.id, 0, ScmpNotifRespFlags::empty())
                .respond(notify.as_raw_fd())
                .is_ok();
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
            if !answered {
                // The interrupted syscall was restarted: it traps again.
                let again =
                    ScmpNotifReq::receive(notify.as_raw_fd()).expect("a second notification");
                ScmpNotifResp::new_val(again.id, 0, ScmpNotifRespFlags::empty())
                    .respond(notify.as_raw_fd())
                    .expect("answering the restarted syscall");
            }
            answered
        });
        let id = unique_id("seccomp-waitkill");
        let (code, out, err) = run_bundle(&rt, &bundle, &id);
        let first_answer_counted = agent.join().expect("agent thread");
        assert_eq!(code, Some(0), "wait_killable={wait_killable}: {out} {err}");
        assert!(out.contains("rc=0"), "{out}");
        assert_eq!(
            first_answer_counted, wait_killable,
            "with WAIT_KILLABLE_RECV={wait_killable} the answer after a SIGSTOP counted: {first_answer_counted}"
        );
        assert_no_leaks(&rt, &bundle, &[&id]);
    }
}

#[test]
fn seccomp_wait_killable_recv_without_a_notify_rule_is_refused() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["true"]);
    set_seccomp(
        &mut bundle,
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
        }),
    );
    let id = unique_id("seccomp-waitkill-alone");
    let err = rt.fail(&["create", "--bundle", bundle.path(), &id]);
    assert_one_line_error(
        &err,
        &["linux.seccomp.flags", "SCMP_ACT_NOTIFY"],
        "WAIT_KILLABLE_RECV without a notify rule",
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// Capabilities and LSMs
// ---------------------------------------------------------------------------

#[test]
fn an_unknown_capability_is_an_error_naming_it_and_its_field() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["true"]);
    bundle.config["process"]["capabilities"]["bounding"] = json!(["CAP_KILL", "CAP_NOT_A_CAP"]);
    bundle.write_config();
    let id = unique_id("cap-unknown");
    let err = rt.fail(&["create", "--bundle", bundle.path(), &id]);
    assert_one_line_error(
        &err,
        &["CAP_NOT_A_CAP", "process.capabilities.bounding"],
        "create with an unknown capability",
    );
    assert!(rt.root_entries().is_empty());
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn lsm_requests_the_host_cannot_honour_are_refused_before_anything_is_made() {
    let apparmor = fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.starts_with('Y'));
    let selinux = Path::new("/sys/fs/selinux/enforce").exists();
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sleep", "1000"]);
    let cases: Vec<(&str, &str, Value, &[&str])> = vec![
        (
            "apparmor",
            "process",
            json!({"apparmorProfile": "docker-default"}),
            &["process.apparmorProfile", "AppArmor is not enabled"],
        ),
        (
            "selinux",
            "process",
            json!({"selinuxLabel": "system_u:system_r:container_t:s0"}),
            &["process.selinuxLabel", "SELinux is not enabled"],
        ),
        (
            "selinux",
            "linux",
            json!({"mountLabel": "system_u:object_r:container_file_t:s0"}),
            &["linux.mountLabel", "SELinux is not enabled"],
        ),
    ];
    let mut ids = Vec::new();
    for (lsm, section, fields, words) in cases {
        if (lsm == "apparmor" && apparmor) || (lsm == "selinux" && selinux) {
            continue;
        }
        let saved = bundle.config.clone();
        for (key, value) in fields.as_object().unwrap() {
            bundle.config[section][key] = value.clone();
        }
        bundle.write_config();
        let id = unique_id("lsm");
        let err = rt.fail(&["create", "--bundle", bundle.path(), &id]);
        assert_one_line_error(&err, words, "create");
        assert!(rt.root_entries().is_empty(), "create made state");
        bundle.config = saved;
        bundle.write_config();
        ids.push(id);
    }
    // exec asks too.
    let id = unique_id("lsm-exec");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    if !apparmor {
        let err = rt.fail(&["exec", "--apparmor", "docker-default", &id, "true"]);
        assert_one_line_error(
            &err,
            &["apparmorProfile", "AppArmor is not enabled"],
            "exec",
        );
    }
    if !selinux {
        let err = rt.fail(&[
            "exec",
            "--process-label",
            "system_u:system_r:container_t:s0",
            &id,
            "true",
        ]);
        assert_one_line_error(&err, &["selinuxLabel", "SELinux is not enabled"], "exec");
    }
    rt.ok(&["delete", "--force", &id]);
    ids.push(id);
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_leaks(&rt, &bundle, &ids);
}

// ---------------------------------------------------------------------------
// CVE-2019-5736: the runtime's binary, reached from inside the container
// ---------------------------------------------------------------------------

/// A copy of the ocirun under test, in a directory of its own, used as the runtime: an
/// attack that works destroys the copy, not the binary the other tests run.
struct RuntimeCopy {
    rt: Runtime,
    dir: PathBuf,
    binary: PathBuf,
}

impl RuntimeCopy {
    fn new() -> RuntimeCopy {
        let dir = PathBuf::from(format!("/tmp/ocirun-test-binary-{}", unique_id("copy")));
        fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("ocirun");
        fs::copy(OCIRUN, &binary).unwrap();
        RuntimeCopy {
            rt: Runtime::new(),
            dir,
            binary,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut command = std::process::Command::new(&self.binary);
        command
            .arg("--root")
            .arg(&self.rt.root)
            .args(args)
            .stdin(std::process::Stdio::null());
        run_cmd(command)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`ocirun(copy) {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The copy is byte for byte the binary it was made from.
    fn assert_intact(&self) {
        let original = fs::read(OCIRUN).unwrap();
        let copy = fs::read(&self.binary).unwrap();
        assert!(
            original == copy,
            "the container overwrote the runtime's binary ({} bytes now, starting {:?})",
            copy.len(),
            String::from_utf8_lossy(&copy[..copy.len().min(16)])
        );
    }
}

impl Drop for RuntimeCopy {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Reads a file the container writes into its /tmp (the bundle's rootfs), waiting for it.
fn wait_for_report(bundle: &Bundle, name: &str) -> String {
    let path = bundle.rootfs().join("tmp").join(name);
    wait_until(&format!("the container to write /tmp/{name}"), || {
        fs::read_to_string(&path).is_ok_and(|s| s.ends_with('\n'))
    });
    fs::read_to_string(&path).unwrap().trim().to_string()
}

/// Holds /proc/<pid>/exe open (read-only is enough to pin the file), waits for /tmp/go,
/// then reopens it for writing through /proc/self/fd: the CVE-2019-5736 attack.
fn holder_script(pid: &str, wait_for: &str) -> String {
    format!(
        "\
         if ! (exec 3</proc/{pid}/exe) 2>/dev/null; then echo refused > /tmp/open; exit 0; fi; \
         exec 3</proc/{pid}/exe; echo opened > /tmp/open; \
         {wait_for} \
         if printf pwned 2>/dev/null >/proc/self/fd/3; then echo wrote; else echo refused; fi > /tmp/write"
    )
}

#[test]
fn cve_2019_5736_a_process_exec_d_into_a_created_container_cannot_overwrite_the_runtime() {
    // Without CAP_SYS_PTRACE the waiting init (non-dumpable) cannot be opened. With it
    // the container may open the init's /proc entries, so the runtime re-executes from
    // its read-only view (no trampoline): that view must hold on its own then.
    for with_ptrace in [false, true] {
        let copy = RuntimeCopy::new();
        let mut bundle = writable_bundle(&["sleep", "1000"]);
        if with_ptrace {
            grant(&mut bundle, "CAP_SYS_PTRACE");
        }
        let id = unique_id("cve-2019-5736-created");
        copy.ok(&["create", "--bundle", bundle.path(), &id]);
        let script = holder_script("1", "while [ ! -e /tmp/go ]; do sleep 0.05; done;");
        copy.ok(&["exec", "-d", &id, "sh", "-c", &script]);
        let opened = wait_for_report(&bundle, "open");
        // The init now execs sleep: nothing runs the runtime's file any more.
        copy.ok(&["start", &id]);
        fs::write(bundle.rootfs().join("tmp/go"), "").unwrap();
        if opened == "opened" {
            let wrote = wait_for_report(&bundle, "write");
            assert_eq!(wrote, "refused", "ptrace={with_ptrace}");
        } else {
            assert!(!with_ptrace, "with CAP_SYS_PTRACE the open should succeed");
        }
        copy.assert_intact();
        copy.ok(&["delete", "--force", &id]);
        assert_no_leaks(&copy.rt, &bundle, &[&id]);
    }
}

/// Adds `cap` to every capability set of the bundle's process.
fn grant(bundle: &mut Bundle, cap: &str) {
    for set in ["bounding", "effective", "permitted"] {
        bundle.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!(cap));
    }
    bundle.write_config();
}

#[test]
fn cve_2019_5736_an_entrypoint_of_proc_self_exe_runs_the_exec_trampoline_not_the_runtime() {
    // The init execs the program through the trampoline (a sealed memfd), so what the
    // program finds at /proc/self/exe is the trampoline, which refuses arguments it did
    // not get from the runtime (exit 127). The runtime would print its version.
    let copy = RuntimeCopy::new();
    for entrypoint in ["direct", "shebang"] {
        let args: &[&str] = match entrypoint {
            "direct" => &["/proc/self/exe", "--version"],
            _ => &["/bin/entry"],
        };
        let bundle = Bundle::new(args);
        fs::write(
            bundle.rootfs().join("bin/entry"),
            "#!/proc/self/exe --version\n",
        )
        .unwrap();
        fs::set_permissions(
            bundle.rootfs().join("bin/entry"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let id = unique_id("cve-2019-5736-trampoline");
        let out = copy.run(&["run", "--bundle", bundle.path(), &id]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("ocirun"),
            "{entrypoint}: the runtime ran: {stdout}"
        );
        assert_eq!(out.status.code(), Some(127), "{entrypoint}: {out:?}");
        copy.assert_intact();
        assert_no_leaks(&copy.rt, &bundle, &[&id]);
    }
}

#[test]
fn a_seccomp_profile_refusing_what_the_trampoline_needs_still_starts_containers() {
    // fcntl refused: the runtime re-executes from its read-only view instead of using
    // the trampoline (which would fail to mark its report descriptor close-on-exec).
    let rt = Runtime::new();
    let mut bundle = sh_bundle("echo started");
    bundle.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["fcntl"], "action": "SCMP_ACT_ERRNO"}]
    });
    bundle.write_config();
    let id = unique_id("seccomp-no-fcntl");
    assert_eq!(
        rt.ok(&["run", "--bundle", bundle.path(), &id]).trim(),
        "started"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn cve_2019_5736_an_entrypoint_of_proc_self_exe_cannot_overwrite_the_runtime() {
    let copy = RuntimeCopy::new();
    // The entrypoint is the runtime itself, stuck opening its --log FIFO until the
    // holder has the file open. No pid namespace: the holder outlives the entrypoint,
    // which is what lets it write once the runtime's file is no longer running.
    // CAP_SYS_PTRACE sends the runtime the re-exec way (no trampoline), so the
    // entrypoint is the runtime, from its read-only view: that view must hold.
    let mut bundle = writable_bundle(&["/proc/self/exe", "--log", "/tmp/fifo", "state", "none"]);
    install_libraries_of(OCIRUN, &bundle.rootfs());
    bundle.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
    grant(&mut bundle, "CAP_SYS_PTRACE");
    let fifo = std::ffi::CString::new(bundle.rootfs().join("tmp/fifo").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o666) }, 0);
    let id = unique_id("cve-2019-5736-entry");
    copy.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let pid = copy.rt.state(&id)["pid"].as_i64().unwrap().to_string();
    // Wait for the entrypoint to be the runtime's program (it execs, then blocks).
    let wait = format!(
        "cat /tmp/fifo > /dev/null; \
         while readlink /proc/{pid}/exe > /dev/null 2>&1; do sleep 0.05; done;"
    );
    copy.ok(&["exec", "-d", &id, "sh", "-c", &holder_script(&pid, &wait)]);
    assert_eq!(wait_for_report(&bundle, "open"), "opened");
    assert_eq!(wait_for_report(&bundle, "write"), "refused");
    copy.assert_intact();
    copy.ok(&["delete", "--force", &id]);
    // The holder exits right after its write.
    wait_until("the holder to exit", || {
        processes_of(&bundle.dir, &[]).is_empty()
    });
    assert_no_leaks(&copy.rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// CVE-2024-21626: descriptors and the working directory
// ---------------------------------------------------------------------------

/// `ocirun` with a host directory open as descriptor 7 (not close-on-exec), as a leaky
/// caller or runtime would have it.
fn with_leaked_directory(command: std::process::Command, dir: &Path) -> std::process::Command {
    with_directory_as(command, dir, 7)
}

fn with_directory_as(
    mut command: std::process::Command,
    dir: &Path,
    target: i32,
) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let file = fs::File::open(dir).unwrap();
    let raw = file.as_raw_fd();
    // SAFETY: between fork and exec we only dup2 and fcntl, both async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            if libc::dup2(raw, target) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::fcntl(target, libc::F_SETFD, 0);
            Ok(())
        });
    }
    std::mem::forget(file);
    command
}

#[test]
fn cve_2024_21626_no_runtime_descriptor_reaches_the_container() {
    let rt = Runtime::new();
    let secret = PathBuf::from(format!("/tmp/ocirun-test-secret-{}", unique_id("dir")));
    fs::create_dir_all(&secret).unwrap();
    let mut bundle = sh_bundle("ls /proc/self/fd | tr '\\n' ' '; echo");
    let log = bundle.dir.join("ocirun.log");
    let id = unique_id("fds-run");
    let command = rt.cmd(&[
        "--log",
        log.to_str().unwrap(),
        "run",
        "--bundle",
        bundle.path(),
        &id,
    ]);
    let out = run_cmd(with_leaked_directory(command, &secret));
    let listed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // 0 1 2, and 3: the directory ls reads.
    assert_eq!(listed, "0 1 2 3", "descriptors in the container: {listed}");

    // exec, and a process exec'd while the init waits, which must not reach the init's.
    bundle.config["process"]["args"] = json!(["sleep", "1000"]);
    bundle.write_config();
    let id2 = unique_id("fds-exec");
    rt.ok(&[
        "--log",
        log.to_str().unwrap(),
        "create",
        "--bundle",
        bundle.path(),
        &id2,
    ]);
    let command = rt.cmd(&[
        "--log",
        log.to_str().unwrap(),
        "exec",
        &id2,
        "sh",
        "-c",
        "ls /proc/self/fd | tr '\\n' ' '; echo; \
         for f in /proc/1/fd/*; do readlink $f; done 2>/dev/null | tr '\\n' ' '; echo",
    ]);
    let out = run_cmd(with_leaked_directory(command, &secret));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap_or("").trim(), "0 1 2 3", "exec: {text}");
    let init_fds = lines.next().unwrap_or("").trim().to_string();
    assert!(
        init_fds.is_empty(),
        "a container process lists the waiting init's descriptors: {init_fds}"
    );
    rt.ok(&["delete", "--force", &id2]);
    let _ = fs::remove_dir_all(&secret);
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

#[test]
fn cve_2024_21626_a_cwd_through_a_leaked_descriptor_does_not_reach_the_host() {
    let rt = Runtime::new();
    let secret = PathBuf::from(format!("/tmp/ocirun-test-secret-{}", unique_id("cwd")));
    fs::create_dir_all(&secret).unwrap();
    fs::write(secret.join("host-secret"), "s3cret").unwrap();
    let mut bundle = sh_bundle("cat host-secret 2>/dev/null; pwd");
    let mut ids = Vec::new();
    for cwd in ["/proc/self/fd/7", "/proc/self/cwd", "/proc/1/cwd"] {
        bundle.config["process"]["cwd"] = json!(cwd);
        bundle.write_config();
        let id = unique_id("cwd-leak");
        let command = rt.cmd(&["run", "--bundle", bundle.path(), &id]);
        let out = run_cmd(with_leaked_directory(command, &secret));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("s3cret"),
            "cwd {cwd} reached the host directory: {stdout}"
        );
        ids.push(id);
    }
    // A descriptor handed over on purpose (--preserve-fds) is the container's, but the
    // cwd must still not leave its root through it: the kernel's getcwd tells.
    bundle.config["process"]["cwd"] = json!("/proc/self/fd/3");
    bundle.write_config();
    let id = unique_id("cwd-preserved");
    let command = rt.cmd(&["run", "--preserve-fds", "1", "--bundle", bundle.path(), &id]);
    let out = run_cmd(with_directory_as(command, &secret, 3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("s3cret"),
        "the cwd reached the host: {stdout}"
    );
    assert_one_line_error(
        &String::from_utf8_lossy(&out.stderr),
        &["process.cwd", "outside the container's root"],
        "run with a cwd through a preserved host directory",
    );
    ids.push(id);
    let _ = fs::remove_dir_all(&secret);
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_leaks(&rt, &bundle, &ids);
}

// ---------------------------------------------------------------------------
// The runtime's own files
// ---------------------------------------------------------------------------

#[test]
fn state_files_are_private_and_a_hostile_root_is_refused() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("state-files");
    rt.ok(&["create", "--bundle", bundle.path(), &id]);
    let mode = |p: &Path| fs::symlink_metadata(p).unwrap().mode() & 0o777;
    let dir = rt.root.join(&id);
    assert_eq!(mode(&rt.root), 0o700, "the root");
    assert_eq!(mode(&dir), 0o700, "the container's directory");
    assert_eq!(mode(&dir.join("journal")), 0o600, "the journal");
    assert_eq!(mode(&dir.join("lock")), 0o600, "the lock");
    rt.ok(&["delete", "--force", &id]);

    // A --root that is a symbolic link (to a directory that would work) is refused.
    let base = PathBuf::from(format!("/tmp/ocirun-test-roots-{}", unique_id("r")));
    fs::create_dir_all(base.join("real")).unwrap();
    fs::set_permissions(base.join("real"), fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(base.join("real"), base.join("link")).unwrap();
    let linked = Runtime {
        root: base.join("link"),
    };
    let id2 = unique_id("state-link");
    let err = linked.fail(&["create", "--bundle", bundle.path(), &id2]);
    assert_one_line_error(
        &err,
        &["state root", "symbolic link"],
        "create with a linked --root",
    );
    assert!(fs::read_dir(base.join("real")).unwrap().next().is_none());
    std::mem::forget(linked); // its Drop would force-delete through the link

    // A --root owned by another user is refused, for reads too.
    fs::create_dir_all(base.join("theirs")).unwrap();
    std::os::unix::fs::chown(base.join("theirs"), Some(65534), Some(65534)).unwrap();
    let theirs = Runtime {
        root: base.join("theirs"),
    };
    let err = theirs.fail(&["create", "--bundle", bundle.path(), &id2]);
    assert_one_line_error(&err, &["state root", "owned by uid 65534"], "create");
    let err = theirs.fail(&["list"]);
    assert_one_line_error(&err, &["owned by uid 65534"], "list");
    std::mem::forget(theirs);
    fs::remove_dir_all(&base).unwrap();
    assert_no_leaks(&rt, &bundle, &[&id, &id2]);
}

// ---------------------------------------------------------------------------
// Masked paths (runc's 2025 advisories)
// ---------------------------------------------------------------------------

#[test]
fn masking_binds_the_real_null_device_even_when_the_containers_dev_null_is_a_link() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["true"]);
    // The container's /dev is the bundle's, where null points at a host procfs file: a
    // runtime that binds "/dev/null" by path would mask with core_pattern (writable).
    let evil_dev = bundle.dir.join("evil-dev");
    fs::create_dir_all(&evil_dev).unwrap();
    symlink("/proc/sys/kernel/core_pattern", evil_dev.join("null")).unwrap();
    let masked: Vec<String> = bundle.config["linux"]["maskedPaths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let script = masked
        .iter()
        .map(|p| format!("[ -f {p} -o -c {p} ] && echo \"{p} $(stat -L -c %F:%t:%T {p}) $(head -c 64 {p} | wc -c)\";"))
        .collect::<String>()
        + " for d in /proc/acpi /proc/scsi /sys/firmware; do [ -d $d ] && echo \"$d $(stat -f -c %T $d) $(ls $d | wc -l)\"; done; true";
    bundle.config["process"]["args"] = json!(["sh", "-c", script]);
    bundle.config["mounts"].as_array_mut().unwrap().retain(|m| {
        m["destination"] != "/dev" && !m["destination"].as_str().unwrap().starts_with("/dev/")
    });
    bundle.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/dev", "type": "bind", "source": evil_dev, "options": ["rbind", "rw"]
    }));
    bundle.write_config();
    let id = unique_id("mask-null-link");
    let out = rt.ok(&["run", "--bundle", bundle.path(), &id]);
    let mut files = 0;
    for line in out.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields[0].starts_with("/sys/") || ["/proc/acpi", "/proc/scsi"].contains(&fields[0]) {
            assert!(
                line.contains(" tmpfs 0"),
                "a masked directory must be an empty tmpfs: {line}"
            );
        } else {
            files += 1;
            assert_eq!(
                &fields[1..],
                ["character", "special", "file:1:3", "0"],
                "{}: masked with something else than the null device: {line}",
                fields[0]
            );
        }
    }
    assert!(files > 0, "no masked file exists in the container: {out}");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// CVE-2021-30465 class: mount targets resolved inside the rootfs
// ---------------------------------------------------------------------------

#[test]
fn cve_2021_30465_symlinked_mount_targets_stay_inside_the_rootfs() {
    let rt = Runtime::new();
    let mut bundle =
        sh_bundle("ls /proc/self/ns > /dev/null && echo proc-ok; cat /host-etc/marker 2>&1; true");
    let host_dir = PathBuf::from(format!("/tmp/ocirun-test-host-{}", unique_id("target")));
    fs::create_dir_all(&host_dir).unwrap();
    let rootfs = bundle.rootfs();
    // /proc is a link to / and /data a link to a host directory: a runtime that follows
    // them on the host mounts procfs over the host's root and the tmpfs over host_dir.
    fs::remove_dir(rootfs.join("proc")).unwrap();
    symlink("/", rootfs.join("proc")).unwrap();
    symlink(&host_dir, rootfs.join("data")).unwrap();
    bundle.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/data/inside", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]
    }));
    bundle.write_config();
    let id = unique_id("cve-2021-30465");
    let out = rt.run(&["run", "--bundle", bundle.path(), &id]);
    assert_host_dir_untouched(&host_dir);
    if out.status.success() {
        // It stayed inside: the links were resolved within the rootfs.
        assert!(String::from_utf8_lossy(&out.stdout).contains("proc-ok"));
        assert!(rootfs
            .join(host_dir.strip_prefix("/").unwrap())
            .join("inside")
            .is_dir());
    }
    let _ = fs::remove_dir_all(&host_dir);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

/// Nothing of a container was mounted on, or created in, `host_dir` (a host directory a
/// rootfs link pointed at).
fn assert_host_dir_untouched(host_dir: &Path) {
    let host_mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !host_mounts.contains(host_dir.to_str().unwrap()),
        "a container mount landed on the host directory {}",
        host_dir.display()
    );
    assert!(
        fs::read_dir(host_dir).unwrap().next().is_none(),
        "the runtime created something in the host directory"
    );
}

/// The `cgroup` mount type has its own code (a tmpfs, then a mount per hierarchy, by
/// descriptor): a destination through a link to a host directory lands inside the rootfs,
/// with the container's own cgroups, read-only.
#[test]
fn cve_2021_30465_a_symlinked_cgroup_mount_stays_inside_the_rootfs() {
    let rt = Runtime::new();
    let mut bundle = sh_bundle(
        "cat /data/cgroups/pids/pids.max; touch /data/cgroups/pids/x 2>/dev/null || echo read-only",
    );
    bundle.config["linux"]["resources"]["pids"] = json!({"limit": 77});
    let host_dir = PathBuf::from(format!("/tmp/ocirun-test-host-{}", unique_id("cgtarget")));
    fs::create_dir_all(&host_dir).unwrap();
    let rootfs = bundle.rootfs();
    symlink(&host_dir, rootfs.join("data")).unwrap();
    bundle.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/data/cgroups", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid"]
    }));
    bundle.write_config();
    let id = unique_id("cve-2021-30465-cgroup");
    let (code, out, err) = run_bundle(&rt, &bundle, &id);
    assert_host_dir_untouched(&host_dir);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "77\nread-only\n", "{err}");
    assert!(rootfs
        .join(host_dir.strip_prefix("/").unwrap())
        .join("cgroups")
        .is_dir());
    let _ = fs::remove_dir_all(&host_dir);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn a_cached_seccomp_program_behaves_as_the_compiled_one_and_only_for_its_own_profile() {
    let rt = Runtime::new();
    let mut bundle = writable_bundle(&["sh", "-c", PROBE]);
    set_seccomp(&mut bundle, denying_profile(38));
    for round in ["compiled", "from the cache"] {
        let id = unique_id("seccomp-cache");
        let (code, out, err) = run_bundle(&rt, &bundle, &id);
        assert_eq!(code, Some(0), "{round}: {err}");
        assert_denied(&out, "Function not implemented");
        let cached: Vec<_> = fs::read_dir(rt.root.join(".seccomp"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(cached.len(), 1, "{round}: one profile, one cached program");
        assert_no_leaks(&rt, &bundle, &[&id]);
    }
    // Another profile is compiled for itself, not served the first one's program.
    set_seccomp(
        &mut bundle,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}
        ]}),
    );
    let id = unique_id("seccomp-cache-other");
    let (code, out, err) = run_bundle(&rt, &bundle, &id);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("mkdir=0"),
        "the other profile allows mkdir: {out}"
    );
    assert_eq!(fs::read_dir(rt.root.join(".seccomp")).unwrap().count(), 2);
    assert_no_leaks(&rt, &bundle, &[&id]);
}
