//! The six OCI hooks with real containers: when each runs, in which
//! namespaces, with which state on stdin, and what a failing or hanging hook
//! does to the lifecycle.
//!
//! Host hooks are shell scripts in the bundle directory; the startContainer
//! hook is a script inside the rootfs. Every hook appends its name to one
//! `order` file in a host directory (`hookout/`, bind-mounted into the
//! container at /hookout for startContainer).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

/// The hook script: `hook.sh <name> <out-dir>` saves its stdin (the state) and
/// its namespaces and environment, then appends its name to `<out-dir>/order`.
const HOOK_SCRIPT: &str = r#"#!/bin/sh
name="$1"
out="$2"
cat > "$out/$name.state.json"
readlink /proc/self/ns/uts > "$out/$name.uts"
readlink /proc/self/ns/mnt > "$out/$name.mnt"
env > "$out/$name.env"
echo "$name" >> "$out/order"
"#;

const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn write_script(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A bundle whose config has every hook, each running [`HOOK_SCRIPT`].
struct HookBundle {
    bundle: Bundle,
    /// Host directory the hooks write into.
    out: PathBuf,
}

impl HookBundle {
    fn new(args: &[&str]) -> HookBundle {
        let mut bundle = Bundle::new(args);
        let out = bundle.dir.join("hookout");
        fs::create_dir(&out).unwrap();
        let host_script = bundle.dir.join("hook.sh");
        write_script(&host_script, HOOK_SCRIPT);
        write_script(&bundle.rootfs().join("hook.sh"), HOOK_SCRIPT);
        let out_str = out.to_str().unwrap().to_string();
        let host_hook = |name: &str| {
            json!({
                "path": host_script.to_str().unwrap(),
                "args": ["hook.sh", name, out_str],
                "env": [PATH_ENV, format!("HOOK_MARK=mark-{name}")],
            })
        };
        bundle.config["hooks"] = json!({
            "prestart": [host_hook("prestart")],
            "createRuntime": [host_hook("createRuntime")],
            "createContainer": [host_hook("createContainer")],
            "startContainer": [{
                "path": "/hook.sh",
                "args": ["hook.sh", "startContainer", "/hookout"],
                "env": [PATH_ENV, "HOOK_MARK=mark-startContainer"],
            }],
            "poststart": [host_hook("poststart")],
            "poststop": [host_hook("poststop")],
        });
        bundle.config["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/hookout",
            "type": "bind",
            "source": out_str,
            "options": ["rbind", "rw"],
        }));
        bundle.write_config();
        HookBundle { bundle, out }
    }

    fn order(&self) -> Vec<String> {
        fs::read_to_string(self.out.join("order"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn read(&self, name: &str, what: &str) -> String {
        let path = self.out.join(format!("{name}.{what}"));
        fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{name} hook did not write {}: {e}", path.display()))
            .trim()
            .to_string()
    }

    fn state(&self, name: &str) -> Value {
        let text = self.read(name, "state.json");
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{name} hook got invalid state JSON on stdin ({e}): {text:?}")
        })
    }

    /// Replaces the hook list `phase` with one hook running `script` (a host
    /// path) with `extra` fields (e.g. a timeout).
    fn set_hook(&mut self, phase: &str, script: &Path, extra: Value) {
        let mut hook = json!({ "path": script.to_str().unwrap(), "env": [PATH_ENV] });
        if let Some(obj) = extra.as_object() {
            for (k, v) in obj {
                hook[k] = v.clone();
            }
        }
        self.bundle.config["hooks"][phase] = json!([hook]);
        self.bundle.write_config();
    }
}

