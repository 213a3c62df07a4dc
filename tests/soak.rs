//! Concurrency, random kills and soak: many commands at once on one id, many containers
//! at once, a runtime SIGKILLed at random instants, and long sequential runs. Afterwards
//! the host is as it was; each test prints the counts it checked.

mod common;
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn count_lines_mentioning(path: &str, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| l.contains(needle)).count())
        .unwrap_or(0)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn fifty_commands_racing_on_one_id() {
    let rt = Arc::new(Runtime::new());
    let bundle = Arc::new(Bundle::new(&["sleep", "1000"]));
    let id = Arc::new(unique_id("race"));
    let created = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for i in 0..50 {
        let (rt, bundle, id, created) = (rt.clone(), bundle.clone(), id.clone(), created.clone());
        threads.push(std::thread::spawn(move || {
            let args: Vec<&str> = match i % 5 {
                0 => vec!["create", "--bundle", bundle.path(), &id],
                1 => vec!["start", &id],
                2 => vec!["kill", &id, "KILL"],
                3 => vec!["delete", &id],
                _ => vec!["state", &id],
            };
            let out = rt.run(&args);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            if out.status.success() {
                if i % 5 == 0 {
                    created.fetch_add(1, Ordering::SeqCst);
                }
            } else {
                assert_eq!(
                    stderr.trim_end().lines().count(),
                    1,
                    "{args:?}: not one line: {stderr}"
                );
                assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            }
        }));
    }
    for thread in threads {
        thread.join().expect("a racing command's checks failed");
    }
    let winners = created.load(Ordering::SeqCst);
    // A create may also win after a racing delete removed the first winner; at least one
    // must have won, and at any moment at most one container exists.
    assert!(winners >= 1, "no create won");
    if let Some(state) = rt.try_state(&id) {
        let status = state["status"].as_str().unwrap().to_string();
        assert!(
            ["created", "running", "stopped"].contains(&status.as_str()),
            "{status}"
        );
    }
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
    println!(
        "race: {winners} create(s) won over 50 racing commands; journal readable; nothing left"
    );
}

#[test]
fn concurrent_creates_of_one_id_have_exactly_one_winner() {
    let rt = Arc::new(Runtime::new());
    let bundle = Arc::new(Bundle::new(&["sleep", "1000"]));
    let id = Arc::new(unique_id("one-winner"));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let (rt, bundle, id) = (rt.clone(), bundle.clone(), id.clone());
            std::thread::spawn(move || rt.run(&["create", "--bundle", bundle.path(), &id]))
        })
        .collect();
    let outputs: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let winners = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(winners, 1, "exactly one create must win");
    for loser in outputs.iter().filter(|o| !o.status.success()) {
        let stderr = String::from_utf8_lossy(&loser.stderr);
        assert_one_line_error(&stderr, &["already exists"], "a losing create");
    }
    assert_eq!(rt.state(&id)["status"], "created");
    rt.ok(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &bundle, &[&id]);
}

#[test]
fn a_hundred_containers_in_parallel() {
    let rt = Arc::new(Runtime::new());
    let bundle = Arc::new(Bundle::new(&["true"]));
    let failures = Arc::new(AtomicUsize::new(0));
    let ids: Vec<String> = (0..100).map(|_| unique_id("parallel")).collect();
    let chunks: Vec<Vec<String>> = ids.chunks(10).map(|c| c.to_vec()).collect();
    let threads: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (rt, bundle, failures) = (rt.clone(), bundle.clone(), failures.clone());
            std::thread::spawn(move || {
                for id in chunk {
                    let out = rt.run(&["run", "--bundle", bundle.path(), &id]);
                    if !out.status.success() {
                        eprintln!("{id}: {}", String::from_utf8_lossy(&out.stderr));
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(failures.load(Ordering::SeqCst), 0);
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_leaks(&rt, &bundle, &id_refs);
    println!("parallel: 100 containers, 10 at a time, no failure, nothing left");
}

#[test]
fn runtime_killed_at_random_instants() {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let mut ids = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let commands = 300;
    for round in 0..commands {
        let id = unique_id("random-kill");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 12_000);
        let args: Vec<&str> = match round % 3 {
            0 => vec!["run", "-d", "--bundle", bundle.path(), &id],
            1 => vec!["create", "--bundle", bundle.path(), &id],
            _ => vec!["run", "--bundle", bundle.path(), &id],
        };
        let mut victim = Background::spawn(rt.cmd(&args));
        std::thread::sleep(delay);
        // SAFETY: SIGKILL to our own child, still unreaped.
        unsafe { libc::kill(victim.pid() as i32, libc::SIGKILL) };
        let _ = victim.try_wait();
        drop(victim);
        if let Some(state) = rt.try_state(&id) {
            let status = state["status"].as_str().unwrap_or_default();
            assert!(
                ["creating", "created", "running", "stopped"].contains(&status),
                "{status}"
            );
        }
        let deleted = rt.run(&["delete", "--force", &id]);
        assert!(
            deleted.status.success(),
            "delete --force after a kill: {}",
            String::from_utf8_lossy(&deleted.stderr)
        );
        ids.push(id);
    }
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_leaks(&rt, &bundle, &id_refs);
    println!("random kills: {commands} runtimes killed mid-command, all deleted, nothing left");
}

fn soak(cycles: usize, busy_cores: bool) {
    let rt = Runtime::new();
    let bundle = Bundle::new(&["true"]);
    let fds_before = open_fds();
    let mounts_before =
        count_lines_mentioning("/proc/self/mountinfo", &bundle.dir.to_string_lossy());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spinners: Vec<_> = (0..if busy_cores { 2 } else { 0 })
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                }
                x
            })
        })
        .collect();
    let mut ids = Vec::new();
    for cycle in 0..cycles {
        let id = unique_id("soak");
        if cycle % 2 == 0 {
            rt.ok(&["run", "--bundle", bundle.path(), &id]);
        } else {
            rt.ok(&["create", "--bundle", bundle.path(), &id]);
            rt.ok(&["start", &id]);
            rt.wait_for_status(&id, "stopped");
            rt.ok(&["delete", &id]);
        }
        ids.push(id);
    }
    stop.store(true, Ordering::Relaxed);
    for spinner in spinners {
        spinner.join().unwrap();
    }
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_leaks(&rt, &bundle, &id_refs);
    let mounts_after =
        count_lines_mentioning("/proc/self/mountinfo", &bundle.dir.to_string_lossy());
    assert_eq!(mounts_after, mounts_before);
    println!(
        "soak: {cycles} cycles (busy cores: {busy_cores}); test-process fds {fds_before} -> {} (other tests share the process), bundle mounts {mounts_before} -> {mounts_after}, root entries {}, cgroups and processes of {} ids: none",
        open_fds(),
        rt.root_entries().len(),
        ids.len()
    );
}

#[test]
fn soak_sequential_cycles() {
    let cycles = std::env::var("OCIRUN_SOAK_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1000);
    soak(cycles, false);
}

#[test]
fn soak_with_both_cores_busy_never_hangs() {
    soak(200, true);
}
