//! What cgroup setup costs per container, in isolation: ocirun's own cgroup executor (the
//! code `create` and `delete` run, called in-process here) making a default container's
//! directories in every hierarchy, writing the `+limits` configuration's limits, and
//! removing the directories. runc has no such switch, so this part has no runc column;
//! its share of ocirun's `run` is shown instead.

use super::{Series, Table};
use oci_spec::runtime::LinuxResources;
use ocirun::executors::cgroups::placement;
use ocirun::executors::cgroups::resources::{self, Stage};
use ocirun::executors::cgroups::{Hierarchies, Placement};
use std::time::Instant;

/// Per container: mkdir in every hierarchy, limits, rmdir.
#[derive(Default)]
pub struct CgroupCost {
    pub hierarchies: usize,
    pub mkdir: Series,
    pub limits: Series,
    pub rmdir: Series,
    pub total: Series,
}

/// The limits of the benchmark's `+limits` configuration.
fn limits() -> LinuxResources {
    serde_json::from_value(serde_json::json!({
        "devices": [{"allow": false, "access": "rwm"}],
        "memory": {"limit": 256i64 << 20},
        "pids": {"limit": 1024},
        "cpu": {"shares": 512}
    }))
    .expect("the +limits resources are a valid LinuxResources")
}

fn elapsed_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Measures `iterations` containers' worth of cgroup setup and teardown, each under a
/// fresh name, as `create` names a default container (below the runtime's own cgroup).
pub fn measure(iterations: usize, tag: &str) -> Result<CgroupCost, String> {
    let hierarchies = Hierarchies::detect();
    let resources = limits();
    let mut cost = CgroupCost {
        hierarchies: hierarchies.all.len(),
        ..CgroupCost::default()
    };
    for i in 0..iterations {
        let id = format!("ocirun-bench-cgroups-{tag}-{i}");
        let placement = Placement::new(None, &id, hierarchies.clone());
        let begin = Instant::now();
        let created = placement
            .create(|_| Ok(()))
            .map_err(|e| format!("cgroup setup: {e}"))?;
        cost.mkdir.ms.push(elapsed_ms(begin));
        let limits_begin = Instant::now();
        let applied = resources::apply(&placement, &resources, Stage::Create { devices: &[] });
        cost.limits.ms.push(elapsed_ms(limits_begin));
        let rmdir_begin = Instant::now();
        for dir in created.iter().rev() {
            placement::remove(dir).map_err(|e| format!("cgroup teardown: {e}"))?;
        }
        cost.rmdir.ms.push(elapsed_ms(rmdir_begin));
        cost.total.ms.push(elapsed_ms(begin));
        applied.map_err(|e| format!("cgroup limits: {e}"))?;
    }
    Ok(cost)
}

/// The table, with each step's share of ocirun's `run` median (`run_ms`).
pub fn table(cost: &CgroupCost, run_ms: Option<f64>) -> Table {
    let mut t = Table::new(&[
        "cgroup step, per container",
        "ocirun ms: median (min–max)",
        "share of ocirun `run /bin/true`",
    ]);
    let share = |s: &Series| match (s.median(), run_ms) {
        (Some(step), Some(run)) if run > 0.0 => format!("{:.0} %", step / run * 100.0),
        _ => "n/a".to_string(),
    };
    let rows = [
        (
            format!("mkdir in {} hierarchies", cost.hierarchies),
            &cost.mkdir,
        ),
        (
            "limits: devices deny-all, memory, pids, cpu shares".to_string(),
            &cost.limits,
        ),
        ("rmdir at delete".to_string(), &cost.rmdir),
        ("total".to_string(), &cost.total),
    ];
    for (step, series) in rows {
        t.row(vec![step, series.cell(), share(series)]);
    }
    t
}
