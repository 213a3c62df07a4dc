//! What orchestrators do between `create` and `start`: the container's
//! namespaces exist and its init waits, so the host can configure them (here:
//! a veth pair moved into the new network namespace by the pid `state`
//! reports) before the program runs.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;

/// Runs a host command (with the hard timeout), asserting success.
fn host(args: &[&str]) -> String {
    let mut c = Command::new(args[0]);
    c.args(&args[1..]);
    let out = run_cmd(c);
    assert!(
        out.status.success(),
        "`{}` failed: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn link_exists(name: &str) -> bool {
    Path::new(&format!("/sys/class/net/{name}")).exists()
}

/// An interface name (at most 15 bytes) unique to this test process.
fn short_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "{prefix}{:x}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    assert!(name.len() <= 15, "{name} is too long for an interface");
    name
}

/// The host end of a veth pair: deleted on drop if it still exists (on the
/// success path it dies with the container's network namespace).
struct HostVeth(String);

impl Drop for HostVeth {
    fn drop(&mut self) {
        if link_exists(&self.0) {
            let _ = Command::new("ip").args(["link", "del", &self.0]).status();
        }
    }
}

const WAIT_FOR_VETH: &str = "\
i=0; while [ ! -e /sys/class/net/veth-c ]; do \
  i=$((i+1)); if [ $i -gt 200 ]; then echo 'veth-c never appeared'; exit 1; fi; sleep 0.05; \
done; \
ip addr; echo mac=$(cat /sys/class/net/veth-c/address); \
echo operstate=$(cat /sys/class/net/veth-c/operstate); \
touch /dev/shm/done; exec sleep 1000";

#[test]
fn a_veth_moved_into_the_created_containers_netns_is_seen_after_start() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sh", "-c", WAIT_FOR_VETH]);
    let id = unique_id("veth");
    let log = bundle.dir.join("container.log");
    rt.create_logged(&bundle, &id, &log);
    let state = rt.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    let pid = state["pid"].as_i64().expect("state has a pid");
    assert!(pid > 0, "{state}");
    let pid = pid.to_string();
    let netns = fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    assert_ne!(
        netns.to_str().unwrap(),
        host_ns("net"),
        "the container needs its own netns"
    );
    // The program has not run yet.
    assert!(!Path::new(&format!("/proc/{pid}/root/dev/shm/started")).exists());

    // The pair is made with a unique temporary peer name (tests in other
    // processes may do the same at once: "veth-c" must never exist in the
    // host's namespace), and the peer is renamed veth-c as it moves.
    let host_end = HostVeth(short_name("oh"));
    let peer = short_name("op");
    host(&[
        "ip",
        "link",
        "add",
        &host_end.0,
        "type",
        "veth",
        "peer",
        "name",
        &peer,
    ]);
    let peer_mac = fs::read_to_string(format!("/sys/class/net/{peer}/address"))
        .unwrap()
        .trim()
        .to_string();
    host(&["ip", "link", "set", &peer, "netns", &pid, "name", "veth-c"]);
    assert!(!link_exists(&peer), "{peer} is still on the host");
    // Configure it from the host, as a CNI plugin would.
    host(&[
        "nsenter",
        "-t",
        &pid,
        "-n",
        "ip",
        "addr",
        "add",
        "192.0.2.2/24",
        "dev",
        "veth-c",
    ]);
    host(&[
        "nsenter", "-t", &pid, "-n", "ip", "link", "set", "veth-c", "up",
    ]);
    host(&["ip", "link", "set", &host_end.0, "up"]);

    rt.ok(&["start", &id]);
    // The program prints, then sleeps (keeping its netns alive) until killed.
    let done = format!("/proc/{pid}/root/dev/shm/done");
    wait_until("the container to print its interfaces", || {
        Path::new(&done).exists() || rt.try_state(&id).is_none_or(|s| s["status"] != "running")
    });
    let out = fs::read_to_string(&log).unwrap();
    assert!(
        out.contains("veth-c"),
        "the container did not see veth-c:\n{out}"
    );
    assert!(
        out.contains("inet 192.0.2.2/24"),
        "the address set from the host:\n{out}"
    );
    assert!(
        out.lines().any(|l| l == format!("mac={peer_mac}")),
        "the container's veth-c is the peer the host made ({peer_mac}):\n{out}"
    );
    assert!(out.lines().any(|l| l == "operstate=up"), "{out}");
    // Only loopback and veth-c are in the container's namespace.
    let links: Vec<&str> = out
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.next()?.strip_suffix(':')?.parse::<u32>().ok()?;
            w.next()
        })
        .collect();
    assert_eq!(
        links.len(),
        2,
        "interfaces in the container: {links:?}\n{out}"
    );
    assert!(
        links[0] == "lo:" && links[1].starts_with("veth-c"),
        "{links:?}"
    );
    assert!(
        link_exists(&host_end.0),
        "the host end lives while the container's netns does"
    );

    rt.ok(&["kill", &id, "KILL"]);
    rt.wait_for_status(&id, "stopped");
    rt.ok(&["delete", &id]);
    // The namespace is torn down asynchronously by the kernel; its veth with it.
    wait_until(
        &format!("host veth {} to disappear after delete", host_end.0),
        || !link_exists(&host_end.0),
    );
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn the_created_containers_namespaces_are_ready_before_start() {
    // Everything the spec promises at `created`: the init's namespaces exist,
    // its cgroup is set, and the user program has not run.
    let rt = Runtime::new();
    let bundle = Bundle::new(&[
        "sh",
        "-c",
        "echo started > /dev/shm/started; exec sleep 1000",
    ]);
    let id = unique_id("created-ready");
    rt.ok(&["create", "--bundle", bundle.path(), &id]);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    for kind in ["pid", "net", "ipc", "uts", "mnt"] {
        let ns = fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap();
        assert_ne!(ns.to_str().unwrap(), host_ns(kind), "{kind}");
    }
    let hostname = host(&["nsenter", "-t", &pid.to_string(), "-u", "hostname"]);
    assert_eq!(
        hostname.trim(),
        "ocirun",
        "the hostname is set before start"
    );
    let procs =
        fs::read_to_string(relative_cgroup_dir("memory", &id).join("cgroup.procs")).unwrap();
    assert!(
        procs.lines().any(|l| l.trim() == pid.to_string()),
        "{procs:?}"
    );
    let started = format!("/proc/{pid}/root/dev/shm/started");
    assert!(
        !Path::new(&started).exists(),
        "the program ran before start"
    );

    rt.ok(&["start", &id]);
    wait_until("the program to run after start", || {
        Path::new(&started).exists()
    });
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}
