//! ocirun's D-Bus client (src/executors/cgroups/systemd/) against a real bus: a private
//! `dbus-daemon` per test, with a config of our own in a temporary directory. The daemon
//! checks every message we send against the spec (a malformed one gets the connection
//! closed), so a reply at all says our marshalling is right.
//!
//! This host has no systemd; the last test plays systemd on the bus itself (a second
//! connection owning `org.freedesktop.systemd1`) to run the Manager's calls and job waits
//! through the daemon's routing and match rules.

use ocirun::executors::cgroups::systemd::connection::Connection;
use ocirun::executors::cgroups::systemd::manager::{
    start_transient_unit_call, Manager, MANAGER_INTERFACE, MANAGER_PATH,
};
use ocirun::executors::cgroups::systemd::wire::{Message, MessageType, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);
const BUS: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";

/// A dbus-daemon of our own; killed, and its directory removed, when dropped.
struct PrivateBus {
    daemon: Child,
    address: String,
    dir: tempfile::TempDir,
}

impl PrivateBus {
    fn start() -> PrivateBus {
        let dir = tempfile::Builder::new()
            .prefix("ocirun-dbus-test-")
            .tempdir()
            .expect("temporary directory");
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        // EXTERNAL authentication only, anyone may connect, own any name and talk to
        // anyone: the test is about the protocol, not the policy.
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>ocirun-test</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("writing the bus config");
        // Its complaints (it cannot raise its fd limit here, say) go to a log that a
        // failed start shows.
        let log = std::fs::File::create(dir.path().join("daemon.log")).expect("daemon log");
        let daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--nosyslog"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting dbus-daemon (package dbus-daemon; scripts/setup.sh installs it)");
        let mut bus = PrivateBus {
            daemon,
            address: format!("unix:path={}", socket.display()),
            dir,
        };
        bus.wait_until_listening(&socket);
        bus
    }

    /// The socket file exists from bind(), a moment before listen(): wait until a
    /// connection is accepted.
    fn wait_until_listening(&mut self, socket: &Path) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.daemon.try_wait().expect("waiting for dbus-daemon") {
                let log = std::fs::read_to_string(self.dir.path().join("daemon.log"));
                panic!("dbus-daemon exited at start ({status}): {log:?}");
            }
            if std::os::unix::net::UnixStream::connect(socket).is_ok() {
                return;
            }
            assert!(
                started.elapsed() < TIMEOUT,
                "dbus-daemon did not listen on {} within {TIMEOUT:?}",
                socket.display()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// A connection that has said Hello.
    fn client(&self) -> Connection {
        let mut connection = Connection::connect(&self.address, TIMEOUT).expect("connecting");
        let name = connection.hello().expect("Hello");
        assert!(name.starts_with(':'), "unique name {name}");
        connection
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

fn bus_call(member: &str, body: Vec<Value>) -> Message {
    Message::method_call(BUS, BUS_PATH, BUS, member).with_body(body)
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::Array(element, items) if element == "s" => {
            items.iter().filter_map(Value::as_str).collect()
        }
        other => panic!("not an array of strings: {other:?}"),
    }
}

#[test]
fn hello_list_names_get_id_and_the_bus_errors() {
    let bus = PrivateBus::start();
    let mut client = bus.client();
    let me = client.unique_name().unwrap().to_string();

    let names = client.call(bus_call("ListNames", vec![])).unwrap();
    assert_eq!(names.body_signature(), "as");
    let names = strings(&names.body[0]);
    assert!(names.contains(&BUS), "{names:?}");
    assert!(names.contains(&me.as_str()), "{names:?}");

    let id = client.call(bus_call("GetId", vec![])).unwrap();
    let id = id.body[0].as_str().unwrap();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");

    let owner = client
        .call(bus_call("GetNameOwner", vec![Value::Str(me.clone())]))
        .unwrap();
    assert_eq!(owner.body, [Value::Str(me.clone())]);

    let error = client
        .call(bus_call(
            "GetNameOwner",
            vec![Value::Str("org.ocirun.Missing".into())],
        ))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(
            "D-Bus org.freedesktop.DBus.GetNameOwner: org.freedesktop.DBus.Error.NameHasNoOwner: "
        ),
        "{error}"
    );
    assert!(error.contains("org.ocirun.Missing"), "{error}");

    // A destination nobody owns.
    let error = client
        .call(Message::method_call(
            "org.ocirun.Nobody",
            "/org/ocirun/Nobody",
            "org.ocirun.Nobody",
            "Anything",
        ))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("org.freedesktop.DBus.Error.ServiceUnknown"),
        "{error}"
    );

    // The errors left the connection in step.
    let again = client.call(bus_call("GetId", vec![])).unwrap();
    assert_eq!(again.body[0].as_str(), Some(id));
}

