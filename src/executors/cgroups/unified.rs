//! `linux.resources.unified`: raw cgroup2 `file: value` pairs, written as given into the
//! container's cgroup2 directory. A host without cgroup2 refuses them; on a hybrid host
//! only files the cgroup2 directory really has can be written (it has no controllers
//! there, so `memory.max` and the like are refused with that reason).

use super::resources::{write, Controllers};
use crate::bail;
use crate::error::Result;
use std::collections::HashMap;
use std::path::Path;

const FIELD: &str = "linux.resources.unified";

pub fn apply(controllers: &Controllers, values: &HashMap<String, String>) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let Some(dir) = controllers.unified_dir() else {
        bail!("{FIELD}: this host has no cgroup v2 hierarchy (cgroup v1 only)");
    };
    write_all(&dir, values, controllers.unified_controllers())
}

/// Writes in key order, so the outcome does not depend on the map's.
pub fn write_all(dir: &Path, values: &HashMap<String, String>, available: &[String]) -> Result<()> {
    let mut keys: Vec<&String> = values.keys().collect();
    keys.sort();
    for key in keys {
        let field = format!("{FIELD}[{key:?}]");
        if key.is_empty() || key.contains('/') || key.starts_with('.') {
            bail!("{field}: not a cgroup file name");
        }
        if !dir.join(key).exists() {
            let controller = key.split('.').next().unwrap_or(key);
            if controller != "cgroup" && !available.iter().any(|c| c == controller) {
                bail!("{field}: the container's cgroup2 directory has no {controller} controller");
            }
            bail!("{field}: the container's cgroup2 directory has no such file");
        }
        write(dir, key, &values[key], &field)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resources::testing::*;
    use super::*;

    #[test]
    fn writes_existing_files_and_explains_missing_ones() {
        let dir = fake_cgroup(&["memory.high", "cgroup.max.depth"]);
        let available = vec!["memory".to_string()];
        let values = HashMap::from([
            ("memory.high".to_string(), "1000000".to_string()),
            ("cgroup.max.depth".to_string(), "3".to_string()),
        ]);
        write_all(dir.path(), &values, &available).unwrap();
        assert_eq!(content(dir.path(), "memory.high"), "1000000");
        assert_eq!(content(dir.path(), "cgroup.max.depth"), "3");

        let values = HashMap::from([("pids.max".to_string(), "5".to_string())]);
        assert_eq!(
            write_all(dir.path(), &values, &available).unwrap_err().to_string(),
            "linux.resources.unified[\"pids.max\"]: the container's cgroup2 directory has no pids controller"
        );
        let values = HashMap::from([("../escape".to_string(), "1".to_string())]);
        assert!(write_all(dir.path(), &values, &available).is_err());
    }
}
