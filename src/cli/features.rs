//! `ocirun features`: what this runtime implements, as the spec's Features structure
//! (features.md), for engines to read before they build a config. Fixed at build time,
//! as the spec asks, not probed on the host.

use crate::error::Result;
use crate::executors::{capabilities, mount_options};
use serde_json::json;

/// Show the features this runtime implements (JSON).
#[derive(clap::Args, Debug)]
pub struct Features {}

pub fn features() -> serde_json::Value {
    let capabilities: Vec<String> = capabilities::NAMES
        .iter()
        .map(|n| format!("CAP_{n}"))
        .collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::SPEC_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options::recognised(),
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": capabilities,
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": true},
            "seccomp": {
                "enabled": true,
                "actions": [
                    "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"
                ],
                "operators": [
                    "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                    "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"
                ],
                "archs": [
                    "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
                    "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
                    "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",
                    "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"
                ],
                "knownFlags": [
                    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
                ],
                "supportedFlags": [
                    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
                ]
            },
            "apparmor": {"enabled": true},
            "selinux": {"enabled": true},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}},
            "netDevices": {"enabled": false}
        },
        "annotations": {
            "org.opencontainers.ocirun.version": crate::cli::VERSION
        }
    })
}

impl Features {
    pub fn run(&self) -> Result<i32> {
        println!(
            "{}",
            serde_json::to_string_pretty(&features()).expect("features serialize")
        );
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_capability_and_option_is_one_we_accept() {
        let features = features();
        for cap in features["linux"]["capabilities"].as_array().unwrap() {
            let parsed: oci_spec::runtime::Capability =
                serde_json::from_value(cap.clone()).unwrap();
            assert!(capabilities::number(&parsed).is_ok(), "{cap}");
        }
        for option in features["mountOptions"].as_array().unwrap() {
            let option = option.as_str().unwrap();
            let parsed = mount_options::MountOptions::parse(&[option]);
            assert!(
                parsed.data.is_empty(),
                "{option} would be passed as filesystem data"
            );
        }
        assert_eq!(features["ociVersionMax"], crate::SPEC_VERSION);
    }
}
