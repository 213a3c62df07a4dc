//! `linux.resources.blockIO`: v1 `blkio.*` (falling back to the BFQ scheduler's
//! `blkio.bfq.weight*` where the kernel has no CFQ `blkio.weight`, as on this host), v2
//! `io.weight` / `io.bfq.weight` and `io.max`.

use super::resources::{has, missing_controller, write, Target};
use crate::bail;
use crate::error::Result;
use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};
use std::path::Path;

const FIELD: &str = "linux.resources.blockIO";

pub fn apply(target: Option<Target>, block_io: &LinuxBlockIo) -> Result<()> {
    let Some(first) = first_set(block_io) else {
        return Ok(());
    };
    match target {
        None => Err(missing_controller(&format!("{FIELD}.{first}"), "blkio/io")),
        Some(Target::V1(dir)) => write_v1(&dir, block_io),
        Some(Target::V2(dir)) => write_v2(&dir, block_io),
    }
}

fn nonempty<T>(list: &Option<Vec<T>>) -> bool {
    list.as_ref().is_some_and(|l| !l.is_empty())
}

fn first_set(b: &LinuxBlockIo) -> Option<&'static str> {
    [
        ("weight", b.weight().is_some_and(|w| w != 0)),
        ("leafWeight", b.leaf_weight().is_some_and(|w| w != 0)),
        ("weightDevice", nonempty(b.weight_device())),
        (
            "throttleReadBpsDevice",
            nonempty(b.throttle_read_bps_device()),
        ),
        (
            "throttleWriteBpsDevice",
            nonempty(b.throttle_write_bps_device()),
        ),
        (
            "throttleReadIOPSDevice",
            nonempty(b.throttle_read_iops_device()),
        ),
        (
            "throttleWriteIOPSDevice",
            nonempty(b.throttle_write_iops_device()),
        ),
    ]
    .into_iter()
    .find_map(|(name, set)| set.then_some(name))
}

/// The throttle lists with their v1 file, v2 `io.max` key and config name.
fn throttles(b: &LinuxBlockIo) -> [(&Option<Vec<LinuxThrottleDevice>>, &str, &str, &str); 4] {
    [
        (
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "rbps",
            "throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "wbps",
            "throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "riops",
            "throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "wiops",
            "throttleWriteIOPSDevice",
        ),
    ]
}

fn write_v1(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    // CFQ's files when the kernel has them, BFQ's otherwise (same 1..1000 scale).
    let (weight_file, weight_device_file) =
        if has(dir, "blkio.weight") || !has(dir, "blkio.bfq.weight") {
            ("blkio.weight", "blkio.weight_device")
        } else {
            ("blkio.bfq.weight", "blkio.bfq.weight_device")
        };
    if let Some(weight) = b.weight().filter(|w| *w != 0) {
        write(
            dir,
            weight_file,
            &weight.to_string(),
            &format!("{FIELD}.weight"),
        )?;
    }
    if let Some(leaf) = b.leaf_weight().filter(|w| *w != 0) {
        write(
            dir,
            "blkio.leaf_weight",
            &leaf.to_string(),
            &format!("{FIELD}.leafWeight"),
        )?;
    }
    for (i, device) in b.weight_device().iter().flatten().enumerate() {
        let field = format!("{FIELD}.weightDevice[{i}]");
        let node = format!("{}:{}", device.major(), device.minor());
        if let Some(weight) = device.weight() {
            write(
                dir,
                weight_device_file,
                &format!("{node} {weight}"),
                &format!("{field}.weight"),
            )?;
        }
        if let Some(leaf) = device.leaf_weight() {
            write(
                dir,
                "blkio.leaf_weight_device",
                &format!("{node} {leaf}"),
                &format!("{field}.leafWeight"),
            )?;
        }
    }
    for (list, file, _, name) in throttles(b) {
        for (i, device) in list.iter().flatten().enumerate() {
            let value = format!("{}:{} {}", device.major(), device.minor(), device.rate());
            write(dir, file, &value, &format!("{FIELD}.{name}[{i}]"))?;
        }
    }
    Ok(())
}

/// runc's mapping of a v1 blkio weight (10..1000) onto io.weight (1..10000).
pub fn blkio_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

