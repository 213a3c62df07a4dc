//! Reading what a container printed about itself: `key=value` lines, mountinfo, state.

use super::Bundle;
use serde_json::Value;
use std::collections::BTreeMap;

/// A bundle running `sh -c <script>`.
pub fn sh_bundle(script: &str) -> Bundle {
    Bundle::new(&["sh", "-c", script])
}

/// `key=value` lines of a container's output.
pub fn pairs(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The value of `key` in `pairs(out)`; panics naming the key and the whole output.
pub fn get<'a>(map: &'a BTreeMap<String, String>, key: &str, out: &str) -> &'a str {
    map.get(key)
        .unwrap_or_else(|| panic!("the container printed no {key}=...; output:\n{out}"))
}

/// The `pid` of a state JSON.
pub fn pid_of(state: &Value) -> i64 {
    state["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("state has no integer pid: {state}"))
}

/// One line of /proc/<pid>/mountinfo.
#[derive(Debug, Clone)]
pub struct MountInfo {
    pub root: String,
    pub mount_point: String,
    pub mount_options: Vec<String>,
    /// `shared:N`, `master:N`, `propagate_from:N`, `unbindable`.
    pub optional: Vec<String>,
    pub fs_type: String,
    pub source: String,
    pub super_options: Vec<String>,
}

impl MountInfo {
    /// The N of an optional field `<tag>:N`.
    pub fn tag(&self, tag: &str) -> Option<&str> {
        self.optional
            .iter()
            .find_map(|o| o.strip_prefix(tag)?.strip_prefix(':'))
    }
}

/// The mountinfo lines in `text` (other lines are skipped).
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            l.first()?.parse::<u64>().ok()?;
            let r: Vec<&str> = right.split(' ').collect();
            Some(MountInfo {
                root: l.get(3)?.to_string(),
                mount_point: l.get(4)?.to_string(),
                mount_options: l.get(5)?.split(',').map(String::from).collect(),
                optional: l[6..].iter().map(|s| s.to_string()).collect(),
                fs_type: r.first()?.to_string(),
                source: r.get(1)?.to_string(),
                super_options: r.get(2)?.split(',').map(String::from).collect(),
            })
        })
        .collect()
}

/// The last mount at `mount_point` (the one that is visible).
pub fn mount_at<'a>(mounts: &'a [MountInfo], mount_point: &str, text: &str) -> &'a MountInfo {
    mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == mount_point)
        .unwrap_or_else(|| panic!("no mount at {mount_point}:\n{text}"))
}
