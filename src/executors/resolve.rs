//! Resolving a path inside the container's rootfs the way the container will see it:
//! symlinks are followed relative to the rootfs, and `..` never climbs above it, so a
//! hostile rootfs cannot point a mount at the host.

use crate::bail;
use crate::error::Result;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

const MAX_SYMLINKS: usize = 255;

/// `root` joined with `unsafe_path` after resolving every symlink within `root`. Missing
/// components are kept as they are (the caller creates them).
pub fn resolve_in_root(root: &Path, unsafe_path: &Path) -> Result<PathBuf> {
    let mut pending: Vec<OsString> = components(unsafe_path);
    pending.reverse();
    let mut resolved: Vec<OsString> = Vec::new();
    let mut links_followed = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = join(root, &resolved).join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links_followed += 1;
                if links_followed > MAX_SYMLINKS {
                    bail!(
                        "too many levels of symbolic links in {}",
                        unsafe_path.display()
                    );
                }
                let target = std::fs::read_link(&candidate)?;
                if target.is_absolute() {
                    resolved.clear();
                }
                let mut expanded = components(&target);
                expanded.reverse();
                pending.extend(expanded);
            }
            _ => resolved.push(part),
        }
    }
    Ok(join(root, &resolved))
}

fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

fn join(root: &Path, parts: &[OsString]) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(parts);
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let dir = std::env::temp_dir().join(format!("ocirun-resolve-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("real")).unwrap();
        symlink("/", root.join("escape")).unwrap();
        symlink("../../../../etc", root.join("climb")).unwrap();
        symlink("real", root.join("relative")).unwrap();
        assert_eq!(
            resolve_in_root(&root, Path::new("/escape/x")).unwrap(),
            root.join("x")
        );
        assert_eq!(
            resolve_in_root(&root, Path::new("/climb")).unwrap(),
            root.join("etc")
        );
        assert_eq!(
            resolve_in_root(&root, Path::new("/relative/y")).unwrap(),
            root.join("real/y")
        );
        assert_eq!(
            resolve_in_root(&root, Path::new("/../../z")).unwrap(),
            root.join("z")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
