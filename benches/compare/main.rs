//! `cargo bench --bench compare`: ocirun side by side with runc (Debian's 1.1.5) on this
//! host. `scripts/bench.sh` runs it and puts the results into `docs/benchmarks.md`.
//!
//! ```text
//! cargo bench --bench compare -- [--iterations N] [--quick] [--markdown FILE]
//!                                [--parallel-total N] [--rounds N] [--timeout SECS]
//! ```
//!
//! What is measured, each the wall time of the runtime's command line from fork/exec to
//! wait4 (its rusage gives the peak RSS):
//!
//! 1. `run` of `/bin/true` (create + start + wait + delete in one command);
//! 2. the engine cycle as separate commands: `create --pid-file`, `start`, wait for the
//!    init to exit, `delete` (no `--force`). The harness is a child subreaper, as
//!    containerd's shim is, so the container's init becomes its child once `create`
//!    exits and the wait is a plain `waitpid` on it;
//! 3. `exec` of `/bin/true` into a running container (skipped, "n/a", for a runtime that
//!    answers "not implemented");
//! 4. `total` (100) `run`s of `/bin/true` with a parallelism of 2 and of 10;
//! 5. peak RSS (wait4's `ru_maxrss`) and the size of each binary;
//! 6. `run` with engine-like configurations (cgroup limits, a Docker-like seccomp
//!    profile, masked and read-only paths, each alone and all together) and the kernel
//!    floor, `unshare -mpfiun --mount-proc --root=<rootfs> /bin/true`.
//!
//! Every sequential measurement is interleaved: within one iteration each runtime (and
//! the floor) runs once, in a fixed order ocirun, runc, ..., so drift and the neighbours'
//! load hit both alike. Failures are counted and shown, never dropped silently; there is
//! no assertion about timing anywhere (a benchmark is not a test).
//!
//! Everything lives under a fresh temporary directory (the busybox bundles) and fresh
//! `--root` directories under /run, one per runtime, with unique container ids; all of
//! it is removed (`delete --force` first) at the end, on error and on Ctrl-C.

mod cgroup_setup;
mod read_only_binary;

use serde_json::{json, Value};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

const BUSYBOX: &str = "/bin/busybox";

const USAGE: &str = "\
usage: cargo bench --bench compare -- [options]

  --iterations N      sequential iterations per scenario (default 50; 10 with --quick)
  --quick             smoke run: 10 iterations, 20 parallel containers, 1 round
  --parallel-total N  containers per parallel batch (default 100)
  --rounds N          batches per runtime and parallelism (default 3; 1 with --quick)
  --timeout SECS      kill a command still running after SECS seconds (default 30)
  --state-dir DIR     where the two --root directories go (default /run)
  --markdown FILE     also write the results as the markdown \"Latest results\" section
  --ocirun PATH       the ocirun binary (default: the one cargo built, or $OCIRUN_BIN)
  --runc PATH         the runc binary (default: runc on $PATH, or $RUNC_BIN)";

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

struct Options {
    iterations: usize,
    warmup: usize,
    quick: bool,
    parallel_total: usize,
    parallelism: Vec<usize>,
    rounds: usize,
    timeout: Duration,
    markdown: Option<PathBuf>,
    ocirun: Option<PathBuf>,
    runc: Option<PathBuf>,
    state_dir: PathBuf,
}

fn parse_options(args: Vec<String>) -> Result<Options, String> {
    let mut iterations = None;
    let mut quick = false;
    let mut parallel_total = None;
    let mut rounds = None;
    let mut timeout = 30;
    let mut markdown = None;
    let mut ocirun = None;
    let mut runc = None;
    let mut state_dir = PathBuf::from("/run");
    let mut args = args.into_iter().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        let number = |name: &str, text: String| -> Result<usize, String> {
            match text.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{name}: expected a positive number, got {text:?}")),
            }
        };
        match flag.as_str() {
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            "--quick" => quick = true,
            "--iterations" => iterations = Some(number("--iterations", value("--iterations")?)?),
            "--parallel-total" => {
                parallel_total = Some(number("--parallel-total", value("--parallel-total")?)?)
            }
            "--rounds" => rounds = Some(number("--rounds", value("--rounds")?)?),
            "--timeout" => timeout = number("--timeout", value("--timeout")?)?,
            "--markdown" => markdown = Some(PathBuf::from(value("--markdown")?)),
            "--ocirun" => ocirun = Some(PathBuf::from(value("--ocirun")?)),
            "--runc" => runc = Some(PathBuf::from(value("--runc")?)),
            "--state-dir" => state_dir = PathBuf::from(value("--state-dir")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Options {
        iterations: iterations.unwrap_or(if quick { 10 } else { 50 }),
        warmup: 1,
        quick,
        parallel_total: parallel_total.unwrap_or(if quick { 20 } else { 100 }),
        parallelism: vec![2, 10],
        rounds: rounds.unwrap_or(if quick { 1 } else { 3 }),
        timeout: Duration::from_secs(timeout as u64),
        markdown,
        ocirun,
        runc,
        state_dir,
    })
}

// ---------------------------------------------------------------------------------------
// Signals, reaping, the watchdog
// ---------------------------------------------------------------------------------------

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGHUP, handler);
    }
}

fn check_interrupted() -> Result<(), String> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err("interrupted".to_string())
    } else {
        Ok(())
    }
}

/// Becomes the child subreaper, as containerd's shim is: a container's init whose `create`
/// has exited is reparented to us, so we can wait for it.
fn become_subreaper() -> Result<(), String> {
    // SAFETY: prctl with integer arguments touches no memory of ours.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if r == 0 {
        Ok(())
    } else {
        Err(format!(
            "prctl(PR_SET_CHILD_SUBREAPER): {}",
            std::io::Error::last_os_error()
        ))
    }
}

/// Reaps whatever orphans were reparented to us. Only between sections: it must not race
/// a thread waiting for its own child.
fn reap_strays() {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only the status integer we pass.
        let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::__WALL) };
        if r <= 0 {
            return;
        }
    }
}

/// Kills a command that outlives its deadline (a hung runtime must not hang the
/// benchmark). Holds a pidfd per watched child, so it never signals a reused pid.
struct Watchdog {
    entries: Mutex<Vec<Watch>>,
    next: AtomicU64,
}

struct Watch {
    key: u64,
    pidfd: libc::c_int,
    deadline: Instant,
    fired: bool,
}

static WATCHDOG: Watchdog = Watchdog {
    entries: Mutex::new(Vec::new()),
    next: AtomicU64::new(0),
};

