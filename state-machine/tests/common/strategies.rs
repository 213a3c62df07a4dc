//! proptest strategies for arbitrary journal content: not only what the runtime writes,
//! but anything the types can hold (control characters, odd paths, illegal transitions),
//! because the journal format must carry all of it.

use ocirun_state_machine::{Metadata, Operation, Record, Resource, Status, Transition};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

pub fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Creating),
        Just(Status::Created),
        Just(Status::Running),
        Just(Status::Paused),
        Just(Status::Stopped),
        Just(Status::Deleted),
    ]
}

pub fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        Just(Operation::Create),
        Just(Operation::Start),
        Just(Operation::Kill),
        any::<bool>().prop_map(|force| Operation::Delete { force }),
        Just(Operation::Pause),
        Just(Operation::Resume),
        Just(Operation::Update),
    ]
}

fn transition() -> impl Strategy<Value = Transition> {
    (operation(), option::of(status()), status(), status()).prop_map(|(op, from, through, to)| {
        Transition {
            op,
            from,
            through,
            to,
        }
    })
}

/// Any Unicode text, including newlines and other characters JSON must escape.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9/._-]{0,24}",
        Just("line\nbreak \"quoted\" \\ tab\t nul\u{0}".to_string()),
    ]
}

fn path() -> impl Strategy<Value = PathBuf> {
    text().prop_map(PathBuf::from)
}

/// JSON without floats: a float may not survive a text round trip bit for bit, and the
/// runtime's opaque data has none.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(text(), inner, 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

pub fn metadata() -> impl Strategy<Value = Metadata> {
    (
        (text(), path(), path(), text(), text(), text()),
        btree_map(text(), text(), 0..4),
        json_value(),
    )
        .prop_map(
            |((id, bundle, rootfs, created, owner, oci_version), annotations, extra)| Metadata {
                id,
                bundle,
                rootfs,
                created,
                owner,
                oci_version,
                annotations,
                extra,
            },
        )
}

pub fn resource() -> impl Strategy<Value = Resource> {
    prop_oneof![
        (any::<i32>(), any::<u64>())
            .prop_map(|(pid, start_time)| Resource::Process { pid, start_time }),
        path().prop_map(|path| Resource::CgroupDir { path }),
        path().prop_map(|path| Resource::Mount { path }),
        path().prop_map(|path| Resource::File { path }),
        "[a-z]{1,8}\\.scope".prop_map(|name| Resource::SystemdUnit { name }),
    ]
}

pub fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (transition(), option::of(metadata())).prop_map(|(transition, metadata)| Record::Intent {
            transition,
            metadata
        }),
        resource().prop_map(|resource| Record::Acquired { resource }),
        resource().prop_map(|resource| Record::Released { resource }),
        status().prop_map(|status| Record::Commit { status }),
        text().prop_map(|reason| Record::Abort { reason }),
    ]
}

pub fn records() -> impl Strategy<Value = Vec<Record>> {
    vec(record(), 0..8)
}
