//! Property tests: a valid config with one field made to violate the spec is refused, and
//! the error names that field. Pure: parsing and validation only, no container.

use ocirun::config::{parse, validate};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A bundle directory with an empty rootfs, removed when dropped.
fn bundle_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("ocirun-config-props-")
        .tempdir()
        .unwrap();
    std::fs::create_dir_all(dir.path().join("rootfs")).unwrap();
    dir
}

fn valid() -> Value {
    json!({
        "ociVersion": "1.3.0",
        "root": {"path": "rootfs"},
        "process": {"cwd": "/", "args": ["sh"], "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}},
        "hostname": "h",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "uts"}]}
    })
}

/// The error for `config`, or None when it is accepted.
fn refusal(config: &Value) -> Option<String> {
    let spec = match parse(config.to_string().as_bytes()) {
        Ok(spec) => spec,
        Err(e) => return Some(e.to_string()),
    };
    validate(&spec, bundle_dir().path())
        .err()
        .map(|e| e.to_string())
}

fn relative_path() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9/._-]{0,20}"
}

/// (a mutation of one field, the field name the error must contain)
fn violation() -> impl Strategy<Value = (Value, &'static str)> {
    prop_oneof![
        relative_path().prop_map(|p| (json!({"process": {"cwd": p}}), "process.cwd")),
        Just((json!({"process": {"args": []}}), "process.args")),
        "[A-Za-z_][A-Za-z0-9_]{0,12}"
            .prop_map(|e| (json!({"process": {"env": [e]}}), "process.env")),
        (-1000i64..-1).prop_map(|u| (json!({"process": {"user": {"uid": u}}}), "process.user.uid")),
        "[a-z]{1,8}"
            .prop_filter("not a real namespace", |t| {
                ![
                    "mount", "pid", "network", "ipc", "uts", "user", "cgroup", "time",
                ]
                .contains(&t.as_str())
            })
            .prop_map(|t| (
                json!({"linux": {"namespaces": [{"type": "mount"}, {"type": t}]}}),
                "linux.namespaces"
            )),
        prop::sample::select(vec!["pid", "uts", "ipc", "network"]).prop_map(|t| (
            json!({"linux": {"namespaces": [{"type": "mount"}, {"type": t}, {"type": t}]}}),
            "linux.namespaces"
        )),
        relative_path().prop_map(|d| (
            json!({"mounts": [{"destination": d, "type": "tmpfs"}]}),
            "mounts[0].destination"
        )),
        relative_path().prop_map(|p| (
            json!({"hooks": {"poststop": [{"path": p}]}}),
            "hooks.poststop[0].path"
        )),
        "[a-z]{1,10}"
            .prop_filter("not a propagation", |p| {
                ![
                    "private",
                    "rprivate",
                    "shared",
                    "rshared",
                    "slave",
                    "rslave",
                    "unbindable",
                    "runbindable",
                ]
                .contains(&p.as_str())
            })
            .prop_map(|p| (
                json!({"linux": {"rootfsPropagation": p}}),
                "linux.rootfsPropagation"
            )),
        (0u32..100, 1u32..10).prop_map(|(c, s)| (
            json!({"linux": {"uidMappings": [{"containerID": c, "hostID": 1000, "size": s}]}}),
            "linux.uidMappings"
        )),
        "[A-Z_]{3,12}".prop_map(|c| (
            json!({"process": {"capabilities": {"bounding": [format!("CAP_X{c}")]}}}),
            "CAP_X"
        )),
    ]
}

/// Merges `patch` into `base` (objects recursively; anything else replaces).
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

#[test]
fn the_base_config_is_valid() {
    assert_eq!(refusal(&valid()), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn one_violated_field_is_refused_and_named((patch, field) in violation()) {
        let mut config = valid();
        merge(&mut config, &patch);
        let error = refusal(&config);
        prop_assert!(error.is_some(), "accepted: {config}");
        let error = error.unwrap();
        prop_assert!(error.contains(field), "{field} not named in: {error}");
        prop_assert_eq!(error.lines().count(), 1);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        ocirun::fuzzing::config(&bytes);
    }
}