#[test]
fn all_six_hooks_run_in_order_with_the_state_and_in_the_right_namespaces() {
    let rt = Runtime::new();
    let hb = HookBundle::new(&["true"]);
    let id = unique_id("hooks-order");
    let bundle_dir = fs::canonicalize(&hb.bundle.dir).unwrap();

    rt.ok(&["create", "--bundle", hb.bundle.path(), &id]);
    assert_eq!(
        hb.order(),
        ["prestart", "createRuntime", "createContainer"],
        "after create"
    );
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let container_uts = fs::read_link(format!("/proc/{pid}/ns/uts")).unwrap();
    let container_mnt = fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    let container_uts = container_uts.to_str().unwrap();
    let container_mnt = container_mnt.to_str().unwrap();

    rt.ok(&["start", &id]);
    assert_eq!(
        hb.order(),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart"
        ],
        "after start"
    );
    rt.wait_for_status(&id, "stopped");
    assert_eq!(hb.order().len(), 5, "poststop must wait for delete");
    rt.ok(&["delete", &id]);
    assert_eq!(
        hb.order(),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ],
        "after delete"
    );

    // Every hook got the state of this container on stdin.
    for name in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        let state = hb.state(name);
        assert_eq!(state["id"], id.as_str(), "{name}: {state}");
        assert_eq!(
            state["ociVersion"], hb.bundle.config["ociVersion"],
            "{name}: {state}"
        );
        assert_eq!(
            state["bundle"],
            bundle_dir.to_str().unwrap(),
            "{name}: {state}"
        );
        // Each got its own env, and nothing of the runtime's.
        let env = hb.read(name, "env");
        assert!(
            env.lines().any(|l| l == format!("HOOK_MARK=mark-{name}")),
            "{name} env:\n{env}"
        );
        assert!(
            !env.lines().any(|l| l.starts_with("CARGO")),
            "{name} inherited the runtime's environment:\n{env}"
        );
    }
    for name in ["prestart", "createRuntime"] {
        let state = hb.state(name);
        assert_eq!(state["status"], "creating", "{name}: {state}");
        assert_eq!(state["pid"], pid, "{name}: {state}");
    }
    let state = hb.state("poststart");
    assert_eq!(state["status"], "running", "poststart: {state}");
    assert_eq!(state["pid"], pid, "poststart: {state}");
    let state = hb.state("poststop");
    assert_eq!(state["status"], "stopped", "poststop: {state}");

    // Runtime-namespace hooks run on the host; container hooks inside.
    for name in ["prestart", "createRuntime", "poststart", "poststop"] {
        assert_eq!(hb.read(name, "uts"), host_ns("uts"), "{name} uts");
        assert_eq!(hb.read(name, "mnt"), host_ns("mnt"), "{name} mnt");
    }
    for name in ["createContainer", "startContainer"] {
        assert_eq!(hb.read(name, "uts"), container_uts, "{name} uts");
        assert_eq!(hb.read(name, "mnt"), container_mnt, "{name} mnt");
        assert_ne!(hb.read(name, "mnt"), host_ns("mnt"), "{name} mnt");
    }
    assert_no_leaks(&rt, &hb.bundle, &[&id]);
}

#[test]
fn start_container_hook_runs_inside_the_container_root() {
    // Root writable: the hook leaves a file in the container's /tmp.
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["true"]);
    write_script(
        &bundle.rootfs().join("start-hook.sh"),
        "#!/bin/sh\nhostname > /tmp/started\n",
    );
    bundle.config["root"]["readonly"] = json!(false);
    bundle.config["hostname"] = json!("hook-host");
    bundle.config["hooks"] = json!({
        "startContainer": [{ "path": "/start-hook.sh", "env": [PATH_ENV] }],
    });
    bundle.write_config();
    let id = unique_id("hooks-start-container");
    rt.ok(&["create", "--bundle", bundle.path(), &id]);
    let marker = bundle.rootfs().join("tmp/started");
    assert!(!marker.exists(), "startContainer ran before start");
    rt.ok(&["start", &id]);
    assert_eq!(fs::read_to_string(&marker).unwrap(), "hook-host\n");
    rt.wait_for_status(&id, "stopped");
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn a_failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    let rt = Runtime::new();
    let mut hb = HookBundle::new(&["sleep", "1000"]);
    let failing = hb.bundle.dir.join("fail.sh");
    write_script(
        &failing,
        "#!/bin/sh\necho createRuntime-said-no >&2\nexit 7\n",
    );
    hb.set_hook("createRuntime", &failing, json!({}));
    let id = unique_id("hooks-fail-create-runtime");
    let err = rt.fail(&["create", "--bundle", hb.bundle.path(), &id]);
    assert_one_line_error(
        &err,
        &["createRuntime"],
        "create with a failing createRuntime hook",
    );
    assert!(
        err.contains("createRuntime-said-no"),
        "the hook's output is quoted: {err}"
    );
    assert!(
        rt.try_state(&id).is_none(),
        "{id} exists after a failed create"
    );
    // The container got no further.
    let order = hb.order();
    assert_eq!(
        order.first().map(String::as_str),
        Some("prestart"),
        "{order:?}"
    );
    assert!(!order.contains(&"createContainer".to_string()), "{order:?}");
    assert_no_leaks(&rt, &hb.bundle, &[&id]);
}

