//! Named crash points for the crash-consistency tests. Built with the `fault-injection`
//! feature, `OCIRUN_FAULT=<name>` makes the runtime SIGKILL itself when it reaches that
//! point (a kill -9 at exactly that instant). Without the feature, a point is nothing.

/// Every point, in the order a lifecycle passes them; tests walk this list.
pub const POINTS: &[&str] = &[
    "create:after-intent",
    "create:after-unified-cgroup",
    "create:after-clone",
    "create:after-init-recorded",
    "create:after-cgroups",
    "create:before-commit",
    "create:after-commit",
    "start:after-intent",
    "start:after-release",
    "start:after-commit",
    "kill:before-signal",
    "delete:after-intent",
    "delete:after-undo",
    "delete:before-remove",
];

/// Points in the container's init (the init dies, not the runtime).
pub const INIT_POINTS: &[&str] = &[
    "init:after-namespaces",
    "init:after-rootfs",
    "init:before-ready",
    "init:waiting-for-start",
];

#[cfg(feature = "fault-injection")]
pub fn point(name: &str) {
    debug_assert!(
        POINTS.contains(&name) || INIT_POINTS.contains(&name),
        "unlisted fault point {name}"
    );
    if std::env::var("OCIRUN_FAULT").is_ok_and(|wanted| wanted == name) {
        if INIT_POINTS.contains(&name) {
            // PID 1 of a pid namespace cannot SIGKILL itself (the kernel drops signals
            // to a namespace's init from inside it): it dies by exiting at once instead.
            // SAFETY: _exit ends the process without running anything of ours.
            unsafe { libc::_exit(128 + libc::SIGKILL) };
        }
        // SAFETY: kill(2) of ourselves; SIGKILL cannot be caught, as in a real kill -9.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}
