//! A synchronous D-Bus connection over a unix socket: SASL `EXTERNAL` authentication,
//! `Hello` on a bus, method calls that wait for their reply, and signals kept aside for
//! whoever waits for them.
//!
//! Every wait has a deadline (connecting included): a hung bus or systemd makes the
//! runtime fail with an error, never hang.

use super::wire::{message_length, Message, MessageType, Value, FIXED_HEADER_LEN};
use crate::bail;
use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// How long a method call may wait for its reply: libdbus's and sd-bus's default.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(25);

/// Signals nobody has waited for yet are kept up to this many (oldest dropped first):
/// systemd broadcasts every job's end to subscribers, most of them not ours.
const MAX_QUEUED_SIGNALS: usize = 1024;

const BUS_NAME: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";

/// An ERROR reply: its name (`org.freedesktop.DBus.Error.ServiceUnknown`) and the
/// message the peer gave, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    pub name: String,
    pub message: String,
}

impl RemoteError {
    fn from_reply(reply: &Message) -> RemoteError {
        RemoteError {
            name: reply.error_name.clone().unwrap_or_default(),
            message: reply
                .body
                .first()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}: {}", self.name, self.message)
        }
    }
}

pub struct Connection {
    stream: UnixStream,
    /// The address connected to, for error messages.
    address: String,
    timeout: Duration,
    last_serial: u32,
    unique_name: Option<String>,
    signals: VecDeque<Message>,
    /// Set when a read or write stopped mid-message: the stream is out of step and
    /// nothing more can be said on it.
    broken: bool,
}

impl Connection {
    /// Connects to a D-Bus address (`unix:path=/run/dbus/system_bus_socket`, or several
    /// separated by `;`, tried in order) and authenticates. Does not say `Hello`.
    pub fn connect(address: &str, timeout: Duration) -> Result<Connection> {
        let mut failures = Vec::new();
        for entry in address.split(';').filter(|entry| !entry.is_empty()) {
            match connect_entry(entry, timeout) {
                Ok(connection) => return Ok(connection),
                Err(error) => failures.push(error.to_string()),
            }
        }
        if failures.is_empty() {
            bail!("D-Bus address {address:?} names no server");
        }
        Err(Error::new(failures.join("; ")))
    }

    /// Connects to the unix socket at `path` and authenticates.
    pub fn connect_path(path: &str, timeout: Duration) -> Result<Connection> {
        let address = format!("unix:path={path}");
        let unix_address =
            UnixAddr::new(path).map_err(|e| Error::new(format!("D-Bus {address}: {e}")))?;
        let stream = connect_socket(&unix_address, Instant::now() + timeout)
            .map_err(|e| Error::new(format!("D-Bus {address}: connecting: {e}")))?;
        Connection::authenticate(stream, address, timeout)
    }

    /// Authenticates on a connected stream (SASL `AUTH EXTERNAL` with our uid).
    pub fn authenticate(stream: UnixStream, address: String, timeout: Duration) -> Result<Self> {
        let mut connection = Connection {
            stream,
            address,
            timeout,
            last_serial: 0,
            unique_name: None,
            signals: VecDeque::new(),
            broken: false,
        };
        connection
            .sasl_external()
            .map_err(|e| e.wrap(format!("D-Bus {}: authenticating", connection.address)))?;
        Ok(connection)
    }

    fn sasl_external(&mut self) -> Result<()> {
        let deadline = Instant::now() + self.timeout;
        // The uid as decimal text, sent hex-encoded.
        let uid: String = nix::unistd::geteuid()
            .as_raw()
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        // The protocol starts with one NUL byte (which could carry credentials on BSDs).
        // The whole exchange goes in one write, as sd-bus's own clients send it, and our
        // first message only after the server's last answer: systemd 252 (sd-bus) leaves
        // a message that arrives in the same read as BEGIN unprocessed until something
        // else wakes it, so a call sent right behind BEGIN may wait forever on an idle
        // systemd. NEGOTIATE_UNIX_FD is there for its answer, which comes once the server
        // has read BEGIN (we never send descriptors, and none of our calls returns one).
        self.write_all(
            format!("\0AUTH EXTERNAL {uid}\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n").as_bytes(),
            deadline,
        )?;
        let answer = self.read_line(deadline)?;
        if !answer.starts_with("OK ") {
            bail!(
                "the server refused EXTERNAL authentication as uid {}: {answer:?}",
                nix::unistd::geteuid()
            );
        }
        // AGREE_UNIX_FD, or ERROR from a server without descriptor passing: either way
        // the server is past BEGIN.
        let negotiated = self.read_line(deadline)?;
        if !(negotiated == "AGREE_UNIX_FD" || negotiated.starts_with("ERROR")) {
            bail!("unexpected answer to NEGOTIATE_UNIX_FD: {negotiated:?}");
        }
        Ok(())
    }

