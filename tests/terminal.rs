//! Containers with a terminal (`process.terminal: true`): the `--console-socket`
//! protocol (the pty master sent with SCM_RIGHTS, as engines expect from runc),
//! and a foreground `run` serving the container's terminal on the caller's own.
//!
//! `exec --tty` gets the same two ways: a console socket, or a terminal served by exec.
//!
//! Every test ends with `assert_no_leaks`.

mod common;

use std::fs;
use std::io::{IoSliceMut, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use common::*;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{openpty, Winsize};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{tcgetattr, LocalFlags, Termios};
use serde_json::json;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Everything read from a pty master, collected by a thread until the
/// terminal is gone (EIO once no slave is open) or the reader is dropped.
struct PtyReader {
    buffer: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PtyReader {
    fn new(master: &OwnedFd) -> PtyReader {
        let fd = master.try_clone().expect("dup master");
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (buffer.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::from(20u16)) {
                    Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                    Ok(_) => {}
                    Err(_) => return,
                }
                match nix::unistd::read(fd.as_fd(), &mut chunk) {
                    Ok(0) => return,
                    Ok(n) => b.lock().unwrap().extend_from_slice(&chunk[..n]),
                    Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                    // EIO: the last slave was closed.
                    Err(_) => return,
                }
            }
        });
        PtyReader {
            buffer,
            stop,
            thread: Some(thread),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }

    /// Waits (with the hard timeout) until the terminal printed `needle`.
    fn wait_for(&self, needle: &str) {
        let start = std::time::Instant::now();
        while !self.text().contains(needle) {
            if start.elapsed() >= command_timeout() {
                panic!(
                    "the terminal never printed {needle:?}; it printed:\n{:?}",
                    self.text()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for PtyReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Types `text` on the terminal whose master is `master`.
fn type_on(master: &OwnedFd, text: &str) {
    let mut f = fs::File::from(master.try_clone().expect("dup master"));
    f.write_all(text.as_bytes())
        .expect("writing to the pty master");
}

/// Receives the descriptor a `--console-socket` peer sends (SCM_RIGHTS).
fn receive_fd(stream: &impl AsRawFd) -> OwnedFd {
    let mut buffer = [0u8; 4096];
    let mut data = [IoSliceMut::new(&mut buffer)];
    let mut control = nix::cmsg_space!([RawFd; 1]);
    let message = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut data,
        Some(&mut control),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .expect("recvmsg on the console socket");
    for cmsg in message.cmsgs().expect("control messages") {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            assert_eq!(fds.len(), 1, "one descriptor expected: {fds:?}");
            // SAFETY: the kernel just installed this descriptor for us.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("the console socket message carried no descriptor");
}

/// A bundle running an interactive `sh` on a terminal of `rows` x `cols`.
fn terminal_bundle(size: Option<(u16, u16)>) -> Bundle {
    let mut bundle = Bundle::new(&["sh"]);
    bundle.config["process"]["terminal"] = json!(true);
    if let Some((rows, cols)) = size {
        bundle.config["process"]["consoleSize"] = json!({ "height": rows, "width": cols });
    }
    bundle.write_config();
    bundle
}

/// Pids in the container's pids cgroup whose command line is `cmdline`.
fn processes_running(id: &str, cmdline: &[u8]) -> Vec<i32> {
    let procs = fs::read_to_string(relative_cgroup_dir("pids", id).join("cgroup.procs"))
        .unwrap_or_default();
    procs
        .lines()
        .filter_map(|l| l.trim().parse::<i32>().ok())
        .filter(|p| fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c == cmdline))
        .collect()
}

/// Types the shell commands every terminal test runs, checking each answer.
/// The typed text never contains the expected answer (the pty echoes input).
fn check_shell_on_terminal(
    rt: &Runtime,
    id: &str,
    master: &OwnedFd,
    reader: &PtyReader,
    rows: u16,
    cols: u16,
) {
    type_on(master, "echo T=$(tty)\n");
    reader.wait_for("T=/dev/pts/0");
    type_on(master, "echo S=$(stty size)\n");
    reader.wait_for(&format!("S={rows} {cols}"));
    type_on(master, "echo hi-$((1+2))\n");
    reader.wait_for("hi-3");
    // /dev/console is the container's terminal, as with runc (pts is major 136).
    type_on(master, "echo C=$(stat -c %t:%T /dev/console)\n");
    reader.wait_for("C=88:0");
    check_only_the_terminal_is_open(rt, id);
}

/// Every descriptor of the container's shell is its terminal: nothing of the
/// runtime (sockets, the console socket, pipes, files) leaked in. (Beyond
/// 0-2 the descriptors are busybox's business: an interactive ash opens
/// /dev/tty at fd 10.)
fn check_only_the_terminal_is_open(rt: &Runtime, id: &str) {
    let pid = rt.state(id)["pid"].as_i64().unwrap();
    let fds: Vec<(String, String)> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .map(|e| {
            let target = fs::read_link(e.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), target)
        })
        .collect();
    for fd in ["0", "1", "2"] {
        assert!(fds.iter().any(|(n, _)| n == fd), "fd {fd} missing: {fds:?}");
    }
    assert!(
        fds.iter()
            .all(|(_, target)| target == "/dev/pts/0" || target == "/dev/tty"),
        "the container's shell has descriptors besides its terminal: {fds:?}"
    );
}

// ---------------------------------------------------------------------------
// --console-socket
// ---------------------------------------------------------------------------

#[test]
fn console_socket_receives_the_pty_master() {
    let rt = Runtime::new();
    let bundle = terminal_bundle(Some((40, 120)));
    let socket = bundle.dir.join("console.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let id = unique_id("console-socket");
    let out = rt.run(&[
        "create",
        "--console-socket",
        socket.to_str().unwrap(),
        "--bundle",
        bundle.path(),
        &id,
    ]);
    assert!(out.status.success(), "create failed: {out:?}");
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "create with a terminal prints nothing: {out:?}"
    );
    // create connected while it ran; the connection waits in the backlog.
    listener.set_nonblocking(true).unwrap();
    let (stream, _) = listener
        .accept()
        .expect("create connected to the console socket");
    stream.set_nonblocking(false).unwrap();
    let master = receive_fd(&stream);
    // It is the master of the container's first pty.
    let mut number: libc::c_uint = 99;
    // SAFETY: TIOCGPTN writes one unsigned int into valid memory.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut number) };
    assert_eq!(rc, 0, "the received descriptor is not a pty master");
    assert_eq!(number, 0, "the container's devpts is its own");
    assert_eq!(rt.state(&id)["status"], "created");

    let reader = PtyReader::new(&master);
    rt.ok(&["start", &id]);
    check_shell_on_terminal(&rt, &id, &master, &reader, 40, 120);
    type_on(&master, "exit 7\n");
    rt.wait_for_status(&id, "stopped");
    rt.ok(&["delete", &id]);
    drop(reader);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

/// runc's 2025 advisory: an image whose /dev/console is a symlink (here onto a file of
/// the container's, standing for a procfs file) must not get the terminal bound onto the
/// link's target. /dev is bound from a directory the "image" controls.
#[test]
fn a_dev_console_that_is_a_symlink_is_refused() {
    let rt = Runtime::new();
    let mut bundle = terminal_bundle(None);
    let dev = bundle.dir.join("image-dev");
    for dir in ["pts", "shm", "mqueue"] {
        fs::create_dir_all(dev.join(dir)).unwrap();
    }
    std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx")).unwrap();
    std::os::unix::fs::symlink("/etc/console-target", dev.join("console")).unwrap();
    fs::write(bundle.rootfs().join("etc/console-target"), "untouched\n").unwrap();
    for mount in bundle.config["mounts"].as_array_mut().unwrap() {
        if mount["destination"] == "/dev" {
            *mount = json!({"destination": "/dev", "type": "bind", "source": dev, "options": ["rbind", "rw"]});
        }
    }
    bundle.write_config();
    let socket = bundle.dir.join("console.sock");
    let _listener = UnixListener::bind(&socket).unwrap();
    let id = unique_id("console-symlink");
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
        &["/dev/console", "symbolic link"],
        "a /dev/console symlink",
    );
    assert_eq!(
        fs::read_to_string(bundle.rootfs().join("etc/console-target")).unwrap(),
        "untouched\n"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn run_detached_with_a_console_socket() {
    let rt = Runtime::new();
    let bundle = terminal_bundle(Some((25, 81)));
    let socket = bundle.dir.join("console.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let id = unique_id("console-run-d");
    let out = rt.run(&[
        "run",
        "-d",
        "--console-socket",
        socket.to_str().unwrap(),
        "--bundle",
        bundle.path(),
        &id,
    ]);
    assert!(out.status.success(), "run -d failed: {out:?}");
    listener.set_nonblocking(true).unwrap();
    let (stream, _) = listener.accept().expect("run connected");
    stream.set_nonblocking(false).unwrap();
    let master = receive_fd(&stream);
    assert_eq!(rt.state(&id)["status"], "running");
    let reader = PtyReader::new(&master);
    check_shell_on_terminal(&rt, &id, &master, &reader, 25, 81);
    type_on(&master, "exit\n");
    rt.wait_for_status(&id, "stopped");
    rt.ok(&["delete", &id]);
    drop(reader);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

// ---------------------------------------------------------------------------
// Foreground run on the caller's terminal
// ---------------------------------------------------------------------------

/// The settings a raw-mode switch changes.
fn settings(t: &Termios) -> String {
    format!(
        "iflag={:?} oflag={:?} cflag={:?} lflag={:?} cc={:?}",
        t.input_flags, t.output_flags, t.control_flags, t.local_flags, t.control_chars
    )
}

#[test]
fn foreground_run_serves_the_terminal_and_restores_it() {
    let rt = Runtime::new();
    let bundle = terminal_bundle(None);
    let id = unique_id("tty-run");
    let size = Winsize {
        ws_row: 33,
        ws_col: 97,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(&size, None).expect("openpty");
    let before = tcgetattr(pty.slave.as_fd()).unwrap();
    assert!(
        before
            .local_flags
            .contains(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG),
        "a fresh pty is cooked: {}",
        settings(&before)
    );
    let reader = PtyReader::new(&pty.master);
    let mut cmd = rt.cmd(&["run", "--bundle", bundle.path(), &id]);
    let stdio = || Stdio::from(pty.slave.try_clone().unwrap());
    cmd.stdin(stdio()).stdout(stdio()).stderr(stdio());
    let run = Background::spawn_on_terminal(cmd);
    // ocirun switches our terminal to raw before it starts the container.
    rt.wait_for_status(&id, "running");
    let during = tcgetattr(pty.slave.as_fd()).unwrap();
    assert!(
        !during
            .local_flags
            .intersects(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG),
        "the caller's terminal is raw while the container runs: {}",
        settings(&during)
    );

    type_on(&pty.master, "echo S=$(stty size)\n");
    reader.wait_for("S=33 97");
    type_on(&pty.master, "echo hi-$((1+2))\n");
    reader.wait_for("hi-3");
    check_only_the_terminal_is_open(&rt, &id);

    // A resize of the caller's terminal reaches the container's.
    let bigger = Winsize {
        ws_row: 50,
        ws_col: 150,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one Winsize from a valid pointer.
    assert_eq!(
        unsafe { libc::ioctl(pty.master.as_raw_fd(), libc::TIOCSWINSZ, &bigger) },
        0
    );
    type_on(&pty.master, "echo W=$(stty size)\n");
    reader.wait_for("W=50 150");

    // Ctrl-C typed while `sleep 100` runs interrupts it, not the runtime.
    type_on(&pty.master, "sleep 100\n");
    wait_until("sleep 100 to run in the container", || {
        !processes_running(&id, b"sleep\x00100\x00").is_empty()
    });
    type_on(&pty.master, "\x03");
    wait_until("sleep 100 to be interrupted", || {
        processes_running(&id, b"sleep\x00100\x00").is_empty()
    });
    type_on(&pty.master, "echo after=$?\n");
    reader.wait_for("after=130");
    assert_eq!(rt.state(&id)["status"], "running");

    type_on(&pty.master, "exit 5\n");
    let out = run.wait();
    assert_eq!(
        out.status.code(),
        Some(5),
        "run returns the shell's exit code; the terminal showed:\n{:?}",
        reader.text()
    );
    let after = tcgetattr(pty.slave.as_fd()).unwrap();
    assert_eq!(
        settings(&after),
        settings(&before),
        "the caller's terminal settings are restored after run"
    );
    drop(reader);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn exec_tty_sends_its_own_pty_to_the_console_socket() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("exec-tty-socket");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let socket = bundle.dir.join("exec-console.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let exec = Background::spawn(rt.cmd(&[
        "exec",
        "--tty",
        "--console-socket",
        socket.to_str().unwrap(),
        &id,
        "sh",
    ]));
    let (stream, _) = listener
        .accept()
        .expect("exec connected to the console socket");
    let master = receive_fd(&stream);
    let reader = PtyReader::new(&master);
    type_on(&master, "tty; echo sum-$((20+22))\n");
    reader.wait_for("sum-42");
    reader.wait_for("/dev/pts/");
    type_on(&master, "exit 6\n");
    let out = exec.wait();
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        rt.state(&id)["status"],
        "running",
        "the exec'd shell is not the container"
    );
    drop(reader);
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn foreground_exec_tty_serves_the_terminal_and_restores_it() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("exec-tty-run");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let size = Winsize {
        ws_row: 21,
        ws_col: 77,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(&size, None).expect("openpty");
    let before = tcgetattr(pty.slave.as_fd()).unwrap();
    let reader = PtyReader::new(&pty.master);
    let mut cmd = rt.cmd(&["exec", "-t", &id, "sh"]);
    let stdio = || Stdio::from(pty.slave.try_clone().unwrap());
    cmd.stdin(stdio()).stdout(stdio()).stderr(stdio());
    let exec = Background::spawn_on_terminal(cmd);
    type_on(&pty.master, "echo S=$(stty size)\n");
    reader.wait_for("S=21 77");
    type_on(&pty.master, "exit 9\n");
    let out = exec.wait();
    assert_eq!(out.status.code(), Some(9));
    let after = tcgetattr(pty.slave.as_fd()).unwrap();
    assert_eq!(
        settings(&after),
        settings(&before),
        "the caller's terminal is restored"
    );
    drop(reader);
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}
