//! `linux.resources.cpu` (all but cpus/mems, see cpuset.rs): v1 `cpu.shares`,
//! `cpu.cfs_*`, `cpu.rt_*`, `cpu.idle`; v2 `cpu.weight`, `cpu.max`, `cpu.max.burst`,
//! `cpu.idle`.

use super::resources::{missing_controller, read, write, Target};
use crate::bail;
use crate::error::Result;
use oci_spec::runtime::LinuxCpu;
use std::path::Path;

const FIELD: &str = "linux.resources.cpu";

pub fn apply(target: Option<Target>, cpu: &LinuxCpu) -> Result<()> {
    let Some(first) = first_set(cpu) else {
        return Ok(());
    };
    match target {
        None => Err(missing_controller(&format!("{FIELD}.{first}"), "cpu")),
        Some(Target::V1(dir)) => write_v1(&dir, cpu),
        Some(Target::V2(dir)) => write_v2(&dir, cpu),
    }
}

fn first_set(cpu: &LinuxCpu) -> Option<&'static str> {
    [
        ("shares", cpu.shares().is_some_and(|s| s != 0)),
        ("quota", cpu.quota().is_some_and(|q| q != 0)),
        ("period", cpu.period().is_some_and(|p| p != 0)),
        ("burst", cpu.burst().is_some()),
        (
            "realtimeRuntime",
            cpu.realtime_runtime().is_some_and(|r| r != 0),
        ),
        (
            "realtimePeriod",
            cpu.realtime_period().is_some_and(|p| p != 0),
        ),
        ("idle", cpu.idle().is_some()),
    ]
    .into_iter()
    .find_map(|(name, set)| set.then_some(name))
}

/// runc's mapping of v1 shares (2..262144, default 1024) onto v2 weight (1..10000,
/// default 100).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262142
}

fn write_v1(dir: &Path, cpu: &LinuxCpu) -> Result<()> {
    if let Some(shares) = cpu.shares().filter(|s| *s != 0) {
        let field = format!("{FIELD}.shares");
        write(dir, "cpu.shares", &shares.to_string(), &field)?;
        // The kernel clamps silently; say so instead of running with other shares.
        let actual = read(dir, "cpu.shares")?;
        if actual != shares.to_string() && !actual.is_empty() {
            bail!("{field}: the kernel set {actual} instead of {shares} (allowed: 2 to 262144)");
        }
    }
    let period = cpu.period().filter(|p| *p != 0);
    let quota = cpu.quota().filter(|q| *q != 0);
    if let Some(period) = period {
        let written = write(
            dir,
            "cpu.cfs_period_us",
            &period.to_string(),
            &format!("{FIELD}.period"),
        );
        // A shorter period can be refused while the old quota does not fit it: set the
        // quota first and try again, as the kernel then accepts both.
        if let (Err(error), Some(quota)) = (written, quota) {
            write(
                dir,
                "cpu.cfs_quota_us",
                &quota.to_string(),
                &format!("{FIELD}.quota"),
            )
            .map_err(|_| error)?;
            write(
                dir,
                "cpu.cfs_period_us",
                &period.to_string(),
                &format!("{FIELD}.period"),
            )?;
        }
    }
    if let Some(quota) = quota {
        write(
            dir,
            "cpu.cfs_quota_us",
            &quota.to_string(),
            &format!("{FIELD}.quota"),
        )?;
    }
    if let Some(burst) = cpu.burst() {
        write(
            dir,
            "cpu.cfs_burst_us",
            &burst.to_string(),
            &format!("{FIELD}.burst"),
        )?;
    }
    // The runtime can only fit inside the period: period first.
    if let Some(period) = cpu.realtime_period().filter(|p| *p != 0) {
        write(
            dir,
            "cpu.rt_period_us",
            &period.to_string(),
            &format!("{FIELD}.realtimePeriod"),
        )?;
    }
    if let Some(runtime) = cpu.realtime_runtime().filter(|r| *r != 0) {
        write(
            dir,
            "cpu.rt_runtime_us",
            &runtime.to_string(),
            &format!("{FIELD}.realtimeRuntime"),
        )?;
    }
    if let Some(idle) = cpu.idle() {
        write(dir, "cpu.idle", &idle.to_string(), &format!("{FIELD}.idle"))?;
    }
    Ok(())
}

/// `cpu.max`'s new content, or `None` to leave it. A period alone keeps the current
/// quota (`current` is the file's content), so an update of the period does not lift a
/// limit; a quota alone keeps the period (the kernel does when it is omitted).
pub fn cpu_max(quota: Option<i64>, period: Option<u64>, current: &str) -> Option<String> {
    let quota_text = |q: i64| {
        if q < 0 {
            "max".to_string()
        } else {
            q.to_string()
        }
    };
    match (quota, period) {
        (None, None) => None,
        (Some(quota), None) => Some(quota_text(quota)),
        (quota, Some(period)) => {
            let quota = match quota {
                Some(q) => quota_text(q),
                None => current
                    .split_whitespace()
                    .next()
                    .unwrap_or("max")
                    .to_string(),
            };
            Some(format!("{quota} {period}"))
        }
    }
}