    /// One line of the SASL exchange, read byte by byte: the server sends nothing after
    /// its `OK` until we speak, but nothing of the binary protocol may be read here.
    fn read_line(&mut self, deadline: Instant) -> Result<String> {
        let mut line = Vec::new();
        while !line.ends_with(b"\r\n") {
            if line.len() > 1024 {
                bail!("the server's authentication line is too long");
            }
            let mut byte = [0u8];
            if !self.read_full(&mut byte, deadline)? {
                bail!("no answer within {:?}", self.timeout);
            }
            line.push(byte[0]);
        }
        line.truncate(line.len() - 2);
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    /// Says `Hello` to a bus daemon (required before any other call on a bus, never on a
    /// peer-to-peer socket) and returns our unique name.
    pub fn hello(&mut self) -> Result<String> {
        let reply = self.call(Message::method_call(BUS_NAME, BUS_PATH, BUS_NAME, "Hello"))?;
        let name = reply
            .body
            .first()
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Error::new(format!(
                    "D-Bus {}: Hello's reply holds no name",
                    self.address
                ))
            })?
            .to_string();
        self.unique_name = Some(name.clone());
        Ok(name)
    }

    /// The name the bus gave us, once `Hello` was said.
    pub fn unique_name(&self) -> Option<&str> {
        self.unique_name.as_deref()
    }

    /// Asks the bus daemon to route us the signals that match `rule`.
    pub fn add_match(&mut self, rule: &str) -> Result<()> {
        let call = Message::method_call(BUS_NAME, BUS_PATH, BUS_NAME, "AddMatch")
            .with_body(vec![Value::Str(rule.to_string())]);
        self.call(call).map(|_| ())
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Calls a method and returns its METHOD_RETURN; an ERROR reply is an error naming
    /// the method, the D-Bus error name and its message.
    pub fn call(&mut self, request: Message) -> Result<Message> {
        let describe = request.describe();
        match self.call_with_remote_error(request)? {
            Ok(reply) => Ok(reply),
            Err(remote) => Err(Error::new(format!("D-Bus {describe}: {remote}"))),
        }
    }

    /// Calls a method; the outer error is the connection's (timeout, closed socket,
    /// malformed reply), the inner one the peer's ERROR reply, for callers that treat
    /// some error names as success.
    pub fn call_with_remote_error(
        &mut self,
        mut request: Message,
    ) -> Result<std::result::Result<Message, RemoteError>> {
        let describe = request.describe();
        let deadline = Instant::now() + self.timeout;
        let serial = self.send_before(&mut request, deadline)?;
        loop {
            let Some(message) = self.read_message(deadline)? else {
                bail!(
                    "D-Bus {}: no reply to {describe} within {:?}",
                    self.address,
                    self.timeout
                );
            };
            match message.message_type {
                MessageType::MethodReturn if message.reply_serial == Some(serial) => {
                    return Ok(Ok(message))
                }
                MessageType::Error if message.reply_serial == Some(serial) => {
                    return Ok(Err(RemoteError::from_reply(&message)))
                }
                MessageType::Signal => self.queue_signal(message),
                // Replies to nobody and calls to us (we serve no objects) are dropped.
                _ => {}
            }
        }
    }

    /// Waits up to `timeout` for a signal that `matches`, looking first at the signals
    /// that arrived while waiting for replies. Signals that do not match are kept.
    /// `Ok(None)`: none came in time.
    pub fn wait_for_signal(
        &mut self,
        timeout: Duration,
        mut matches: impl FnMut(&Message) -> bool,
    ) -> Result<Option<Message>> {
        if let Some(at) = self.signals.iter().position(&mut matches) {
            return Ok(self.signals.remove(at));
        }
        let deadline = Instant::now() + timeout;
        while let Some(message) = self.read_message(deadline)? {
            if message.message_type != MessageType::Signal {
                continue;
            }
            if matches(&message) {
                return Ok(Some(message));
            }
            self.queue_signal(message);
        }
        Ok(None)
    }

    fn queue_signal(&mut self, signal: Message) {
        if self.signals.len() == MAX_QUEUED_SIGNALS {
            self.signals.pop_front();
        }
        self.signals.push_back(signal);
    }

    /// Sends a message that gets no awaited reply (a signal, a reply of our own) and
    /// returns the serial it was given.
    pub fn send(&mut self, mut message: Message) -> Result<u32> {
        let deadline = Instant::now() + self.timeout;
        self.send_before(&mut message, deadline)
    }

    /// The next message of any kind (a signal kept aside by an earlier call first), or
    /// `None` if none came within `timeout`.
    pub fn receive(&mut self, timeout: Duration) -> Result<Option<Message>> {
        if let Some(signal) = self.signals.pop_front() {
            return Ok(Some(signal));
        }
        self.read_message(Instant::now() + timeout)
    }

    fn send_before(&mut self, message: &mut Message, deadline: Instant) -> Result<u32> {
        self.last_serial = self.last_serial.wrapping_add(1).max(1);
        message.serial = self.last_serial;
        let bytes = message.encode()?;
        self.write_all(&bytes, deadline)?;
        Ok(message.serial)
    }

    /// The next message, or `None` if none started arriving before `deadline`.
    fn read_message(&mut self, deadline: Instant) -> Result<Option<Message>> {
        let mut fixed = [0u8; FIXED_HEADER_LEN];
        if !self.read_full(&mut fixed, deadline)? {
            return Ok(None);
        }
        let parsed = message_length(&fixed).and_then(|total| {
            let mut message = vec![0u8; total];
            message[..FIXED_HEADER_LEN].copy_from_slice(&fixed);
            if !self.read_full(&mut message[FIXED_HEADER_LEN..], deadline)? {
                bail!("timed out in the middle of a message");
            }
            Message::decode(&message)
        });
        match parsed {
            Ok(message) => Ok(Some(message)),
            Err(error) => {
                self.broken = true;
                Err(error.wrap(format!("D-Bus {}: reading a message", self.address)))
            }
        }
    }

    /// Fills `buf`. `Ok(false)`: the deadline passed before the first byte came (the
    /// stream is still in step); a deadline passed later, EOF or an error break it.
    fn read_full(&mut self, buf: &mut [u8], deadline: Instant) -> Result<bool> {
        if self.broken {
            bail!(
                "D-Bus {}: the connection is unusable after an earlier failure",
                self.address
            );
        }
        let mut filled = 0;
        while filled < buf.len() {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = if remaining.is_zero() {
                Err(io::ErrorKind::TimedOut.into())
            } else {
                self.stream
                    .set_read_timeout(Some(remaining))
                    .and_then(|()| self.stream.read(&mut buf[filled..]))
            };
            match outcome {
                Ok(0) => {
                    self.broken = true;
                    bail!("D-Bus {}: the peer closed the connection", self.address);
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    // SO_RCVTIMEO counts in scheduler ticks and may end a few
                    // milliseconds before the deadline: wait out the rest.
                    if Instant::now() < deadline {
                        continue;
                    }
                    if filled == 0 {
                        return Ok(false);
                    }
                    self.broken = true;
                    bail!(
                        "D-Bus {}: the peer stopped in the middle of a message",
                        self.address
                    );
                }
                Err(e) => {
                    self.broken = true;
                    bail!("D-Bus {}: reading: {e}", self.address);
                }
            }
        }
        Ok(true)
    }

    /// Writes with `MSG_NOSIGNAL`: a peer that went away is an error, never a SIGPIPE.
    fn write_all(&mut self, mut bytes: &[u8], deadline: Instant) -> Result<()> {
        if self.broken {
            bail!(
                "D-Bus {}: the connection is unusable after an earlier failure",
                self.address
            );
        }
        while !bytes.is_empty() {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let sent = if remaining.is_zero() {
                Err(Errno::EAGAIN)
            } else {
                self.stream
                    .set_write_timeout(Some(remaining))
                    .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)))
                    .and_then(|()| {
                        socket::send(self.stream.as_raw_fd(), bytes, MsgFlags::MSG_NOSIGNAL)
                    })
            };
            match sent {
                Ok(n) => bytes = &bytes[n..],
                Err(Errno::EINTR) => {}
                Err(errno) => {
                    self.broken = true;
                    if errno == Errno::EAGAIN {
                        bail!(
                            "D-Bus {}: the peer did not take our message within {:?}",
                            self.address,
                            self.timeout
                        );
                    }
                    bail!("D-Bus {}: writing: {errno}", self.address);
                }
            }
        }
        Ok(())
    }
}

