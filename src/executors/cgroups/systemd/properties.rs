//! The properties of the container's transient unit: the fixed ones (slice, delegation,
//! the init's pid, accounting) and `linux.resources` translated as runc does for
//! cgroup v2. What systemd has no property for here (devices, io.max, hugetlb, rdma,
//! unified, cpu.idle/burst) is left to the cgroupfs writers, which run on the delegated
//! cgroup afterwards, as runc's systemd driver does.

use super::super::{blkio::blkio_to_io_weight, cpu::shares_to_weight, memory::v2_swap};
use super::unit_name::SystemdCgroup;
use super::wire::Value;
use crate::bail;
use crate::error::Result;
use oci_spec::runtime::LinuxResources;

/// A unit property: its name and its value (sent in a variant).
pub type Property = (String, Value);

/// systemd's "infinity" for limits and its USEC_INFINITY.
pub const INFINITY: u64 = u64::MAX;

/// The CFS period the kernel uses when the config gives a quota without one.
const DEFAULT_CPU_PERIOD_USEC: u64 = 100_000;

/// The cpuset lists are bounded by the kernel's NR_CPUS and MAX_NUMNODES, far below
/// this; the cap keeps a typo ("0-4000000000") from allocating a huge mask.
const MAX_CPUSET_INDEX: u32 = 1 << 16;

fn property(name: &str, value: Value) -> Property {
    (name.to_string(), value)
}

/// The properties every unit of ours has. A scope goes in its slice (`Slice=`) with the
/// cgroup delegated to us; a slice unit is placed by its name and only `Wants=` its
/// parent, as runc does. `init_pid` is moved into the unit when it starts.
pub fn unit_properties(
    cgroup: &SystemdCgroup,
    container_id: &str,
    init_pid: Option<u32>,
) -> Vec<Property> {
    let mut properties = vec![property(
        "Description",
        Value::Str(format!("ocirun container {container_id}")),
    )];
    if cgroup.is_slice() {
        properties.push(property("Wants", Value::Str(cgroup.slice.clone())));
    } else {
        properties.push(property("Slice", Value::Str(cgroup.slice.clone())));
        properties.push(property("Delegate", Value::Bool(true)));
    }
    if let Some(pid) = init_pid {
        properties.push(property(
            "PIDs",
            Value::Array("u".to_string(), vec![Value::U32(pid)]),
        ));
    }
    // Accounting everywhere, so every controller's files exist in the cgroup as with the
    // cgroupfs driver; no default dependencies, so stopping the unit is not ordered
    // after the rest of the system's shutdown.
    for accounting in [
        "MemoryAccounting",
        "CPUAccounting",
        "IOAccounting",
        "TasksAccounting",
    ] {
        properties.push(property(accounting, Value::Bool(true)));
    }
    properties.push(property("DefaultDependencies", Value::Bool(false)));
    properties
}

/// A byte count or count limit: negative is infinity (as the v2 writers write `max`).
fn limit(value: i64) -> Value {
    Value::U64(u64::try_from(value).unwrap_or(INFINITY))
}

