//! The container's terminal: a pty created inside the container's devpts, its master sent
//! to the engine's `--console-socket` with SCM_RIGHTS (the protocol conmon and containerd
//! expect from runc), its slave made the init's controlling terminal and stdio.

use super::mount_api;
use crate::error::{Context, Error, Result};
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, Winsize};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::sys::stat::fstat;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

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
    if is_init {
        bind_dev_console(&slave)?;
    }
    Ok(())
}

/// /dev/console is the container's terminal too, as in runc. Both ends are held by
/// descriptor (runc's 2025 advisory: a /dev/console that is a symlink, or a pty path
/// swapped meanwhile, redirected the bind onto a host file): the source is a detached
/// clone of the pty we opened, the target /dev/console opened without following links
/// and refused if it is one; the result is checked to be our pty. A /dev we cannot
/// write (a read-only bind from the host) keeps its console, as before.
fn bind_dev_console(pty: &OwnedFd) -> Result<()> {
    let target = match nix::fcntl::open(
        "/dev/console",
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => {
            match nix::fcntl::open(
                "/dev/console",
                OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC
                    | OFlag::O_WRONLY,
                nix::sys::stat::Mode::from_bits_truncate(0o600),
            ) {
                Ok(created) => created,
                Err(nix::errno::Errno::EROFS) => return Ok(()),
                Err(e) => return Err(e).context("creating /dev/console"),
            }
        }
        Err(e) => return Err(e).context("opening /dev/console"),
    };
    let kind = fstat(&target).context("stat /dev/console")?.st_mode & libc::S_IFMT;
    if kind != libc::S_IFREG && kind != libc::S_IFCHR {
        crate::bail!("/dev/console is not a file or a device (a symbolic link?); refusing to bind the terminal onto it");
    }
    let clone = mount_api::clone_tree(Some(pty.as_fd()), c"", libc::AT_EMPTY_PATH as libc::c_uint)
        .context("cloning the terminal for /dev/console")?;
    mount_api::attach(&clone, target.as_fd()).context("binding the terminal on /dev/console")?;
    let bound = nix::fcntl::open(
        "/dev/console",
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .context("reopening /dev/console")?;
    if fstat(&bound).context("stat /dev/console")?.st_rdev
        != fstat(pty).context("stat the terminal")?.st_rdev
    {
        crate::bail!("after the bind, /dev/console is not the container's terminal");
    }
    Ok(())
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
