//! `ocirun update`: change a live container's resource limits, with runc's flags or a
//! JSON `LinuxResources` (`--resources FILE`, `-` for stdin, as containerd sends it).

use crate::bail;
use crate::container;
use crate::error::{Context, Error, Result};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};
use ocirun_state_machine::StateRoot;
use std::io::Read;
use std::path::PathBuf;

/// Update the resource limits of a container. Flags override `--resources`.
#[derive(clap::Args, Debug, Default)]
pub struct Update {
    /// The container id.
    pub id: String,
    /// A JSON LinuxResources (the spec's linux.resources); `-` reads stdin.
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    /// Block IO weight (10 to 1000).
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period in microseconds.
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds (-1: unlimited).
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS burst in microseconds.
    #[arg(long = "cpu-burst")]
    pub cpu_burst: Option<u64>,
    /// CPU shares (relative weight).
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    pub cpu_share: Option<u64>,
    /// CPU realtime period in microseconds.
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime in microseconds.
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs to use (0-3, 0,1).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use (0-3, 0,1).
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit: accepted and ignored (deprecated in the kernel, as in runc).
    #[arg(long = "kernel-memory", allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Kernel TCP buffer memory limit (v1 only).
    #[arg(long = "kernel-memory-tcp", allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Memory limit, bytes or with a unit (32m, 1g); -1 for unlimited.
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory soft limit (reservation).
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit; -1 for unlimited swap.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of pids (-1: unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT L3 cache schema (not supported).
    #[arg(long = "l3-cache-schema")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT memory bandwidth schema (not supported).
    #[arg(long = "mem-bw-schema")]
    pub mem_bw_schema: Option<String>,
}

/// A size as runc (docker's `RAMInBytes`) reads it: bytes, or a number with a binary unit
/// `k`, `m`, `g`, `t`, `p` (optionally followed by `b` or `ib`, any case); `-1` is
/// unlimited.
pub fn parse_size(flag: &str, text: &str) -> Result<i64> {
    let invalid = || Error::new(format!("--{flag}: invalid size {text:?}"));
    let trimmed = text.trim();
    if trimmed == "-1" {
        return Ok(-1);
    }
    let lower = trimmed.to_ascii_lowercase();
    let unit_start = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(unit_start);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let unit = unit.trim();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(unit);
    let multiplier: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(invalid()),
    };
    let bytes = number * multiplier;
    if !bytes.is_finite() || bytes > i64::MAX as f64 {
        return Err(invalid());
    }
    Ok(bytes as i64)
}