impl Watchdog {
    fn watch(&'static self, pid: libc::pid_t, timeout: Duration) -> Option<u64> {
        static STARTED: Once = Once::new();
        STARTED.call_once(|| {
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_millis(50));
                let now = Instant::now();
                let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
                for e in entries.iter_mut().filter(|e| !e.fired && now >= e.deadline) {
                    // SAFETY: pidfd_send_signal with an fd we own and no siginfo.
                    unsafe {
                        libc::syscall(
                            libc::SYS_pidfd_send_signal,
                            e.pidfd,
                            libc::SIGKILL,
                            std::ptr::null::<libc::siginfo_t>(),
                            0,
                        );
                    }
                    e.fired = true;
                }
            });
        });
        // SAFETY: pidfd_open takes a pid and flags; it returns a new fd or -1.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
        if pidfd < 0 {
            return None;
        }
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Watch {
                key,
                pidfd,
                deadline: Instant::now() + timeout,
                fired: false,
            });
        Some(key)
    }

    /// Stops watching; true if the watchdog killed the process.
    fn unwatch(&self, key: Option<u64>) -> bool {
        let Some(key) = key else { return false };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let Some(index) = entries.iter().position(|e| e.key == key) else {
            return false;
        };
        let entry = entries.swap_remove(index);
        // SAFETY: the fd is ours and closed once.
        unsafe { libc::close(entry.pidfd) };
        entry.fired
    }
}

// ---------------------------------------------------------------------------------------
// Running one command
// ---------------------------------------------------------------------------------------

/// One command's result: wall time from spawn to wait4, peak RSS (KiB, wait4's
/// `ru_maxrss`: the largest of the process and the descendants it reaped), and why it
/// failed, if it did.
struct Outcome {
    wall: Duration,
    maxrss_kb: i64,
    error: Option<String>,
}

static SCRATCH: AtomicU64 = AtomicU64::new(0);

/// An unlinked file for a command's stderr (a file, not a pipe: a detached container
/// keeps its stdio open, and we read it only when the command failed).
fn scratch_file(dir: &Path) -> std::io::Result<File> {
    let path = dir.join(format!(
        "stderr-{}",
        SCRATCH.fetch_add(1, Ordering::Relaxed)
    ));
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    fs::remove_file(&path)?;
    Ok(file)
}

fn wait4(pid: libc::pid_t, flags: libc::c_int) -> std::io::Result<(libc::c_int, libc::rusage)> {
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain old data; wait4 fills it in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 writes only the status and the rusage we pass.
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

fn describe_status(status: libc::c_int) -> Option<String> {
    if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            0 => None,
            code => Some(format!("exit status {code}")),
        }
    } else if libc::WIFSIGNALED(status) {
        Some(format!("killed by signal {}", libc::WTERMSIG(status)))
    } else {
        Some(format!("wait status {status:#x}"))
    }
}

fn first_line(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.take(4096).read_to_string(&mut text);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    let mut line = line.unwrap_or("").to_string();
    if line.len() > 200 {
        let mut end = 200;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('…');
    }
    line
}