fn write_v2(dir: &Path, cpu: &LinuxCpu) -> Result<()> {
    if cpu.realtime_runtime().is_some_and(|r| r != 0)
        || cpu.realtime_period().is_some_and(|p| p != 0)
    {
        bail!("{FIELD}.realtimeRuntime: cgroup v2 has no realtime CPU budget");
    }
    if let Some(shares) = cpu.shares().filter(|s| *s != 0) {
        write(
            dir,
            "cpu.weight",
            &shares_to_weight(shares).to_string(),
            &format!("{FIELD}.shares"),
        )?;
    }
    let quota = cpu.quota().filter(|q| *q != 0);
    let period = cpu.period().filter(|p| *p != 0);
    let current = if quota.is_none() && period.is_some() {
        read(dir, "cpu.max").unwrap_or_default()
    } else {
        String::new()
    };
    if let Some(value) = cpu_max(quota, period, &current) {
        write(dir, "cpu.max", &value, &format!("{FIELD}.quota"))?;
    }
    if let Some(burst) = cpu.burst() {
        write(
            dir,
            "cpu.max.burst",
            &burst.to_string(),
            &format!("{FIELD}.burst"),
        )?;
    }
    if let Some(idle) = cpu.idle() {
        write(dir, "cpu.idle", &idle.to_string(), &format!("{FIELD}.idle"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resources::testing::*;
    use super::*;
    use oci_spec::runtime::LinuxCpuBuilder;

    #[test]
    fn shares_map_to_weight_like_runc() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262144), 10000);
    }

    #[test]
    fn cpu_max_forms() {
        assert_eq!(cpu_max(None, None, ""), None);
        assert_eq!(cpu_max(Some(50000), None, "").as_deref(), Some("50000"));
        assert_eq!(
            cpu_max(Some(-1), Some(100000), "").as_deref(),
            Some("max 100000")
        );
        assert_eq!(
            cpu_max(Some(20000), Some(50000), "").as_deref(),
            Some("20000 50000")
        );
        assert_eq!(
            cpu_max(None, Some(200000), "30000 100000").as_deref(),
            Some("30000 200000")
        );
    }

    #[test]
    fn v1_files() {
        let dir = fake_cgroup(&[
            "cpu.shares",
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "cpu.cfs_burst_us",
            "cpu.rt_period_us",
            "cpu.rt_runtime_us",
            "cpu.idle",
        ]);
        let cpu = LinuxCpuBuilder::default()
            .shares(512u64)
            .quota(50000)
            .period(100000u64)
            .burst(1000u64)
            .realtime_period(1000000u64)
            .realtime_runtime(950000)
            .idle(0)
            .build()
            .unwrap();
        apply(Some(Target::V1(dir.path().into())), &cpu).unwrap();
        for (file, value) in [
            ("cpu.shares", "512"),
            ("cpu.cfs_quota_us", "50000"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_burst_us", "1000"),
            ("cpu.rt_period_us", "1000000"),
            ("cpu.rt_runtime_us", "950000"),
            ("cpu.idle", "0"),
        ] {
            assert_eq!(content(dir.path(), file), value, "{file}");
        }
    }

    #[test]
    fn v2_files() {
        let dir = fake_cgroup(&["cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle"]);
        let cpu = LinuxCpuBuilder::default()
            .shares(1024u64)
            .quota(25000)
            .period(50000u64)
            .burst(500u64)
            .idle(1)
            .build()
            .unwrap();
        apply(Some(Target::V2(dir.path().into())), &cpu).unwrap();
        assert_eq!(content(dir.path(), "cpu.weight"), "39");
        assert_eq!(content(dir.path(), "cpu.max"), "25000 50000");
        assert_eq!(content(dir.path(), "cpu.max.burst"), "500");
        assert_eq!(content(dir.path(), "cpu.idle"), "1");
    }

    #[test]
    fn v2_has_no_realtime_and_a_missing_controller_is_named() {
        let dir = fake_cgroup(&["cpu.max"]);
        let cpu = LinuxCpuBuilder::default()
            .realtime_runtime(1000)
            .build()
            .unwrap();
        let error = apply(Some(Target::V2(dir.path().into())), &cpu).unwrap_err();
        assert!(error.to_string().contains("realtime"), "{error}");
        let cpu = LinuxCpuBuilder::default().quota(1000).build().unwrap();
        assert_eq!(
            apply(None, &cpu).unwrap_err().to_string(),
            "linux.resources.cpu.quota: this host has no cpu cgroup controller"
        );
        apply(None, &LinuxCpu::default()).unwrap();
    }
}
