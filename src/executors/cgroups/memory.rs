//! `linux.resources.memory`: v1 `memory.*` files, v2 `memory.max`, `memory.low`,
//! `memory.swap.max`.
//!
//! Swap follows runc: the spec's `swap` is memory+swap. On v1 that is exactly
//! `memory.memsw.limit_in_bytes`; on v2 `memory.swap.max` holds swap alone, so it gets
//! `swap - limit`.

use super::resources::{has, missing_controller, read, v2_limit, write, Stage, Target};
use crate::bail;
use crate::error::{Error, Result};
use oci_spec::runtime::LinuxMemory;
use std::path::Path;

const FIELD: &str = "linux.resources.memory";

pub fn apply(target: Option<Target>, memory: &LinuxMemory, stage: Stage) -> Result<()> {
    if memory.kernel().is_some() {
        // runc ignores it too: the kernel deprecated kmem limits (gone in 6.x on v1).
        tracing::warn!("{FIELD}.kernel: kernel memory limits are deprecated and ignored");
    }
    let Some(first) = first_set(memory) else {
        return Ok(());
    };
    match target {
        None => Err(missing_controller(&format!("{FIELD}.{first}"), "memory")),
        Some(Target::V1(dir)) => write_v1(&dir, memory, stage.is_update()),
        Some(Target::V2(dir)) => write_v2(&dir, memory, stage.is_update()),
    }
}

/// The first field that asks for a write (for the missing-controller message).
fn first_set(memory: &LinuxMemory) -> Option<&'static str> {
    [
        ("limit", memory.limit().is_some()),
        ("reservation", memory.reservation().is_some()),
        ("swap", memory.swap().is_some()),
        ("kernelTCP", memory.kernel_tcp().is_some()),
        ("swappiness", memory.swappiness().is_some()),
        ("disableOOMKiller", memory.disable_oom_killer().is_some()),
        ("useHierarchy", memory.use_hierarchy().is_some()),
    ]
    .into_iter()
    .find_map(|(name, set)| set.then_some(name))
}

/// runc treats 0 as "not set" for limit and swap.
fn nonzero(value: Option<i64>) -> Option<i64> {
    value.filter(|v| *v != 0)
}

/// With `checkBeforeUpdate`, refuse a limit below what the cgroup already uses.
fn check_usage(dir: &Path, usage_file: &str, memory: &LinuxMemory, update: bool) -> Result<()> {
    let (Some(limit), true, Some(true)) = (
        nonzero(memory.limit()),
        update,
        memory.check_before_update(),
    ) else {
        return Ok(());
    };
    let usage: i64 = read(dir, usage_file)?.parse().unwrap_or(0);
    if limit > 0 && limit < usage {
        bail!("{FIELD}.limit: {limit} is below the container's current usage of {usage} bytes (checkBeforeUpdate)");
    }
    Ok(())
}

fn write_v1(dir: &Path, memory: &LinuxMemory, update: bool) -> Result<()> {
    check_usage(dir, "memory.usage_in_bytes", memory, update)?;
    if let Some(swappiness) = memory.swappiness() {
        if swappiness > 100 {
            bail!("{FIELD}.swappiness: {swappiness} is out of range (0 to 100)");
        }
        write(
            dir,
            "memory.swappiness",
            &swappiness.to_string(),
            &format!("{FIELD}.swappiness"),
        )?;
    }
    write_v1_limit_and_swap(dir, nonzero(memory.limit()), nonzero(memory.swap()))?;
    if let Some(reservation) = memory.reservation() {
        write(
            dir,
            "memory.soft_limit_in_bytes",
            &reservation.to_string(),
            &format!("{FIELD}.reservation"),
        )?;
    }
    if let Some(tcp) = memory.kernel_tcp() {
        write(
            dir,
            "memory.kmem.tcp.limit_in_bytes",
            &tcp.to_string(),
            &format!("{FIELD}.kernelTCP"),
        )?;
    }
    if let Some(disable) = memory.disable_oom_killer() {
        let value = if disable { "1" } else { "0" };
        write(
            dir,
            "memory.oom_control",
            value,
            &format!("{FIELD}.disableOOMKiller"),
        )?;
    }
    if let Some(hierarchical) = memory.use_hierarchy() {
        let value = if hierarchical { "1" } else { "0" };
        write(
            dir,
            "memory.use_hierarchy",
            value,
            &format!("{FIELD}.useHierarchy"),
        )?;
    }
    Ok(())
}

