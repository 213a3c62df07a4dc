//! systemd's `org.freedesktop.systemd1.Manager`: the calls the cgroup driver makes, each
//! waiting for the job it queued to finish. The messages are built by plain functions
//! so their exact form can be checked without a systemd.

use super::connection::{Connection, RemoteError, DEFAULT_CALL_TIMEOUT};
use super::properties::Property;
use super::wire::{Message, MessageType, Value};
use crate::bail;
use crate::error::{Error, Result};
use std::time::Duration;

pub const SYSTEMD_DESTINATION: &str = "org.freedesktop.systemd1";
pub const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
pub const MANAGER_INTERFACE: &str = "org.freedesktop.systemd1.Manager";
const PROPERTIES_INTERFACE: &str = "org.freedesktop.DBus.Properties";

/// systemd's own socket, peer to peer, root only: works while the bus daemon is down
/// (early boot, a restarting dbus) and needs no `Hello`.
pub const PRIVATE_SOCKET: &str = "/run/systemd/private";
pub const DEFAULT_SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";

/// How long a start or stop job may take, as runc waits.
pub const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// The error systemd gives for a unit it does not have loaded.
const NO_SUCH_UNIT: &str = "org.freedesktop.systemd1.NoSuchUnit";
const ALREADY_SUBSCRIBED: &str = "org.freedesktop.systemd1.AlreadySubscribed";

/// Only the job-end signals reach us through a bus daemon.
const JOB_REMOVED_MATCH: &str = "type='signal',sender='org.freedesktop.systemd1',path='/org/freedesktop/systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'";

fn manager_call(member: &str, body: Vec<Value>) -> Message {
    Message::method_call(SYSTEMD_DESTINATION, MANAGER_PATH, MANAGER_INTERFACE, member)
        .with_body(body)
}

fn properties_array(properties: &[Property]) -> Value {
    Value::Array(
        "(sv)".to_string(),
        properties
            .iter()
            .map(|(name, value)| {
                Value::Struct(vec![
                    Value::Str(name.clone()),
                    Value::Variant(Box::new(value.clone())),
                ])
            })
            .collect(),
    )
}

/// `StartTransientUnit(ssa(sv)a(sa(sv)))`: the unit, the job mode, its properties and
/// no auxiliary units.
pub fn start_transient_unit_call(name: &str, mode: &str, properties: &[Property]) -> Message {
    manager_call(
        "StartTransientUnit",
        vec![
            Value::Str(name.to_string()),
            Value::Str(mode.to_string()),
            properties_array(properties),
            Value::Array("(sa(sv))".to_string(), Vec::new()),
        ],
    )
}

/// `StopUnit(ss)`.
pub fn stop_unit_call(name: &str, mode: &str) -> Message {
    manager_call(
        "StopUnit",
        vec![Value::Str(name.to_string()), Value::Str(mode.to_string())],
    )
}

/// `ResetFailedUnit(s)`.
pub fn reset_failed_unit_call(name: &str) -> Message {
    manager_call("ResetFailedUnit", vec![Value::Str(name.to_string())])
}

/// `SetUnitProperties(sba(sv))`; `runtime` true: until reboot only, nothing written
/// under /etc.
pub fn set_unit_properties_call(name: &str, runtime: bool, properties: &[Property]) -> Message {
    manager_call(
        "SetUnitProperties",
        vec![
            Value::Str(name.to_string()),
            Value::Bool(runtime),
            properties_array(properties),
        ],
    )
}

/// `GetUnit(s)`: the object path of a loaded unit.
pub fn get_unit_call(name: &str) -> Message {
    manager_call("GetUnit", vec![Value::Str(name.to_string())])
}

/// `Subscribe()`: ask systemd to send us its job and unit signals.
pub fn subscribe_call() -> Message {
    manager_call("Subscribe", Vec::new())
}