/// Spec lifecycle steps 3-5: when a prestart, createRuntime or createContainer
/// hook fails, the runtime "MUST generate an error, stop the container, and
/// continue the lifecycle at step 12" (destroy), and step 13 runs the
/// poststop hooks. runc 1.1.5 does.
#[test]
fn poststop_hooks_run_when_create_fails_in_a_hook() {
    let rt = Runtime::new();
    for (phase, before) in [
        ("createRuntime", vec!["prestart"]),
        ("createContainer", vec!["prestart", "createRuntime"]),
    ] {
        let mut hb = HookBundle::new(&["sleep", "1000"]);
        let failing = hb.bundle.dir.join("fail.sh");
        write_script(&failing, "#!/bin/sh\nexit 1\n");
        hb.set_hook(phase, &failing, json!({}));
        let id = unique_id("hooks-failed-create-poststop");
        rt.fail(&["create", "--bundle", hb.bundle.path(), &id]);
        let mut expected = before.clone();
        expected.push("poststop");
        assert_eq!(hb.order(), expected, "{phase} failed");
        assert_no_leaks(&rt, &hb.bundle, &[&id]);
    }
}

#[test]
fn a_failing_create_container_hook_fails_create_and_leaves_nothing() {
    let rt = Runtime::new();
    let mut hb = HookBundle::new(&["sleep", "1000"]);
    let failing = hb.bundle.dir.join("fail.sh");
    write_script(&failing, "#!/bin/sh\nexit 3\n");
    hb.set_hook("createContainer", &failing, json!({}));
    let id = unique_id("hooks-fail-create-container");
    let err = rt.fail(&["create", "--bundle", hb.bundle.path(), &id]);
    assert_one_line_error(
        &err,
        &["createContainer"],
        "create with a failing createContainer hook",
    );
    assert!(rt.try_state(&id).is_none());
    // The lifecycle continues at destroy: poststop runs (spec lifecycle step 5 -> 12, 13).
    assert_eq!(hb.order(), ["prestart", "createRuntime", "poststop"]);
    assert_no_leaks(&rt, &hb.bundle, &[&id]);
}

#[test]
fn a_missing_hook_binary_fails_create_naming_it() {
    let rt = Runtime::new();
    let mut hb = HookBundle::new(&["sleep", "1000"]);
    let missing = hb.bundle.dir.join("no-such-hook");
    hb.set_hook("prestart", &missing, json!({}));
    let id = unique_id("hooks-missing");
    let err = rt.fail(&["create", "--bundle", hb.bundle.path(), &id]);
    assert_one_line_error(
        &err,
        &["prestart", "no-such-hook"],
        "create with a missing hook",
    );
    assert_eq!(
        hb.order(),
        ["poststop"],
        "only poststop runs after the failed prestart"
    );
    assert_no_leaks(&rt, &hb.bundle, &[&id]);
}

#[test]
fn a_hook_exceeding_its_timeout_fails_and_is_killed() {
    let rt = Runtime::new();
    let mut hb = HookBundle::new(&["sleep", "1000"]);
    // The hook's environment names the bundle, so the leak check finds the
    // sleep if the runtime does not kill it.
    let mark = format!("HOOK_OF={}", hb.bundle.path());
    hb.bundle.config["hooks"]["prestart"] = json!([{
        "path": "/bin/sleep",
        "args": ["sleep", "60"],
        "env": [PATH_ENV, mark],
        "timeout": 1,
    }]);
    hb.bundle.write_config();
    let id = unique_id("hooks-timeout");
    let err = rt.fail(&["create", "--bundle", hb.bundle.path(), &id]);
    assert_one_line_error(&err, &["prestart"], "create with a hanging prestart hook");
    assert!(
        err.contains("time"),
        "the error should say the hook timed out: {err}"
    );
    assert!(rt.try_state(&id).is_none());
    assert_eq!(
        hb.order(),
        ["poststop"],
        "only poststop runs after the hung hook"
    );
    assert_no_leaks(&rt, &hb.bundle, &[&id]);
}

