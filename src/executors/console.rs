//! The container's terminal: a pty created inside the container's devpts, its master sent
//! to the engine's `--console-socket` with SCM_RIGHTS (the protocol conmon and containerd
//! expect from runc), its slave made the init's controlling terminal and stdio.

use crate::error::{Context, Error, Result};
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, Winsize};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

nix::ioctl_write_ptr_bad!(set_window_size, libc::TIOCSWINSZ, Winsize);

/// In the init, after pivot_root: makes the pty, hands the master over, and takes the slave.
/// `is_init`: the container's first terminal also becomes its /dev/console.
pub fn attach_terminal(
    console_socket: RawFd,
    size: Option<(u16, u16)>,
    is_init: bool,
) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .context("opening /dev/ptmx")?;
    grantpt(&master).context("grantpt")?;
    unlockpt(&master).context("unlockpt")?;
    let name = ptsname_r(&master).context("ptsname")?;
    if let Some((height, width)) = size {
        let winsize = Winsize {
            ws_row: height,
            ws_col: width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one Winsize from a valid pointer.
        unsafe { set_window_size(master.as_raw_fd(), &winsize) }.context("process.consoleSize")?;
    }
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("opening {name}"))?;
    send_fd(console_socket, master.as_raw_fd(), name.as_bytes())
        .context("sending the terminal to --console-socket")?;
    drop(master);
    for target in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors, which this process owns.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(std::io::Error::last_os_error()).context("making the terminal stdio");
        }
    }
    // SAFETY: TIOCSCTTY on our own stdin with argument 0 (do not steal).
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("making the terminal controlling");
    }
    drop(slave);
    if is_init {
        bind_dev_console(&name);
    }
    Ok(())
}

/// /dev/console is the container's terminal too, as in runc; best effort when /dev is
/// not ours to change.
fn bind_dev_console(pty: &str) {
    let console = std::path::Path::new("/dev/console");
    if !console.exists() && std::fs::File::create(console).is_err() {
        return;
    }
    let _ = nix::mount::mount(
        Some(pty),
        console,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    );
}

pub fn send_fd(socket: RawFd, fd: RawFd, payload: &[u8]) -> Result<()> {
    let fds = [fd];
    let control = [ControlMessage::ScmRights(&fds)];
    let data = [IoSlice::new(payload)];
    sendmsg::<()>(socket, &data, &control, MsgFlags::empty(), None).context("sendmsg")?;
    Ok(())
}

/// Receives one descriptor sent with [`send_fd`].
pub fn receive_fd(socket: RawFd) -> Result<OwnedFd> {
    let mut buffer = [0u8; 4096];
    let mut data = [IoSliceMut::new(&mut buffer)];
    let mut control = nix::cmsg_space!([RawFd; 1]);
    let message = recvmsg::<()>(
        socket,
        &mut data,
        Some(&mut control),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .context("recvmsg")?;
    for cmsg in message.cmsgs().context("control message")? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(fd) = fds.first() {
                // SAFETY: the kernel just installed this descriptor for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(Error::new("no terminal descriptor was received"))
}
