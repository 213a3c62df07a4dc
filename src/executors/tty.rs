//! `run` with a terminal and no `--console-socket`: ocirun is the terminal's other end.
//! The caller's tty goes raw while the container runs, bytes are copied both ways,
//! SIGWINCH resizes the container's pty, and the caller's settings come back on every
//! exit path (the guard restores them on drop).

use crate::error::{Context, Result};
use nix::pty::Winsize;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

nix::ioctl_read_bad!(get_window_size, libc::TIOCGWINSZ, Winsize);
nix::ioctl_write_ptr_bad!(set_window_size, libc::TIOCSWINSZ, Winsize);

/// Puts stdin in raw mode if it is a terminal; restores it when dropped.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(saved) = tcgetattr(stdin.as_fd()) else {
            return RawMode { saved: None };
        };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        if tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).is_err() {
            return RawMode { saved: None };
        }
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, saved);
        }
    }
}

/// Copies the caller's terminal size to the container's pty.
pub fn copy_window_size(master: BorrowedFd) {
    let mut size = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one Winsize into valid memory; TIOCSWINSZ reads it.
    unsafe {
        if get_window_size(std::io::stdin().as_raw_fd(), &mut size).is_ok() {
            let _ = set_window_size(master.as_raw_fd(), &size);
        }
    }
}

/// Moves what is readable from `from` to `to`. False when `from` is finished (EOF, or
/// EIO from a pty master whose last slave closed).
pub fn pump(from: &OwnedFd, to: &mut impl Write) -> Result<bool> {
    let mut buffer = [0u8; 16 * 1024];
    let mut reader = std::fs::File::from(from.try_clone().context("dup")?);
    match reader.read(&mut buffer) {
        Ok(0) => Ok(false),
        Ok(n) => {
            to.write_all(&buffer[..n])
                .context("copying terminal output")?;
            to.flush().context("copying terminal output")?;
            Ok(true)
        }
        Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(true),
        Err(e) => Err(e).context("reading the terminal"),
    }
}
