//! `linux.cgroupsPath` as the systemd driver reads it (runc's `slice:prefix:name`): the
//! unit to create, the slice it goes in, and where systemd will put its cgroup.

use crate::bail;
use crate::error::Result;

/// The slice a unit goes in when `cgroupsPath` leaves it empty (runc's default for a
/// system-wide runtime).
pub const DEFAULT_SLICE: &str = "system.slice";
/// The unit prefix of the default `cgroupsPath`.
pub const DEFAULT_PREFIX: &str = "ocirun";

/// systemd refuses longer unit names (UNIT_NAME_MAX).
const MAX_UNIT_NAME_LEN: usize = 255;

/// The container's systemd unit: a scope (`prefix-name.scope`) in `slice`, or a slice
/// of its own when the name part of `cgroupsPath` ends in `.slice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdCgroup {
    /// The slice the unit goes in (a scope's `Slice=`, a slice's `Wants=`).
    pub slice: String,
    /// The unit's name, `*.scope` or `*.slice`.
    pub unit: String,
}

impl SystemdCgroup {
    /// Parses `cgroupsPath` (`slice:prefix:name`); an empty one is
    /// `system.slice:ocirun:<container id>`.
    pub fn parse(cgroups_path: &str, container_id: &str) -> Result<SystemdCgroup> {
        let (slice, prefix, name) = if cgroups_path.is_empty() {
            (DEFAULT_SLICE, DEFAULT_PREFIX, container_id)
        } else {
            match cgroups_path.split(':').collect::<Vec<_>>()[..] {
                [slice, prefix, name] => (slice, prefix, name),
                _ => bail!(
                    "cgroupsPath {cgroups_path:?}: expected \"slice:prefix:name\" with --systemd-cgroup"
                ),
            }
        };
        let slice = if slice.is_empty() {
            DEFAULT_SLICE
        } else {
            slice
        };
        // Checked here so a bad slice fails at parse time, not when systemd refuses it.
        expand_slice(slice).map_err(|e| e.wrap(format!("cgroupsPath {cgroups_path:?}")))?;
        if name.is_empty() {
            bail!("cgroupsPath {cgroups_path:?}: the name part is empty");
        }
        let unit = if name.ends_with(".slice") {
            // A slice's cgroup is fixed by its name, so its name must be a valid slice.
            expand_slice(name).map_err(|e| e.wrap(format!("cgroupsPath {cgroups_path:?}")))?;
            name.to_string()
        } else if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        check_unit_name(&unit).map_err(|e| e.wrap(format!("cgroupsPath {cgroups_path:?}")))?;
        Ok(SystemdCgroup {
            slice: slice.to_string(),
            unit,
        })
    }

    pub fn is_slice(&self) -> bool {
        self.unit.ends_with(".slice")
    }

    /// The unit's cgroup, relative to the cgroup v2 mount (`/system.slice/ocirun-x.scope`).
    /// A scope sits in its slice; a slice's place follows from its own name (`a-b.slice`
    /// is always `/a.slice/a-b.slice`), whatever slice `cgroupsPath` named.
    pub fn cgroup_path(&self) -> Result<String> {
        if self.is_slice() {
            return expand_slice(&self.unit);
        }
        let parent = expand_slice(&self.slice)?;
        Ok(format!("{}/{}", parent.trim_end_matches('/'), self.unit))
    }
}

/// The cgroup of a slice, as systemd derives it from the name: `a-b-c.slice` is
/// `/a.slice/a-b.slice/a-b-c.slice`, and the root slice `-.slice` is `/`.
pub fn expand_slice(slice: &str) -> Result<String> {
    let Some(stem) = slice.strip_suffix(".slice") else {
        bail!("invalid slice name {slice:?}: it does not end in \".slice\"");
    };
    if slice.contains('/') {
        bail!("invalid slice name {slice:?}: it contains '/'");
    }
    if stem == "-" {
        return Ok("/".to_string());
    }
    let mut path = String::new();
    let mut ancestors = String::new();
    for component in stem.split('-') {
        if component.is_empty() {
            bail!("invalid slice name {slice:?}: an empty component (leading, trailing or double '-')");
        }
        path.push('/');
        path.push_str(&ancestors);
        path.push_str(component);
        path.push_str(".slice");
        ancestors.push_str(component);
        ancestors.push('-');
    }
    Ok(path)
}