/// `org.freedesktop.DBus.Properties.Get(ss)` on an object of systemd's.
pub fn get_property_call(path: &str, interface: &str, property: &str) -> Message {
    Message::method_call(SYSTEMD_DESTINATION, path, PROPERTIES_INTERFACE, "Get").with_body(vec![
        Value::Str(interface.to_string()),
        Value::Str(property.to_string()),
    ])
}

/// The arguments of a `JobRemoved(uoss)` signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRemoved {
    pub id: u32,
    pub job: String,
    pub unit: String,
    pub result: String,
}

impl JobRemoved {
    pub fn from_signal(signal: &Message) -> Option<JobRemoved> {
        if signal.message_type != MessageType::Signal
            || signal.interface.as_deref() != Some(MANAGER_INTERFACE)
            || signal.member.as_deref() != Some("JobRemoved")
        {
            return None;
        }
        match &signal.body[..] {
            [Value::U32(id), Value::ObjectPath(job), Value::Str(unit), Value::Str(result)] => {
                Some(JobRemoved {
                    id: *id,
                    job: job.clone(),
                    unit: unit.clone(),
                    result: result.clone(),
                })
            }
            _ => None,
        }
    }
}

/// The object path in a reply of signature `o`.
fn object_path(reply: &Message, call: &str) -> Result<String> {
    match reply.body.first() {
        Some(Value::ObjectPath(path)) => Ok(path.clone()),
        _ => bail!(
            "systemd's reply to {call} holds {:?}, not an object path",
            reply.body_signature()
        ),
    }
}

pub struct Manager {
    connection: Connection,
    /// Through a bus daemon (after `Hello`), signals need a match rule as well.
    on_bus: bool,
    subscribed: bool,
    job_timeout: Duration,
}

