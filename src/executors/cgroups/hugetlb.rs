//! `linux.resources.hugepageLimits`: v1 `hugetlb.<size>.limit_in_bytes`, v2
//! `hugetlb.<size>.max`.

use super::resources::{has, missing_controller, v2_limit, write, Target};
use crate::bail;
use crate::error::Result;
use oci_spec::runtime::LinuxHugepageLimit;

const FIELD: &str = "linux.resources.hugepageLimits";

pub fn apply(target: Option<Target>, limits: &[LinuxHugepageLimit]) -> Result<()> {
    if limits.is_empty() {
        return Ok(());
    }
    let target = target.ok_or_else(|| missing_controller(FIELD, "hugetlb"))?;
    for (i, limit) in limits.iter().enumerate() {
        let size = limit.page_size();
        let (dir, file, value) = match &target {
            Target::V1(dir) => (
                dir,
                format!("hugetlb.{size}.limit_in_bytes"),
                limit.limit().to_string(),
            ),
            Target::V2(dir) => (dir, format!("hugetlb.{size}.max"), v2_limit(limit.limit())),
        };
        if !has(dir, &file) {
            bail!("{FIELD}[{i}].pageSize: this host has no {size} huge pages ({file} is missing)");
        }
        write(dir, &file, &value, &format!("{FIELD}[{i}].limit"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resources::testing::*;
    use super::*;
    use oci_spec::runtime::LinuxHugepageLimitBuilder;

    fn limit(size: &str, bytes: i64) -> LinuxHugepageLimit {
        LinuxHugepageLimitBuilder::default()
            .page_size(size)
            .limit(bytes)
            .build()
            .unwrap()
    }

    #[test]
    fn v1_and_v2_files() {
        let dir = fake_cgroup(&["hugetlb.2MB.limit_in_bytes"]);
        apply(
            Some(Target::V1(dir.path().into())),
            &[limit("2MB", 4 << 20)],
        )
        .unwrap();
        assert_eq!(content(dir.path(), "hugetlb.2MB.limit_in_bytes"), "4194304");
        let dir = fake_cgroup(&["hugetlb.1GB.max"]);
        apply(Some(Target::V2(dir.path().into())), &[limit("1GB", -1)]).unwrap();
        assert_eq!(content(dir.path(), "hugetlb.1GB.max"), "max");
    }

    #[test]
    fn missing_controller_or_size_is_one_line() {
        assert_eq!(
            apply(None, &[limit("2MB", 1)]).unwrap_err().to_string(),
            "linux.resources.hugepageLimits: this host has no hugetlb cgroup controller"
        );
        let dir = fake_cgroup(&[]);
        let error = apply(Some(Target::V2(dir.path().into())), &[limit("64KB", 1)]).unwrap_err();
        assert!(error.to_string().contains("no 64KB huge pages"), "{error}");
        apply(None, &[]).unwrap();
    }
}