#[test]
fn a_failing_poststart_hook_fails_start_and_stops_the_container() {
    let rt = Runtime::new();
    let mut hb = HookBundle::new(&["sleep", "1000"]);
    let failing = hb.bundle.dir.join("fail.sh");
    write_script(&failing, "#!/bin/sh\nexit 1\n");
    hb.set_hook("poststart", &failing, json!({}));
    let id = unique_id("hooks-fail-poststart");
    rt.ok(&["create", "--bundle", hb.bundle.path(), &id]);
    let err = rt.fail(&["start", &id]);
    assert_one_line_error(&err, &["poststart"], "start with a failing poststart hook");
    let state = rt.wait_for_status(&id, "stopped");
    assert_eq!(state["pid"], 0, "{state}");
    rt.ok(&["delete", &id]);
    assert_eq!(
        hb.order(),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststop"
        ]
    );
    assert_no_leaks(&rt, &hb.bundle, &[&id]);
}

#[test]
fn a_failing_start_container_hook_fails_start_and_the_program_never_runs() {
    let rt = Runtime::new();
    let mut hb = HookBundle::new(&["sh", "-c", "echo ran >> /hookout/program"]);
    write_script(&hb.bundle.rootfs().join("fail.sh"), "#!/bin/sh\nexit 5\n");
    hb.bundle.config["hooks"]["startContainer"] =
        json!([{ "path": "/fail.sh", "env": [PATH_ENV] }]);
    hb.bundle.write_config();
    let id = unique_id("hooks-fail-start-container");
    rt.ok(&["create", "--bundle", hb.bundle.path(), &id]);
    let err = rt.fail(&["start", &id]);
    assert_one_line_error(
        &err,
        &["startContainer"],
        "start with a failing startContainer hook",
    );
    rt.wait_for_status(&id, "stopped");
    assert!(!hb.out.join("program").exists(), "the program ran");
    assert!(
        !hb.order().contains(&"poststart".to_string()),
        "{:?}",
        hb.order()
    );
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &hb.bundle, &[&id]);
}

#[test]
fn a_failing_poststop_hook_only_warns() {
    let rt = Runtime::new();
    let mut hb = HookBundle::new(&["true"]);
    let failing = hb.bundle.dir.join("fail.sh");
    write_script(&failing, "#!/bin/sh\necho poststop-ran >> \"$1\"\nexit 9\n");
    let ran = hb.out.join("poststop-ran");
    hb.set_hook(
        "poststop",
        &failing,
        json!({ "args": ["fail.sh", ran.to_str().unwrap()] }),
    );
    let id = unique_id("hooks-fail-poststop");
    rt.ok(&["run", "-d", "--bundle", hb.bundle.path(), &id]);
    rt.wait_for_status(&id, "stopped");
    let out = rt.run(&["delete", &id]);
    assert!(
        out.status.success(),
        "delete must succeed despite a failing poststop hook: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ran.exists(), "the poststop hook did not run");
    assert!(
        rt.try_state(&id).is_none(),
        "{id} still exists after delete"
    );
    assert_no_leaks(&rt, &hb.bundle, &[&id]);
}

/// Spec (runtime.md, State): "For hooks executed in the container namespace,
/// [pid] is the pid as seen by the container": 1 in a new pid namespace. runc
/// 1.1.5 passes 1 to createContainer and startContainer.
#[test]
fn container_namespace_hooks_get_the_pid_as_seen_in_the_container() {
    let rt = Runtime::new();
    let hb = HookBundle::new(&["true"]);
    let id = unique_id("hooks-container-pid");
    rt.ok(&["create", "--bundle", hb.bundle.path(), &id]);
    let host_pid = rt.state(&id)["pid"].as_i64().unwrap();
    rt.ok(&["start", &id]);
    rt.wait_for_status(&id, "stopped");
    rt.ok(&["delete", &id]);
    for name in ["createContainer", "startContainer"] {
        let state = hb.state(name);
        assert_eq!(
            state["pid"], 1,
            "{name} runs in the container's pid namespace (host pid {host_pid}): {state}"
        );
    }
    assert_no_leaks(&rt, &hb.bundle, &[&id]);
}

/// startContainer runs after `start` was invoked, before the program runs:
/// the container is `created` then (runc 1.1.5 passes "created").
#[test]
fn start_container_hook_gets_status_created() {
    let rt = Runtime::new();
    let hb = HookBundle::new(&["true"]);
    let id = unique_id("hooks-start-status");
    rt.ok(&["create", "--bundle", hb.bundle.path(), &id]);
    rt.ok(&["start", &id]);
    rt.wait_for_status(&id, "stopped");
    rt.ok(&["delete", &id]);
    let state = hb.state("startContainer");
    assert_eq!(state["status"], "created", "startContainer: {state}");
    assert_no_leaks(&rt, &hb.bundle, &[&id]);
}
