//! `linux.resources.devices`: v1 `devices.allow` / `devices.deny`, or on a host without
//! the v1 devices controller (pure cgroup v2) the same rules as an eBPF program attached
//! to the container's cgroup (see device_program.rs). Either way the rules are followed
//! by the devices the runtime always creates and the configured `linux.devices`, as runc
//! does, so a deny-all config still has a working /dev/null.

use crate::bail;
use crate::error::Result;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};
use std::path::{Path, PathBuf};

use super::device_program::{self, DeviceRule};
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

/// `v1_dir`: the container's devices cgroup, when the host has the v1 controller;
/// otherwise `unified_dir` gets the eBPF program. `configured`: `linux.devices`, which
/// are allowed after the rules.
pub fn apply(
    v1_dir: Option<PathBuf>,
    unified_dir: Option<PathBuf>,
    rules: &[LinuxDeviceCgroup],
    configured: &[LinuxDevice],
) -> Result<()> {
    if rules.is_empty() {
        return Ok(());
    }
    match (v1_dir, unified_dir) {
        (Some(dir), _) => write_v1(&dir, rules, configured),
        (None, Some(dir)) => device_program::attach(&dir, &program_rules(rules, configured)?)
            .map_err(|e| e.wrap(FIELD)),
        (None, None) => {
            bail!("{FIELD}: this host has neither a v1 devices controller nor cgroup v2")
        }
    }
}

/// Every rule in the order the v1 files would get them.
fn program_rules(
    rules: &[LinuxDeviceCgroup],
    configured: &[LinuxDevice],
) -> Result<Vec<DeviceRule>> {
    let mut lines = Vec::new();
    for rule in rules {
        lines.push((rule.allow(), rule_line(rule)?));
    }
    lines.extend(ALWAYS_ALLOWED.iter().map(|l| (true, l.to_string())));
    lines.extend(configured.iter().filter_map(device_line).map(|l| (true, l)));
    lines
        .iter()
        .map(|(allow, line)| {
            DeviceRule::parse(*allow, line).ok_or_else(|| {
                crate::error::Error::new(format!("{FIELD}: cannot express {line:?}"))
            })
        })
        .collect()
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
        apply(Some(dir.path().into()), None, &[deny_all()], &[]).unwrap();
        assert_eq!(content(dir.path(), "devices.deny"), "a *:* rwm");
        // The fake keeps the last write: the last default.
        assert_eq!(content(dir.path(), "devices.allow"), "c 136:* rwm");
    }

    #[test]
    fn the_program_gets_the_rules_then_the_defaults_then_the_configured_devices() {
        let rules = program_rules(&[deny_all(), allow_char(10, 200)], &[]).unwrap();
        assert!(!rules[0].allow && rules[0].kind.is_none());
        assert_eq!((rules[1].major, rules[1].minor), (Some(10), Some(200)));
        assert_eq!(rules.len(), 2 + ALWAYS_ALLOWED.len());
    }
}
