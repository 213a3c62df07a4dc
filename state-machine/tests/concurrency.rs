//! Many runtimes at once on one state root, as threads: the lock serializes writers and
//! RENAME_NOREPLACE picks exactly one creator.

use ocirun_state_machine::journal::{self, encode};
use ocirun_state_machine::{Metadata, Record, Resource, StateRoot, StoreError};
use std::sync::Barrier;
use std::thread;

const THREADS: usize = 8;
const RECORDS_PER_THREAD: usize = 6;

fn metadata(id: &str) -> Metadata {
    Metadata {
        id: id.into(),
        ..Metadata::default()
    }
}

/// A record that says which thread wrote it.
fn tagged(thread: usize, sequence: usize) -> Record {
    Record::Acquired {
        resource: Resource::File {
            path: format!("/writer/{thread}/{sequence}").into(),
        },
    }
}

fn writer_of(record: &Record) -> Option<usize> {
    match record {
        Record::Acquired {
            resource: Resource::File { path },
        } => path.to_str()?.split('/').nth(2)?.parse().ok(),
        _ => None,
    }
}

#[test]
fn concurrent_writers_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let root = StateRoot::open(dir.path()).unwrap();
    drop(root.create(metadata("shared")).unwrap());
    let start = Barrier::new(THREADS);

    thread::scope(|scope| {
        for thread in 0..THREADS {
            let (root, start) = (&root, &start);
            scope.spawn(move || {
                start.wait();
                let mut handle = root.lock("shared").unwrap();
                for sequence in 0..RECORDS_PER_THREAD {
                    handle.record(tagged(thread, sequence)).unwrap();
                    // Give the others every chance to barge in if the lock failed.
                    thread::yield_now();
                }
            });
        }
    });

    let container = root.container_dir("shared");
    let bytes = std::fs::read(container.join(journal::JOURNAL_FILE)).unwrap();
    let records = journal::read(&container).unwrap();
    assert_eq!(records.len(), 1 + THREADS * RECORDS_PER_THREAD);
    let reencoded: Vec<u8> = records.iter().flat_map(encode).collect();
    assert_eq!(reencoded, bytes, "no torn or foreign bytes");

    let writes = &records[1..];
    for run in writes.chunks(RECORDS_PER_THREAD) {
        let thread = writer_of(&run[0]).unwrap();
        let expected: Vec<Record> = (0..RECORDS_PER_THREAD)
            .map(|sequence| tagged(thread, sequence))
            .collect();
        assert_eq!(
            run, expected,
            "thread {thread}'s records are one run, in order"
        );
    }
    let mut writers: Vec<usize> = writes.iter().filter_map(writer_of).collect();
    writers.dedup();
    writers.sort();
    assert_eq!(writers, (0..THREADS).collect::<Vec<_>>());
}

#[test]
fn exactly_one_concurrent_create_wins() {
    let dir = tempfile::tempdir().unwrap();
    let root = StateRoot::open(dir.path()).unwrap();
    for round in 0..10 {
        let id = format!("race-{round}");
        let start = Barrier::new(THREADS);
        let outcomes: Vec<Result<(), StoreError>> = thread::scope(|scope| {
            let racers: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (root, start, id) = (&root, &start, &id);
                    scope.spawn(move || {
                        start.wait();
                        root.create(metadata(id)).map(drop)
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });

        let winners = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {outcomes:?}");
        for outcome in outcomes.iter().filter_map(|outcome| outcome.as_ref().err()) {
            assert!(
                matches!(outcome, StoreError::AlreadyExists { id: taken } if *taken == id),
                "{outcome}"
            );
        }
        // The winner's journal is whole: exactly its create intent.
        assert_eq!(journal::read(&root.container_dir(&id)).unwrap().len(), 1);
    }

    let mut entries: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        root.ids().unwrap(),
        "no temporary directories left"
    );
    assert_eq!(entries.len(), 10);
}
