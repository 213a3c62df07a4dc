//! The config.json that `ocirun spec` writes: the same content as runc 1.1.5's
//! `runc spec` / `runc spec --rootless`, except `ociVersion` ("1.3.0", the
//! runtime-spec version we implement) and `hostname` ("ocirun" instead of "runc").
//!
//! Checked field by field against `runc spec` output (runc 1.1.5+ds1, Debian 12)
//! with `jq -S`; the `matches_runc_1_1_5_output` test repeats that comparison
//! whenever runc 1.1.5 is installed.

use serde_json::{json, Value};

/// The OCI runtime-spec version ocirun writes into new configs.
pub const OCI_VERSION: &str = "1.3.0";

/// The hostname of the default config (runc uses "runc").
pub const DEFAULT_HOSTNAME: &str = "ocirun";

/// The default capability set of `runc spec`. runc 1.1.5 puts it in all four of
/// bounding, effective, permitted and ambient (not inheritable).
const DEFAULT_CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// The config.json `runc spec` (rootless = false) or `runc spec --rootless`
/// (rootless = true) writes, with ocirun's `ociVersion` and `hostname`.
///
/// For rootless, like runc's `specconv.ToRootless`: the network namespace is
/// dropped and a user namespace added, the current effective uid/gid is mapped
/// to 0 in the container (size 1), `linux.resources` is removed, `/sys` becomes
/// a read-only recursive bind of the host's `/sys` (sysfs can't be mounted
/// without a network namespace), and devpts loses its `gid=5` option.
pub fn default_spec(rootless: bool) -> Value {
    let caps = json!(DEFAULT_CAPS);

    let mut devpts_options = vec![
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
    ];
    if !rootless {
        devpts_options.push("gid=5");
    }

    let sys_mount = if rootless {
        json!({
            "destination": "/sys",
            "type": "none",
            "source": "/sys",
            "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]
        })
    } else {
        json!({
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"]
        })
    };

    let mounts = json!([
        {
            "destination": "/proc",
            "type": "proc",
            "source": "proc"
        },
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": devpts_options
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"]
        },
        sys_mount,
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
        }
    ]);

    let namespaces: Vec<Value> = if rootless {
        ["pid", "ipc", "uts", "mount", "user"]
    } else {
        ["pid", "network", "ipc", "uts", "mount"]
    }
    .iter()
    .map(|t| json!({ "type": t }))
    .collect();

    let mut linux = json!({
        "namespaces": namespaces,
        "maskedPaths": [
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi"
        ],
        "readonlyPaths": [
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger"
        ]
    });
    if rootless {
        // SAFETY: geteuid/getegid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        linux["uidMappings"] = json!([{ "containerID": 0, "hostID": uid, "size": 1 }]);
        linux["gidMappings"] = json!([{ "containerID": 0, "hostID": gid, "size": 1 }]);
    } else {
        linux["resources"] = json!({
            "devices": [{ "allow": false, "access": "rwm" }]
        });
    }

    json!({
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": true,
            "user": { "uid": 0, "gid": 0 },
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                "permitted": caps,
                "ambient": caps
            },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": DEFAULT_HOSTNAME,
        "mounts": mounts,
        "linux": linux
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &Value) -> Vec<&str> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|s| s.as_str().expect("string"))
            .collect()
    }

    fn namespace_types(spec: &Value) -> Vec<&str> {
        spec["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect()
    }

    fn mount<'a>(spec: &'a Value, dest: &str) -> &'a Value {
        spec["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == dest)
            .unwrap_or_else(|| panic!("no mount at {dest}"))
    }

    #[test]
    fn key_fields() {
        let s = default_spec(false);
        assert_eq!(s["ociVersion"], "1.3.0");
        assert_eq!(s["hostname"], "ocirun");
        assert_eq!(s["root"], json!({ "path": "rootfs", "readonly": true }));

        let p = &s["process"];
        assert_eq!(p["terminal"], true);
        assert_eq!(p["args"], json!(["sh"]));
        assert_eq!(p["cwd"], "/");
        assert_eq!(p["user"], json!({ "uid": 0, "gid": 0 }));
        assert_eq!(p["noNewPrivileges"], true);
        assert_eq!(
            strs(&p["env"]),
            [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ]
        );
        for set in ["bounding", "effective", "permitted", "ambient"] {
            assert_eq!(
                strs(&p["capabilities"][set]),
                ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "capability set {set}"
            );
        }
        assert!(p["capabilities"].get("inheritable").is_none());
        assert_eq!(
            p["rlimits"],
            json!([{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }])
        );

        let dests: Vec<&str> = s["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys",
                "/sys/fs/cgroup"
            ]
        );
        assert_eq!(mount(&s, "/sys")["type"], "sysfs");
        assert!(strs(&mount(&s, "/dev/pts")["options"]).contains(&"gid=5"));

        assert_eq!(
            namespace_types(&s),
            ["pid", "network", "ipc", "uts", "mount"]
        );
        assert_eq!(s["linux"]["maskedPaths"].as_array().unwrap().len(), 10);
        assert_eq!(
            strs(&s["linux"]["readonlyPaths"]),
            [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger"
            ]
        );
        assert_eq!(
            s["linux"]["resources"],
            json!({ "devices": [{ "allow": false, "access": "rwm" }] })
        );
        assert!(s["linux"].get("uidMappings").is_none());
    }

    #[test]
    fn rootless_key_fields() {
        let s = default_spec(true);
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        assert_eq!(
            s["linux"]["uidMappings"],
            json!([{ "containerID": 0, "hostID": uid, "size": 1 }])
        );
        assert_eq!(
            s["linux"]["gidMappings"],
            json!([{ "containerID": 0, "hostID": gid, "size": 1 }])
        );
        assert_eq!(namespace_types(&s), ["pid", "ipc", "uts", "mount", "user"]);
        assert!(s["linux"].get("resources").is_none());
        assert_eq!(
            mount(&s, "/sys"),
            &json!({
                "destination": "/sys",
                "type": "none",
                "source": "/sys",
                "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]
            })
        );
        assert!(!strs(&mount(&s, "/dev/pts")["options"]).contains(&"gid=5"));
        // Everything outside mounts/linux is the same as the rootful template.
        let full = default_spec(false);
        for key in ["ociVersion", "process", "root", "hostname"] {
            assert_eq!(s[key], full[key], "{key}");
        }
    }

    /// Full comparison with the real thing, when runc 1.1.5 is installed (other
    /// runc versions write other defaults, so they are not compared).
    #[test]
    fn matches_runc_1_1_5_output() {
        let version = match std::process::Command::new("runc").arg("--version").output() {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(_) => return,
        };
        if !version.starts_with("runc version 1.1.5") {
            return;
        }
        for rootless in [false, true] {
            let dir = std::env::temp_dir().join(format!(
                "ocirun-spec-template-{}-{rootless}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let mut cmd = std::process::Command::new("runc");
            cmd.arg("spec").arg("--bundle").arg(&dir);
            if rootless {
                cmd.arg("--rootless");
            }
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "runc spec failed: {out:?}");
            let text = std::fs::read_to_string(dir.join("config.json")).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            let mut theirs: Value = serde_json::from_str(&text).unwrap();
            theirs["ociVersion"] = json!(OCI_VERSION);
            theirs["hostname"] = json!(DEFAULT_HOSTNAME);
            assert_eq!(
                default_spec(rootless),
                theirs,
                "rootless={rootless}: differs from `runc spec`"
            );
        }
    }
}