impl Manager {
    /// Connects to systemd: its private socket when we are root, else (or when that
    /// fails) the system bus at `$DBUS_SYSTEM_BUS_ADDRESS` or the default address.
    pub fn connect() -> Result<Manager> {
        let mut failures = Vec::new();
        if nix::unistd::geteuid().is_root() {
            match Connection::connect_path(PRIVATE_SOCKET, DEFAULT_CALL_TIMEOUT) {
                Ok(connection) => return Ok(Manager::new(connection, false)),
                Err(error) => failures.push(error.to_string()),
            }
        }
        let address = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
            .ok()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| DEFAULT_SYSTEM_BUS.to_string());
        Manager::connect_bus(&address).map_err(|error| {
            failures.push(error.to_string());
            Error::new(format!(
                "cannot reach systemd over D-Bus: {}",
                failures.join("; ")
            ))
        })
    }

    /// Talks to systemd through the bus daemon at `address`.
    pub fn connect_bus(address: &str) -> Result<Manager> {
        let mut connection = Connection::connect(address, DEFAULT_CALL_TIMEOUT)?;
        connection.hello()?;
        Ok(Manager::new(connection, true))
    }

    /// A manager on an authenticated connection; `on_bus`: through a bus daemon (whose
    /// `Hello` was said), not systemd's private socket.
    pub fn new(connection: Connection, on_bus: bool) -> Manager {
        Manager {
            connection,
            on_bus,
            subscribed: false,
            job_timeout: JOB_TIMEOUT,
        }
    }

    pub fn set_job_timeout(&mut self, timeout: Duration) {
        self.job_timeout = timeout;
    }

    /// Starts a transient unit and returns when its start job has finished ("done");
    /// any other result is an error naming it.
    pub fn start_transient_unit(
        &mut self,
        name: &str,
        mode: &str,
        properties: &[Property],
    ) -> Result<()> {
        let what = || format!("starting systemd unit {name}");
        self.subscribe().map_err(|e| e.wrap(what()))?;
        let reply = self
            .connection
            .call(start_transient_unit_call(name, mode, properties))
            .map_err(|e| e.wrap(what()))?;
        let job = object_path(&reply, "StartTransientUnit").map_err(|e| e.wrap(what()))?;
        self.wait_for_job(&job).map_err(|e| e.wrap(what()))
    }

    /// Stops a unit and returns when it is gone. A unit systemd does not know is already
    /// gone: success.
    pub fn stop_unit(&mut self, name: &str) -> Result<()> {
        let what = || format!("stopping systemd unit {name}");
        self.subscribe().map_err(|e| e.wrap(what()))?;
        let reply = match self
            .connection
            .call_with_remote_error(stop_unit_call(name, "replace"))
            .map_err(|e| e.wrap(what()))?
        {
            Ok(reply) => reply,
            Err(remote) if remote.name == NO_SUCH_UNIT => return Ok(()),
            Err(remote) => return Err(remote_error(what(), "StopUnit", &remote)),
        };
        let job = object_path(&reply, "StopUnit").map_err(|e| e.wrap(what()))?;
        self.wait_for_job(&job).map_err(|e| e.wrap(what()))
    }

    /// Clears a unit's failed state (so its name can be used again); a unit systemd does
    /// not know has none.
    pub fn reset_failed_unit(&mut self, name: &str) -> Result<()> {
        match self
            .connection
            .call_with_remote_error(reset_failed_unit_call(name))?
        {
            Ok(_) => Ok(()),
            Err(remote) if remote.name == NO_SUCH_UNIT => Ok(()),
            Err(remote) => Err(remote_error(
                format!("resetting systemd unit {name}"),
                "ResetFailedUnit",
                &remote,
            )),
        }
    }

    /// Changes properties of a running unit (resource limits on `update`).
    pub fn set_unit_properties(
        &mut self,
        name: &str,
        runtime: bool,
        properties: &[Property],
    ) -> Result<()> {
        self.connection
            .call(set_unit_properties_call(name, runtime, properties))
            .map(|_| ())
            .map_err(|e| e.wrap(format!("setting properties of systemd unit {name}")))
    }

    /// Whether systemd has a unit of this name loaded (in any state).
    pub fn unit_exists(&mut self, name: &str) -> Result<bool> {
        match self
            .connection
            .call_with_remote_error(get_unit_call(name))
            .map_err(|e| e.wrap(format!("looking up systemd unit {name}")))?
        {
            Ok(_) => Ok(true),
            Err(remote) if remote.name == NO_SUCH_UNIT => Ok(false),
            Err(remote) => Err(remote_error(
                format!("looking up systemd unit {name}"),
                "GetUnit",
                &remote,
            )),
        }
    }

    /// One property of a loaded unit, e.g. (`org.freedesktop.systemd1.Scope`,
    /// `ControlGroup`).
    pub fn get_unit_property(
        &mut self,
        name: &str,
        interface: &str,
        property: &str,
    ) -> Result<Value> {
        let what = || format!("reading {property} of systemd unit {name}");
        let reply = self
            .connection
            .call(get_unit_call(name))
            .map_err(|e| e.wrap(what()))?;
        let path = object_path(&reply, "GetUnit").map_err(|e| e.wrap(what()))?;
        let reply = self
            .connection
            .call(get_property_call(&path, interface, property))
            .map_err(|e| e.wrap(what()))?;
        match reply.body.first() {
            Some(Value::Variant(value)) => Ok(*value.clone()),
            _ => Err(Error::new(format!(
                "{}: the reply holds {:?}, not a variant",
                what(),
                reply.body_signature()
            ))),
        }
    }

    /// Asks for job signals once per connection (and, on a bus, for their routing).
    fn subscribe(&mut self) -> Result<()> {
        if self.subscribed {
            return Ok(());
        }
        if self.on_bus {
            self.connection.add_match(JOB_REMOVED_MATCH)?;
        }
        match self.connection.call_with_remote_error(subscribe_call())? {
            Ok(_) => {}
            Err(remote) if remote.name == ALREADY_SUBSCRIBED => {}
            Err(remote) => return Err(remote_error("subscribing".into(), "Subscribe", &remote)),
        }
        self.subscribed = true;
        Ok(())
    }

    /// Waits for the `JobRemoved` of `job`. It may have come already, while the call that
    /// queued the job was waiting for its reply: the connection kept it.
    fn wait_for_job(&mut self, job: &str) -> Result<()> {
        let signal = self
            .connection
            .wait_for_signal(self.job_timeout, |signal| {
                JobRemoved::from_signal(signal).is_some_and(|removed| removed.job == job)
            })?;
        let Some(signal) = signal else {
            bail!(
                "systemd's job {job} did not finish within {:?}",
                self.job_timeout
            );
        };
        let removed = JobRemoved::from_signal(&signal).expect("matched above");
        if removed.result != "done" {
            bail!(
                "systemd's job for {} ended with result {:?}, not \"done\"",
                removed.unit,
                removed.result
            );
        }
        Ok(())
    }
}

