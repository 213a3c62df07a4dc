//! `events`: the container's resource usage, once (`--stats`) or as a stream every
//! interval, with an `oom` event whenever the kernel's OOM killer strikes in it. The
//! stream ends when the container stops.

use super::facts::RuntimeFacts;
use super::observe::current_status;
use super::state::store_error;
use crate::bail;
use crate::error::Result;
use crate::executors::cgroups::stats;
use ocirun_state_machine::{StateRoot, Status};
use serde_json::json;
use std::io::Write;
use std::time::{Duration, Instant};

/// How often the OOM counter is read between stats.
const OOM_POLL: Duration = Duration::from_millis(100);

pub fn events(
    root: &StateRoot,
    id: &str,
    interval: Duration,
    once: bool,
    out: &mut impl Write,
) -> Result<()> {
    let (view, busy) = root.read(id).map_err(store_error)?;
    if matches!(
        current_status(&view, busy),
        Status::Stopped | Status::Deleted
    ) {
        bail!("container {id:?} is not running");
    }
    let facts = RuntimeFacts::from_metadata(view.metadata.as_ref());
    let placement = facts.placement(id)?.clone();
    let emit = |out: &mut dyn Write, event: serde_json::Value| -> Result<()> {
        writeln!(out, "{event}")
            .and_then(|()| out.flush())
            .map_err(crate::error::Error::from)
    };
    let stats_event = || json!({"type": "stats", "id": id, "data": stats::collect(&placement)});
    if once {
        return emit(out, stats_event());
    }
    let mut ooms = stats::oom_kills(&placement);
    let mut next_stats = Instant::now();
    loop {
        let (view, busy) = match root.read(id) {
            Ok(read) => read,
            Err(_) => return Ok(()),
        };
        if matches!(
            current_status(&view, busy),
            Status::Stopped | Status::Deleted
        ) {
            return Ok(());
        }
        let now_ooms = stats::oom_kills(&placement);
        if now_ooms > ooms {
            emit(out, json!({"type": "oom", "id": id}))?;
            ooms = now_ooms;
        }
        if Instant::now() >= next_stats {
            emit(out, stats_event())?;
            next_stats = Instant::now() + interval;
        }
        std::thread::sleep(OOM_POLL.min(interval));
    }
}