/// Runs `cmd` (stdin and stdout /dev/null, stderr kept for the error message), timing
/// spawn → wait4. `scratch` is a directory for the stderr file.
fn execute(mut cmd: Command, scratch: &Path, timeout: Duration) -> Outcome {
    let files = scratch_file(scratch).and_then(|f| Ok((f.try_clone()?, f)));
    let (mut stderr, child_stderr) = match files {
        Ok((ours, theirs)) => (ours, theirs),
        Err(e) => {
            return Outcome {
                wall: Duration::ZERO,
                maxrss_kb: 0,
                error: Some(format!("stderr file: {e}")),
            }
        }
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(child_stderr);
    let start = Instant::now();
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Outcome {
                wall: start.elapsed(),
                maxrss_kb: 0,
                error: Some(format!("could not start {:?}: {e}", cmd.get_program())),
            }
        }
    };
    let pid = child.id() as libc::pid_t;
    let watch = WATCHDOG.watch(pid, timeout);
    let waited = wait4(pid, 0);
    let wall = start.elapsed();
    let killed = WATCHDOG.unwatch(watch);
    drop(child); // already reaped; dropping a Child neither waits nor kills
    drop(cmd);
    match waited {
        Err(e) => Outcome {
            wall,
            maxrss_kb: 0,
            error: Some(format!("wait4: {e}")),
        },
        Ok((status, usage)) => {
            let error = if killed {
                Some(format!("timed out after {}s, killed", timeout.as_secs()))
            } else {
                describe_status(status).map(|what| {
                    let line = first_line(&mut stderr);
                    if line.is_empty() {
                        what
                    } else {
                        format!("{what}: {line}")
                    }
                })
            };
            Outcome {
                wall,
                maxrss_kb: usage.ru_maxrss,
                error,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------

/// The successful samples of one measurement, and its failures.
#[derive(Default, Clone)]
struct Series {
    ms: Vec<f64>,
    rss_kb: Vec<i64>,
    failures: usize,
    errors: Vec<String>,
    /// Set when the measurement could not be made at all (e.g. "not implemented").
    unavailable: Option<String>,
}

struct Summary {
    median: f64,
    min: f64,
    max: f64,
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

impl Series {
    fn record(&mut self, outcome: &Outcome) {
        match &outcome.error {
            None => {
                self.ms.push(outcome.wall.as_secs_f64() * 1e3);
                self.rss_kb.push(outcome.maxrss_kb);
            }
            Some(error) => self.fail(error),
        }
    }

    fn fail(&mut self, error: &str) {
        self.failures += 1;
        if self.errors.len() < 3 && !self.errors.iter().any(|e| e == error) {
            self.errors.push(error.to_string());
        }
    }

    fn summary(&self) -> Option<Summary> {
        if self.ms.is_empty() {
            return None;
        }
        let mut v = self.ms.clone();
        v.sort_by(f64::total_cmp);
        Some(Summary {
            median: median(&v),
            min: v[0],
            max: v[v.len() - 1],
        })
    }

    fn median(&self) -> Option<f64> {
        self.summary().map(|s| s.median)
    }

    fn rss(&self) -> Option<(f64, i64)> {
        if self.rss_kb.is_empty() {
            return None;
        }
        let mut v: Vec<f64> = self.rss_kb.iter().map(|&k| k as f64).collect();
        v.sort_by(f64::total_cmp);
        Some((median(&v), *self.rss_kb.iter().max().unwrap_or(&0)))
    }

    /// "9.8 (8.1–15.2)", "n/a", or "all 3 failed".
    fn cell(&self) -> String {
        if self.unavailable.is_some() {
            return "n/a".to_string();
        }
        match self.summary() {
            Some(s) => format!("{:.1} ({:.1}–{:.1})", s.median, s.min, s.max),
            None if self.failures > 0 => format!("all {} failed", self.failures),
            None => "n/a".to_string(),
        }
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "n/a".to_string(),
    }
}

fn delta(row: &Series, base: &Series) -> String {
    match (row.median(), base.median()) {
        (Some(a), Some(b)) => format!("{:+.1}", a - b),
        _ => "n/a".to_string(),
    }
}

fn failures(a: &Series, b: &Series) -> String {
    let one = |s: &Series| {
        if s.unavailable.is_some() {
            "–".to_string()
        } else {
            s.failures.to_string()
        }
    };
    format!("{} / {}", one(a), one(b))
}

// ---------------------------------------------------------------------------------------
// The bundles
// ---------------------------------------------------------------------------------------

/// A busybox root filesystem: /bin/busybox and a symlink per applet (not for `busybox`
/// itself, which `busybox --list` names too).
fn build_rootfs(rootfs: &Path) -> Result<(), String> {
    let io = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    let bin = rootfs.join("bin");
    fs::create_dir_all(&bin).map_err(|e| io("mkdir", &bin, e))?;
    fs::copy(BUSYBOX, bin.join("busybox")).map_err(|e| {
        format!("copying {BUSYBOX} (apt-get install busybox-static) into the rootfs: {e}")
    })?;
    let list = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .map_err(|e| format!("{BUSYBOX} --list: {e}"))?;
    for applet in String::from_utf8_lossy(&list.stdout).lines().map(str::trim) {
        if applet.is_empty() || applet.contains('/') || applet == "busybox" {
            continue;
        }
        let link = bin.join(applet);
        symlink("busybox", &link).map_err(|e| io("symlink", &link, e))?;
    }
    for d in ["proc", "sys", "dev", "tmp", "etc", "root"] {
        let p = rootfs.join(d);
        fs::create_dir_all(&p).map_err(|e| io("mkdir", &p, e))?;
    }
    let _ = fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777));
    let _ = fs::set_permissions(rootfs.join("root"), fs::Permissions::from_mode(0o700));
    let passwd = rootfs.join("etc/passwd");
    fs::write(&passwd, "root:x:0:0:root:/root:/bin/sh\n").map_err(|e| io("write", &passwd, e))?;
    let group = rootfs.join("etc/group");
    fs::write(&group, "root:x:0:\n").map_err(|e| io("write", &group, e))
}

/// A seccomp profile like the one Docker gives a container with the default capabilities
/// (no CAP_SYS_ADMIN): errno EPERM by default, the native architectures, ~300 allowed
/// syscalls, argument filters on socket, personality and clone, clone3 → ENOSYS.
fn docker_like_seccomp() -> Value {
    #[rustfmt::skip]
    const ALLOWED: &[&str] = &[
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget",
        "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
        "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
        "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
        "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
        "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
        "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
        "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat",
        "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
        "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
        "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64",
        "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
        "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
        "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
        "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
        "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
        "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
        "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
        "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
        "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
        "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
        "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr",
        "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
        "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat",
        "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
        "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
        "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall",
        "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
        "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64",
        "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
        "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
        "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
        "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename",
        "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
        "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
        "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
        "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
        "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
        "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
        "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
        "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
        "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
        "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
        "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
        "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
        "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address",
        "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
        "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
        "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
        "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill",
        "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
        "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
        "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
        "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
        "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork",
        "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
        // Docker allows these from kernel 4.8 on.
        "process_vm_readv", "process_vm_writev", "ptrace",
    ];
    let allow_arg = |name: &str, index: u32, value: u64, op: &str| {
        json!({
            "names": [name],
            "action": "SCMP_ACT_ALLOW",
            "args": [{ "index": index, "value": value, "op": op }]
        })
    };
    let mut syscalls = vec![json!({ "names": ALLOWED, "action": "SCMP_ACT_ALLOW" })];
    syscalls.push(allow_arg("socket", 0, 40, "SCMP_CMP_NE")); // no AF_VSOCK
    for persona in [0u64, 8, 0x20000, 0x20008, 0xffff_ffff] {
        syscalls.push(allow_arg("personality", 0, persona, "SCMP_CMP_EQ"));
    }
    // clone without any namespace flag; clone3 cannot be filtered on flags: ENOSYS.
    syscalls.push(json!({
        "names": ["clone"],
        "action": "SCMP_ACT_ALLOW",
        "args": [{ "index": 0, "value": 0x7E02_0000u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }]
    }));
    syscalls.push(json!({ "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 }));
    let architectures: &[&str] = if cfg!(target_arch = "x86_64") {
        syscalls.push(json!({ "names": ["arch_prctl", "modify_ldt"], "action": "SCMP_ACT_ALLOW" }));
        &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    } else if cfg!(target_arch = "aarch64") {
        &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    } else {
        &[]
    };
    let mut profile = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "syscalls": syscalls
    });
    if !architectures.is_empty() {
        profile["architectures"] = json!(architectures);
    }
    profile
}

/// The `run true` configurations: name, what it adds, and its config.json.
struct Config {
    name: &'static str,
    what: &'static str,
    bundle: PathBuf,
}

/// `ocirun spec`'s config with the jq-equivalent edits: no terminal, the given args, the
/// shared rootfs by absolute path.
fn base_spec(ocirun: &Path, scratch: &Path, rootfs: &Path) -> Result<Value, String> {
    let dir = scratch.join("spec");
    fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let out = Command::new(ocirun)
        .arg("spec")
        .arg("--bundle")
        .arg(&dir)
        .output()
        .map_err(|e| format!("{} spec: {e}", ocirun.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} spec failed: {}",
            ocirun.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let path = dir.join("config.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut spec: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    spec["process"]["terminal"] = json!(false);
    spec["process"]["args"] = json!(["/bin/true"]);
    spec["root"]["path"] = json!(rootfs.to_string_lossy());
    Ok(spec)
}

fn write_bundle(dir: &Path, name: &str, spec: &Value) -> Result<PathBuf, String> {
    let bundle = dir.join(name);
    fs::create_dir_all(&bundle).map_err(|e| format!("mkdir {}: {e}", bundle.display()))?;
    let text = serde_json::to_string_pretty(spec).map_err(|e| e.to_string())?;
    let path = bundle.join("config.json");
    fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bundle)
}

// ---------------------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------------------

struct Runtime {
    name: &'static str,
    bin: PathBuf,
    root: PathBuf,
}

impl Runtime {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root").arg(&self.root).args(args);
        cmd
    }
}

struct Bench {
    opts: Options,
    /// Temporary directory: rootfs, bundles, pid files, stderr files.
    dir: PathBuf,
    /// Parent of both `--root`s, under /run.
    state: PathBuf,
    rootfs: PathBuf,
    runtimes: [Runtime; 2],
    cores: usize,
    ids: AtomicUsize,
    notes: Mutex<Vec<String>>,
}

/// Everything measured, for the report.
struct SequentialRuns {
    runs: Vec<[Series; 2]>,
    floor: Series,
    /// ocirun's `default` run from a binary on a read-only mount: no CVE-2019-5736
    /// protection needed (no exec trampoline, no re-exec).
    read_only: Series,
}

struct Results {
    configs: Vec<(&'static str, &'static str)>,
    /// Per configuration, per runtime.
    run: Vec<[Series; 2]>,
    floor: Series,
    read_only: Series,
    /// create, start, wait, delete, cycle; per runtime.
    cycle: [[Series; 5]; 2],
    exec: [Series; 2],
    /// (parallelism, per runtime: per-round wall seconds, failures, errors)
    parallel: Vec<(usize, [Batches; 2])>,
    /// ocirun's cgroup setup and teardown alone, or why it could not be measured.
    cgroups: Result<cgroup_setup::CgroupCost, String>,
    started: String,
    load_before: String,
    load_after: String,
    took: Duration,
}

#[derive(Default, Clone)]
struct Batches {
    walls: Vec<f64>,
    failures: usize,
    errors: Vec<String>,
}

const CYCLE_STEPS: [&str; 5] = [
    "create",
    "start",
    "wait (start → init exited)",
    "delete",
    "cycle total",
];

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

impl Bench {
    fn new(opts: Options) -> Result<Bench, String> {
        let ocirun = opts
            .ocirun
            .clone()
            .or_else(|| std::env::var_os("OCIRUN_BIN").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ocirun")));
        let runc = opts
            .runc
            .clone()
            .or_else(|| std::env::var_os("RUNC_BIN").map(PathBuf::from))
            .or_else(|| find_in_path("runc"))
            .ok_or("runc is not on $PATH (apt-get install runc)")?;
        for bin in [&ocirun, &runc] {
            if !bin.is_file() {
                return Err(format!("{} does not exist", bin.display()));
            }
        }
        let tag = std::process::id();
        let dir = std::env::temp_dir().join(format!("ocirun-bench-{tag}"));
        let state = opts.state_dir.join(format!("ocirun-bench-{tag}"));
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Ok(Bench {
            rootfs: dir.join("rootfs"),
            runtimes: [
                Runtime {
                    name: "ocirun",
                    bin: ocirun,
                    root: state.join("ocirun"),
                },
                Runtime {
                    name: "runc",
                    bin: runc,
                    root: state.join("runc"),
                },
            ],
            dir,
            state,
            opts,
            cores,
            ids: AtomicUsize::new(0),
            notes: Mutex::new(Vec::new()),
        })
    }

    fn note(&self, text: String) {
        eprintln!("  note: {text}");
        self.notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(text);
    }

    fn id(&self, what: &str) -> String {
        format!(
            "bench-{}-{what}-{}",
            std::process::id(),
            self.ids.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn exec(&self, cmd: Command) -> Outcome {
        execute(cmd, &self.dir, self.opts.timeout)
    }

    /// After a failure: make sure nothing of container `id` is left (untimed).
    fn force_delete(&self, rt: &Runtime, id: &str) {
        let _ = self.exec(rt.cmd(&["delete", "--force", id]));
    }

    fn setup(&self) -> Result<Vec<Config>, String> {
        for d in [&self.dir, &self.runtimes[0].root, &self.runtimes[1].root] {
            fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
        }
        build_rootfs(&self.rootfs)?;
        let default = base_spec(&self.runtimes[0].bin, &self.dir, &self.rootfs)?;
        let mut bare = default.clone();
        if let Some(linux) = bare["linux"].as_object_mut() {
            linux.remove("maskedPaths");
            linux.remove("readonlyPaths");
        }
        let limits = |spec: &mut Value| {
            let resources = &mut spec["linux"]["resources"];
            resources["memory"] = json!({ "limit": 256u64 << 20 });
            resources["pids"] = json!({ "limit": 1024 });
            resources["cpu"] = json!({ "shares": 512 });
        };
        let mut resources = default.clone();
        limits(&mut resources);
        let mut seccomp = default.clone();
        seccomp["linux"]["seccomp"] = docker_like_seccomp();
        let mut engine = resources.clone();
        engine["linux"]["seccomp"] = docker_like_seccomp();
        let mut sleeper = default.clone();
        sleeper["process"]["args"] = json!(["/bin/sleep", "1000000"]);

        let bundles = self.dir.join("bundles");
        write_bundle(&bundles, "sleeper", &sleeper)?;
        let configs = [
            (
                "default",
                "runc spec defaults (masked + read-only paths, devices cgroup rule)",
                &default,
            ),
            ("bare", "default minus maskedPaths and readonlyPaths", &bare),
            (
                "+limits",
                "default + memory 256 MiB, pids 1024, cpu shares 512",
                &resources,
            ),
            (
                "+seccomp",
                "default + Docker-like seccomp profile",
                &seccomp,
            ),
            ("engine", "default + limits + seccomp", &engine),
        ];
        configs
            .into_iter()
            .map(|(name, what, spec)| {
                Ok(Config {
                    name,
                    what,
                    bundle: write_bundle(&bundles, name, spec)?,
                })
            })
            .collect()
    }

    fn bundle_arg(path: &Path) -> &str {
        path.to_str().unwrap_or(".")
    }

    /// Sections 1 and 6: `run true` per configuration and runtime, and the floor, all
    /// interleaved within each iteration: every configuration runs ocirun then runc, and
    /// the floor runs once, in an order shuffled per iteration (fixed seed). A run is
    /// slowed by what ran just before it (cgroup v1 migrations wait for RCU grace periods,
    /// which a previous container's teardown keeps busy), so a fixed order would charge
    /// one configuration with its predecessor's cost.
    /// `run` per configuration and runtime, the kernel floor, and ocirun's `default` run
    /// from a read-only copy of its binary (no CVE-2019-5736 protection), shuffled together.
    fn sequential_runs(&self, configs: &[Config]) -> Result<SequentialRuns, String> {
        let mut runs = vec![[Series::default(), Series::default()]; configs.len()];
        let mut floor = Series::default();
        let mut read_only = Series::default();
        let read_only_binary = read_only_binary::ReadOnlyBinary::new(
            &self.runtimes[0].bin,
            &self.dir.join("read-only-binary"),
        );
        if let Err(e) = &read_only_binary {
            self.note(format!("no read-only copy of the binary: {e}"));
        }
        let root_arg = format!("--root={}", self.rootfs.display());
        let total = self.opts.warmup + self.opts.iterations;
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        // configs.len() stands for the floor, configs.len() + 1 for the read-only binary.
        let mut order: Vec<usize> = (0..=configs.len() + 1).collect();
        for it in 0..total {
            check_interrupted()?;
            progress("run true + floor", it, total);
            let keep = it >= self.opts.warmup;
            rng.shuffle(&mut order);
            for &c in &order {
                if c == configs.len() + 1 {
                    let Ok(copy) = &read_only_binary else {
                        continue;
                    };
                    let id = self.id("run");
                    let mut cmd = Command::new(&copy.bin);
                    cmd.arg("--root").arg(&self.runtimes[0].root).args([
                        "run",
                        "--bundle",
                        Self::bundle_arg(&configs[0].bundle),
                        &id,
                    ]);
                    let o = self.exec(cmd);
                    if let Some(error) = &o.error {
                        self.note(format!(
                            "ocirun run (read-only binary){}: {error}",
                            warm_up(keep)
                        ));
                        self.force_delete(&self.runtimes[0], &id);
                    }
                    if keep {
                        read_only.record(&o);
                    }
                    continue;
                }
                let Some(config) = configs.get(c) else {
                    let mut unshare = Command::new("unshare");
                    unshare.args(["-mpfiun", "--mount-proc", &root_arg, "/bin/true"]);
                    let o = self.exec(unshare);
                    if let Some(error) = &o.error {
                        self.note(format!("floor (unshare){}: {error}", warm_up(keep)));
                    }
                    if keep {
                        floor.record(&o);
                    }
                    continue;
                };
                for (r, rt) in self.runtimes.iter().enumerate() {
                    let id = self.id("run");
                    let o = self.exec(rt.cmd(&[
                        "run",
                        "--bundle",
                        Self::bundle_arg(&config.bundle),
                        &id,
                    ]));
                    if let Some(error) = &o.error {
                        self.note(format!(
                            "{} run ({}){}: {error}",
                            rt.name,
                            config.name,
                            warm_up(keep)
                        ));
                        self.force_delete(rt, &id);
                    }
                    if keep {
                        runs[c][r].record(&o);
                    }
                }
            }
        }
        Ok(SequentialRuns {
            runs,
            floor,
            read_only,
        })
    }

    /// Section 2: create, start, wait for the init (we are its subreaper), delete.
    fn cycles(&self, bundle: &Path) -> Result<[[Series; 5]; 2], String> {
        let mut steps: [[Series; 5]; 2] = Default::default();
        let total = self.opts.warmup + self.opts.iterations;
        for it in 0..total {
            check_interrupted()?;
            progress("create/start/delete cycle", it, total);
            let keep = it >= self.opts.warmup;
            for (r, rt) in self.runtimes.iter().enumerate() {
                let result = self.cycle(rt, bundle, keep);
                if !keep {
                    continue;
                }
                match result {
                    Ok(times) => {
                        for (s, o) in times.iter().enumerate() {
                            steps[r][s].record(o);
                        }
                    }
                    Err((step, error)) => {
                        steps[r][step].fail(&error);
                        steps[r][4].fail(&format!("{}: {error}", CYCLE_STEPS[step]));
                    }
                }
            }
        }
        Ok(steps)
    }

    /// One cycle; on failure, the step that failed and why (the container is removed).
    fn cycle(
        &self,
        rt: &Runtime,
        bundle: &Path,
        keep: bool,
    ) -> Result<[Outcome; 5], (usize, String)> {
        let id = self.id("cycle");
        let pid_file = self.dir.join(format!("{id}.pid"));
        let pid_arg = pid_file.to_string_lossy().into_owned();
        let fail = |step: usize, error: String| {
            self.note(format!(
                "{} {}{}: {error}",
                rt.name,
                CYCLE_STEPS[step],
                warm_up(keep)
            ));
            self.force_delete(rt, &id);
            let _ = fs::remove_file(&pid_file);
            Err((step, error))
        };
        let create = self.exec(rt.cmd(&[
            "create",
            "--bundle",
            Self::bundle_arg(bundle),
            "--pid-file",
            &pid_arg,
            &id,
        ]));
        if let Some(e) = create.error {
            return fail(0, e);
        }
        let pid = match fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<libc::pid_t>().ok())
        {
            Some(pid) => pid,
            None => return fail(0, "no pid in --pid-file".to_string()),
        };
        let start = self.exec(rt.cmd(&["start", &id]));
        if let Some(e) = start.error {
            return fail(1, e);
        }
        let wait = match self.wait_exit(pid) {
            Ok(o) => o,
            Err(e) => return fail(2, e),
        };
        let delete = self.exec(rt.cmd(&["delete", &id]));
        if let Some(e) = delete.error {
            return fail(3, e);
        }
        let _ = fs::remove_file(&pid_file);
        let total = Outcome {
            wall: create.wall + start.wall + wait.wall + delete.wall,
            maxrss_kb: create.maxrss_kb.max(start.maxrss_kb).max(delete.maxrss_kb),
            error: None,
        };
        Ok([create, start, wait, delete, total])
    }

    /// Waits for the container's init to exit: it is our child (we are the subreaper).
    /// Falls back to polling /proc if it is not.
    fn wait_exit(&self, pid: libc::pid_t) -> Result<Outcome, String> {
        let begin = Instant::now();
        let watch = WATCHDOG.watch(pid, self.opts.timeout);
        let waited = wait4(pid, libc::__WALL);
        let killed = WATCHDOG.unwatch(watch);
        match waited {
            Ok(_) if killed => Err(format!(
                "the init did not exit within {}s",
                self.opts.timeout.as_secs()
            )),
            Ok((_, usage)) => Ok(Outcome {
                wall: begin.elapsed(),
                maxrss_kb: usage.ru_maxrss,
                error: None,
            }),
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {
                static ONCE: Once = Once::new();
                ONCE.call_once(|| {
                    self.note(
                        "the container's init was not our child: waited by polling /proc"
                            .to_string(),
                    )
                });
                while Instant::now() < begin + self.opts.timeout {
                    let stat = fs::read_to_string(format!("/proc/{pid}/stat"));
                    let gone = match &stat {
                        Err(_) => true,
                        Ok(s) => matches!(
                            s.rsplit_once(')')
                                .and_then(|(_, r)| r.trim().chars().next()),
                            Some('Z' | 'X')
                        ),
                    };
                    if gone {
                        return Ok(Outcome {
                            wall: begin.elapsed(),
                            maxrss_kb: 0,
                            error: None,
                        });
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err("the init did not exit".to_string())
            }
            Err(e) => Err(format!("waiting for the init: {e}")),
        }
    }

    /// Section 3: `exec /bin/true` into a running container, per runtime; "n/a" for a
    /// runtime without exec.
    fn execs(&self) -> Result<[Series; 2], String> {
        let mut series: [Series; 2] = Default::default();
        let sleeper = self.dir.join("bundles/sleeper");
        let ids: Vec<String> = self.runtimes.iter().map(|_| self.id("exec")).collect();
        let mut ready = [false; 2];
        for (r, rt) in self.runtimes.iter().enumerate() {
            let o = self.exec(rt.cmd(&[
                "run",
                "--detach",
                "--bundle",
                Self::bundle_arg(&sleeper),
                &ids[r],
            ]));
            if let Some(e) = o.error {
                self.note(format!("{} run --detach (for exec): {e}", rt.name));
                series[r].unavailable = Some(format!("run --detach failed: {e}"));
                continue;
            }
            // The first exec is the warm-up, and tells whether exec exists at all.
            let probe = self.exec(rt.cmd(&["exec", &ids[r], "/bin/true"]));
            match probe.error {
                Some(e) if e.contains("not implemented") => {
                    series[r].unavailable = Some("not implemented yet".to_string());
                }
                Some(e) => {
                    self.note(format!("{} exec (warm-up): {e}", rt.name));
                    ready[r] = true;
                }
                None => ready[r] = true,
            }
        }
        let result = (|| {
            for it in 0..self.opts.iterations {
                check_interrupted()?;
                progress("exec true", it, self.opts.iterations);
                for (r, rt) in self.runtimes.iter().enumerate() {
                    if !ready[r] {
                        continue;
                    }
                    let o = self.exec(rt.cmd(&["exec", &ids[r], "/bin/true"]));
                    if let Some(e) = &o.error {
                        self.note(format!("{} exec: {e}", rt.name));
                    }
                    series[r].record(&o);
                }
            }
            Ok(())
        })();
        for (r, rt) in self.runtimes.iter().enumerate() {
            self.force_delete(rt, &ids[r]);
        }
        reap_strays();
        result.map(|()| series)
    }

    /// Section 4: `total` runs of true with `parallelism` workers, per runtime.
    fn parallel(&self, bundle: &Path) -> Result<Vec<(usize, [Batches; 2])>, String> {
        let mut all = Vec::new();
        for &p in &self.opts.parallelism {
            let mut batches: [Batches; 2] = Default::default();
            for round in 0..self.opts.rounds {
                for (r, rt) in self.runtimes.iter().enumerate() {
                    check_interrupted()?;
                    eprintln!(
                        "  parallel {p}: {} x run true with {}, round {}/{}",
                        self.opts.parallel_total,
                        rt.name,
                        round + 1,
                        self.opts.rounds
                    );
                    let (wall, failed) = self.batch(rt, bundle, p);
                    let b = &mut batches[r];
                    b.walls.push(wall.as_secs_f64());
                    b.failures += failed.len();
                    for (id, error) in failed {
                        self.note(format!("{} parallel {p}: {error}", rt.name));
                        if b.errors.len() < 3 && !b.errors.contains(&error) {
                            b.errors.push(error);
                        }
                        self.force_delete(rt, &id);
                    }
                    reap_strays();
                }
            }
            all.push((p, batches));
        }
        Ok(all)
    }

    /// One batch: its wall time and the (id, error) of every failed container.
    fn batch(
        &self,
        rt: &Runtime,
        bundle: &Path,
        parallelism: usize,
    ) -> (Duration, Vec<(String, String)>) {
        let next = AtomicUsize::new(0);
        let failed = Mutex::new(Vec::new());
        let total = self.opts.parallel_total;
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..parallelism {
                scope.spawn(|| {
                    while next.fetch_add(1, Ordering::Relaxed) < total {
                        if INTERRUPTED.load(Ordering::SeqCst) {
                            return;
                        }
                        let id = self.id("par");
                        let o =
                            self.exec(rt.cmd(&["run", "--bundle", Self::bundle_arg(bundle), &id]));
                        if let Some(e) = o.error {
                            failed
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push((id, e));
                        }
                    }
                });
            }
        });
        let wall = start.elapsed();
        (wall, failed.into_inner().unwrap_or_else(|e| e.into_inner()))
    }

    fn run_all(&self) -> Result<Results, String> {
        let started = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
        let load_before = load_average();
        let begin = Instant::now();
        eprintln!(
            "compare: ocirun {} vs runc {}; {} iterations (+{} warm-up), {} cores; bundles in {}, --root under {}",
            self.runtimes[0].bin.display(),
            self.runtimes[1].bin.display(),
            self.opts.iterations,
            self.opts.warmup,
            self.cores,
            self.dir.display(),
            self.state.display()
        );
        let configs = self.setup()?;
        eprintln!("[1/5] run true per configuration, and the kernel floor");
        let SequentialRuns {
            runs: run,
            floor,
            read_only,
        } = self.sequential_runs(&configs)?;
        reap_strays();
        eprintln!("[2/5] create, start, wait, delete");
        let cycle = self.cycles(&configs[0].bundle)?;
        reap_strays();
        eprintln!("[3/5] exec true into a running container");
        let exec = self.execs()?;
        eprintln!("[4/5] parallel batches");
        let parallel = self.parallel(&configs[0].bundle)?;
        reap_strays();
        eprintln!("[5/5] cgroup setup alone (ocirun's executor, in-process)");
        let cgroups = cgroup_setup::measure(self.opts.iterations, &std::process::id().to_string());
        Ok(Results {
            configs: configs.iter().map(|c| (c.name, c.what)).collect(),
            run,
            floor,
            read_only,
            cycle,
            exec,
            parallel,
            cgroups,
            started,
            load_before,
            load_after: load_average(),
            took: begin.elapsed(),
        })
    }

    /// Removes every container (delete --force), both state roots and the temporary
    /// directory. Safe to call after a partial run.
    fn cleanup(&self) {
        reap_strays();
        for rt in &self.runtimes {
            if let Ok(entries) = fs::read_dir(&rt.root) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !name.starts_with('.') && entry.path().is_dir() {
                        self.force_delete(rt, &name);
                    }
                }
            }
        }
        reap_strays();
        for dir in [&self.state, &self.dir] {
            if dir.exists() {
                if let Err(e) = fs::remove_dir_all(dir) {
                    eprintln!("compare: removing {}: {e}", dir.display());
                }
            }
        }
    }
}

/// A small deterministic PRNG (xorshift64) for the run order: no dependency, and the
/// same order on every run of the benchmark.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Marks the notes of warm-up iterations, whose failures the tables do not count.
fn warm_up(keep: bool) -> &'static str {
    if keep {
        ""
    } else {
        " (warm-up, not counted)"
    }
}

fn progress(what: &str, it: usize, total: usize) {
    if it.is_multiple_of(10) || it + 1 == total {
        eprintln!("  {what}: iteration {}/{total}", it + 1);
    }
}

// ---------------------------------------------------------------------------------------
// The host, and the report
// ---------------------------------------------------------------------------------------

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_else(|| "?".to_string())
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_string())
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "?".to_string())
}