fn write_v2(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    if b.leaf_weight().is_some_and(|w| w != 0)
        || b.weight_device()
            .iter()
            .flatten()
            .any(|d| d.leaf_weight().is_some())
    {
        bail!("{FIELD}.leafWeight: cgroup v2 has no leaf weights");
    }
    // BFQ keeps the v1 scale; the generic io.weight has its own.
    let bfq = has(dir, "io.bfq.weight");
    let weight_value = |w: u16| {
        if bfq {
            w.to_string()
        } else {
            blkio_to_io_weight(w).to_string()
        }
    };
    let weight_file = if bfq { "io.bfq.weight" } else { "io.weight" };
    if let Some(weight) = b.weight().filter(|w| *w != 0) {
        let value = if bfq {
            weight_value(weight)
        } else {
            format!("default {}", weight_value(weight))
        };
        write(dir, weight_file, &value, &format!("{FIELD}.weight"))?;
    }
    for (i, device) in b.weight_device().iter().flatten().enumerate() {
        if let Some(weight) = device.weight() {
            let value = format!(
                "{}:{} {}",
                device.major(),
                device.minor(),
                weight_value(weight)
            );
            write(
                dir,
                weight_file,
                &value,
                &format!("{FIELD}.weightDevice[{i}].weight"),
            )?;
        }
    }
    for (list, _, key, name) in throttles(b) {
        for (i, device) in list.iter().flatten().enumerate() {
            let value = format!(
                "{}:{} {key}={}",
                device.major(),
                device.minor(),
                device.rate()
            );
            write(dir, "io.max", &value, &format!("{FIELD}.{name}[{i}]"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resources::testing::*;
    use super::*;
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
    };

    fn throttle(rate: u64) -> LinuxThrottleDevice {
        LinuxThrottleDeviceBuilder::default()
            .major(8)
            .minor(0)
            .rate(rate)
            .build()
            .unwrap()
    }

    #[test]
    fn conversion_like_runc() {
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(blkio_to_io_weight(1000), 10000);
    }

    #[test]
    fn v1_uses_bfq_files_when_cfq_is_absent() {
        let dir = fake_cgroup(&[
            "blkio.bfq.weight",
            "blkio.bfq.weight_device",
            "blkio.throttle.read_bps_device",
        ]);
        let b = LinuxBlockIoBuilder::default()
            .weight(300u16)
            .weight_device(vec![LinuxWeightDeviceBuilder::default()
                .major(8)
                .minor(0)
                .weight(200u16)
                .build()
                .unwrap()])
            .throttle_read_bps_device(vec![throttle(1048576)])
            .build()
            .unwrap();
        apply(Some(Target::V1(dir.path().into())), &b).unwrap();
        assert_eq!(content(dir.path(), "blkio.bfq.weight"), "300");
        assert_eq!(content(dir.path(), "blkio.bfq.weight_device"), "8:0 200");
        assert_eq!(
            content(dir.path(), "blkio.throttle.read_bps_device"),
            "8:0 1048576"
        );
    }

    #[test]
    fn v1_leaf_weight_on_a_kernel_without_it_is_named() {
        let dir = fake_cgroup(&["blkio.bfq.weight"]);
        let b = LinuxBlockIoBuilder::default()
            .leaf_weight(100u16)
            .build()
            .unwrap();
        let error = apply(Some(Target::V1(dir.path().into())), &b)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "linux.resources.blockIO.leafWeight: this host's cgroup has no blkio.leaf_weight"
            ),
            "{error}"
        );
    }

    #[test]
    fn v2_io_weight_and_max() {
        let dir = fake_cgroup(&["io.weight", "io.max"]);
        let b = LinuxBlockIoBuilder::default()
            .weight(500u16)
            .throttle_write_iops_device(vec![throttle(100)])
            .build()
            .unwrap();
        apply(Some(Target::V2(dir.path().into())), &b).unwrap();
        assert_eq!(content(dir.path(), "io.weight"), "default 4950");
        assert_eq!(content(dir.path(), "io.max"), "8:0 wiops=100");
    }

    #[test]
    fn v2_bfq_keeps_the_v1_scale() {
        let dir = fake_cgroup(&["io.bfq.weight", "io.weight"]);
        let b = LinuxBlockIoBuilder::default()
            .weight(500u16)
            .build()
            .unwrap();
        apply(Some(Target::V2(dir.path().into())), &b).unwrap();
        assert_eq!(content(dir.path(), "io.bfq.weight"), "500");
        assert_eq!(content(dir.path(), "io.weight"), "");
    }
}
