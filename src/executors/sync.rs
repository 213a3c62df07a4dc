//! Messages between the runtime (parent) and the container's init during `create`, over
//! a SOCK_SEQPACKET pair so each message arrives whole. A closed socket means the other
//! side died: the init then exits, and the parent reports the failure.

use crate::error::{Context, Error, Result};
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use std::os::fd::{AsRawFd, OwnedFd};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Parent -> init: ids are mapped and the cgroup joined; carries the state JSON that
    /// hooks run by the init receive.
    Begin(String),
    /// Parent -> init: go on with the next phase.
    Proceed,
    /// Init -> parent: namespaces and mounts exist; run prestart/createRuntime hooks.
    RunRuntimeHooks,
    /// Init -> parent: the container is set up and waits for `start`.
    Ready,
    /// Either way: a failure, with its one-line description.
    Failed(String),
}

impl Message {
    fn encode(&self) -> Vec<u8> {
        match self {
            Message::Begin(state) => {
                let mut bytes = vec![b'B'];
                bytes.extend_from_slice(state.as_bytes());
                bytes
            }
            Message::Proceed => vec![b'P'],
            Message::RunRuntimeHooks => vec![b'H'],
            Message::Ready => vec![b'R'],
            Message::Failed(text) => {
                let mut bytes = vec![b'F'];
                bytes.extend_from_slice(text.as_bytes());
                bytes
            }
        }
    }

    pub fn decode(bytes: &[u8]) -> Option<Message> {
        match bytes.split_first()? {
            (b'B', state) => Some(Message::Begin(String::from_utf8_lossy(state).into_owned())),
            (b'P', []) => Some(Message::Proceed),
            (b'H', []) => Some(Message::RunRuntimeHooks),
            (b'R', []) => Some(Message::Ready),
            (b'F', text) => Some(Message::Failed(String::from_utf8_lossy(text).into_owned())),
            _ => None,
        }
    }
}

pub struct Channel {
    fd: OwnedFd,
}

pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("creating the sync socket")?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    pub fn send(&self, message: &Message) -> Result<()> {
        send(
            self.fd.as_raw_fd(),
            &message.encode(),
            MsgFlags::MSG_NOSIGNAL,
        )
        .context("sync socket")?;
        Ok(())
    }

    /// The next message; an error if the peer closed or sent garbage.
    pub fn receive(&self) -> Result<Message> {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match recv(self.fd.as_raw_fd(), &mut buffer, MsgFlags::empty()) {
                Ok(0) => return Err(Error::new("the other side exited")),
                Ok(n) => {
                    return Message::decode(&buffer[..n])
                        .ok_or_else(|| Error::new("malformed sync message"));
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::new(format!("sync socket: {e}"))),
            }
        }
    }

    /// Receives and requires `expected`; a `Failed` becomes the error.
    pub fn expect(&self, expected: Message) -> Result<()> {
        match self.receive()? {
            m if m == expected => Ok(()),
            Message::Failed(text) => Err(Error::new(text)),
            other => Err(Error::new(format!("unexpected sync message {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_roundtrip_and_garbage_is_refused() {
        for m in [
            Message::Begin("{}".into()),
            Message::Proceed,
            Message::RunRuntimeHooks,
            Message::Ready,
            Message::Failed("x: y".into()),
        ] {
            assert_eq!(Message::decode(&m.encode()), Some(m));
        }
        assert_eq!(Message::decode(b""), None);
        assert_eq!(Message::decode(b"Px"), None);
        assert_eq!(Message::decode(b"?"), None);
    }

    #[test]
    fn a_closed_peer_is_an_error() {
        let (a, b) = pair().unwrap();
        drop(b);
        assert!(a.receive().is_err());
    }
}