/// `linux.resources` as unit properties (runc's cgroup v2 translation). Unset and zero
/// fields give no property.
pub fn resource_properties(resources: &LinuxResources) -> Result<Vec<Property>> {
    let mut properties = Vec::new();
    if let Some(memory) = resources.memory() {
        if let Some(max) = memory.limit().filter(|l| *l != 0) {
            properties.push(property("MemoryMax", limit(max)));
        }
        if let Some(low) = memory.reservation().filter(|r| *r != 0) {
            properties.push(property("MemoryLow", limit(low)));
        }
        // memory.swap is memory+swap; systemd's MemorySwapMax is swap alone.
        if let Some(swap) = v2_swap(memory.limit(), memory.swap())? {
            properties.push(property("MemorySwapMax", limit(swap)));
        }
    }
    if let Some(cpu) = resources.cpu() {
        if let Some(shares) = cpu.shares().filter(|s| *s != 0) {
            properties.push(property("CPUWeight", Value::U64(shares_to_weight(shares))));
        }
        properties.extend(cpu_quota_properties(
            cpu.quota().unwrap_or(0),
            cpu.period().unwrap_or(0),
        ));
        for (field, name, list) in [
            ("cpus", "AllowedCPUs", cpu.cpus()),
            ("mems", "AllowedMemoryNodes", cpu.mems()),
        ] {
            if let Some(list) = list.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
                let mask = cpuset_mask(list)
                    .map_err(|e| e.wrap(format!("linux.resources.cpu.{field}")))?;
                properties.push(property(name, Value::Bytes(mask)));
            }
        }
    }
    if let Some(pids) = resources.pids() {
        // As the cgroupfs writer and runc: 0 is "not set", negative is no limit.
        if pids.limit() != 0 {
            properties.push(property("TasksMax", limit(pids.limit())));
        }
    }
    if let Some(weight) = resources
        .block_io()
        .as_ref()
        .and_then(|b| b.weight())
        .filter(|w| *w != 0)
    {
        properties.push(property("IOWeight", Value::U64(blkio_to_io_weight(weight))));
    }
    Ok(properties)
}

/// `CPUQuotaPeriodUSec` and `CPUQuotaPerSecUSec` from the CFS quota and period (0: not
/// set), as runc computes them. systemd keeps the quota as a whole percentage of one CPU,
/// so the per-second quota is rounded up to a multiple of 10 ms, never below what the
/// config asked for. A period without a positive quota means no quota (runc's choice).
pub fn cpu_quota_properties(quota: i64, period: u64) -> Vec<Property> {
    let mut properties = Vec::new();
    if period != 0 {
        properties.push(property("CPUQuotaPeriodUSec", Value::U64(period)));
    }
    if quota == 0 && period == 0 {
        return properties;
    }
    let per_second = match u64::try_from(quota) {
        Ok(quota) if quota > 0 => {
            let period = if period == 0 {
                DEFAULT_CPU_PERIOD_USEC
            } else {
                period
            };
            let exact = u128::from(quota) * 1_000_000 / u128::from(period);
            let rounded = exact.div_ceil(10_000) * 10_000;
            u64::try_from(rounded).unwrap_or(INFINITY)
        }
        _ => INFINITY,
    };
    properties.push(property("CPUQuotaPerSecUSec", Value::U64(per_second)));
    properties
}