/// The kernel keeps `memory.limit_in_bytes <= memory.memsw.limit_in_bytes` at every
/// moment, so the order of the two writes depends on whether the limits grow or shrink.
fn write_v1_limit_and_swap(dir: &Path, limit: Option<i64>, swap: Option<i64>) -> Result<()> {
    let limit_field = format!("{FIELD}.limit");
    let swap_field = format!("{FIELD}.swap");
    // Unlimited memory with no word on swap means both unlimited (else memsw, still
    // lower, would refuse the new memory limit).
    let (swap, swap_implied) = match (limit, swap) {
        (Some(-1), None) => (Some(-1), true),
        _ => (swap, false),
    };
    if swap_implied && !has(dir, "memory.memsw.limit_in_bytes") {
        return write(dir, "memory.limit_in_bytes", "-1", &limit_field);
    }
    if swap.is_some() && !has(dir, "memory.memsw.limit_in_bytes") {
        bail!("{swap_field}: this host does not account swap (no memory.memsw.limit_in_bytes; boot with swapaccount=1)");
    }
    match (limit, swap) {
        (Some(limit), Some(swap)) => {
            if swap != -1 && limit != -1 && swap < limit {
                bail!("{swap_field}: memory+swap ({swap}) must be at least the memory limit ({limit})");
            }
            let current: i128 = read(dir, "memory.limit_in_bytes")?
                .parse()
                .unwrap_or(i128::MAX);
            let swap_first = swap == -1 || current < i128::from(swap);
            if swap_first {
                write(
                    dir,
                    "memory.memsw.limit_in_bytes",
                    &swap.to_string(),
                    &swap_field,
                )?;
                write(
                    dir,
                    "memory.limit_in_bytes",
                    &limit.to_string(),
                    &limit_field,
                )
            } else {
                write(
                    dir,
                    "memory.limit_in_bytes",
                    &limit.to_string(),
                    &limit_field,
                )?;
                write(
                    dir,
                    "memory.memsw.limit_in_bytes",
                    &swap.to_string(),
                    &swap_field,
                )
            }
        }
        (Some(limit), None) => write(
            dir,
            "memory.limit_in_bytes",
            &limit.to_string(),
            &limit_field,
        ),
        (None, Some(swap)) => write(
            dir,
            "memory.memsw.limit_in_bytes",
            &swap.to_string(),
            &swap_field,
        ),
        (None, None) => Ok(()),
    }
}

/// `memory.swap.max` from the spec's memory+swap, as runc converts it. `None`: leave it.
pub fn v2_swap(limit: Option<i64>, swap: Option<i64>) -> Result<Option<i64>> {
    match (nonzero(limit), nonzero(swap)) {
        // Unlimited memory and nothing said of swap: unlimited swap as well (v1 parity).
        (Some(-1), None) => Ok(Some(-1)),
        (_, None) => Ok(None),
        (_, Some(-1)) => Ok(Some(-1)),
        (None | Some(-1), Some(_)) => Err(Error::new(format!(
            "{FIELD}.swap: a swap limit needs a memory limit (swap is memory+swap)"
        ))),
        (Some(limit), Some(swap)) if swap < limit => Err(Error::new(format!(
            "{FIELD}.swap: memory+swap ({swap}) must be at least the memory limit ({limit})"
        ))),
        (Some(limit), Some(swap)) => Ok(Some(swap - limit)),
    }
}