#[test]
fn a_call_before_hello_is_refused_without_hanging() {
    let bus = PrivateBus::start();
    let mut client = Connection::connect(&bus.address, TIMEOUT).unwrap();
    let started = Instant::now();
    // The daemon closes a connection whose first message is not Hello.
    assert!(client.call(bus_call("GetId", vec![])).is_err());
    assert!(started.elapsed() < TIMEOUT);
}

#[test]
fn a_rich_body_crosses_the_bus_intact() {
    let bus = PrivateBus::start();
    let mut sender = bus.client();
    let mut receiver = bus.client();
    receiver
        .add_match("type='signal',interface='org.ocirun.Test',member='Echo'")
        .unwrap();

    // StartTransientUnit's body plus every basic type, sent as a signal so that the
    // daemon re-checks it and passes it on to the other connection.
    let properties = [
        ("Slice".to_string(), Value::Str("system.slice".into())),
        ("Delegate".to_string(), Value::Bool(true)),
        (
            "PIDs".to_string(),
            Value::Array("u".into(), vec![Value::U32(4242)]),
        ),
        ("AllowedCPUs".to_string(), Value::Bytes(vec![0x17, 0x01])),
        ("MemoryMax".to_string(), Value::U64(u64::MAX)),
    ];
    let mut body = start_transient_unit_call("ocirun-x.scope", "replace", &properties).body;
    body.extend([
        Value::Byte(0xfe),
        Value::I16(-2),
        Value::U16(65535),
        Value::I32(i32::MIN),
        Value::I64(i64::MIN),
        Value::Double(-0.25),
        Value::ObjectPath("/org/ocirun/a_b".into()),
        Value::Signature("a{sv}".into()),
        Value::Array(
            "{sv}".into(),
            vec![Value::DictEntry(
                Box::new(Value::Str("k".into())),
                Box::new(Value::Variant(Box::new(Value::Struct(vec![
                    Value::Byte(1),
                    Value::U64(2),
                ])))),
            )],
        ),
    ]);
    let signal =
        Message::signal("/org/ocirun/Test", "org.ocirun.Test", "Echo").with_body(body.clone());
    assert_eq!(signal.body_signature(), "ssa(sv)a(sa(sv))ynqixdoga{sv}");
    sender.send(signal).unwrap();

    let echoed = receiver
        .wait_for_signal(TIMEOUT, |m| m.member.as_deref() == Some("Echo"))
        .unwrap()
        .expect("the signal came through the bus");
    assert_eq!(echoed.body, body);
    assert_eq!(echoed.sender.as_deref(), sender.unique_name());
}

#[test]
fn signals_from_the_bus_are_collected() {
    let bus = PrivateBus::start();
    let mut watcher = bus.client();
    watcher
        .add_match("type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'")
        .unwrap();
    let newcomer = bus.client();
    let newcomer_name = newcomer.unique_name().unwrap().to_string();
    // A call in between: the signal arrives while it waits and must be kept for later.
    watcher.call(bus_call("GetId", vec![])).unwrap();
    let signal = watcher
        .wait_for_signal(TIMEOUT, |m| {
            m.member.as_deref() == Some("NameOwnerChanged")
                && m.body.first().and_then(Value::as_str) == Some(newcomer_name.as_str())
        })
        .unwrap()
        .expect("NameOwnerChanged for the new connection");
    assert_eq!(
        signal.body,
        [
            Value::Str(newcomer_name.clone()),
            Value::Str(String::new()),
            Value::Str(newcomer_name)
        ]
    );
    assert_eq!(
        watcher
            .wait_for_signal(Duration::from_millis(100), |m| m.member.as_deref()
                == Some("NoSuchSignal"))
            .unwrap(),
        None
    );
}

