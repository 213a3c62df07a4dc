//! The five capability sets of the container process. Bounding is reduced while we still
//! hold CAP_SETPCAP; the other sets are set after the uid change.

use crate::error::{Context, Error, Result};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

/// Capability numbers from linux/capability.h, indexed by the spec's names without `CAP_`.
pub const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

pub fn number(cap: &Capability) -> Result<u32> {
    let name = cap.to_string();
    let bare = name.trim_start_matches("CAP_");
    NAMES
        .iter()
        .position(|n| *n == bare)
        .map(|i| i as u32)
        .ok_or_else(|| Error::new(format!("unknown capability {name}")))
}

fn mask(set: &Option<Capabilities>) -> Result<u64> {
    let mut bits = 0u64;
    for cap in set.iter().flatten() {
        bits |= 1u64 << number(cap)?;
    }
    Ok(bits)
}

/// The highest capability this kernel knows.
fn last_cap() -> u32 {
    crate::util::proc::read_text("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Drops from the bounding set every capability the config does not list.
pub fn limit_bounding(caps: &LinuxCapabilities) -> Result<()> {
    let keep = mask(caps.bounding())?;
    for cap in 0..=last_cap() {
        if keep & (1u64 << cap) == 0 {
            // SAFETY: prctl(PR_CAPBSET_DROP) takes a capability number and touches no memory.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
                return Err(std::io::Error::last_os_error())
                    .context(format!("dropping capability {cap} from the bounding set"));
            }
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Sets effective, permitted and inheritable, then raises the ambient ones.
pub fn apply(caps: &LinuxCapabilities) -> Result<()> {
    let effective = mask(caps.effective())?;
    let permitted = mask(caps.permitted())?;
    let inheritable = mask(caps.inheritable())?;
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    for (i, word) in data.iter_mut().enumerate() {
        let shift = 32 * i;
        word.effective = (effective >> shift) as u32;
        word.permitted = (permitted >> shift) as u32;
        word.inheritable = (inheritable >> shift) as u32;
    }
    // SAFETY: header and data are valid, correctly laid out (repr(C)) version-3 structures
    // of the sizes capset(2) reads; the kernel does not keep the pointers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("capset");
    }
    // The kernel allows an ambient capability only when it is both permitted and
    // inheritable; runc's default spec asks for ambient ones without inheritable, and
    // runc skips them, so do we.
    let ambient = mask(caps.ambient())? & permitted & inheritable;
    for cap in 0..=last_cap() {
        if ambient & (1u64 << cap) != 0 {
            // SAFETY: prctl(PR_CAP_AMBIENT_RAISE) takes plain integers and touches no memory.
            let rc = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    cap as libc::c_ulong,
                    0,
                    0,
                )
            };
            if rc != 0 {
                return Err(std::io::Error::last_os_error()).context(format!(
                    "raising ambient capability {}",
                    NAMES[cap as usize]
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_kernel_header() {
        assert_eq!(number(&Capability::Chown).unwrap(), 0);
        assert_eq!(number(&Capability::NetBindService).unwrap(), 10);
        assert_eq!(number(&Capability::SysAdmin).unwrap(), 21);
        assert_eq!(number(&Capability::AuditWrite).unwrap(), 29);
        assert_eq!(number(&Capability::CheckpointRestore).unwrap(), 40);
    }
}
