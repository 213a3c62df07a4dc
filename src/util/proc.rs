//! Reading facts about processes from /proc.

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A file of /proc or /sys, read whole. They report a size of 0, from which std's
/// `read_to_string` grows its buffer from a 32-byte probe, one read(2) per step (eight
/// for /proc/self/mountinfo); with room for the whole file it takes two.
pub fn read_text(path: impl AsRef<Path>) -> std::io::Result<String> {
    let mut text = String::with_capacity(16 * 1024);
    fs::File::open(path)?.read_to_string(&mut text)?;
    Ok(text)
}

/// A process's state letter and start time (field 22 of `/proc/<pid>/stat`, in clock
/// ticks since boot), or `None` if there is no such process.
pub fn stat(pid: i32) -> Option<(char, u64)> {
    let text = read_text(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<(char, u64)> {
    // The command name (field 2) may itself contain spaces and parentheses.
    let after_name = &text[text.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Fields after the name start at 3 (state); start time is field 22.
    let start_time = fields.nth(22 - 4)?.parse().ok()?;
    Some((state, start_time))
}

pub fn start_time(pid: i32) -> Option<u64> {
    stat(pid).map(|(_, start)| start)
}

/// True when `pid` is our process (same start time) and has not exited. A zombie has
/// exited: only its parent's wait is missing.
pub fn is_alive(pid: i32, start_time: u64) -> bool {
    match stat(pid) {
        Some((state, start)) => start == start_time && state != 'Z' && state != 'X',
        None => false,
    }
}

/// kill(2) with a signal number, so real-time signals (which nix's `Signal` lacks) work.
pub fn send_signal(pid: i32, signal: i32) -> std::io::Result<()> {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The (device, inode) of the program `pid` runs ("self" for us).
pub fn executable_identity(pid: &str) -> Option<(u64, u64)> {
    let meta = fs::metadata(format!("/proc/{pid}/exe")).ok()?;
    Some((meta.dev(), meta.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_spaces_and_parens() {
        let line = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat(line), Some(('S', 987654)));
    }

    #[test]
    fn our_own_process_is_alive() {
        let pid = std::process::id() as i32;
        let start = start_time(pid).expect("own stat");
        assert!(is_alive(pid, start));
        assert!(!is_alive(pid, start + 1));
        assert_eq!(
            executable_identity("self"),
            executable_identity(&pid.to_string())
        );
    }
}
