//! Resource usage of a container's cgroup in runc's `events` shape (cpu, memory, pids,
//! blkio), read from v1 or v2 files, and its OOM-kill counter.

use super::resources::{Controllers, Target};
use super::Placement;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

fn number(dir: &Path, file: &str) -> Option<u64> {
    read(dir, file)?.trim().parse().ok()
}

/// "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control).
fn key_values(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some((fields.next()?.to_string(), fields.next()?.parse().ok()?))
        })
        .collect()
}

/// Drops zero and empty fields, as runc's `omitempty` does.
fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, compact(v)))
                .filter(|(_, v)| {
                    !matches!(v, Value::Null)
                        && v != &json!(0)
                        && v != &json!({})
                        && v != &json!([])
                })
                .collect::<Map<String, Value>>(),
        ),
        other => other,
    }
}

pub fn collect(placement: &Placement) -> Value {
    let controllers = Controllers::new(placement);
    let mut stats = Map::new();
    stats.insert("cpu".into(), cpu(&controllers));
    stats.insert("memory".into(), memory(&controllers));
    stats.insert("pids".into(), pids(&controllers));
    stats.insert("blkio".into(), blkio(&controllers));
    compact(Value::Object(stats))
}

fn cpu(controllers: &Controllers) -> Value {
    const NANOS_PER_TICK: u64 = 10_000_000; // USER_HZ is 100 on Linux
    match controllers.locate("cpuacct", "cpu") {
        Some(Target::V1(dir)) => {
            let percpu: Vec<u64> = read(&dir, "cpuacct.usage_percpu")
                .map(|t| {
                    t.split_whitespace()
                        .filter_map(|n| n.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            let times = read(&dir, "cpuacct.stat")
                .map(|t| key_values(&t))
                .unwrap_or_default();
            let throttling = controllers
                .locate("cpu", "cpu")
                .and_then(|t| match t {
                    Target::V1(cpu_dir) => read(&cpu_dir, "cpu.stat"),
                    Target::V2(_) => None,
                })
                .map(|t| key_values(&t))
                .unwrap_or_default();
            json!({
                "usage": {
                    "total": number(&dir, "cpuacct.usage").unwrap_or(0),
                    "percpu": percpu,
                    "kernel": times.get("system").copied().unwrap_or(0) * NANOS_PER_TICK,
                    "user": times.get("user").copied().unwrap_or(0) * NANOS_PER_TICK,
                },
                "throttling": {
                    "periods": throttling.get("nr_periods"),
                    "throttledPeriods": throttling.get("nr_throttled"),
                    "throttledTime": throttling.get("throttled_time"),
                }
            })
        }
        Some(Target::V2(dir)) => {
            let stat = read(&dir, "cpu.stat")
                .map(|t| key_values(&t))
                .unwrap_or_default();
            let micros = |key: &str| stat.get(key).copied().unwrap_or(0) * 1000;
            json!({
                "usage": {"total": micros("usage_usec"), "kernel": micros("system_usec"), "user": micros("user_usec")},
                "throttling": {
                    "periods": stat.get("nr_periods"),
                    "throttledPeriods": stat.get("nr_throttled"),
                    "throttledTime": micros("throttled_usec"),
                }
            })
        }
        None => Value::Null,
    }
}

fn memory(controllers: &Controllers) -> Value {
    match controllers.locate("memory", "memory") {
        Some(Target::V1(dir)) => {
            let entry = |prefix: &str| {
                json!({
                    "limit": number(&dir, &format!("{prefix}.limit_in_bytes")),
                    "usage": number(&dir, &format!("{prefix}.usage_in_bytes")),
                    "max": number(&dir, &format!("{prefix}.max_usage_in_bytes")),
                    "failcnt": number(&dir, &format!("{prefix}.failcnt")),
                })
            };
            let raw = read(&dir, "memory.stat")
                .map(|t| key_values(&t))
                .unwrap_or_default();
            json!({
                "cache": raw.get("cache"),
                "usage": entry("memory"),
                "swap": entry("memory.memsw"),
                "kernel": entry("memory.kmem"),
                "kernelTCP": entry("memory.kmem.tcp"),
                "raw": raw,
            })
        }
        Some(Target::V2(dir)) => {
            let raw = read(&dir, "memory.stat")
                .map(|t| key_values(&t))
                .unwrap_or_default();
            let events = read(&dir, "memory.events")
                .map(|t| key_values(&t))
                .unwrap_or_default();
            let limit =
                |file: &str| read(&dir, file).map(|t| t.trim().parse::<u64>().unwrap_or(u64::MAX));
            json!({
                "cache": raw.get("file"),
                "usage": {"usage": number(&dir, "memory.current"), "limit": limit("memory.max"), "max": number(&dir, "memory.peak"), "failcnt": events.get("max")},
                "swap": {"usage": number(&dir, "memory.swap.current"), "limit": limit("memory.swap.max")},
                "raw": raw,
            })
        }
        None => Value::Null,
    }
}

fn pids(controllers: &Controllers) -> Value {
    let (Some(Target::V1(dir)) | Some(Target::V2(dir))) = controllers.locate("pids", "pids") else {
        return Value::Null;
    };
    let limit = read(&dir, "pids.max").and_then(|t| t.trim().parse::<u64>().ok());
    json!({"current": number(&dir, "pids.current"), "limit": limit})
}

fn blkio(controllers: &Controllers) -> Value {
    match controllers.locate("blkio", "io") {
        Some(Target::V1(dir)) => {
            let entries = |file: &str| -> Vec<Value> {
                read(&dir, file)
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|line| {
                        let mut fields = line.split_whitespace();
                        let (major, minor) = fields.next()?.split_once(':')?;
                        let op = fields.next()?;
                        let value: u64 = fields.next()?.parse().ok()?;
                        Some(json!({"major": major.parse::<u64>().ok()?, "minor": minor.parse::<u64>().ok()?, "op": op, "value": value}))
                    })
                    .collect()
            };
            json!({
                "ioServiceBytesRecursive": entries("blkio.throttle.io_service_bytes_recursive"),
                "ioServicedRecursive": entries("blkio.throttle.io_serviced_recursive"),
            })
        }
        Some(Target::V2(dir)) => {
            let mut bytes = Vec::new();
            let mut ios = Vec::new();
            for line in read(&dir, "io.stat").unwrap_or_default().lines() {
                let mut fields = line.split_whitespace();
                let Some((major, minor)) = fields.next().and_then(|d| d.split_once(':')) else {
                    continue;
                };
                let (Ok(major), Ok(minor)) = (major.parse::<u64>(), minor.parse::<u64>()) else {
                    continue;
                };
                for field in fields {
                    let Some((key, value)) = field.split_once('=') else {
                        continue;
                    };
                    let Ok(value) = value.parse::<u64>() else {
                        continue;
                    };
                    let (list, op) = match key {
                        "rbytes" => (&mut bytes, "Read"),
                        "wbytes" => (&mut bytes, "Write"),
                        "rios" => (&mut ios, "Read"),
                        "wios" => (&mut ios, "Write"),
                        _ => continue,
                    };
                    list.push(json!({"major": major, "minor": minor, "op": op, "value": value}));
                }
            }
            json!({"ioServiceBytesRecursive": bytes, "ioServicedRecursive": ios})
        }
        None => Value::Null,
    }
}

/// How many times the kernel's OOM killer killed a process of the container.
pub fn oom_kills(placement: &Placement) -> u64 {
    let controllers = Controllers::new(placement);
    let counters = match controllers.locate("memory", "memory") {
        Some(Target::V1(dir)) => read(&dir, "memory.oom_control"),
        Some(Target::V2(dir)) => read(&dir, "memory.events"),
        None => None,
    };
    counters
        .map(|t| key_values(&t))
        .and_then(|kv| kv.get("oom_kill").copied())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_files_parse() {
        let kv = key_values("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        assert_eq!(kv.get("oom_kill"), Some(&3));
    }

    #[test]
    fn zero_and_empty_fields_are_dropped() {
        let value = compact(json!({"a": 0, "b": {"c": 0}, "d": [], "e": 5, "f": null}));
        assert_eq!(value, json!({"e": 5}));
    }
}