fn remote_error(what: String, member: &str, remote: &RemoteError) -> Error {
    Error::new(format!(
        "{what}: D-Bus {MANAGER_INTERFACE}.{member}: {remote}"
    ))
}

#[cfg(test)]
mod tests {
    use super::super::connection::fake_peer::{reply, serve, signal};
    use super::*;

    const JOB: &str = "/org/freedesktop/systemd1/job/42";

    fn job_removed(job: &str, unit: &str, result: &str, serial: u32) -> Message {
        signal(
            MANAGER_PATH,
            MANAGER_INTERFACE,
            "JobRemoved",
            serial,
            vec![
                Value::U32(42),
                Value::ObjectPath(job.into()),
                Value::Str(unit.into()),
                Value::Str(result.into()),
            ],
        )
    }

    /// Encodes and decodes a call, as systemd would receive it.
    fn as_received(mut call: Message) -> Message {
        call.serial = 1;
        Message::decode(&call.encode().unwrap()).unwrap()
    }

    #[test]
    fn start_transient_unit_has_the_exact_signature_and_header() {
        let properties = [
            ("Slice".to_string(), Value::Str("system.slice".into())),
            ("Delegate".to_string(), Value::Bool(true)),
            (
                "PIDs".to_string(),
                Value::Array("u".into(), vec![Value::U32(7)]),
            ),
        ];
        let call = as_received(start_transient_unit_call("x.scope", "replace", &properties));
        assert_eq!(call.body_signature(), "ssa(sv)a(sa(sv))");
        assert_eq!(
            call.destination.as_deref(),
            Some("org.freedesktop.systemd1")
        );
        assert_eq!(call.path.as_deref(), Some("/org/freedesktop/systemd1"));
        assert_eq!(
            call.interface.as_deref(),
            Some("org.freedesktop.systemd1.Manager")
        );
        assert_eq!(call.member.as_deref(), Some("StartTransientUnit"));
        assert_eq!(call.body[0], Value::Str("x.scope".into()));
        assert_eq!(call.body[1], Value::Str("replace".into()));
        let Value::Array(_, sent) = &call.body[2] else {
            panic!("{:?}", call.body[2])
        };
        assert_eq!(
            sent[2],
            Value::Struct(vec![
                Value::Str("PIDs".into()),
                Value::Variant(Box::new(Value::Array("u".into(), vec![Value::U32(7)])))
            ])
        );
        assert_eq!(sent.len(), 3);
        assert_eq!(call.body[3], Value::Array("(sa(sv))".into(), Vec::new()));
    }