/// Plays systemd on the bus: owns `org.freedesktop.systemd1`, answers the Manager's
/// calls, and broadcasts `JobRemoved` for each job, until `stop` is set or the bus goes.
fn fake_systemd(mut connection: Connection, stop: Arc<AtomicBool>) -> Vec<String> {
    let owned = connection
        .call(bus_call(
            "RequestName",
            vec![Value::Str("org.freedesktop.systemd1".into()), Value::U32(4)],
        ))
        .unwrap();
    assert_eq!(owned.body, [Value::U32(1)], "primary owner");
    let mut calls = Vec::new();
    let mut next_job = 1;
    while !stop.load(Ordering::Relaxed) {
        let call = match connection.receive(Duration::from_millis(50)) {
            Ok(Some(call)) => call,
            Ok(None) => continue,
            Err(_) => break, // the bus is gone
        };
        if call.message_type != MessageType::MethodCall {
            continue;
        }
        let member = call.member.clone().unwrap_or_default();
        calls.push(member.clone());
        let unit = call
            .body
            .first()
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let reply = match member.as_str() {
            "Subscribe" => Message::method_return(&call),
            "StopUnit" if unit == "gone.scope" => Message::error_reply(
                &call,
                "org.freedesktop.systemd1.NoSuchUnit",
                "Unit gone.scope not loaded.",
            ),
            "StartTransientUnit" | "StopUnit" => {
                let job = format!("/org/freedesktop/systemd1/job/{next_job}");
                next_job += 1;
                connection
                    .send(
                        Message::method_return(&call)
                            .with_body(vec![Value::ObjectPath(job.clone())]),
                    )
                    .unwrap();
                let result = if unit == "fails.scope" {
                    "failed"
                } else {
                    "done"
                };
                Message::signal(MANAGER_PATH, MANAGER_INTERFACE, "JobRemoved").with_body(vec![
                    Value::U32(next_job),
                    Value::ObjectPath(job),
                    Value::Str(unit),
                    Value::Str(result.into()),
                ])
            }
            "GetUnit" => Message::method_return(&call).with_body(vec![Value::ObjectPath(
                "/org/freedesktop/systemd1/unit/x_2escope".into(),
            )]),
            "Get" => Message::method_return(&call).with_body(vec![Value::Variant(Box::new(
                Value::Str("/system.slice/x.scope".into()),
            ))]),
            other => Message::error_reply(&call, "org.freedesktop.DBus.Error.UnknownMethod", other),
        };
        connection.send(reply).unwrap();
    }
    calls
}

#[test]
fn the_manager_through_a_bus_with_a_stand_in_systemd() {
    let bus = PrivateBus::start();

    // Nobody owns org.freedesktop.systemd1 yet: the bus says so.
    let mut manager = Manager::connect_bus(&bus.address).unwrap();
    let error = manager
        .start_transient_unit("x.scope", "replace", &[])
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("starting systemd unit x.scope: "),
        "{error}"
    );
    assert!(
        error.contains("org.freedesktop.DBus.Error.ServiceUnknown"),
        "{error}"
    );
    drop(manager);

    let stop = Arc::new(AtomicBool::new(false));
    let systemd = {
        let connection = bus.client();
        let stop = stop.clone();
        thread::spawn(move || fake_systemd(connection, stop))
    };
    // Wait for the stand-in to own its name.
    let mut probe = bus.client();
    let started = Instant::now();
    while probe
        .call(bus_call(
            "GetNameOwner",
            vec![Value::Str("org.freedesktop.systemd1".into())],
        ))
        .is_err()
    {
        assert!(
            started.elapsed() < TIMEOUT,
            "the stand-in systemd did not start"
        );
        thread::sleep(Duration::from_millis(20));
    }

    let mut manager = Manager::connect_bus(&bus.address).unwrap();
    manager.set_job_timeout(TIMEOUT);
    manager
        .start_transient_unit(
            "x.scope",
            "replace",
            &[("Delegate".into(), Value::Bool(true))],
        )
        .unwrap();
    let error = manager
        .start_transient_unit("fails.scope", "replace", &[])
        .unwrap_err()
        .to_string();
    assert!(error.contains("ended with result \"failed\""), "{error}");
    manager.stop_unit("x.scope").unwrap();
    manager.stop_unit("gone.scope").unwrap();
    let control_group = manager
        .get_unit_property("x.scope", "org.freedesktop.systemd1.Scope", "ControlGroup")
        .unwrap();
    assert_eq!(control_group, Value::Str("/system.slice/x.scope".into()));

    stop.store(true, Ordering::Relaxed);
    let calls = systemd.join().unwrap();
    assert_eq!(
        calls,
        [
            "Subscribe",
            "StartTransientUnit",
            "StartTransientUnit",
            "StopUnit",
            "StopUnit",
            "GetUnit",
            "Get"
        ]
    );
}
