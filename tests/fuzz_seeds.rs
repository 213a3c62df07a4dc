//! Replays the fuzz seed corpus (fuzz/seeds/<target>/*) through the fuzz entry points:
//! every input that ever crashed a target stays a regression test.

use std::path::Path;

fn replay(target: &str, run: impl Fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        count += 1;
    }
    assert!(count > 0, "no seeds in {}", dir.display());
    count
}

#[test]
fn config_seeds_never_panic() {
    replay("config", ocirun::fuzzing::config);
}

#[test]
fn journal_seeds_never_panic() {
    replay("journal", |bytes| {
        let _ = ocirun_state_machine::journal::decode(bytes);
    });
}

#[test]
fn sync_seeds_never_panic() {
    replay("sync", ocirun::fuzzing::sync_message);
}

#[test]
fn cli_seeds_never_panic() {
    replay("cli", ocirun::fuzzing::cli_args);
}