    #[test]
    fn the_other_calls_have_systemds_signatures() {
        let props = [("TasksMax".to_string(), Value::U64(9))];
        for (call, member, signature) in [
            (stop_unit_call("u", "replace"), "StopUnit", "ss"),
            (reset_failed_unit_call("u"), "ResetFailedUnit", "s"),
            (
                set_unit_properties_call("u", true, &props),
                "SetUnitProperties",
                "sba(sv)",
            ),
            (get_unit_call("u"), "GetUnit", "s"),
            (subscribe_call(), "Subscribe", ""),
        ] {
            let call = as_received(call);
            assert_eq!(call.member.as_deref(), Some(member));
            assert_eq!(call.interface.as_deref(), Some(MANAGER_INTERFACE));
            assert_eq!(call.body_signature(), signature, "{member}");
        }
        let set = set_unit_properties_call("u", true, &props);
        assert_eq!(set.body[1], Value::Bool(true));

        let get = as_received(get_property_call(
            "/org/freedesktop/systemd1/unit/x_2escope",
            "org.freedesktop.systemd1.Scope",
            "ControlGroup",
        ));
        assert_eq!(
            get.interface.as_deref(),
            Some("org.freedesktop.DBus.Properties")
        );
        assert_eq!(get.member.as_deref(), Some("Get"));
        assert_eq!(get.body_signature(), "ss");
        assert_eq!(
            get.path.as_deref(),
            Some("/org/freedesktop/systemd1/unit/x_2escope")
        );
    }

    #[test]
    fn job_removed_is_parsed_and_other_signals_are_not() {
        let parsed = JobRemoved::from_signal(&job_removed(JOB, "x.scope", "done", 1)).unwrap();
        assert_eq!(
            parsed,
            JobRemoved {
                id: 42,
                job: JOB.into(),
                unit: "x.scope".into(),
                result: "done".into()
            }
        );
        let other = signal(MANAGER_PATH, MANAGER_INTERFACE, "JobNew", 1, Vec::new());
        assert_eq!(JobRemoved::from_signal(&other), None);
        let malformed = signal(
            MANAGER_PATH,
            MANAGER_INTERFACE,
            "JobRemoved",
            1,
            vec![Value::Str("x".into())],
        );
        assert_eq!(JobRemoved::from_signal(&malformed), None);
    }

    /// A fake systemd answering the Manager's calls; `job_result` is what the job ends
    /// with (`None`: it never ends).
    fn fake_systemd(
        on_bus: bool,
        job_result: Option<&'static str>,
    ) -> (Manager, std::thread::JoinHandle<Vec<Message>>) {
        let (connection, peer) = serve(Duration::from_secs(5), move |call| {
            match call.member.as_deref().unwrap() {
                "AddMatch" | "Subscribe" | "ResetFailedUnit" => {
                    vec![reply(call, 10, None, Vec::new())]
                }
                "StartTransientUnit" | "StopUnit" => {
                    let mut answers = vec![
                        // Someone else's job ends first: it must not be taken for ours.
                        job_removed(
                            "/org/freedesktop/systemd1/job/41",
                            "other.scope",
                            "failed",
                            11,
                        ),
                    ];
                    // Ours may end before the reply comes: the connection must keep it.
                    if let Some(result) = job_result {
                        answers.push(job_removed(JOB, "x.scope", result, 12));
                    }
                    answers.push(reply(call, 13, None, vec![Value::ObjectPath(JOB.into())]));
                    answers
                }
                "GetUnit" => vec![reply(
                    call,
                    14,
                    None,
                    vec![Value::ObjectPath(
                        "/org/freedesktop/systemd1/unit/x_2escope".into(),
                    )],
                )],
                "Get" => vec![reply(
                    call,
                    15,
                    None,
                    vec![Value::Variant(Box::new(Value::Str(
                        "/system.slice/x.scope".into(),
                    )))],
                )],
                other => panic!("unexpected call {other}"),
            }
        });
        (Manager::new(connection, on_bus), peer)
    }

    fn members(received: &[Message]) -> Vec<&str> {
        received
            .iter()
            .map(|m| m.member.as_deref().unwrap())
            .collect()
    }

    #[test]
    fn start_waits_for_its_own_job_even_when_it_ended_before_the_reply() {
        let (mut manager, peer) = fake_systemd(false, Some("done"));
        manager
            .start_transient_unit("x.scope", "replace", &[])
            .unwrap();
        // Subscribed once per connection.
        manager.stop_unit("x.scope").unwrap();
        drop(manager);
        let received = peer.join().unwrap();
        assert_eq!(
            members(&received),
            ["Subscribe", "StartTransientUnit", "StopUnit"]
        );
    }