fn git_commit() -> String {
    let repo = env!("CARGO_MANIFEST_DIR");
    let commit = command_line("git", &["-C", repo, "rev-parse", "--short=12", "HEAD"]);
    let dirty = Command::new("git")
        .args(["-C", repo, "status", "--porcelain", "--"])
        .args(["src", "state-machine", "Cargo.toml", "Cargo.lock"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if dirty {
        format!("{commit} + uncommitted changes to the runtime")
    } else {
        commit
    }
}

/// The filesystem type of `path` (the journal's fsyncs cost nothing on tmpfs and a disk
/// flush elsewhere).
fn filesystem(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return "?".to_string();
    };
    // SAFETY: statfs is plain old data; statfs(2) fills it in from a valid C string.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statfs(c_path.as_ptr(), &mut buf) } != 0 {
        return "?".to_string();
    }
    match buf.f_type as u64 {
        0x0102_1994 => "tmpfs".to_string(),
        0xEF53 => "ext4".to_string(),
        0x5846_5342 => "xfs".to_string(),
        0x9123_683E => "btrfs".to_string(),
        0x794C_7630 => "overlayfs".to_string(),
        other => format!("fs type {other:#x}"),
    }
}

fn size_mib(path: &Path) -> String {
    fs::metadata(path)
        .map(|m| format!("{:.1} MiB", m.len() as f64 / (1024.0 * 1024.0)))
        .unwrap_or_else(|_| "?".to_string())
}

