//! Translating config.json mount options into mount(2) flags, propagation and data.

use nix::mount::MsFlags;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for the mount itself.
    pub flags: MsFlags,
    /// Flags to clear (options such as `rw` or `dev` that undo a default).
    pub cleared: MsFlags,
    /// Propagation changes applied after mounting, in order.
    pub propagation: Vec<MsFlags>,
    /// Filesystem-specific options, passed as the data string.
    pub data: Vec<String>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: Vec::new(),
            data: Vec::new(),
        }
    }
}

impl MountOptions {
    pub fn parse<S: AsRef<str>>(options: &[S]) -> MountOptions {
        let mut parsed = MountOptions::default();
        for option in options {
            let option = option.as_ref();
            if let Some(flag) = propagation_flag(option) {
                parsed.propagation.push(flag);
            } else if let Some((set, flag)) = flag_option(option) {
                if set {
                    parsed.flags |= flag;
                    parsed.cleared.remove(flag);
                } else {
                    parsed.flags.remove(flag);
                    parsed.cleared |= flag;
                }
            } else if !is_ignored(option) {
                parsed.data.push(option.to_string());
            }
        }
        parsed
    }

    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    pub fn data_string(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }

    /// Flags that a bind mount ignores and a remount must apply.
    pub fn needs_remount(&self) -> bool {
        self.is_bind() && !(self.flags - MsFlags::MS_BIND - MsFlags::MS_REC).is_empty()
    }
}

/// Options runc accepts that are not mount(2) flags or data.
const IGNORED_OPTIONS: [&str; 4] = ["tmpcopyup", "defaults", "idmap", "ridmap"];

fn is_ignored(option: &str) -> bool {
    IGNORED_OPTIONS.contains(&option)
}

const PROPAGATION_OPTIONS: [(&str, MsFlags); 8] = [
    ("private", MsFlags::MS_PRIVATE),
    ("rprivate", MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
    ("shared", MsFlags::MS_SHARED),
    ("rshared", MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
    ("slave", MsFlags::MS_SLAVE),
    ("rslave", MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
    ("unbindable", MsFlags::MS_UNBINDABLE),
    ("runbindable", MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
];

/// (name, sets the flag (else clears it), flag)
const FLAG_OPTIONS: [(&str, bool, MsFlags); 26] = [
    ("ro", true, MsFlags::MS_RDONLY),
    ("rw", false, MsFlags::MS_RDONLY),
    ("nosuid", true, MsFlags::MS_NOSUID),
    ("suid", false, MsFlags::MS_NOSUID),
    ("nodev", true, MsFlags::MS_NODEV),
    ("dev", false, MsFlags::MS_NODEV),
    ("noexec", true, MsFlags::MS_NOEXEC),
    ("exec", false, MsFlags::MS_NOEXEC),
    ("sync", true, MsFlags::MS_SYNCHRONOUS),
    ("async", false, MsFlags::MS_SYNCHRONOUS),
    ("dirsync", true, MsFlags::MS_DIRSYNC),
    ("remount", true, MsFlags::MS_REMOUNT),
    ("mand", true, MsFlags::MS_MANDLOCK),
    ("nomand", false, MsFlags::MS_MANDLOCK),
    ("atime", false, MsFlags::MS_NOATIME),
    ("noatime", true, MsFlags::MS_NOATIME),
    ("diratime", false, MsFlags::MS_NODIRATIME),
    ("nodiratime", true, MsFlags::MS_NODIRATIME),
    ("bind", true, MsFlags::MS_BIND),
    ("rbind", true, MsFlags::MS_BIND.union(MsFlags::MS_REC)),
    ("relatime", true, MsFlags::MS_RELATIME),
    ("norelatime", false, MsFlags::MS_RELATIME),
    ("strictatime", true, MsFlags::MS_STRICTATIME),
    ("nostrictatime", false, MsFlags::MS_STRICTATIME),
    ("silent", true, MsFlags::MS_SILENT),
    ("loud", false, MsFlags::MS_SILENT),
];

pub fn propagation_flag(option: &str) -> Option<MsFlags> {
    PROPAGATION_OPTIONS
        .iter()
        .find(|(name, _)| *name == option)
        .map(|(_, flag)| *flag)
}

/// `(true, flag)` sets a flag, `(false, flag)` clears it.
fn flag_option(option: &str) -> Option<(bool, MsFlags)> {
    FLAG_OPTIONS
        .iter()
        .find(|(name, _, _)| *name == option)
        .map(|(_, set, flag)| (*set, *flag))
}

/// Every option name `mounts[].options` may use (besides filesystem data), sorted.
pub fn recognised() -> Vec<&'static str> {
    let mut names: Vec<&str> = FLAG_OPTIONS
        .iter()
        .map(|(name, _, _)| *name)
        .chain(PROPAGATION_OPTIONS.iter().map(|(name, _)| *name))
        .chain(IGNORED_OPTIONS)
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_flags_propagation_and_data() {
        let parsed =
            MountOptions::parse(&["nosuid", "strictatime", "mode=755", "size=65536k", "rslave"]);
        assert_eq!(parsed.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(
            parsed.data_string().as_deref(),
            Some("mode=755,size=65536k")
        );
        assert_eq!(
            parsed.propagation,
            vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]
        );
    }

    #[test]
    fn read_only_bind_needs_a_remount() {
        assert!(MountOptions::parse(&["rbind", "ro"]).needs_remount());
        assert!(!MountOptions::parse(&["rbind"]).needs_remount());
    }
}
