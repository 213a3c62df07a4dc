//! Control groups with real containers on this host (cgroup v1, or hybrid): limits read
//! back from the host's files and from inside the container, a pids limit refusing
//! forks, a memory limit OOM-killing, `update`, `pause`/`resume`, `ps`, and resources
//! the host lacks. The v2 writers are unit-tested against fake cgroup directories
//! (src/executors/cgroups/*.rs) since this host has no v2 controllers.
//!
//! Every test ends with `assert_no_leaks`.

mod common;

use common::*;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

/// The container's directory (default `cgroupsPath`) in the v1 hierarchy `controller`,
/// when the host has one.
fn v1_dir(controller: &str, id: &str) -> Option<PathBuf> {
    let dir = Path::new("/sys/fs/cgroup").join(controller);
    dir.join("cgroup.procs")
        .exists()
        .then(|| relative_cgroup_dir(controller, id))
}

fn read_trimmed(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// Skips (with a reason) on a host without the v1 controllers these tests read back.
fn v1_host() -> bool {
    let ok = ["memory", "cpu", "pids", "cpuset", "freezer"]
        .iter()
        .all(|c| {
            Path::new("/sys/fs/cgroup")
                .join(c)
                .join("cgroup.procs")
                .exists()
        });
    if !ok {
        eprintln!("skipped: these tests read cgroup v1 files; this host has no v1 hierarchies");
    }
    ok
}

fn long_running() -> Bundle {
    Bundle::new(&["sh", "-c", "sleep 100 & sleep 100"])
}

#[test]
fn limits_are_set_before_the_program_runs() {
    if !v1_host() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "cd /sys/fs/cgroup && cat memory/memory.limit_in_bytes cpu/cpu.cfs_quota_us cpu/cpu.shares pids/pids.max cpuset/cpuset.cpus",
    ]);
    bundle.config["linux"]["resources"]["memory"] = json!({"limit": 64 << 20});
    bundle.config["linux"]["resources"]["cpu"] =
        json!({"quota": 25000, "period": 100000, "shares": 512, "cpus": "0"});
    bundle.config["linux"]["resources"]["pids"] = json!({"limit": 20});
    bundle.write_config();
    let id = unique_id("limits");
    let out = rt.ok(&["run", "--bundle", bundle.path(), &id]);
    assert_eq!(out, "67108864\n25000\n512\n20\n0\n", "inside the container");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn limits_read_back_from_the_host_and_update_changes_them() {
    if !v1_host() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = long_running();
    bundle.config["linux"]["resources"]["memory"] = json!({"limit": 32 << 20});
    bundle.config["linux"]["resources"]["pids"] = json!({"limit": 10});
    bundle.config["linux"]["resources"]["cpu"] = json!({"quota": 30000, "shares": 256});
    bundle.write_config();
    let blkio_weight = ["blkio.weight", "blkio.bfq.weight"].into_iter().find(|f| {
        // Only a child cgroup shows the weight files: probe with our own.
        v1_dir("blkio", "").is_some_and(|d| {
            fs::read_dir(&d)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| e.path().join(f).exists())
        })
    });
    if blkio_weight.is_some() {
        bundle.config["linux"]["resources"]["blockIO"] = json!({"weight": 300});
        bundle.write_config();
    }
    let id = unique_id("update");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let file =
        |controller: &str, name: &str| read_trimmed(&v1_dir(controller, &id).unwrap().join(name));
    assert_eq!(file("memory", "memory.limit_in_bytes"), "33554432");
    assert_eq!(file("pids", "pids.max"), "10");
    assert_eq!(file("cpu", "cpu.cfs_quota_us"), "30000");
    assert_eq!(file("cpu", "cpu.shares"), "256");
    if let Some(weight) = blkio_weight {
        assert_eq!(file("blkio", weight), "300");
    }

    rt.ok(&[
        "update",
        "--memory",
        "48m",
        "--pids-limit",
        "12",
        "--cpu-quota",
        "40000",
        "--cpu-share",
        "300",
        &id,
    ]);
    assert_eq!(file("memory", "memory.limit_in_bytes"), "50331648");
    assert_eq!(file("pids", "pids.max"), "12");
    assert_eq!(file("cpu", "cpu.cfs_quota_us"), "40000");
    assert_eq!(file("cpu", "cpu.shares"), "300");

    // containerd's way: a LinuxResources document on stdin or in a file.
    let resources = bundle.dir.join("resources.json");
    fs::write(&resources, r#"{"pids":{"limit":-1},"memory":{"limit":-1}}"#).unwrap();
    rt.ok(&["update", "--resources", resources.to_str().unwrap(), &id]);
    assert_eq!(file("pids", "pids.max"), "max");
    assert_eq!(
        file("memory", "memory.limit_in_bytes"),
        "9223372036854771712"
    );

    let error = rt.fail(&["update", "--l3-cache-schema", "L3:0=f", &id]);
    assert_one_line_error(&error, &["not supported"], "update --l3-cache-schema");

    rt.ok(&["kill", &id, "KILL"]);
    rt.wait_for_status(&id, "stopped");
    let error = rt.fail(&["update", "--memory", "1m", &id]);
    assert_one_line_error(&error, &["stopped"], "update of a stopped container");
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn a_pids_limit_refuses_forks() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done; wait",
    ]);
    bundle.config["linux"]["resources"]["pids"] = json!({"limit": 4});
    bundle.write_config();
    let id = unique_id("pids");
    let out = rt.run(&["run", "--bundle", bundle.path(), &id]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fork") || stderr.contains("Resource temporarily unavailable"),
        "forks beyond pids.max should fail; stderr:\n{stderr}"
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn a_memory_limit_kills_a_hog() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["tail", "/dev/zero"]);
    // memory+swap equal to memory: no escape into swap where the host has any.
    let memsw = Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists();
    bundle.config["linux"]["resources"]["memory"] = if memsw {
        json!({"limit": 32 << 20, "swap": 32 << 20})
    } else {
        json!({"limit": 32 << 20})
    };
    bundle.write_config();
    let id = unique_id("oom");
    let out = rt.run(&["run", "--bundle", bundle.path(), &id]);
    assert_eq!(
        out.status.code(),
        Some(137),
        "the hog should die of SIGKILL; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

fn process_state(pid: i64) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status_field(&status, "State").unwrap_or("").to_string()
}

