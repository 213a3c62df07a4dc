//! `linux.resources.devices`: v1 `devices.allow` / `devices.deny`.
//!
//! On a host without the v1 devices controller (pure cgroup v2), rules need a BPF
//! program attached to the cgroup, which ocirun does not have yet. Every config carries
//! rules (runc's default spec denies everything, engines add an allow-list), so refusing
//! all of them would refuse every container. The line drawn: a list that denies
//! everything and then allows devices (the shape every engine sends) is accepted with a
//! warning, because without the program it only allows more than asked, and the
//! container's /dev still holds only the configured nodes; any rule that denies a
//! specific device (which only the program can enforce) is an error.

use crate::bail;
use crate::error::Result;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};
use std::path::{Path, PathBuf};

use super::resources::write;

const FIELD: &str = "linux.resources.devices";

/// The devices the runtime always creates in /dev (see executors/devices.rs) plus the
/// terminal ones, allowed after the config's rules as runc does, so a deny-all config
/// still has a working /dev/null.
const ALWAYS_ALLOWED: &[&str] = &[
    "c 1:3 rwm",   // null
    "c 1:5 rwm",   // zero
    "c 1:7 rwm",   // full
    "c 1:8 rwm",   // random
    "c 1:9 rwm",   // urandom
    "c 5:0 rwm",   // tty
    "c 5:1 rwm",   // console
    "c 5:2 rwm",   // ptmx
    "c 136:* rwm", // pts
];

/// A rule as the v1 files take it: `type major:minor access`.
pub fn rule_line(rule: &LinuxDeviceCgroup) -> Result<String> {
    let kind = match rule.typ().unwrap_or(LinuxDeviceType::A) {
        LinuxDeviceType::A => 'a',
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C | LinuxDeviceType::U => 'c',
        LinuxDeviceType::P => bail!("{FIELD}: the devices controller has no rules for fifos"),
    };
    let number = |n: Option<i64>| {
        n.filter(|n| *n >= 0)
            .map_or("*".to_string(), |n| n.to_string())
    };
    let access = rule
        .access()
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or("rwm");
    Ok(format!(
        "{kind} {}:{} {access}",
        number(rule.major()),
        number(rule.minor())
    ))
}

fn device_line(device: &LinuxDevice) -> Option<String> {
    let kind = match device.typ() {
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C | LinuxDeviceType::U => 'c',
        _ => return None,
    };
    Some(format!("{kind} {}:{} rwm", device.major(), device.minor()))
}

/// `v1_dir`: the container's devices cgroup, when the host has the v1 controller.
/// `configured`: `linux.devices`, which are allowed after the rules.
pub fn apply(
    v1_dir: Option<PathBuf>,
    rules: &[LinuxDeviceCgroup],
    configured: &[LinuxDevice],
) -> Result<()> {
    if rules.is_empty() {
        return Ok(());
    }
    match v1_dir {
        Some(dir) => write_v1(&dir, rules, configured),
        None => accept_without_program(rules),
    }
}

fn write_v1(dir: &Path, rules: &[LinuxDeviceCgroup], configured: &[LinuxDevice]) -> Result<()> {
    for (i, rule) in rules.iter().enumerate() {
        let file = if rule.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        write(dir, file, &rule_line(rule)?, &format!("{FIELD}[{i}]"))?;
    }
    let extra = configured.iter().filter_map(device_line);
    for line in ALWAYS_ALLOWED.iter().map(|l| l.to_string()).chain(extra) {
        write(
            dir,
            "devices.allow",
            &line,
            &format!("{FIELD} (allowing {line})"),
        )?;
    }
    Ok(())
}

fn is_deny_all(rule: &LinuxDeviceCgroup) -> bool {
    !rule.allow()
        && matches!(rule.typ(), None | Some(LinuxDeviceType::A))
        && rule.major().is_none_or(|n| n < 0)
        && rule.minor().is_none_or(|n| n < 0)
}

/// See the module comment: deny-all followed by allows passes with a warning.
pub fn accept_without_program(rules: &[LinuxDeviceCgroup]) -> Result<()> {
    for (i, rule) in rules.iter().enumerate() {
        let leading_deny_all = i == 0 && is_deny_all(rule);
        if !rule.allow() && !leading_deny_all {
            bail!("{FIELD}[{i}]: device rules on cgroup v2 need the eBPF device program, which ocirun does not support yet");
        }
    }
    tracing::warn!("{FIELD}: not enforced on cgroup v2 yet (no eBPF device program); the container's /dev holds only its configured devices");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resources::testing::*;
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    fn deny_all() -> LinuxDeviceCgroup {
        LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .unwrap()
    }

    fn allow_char(major: i64, minor: i64) -> LinuxDeviceCgroup {
        LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(major)
            .minor(minor)
            .access("rw")
            .build()
            .unwrap()
    }

    #[test]
    fn rule_lines() {
        assert_eq!(rule_line(&deny_all()).unwrap(), "a *:* rwm");
        assert_eq!(rule_line(&allow_char(1, 3)).unwrap(), "c 1:3 rw");
    }

    #[test]
    fn v1_writes_rules_then_the_defaults() {
        let dir = fake_cgroup(&["devices.allow", "devices.deny"]);
        apply(Some(dir.path().into()), &[deny_all()], &[]).unwrap();
        assert_eq!(content(dir.path(), "devices.deny"), "a *:* rwm");
        // The fake keeps the last write: the last default.
        assert_eq!(content(dir.path(), "devices.allow"), "c 136:* rwm");
    }

    #[test]
    fn v2_accepts_the_usual_allow_list_and_refuses_specific_denies() {
        apply(None, &[deny_all(), allow_char(1, 3)], &[]).unwrap();
        apply(None, &[], &[]).unwrap();
        let specific_deny = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(3)
            .build()
            .unwrap();
        let error = apply(None, &[specific_deny], &[]).unwrap_err().to_string();
        assert!(
            error
                .starts_with("linux.resources.devices[0]: device rules on cgroup v2 need the eBPF"),
            "{error}"
        );
        assert!(apply(None, &[allow_char(1, 3), deny_all()], &[]).is_err());
    }
}