fn write_v2(dir: &Path, memory: &LinuxMemory, update: bool) -> Result<()> {
    check_usage(dir, "memory.current", memory, update)?;
    if memory.swappiness().is_some() {
        bail!("{FIELD}.swappiness: cgroup v2 has no per-cgroup swappiness");
    }
    if memory.kernel_tcp().is_some() {
        bail!("{FIELD}.kernelTCP: cgroup v2 has no separate TCP memory limit");
    }
    if memory.disable_oom_killer() == Some(true) {
        bail!("{FIELD}.disableOOMKiller: cgroup v2 cannot disable the OOM killer");
    }
    if memory.use_hierarchy() == Some(false) {
        bail!("{FIELD}.useHierarchy: cgroup v2 is always hierarchical");
    }
    let limit = nonzero(memory.limit());
    match v2_swap(limit, memory.swap())? {
        // A kernel without swap accounting has no swap.max; "unlimited" is then true anyway.
        Some(-1) if !has(dir, "memory.swap.max") => {}
        Some(swap) => write(
            dir,
            "memory.swap.max",
            &v2_limit(swap),
            &format!("{FIELD}.swap"),
        )?,
        None => {}
    }
    if let Some(limit) = limit {
        write(
            dir,
            "memory.max",
            &v2_limit(limit),
            &format!("{FIELD}.limit"),
        )?;
    }
    if let Some(reservation) = memory.reservation() {
        write(
            dir,
            "memory.low",
            &v2_limit(reservation),
            &format!("{FIELD}.reservation"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resources::testing::*;
    use super::*;
    use oci_spec::runtime::LinuxMemoryBuilder;

    const V1_FILES: &[&str] = &[
        "memory.limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "memory.soft_limit_in_bytes",
        "memory.swappiness",
        "memory.oom_control",
        "memory.usage_in_bytes",
    ];
    const V2_FILES: &[&str] = &[
        "memory.max",
        "memory.low",
        "memory.swap.max",
        "memory.current",
    ];

    fn create() -> Stage<'static> {
        Stage::Create { devices: &[] }
    }

    #[test]
    fn v1_limit_swap_reservation_and_oom() {
        let dir = fake_cgroup(V1_FILES);
        set(dir.path(), "memory.limit_in_bytes", "9223372036854771712");
        let memory = LinuxMemoryBuilder::default()
            .limit(64 << 20)
            .swap(128 << 20)
            .reservation(32 << 20)
            .swappiness(10u64)
            .disable_oom_killer(true)
            .build()
            .unwrap();
        apply(Some(Target::V1(dir.path().into())), &memory, create()).unwrap();
        assert_eq!(content(dir.path(), "memory.limit_in_bytes"), "67108864");
        assert_eq!(
            content(dir.path(), "memory.memsw.limit_in_bytes"),
            "134217728"
        );
        assert_eq!(
            content(dir.path(), "memory.soft_limit_in_bytes"),
            "33554432"
        );
        assert_eq!(content(dir.path(), "memory.swappiness"), "10");
        assert_eq!(content(dir.path(), "memory.oom_control"), "1");
    }

    #[test]
    fn v1_unlimited_memory_makes_swap_unlimited_too() {
        let dir = fake_cgroup(V1_FILES);
        let memory = LinuxMemoryBuilder::default().limit(-1).build().unwrap();
        apply(Some(Target::V1(dir.path().into())), &memory, create()).unwrap();
        assert_eq!(content(dir.path(), "memory.limit_in_bytes"), "-1");
        assert_eq!(content(dir.path(), "memory.memsw.limit_in_bytes"), "-1");
    }

    #[test]
    fn v2_files_and_swap_conversion() {
        let dir = fake_cgroup(V2_FILES);
        let memory = LinuxMemoryBuilder::default()
            .limit(64 << 20)
            .swap(96 << 20)
            .reservation(16 << 20)
            .build()
            .unwrap();
        apply(Some(Target::V2(dir.path().into())), &memory, create()).unwrap();
        assert_eq!(content(dir.path(), "memory.max"), "67108864");
        assert_eq!(content(dir.path(), "memory.swap.max"), "33554432");
        assert_eq!(content(dir.path(), "memory.low"), "16777216");
    }

    #[test]
    fn v2_swap_rules() {
        assert_eq!(v2_swap(Some(-1), None).unwrap(), Some(-1));
        assert_eq!(v2_swap(Some(100), None).unwrap(), None);
        assert_eq!(v2_swap(Some(100), Some(-1)).unwrap(), Some(-1));
        assert_eq!(v2_swap(Some(100), Some(150)).unwrap(), Some(50));
        assert_eq!(v2_swap(Some(100), Some(100)).unwrap(), Some(0));
        assert!(v2_swap(Some(100), Some(50)).is_err());
        assert!(v2_swap(None, Some(50)).is_err());
        assert_eq!(v2_swap(None, None).unwrap(), None);
    }

    #[test]
    fn v2_refuses_what_it_cannot_do() {
        let dir = fake_cgroup(V2_FILES);
        let memory = LinuxMemoryBuilder::default()
            .swappiness(5u64)
            .build()
            .unwrap();
        let error = apply(Some(Target::V2(dir.path().into())), &memory, create()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("linux.resources.memory.swappiness:"),
            "{error}"
        );
    }

    #[test]
    fn check_before_update_refuses_a_limit_below_usage() {
        let dir = fake_cgroup(V2_FILES);
        set(dir.path(), "memory.current", "1000000");
        let memory = LinuxMemoryBuilder::default()
            .limit(4096)
            .check_before_update(true)
            .build()
            .unwrap();
        let target = Target::V2(dir.path().into());
        assert!(apply(Some(target.clone()), &memory, Stage::Update).is_err());
        // At create there is no usage to compare with.
        apply(Some(target), &memory, create()).unwrap();
        assert_eq!(content(dir.path(), "memory.max"), "4096");
    }

    #[test]
    fn unset_touches_nothing_and_missing_controller_names_the_field() {
        apply(None, &LinuxMemory::default(), create()).unwrap();
        let memory = LinuxMemoryBuilder::default()
            .limit(1 << 20)
            .build()
            .unwrap();
        assert_eq!(
            apply(None, &memory, create()).unwrap_err().to_string(),
            "linux.resources.memory.limit: this host has no memory cgroup controller"
        );
    }
}