fn rss_cell(s: &Series) -> String {
    match s.rss() {
        Some((median, max)) => format!("{:.1} / {:.1}", median / 1024.0, max as f64 / 1024.0),
        None => "n/a".to_string(),
    }
}

/// A table printed both ways: aligned text for stdout and markdown for the docs.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn text(&self) -> String {
        let n = self.header.len();
        let mut widths = vec![0; n];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, c) in row.iter().enumerate() {
                let pad = widths[i] - c.chars().count();
                if i == 0 {
                    line.push_str(c);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str("  ");
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = format!("| {} |\n", self.header.join(" | "));
        let rule: Vec<&str> = (0..self.header.len())
            .map(|i| if i == 0 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "|{}|", rule.join("|"));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }
}

struct Report {
    title: String,
    tables: Vec<(String, Table, String)>,
}

fn build_report(bench: &Bench, r: &Results) -> Report {
    let names = [bench.runtimes[0].name, bench.runtimes[1].name];
    let cores = bench.cores;
    let opts = &bench.opts;
    let mut tables = Vec::new();

    // 1-3: sequential.
    let mut t = Table::new(&[
        "scenario (sequential)",
        "ocirun ms: median (min–max)",
        "runc ms: median (min–max)",
        "ocirun/runc",
        "failures ocirun / runc",
    ]);
    let [o, rc] = &r.run[0];
    t.row(vec![
        "run /bin/true".into(),
        o.cell(),
        rc.cell(),
        ratio(o.median(), rc.median()),
        failures(o, rc),
    ]);
    for (s, step) in CYCLE_STEPS.iter().enumerate() {
        let (o, rc) = (&r.cycle[0][s], &r.cycle[1][s]);
        let label = if s == 4 {
            "create + start + wait + delete".to_string()
        } else {
            format!("cycle step: {step}")
        };
        t.row(vec![
            label,
            o.cell(),
            rc.cell(),
            ratio(o.median(), rc.median()),
            failures(o, rc),
        ]);
    }
    let (o, rc) = (&r.exec[0], &r.exec[1]);
    let exec_cell = |s: &Series| match &s.unavailable {
        Some(why) => format!("n/a ({why})"),
        None => s.cell(),
    };
    t.row(vec![
        "exec /bin/true (running container)".into(),
        exec_cell(o),
        exec_cell(rc),
        ratio(o.median(), rc.median()),
        failures(o, rc),
    ]);
    tables.push((
        "Sequential".to_string(),
        t,
        format!(
            "{} iterations after {} warm-up, interleaved ocirun, runc, ocirun, runc, … \
             The cycle waits for the init to exit as an engine does (the harness is a child \
             subreaper, so the init becomes its child when `create` exits; `waitpid` on it), \
             then runs a plain `delete`.",
            opts.iterations, opts.warmup
        ),
    ));

    // Floor.
    let mut t = Table::new(&[
        "kernel floor",
        "ms: median (min–max)",
        "ocirun run / floor",
        "runc run / floor",
        "failures",
    ]);
    t.row(vec![
        "unshare -mpfiun --mount-proc --root=rootfs /bin/true".into(),
        r.floor.cell(),
        ratio(r.run[0][0].median(), r.floor.median()),
        ratio(r.run[0][1].median(), r.floor.median()),
        r.floor.failures.to_string(),
    ]);
    tables.push((
        "Kernel floor".to_string(),
        t,
        "Once per iteration of `run /bin/true` above, at a shuffled place among the \
         configurations."
            .to_string(),
    ));

    // 6: features.
    let mut t = Table::new(&[
        "config",
        "ocirun ms",
        "Δ ocirun",
        "runc ms",
        "Δ runc",
        "ocirun/runc",
        "failures",
    ]);
    let base = &r.run[0];
    for (c, (name, _)) in r.configs.iter().enumerate() {
        let [o, rc] = &r.run[c];
        t.row(vec![
            name.to_string(),
            o.cell(),
            if c == 0 {
                "—".into()
            } else {
                delta(o, &base[0])
            },
            rc.cell(),
            if c == 0 {
                "—".into()
            } else {
                delta(rc, &base[1])
            },
            ratio(o.median(), rc.median()),
            failures(o, rc),
        ]);
    }
    if !r.read_only.ms.is_empty() || r.read_only.failures > 0 {
        t.row(vec![
            "default, binary on a read-only mount".to_string(),
            r.read_only.cell(),
            delta(&r.read_only, &base[0]),
            "—".into(),
            "—".into(),
            "—".into(),
            r.read_only.failures.to_string(),
        ]);
    }
    let mut what = String::from(
        "`run /bin/true` per configuration, median (min–max) ms; Δ = median minus `default`'s. \
         All in the same iterations as the rows above, in an order shuffled per iteration \
         (each configuration: ocirun then runc). The last row is ocirun's `default` run \
         from a copy of its binary under a read-only bind mount, which needs no protection \
         against CVE-2019-5736 (neither the exec trampoline nor the re-exec, docs/security.md): \
         minus its Δ is what that protection costs.",
    );
    what.push('\n');
    for (name, desc) in &r.configs {
        let _ = write!(what, "\n- `{name}`: {desc}");
    }
    tables.push((
        "Engine-like configuration: cost of each feature".to_string(),
        t,
        what,
    ));

    match &r.cgroups {
        Ok(cost) => tables.push((
            "Cgroup setup alone".to_string(),
            cgroup_setup::table(cost, r.run[0][0].median()),
            format!(
                "ocirun's cgroup executor called in-process (the code `create` and `delete` \
                 run), {} containers named as a default `cgroupsPath` names them, on this \
                 host's {} hierarchies ({}). The share is of the `default` configuration's \
                 `run /bin/true` median above. runc cannot be measured this way.",
                opts.iterations,
                cost.hierarchies,
                ocirun::executors::cgroups::Hierarchies::detect().mode()
            ),
        )),
        Err(e) => bench.note(format!("cgroup setup alone: not measured: {e}")),
    }

    // 4: parallel.
    let mut t = Table::new(&[
        "parallel run /bin/true",
        "runtime",
        "wall s: median of rounds",
        "rounds",
        "failures",
        "ideal s = seq × N / cores",
        "wall / ideal",
        "ocirun/runc",
    ]);
    for (p, batches) in &r.parallel {
        let medians: Vec<Option<f64>> = batches
            .iter()
            .map(|b| {
                let mut v = b.walls.clone();
                v.sort_by(f64::total_cmp);
                (!v.is_empty()).then(|| median(&v))
            })
            .collect();
        for (i, b) in batches.iter().enumerate() {
            let ideal = r.run[0][i]
                .median()
                .map(|ms| ms / 1e3 * opts.parallel_total as f64 / cores as f64);
            t.row(vec![
                format!("{} containers, {p} at a time", opts.parallel_total),
                names[i].into(),
                medians[i].map_or("n/a".into(), |m| format!("{m:.2}")),
                b.walls
                    .iter()
                    .map(|w| format!("{w:.2}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                b.failures.to_string(),
                ideal.map_or("n/a".into(), |s| format!("{s:.2}")),
                ratio(medians[i], ideal),
                if i == 0 {
                    ratio(medians[0], medians[1])
                } else {
                    String::new()
                },
            ]);
        }
    }
    tables.push((
        "Parallel".to_string(),
        t,
        format!(
            "Each batch: {} `run`s of `/bin/true` with a pool of N worker threads; rounds \
             alternate ocirun, runc. ideal = the sequential median × {} / {cores} cores: \
             wall / ideal below 1 means the runtime spends part of its time waiting (not on a \
             CPU), above 1 that it contends.",
            opts.parallel_total, opts.parallel_total
        ),
    ));

    // 5: memory and size.
    let mut t = Table::new(&["memory and size", "ocirun", "runc", "ocirun/runc"]);
    let rss_ratio = |a: &Series, b: &Series| ratio(a.rss().map(|x| x.0), b.rss().map(|x| x.0));
    t.row(vec![
        "peak RSS MiB, `run` (median / max)".into(),
        rss_cell(&r.run[0][0]),
        rss_cell(&r.run[0][1]),
        rss_ratio(&r.run[0][0], &r.run[0][1]),
    ]);
    t.row(vec![
        "peak RSS MiB, `create` (median / max)".into(),
        rss_cell(&r.cycle[0][0]),
        rss_cell(&r.cycle[1][0]),
        rss_ratio(&r.cycle[0][0], &r.cycle[1][0]),
    ]);
    let size = |p: &Path| fs::metadata(p).map(|m| m.len() as f64).ok();
    t.row(vec![
        "binary size (stripped)".into(),
        size_mib(&bench.runtimes[0].bin),
        size_mib(&bench.runtimes[1].bin),
        ratio(size(&bench.runtimes[0].bin), size(&bench.runtimes[1].bin)),
    ]);
    tables.push((
        "Memory and size".to_string(),
        t,
        format!(
            "Peak RSS is wait4's `ru_maxrss` for the runtime's command: the largest of the \
             process and the descendants it reaped (for `run`, the container's init, which \
             for ocirun is a copy of the runtime and for runc is `runc init`). For `create` the \
             init is not reaped by the command, so it is the runtime process alone. Binaries: \
             `{}` and `{}`.",
            bench.runtimes[0].bin.display(),
            bench.runtimes[1].bin.display()
        ),
    ));

    let title = format!(
        "Run on {} · kernel {} · {} · {cores} cores · ocirun commit {} · {} · {} iterations{} · \
         --root dirs under {} ({}) · load average {} at start, {} at end · took {:.0} s",
        r.started,
        fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "?".into()),
        cpu_model(),
        git_commit(),
        command_line(&bench.runtimes[1].bin.to_string_lossy(), &["--version"]),
        opts.iterations,
        if opts.quick { " (--quick)" } else { "" },
        opts.state_dir.display(),
        filesystem(&opts.state_dir),
        r.load_before,
        r.load_after,
        r.took.as_secs_f64()
    );
    Report { title, tables }
}

fn print_report(report: &Report, notes: &[String]) {
    println!("\n{}\n", report.title);
    for (name, table, _) in &report.tables {
        println!("{name}\n{}", table.text());
    }
    if !notes.is_empty() {
        println!("{} notes (failures and oddities):", notes.len());
        for n in notes.iter().take(20) {
            println!("  - {n}");
        }
    }
}

fn markdown(report: &Report, notes: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", report.title);
    for (name, table, what) in &report.tables {
        let _ = writeln!(out, "### {name}\n\n{}\n{what}\n", table.markdown());
    }
    out.push_str("### Failures and oddities in this run\n\n");
    if notes.is_empty() {
        out.push_str("None: every command succeeded.\n");
    } else {
        let mut shown: Vec<&String> = Vec::new();
        for n in notes {
            if !shown.contains(&n) && shown.len() < 20 {
                shown.push(n);
            }
        }
        let _ = writeln!(
            out,
            "{} in all ({} distinct shown):\n",
            notes.len(),
            shown.len()
        );
        for n in shown {
            let _ = writeln!(out, "- {}", n.replace('|', "\\|"));
        }
    }
    out
}

fn main() {
    let opts = match parse_options(std::env::args().collect()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("compare: {e}");
            std::process::exit(2);
        }
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("compare: must run as root (it starts containers)");
        std::process::exit(2);
    }
    install_signal_handlers();
    if let Err(e) = become_subreaper() {
        eprintln!("compare: {e}");
        std::process::exit(1);
    }
    let bench = match Bench::new(opts) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("compare: {e}");
            std::process::exit(1);
        }
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bench.run_all()));
    bench.cleanup();
    let code = match result {
        Ok(Ok(results)) => {
            let report = build_report(&bench, &results);
            let notes = bench
                .notes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            print_report(&report, &notes);
            match &bench.opts.markdown {
                Some(path) => match fs::write(path, markdown(&report, &notes)) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("compare: writing {}: {e}", path.display());
                        1
                    }
                },
                None => 0,
            }
        }
        Ok(Err(e)) => {
            eprintln!("compare: {e} (everything it had started is cleaned up)");
            1
        }
        Err(_) => {
            eprintln!("compare: panicked (everything it had started is cleaned up)");
            101
        }
    };
    std::process::exit(code);
}
