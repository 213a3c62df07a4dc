//! Freezing and thawing the container's cgroup for `pause` / `resume`: the v1 freezer
//! hierarchy when the host has one (v1 and hybrid hosts), else cgroup2's `cgroup.freeze`.

use super::placement::Placement;
use super::resources::{read, write};
use crate::bail;
use crate::error::Result;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freezer {
    V1(PathBuf),
    V2(PathBuf),
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl Freezer {
    pub fn of(placement: &Placement) -> Option<Freezer> {
        if let Some(dir) = placement.v1_dir("freezer") {
            return Some(Freezer::V1(dir));
        }
        placement.unified_dir().map(Freezer::V2)
    }

    /// Freezes and waits until every task is frozen.
    pub fn freeze(&self) -> Result<()> {
        self.set(true)
    }

    pub fn thaw(&self) -> Result<()> {
        self.set(false)
    }

    /// `None` when the state cannot be read (the cgroup is gone).
    pub fn is_frozen(&self) -> Option<bool> {
        match self {
            Freezer::V1(dir) => read(dir, "freezer.state").ok().map(|s| s == "FROZEN"),
            Freezer::V2(dir) => read(dir, "cgroup.events").ok().map(|e| events_frozen(&e)),
        }
    }

    fn set(&self, frozen: bool) -> Result<()> {
        let started = Instant::now();
        let mut pause = Duration::from_micros(100);
        loop {
            // v1 can stay FREEZING while a task is in an uninterruptible sleep; writing
            // FROZEN again retries the tasks that did not freeze yet.
            self.request(frozen)?;
            if self.is_frozen() == Some(frozen) {
                return Ok(());
            }
            if started.elapsed() > TIMEOUT {
                let what = if frozen { "freeze" } else { "thaw" };
                bail!(
                    "the container's cgroup did not {what} within {}s",
                    TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    fn request(&self, frozen: bool) -> Result<()> {
        match self {
            Freezer::V1(dir) => write_state(
                dir,
                "freezer.state",
                if frozen { "FROZEN" } else { "THAWED" },
            ),
            Freezer::V2(dir) => write_state(dir, "cgroup.freeze", if frozen { "1" } else { "0" }),
        }
    }
}

fn write_state(dir: &Path, file: &str, value: &str) -> Result<()> {
    write(dir, file, value, "freezer")
}

/// `frozen 1` in a cgroup.events text.
pub fn events_frozen(events: &str) -> bool {
    events.lines().any(|l| l.trim() == "frozen 1")
}

#[cfg(test)]
mod tests {
    use super::super::resources::testing::*;
    use super::*;

    #[test]
    fn events_parsing() {
        assert!(events_frozen("populated 1\nfrozen 1\n"));
        assert!(!events_frozen("populated 1\nfrozen 0\n"));
    }

    #[test]
    fn v2_writes_cgroup_freeze_and_reads_events() {
        // A fake cgroup cannot freeze by itself: seed the events the kernel would show.
        let dir = fake_cgroup(&["cgroup.freeze"]);
        set(dir.path(), "cgroup.events", "populated 1\nfrozen 1\n");
        let freezer = Freezer::V2(dir.path().into());
        freezer.freeze().unwrap();
        assert_eq!(content(dir.path(), "cgroup.freeze"), "1");
        assert_eq!(freezer.is_frozen(), Some(true));
        set(dir.path(), "cgroup.events", "populated 1\nfrozen 0\n");
        freezer.thaw().unwrap();
        assert_eq!(content(dir.path(), "cgroup.freeze"), "0");
    }

    #[test]
    fn v1_state_file() {
        let dir = fake_cgroup(&["freezer.state"]);
        let freezer = Freezer::V1(dir.path().into());
        // Writing FROZEN to the fake also reads back FROZEN, as the kernel's would.
        freezer.freeze().unwrap();
        assert_eq!(freezer.is_frozen(), Some(true));
        freezer.thaw().unwrap();
        assert_eq!(content(dir.path(), "freezer.state"), "THAWED");
    }
}
