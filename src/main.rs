//! The `ocirun` binary. No Rust runtime start-up (`#![no_main]`): std's would read
//! /proc/self/maps and install a stack-overflow handler on every start, and create, run
//! and exec start twice (see executors/sealed_binary.rs). Arguments still reach
//! `std::env::args` (glibc hands them to std at load time).
#![no_main]

/// The C entry point.
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // What std's start-up would have done that we rely on: a write to a closed pipe is an
    // EPIPE error, not a silent death. (The init resets it before exec.)
    // SAFETY: signal(2) with SIG_IGN installs no handler code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // exit, not return: it flushes std's buffered stdout first.
    std::process::exit(ocirun::cli::main());
}
