//! `events`: resource usage in runc's shape, once or streamed, and OOM notifications.

mod common;
use common::*;
use serde_json::{json, Value};

fn limited_bundle(args: &[&str]) -> Bundle {
    let mut bundle = Bundle::new(args);
    bundle.config["linux"]["resources"] =
        json!({"memory": {"limit": 33554432}, "pids": {"limit": 64}});
    bundle.write_config();
    bundle
}

#[test]
fn stats_once_show_the_limits_and_usage() {
    let rt = Runtime::new();
    let bundle = limited_bundle(&["sleep", "1000"]);
    let id = unique_id("events-stats");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let out = rt.ok(&["events", "--stats", &id]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let event: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(event["type"], "stats");
    assert_eq!(event["id"], id.as_str());
    let data = &event["data"];
    assert_eq!(data["memory"]["usage"]["limit"], 33554432, "{data}");
    assert!(
        data["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
        "{data}"
    );
    assert_eq!(data["pids"]["limit"], 64);
    assert!(data["pids"]["current"].as_u64().unwrap_or(0) >= 1, "{data}");
    assert!(
        data["cpu"]["usage"]["total"].as_u64().unwrap_or(0) > 0,
        "{data}"
    );
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn the_stream_reports_an_oom_kill_and_ends_with_the_container() {
    let rt = Runtime::new();
    let bundle = limited_bundle(&["sh", "-c", "sleep 0.5; tail /dev/zero; sleep 2"]);
    let id = unique_id("events-oom");
    rt.ok(&["run", "-d", "--bundle", bundle.path(), &id]);
    let stream = Background::spawn(rt.cmd(&["events", "--interval", "300ms", &id]));
    let out = stream.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "oom" && e["id"] == id.as_str()),
        "{events:?}"
    );
    assert!(
        events.iter().filter(|e| e["type"] == "stats").count() >= 2,
        "{events:?}"
    );
    assert_eq!(
        rt.state(&id)["status"],
        "stopped",
        "the stream ended before the container stopped"
    );
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn events_of_a_stopped_or_unknown_container_fail_clearly() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["true"]);
    let id = unique_id("events-stopped");
    rt.ok(&["create", "--bundle", bundle.path(), &id]);
    rt.ok(&["start", &id]);
    rt.wait_for_status(&id, "stopped");
    assert_one_line_error(
        &rt.fail(&["events", "--stats", &id]),
        &["not running"],
        "events of a stopped container",
    );
    assert_one_line_error(
        &rt.fail(&["events", "nope"]),
        &["does not exist"],
        "events of an unknown id",
    );
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}