/// One `transport:key=value,...` entry of an address; only unix sockets are spoken.
fn connect_entry(entry: &str, timeout: Duration) -> Result<Connection> {
    let Some(keys) = entry.strip_prefix("unix:") else {
        bail!("D-Bus address {entry:?}: only unix: addresses are supported");
    };
    for pair in keys.split(',') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = unescape_address_value(value)
            .ok_or_else(|| Error::new(format!("D-Bus address {entry:?}: bad %-escape")))?;
        match key {
            "path" => {
                let path = String::from_utf8(value).map_err(|_| {
                    Error::new(format!("D-Bus address {entry:?}: path is not UTF-8"))
                })?;
                return Connection::connect_path(&path, timeout);
            }
            "abstract" => {
                let address = UnixAddr::new_abstract(&value)
                    .map_err(|e| Error::new(format!("D-Bus {entry}: {e}")))?;
                let stream = connect_socket(&address, Instant::now() + timeout)
                    .map_err(|e| Error::new(format!("D-Bus {entry}: connecting: {e}")))?;
                return Connection::authenticate(stream, entry.to_string(), timeout);
            }
            _ => {}
        }
    }
    bail!("D-Bus address {entry:?}: no path= or abstract= to connect to")
}

/// Address values escape bytes as `%xx`.
fn unescape_address_value(value: &str) -> Option<Vec<u8>> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = std::str::from_utf8(bytes.get(at + 1..at + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    Some(out)
}

/// A connected stream socket. Non-blocking while connecting: a server whose listen
/// backlog is full makes a blocking `connect` wait without limit; here it is retried
/// until the deadline.
fn connect_socket(address: &UnixAddr, deadline: Instant) -> Result<UnixStream> {
    let fd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )?;
    loop {
        match socket::connect(fd.as_raw_fd(), address) {
            Ok(()) => break,
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(Errno::EAGAIN) => bail!("the server's backlog stayed full (it is not accepting)"),
            Err(errno) => return Err(errno.into()),
        }
    }
    let stream = UnixStream::from(fd);
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// A scripted peer on the other end of a socket pair, for tests without a bus.
#[cfg(test)]
pub(super) mod fake_peer {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::thread::{self, JoinHandle};

    /// Authenticates a connection, then answers each message it receives with what
    /// `respond` makes of it, until our side hangs up; the thread returns what it
    /// received.
    pub fn serve(
        timeout: Duration,
        mut respond: impl FnMut(&Message) -> Vec<Message> + Send + 'static,
    ) -> (Connection, JoinHandle<Vec<Message>>) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let peer = thread::spawn(move || {
            let mut reader = BufReader::new(theirs.try_clone().unwrap());
            let mut writer = theirs;
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line).unwrap();
            assert!(line.starts_with(b"\0AUTH EXTERNAL "), "{line:?}");
            for expected in [&b"NEGOTIATE_UNIX_FD\r\n"[..], b"BEGIN\r\n"] {
                line.clear();
                reader.read_until(b'\n', &mut line).unwrap();
                assert_eq!(line, expected);
            }
            writer
                .write_all(b"OK 0123456789abcdef0123456789abcdef\r\nAGREE_UNIX_FD\r\n")
                .unwrap();
            let mut received = Vec::new();
            loop {
                let mut fixed = [0u8; FIXED_HEADER_LEN];
                if reader.read_exact(&mut fixed).is_err() {
                    return received;
                }
                let mut whole = vec![0u8; message_length(&fixed).unwrap()];
                whole[..FIXED_HEADER_LEN].copy_from_slice(&fixed);
                reader.read_exact(&mut whole[FIXED_HEADER_LEN..]).unwrap();
                let message = Message::decode(&whole).unwrap();
                for answer in respond(&message) {
                    // Our side may have given up and hung up already.
                    let _ = writer.write_all(&answer.encode().unwrap());
                }
                received.push(message);
            }
        });
        let connection = Connection::authenticate(ours, "test".into(), timeout).unwrap();
        (connection, peer)
    }

    /// A METHOD_RETURN (or, with `error_name`, an ERROR) to `call`.
    pub fn reply(
        call: &Message,
        serial: u32,
        error_name: Option<&str>,
        body: Vec<Value>,
    ) -> Message {
        Message {
            message_type: if error_name.is_some() {
                MessageType::Error
            } else {
                MessageType::MethodReturn
            },
            flags: 0,
            serial,
            path: None,
            interface: None,
            member: None,
            error_name: error_name.map(str::to_string),
            reply_serial: Some(call.serial),
            destination: None,
            sender: None,
            body,
        }
    }

    pub fn signal(
        path: &str,
        interface: &str,
        member: &str,
        serial: u32,
        body: Vec<Value>,
    ) -> Message {
        Message {
            message_type: MessageType::Signal,
            serial,
            body,
            ..Message::method_call("x", path, interface, member)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake_peer::{reply, serve, signal};
    use super::*;
    use std::io::{BufRead, Write};
    use std::thread;

    #[test]
    fn address_values_are_unescaped() {
        assert_eq!(unescape_address_value("/run/a%2cb").unwrap(), b"/run/a,b");
        assert_eq!(unescape_address_value("plain").unwrap(), b"plain");
        assert_eq!(unescape_address_value("bad%2"), None);
        assert_eq!(unescape_address_value("bad%zz"), None);
    }

    #[test]
    fn addresses_without_a_unix_socket_are_refused() {
        let error = Connection::connect("tcp:host=localhost,port=1", Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("only unix: addresses"),
            "{error}"
        );
        let error = Connection::connect("unix:guid=1234", Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("no path= or abstract="),
            "{error}"
        );
        let error = Connection::connect("", Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(error.to_string().contains("names no server"), "{error}");
    }

    #[test]
    fn a_missing_socket_is_named_and_every_entry_tried() {
        let error = Connection::connect(
            "unix:path=/nonexistent/a;unix:path=/nonexistent/b",
            Duration::from_secs(1),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            error.contains("unix:path=/nonexistent/a: connecting"),
            "{error}"
        );
        assert!(
            error.contains("unix:path=/nonexistent/b: connecting"),
            "{error}"
        );
    }

    #[test]
    fn a_silent_server_times_out_instead_of_hanging() {
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let started = Instant::now();
        let error = Connection::authenticate(ours, "test".into(), Duration::from_millis(200))
            .err()
            .unwrap()
            .to_string();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            error.contains("authenticating: no answer within"),
            "{error}"
        );
    }

    #[test]
    fn a_refused_authentication_is_an_error() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let server = thread::spawn(move || {
            let mut reader = io::BufReader::new(&theirs);
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line).unwrap();
            (&theirs).write_all(b"REJECTED EXTERNAL\r\n").unwrap();
            line
        });
        let error = Connection::authenticate(ours, "test".into(), Duration::from_secs(5))
            .err()
            .unwrap()
            .to_string();
        // "AUTH EXTERNAL" then the uid in decimal, hex-encoded: uid 0 is "30".
        let uid_hex: String = nix::unistd::geteuid()
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            server.join().unwrap(),
            format!("\0AUTH EXTERNAL {uid_hex}\r\n").as_bytes()
        );
        assert!(error.contains("refused EXTERNAL authentication"), "{error}");
        assert!(error.contains("REJECTED EXTERNAL"), "{error}");
    }

    /// systemd 252 can leave a message that arrives with BEGIN unread: authentication
    /// returns (and a first call can go out) only once the server answered the line after
    /// AUTH, which it does after reading BEGIN.
    #[test]
    fn authentication_waits_for_the_answer_that_follows_begin() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let server = thread::spawn(move || {
            let mut reader = io::BufReader::new(&theirs);
            let mut lines = Vec::new();
            for _ in 0..3 {
                let mut line = Vec::new();
                reader.read_until(b'\n', &mut line).unwrap();
                lines.push(line);
            }
            (&theirs).write_all(b"OK 0123\r\n").unwrap();
            // No answer to NEGOTIATE_UNIX_FD yet: the client must still be waiting.
            thread::sleep(Duration::from_millis(600));
            lines
        });
        let error = Connection::authenticate(ours, "test".into(), Duration::from_millis(300))
            .err()
            .expect("authenticated before the server's second answer");
        assert!(error.to_string().contains("no answer"), "{error}");
        let lines = server.join().unwrap();
        assert_eq!(lines[1], b"NEGOTIATE_UNIX_FD\r\n");
        assert_eq!(lines[2], b"BEGIN\r\n");
    }

    #[test]
    fn a_call_skips_signals_and_unrelated_replies_and_keeps_the_signals() {
        let (mut connection, peer) = serve(Duration::from_secs(5), |call| {
            let mut unrelated = reply(call, 2, None, Vec::new());
            unrelated.reply_serial = Some(call.serial + 100);
            vec![
                signal("/a", "org.example.I", "First", 1, Vec::new()),
                unrelated,
                signal("/a", "org.example.I", "Second", 3, Vec::new()),
                reply(call, 4, None, vec![Value::Str("answer".into())]),
            ]
        });
        let reply = connection
            .call(Message::method_call(
                "org.example",
                "/o",
                "org.example.I",
                "M",
            ))
            .unwrap();
        assert_eq!(reply.body, [Value::Str("answer".into())]);

        let short = Duration::from_millis(100);
        let second = connection
            .wait_for_signal(short, |s| s.member.as_deref() == Some("Second"))
            .unwrap()
            .unwrap();
        assert_eq!(second.serial, 3);
        let first = connection
            .wait_for_signal(short, |_| true)
            .unwrap()
            .unwrap();
        assert_eq!(first.member.as_deref(), Some("First"));
        // Nothing left: the wait ends at its timeout.
        let started = Instant::now();
        assert_eq!(connection.wait_for_signal(short, |_| true).unwrap(), None);
        assert!(started.elapsed() >= short);

        drop(connection);
        let received = peer.join().unwrap();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].serial, 1);
        assert_eq!(received[0].member.as_deref(), Some("M"));
    }

    #[test]
    fn serials_count_up_from_one() {
        let (mut connection, peer) = serve(Duration::from_secs(5), |call| {
            vec![reply(call, 1, None, Vec::new())]
        });
        for _ in 0..3 {
            connection
                .call(Message::method_call(
                    "org.example",
                    "/o",
                    "org.example.I",
                    "M",
                ))
                .unwrap();
        }
        drop(connection);
        let serials: Vec<u32> = peer.join().unwrap().iter().map(|m| m.serial).collect();
        assert_eq!(serials, [1, 2, 3]);
    }

    #[test]
    fn an_error_reply_names_the_method_the_error_and_its_message() {
        let (mut connection, _peer) = serve(Duration::from_secs(5), |call| {
            vec![reply(
                call,
                9,
                Some("org.example.Error.Nope"),
                vec![Value::Str("not today".into())],
            )]
        });
        let call = || Message::method_call("org.example", "/o", "org.example.I", "M");
        let error = connection.call(call()).err().unwrap();
        assert_eq!(
            error.to_string(),
            "D-Bus org.example.I.M: org.example.Error.Nope: not today"
        );
        let remote = connection
            .call_with_remote_error(call())
            .unwrap()
            .unwrap_err();
        assert_eq!(
            remote,
            RemoteError {
                name: "org.example.Error.Nope".into(),
                message: "not today".into()
            }
        );
    }

    #[test]
    fn a_call_without_reply_times_out_and_the_timeout_is_said() {
        let (mut connection, _peer) = serve(Duration::from_millis(300), |_| Vec::new());
        let started = Instant::now();
        let error = connection
            .call(Message::method_call(
                "org.example",
                "/o",
                "org.example.I",
                "M",
            ))
            .err()
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            error
                .to_string()
                .contains("no reply to org.example.I.M within 300ms"),
            "{error}"
        );
    }

    #[test]
    fn a_peer_that_hangs_up_is_an_error_and_the_connection_is_then_unusable() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let server = thread::spawn(move || {
            let mut reader = io::BufReader::new(&theirs);
            let mut line = Vec::new();
            for _ in 0..3 {
                line.clear();
                reader.read_until(b'\n', &mut line).unwrap();
            }
            (&theirs)
                .write_all(b"OK 0123\r\nAGREE_UNIX_FD\r\n")
                .unwrap();
            // Hangs up after BEGIN.
        });
        let mut connection =
            Connection::authenticate(ours, "test".into(), Duration::from_secs(5)).unwrap();
        server.join().unwrap();
        let call = || Message::method_call("org.example", "/o", "org.example.I", "M");
        let error = connection.call(call()).err().unwrap().to_string();
        assert!(
            error.contains("writing: EPIPE") || error.contains("closed the connection"),
            "{error}"
        );
        let error = connection.call(call()).err().unwrap();
        assert!(error.to_string().contains("unusable"), "{error}");
    }
}