#[test]
fn pause_freezes_and_resume_thaws() {
    let rt = Runtime::new();
    let bundle = long_running();
    let id = unique_id("pause");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();

    rt.ok(&["pause", &id]);
    assert_eq!(rt.state(&id)["status"], "paused");
    let list: Value = serde_json::from_str(&rt.ok(&["list", "--format", "json"])).unwrap();
    assert_eq!(list[0]["status"], "paused");
    if let Some(dir) = v1_dir("freezer", &id) {
        assert_eq!(read_trimmed(&dir.join("freezer.state")), "FROZEN");
    }
    // A frozen task sleeps in the freezer: state D (v1) or S.
    let state = process_state(pid);
    assert!(state.starts_with('D') || state.starts_with('S'), "{state}");
    let error = rt.fail(&["pause", &id]);
    assert_one_line_error(&error, &["paused"], "pausing twice");
    let error = rt.fail(&["delete", &id]);
    assert_one_line_error(&error, &["paused"], "delete without --force");

    rt.ok(&["resume", &id]);
    assert_eq!(rt.state(&id)["status"], "running");
    if let Some(dir) = v1_dir("freezer", &id) {
        assert_eq!(read_trimmed(&dir.join("freezer.state")), "THAWED");
    }
    let error = rt.fail(&["resume", &id]);
    assert_one_line_error(&error, &["running"], "resuming a running container");
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn a_paused_container_dies_of_kill_9_and_of_delete_force() {
    let rt = Runtime::new();
    let bundle = long_running();
    let killed = unique_id("paused-kill");
    let deleted = unique_id("paused-delete");
    for id in [&killed, &deleted] {
        rt.ok(&["run", "-d", "--bundle", bundle.path(), id]);
        rt.ok(&["pause", id]);
    }
    rt.ok(&["kill", &killed, "9"]);
    rt.wait_for_status(&killed, "stopped");
    rt.ok(&["delete", &killed]);
    rt.ok(&["delete", "--force", &deleted]);
    assert!(rt.try_state(&deleted).is_none());
    assert_no_leaks(&rt, &bundle, &[&killed, &deleted]);
}

#[test]
fn ps_lists_the_container_processes() {
    let rt = Runtime::new();
    let bundle = long_running();
    let id = unique_id("ps");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let pids: Vec<i64> = serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
    assert!(pids.contains(&pid), "{pids:?} lacks the init {pid}");
    assert_eq!(
        pids.len(),
        2,
        "the shell and its two sleeps share two pids: {pids:?}"
    );

    let table = rt.ok(&["ps", &id]);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().contains("PID"), "{table}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().all(|r| r.contains("sleep")), "{table}");

    let custom = rt.ok(&["ps", &id, "-o", "pid,comm"]);
    assert!(
        custom.lines().any(|l| l.trim() == format!("{pid} sleep")),
        "{custom}"
    );
    rt.ok(&["delete", "--force", &id]);
    let error = rt.fail(&["ps", &id]);
    assert_one_line_error(&error, &["does not exist"], "ps of a deleted container");
    assert_no_leaks(&rt, &bundle, &[&id]);
}

/// A resource the host lacks, set, fails create in one line naming the field, and
/// leaves no state, cgroup or process.
#[test]
fn a_set_resource_the_host_lacks_is_a_one_line_error() {
    let rt = Runtime::new();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "network",
            json!({"classID": 1048577}),
            "linux.resources.network.classID: this host has no net_cls cgroup controller",
        ),
        (
            "rdma",
            json!({"mlx5_0": {"hcaHandles": 2}}),
            "linux.resources.rdma: this host has no rdma cgroup controller",
        ),
    ];
    let mut ids = Vec::new();
    let mut bundle = Bundle::new(&["true"]);
    for (field, value, message) in cases {
        if v1_dir(if field == "network" { "net_cls" } else { field }, "").is_some() {
            eprintln!("skipped {field}: this host has the controller");
            continue;
        }
        bundle.config["linux"]["resources"] = json!({ field: value });
        bundle.write_config();
        let id = unique_id(field);
        let error = rt.fail(&["create", "--bundle", bundle.path(), &id]);
        assert_one_line_error(&error, &[message], field);
        assert!(
            rt.try_state(&id).is_none(),
            "{id} exists after a failed create"
        );
        ids.push(id);
    }
    // hugetlb: v1 has none here; the hybrid cgroup2 tree may offer it only if enabled.
    let unified = Path::new("/sys/fs/cgroup/unified/cgroup.subtree_control");
    let delegated = fs::read_to_string(unified).unwrap_or_default();
    if v1_dir("hugetlb", "").is_none() && !delegated.contains("hugetlb") {
        bundle.config["linux"]["resources"] =
            json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]});
        bundle.write_config();
        let id = unique_id("hugetlb");
        let error = rt.fail(&["create", "--bundle", bundle.path(), &id]);
        assert_one_line_error(
            &error,
            &["linux.resources.hugepageLimits: this host has no hugetlb cgroup controller"],
            "hugepageLimits",
        );
        ids.push(id);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_leaks(&rt, &bundle, &refs);
}

/// An unset resource is never touched: a container without resources leaves the
/// inherited values (here: pids.max stays "max").
#[test]
fn unset_resources_are_left_alone() {
    if !v1_host() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["cat", "/sys/fs/cgroup/pids/pids.max"]);
    bundle.config["linux"]["resources"] = json!({});
    bundle.write_config();
    let id = unique_id("unset");
    assert_eq!(rt.ok(&["run", "--bundle", bundle.path(), &id]), "max\n");
    assert_no_leaks(&rt, &bundle, &[&id]);
}