/// The characters systemd allows in unit names (plus `@` of template instances).
fn check_unit_name(unit: &str) -> Result<()> {
    if unit.len() > MAX_UNIT_NAME_LEN {
        bail!("the unit name {unit:?} is longer than systemd's {MAX_UNIT_NAME_LEN} bytes");
    }
    if let Some(bad) = unit
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ":-_.\\@".contains(*c)))
    {
        bail!("the unit name {unit:?} has a character systemd refuses: {bad:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &str) -> SystemdCgroup {
        SystemdCgroup::parse(path, "abc").unwrap()
    }

    fn parse_error(path: &str) -> String {
        SystemdCgroup::parse(path, "abc").unwrap_err().to_string()
    }

    #[test]
    fn slice_prefix_name_becomes_a_scope_in_the_slice() {
        let cgroup = parse("machine.slice:docker:1234");
        assert_eq!(cgroup.slice, "machine.slice");
        assert_eq!(cgroup.unit, "docker-1234.scope");
        assert!(!cgroup.is_slice());
        assert_eq!(
            cgroup.cgroup_path().unwrap(),
            "/machine.slice/docker-1234.scope"
        );

        let nested = parse("a-b.slice:p:n");
        assert_eq!(
            nested.cgroup_path().unwrap(),
            "/a.slice/a-b.slice/p-n.scope"
        );
        let in_root = parse("-.slice:p:n");
        assert_eq!(in_root.cgroup_path().unwrap(), "/p-n.scope");
    }

    #[test]
    fn empty_parts_take_the_defaults() {
        assert_eq!(
            parse(""),
            SystemdCgroup {
                slice: "system.slice".into(),
                unit: "ocirun-abc.scope".into()
            }
        );
        assert_eq!(
            parse("").cgroup_path().unwrap(),
            "/system.slice/ocirun-abc.scope"
        );
        assert_eq!(parse(":p:n").slice, "system.slice");
        assert_eq!(parse("user.slice::n").unit, "n.scope");
    }

    #[test]
    fn a_name_ending_in_slice_is_a_slice_unit() {
        let cgroup = parse("system.slice:ignored:my-app.slice");
        assert!(cgroup.is_slice());
        assert_eq!(cgroup.unit, "my-app.slice");
        assert_eq!(cgroup.slice, "system.slice");
        assert_eq!(cgroup.cgroup_path().unwrap(), "/my.slice/my-app.slice");
    }

    #[test]
    fn slices_expand_as_systemd_does() {
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
        for (bad, why) in [
            ("system", "does not end in"),
            (".slice", "empty component"),
            ("a/b.slice", "contains '/'"),
            ("-a.slice", "empty component"),
            ("a-.slice", "empty component"),
            ("a--b.slice", "empty component"),
            ("--.slice", "empty component"),
        ] {
            let error = expand_slice(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
            assert!(error.contains(&format!("{bad:?}")), "{bad}: {error}");
        }
    }

    #[test]
    fn malformed_paths_are_one_line_errors_naming_the_path() {
        assert_eq!(
            parse_error("foo"),
            "cgroupsPath \"foo\": expected \"slice:prefix:name\" with --systemd-cgroup"
        );
        assert!(parse_error("a:b:c:d").contains("expected \"slice:prefix:name\""));
        assert!(parse_error("/sys/fs:p:n").contains("does not end in \".slice\""));
        assert!(parse_error("a--b.slice:p:n").contains("empty component"));
        assert!(parse_error("system.slice:p:").contains("the name part is empty"));
        assert!(parse_error("system.slice:p:x/../y").contains("refuses: '/'"));
        assert!(parse_error("system.slice:p:a b").contains("refuses: ' '"));
        assert!(parse_error("system.slice:p:bad--.slice").contains("empty component"));
        let long = format!("system.slice:p:{}", "x".repeat(300));
        assert!(parse_error(&long).contains("longer than systemd's 255"));
        for path in ["foo", "a--b.slice:p:n", "system.slice:p:"] {
            assert!(!parse_error(path).contains('\n'));
        }
    }
}