    #[test]
    fn on_a_bus_the_job_signals_are_asked_for_with_a_match_rule() {
        let (mut manager, peer) = fake_systemd(true, Some("done"));
        manager
            .start_transient_unit("x.scope", "replace", &[])
            .unwrap();
        drop(manager);
        let received = peer.join().unwrap();
        assert_eq!(
            members(&received),
            ["AddMatch", "Subscribe", "StartTransientUnit"]
        );
        let rule = received[0].body[0].as_str().unwrap();
        assert!(rule.contains("member='JobRemoved'"), "{rule}");
        assert!(rule.contains("type='signal'"), "{rule}");
    }

    #[test]
    fn a_job_that_does_not_end_done_is_an_error_naming_the_result() {
        let (mut manager, _peer) = fake_systemd(false, Some("failed"));
        let error = manager
            .start_transient_unit("x.scope", "replace", &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "starting systemd unit x.scope: systemd's job for x.scope ended with result \"failed\", not \"done\""
        );
    }

    #[test]
    fn a_job_that_never_ends_times_out() {
        let (mut manager, _peer) = fake_systemd(false, None);
        manager.set_job_timeout(Duration::from_millis(200));
        let error = manager.stop_unit("x.scope").unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "stopping systemd unit x.scope: systemd's job {JOB} did not finish within 200ms"
            )
        );
    }

    #[test]
    fn a_unit_property_is_read_through_its_object_path() {
        let (mut manager, peer) = fake_systemd(false, None);
        let value = manager
            .get_unit_property("x.scope", "org.freedesktop.systemd1.Scope", "ControlGroup")
            .unwrap();
        assert_eq!(value, Value::Str("/system.slice/x.scope".into()));
        drop(manager);
        let received = peer.join().unwrap();
        assert_eq!(members(&received), ["GetUnit", "Get"]);
        assert_eq!(
            received[1].path.as_deref(),
            Some("/org/freedesktop/systemd1/unit/x_2escope")
        );
        assert_eq!(
            received[1].body,
            [
                Value::Str("org.freedesktop.systemd1.Scope".into()),
                Value::Str("ControlGroup".into())
            ]
        );
    }

    #[test]
    fn a_unit_that_does_not_exist_is_already_stopped_and_has_nothing_to_reset() {
        let no_such_unit = |call: &Message| {
            let answer = match call.member.as_deref() {
                Some("StopUnit" | "ResetFailedUnit" | "SetUnitProperties") => Some(NO_SUCH_UNIT),
                _ => None,
            };
            vec![reply(
                call,
                20,
                answer,
                vec![Value::Str("Unit x.scope not loaded.".into())],
            )]
        };
        let (connection, _peer) = serve(Duration::from_secs(5), no_such_unit);
        let mut manager = Manager::new(connection, false);
        manager.stop_unit("x.scope").unwrap();
        manager.reset_failed_unit("x.scope").unwrap();
        // Where a missing unit is a real failure, the D-Bus error is named.
        let error = manager
            .set_unit_properties("x.scope", true, &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "setting properties of systemd unit x.scope: D-Bus org.freedesktop.systemd1.Manager.SetUnitProperties: org.freedesktop.systemd1.NoSuchUnit: Unit x.scope not loaded."
        );
    }

    #[test]
    fn other_stop_errors_are_reported() {
        let (connection, _peer) = serve(Duration::from_secs(5), |call| {
            let error = (call.member.as_deref() == Some("StopUnit"))
                .then_some("org.freedesktop.DBus.Error.AccessDenied");
            vec![reply(call, 20, error, vec![Value::Str("no".into())])]
        });
        let mut manager = Manager::new(connection, false);
        let error = manager.stop_unit("x.scope").unwrap_err().to_string();
        assert_eq!(
            error,
            "stopping systemd unit x.scope: D-Bus org.freedesktop.systemd1.Manager.StopUnit: org.freedesktop.DBus.Error.AccessDenied: no"
        );
    }
}