/// A cpuset list (`0-2,4`) as systemd's bitmask: byte `i` holds CPUs `8i..8i+7`, lowest
/// in the lowest bit.
pub fn cpuset_mask(list: &str) -> Result<Vec<u8>> {
    let mut mask = Vec::new();
    for item in list.split(',').map(str::trim) {
        let (first, last) = item.split_once('-').unwrap_or((item, item));
        let parse = |n: &str| {
            n.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n < MAX_CPUSET_INDEX)
        };
        let (Some(first), Some(last)) = (parse(first), parse(last)) else {
            bail!(
                "{list:?}: {item:?} is not a number or a range like 0-3 (below {MAX_CPUSET_INDEX})"
            );
        };
        if first > last {
            bail!("{list:?}: the range {item:?} runs backwards");
        }
        for index in first..=last {
            let byte = (index / 8) as usize;
            if mask.len() <= byte {
                mask.resize(byte + 1, 0);
            }
            mask[byte] |= 1 << (index % 8);
        }
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder,
        LinuxResourcesBuilder,
    };

    fn named<'a>(properties: &'a [Property], name: &str) -> Option<&'a Value> {
        properties.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn names(properties: &[Property]) -> Vec<&str> {
        properties.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn a_scope_has_its_slice_delegation_pid_and_accounting() {
        let cgroup = SystemdCgroup::parse("machine.slice:p:c1", "c1").unwrap();
        let properties = unit_properties(&cgroup, "c1", Some(4242));
        assert_eq!(
            names(&properties),
            [
                "Description",
                "Slice",
                "Delegate",
                "PIDs",
                "MemoryAccounting",
                "CPUAccounting",
                "IOAccounting",
                "TasksAccounting",
                "DefaultDependencies"
            ]
        );
        assert_eq!(
            named(&properties, "Description"),
            Some(&Value::Str("ocirun container c1".into()))
        );
        assert_eq!(
            named(&properties, "Slice"),
            Some(&Value::Str("machine.slice".into()))
        );
        assert_eq!(named(&properties, "Delegate"), Some(&Value::Bool(true)));
        let pids = named(&properties, "PIDs").unwrap();
        assert_eq!(pids.signature(), "au");
        assert_eq!(pids, &Value::Array("u".into(), vec![Value::U32(4242)]));
        assert_eq!(
            named(&properties, "DefaultDependencies"),
            Some(&Value::Bool(false))
        );
    }

    #[test]
    fn a_slice_wants_its_parent_and_has_no_pid_when_none_is_given() {
        let cgroup = SystemdCgroup::parse("system.slice:p:my.slice", "c1").unwrap();
        let properties = unit_properties(&cgroup, "c1", None);
        assert_eq!(
            named(&properties, "Wants"),
            Some(&Value::Str("system.slice".into()))
        );
        assert_eq!(named(&properties, "Slice"), None);
        assert_eq!(named(&properties, "Delegate"), None);
        assert_eq!(named(&properties, "PIDs"), None);
    }

    #[test]
    fn memory_limits_and_swap() {
        let resources = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(64 << 20)
                    .reservation(32 << 20)
                    .swap(96 << 20)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let properties = resource_properties(&resources).unwrap();
        assert_eq!(named(&properties, "MemoryMax"), Some(&Value::U64(64 << 20)));
        assert_eq!(named(&properties, "MemoryLow"), Some(&Value::U64(32 << 20)));
        // memory+swap 96M with memory 64M: 32M of swap.
        assert_eq!(
            named(&properties, "MemorySwapMax"),
            Some(&Value::U64(32 << 20))
        );
    }

    #[test]
    fn unlimited_memory_is_infinity_for_memory_and_swap() {
        let resources = LinuxResourcesBuilder::default()
            .memory(LinuxMemoryBuilder::default().limit(-1).build().unwrap())
            .build()
            .unwrap();
        let properties = resource_properties(&resources).unwrap();
        assert_eq!(named(&properties, "MemoryMax"), Some(&Value::U64(u64::MAX)));
        assert_eq!(
            named(&properties, "MemorySwapMax"),
            Some(&Value::U64(u64::MAX))
        );
        assert_eq!(named(&properties, "MemoryLow"), None);
    }

    #[test]
    fn swap_below_the_limit_is_the_memory_writers_error() {
        let resources = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(64 << 20)
                    .swap(32 << 20)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let error = resource_properties(&resources).unwrap_err().to_string();
        assert!(error.contains("linux.resources.memory.swap"), "{error}");
    }

    #[test]
    fn cpu_weight_quota_and_sets() {
        let resources = LinuxResourcesBuilder::default()
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(1024u64)
                    .quota(50_000i64)
                    .period(100_000u64)
                    .cpus("0-2,4")
                    .mems("1")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let properties = resource_properties(&resources).unwrap();
        // runc's formula: 1 + (1024 - 2) * 9999 / 262142 = 39.
        assert_eq!(named(&properties, "CPUWeight"), Some(&Value::U64(39)));
        assert_eq!(
            named(&properties, "CPUQuotaPerSecUSec"),
            Some(&Value::U64(500_000))
        );
        assert_eq!(
            named(&properties, "CPUQuotaPeriodUSec"),
            Some(&Value::U64(100_000))
        );
        assert_eq!(
            named(&properties, "AllowedCPUs"),
            Some(&Value::Bytes(vec![0b0001_0111]))
        );
        assert_eq!(
            named(&properties, "AllowedMemoryNodes"),
            Some(&Value::Bytes(vec![0b10]))
        );
        assert_eq!(named(&properties, "AllowedCPUs").unwrap().signature(), "ay");
    }

    #[test]
    fn cpu_quota_rounds_up_to_whole_percents() {
        let per_second = |quota, period| {
            cpu_quota_properties(quota, period)
                .into_iter()
                .find(|(n, _)| n == "CPUQuotaPerSecUSec")
                .map(|(_, v)| v)
        };
        // 12345/100000 of a CPU = 123450 us per second, rounded up to 130000.
        assert_eq!(per_second(12_345, 100_000), Some(Value::U64(130_000)));
        // Already a multiple of 10 ms: unchanged.
        assert_eq!(per_second(20_000, 100_000), Some(Value::U64(200_000)));
        // No period: the kernel's 100 ms.
        assert_eq!(per_second(25_000, 0), Some(Value::U64(250_000)));
        // Two CPUs' worth over a 50 ms period.
        assert_eq!(per_second(100_000, 50_000), Some(Value::U64(2_000_000)));
        // Unlimited quota, or a period alone: infinity.
        assert_eq!(per_second(-1, 0), Some(Value::U64(u64::MAX)));
        assert_eq!(per_second(0, 50_000), Some(Value::U64(u64::MAX)));
        assert!(cpu_quota_properties(0, 0).is_empty());
        assert_eq!(
            cpu_quota_properties(-1, 0)
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["CPUQuotaPerSecUSec"]
        );
        // An absurd quota saturates rather than overflowing.
        assert_eq!(per_second(i64::MAX, 1), Some(Value::U64(u64::MAX)));
    }

    #[test]
    fn cpuset_masks() {
        assert_eq!(cpuset_mask("0").unwrap(), [0x01]);
        assert_eq!(cpuset_mask("0-7").unwrap(), [0xff]);
        assert_eq!(cpuset_mask("8").unwrap(), [0x00, 0x01]);
        assert_eq!(cpuset_mask("1,3, 9-10").unwrap(), [0b1010, 0b110]);
        for bad in ["a", "1-", "3-1", "1,,2", "99999999"] {
            let error = cpuset_mask(bad).unwrap_err().to_string();
            assert!(error.contains(&format!("{bad:?}")), "{bad}: {error}");
        }
    }

    #[test]
    fn a_bad_cpuset_names_its_field() {
        let resources = LinuxResourcesBuilder::default()
            .cpu(LinuxCpuBuilder::default().mems("0-x").build().unwrap())
            .build()
            .unwrap();
        let error = resource_properties(&resources).unwrap_err().to_string();
        assert!(error.starts_with("linux.resources.cpu.mems: "), "{error}");
    }

    #[test]
    fn pids_and_io_weight() {
        let with_pids = |limit| {
            let resources = LinuxResourcesBuilder::default()
                .pids(LinuxPidsBuilder::default().limit(limit).build().unwrap())
                .build()
                .unwrap();
            named(&resource_properties(&resources).unwrap(), "TasksMax").cloned()
        };
        assert_eq!(with_pids(100), Some(Value::U64(100)));
        assert_eq!(with_pids(-1), Some(Value::U64(u64::MAX)));
        assert_eq!(with_pids(0), None);

        let resources = LinuxResourcesBuilder::default()
            .block_io(
                LinuxBlockIoBuilder::default()
                    .weight(500u16)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        // 1 + (500 - 10) * 9999 / 990 = 4950.
        assert_eq!(
            named(&resource_properties(&resources).unwrap(), "IOWeight"),
            Some(&Value::U64(4950))
        );
    }

    #[test]
    fn nothing_set_gives_nothing() {
        let resources = LinuxResourcesBuilder::default().build().unwrap();
        assert!(resource_properties(&resources).unwrap().is_empty());
        let zeros = LinuxResourcesBuilder::default()
            .memory(LinuxMemoryBuilder::default().limit(0).build().unwrap())
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(0u64)
                    .cpus("")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert!(resource_properties(&zeros).unwrap().is_empty());
    }
}