impl Update {
    /// The resources to apply: `--resources` if given, then each flag on top.
    pub fn resources(&self) -> Result<LinuxResources> {
        if self.l3_cache_schema.is_some() || self.mem_bw_schema.is_some() {
            bail!("--l3-cache-schema and --mem-bw-schema: Intel RDT is not supported");
        }
        let mut resources = match &self.resources {
            None => LinuxResources::default(),
            Some(path) => {
                let mut text = String::new();
                if path.as_os_str() == "-" {
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .context("--resources -: reading stdin")?;
                } else {
                    text = std::fs::read_to_string(path)
                        .with_context(|| format!("--resources {}", path.display()))?;
                }
                let deserializer = &mut serde_json::Deserializer::from_str(&text);
                serde_path_to_error::deserialize(deserializer)
                    .map_err(|e| Error::new(format!("--resources: {}: {}", e.path(), e.inner())))?
            }
        };
        if self.kernel_memory.is_some() {
            tracing::warn!("--kernel-memory is deprecated and ignored");
        }
        let size = |flag: &str, value: &Option<String>| -> Result<Option<i64>> {
            value.as_deref().map(|v| parse_size(flag, v)).transpose()
        };
        let limit = size("memory", &self.memory)?;
        let reservation = size("memory-reservation", &self.memory_reservation)?;
        let swap = size("memory-swap", &self.memory_swap)?;
        let tcp = size("kernel-memory-tcp", &self.kernel_memory_tcp)?;
        if limit.or(reservation).or(swap).or(tcp).is_some() {
            let mut memory: LinuxMemory = resources.memory().unwrap_or_default();
            if limit.is_some() {
                memory.set_limit(limit);
            }
            if reservation.is_some() {
                memory.set_reservation(reservation);
            }
            if swap.is_some() {
                memory.set_swap(swap);
            }
            if tcp.is_some() {
                memory.set_kernel_tcp(tcp);
            }
            resources.set_memory(Some(memory));
        }
        let cpu_flags_set = self.cpu_period.is_some()
            || self.cpu_quota.is_some()
            || self.cpu_burst.is_some()
            || self.cpu_share.is_some()
            || self.cpu_rt_period.is_some()
            || self.cpu_rt_runtime.is_some()
            || self.cpuset_cpus.is_some()
            || self.cpuset_mems.is_some();
        if cpu_flags_set {
            let mut cpu: LinuxCpu = resources.cpu().clone().unwrap_or_default();
            if self.cpu_period.is_some() {
                cpu.set_period(self.cpu_period);
            }
            if self.cpu_quota.is_some() {
                cpu.set_quota(self.cpu_quota);
            }
            if self.cpu_burst.is_some() {
                cpu.set_burst(self.cpu_burst);
            }
            if self.cpu_share.is_some() {
                cpu.set_shares(self.cpu_share);
            }
            if self.cpu_rt_period.is_some() {
                cpu.set_realtime_period(self.cpu_rt_period);
            }
            if self.cpu_rt_runtime.is_some() {
                cpu.set_realtime_runtime(self.cpu_rt_runtime);
            }
            if self.cpuset_cpus.is_some() {
                cpu.set_cpus(self.cpuset_cpus.clone());
            }
            if self.cpuset_mems.is_some() {
                cpu.set_mems(self.cpuset_mems.clone());
            }
            resources.set_cpu(Some(cpu));
        }
        if let Some(limit) = self.pids_limit {
            let mut pids = LinuxPids::default();
            pids.set_limit(limit);
            resources.set_pids(Some(pids));
        }
        if let Some(weight) = self.blkio_weight {
            let mut block_io: LinuxBlockIo = resources.block_io().clone().unwrap_or_default();
            block_io.set_weight(Some(weight));
            resources.set_block_io(Some(block_io));
        }
        Ok(resources)
    }

    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        let resources = self.resources()?;
        container::update(root, &self.id, &resources)?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_runc() {
        assert_eq!(parse_size("memory", "1024").unwrap(), 1024);
        assert_eq!(parse_size("memory", "32m").unwrap(), 32 << 20);
        assert_eq!(parse_size("memory", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("memory", "2kb").unwrap(), 2048);
        assert_eq!(parse_size("memory", "1.5MiB").unwrap(), 3 << 19);
        assert_eq!(parse_size("memory", "-1").unwrap(), -1);
        assert!(parse_size("memory", "12x").is_err());
        assert!(parse_size("memory", "").is_err());
    }

    #[test]
    fn flags_override_the_resources_file() {
        let file = std::env::temp_dir().join(format!("ocirun-update-{}.json", std::process::id()));
        std::fs::write(
            &file,
            r#"{"memory":{"limit":1000,"swap":2000},"pids":{"limit":5}}"#,
        )
        .unwrap();
        let update = Update {
            id: "x".into(),
            resources: Some(file.clone()),
            memory: Some("4096".into()),
            cpu_quota: Some(-1),
            ..Default::default()
        };
        let resources = update.resources().unwrap();
        std::fs::remove_file(&file).unwrap();
        let memory = resources.memory().unwrap();
        assert_eq!((memory.limit(), memory.swap()), (Some(4096), Some(2000)));
        assert_eq!(resources.pids().unwrap().limit(), 5);
        assert_eq!(resources.cpu().as_ref().unwrap().quota(), Some(-1));
    }

    #[test]
    fn rdt_is_refused() {
        let update = Update {
            l3_cache_schema: Some("L3:0=f".into()),
            ..Default::default()
        };
        assert!(update.resources().is_err());
    }
}
